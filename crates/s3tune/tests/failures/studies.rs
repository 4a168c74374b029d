//! Studies: exit codes that tell the truth (3 when a run's every trial failed, for both
//! kinds), flags of a resumed study applied or refused (never ignored), and reports that
//! read a store without writing it.

use s3tune_emulator::NetworkProfile;

use super::common::Tmpfs;
use super::{argv, creds, emulator, exits, last_line, ok, one_line, run, script, space};

#[test]
fn a_run_whose_every_trial_fails_exits_3_for_scripts_and_downloads() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let sp = space(h);
    for (i, (command, extra, reason)) in [
        ("exit 1", vec![], "exited with status 1"),
        (
            "echo '[tune-metric]: {bad'",
            vec![],
            "malformed report line",
        ),
        ("true", vec![], "printed no [tune-metric] line"),
        (
            "echo '[tune-metric]: {\"other\": 1}'",
            vec![],
            "finished without reporting `m`",
        ),
        ("/no/such/program", vec![], "exited with status 127"),
        (
            "sleep 30",
            vec!["--trial-timeout", "1s"],
            "trial timeout after 1s",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let command = script(h, &format!("t{i}.sh"), command);
        let command = command.as_str();
        let out_dir = h.join(format!("r{i}"));
        let mut args = vec![
            "tune",
            "--command",
            command,
            "--space",
            &sp,
            "--metric",
            "m",
            "--trials",
            "1",
            "--out",
            out_dir.to_str().unwrap(),
        ];
        args.extend(extra);
        let out = run(h, &[], &args);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = last_line(&out);
        assert!(
            line.starts_with("s3tune: no trial succeeded: the one trial failed"),
            "{line}"
        );
        assert!(line.contains(reason), "{command}: {line}");
        // The outputs name only what was written.
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("best.json"), "{stdout}");
        assert!(!out_dir.join("best.json").exists());
    }

    // Three failures in a row end the run, and with none succeeding the code is 3.
    let out = run(
        h,
        &[],
        &[
            "tune",
            "--command",
            "false",
            "--space",
            &sp,
            "--metric",
            "m",
            "--trials",
            "20",
            "--out",
            h.join("many").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        last_line(&out).contains("all 3 trials failed"),
        "{}",
        last_line(&out)
    );

    // A download study whose every copy breaks off.
    let broken = emulator(
        &["data/obj.bin=4MiB"],
        NetworkProfile {
            reset_probability: 1.0,
            ..NetworkProfile::unlimited()
        },
    );
    let dl = h.join("dl");
    std::fs::create_dir(&dl).unwrap();
    let (ep, d, o) = (broken.endpoint(), dl.to_str().unwrap(), h.join("d"));
    let out = run(
        h,
        &creds(),
        &argv(
            "tune s3://data/obj.bin --trials 10 --repeats 1",
            &[
                "--endpoint-url",
                &ep,
                "--dest-dir",
                d,
                "--out",
                o.to_str().unwrap(),
            ],
        ),
    );
    exits(&out, 3);
    assert!(
        last_line(&out).contains("no trial succeeded: all 3 trials failed"),
        "{}",
        last_line(&out)
    );
    assert!(std::fs::read_dir(&dl).unwrap().next().is_none());
}

#[test]
fn a_worker_whose_every_trial_fails_exits_3_too() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (sp, failing) = (space(h), script(h, "fail.sh", "exit 2"));
    let storage = format!("sqlite:{}", h.join("w.db").display());
    let study = ["--storage", &storage, "--command", &failing, "--space", &sp];
    ok(&run(
        h,
        &[],
        &argv("study create --study w --metric m --trials 10", &study),
    ));
    let o = h.join("o");
    let out = run(
        h,
        &[],
        &argv(
            "worker --study w",
            &["--storage", &storage, "--out", o.to_str().unwrap()],
        ),
    );
    exits(&out, 3);
    assert!(
        last_line(&out).contains(
            "no trial succeeded: all 3 trials failed; the last error: exited with status 2"
        ),
        "{}",
        last_line(&out)
    );
}

#[test]
fn a_zero_trial_timeout_or_worker_budget_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let sp = space(h);
    let out = run(
        h,
        &[],
        &[
            "tune",
            "--command",
            "true",
            "--space",
            &sp,
            "--metric",
            "m",
            "--trial-timeout",
            "0s",
        ],
    );
    one_line(&out, 1, "--trial-timeout must be more than zero");
    let db = h.join("w.db");
    let out = run(
        h,
        &[],
        &[
            "worker",
            "--storage",
            &format!("sqlite:{}", db.display()),
            "--study",
            "s",
            "--budget",
            "0s",
        ],
    );
    one_line(&out, 1, "--budget must be more than zero");
    assert!(!db.exists());
}

#[test]
fn a_resumed_study_applies_a_new_trial_timeout_and_refuses_a_changed_definition() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let sp = space(h);
    let storage = format!("sqlite:{}", h.join("s.db").display());
    let out_dir = h.join("out");
    let sleep = script(h, "sleep.sh", "sleep 30");
    // `COMMAND ARGS` on the script study `t`.
    let on_t = |command: &[&str], extra: &[&str]| {
        let mut args = command.to_vec();
        args.extend(["--study", "t", "--storage", &storage, "--command", &sleep]);
        args.extend([
            "--space",
            &sp,
            "--metric",
            "m",
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        args.extend_from_slice(extra);
        run(h, &[], &args)
    };
    let created = ok(&on_t(
        &["study", "create"],
        &["--trials", "1", "--trial-timeout", "10m"],
    ));
    assert!(created.contains("study t created in"), "{created}");
    let out = on_t(&["tune"], &["--trials", "1", "--trial-timeout", "1s"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("study t: --trial-timeout 1s applies from now on (it was 10m)"),
        "{stderr}"
    );
    assert!(stderr.contains("trial timeout after 1s"), "{stderr}");
    assert_eq!(out.status.code(), Some(3));
    let out = on_t(&["tune"], &["--trials", "2", "--searcher", "random"]);
    one_line(&out, 1, "study `t` was made with --searcher bo");

    // A download study keeps its network, object and repeats.
    let storage = format!("sqlite:{}", h.join("d.db").display());
    let on_d = |command: &[&str], extra: &[&str]| {
        let mut args = command.to_vec();
        args.extend(["--study", "d", "--storage", &storage]);
        args.extend_from_slice(extra);
        run(h, &[], &args)
    };
    let create = [
        "--network",
        "unlimited",
        "--object-size",
        "16MiB",
        "--trials",
        "3",
    ];
    ok(&on_d(&["study", "create"], &create));
    one_line(
        &on_d(&["tune"], &["--object-size", "32MiB"]),
        1,
        "study `d` was made with --object-size 16MiB, and a study keeps what defines it: drop --object-size 32MiB",
    );
    let out = on_d(&["tune"], &["--network", "s3-like"]);
    one_line(&out, 1, "was made with --network unlimited");
    let out = on_d(&["tune"], &["--repeats", "5"]);
    one_line(&out, 1, "was made with --repeats 3");
}

#[test]
fn report_reads_a_store_and_writes_nothing_into_it() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // A store that is not there is not made, nor its folder.
    let missing = h.join("no").join("such.db");
    let out = run(
        h,
        &[],
        &[
            "report",
            "x",
            "--storage",
            &format!("sqlite:{}", missing.display()),
        ],
    );
    one_line(&out, 1, "no such file");
    assert!(!h.join("no").exists());
    // An empty file stays empty.
    let empty = h.join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let out = run(
        h,
        &[],
        &[
            "report",
            "x",
            "--storage",
            &format!("sqlite:{}", empty.display()),
        ],
    );
    one_line(&out, 1, "not a study store");
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    // A real store: a missing study is named with those there; the file is unchanged.
    let sp = space(h);
    let db = h.join("s.db");
    let storage = format!("sqlite:{}", db.display());
    ok(&run(
        h,
        &[],
        &[
            "study",
            "create",
            "--study",
            "t",
            "--storage",
            &storage,
            "--command",
            "true",
            "--space",
            &sp,
            "--metric",
            "m",
            "--trials",
            "1",
        ],
    ));
    let before = std::fs::read(&db).unwrap();
    let out = run(h, &[], &["report", "zz", "--storage", &storage]);
    one_line(&out, 1, "no study named `zz`");
    assert!(String::from_utf8_lossy(&out.stderr).contains("(it has t)"));
    ok(&run(
        h,
        &[],
        &[
            "report",
            "t",
            "--storage",
            &storage,
            "--out",
            h.join("r").to_str().unwrap(),
        ],
    ));
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "report wrote to the store"
    );
}

#[test]
fn a_read_only_destination_is_refused_before_a_study_is_made() {
    // A read-only tmpfs: even root cannot write there. Mounting needs root, which CI has.
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let ro = h.join("ro");
    let Some(disk) = Tmpfs::mount(&ro, "ro,size=1m") else {
        return;
    };
    let db = h.join("s.db");
    let out = run(
        h,
        &[],
        &[
            "tune",
            "--network",
            "unlimited",
            "--object-size",
            "1MiB",
            "--dest-dir",
            ro.to_str().unwrap(),
            "--storage",
            &format!("sqlite:{}", db.display()),
            "--out",
            h.join("o").to_str().unwrap(),
        ],
    );
    drop(disk);
    one_line(&out, 1, "cannot write there (Read-only file system)");
    assert!(!db.exists(), "no study was made");
}
