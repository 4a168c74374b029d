//! `s3tune study create` and `s3tune worker` as a user runs them: several worker
//! processes on one study in a real PostgreSQL (`S3TUNE_TEST_POSTGRES`, started by
//! `scripts/test`; a database per test) or a real SQLite file, trials of
//! `examples/branin.py` and downloads from the embedded emulator over real sockets.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime};

use s3tune_hpo::testing::TempDatabase;
use s3tune_hpo::{PostgresStore, SqliteStore, Status, Store, TrialRecord, config_hash};

mod common;
use common::{command, ok, one_line_error, run};

const BRANIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/branin.py");
const SPACE: &str = "x1 = { float = [-5.0, 10.0] }\nx2 = { float = [0.0, 15.0] }\nepochs = 1\n";

fn space_file(home: &Path, text: &str) -> String {
    let path = home.join("space.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `s3tune study create` of a Branin study (`command` runs one trial).
fn create(home: &Path, storage: &str, command: &str, trials: &str, extra: &[&str]) -> String {
    let space = space_file(home, SPACE);
    let mut args = vec![
        "study",
        "create",
        "--study",
        "br",
        "--storage",
        storage,
        "--command",
        command,
        "--space",
        &space,
        "--metric",
        "loss",
        "--trials",
        trials,
    ];
    args.extend_from_slice(extra);
    ok(&run(home, &[], &args))
}

fn worker(home: &Path, storage: &str, out: &Path, extra: &[&str]) -> Child {
    let mut args = vec![
        "worker",
        "--storage",
        storage,
        "--study",
        "br",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    command(home, &[], &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn trials(store: &dyn Store, name: &str) -> Vec<TrialRecord> {
    let study = store.study(name).unwrap().expect("the study exists");
    store.trials(&study).unwrap()
}

/// The trial numbers whose folders are in `out/trials`.
fn trial_dirs(out: &Path) -> Vec<u64> {
    match std::fs::read_dir(out.join("trials")) {
        Ok(dir) => dir
            .map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_prefix("trial-").unwrap().parse().unwrap()
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn four_workers_end_a_200_trial_study_with_200_distinct_trials_each_run_once() {
    let db = TempDatabase::create();
    let home = tempfile::tempdir().unwrap();
    let printed = create(
        home.path(),
        db.url(),
        &format!("python3 {BRANIN}"),
        "200",
        &[],
    );
    assert!(printed.contains("s3tune worker --storage"), "{printed}");
    let outs: Vec<PathBuf> = (0..4).map(|i| home.path().join(format!("w{i}"))).collect();
    let children: Vec<Child> = outs
        .iter()
        .map(|o| worker(home.path(), db.url(), o, &[]))
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a worker failed:\n{stderr}");
        assert!(
            stderr.contains("the study's trial budget is spent") && stderr.contains("200 of 200"),
            "{stderr}"
        );
    }

    let store = PostgresStore::connect(db.url()).unwrap();
    let all = trials(&store, "br");
    assert_eq!(all.len(), 200, "exactly the budget, nothing lost or extra");
    assert!(
        all.iter()
            .all(|t| t.trial.status == Status::Completed && !t.lost),
        "{:?}",
        all.iter()
            .filter(|t| t.trial.status != Status::Completed)
            .map(|t| (t.trial.id, &t.error))
            .collect::<Vec<_>>()
    );
    let ids: Vec<u64> = all.iter().map(|t| t.trial.id).collect();
    assert_eq!(ids, (1..=200).collect::<Vec<_>>());
    let configs: HashSet<u64> = all.iter().map(|t| config_hash(&t.trial.config)).collect();
    assert_eq!(configs.len(), 200, "a configuration was claimed twice");
    // Each trial ran once, in the worker the store names: its folder is in that worker's
    // output and in no other.
    let mut ran: Vec<u64> = Vec::new();
    let mut by_worker: std::collections::HashMap<&str, Vec<u64>> = Default::default();
    for t in &all {
        by_worker.entry(&t.worker).or_default().push(t.trial.id);
    }
    for out in &outs {
        let mut dirs = trial_dirs(out);
        dirs.sort_unstable();
        if let Some(first) = dirs.first() {
            let owner = &all[*first as usize - 1].worker;
            let mut theirs = by_worker[owner.as_str()].clone();
            theirs.sort_unstable();
            assert_eq!(dirs, theirs, "worker {owner} ran other trials than its own");
        }
        ran.extend(dirs);
    }
    ran.sort_unstable();
    assert_eq!(
        ran,
        (1..=200).collect::<Vec<_>>(),
        "a trial ran twice or never"
    );
    assert!(by_worker.len() >= 2, "the workers did not share the study");
}

#[test]
fn a_killed_worker_s_trial_is_lost_within_two_heartbeat_timeouts_and_the_study_completes() {
    let db = TempDatabase::create();
    let home = tempfile::tempdir().unwrap();
    let timeout = Duration::from_secs(1);
    // Trials take a little while, so the kill lands mid-trial.
    create(
        home.path(),
        db.url(),
        &format!("sleep 0.4; python3 {BRANIN}"),
        "12",
        &["--heartbeat-timeout", "1s"],
    );
    // The victim is named, as a worker on another machine is seen: only its heartbeat
    // can tell that it died.
    let mut victim = worker(
        home.path(),
        db.url(),
        &home.path().join("a"),
        &["--name", "remote-a"],
    );
    let store = PostgresStore::connect(db.url()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let running = loop {
        let mine = store
            .study("br")
            .unwrap()
            .map(|s| store.trials(&s).unwrap());
        if let Some(t) = mine
            .into_iter()
            .flatten()
            .find(|t| t.worker == "remote-a" && t.trial.status == Status::Pending)
        {
            break t.trial.id;
        }
        assert!(
            Instant::now() < deadline,
            "the worker never started a trial"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let others: Vec<Child> = ["b", "c"]
        .iter()
        .map(|n| worker(home.path(), db.url(), &home.path().join(n), &[]))
        .collect();
    victim.kill().unwrap();
    let killed = SystemTime::now();
    victim.wait().unwrap();
    for child in others {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
    }

    let all = trials(&store, "br");
    let lost = all.iter().find(|t| t.trial.id == running).unwrap();
    assert_eq!(lost.trial.status, Status::Failed);
    assert!(lost.lost);
    assert!(
        lost.error.as_deref().unwrap().contains("no heartbeat"),
        "{:?}",
        lost.error
    );
    let noticed = lost.finished.unwrap();
    assert!(
        noticed <= killed + 2 * timeout,
        "marked lost {:?} after the kill",
        noticed.duration_since(killed)
    );
    // The budget is still met: 12 trials that count, all completed, none running.
    let counted: Vec<_> = all.iter().filter(|t| !t.lost).collect();
    assert_eq!(counted.len(), 12);
    assert!(counted.iter().all(|t| t.trial.status == Status::Completed));
    assert!(all.iter().all(|t| t.trial.status != Status::Pending));

    // `study list` tells the same story.
    let listed = ok(&run(
        home.path(),
        &[],
        &["study", "list", "--storage", db.url(), "--json"],
    ));
    let rows: Vec<serde_json::Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{listed}");
    let best = counted
        .iter()
        .filter_map(|t| t.trial.value())
        .fold(f64::INFINITY, f64::min);
    let lost_count = all.iter().filter(|t| t.lost).count();
    assert!(lost_count >= 1);
    let row = &rows[0];
    assert_eq!(row["study"], "br");
    assert_eq!(row["completed"], 12);
    assert_eq!(row["running"], 0);
    assert_eq!(row["failed"], 0);
    assert_eq!(row["lost"], lost_count);
    assert_eq!(row["budget_trials"], 12);
    assert_eq!(row["best"].as_f64(), Some(best));
}

#[test]
fn study_list_of_a_storage_that_is_not_there_says_so_and_creates_nothing() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("studies.db");
    let storage = format!("sqlite:{}", path.display());
    let out = run(home.path(), &[], &["study", "list", "--storage", &storage]);
    one_line_error(&out, "no study storage at");
    assert!(!path.exists(), "a database was left behind");
}

#[test]
fn workers_share_a_download_study_in_sqlite() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("s.db");
    let storage = format!("sqlite:{}", db.display());
    let dl = home.path().join("dl");
    std::fs::create_dir(&dl).unwrap();
    ok(&run(
        home.path(),
        &[],
        &[
            "study",
            "create",
            "--study",
            "br",
            "--storage",
            &storage,
            "--network",
            "unlimited",
            "--object-size",
            "8MiB",
            "--repeats",
            "1",
            "--trials",
            "6",
        ],
    ));
    let dest = ["--dest-dir", dl.to_str().unwrap()];
    let children: Vec<Child> = ["a", "b"]
        .iter()
        .map(|n| worker(home.path(), &storage, &home.path().join(n), &dest))
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let store = SqliteStore::open(&db).unwrap();
    let all = trials(&store, "br");
    assert_eq!(all.len(), 6);
    // boto3's defaults came first, once; every download's bytes were checked.
    let baseline = &all[0].trial.config;
    assert_eq!(
        all.iter().filter(|t| &t.trial.config == baseline).count(),
        1
    );
    for t in &all {
        assert_ne!(t.trial.status, Status::Failed, "{:?}", t.error);
        assert_eq!(t.trial.reports.len(), 1);
    }
    assert_eq!(
        std::fs::read_dir(&dl).unwrap().count(),
        0,
        "a copy was left"
    );
    let out = home.path().join("report");
    let table = ok(&run(
        home.path(),
        &[],
        &[
            "report",
            "br",
            "--storage",
            &storage,
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    assert!(table.contains("baseline"), "{table}");
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Runs s3tune expecting a one-line error containing `needle`, within 10 seconds.
fn fails_fast(home: &Path, env: &[(&str, &str)], args: &[&str], needle: &str) {
    let started = Instant::now();
    let out = run(home, env, args);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    one_line_error(&out, needle);
}

#[test]
fn bad_databases_and_mismatched_studies_fail_in_one_line_within_10_seconds_writing_nothing() {
    let db = TempDatabase::create();
    let home = tempfile::tempdir().unwrap();
    let url = db.url().to_owned();
    let (userinfo, rest) = url
        .strip_prefix("postgres://")
        .unwrap()
        .split_once('@')
        .unwrap();
    let (user, password) = userinfo.split_once(':').unwrap();
    let space = space_file(home.path(), SPACE);
    let script = format!("python3 {BRANIN}");
    let tune = |storage: &str, space: &str, metric: &str| -> Vec<String> {
        [
            "tune",
            "--study",
            "br",
            "--storage",
            storage,
            "--command",
            &script,
            "--space",
            space,
            "--metric",
            metric,
            "--trials",
            "3",
            "--out",
            home.path().join("out").to_str().unwrap(),
        ]
        .map(str::to_owned)
        .to_vec()
    };

    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused = format!("postgres://{user}:{password}@127.0.0.1:{port}/db");
    fails_fast(
        home.path(),
        &[],
        &strs(&tune(&refused, &space, "loss")),
        "127.0.0.1",
    );
    // Something listens there and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mute = format!(
        "postgres://{user}:{password}@127.0.0.1:{}/db",
        silent.local_addr().unwrap().port()
    );
    fails_fast(
        home.path(),
        &[],
        &["worker", "--storage", &mute, "--study", "br"],
        "did not answer",
    );
    drop(silent);
    // A wrong password, in the URL or in PGPASSWORD.
    let wrong = format!("postgres://{user}:not-{password}@{rest}");
    fails_fast(
        home.path(),
        &[],
        &strs(&tune(&wrong, &space, "loss")),
        "password authentication failed",
    );
    let bare = format!("postgres://{user}@{rest}");
    fails_fast(
        home.path(),
        &[("PGPASSWORD", "nope")],
        &["worker", "--storage", &bare, "--study", "br"],
        "password authentication failed",
    );
    // No such study yet: the worker says how to make one.
    fails_fast(
        home.path(),
        &[("PGPASSWORD", password)],
        &["worker", "--storage", &bare, "--study", "br"],
        "s3tune study create",
    );

    // The password from PGPASSWORD, as libpq users expect.
    ok(&run(
        home.path(),
        &[("PGPASSWORD", password)],
        &[
            "study",
            "create",
            "--study",
            "br",
            "--storage",
            &bare,
            "--command",
            &script,
            "--space",
            &space,
            "--metric",
            "loss",
            "--trials",
            "3",
        ],
    ));
    let store = PostgresStore::connect(db.url()).unwrap();
    let study = store.study("br").unwrap().unwrap();
    let notes = store.notes(&study).unwrap();
    // Joining with another space or objective: refused, and nothing is written.
    let other_space = home.path().join("other.toml");
    std::fs::write(&other_space, "x1 = { float = [0.0, 1.0] }\n").unwrap();
    fails_fast(
        home.path(),
        &[],
        &strs(&tune(&url, other_space.to_str().unwrap(), "loss")),
        "different search space",
    );
    fails_fast(
        home.path(),
        &[],
        &strs(&tune(&url, &space, "accuracy")),
        "different objective",
    );
    assert_eq!(store.study("br").unwrap().unwrap(), study);
    assert!(store.trials(&study).unwrap().is_empty());
    assert_eq!(store.notes(&study).unwrap(), notes);
    assert_eq!(store.studies().unwrap(), vec!["br"]);
}
