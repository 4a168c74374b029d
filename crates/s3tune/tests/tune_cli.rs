//! `s3tune tune` and `s3tune report` as a user runs them: the embedded emulator over real
//! sockets, the study in a real SQLite file.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use s3tune_emulator::{DedicatedEmulator, Emulator, EmulatorConfig};
use s3tune_hpo::{SqliteStore, Status, Store, config_hash};

mod common;
use common::{ACCESS, SECRET, Tmpfs, command, creds, ok, one_line_error, run};

/// A quick study on the embedded emulator with no network shaping.
fn quick<'a>(out: &'a str, dl: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "tune",
        "--network",
        "unlimited",
        "--object-size",
        "16MiB",
        "--out",
        out,
        "--dest-dir",
        dl,
    ];
    args.extend_from_slice(extra);
    args
}

fn dirs(home: &Path) -> (String, String) {
    let out = home.join("results");
    let dl = home.join("downloads");
    std::fs::create_dir(&dl).unwrap();
    (
        out.to_str().unwrap().to_owned(),
        dl.to_str().unwrap().to_owned(),
    )
}

/// A study of `trials` on the emulator with S3's figures (downloads take a little while).
fn shaped<'a>(
    out: &'a str,
    dl: &'a str,
    study: &'a str,
    storage: &'a str,
    extra: &[&'a str],
    trials: &'a str,
) -> Vec<&'a str> {
    let mut args = vec![
        "tune",
        "--network",
        "s3-like",
        "--object-size",
        "24MiB",
        "--out",
        out,
        "--dest-dir",
        dl,
        "--study",
        study,
        "--storage",
        storage,
        "--trials",
        trials,
    ];
    args.extend_from_slice(extra);
    args
}

/// Writes `text` to `dir/name` and returns the path.
fn file(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn tune_writes_every_output_and_report_renders_them_again() {
    let home = tempfile::tempdir().unwrap();
    let (out, dl) = dirs(home.path());
    // Two configurations that differ for sure: boto3's 8 MiB parts, and 5 MiB parts
    // (four connections instead of two, each capped at 20 MB/s).
    let net = file(
        home.path(),
        "net.toml",
        "base = \"s3-like\"\nconnection_bandwidth = \"20MB/s\"\n",
    );
    let args = [
        "tune",
        "--network",
        net.to_str().unwrap(),
        "--object-size",
        "16MiB",
        "--out",
        &out,
        "--dest-dir",
        &dl,
        "--param",
        "multipart_chunksize=5MiB,8MiB",
        "--param",
        "max_concurrency=10",
        "--param",
        "max_io_queue=100",
        "--param",
        "io_chunksize=256KiB",
        "--trials",
        "6",
        "--repeats",
        "2",
        "--confirm",
        "3",
        "--study",
        "s1",
    ];
    let stdout = ok(&run(home.path(), &[], &args));
    assert!(stdout.contains("baseline (boto3)"), "{stdout}");
    assert!(stdout.contains("speedup"), "{stdout}");
    let out = Path::new(&out);
    for f in [
        "summary.json",
        "best.toml",
        "boto3.py",
        "aws-cli.ini",
        "trials.csv",
        "best_over_time.svg",
        "best_over_time.png",
        "study.db",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // Every copy was checked and deleted.
    assert_eq!(std::fs::read_dir(&dl).unwrap().count(), 0);

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let num = |k: &str| {
        summary[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k}: {summary}"))
    };
    assert!(num("baseline_seconds") > 0.0 && num("best_seconds") > 0.0);
    assert!(num("best_mbps") > 0.0 && num("elapsed_seconds") > 0.0);
    let (lo, hi) = (
        summary["speedup_ci95"][0].as_f64().unwrap(),
        summary["speedup_ci95"][1].as_f64().unwrap(),
    );
    assert!(lo <= num("speedup") && num("speedup") <= hi, "{summary}");
    // The space has two points: both tried, then it is exhausted.
    assert_eq!(summary["trials"], 2);
    assert_eq!(summary["best_config"]["multipart_chunksize"], 5 << 20);
    assert_eq!(summary["best_config"].as_object().unwrap().len(), 4);
    assert!(
        summary.get("link_mbps").is_some(),
        "the emulated link is reported"
    );
    assert_eq!(summary["race"]["baseline"].as_array().unwrap().len(), 3);

    // trials.csv: a row a trial; the first is boto3's defaults, its mean the repeats'.
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    let col = |name: &str| rows[0].iter().position(|h| *h == name).unwrap();
    let first = &rows[1];
    assert_eq!(first[col("max_concurrency")], "10");
    assert_eq!(first[col("multipart_chunksize")], "8388608");
    let r: Vec<f64> = ["repeat_1_seconds", "repeat_2_seconds", "mean_seconds"]
        .iter()
        .map(|c| first[col(c)].parse().unwrap())
        .collect();
    assert!(((r[0] + r[1]) / 2.0 - r[2]).abs() < 1e-5, "{first:?}");

    let png = std::fs::read(out.join("best_over_time.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(out.join("best_over_time.svg")).unwrap();
    assert!(svg.contains("minutes since the study began") && svg.contains("best so far"));
    let toml = std::fs::read_to_string(out.join("best.toml")).unwrap();
    assert!(toml.contains(&format!(
        "max_concurrency = {}",
        summary["best_config"]["max_concurrency"]
    )));

    // `report` rebuilds the same files from the store alone.
    let before = std::fs::read_to_string(out.join("summary.json")).unwrap();
    std::fs::remove_file(out.join("summary.json")).unwrap();
    std::fs::remove_file(out.join("best_over_time.png")).unwrap();
    let table = ok(&run(
        home.path(),
        &[],
        &["report", "s1", "--out", out.to_str().unwrap()],
    ));
    assert!(table.contains("study s1"), "{table}");
    assert_eq!(
        std::fs::read_to_string(out.join("summary.json")).unwrap(),
        before
    );
    assert!(out.join("best_over_time.png").is_file());
}

#[test]
fn a_killed_tuner_resumes_with_every_completed_trial_kept_once() {
    let home = tempfile::tempdir().unwrap();
    let (out, dl) = dirs(home.path());
    let db = home.path().join("k.db");
    let storage = format!("sqlite:{}", db.display());
    // s3-like shaping makes each download take a little while, so the kill can land
    // mid-trial.
    let args = shaped(
        &out,
        &dl,
        "k",
        &storage,
        &["--repeats", "1", "--confirm", "0"],
        "12",
    );
    let mut child = command(home.path(), &[], &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait, by its own reports, for three finished trials; then SIGKILL.
    let mut finished = 0;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("trial ") && line.contains(" s (") {
            finished += 1;
            if finished == 3 {
                break;
            }
        }
    }
    assert_eq!(finished, 3, "the tuner ended before three trials finished");
    child.kill().unwrap();
    child.wait().unwrap();

    let store = SqliteStore::open(&db).unwrap();
    let study = store.study("k").unwrap().unwrap();
    let before = store.trials(&study).unwrap();
    let done_before: Vec<_> = before
        .iter()
        .filter(|t| t.trial.status == Status::Completed)
        .cloned()
        .collect();
    assert!(done_before.len() >= 3);

    ok(&run(home.path(), &[], &args));
    let after = store.trials(&study).unwrap();
    let ids: Vec<u64> = after.iter().map(|t| t.trial.id).collect();
    assert_eq!(ids, (1..=after.len() as u64).collect::<Vec<_>>());
    // A trial lost with the killed tuner does not count: the study has its 12 besides.
    assert_eq!(after.iter().filter(|t| !t.lost).count(), 12);
    for t in &done_before {
        let again: Vec<_> = after.iter().filter(|a| a.trial.id == t.trial.id).collect();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].trial, t.trial, "a completed trial changed");
    }
    // A trial the kill interrupted is failed and lost with the reason, not left running.
    for t in before.iter().filter(|t| t.trial.status == Status::Pending) {
        let a = &after[t.trial.id as usize - 1];
        assert_eq!((a.trial.status, a.lost), (Status::Failed, true));
        assert!(a.error.as_deref().unwrap().contains("stopped while it ran"));
    }
    assert!(after.iter().all(|t| t.trial.status != Status::Pending));
    let completed: Vec<_> = after
        .iter()
        .filter(|t| t.trial.status == Status::Completed)
        .collect();
    let distinct: HashSet<u64> = completed
        .iter()
        .map(|t| config_hash(&t.trial.config))
        .collect();
    assert_eq!(
        distinct.len(),
        completed.len(),
        "a configuration completed twice"
    );
}

fn server() -> DedicatedEmulator {
    Emulator::start_dedicated(
        EmulatorConfig {
            access_key: ACCESS.into(),
            secret_key: SECRET.into(),
            objects: vec!["data/obj.bin=6000000".parse().unwrap()],
            ..EmulatorConfig::default()
        },
        1,
    )
    .unwrap()
}

#[test]
fn bad_input_gets_one_clear_line_and_a_non_zero_exit() {
    let home = tempfile::tempdir().unwrap();
    let (out, dl) = dirs(home.path());
    let space = file(
        home.path(),
        "space.toml",
        "max_concurrency = { int = [1, 256], scale = ",
    );
    let space = space.to_str().unwrap();
    for (extra, needle) in [
        (
            vec!["--searcher", "nope"],
            "possible values: bo, random, grid",
        ),
        (vec!["--space", space], "--space"),
        (
            vec!["--param", "max_concurrency=64..8"],
            "low bound above high",
        ),
        (
            vec!["--param", "multipart_chunksize=1MiB..64MiB"],
            "multipart_chunksize",
        ),
        (vec!["--budget", "0s"], "--budget must be more than zero"),
        (
            vec!["--param", "speed=1..2"],
            "s3tune's engine has no knob `speed`; its knobs are multipart_threshold",
        ),
        (vec!["--storage", "mysql://x"], "write sqlite:PATH"),
    ] {
        let out = run(home.path(), &[], &quick(&out, &dl, &extra));
        one_line_error(&out, needle);
    }
    // Nothing was created by refused runs.
    assert!(!Path::new(&out).exists());

    // Against a server: a missing object, an unreachable endpoint.
    let s = server();
    let ep = s.endpoint();
    let target = |t: &str, ep: &str| {
        run(
            home.path(),
            &creds(),
            &[
                "tune",
                t,
                "--endpoint-url",
                ep,
                "--out",
                &out,
                "--dest-dir",
                &dl,
            ],
        )
    };
    one_line_error(
        &target("s3://data/missing.bin", &ep),
        "s3://data/missing.bin does not exist",
    );
    one_line_error(
        &target("s3://nobucket/x", &ep),
        "bucket `nobucket` does not exist",
    );
    one_line_error(
        &target("s3://data/obj.bin", "http://127.0.0.1:9"),
        "HeadObject: http://127.0.0.1:9 refused the connection",
    );
}

#[test]
fn a_destination_without_room_is_refused_before_any_trial() {
    // A 4 MiB tmpfs for 16 MiB downloads. Mounting needs root, which CI has.
    let home = tempfile::tempdir().unwrap();
    let (out, _) = dirs(home.path());
    let small = home.path().join("small");
    let Some(_disk) = Tmpfs::mount(&small, "size=4m") else {
        return;
    };
    let db = home.path().join("full.db");
    let storage = format!("sqlite:{}", db.display());
    let o = run(
        home.path(),
        &[],
        &quick(
            &out,
            small.to_str().unwrap(),
            &["--trials", "5", "--study", "full", "--storage", &storage],
        ),
    );
    one_line_error(
        &o,
        "4.0 MiB free, but each download writes a 16.0 MiB copy there",
    );
    // Found before anything was made: no study, no store, nothing on the small disk.
    assert!(!db.exists(), "no store is left behind");
    assert_eq!(std::fs::read_dir(&small).unwrap().count(), 0);
}

#[test]
fn ctrl_c_stops_the_running_trial_and_leaves_nothing_behind() {
    let home = tempfile::tempdir().unwrap();
    let (out, dl) = dirs(home.path());
    let db = home.path().join("c.db");
    let storage = format!("sqlite:{}", db.display());
    let args = shaped(&out, &dl, "c", &storage, &[], "50");
    let mut child = command(home.path(), &[], &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once a trial has finished (by the tuner's own report), Ctrl-C.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        if line.starts_with("trial ") && line.contains(" s (") {
            break;
        }
        line.clear();
    }
    assert!(seen.contains("trial "), "no trial finished:\n{seen}");
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(rest.contains("resume with"), "{rest}");
    // No copy left in the destination, no trial left running, the reports written.
    assert_eq!(std::fs::read_dir(&dl).unwrap().count(), 0);
    let store = SqliteStore::open(&db).unwrap();
    let study = store.study("c").unwrap().unwrap();
    let trials = store.trials(&study).unwrap();
    assert!(trials.iter().all(|t| t.trial.status != Status::Pending));
    assert!(trials.len() < 50);
    assert!(Path::new(&out).join("trials.csv").is_file());
}

#[test]
fn tunes_objects_in_a_bucket_checking_their_bytes() {
    // A synthetic object (checked against its pattern) and an uploaded one (checked
    // against its MD5 ETag), each through --endpoint-url with the standard credentials.
    let s = server();
    let ep = s.endpoint();
    let home = tempfile::tempdir().unwrap();
    let (out, dl) = dirs(home.path());
    let upload = file(
        home.path(),
        "up.bin",
        (0..7_000_003u32)
            .map(|i| (i % 253) as u8)
            .collect::<Vec<_>>(),
    );
    ok(&run(
        home.path(),
        &creds(),
        &[
            "put",
            upload.to_str().unwrap(),
            "s3://data/up.bin",
            "--endpoint-url",
            &ep,
        ],
    ));
    for (key, study) in [
        ("s3://data/obj.bin", "synthetic"),
        ("s3://data/up.bin", "uploaded"),
    ] {
        let o = run(
            home.path(),
            &creds(),
            &[
                "tune",
                key,
                "--endpoint-url",
                &ep,
                "--trials",
                "3",
                "--repeats",
                "1",
                "--confirm",
                "0",
                "--study",
                study,
                "--out",
                &out,
                "--dest-dir",
                &dl,
            ],
        );
        let stdout = ok(&o);
        assert!(stdout.contains(key), "{stdout}");
        let store = SqliteStore::open(Path::new(&out).join("study.db")).unwrap();
        let st = store.study(study).unwrap().unwrap();
        let trials = store.trials(&st).unwrap();
        assert_eq!(trials.len(), 3);
        assert!(
            trials.iter().all(|t| t.trial.status == Status::Completed),
            "{:?}",
            trials.iter().map(|t| &t.error).collect::<Vec<_>>()
        );
    }
    // A study is about one object: the same name for another is refused.
    let o = run(
        home.path(),
        &creds(),
        &[
            "tune",
            "s3://data/obj.bin",
            "--endpoint-url",
            &ep,
            "--trials",
            "4",
            "--study",
            "uploaded",
            "--out",
            &out,
            "--dest-dir",
            &dl,
        ],
    );
    one_line_error(&o, "use another --study name");
    // Nor does a study of s3tune's engine take boto3's measurements.
    let o = run(
        home.path(),
        &creds(),
        &[
            "tune",
            "s3://data/up.bin",
            "--endpoint-url",
            &ep,
            "--trials",
            "4",
            "--study",
            "uploaded",
            "--out",
            &out,
            "--dest-dir",
            &dl,
            "--client",
            "boto3",
            "--python",
            "true",
        ],
    );
    one_line_error(&o, "was made with --client s3tune");
}

#[test]
fn tunes_a_script_with_four_workers_and_asha() {
    let home = tempfile::tempdir().unwrap();
    let space = file(
        home.path(),
        "space.toml",
        "x1 = { float = [-5.0, 10.0] }\nx2 = { float = [0.0, 15.0] }\nepochs = 3\n",
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/branin.py");
    let command = format!("python3 {script}");
    // A study of 40 trials, 4 at once, with seed `seed`: its output folder and stdout.
    let run_study = |seed: u64| {
        let out = home.path().join(format!("results-{seed}"));
        let seed = seed.to_string();
        let stdout = ok(&run(
            home.path(),
            &[],
            &[
                "tune",
                "--command",
                &command,
                "--space",
                space.to_str().unwrap(),
                "--metric",
                "loss",
                "--workers",
                "4",
                "--trials",
                "40",
                "--scheduler",
                "asha",
                "--max-steps",
                "3",
                "--study",
                "b",
                "--seed",
                &seed,
                "--out",
                out.to_str().unwrap(),
            ],
        ));
        (out, stdout)
    };
    let regret = |out: &Path| {
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        summary["best_value"].as_f64().unwrap() - 0.397_887
    };
    let (out, stdout) = run_study(0);
    assert!(stdout.contains("best (loss min)"), "{stdout}");
    let out = out.as_path();
    let store = SqliteStore::open(out.join("study.db")).unwrap();
    let study = store.study("b").unwrap().unwrap();
    let trials = store.trials(&study).unwrap();
    assert_eq!(trials.len(), 40);
    let hashes: HashSet<u64> = trials
        .iter()
        .map(|t| config_hash(&t.trial.config))
        .collect();
    assert_eq!(hashes.len(), 40, "a configuration ran twice");
    let stopped: Vec<_> = trials
        .iter()
        .filter(|t| t.trial.status == Status::Stopped)
        .collect();
    assert!(!stopped.is_empty(), "ASHA stopped no trial");
    assert!(stopped.iter().all(|t| t.trial.reports.len() < 3));
    let completed = trials
        .iter()
        .filter(|t| t.trial.status == Status::Completed)
        .count();
    assert_eq!(completed + stopped.len(), 40, "a trial failed");
    // The CSV shows the stops; each trial's output is kept.
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    assert_eq!(csv.lines().count(), 41);
    assert!(csv.contains(",stopped,"));
    assert!(out.join("trials").read_dir().unwrap().count() >= 40);
    // Regret against Branin's minimum, from the summaries of five seeds: which trials
    // run at once depends on timing, and a single run has a tail (one in many ends at
    // the box's edge near 1.5), so the median is what must be far better than random
    // search's (near 0.9 at 30 trials).
    let mut regrets = vec![regret(out)];
    regrets.extend((1..5).map(|seed| regret(&run_study(seed).0)));
    eprintln!("branin regrets after 40 trials with 4 workers, 5 seeds: {regrets:.4?}");
    regrets.sort_by(f64::total_cmp);
    assert!(regrets[0] >= 0.0, "{regrets:?}");
    assert!(regrets[2] < 0.5, "median regret {}", regrets[2]);
}

#[test]
fn script_tuning_refuses_bad_input_in_one_line() {
    let home = tempfile::tempdir().unwrap();
    let (out, _) = dirs(home.path());
    let space = file(home.path(), "space.toml", "x = { float = [0.0, 1.0] }\n");
    let space = space.to_str().unwrap();
    for (extra, needle) in [
        (vec!["--space", space], "--command needs --metric"),
        (vec!["--metric", "loss"], "--command needs a space"),
        (
            vec!["--space", space, "--metric", "loss", "--workers", "0"],
            "--workers must be at least 1",
        ),
        (
            vec!["--space", space, "--metric", "loss", "--scheduler", "asha"],
            "--max-steps",
        ),
        (
            vec![
                "--space",
                space,
                "--metric",
                "loss",
                "--trial-timeout",
                "soon",
            ],
            "--trial-timeout",
        ),
    ] {
        let mut args = vec!["tune", "--command", "true", "--out", &out];
        args.extend(extra);
        one_line_error(&run(home.path(), &[], &args), needle);
    }
    one_line_error(
        &run(home.path(), &[], &["tune", "--metric", "loss"]),
        "--metric goes with --command",
    );
}

#[test]
fn ctrl_c_kills_every_process_of_a_running_script_trial() {
    let home = tempfile::tempdir().unwrap();
    let (out, _) = dirs(home.path());
    let space = file(home.path(), "space.toml", "x = { int = [1, 9] }\n");
    // The trial records its process group, starts a grandchild, and hangs.
    let pid_file = home.path().join("pgid");
    let script = file(
        home.path(),
        "hang.sh",
        format!(
            "sleep 1000 &\nps -o pgid= -p $$ | tr -d ' ' > {0}.tmp && mv {0}.tmp {0}\nwait\n",
            pid_file.display()
        ),
    );
    let command = format!("sh {}", script.display());
    let child = command_for_script(home.path(), &command, space.to_str().unwrap(), &out);
    let t0 = std::time::Instant::now();
    while !pid_file.exists() {
        assert!(t0.elapsed().as_secs() < 30, "the trial never started");
        std::thread::yield_now();
    }
    let pgid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Killed processes may linger as zombies until init reaps them: wait for the group
    // to be gone, with a deadline.
    let t0 = std::time::Instant::now();
    while std::process::Command::new("kill")
        .args(["-0", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
    {
        let zombies_only = std::process::Command::new("ps")
            .args(["-o", "stat=", "-g", &pgid])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .all(|l| l.trim().starts_with('Z'))
            })
            .unwrap_or(false);
        if zombies_only {
            break;
        }
        assert!(
            t0.elapsed().as_secs() < 10,
            "process group {pgid} survived Ctrl-C"
        );
        std::thread::yield_now();
    }
    let store = SqliteStore::open(Path::new(&out).join("study.db")).unwrap();
    let study = store.study("hang").unwrap().unwrap();
    let t = &store.trials(&study).unwrap()[0];
    assert_eq!(t.trial.status, Status::Stopped);
    assert_eq!(t.error.as_deref(), Some("interrupted"));
}

/// `tune --command` on one trial of study `hang`, running in the background.
fn command_for_script(home: &Path, command: &str, space: &str, out: &str) -> std::process::Child {
    let args = [
        "tune",
        "--command",
        command,
        "--space",
        space,
        "--metric",
        "loss",
        "--trials",
        "1",
        "--study",
        "hang",
        "--out",
        out,
    ];
    crate::command(home, &[], &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}
