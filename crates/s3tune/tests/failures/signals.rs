//! Ctrl-C and SIGTERM end a command within two seconds, with exit 130, whatever it is
//! waiting on, and leave nothing; SIGKILL leaves what the next start cleans up.

use std::time::Duration;

use super::peers::BlackHole;
use super::{creds, exits, names, ok, run, signal_when, spawn};

/// Whether process `pid` still runs (a zombie whose parent is gone does not).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
            != Some("Z")
    })
}

#[test]
fn sigint_and_sigterm_end_waiting_commands_within_two_seconds_leaving_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let dl = h.join("dl");
    std::fs::create_dir(&dl).unwrap();
    let d = dl.to_str().unwrap();
    let big = h.join("big.bin");
    std::fs::write(&big, vec![2u8; 12 << 20]).unwrap();
    let small = h.join("small.bin");
    std::fs::write(&small, vec![1u8; 1000]).unwrap();
    let db = h.join("study.db");
    let storage = format!("sqlite:{}", db.display());
    let out_dir = h.join("results");
    let o = out_dir.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["get", "s3://b/k", d],
        vec!["put", small.to_str().unwrap(), "s3://b/k"],
        vec!["put", big.to_str().unwrap(), "s3://b/k"],
        vec![
            "tune",
            "s3://b/k",
            "--dest-dir",
            d,
            "--storage",
            &storage,
            "--out",
            o,
        ],
        vec![
            "study",
            "create",
            "s3://b/k",
            "--study",
            "s",
            "--storage",
            &storage,
        ],
    ];
    for (i, args) in cases.into_iter().enumerate() {
        let hole = BlackHole::start();
        let ep = hole.url();
        let mut args = args;
        args.extend(["--endpoint-url", &ep]);
        let signal = if i % 2 == 0 { "INT" } else { "TERM" };
        let child = spawn(h, &creds(), &args);
        let (out, took) = signal_when(child, signal, || {
            hole.wait_for_a_connection();
            true
        });
        assert_eq!(
            out.status.code(),
            Some(130),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            took < Duration::from_secs(2),
            "{args:?} took {took:?} after SIG{signal}"
        );
        assert_eq!(names(&dl), Vec::<String>::new(), "{args:?}");
        assert!(!db.exists(), "{args:?} left a store");
        assert!(!out_dir.exists(), "{args:?} left results");
    }

    // A worker whose database accepts and never answers (PostgreSQL's connect is a
    // blocking call: the process still ends on time).
    let hole = BlackHole::start();
    let url = format!("postgres://s3tune@{}/studies?sslmode=disable", hole.addr);
    let child = spawn(h, &[], &["worker", "--storage", &url, "--study", "s"]);
    let (out, took) = signal_when(child, "INT", || {
        hole.wait_for_a_connection();
        true
    });
    exits(&out, 130);
    assert!(took < Duration::from_secs(2), "worker took {took:?}");
}

#[test]
fn a_tune_killed_mid_download_leaves_a_copy_that_its_resume_sweeps() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let dl = h.join("dl");
    std::fs::create_dir(&dl).unwrap();
    let d = dl.to_str().unwrap();
    let out = h.join("results");
    let o = out.to_str().unwrap();
    let storage = format!("sqlite:{}", h.join("k.db").display());
    let args = [
        "tune",
        "--network",
        "s3-like",
        "--object-size",
        "64MiB",
        "--study",
        "k",
        "--storage",
        &storage,
        "--out",
        o,
        "--dest-dir",
        d,
        "--trials",
        "2",
        "--repeats",
        "1",
        "--confirm",
        "0",
        "--param",
        "max_concurrency=1",
        "--no-baseline",
    ];
    let child = spawn(h, &[], &args);
    // The machine's ceiling is measured first (unshaped); a trial's copy is what is slow.
    let (killed, _) = signal_when(child, "KILL", || {
        std::fs::read_dir(&out).is_ok() && !names(&dl).is_empty()
    });
    assert_eq!(killed.status.code(), None);
    let left = names(&dl);
    assert!(
        left.iter().all(|n| n.ends_with(".part")) && !left.is_empty(),
        "{left:?}"
    );
    // The resume takes the copy away first, and the study goes on.
    ok(&run(h, &[], &args));
    assert!(names(&dl).is_empty(), "{:?}", names(&dl));
}

#[test]
fn a_script_trial_dies_with_a_tune_killed_by_sigkill() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let pid_file = h.join("trial.pid");
    let space = super::space(h);
    let script = format!("echo $$ > {}; exec sleep 600", pid_file.display());
    let out = h.join("results");
    let child = spawn(
        h,
        &[],
        &[
            "tune",
            "--command",
            &format!("sh -c '{script}'"),
            "--space",
            &space,
            "--metric",
            "m",
            "--trials",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let (killed, _) = signal_when(child, "KILL", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|t| t.trim().parse::<u32>().is_ok())
    });
    assert_eq!(killed.status.code(), None);
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    let t0 = std::time::Instant::now();
    while alive(&pid) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the trial {pid} outlived its tuner"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_during_a_download_trial_exits_130_and_leaves_nothing() {
    use s3tune_hpo::{SqliteStore, Status, Store};
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let dl = h.join("dl");
    std::fs::create_dir(&dl).unwrap();
    let db = h.join("i.db");
    let out_dir = h.join("o");
    let storage = format!("sqlite:{}", db.display());
    let args = [
        "tune",
        "--network",
        "s3-like",
        "--object-size",
        "256MiB",
        "--study",
        "i",
        "--storage",
        &storage,
        "--out",
        out_dir.to_str().unwrap(),
        "--dest-dir",
        dl.to_str().unwrap(),
        "--param",
        "max_concurrency=1",
    ];
    let child = spawn(h, &[], &args);
    let running = || {
        let Ok(store) = SqliteStore::open_read_only(&db) else {
            return false;
        };
        let Ok(Some(study)) = store.study("i") else {
            return false;
        };
        store
            .trials(&study)
            .is_ok_and(|t| t.iter().any(|t| t.trial.status == Status::Pending))
    };
    let (out, took) = signal_when(child, "INT", running);
    exits(&out, 130);
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(names(&dl).is_empty(), "{:?}", names(&dl));
}

#[test]
fn a_script_trial_runs_with_the_default_signal_handlers() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let status = h.join("status");
    let script = h.join("trial.sh");
    std::fs::write(
        &script,
        format!(
            "grep SigIgn /proc/self/status > {}\necho '[tune-metric]: {{\"m\": 1}}'\n",
            status.display()
        ),
    )
    .unwrap();
    let space = super::space(h);
    ok(&run(
        h,
        &[],
        &[
            "tune",
            "--command",
            &format!("sh {}", script.display()),
            "--space",
            &space,
            "--metric",
            "m",
            "--trials",
            "1",
            "--out",
            h.join("o").to_str().unwrap(),
        ],
    ));
    // SigIgn is a hex mask; SIGINT is bit 1, SIGQUIT bit 2: neither may be ignored.
    let line = std::fs::read_to_string(&status).unwrap();
    let mask = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(mask & 0b110, 0, "{line}");
}
