//! What a transfer costs, as s3tune measures it: the engine's memory stays within its
//! bound whatever the object's size, and its requests are the parts it fetched.

mod common;

use std::path::Path;

use common::{ok, run, runs};

fn knob(c: &s3tune_hpo::Config, k: &str) -> u64 {
    match &c[k] {
        s3tune_hpo::Value::Int(i) => *i as u64,
        s3tune_hpo::Value::Float(f) => *f as u64,
        v => panic!("{k} = {v}"),
    }
}

#[test]
fn the_engine_holds_no_more_than_its_bound_and_asks_once_per_part() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let size: u64 = 256 << 20;
    let args = [
        "tune",
        "--object-size",
        "256MiB",
        "--param",
        "multipart_chunksize=8MiB,16MiB",
        "--param",
        "max_concurrency=2..6",
        "--param",
        "max_io_queue=2..8",
        "--param",
        "io_chunksize=1MiB",
        "--trials",
        "4",
        "--repeats",
        "2",
        "--confirm",
        "0",
        "--no-baseline",
        "--prices",
        "0.05,0.004",
        "--study",
        "bound",
        "--out",
        out.to_str().unwrap(),
        "--dest-dir",
        home.path().to_str().unwrap(),
    ];
    let stdout = ok(&run(home.path(), &[], &args));
    assert!(stdout.contains("costs: peak"), "{stdout}");
    let runs = runs(&out.join("study.db"));
    assert!(runs.len() >= 4, "{runs:?}");
    for (c, m) in &runs {
        let chunk = knob(c, "io_chunksize");
        let part = knob(c, "multipart_chunksize");
        // boto3's bound on what a download holds: the pieces being read and the queue.
        let bound = (knob(c, "max_concurrency") + knob(c, "max_io_queue")) * chunk;
        let buffered = m["buffered_bytes"] as u64;
        assert!(
            buffered > 0 && buffered <= bound,
            "{c:?}: {buffered} > {bound}"
        );
        // The process grew by no more than that, plus what any run allocates whatever
        // its settings (the HTTP client's buffers, the allocator's arenas) — far less
        // than the 256 MiB object, which a copy held in memory would add.
        let grew = m["memory_bytes"] - m["start_rss_bytes"];
        assert!(
            grew <= (bound + (48 << 20)) as f64,
            "{c:?}: grew {} MiB over a bound of {} MiB",
            grew / 1048576.0,
            bound >> 20
        );
        assert_eq!(
            m["requests_get"] as u64,
            size.div_ceil(part),
            "{c:?}: {m:?}"
        );
        assert_eq!(m["requests"], m["requests_get"], "{m:?}");
        // At the study's own prices: $0.004 per 1,000 GETs.
        let want = m["requests_get"] * 0.004 / 1000.0;
        assert!((m["cost_usd"] - want).abs() < 1e-12, "{m:?}");
        assert!(m["cpu_seconds"] > 0.0 && m["cores"] > 0.0, "{m:?}");
    }
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    for col in [
        "memory_bytes",
        "cpu_seconds",
        "requests_get",
        "cost_usd",
        "feasible",
    ] {
        assert!(header.split(',').any(|h| h == col), "{col} not in {header}");
    }
    // A study keeps its prices: other ones are refused when it is resumed.
    let mut again = args.to_vec();
    let at = again.iter().position(|a| *a == "0.05,0.004").unwrap();
    again[at] = "0.06,0.004";
    let refused = run(home.path(), &[], &again);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    common::one_line_error(&refused, "a study keeps its prices");
}

#[test]
fn limits_that_are_not_numbers_above_zero_or_not_for_a_transfer_are_refused() {
    let home = tempfile::tempdir().unwrap();
    for (args, code, needle) in [
        (
            &["tune", "--max-memory", "lots"][..],
            2,
            "invalid value 'lots' for '--max-memory",
        ),
        (
            &["tune", "--max-cpu", "0"],
            2,
            "`0` is not a number above zero",
        ),
        (
            &[
                "tune",
                "s3://b/k",
                "--client",
                "rclone",
                "--endpoint-url",
                "http://127.0.0.1:9",
                "--max-requests",
                "5",
            ],
            1,
            "rclone on a bucket: its requests are counted only on the embedded emulator",
        ),
        (
            &["tune", "--max-cost", "-1"],
            2,
            "`-1` is not a number above zero",
        ),
        (
            &["tune", "--max-requests", "1.5"],
            2,
            "`1.5` is not a whole number",
        ),
        (&["tune", "--prices", "0.005"], 2, "`0.005` is not PUT,GET"),
        (
            &[
                "tune",
                "--command",
                "true",
                "--metric",
                "m",
                "--param",
                "x=1..2",
                "--max-cpu",
                "1",
            ],
            1,
            "about a transfer's measured costs",
        ),
    ] {
        let out = run(home.path(), &[], args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        common::one_line_error(&out, needle);
    }
    assert!(
        !home.path().join("s3tune-results").exists(),
        "nothing is made"
    );
}

#[test]
fn a_trial_over_a_limit_is_kept_and_shown_but_never_the_best() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    // 64 MiB in 8 MiB parts is 8 GETs, in 16 MiB parts 4, in 32 MiB parts 2: only the
    // last two keep a limit of 4 requests, though smaller parts are as fast or faster.
    let args = [
        "tune",
        "--object-size",
        "64MiB",
        "--searcher",
        "grid",
        "--param",
        "multipart_chunksize=8MiB,16MiB,32MiB",
        "--param",
        "max_concurrency=4,10",
        "--param",
        "max_io_queue=100",
        "--param",
        "io_chunksize=256KiB",
        "--max-requests",
        "4",
        "--trials",
        "6",
        "--repeats",
        "1",
        "--confirm",
        "0",
        "--out",
        out.to_str().unwrap(),
        "--dest-dir",
        home.path().to_str().unwrap(),
    ];
    let stdout = ok(&run(home.path(), &[], &args));
    assert!(stdout.contains("limits: --max-requests 4"), "{stdout}");
    assert!(stdout.contains("— over a limit"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(
        summary["best_costs"]["requests"].as_f64().unwrap() <= 4.0,
        "{summary}"
    );
    assert!(
        summary["best_config"]["multipart_chunksize"]
            .as_u64()
            .unwrap()
            >= 16 << 20
    );
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    let over = csv.lines().filter(|l| l.contains(",false,")).count();
    assert!(
        over >= 2,
        "the 8 MiB trials (and boto3's defaults) are over:\n{csv}"
    );
}

#[test]
fn a_limit_no_configuration_meets_ends_the_study_saying_so() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let args = [
        "tune",
        "--object-size",
        "8MiB",
        "--max-memory",
        "1MiB",
        "--trials",
        "14",
        "--repeats",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--dest-dir",
        home.path().to_str().unwrap(),
    ];
    let o = run(home.path(), &[], &args);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    let last = stderr.lines().last().unwrap();
    assert!(
        last.contains("none of the 10 trials with results kept the study's limits (--max-memory 1.0 MiB: the least any used was"),
        "{last}"
    );
    // Every trial is kept, marked over; nothing is exported for a best there is not.
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    assert_eq!(csv.lines().count(), 11, "{csv}");
    assert!(csv.lines().skip(1).all(|l| l.contains(",false,")), "{csv}");
    assert!(!out.join("best.toml").exists());
}

#[test]
fn several_objectives_keep_a_front_whose_knee_is_exported_and_any_point_can_be_picked() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    // 64 MiB in 8, 16 or 32 MiB parts: 8, 4 or 2 GETs; fewer parts, fewer at once.
    let args = [
        "tune",
        "--object-size",
        "64MiB",
        "--objective",
        "seconds,requests",
        "--searcher",
        "grid",
        "--param",
        "multipart_chunksize=8MiB,16MiB,32MiB",
        "--param",
        "max_concurrency=4,10",
        "--param",
        "max_io_queue=100",
        "--param",
        "io_chunksize=256KiB",
        "--trials",
        "6",
        "--repeats",
        "1",
        "--confirm",
        "0",
        "--study",
        "mo",
        "--out",
        out.to_str().unwrap(),
        "--dest-dir",
        home.path().to_str().unwrap(),
    ];
    let stdout = ok(&run(home.path(), &[], &args));
    assert!(
        stdout.contains("Pareto front of seconds, requests"),
        "{stdout}"
    );
    let front: Vec<u64> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Pareto front"))
        .skip(1)
        .take_while(|l| l.starts_with("  trial"))
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    // The fewest requests (2, in 32 MiB parts) is on the front, whatever the times.
    assert!(stdout.contains("requests 2"), "{stdout}");
    let summary = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
    };
    let knee = summary(&out)["best_trial"].as_u64().unwrap();
    assert!(
        front.contains(&knee),
        "the knee {knee} is on the front {front:?}"
    );
    assert!(out.join("pareto.svg").is_file() && out.join("pareto.png").is_file());
    // Another point of the front, exported on request; a trial off it is refused.
    let other = *front
        .iter()
        .find(|t| **t != knee)
        .expect("two points at least");
    let again = home.path().join("again");
    let db = format!("sqlite:{}", out.join("study.db").display());
    let pick = other.to_string();
    let report = [
        "report",
        "mo",
        "--storage",
        &db,
        "--out",
        again.to_str().unwrap(),
    ];
    let picked = ok(&run(
        home.path(),
        &[],
        &[&report[..], &["--pick", &pick]].concat(),
    ));
    assert!(picked.contains("← best"), "{picked}");
    assert_eq!(summary(&again)["best_trial"].as_u64(), Some(other));
    let toml = std::fs::read_to_string(again.join("best.toml")).unwrap();
    assert!(toml.contains(&format!("trial {other},")), "{toml}");
    let off = (1..=6).find(|t| !front.contains(t)).unwrap().to_string();
    let o = run(home.path(), &[], &[&report[..], &["--pick", &off]].concat());
    assert_eq!(o.status.code(), Some(1));
    common::one_line_error(
        &o,
        &format!("trial {off} is not on study `mo`'s front; its trials are"),
    );
    // Objectives the study does not know, or without the seconds, are one line.
    for (objective, needle) in [
        (
            "seconds,speed",
            "unknown objective `speed`: choose from seconds, memory, cpu, requests, cost",
        ),
        ("memory", "does not start with seconds"),
    ] {
        let o = run(home.path(), &[], &["tune", "--objective", objective]);
        assert_eq!(o.status.code(), Some(2));
        common::one_line_error(&o, needle);
    }
}
