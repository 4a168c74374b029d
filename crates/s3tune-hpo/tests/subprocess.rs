//! The subprocess backend with real processes, through the real tuner and a SQLite
//! store: what a trial program is given, what it reports, how every way of ending a
//! trial kills its process group, and how each kind of broken program fails its trial
//! with a clear reason while the study goes on.
//!
//! Shell scripts run as `/bin/sh -c SCRIPT sh`, so the tuner's arguments are the
//! script's `$@`. Scripts that must be killed write their group id (`$$`: the program
//! leads its group) to `<checkpoint dir>/pgid` and leave a `sleep 1000` in the group;
//! no test waits on a sleep of its own except to poll for the group to be gone.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use s3tune_hpo::{
    Asha, Config, Domain, Event, Fifo, Limits, Mode, Objective, RandomSearcher, Scale, Scheduler,
    Space, SqliteStore, Status, StopReason, Store, StudySpec, SubprocessBackend, TrialRecord,
    Tuner, Value,
};
use s3tune_hpo::{SchedulerSpec, SearcherSpec, TrialContext};

/// Reads `--x` and `--st_checkpoint_dir` from the arguments (into `$x`, `$ckpt`).
const PARSE: &str = r#"
while [ $# -gt 0 ]; do
  case "$1" in
    --x) x=$2 ;;
    --st_checkpoint_dir) ckpt=$2 ;;
  esac
  shift 2
done
"#;

fn sh(script: &str) -> Vec<String> {
    ["/bin/sh", "-c", script, "sh"].map(str::to_owned).to_vec()
}

fn int(low: i64, high: i64) -> Domain {
    Domain::Int {
        low,
        high,
        scale: Scale::Linear,
    }
}

fn tuner(
    dir: &Path,
    metric: &str,
    space: Space,
    scheduler: Arc<dyn Scheduler>,
) -> (Arc<dyn Store>, Tuner) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.join("s.db")).unwrap());
    let study = store
        .open_or_create(&StudySpec {
            name: "sub".into(),
            space,
            objective: Objective {
                metric: metric.into(),
                mode: Mode::Min,
                constraints: Vec::new(),
                also_minimize: Vec::new(),
            },
            searcher: SearcherSpec::Random {
                points_to_evaluate: vec![],
            },
            scheduler: SchedulerSpec::Fifo { cut_off: None },
            seed: 11,
            settings: serde_json::json!({}),
        })
        .unwrap();
    let tuner = Tuner {
        store: Arc::clone(&store),
        study,
        searcher: Arc::new(RandomSearcher::default()),
        scheduler,
        worker: "test".into(),
        heartbeat: Duration::from_secs(1),
        heartbeat_timeout: None,
    };
    (store, tuner)
}

fn x_space() -> Space {
    Space::new([("x".to_owned(), int(1, 8))]).unwrap()
}

fn trials(n: u64) -> Limits {
    Limits {
        max_trials: Some(n),
        budget: None,
        max_failures_in_a_row: None,
        max_infeasible: None,
    }
}

fn x_of(config: &Config) -> i64 {
    match config["x"] {
        Value::Int(x) => x,
        ref v => panic!("x is {v:?}"),
    }
}

/// Runs the study to `n` trials with one backend and returns its trials.
async fn run_all(
    tuner: &Tuner,
    store: &dyn Store,
    backend: &SubprocessBackend,
    n: u64,
) -> Vec<TrialRecord> {
    let why = within(tuner.run(&trials(n), backend.clone(), std::future::pending(), |_| {}))
        .await
        .unwrap();
    assert_eq!(why, StopReason::Trials);
    store.trials(&tuner.study).unwrap()
}

/// `run` with a deadline: a trial that is never killed fails the test instead of
/// hanging it.
async fn within<T>(run: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the run did not end within a minute")
}

/// The group id a script wrote into its checkpoint folder.
fn pgid_of(backend: &SubprocessBackend, trial: u64) -> i32 {
    let path = backend.trial_dir(trial).join("checkpoints/pgid");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.trim().parse().unwrap()
}

/// Processes of group `pgid` that are not zombies (a killed process whose parent has
/// not reaped it yet is dead, but still counts for `kill(-pgid, 0)`).
fn live_members(pgid: i32) -> Vec<i32> {
    let mut live = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        if fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z" {
            live.push(pid);
        }
    }
    live
}

/// Waits (polling, 10 s at most) until no process of group `pgid` is alive.
async fn assert_group_gone(pgid: i32) {
    use nix::errno::Errno;
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if kill(Pid::from_raw(-pgid), None) == Err(Errno::ESRCH) || live_members(pgid).is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes {:?} of the trial's group {pgid} survived it",
            live_members(pgid)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_script_gets_its_arguments_and_its_reports_are_the_steps() {
    let dir = tempfile::tempdir().unwrap();
    let space = Space::new([
        ("x".to_owned(), int(1, 8)),
        ("lr".to_owned(), Domain::Fixed(Value::Float(0.001))),
        ("flag".to_owned(), Domain::Fixed(Value::Bool(true))),
        (
            "bucket".to_owned(),
            Domain::Fixed(Value::Str("my-bucket".into())),
        ),
    ])
    .unwrap();
    let (store, tuner) = tuner(dir.path(), "loss", space, Arc::new(Fifo));
    let script = format!(
        r#"echo "argv: $*" >&2
echo "env: $OMP_NUM_THREADS $S3TUNE_EXTRA" >&2
{PARSE}
echo "starting"
for i in 1 2 3; do
  echo "[tune-metric]: {{\"epoch\": $i, \"loss\": $x.$i, \"st_worker_iter\": $i}}"
done"#
    );
    let mut backend = SubprocessBackend::new(sh(&script), "loss", dir.path().join("trials"));
    backend.env = vec![("S3TUNE_EXTRA".into(), "extra".into())];
    let records = run_all(&tuner, store.as_ref(), &backend, 2).await;
    assert_eq!(records.len(), 2);
    let omp = std::env::var("OMP_NUM_THREADS").unwrap_or_else(|_| "1".into());
    for r in &records {
        let n = r.trial.id;
        let x = x_of(&r.trial.config);
        assert_eq!(r.trial.status, Status::Completed, "{:?}", r.error);
        let expected: Vec<f64> = (1..=3)
            .map(|i| format!("{x}.{i}").parse().unwrap())
            .collect();
        assert_eq!(r.trial.reports, expected);
        let tdir = backend.trial_dir(n);
        assert_eq!(tdir, dir.path().join(format!("trials/trial-{n}")));
        let err = std::fs::read_to_string(tdir.join("std.err")).unwrap();
        assert_eq!(
            err,
            format!(
                "argv: --bucket my-bucket --flag True --lr 0.001 --x {x} --st_checkpoint_dir {}\nenv: {omp} extra\n",
                tdir.join("checkpoints").display()
            )
        );
        let out = std::fs::read_to_string(tdir.join("std.out")).unwrap();
        assert_eq!(out.lines().count(), 4, "{out}");
        assert!(
            out.starts_with("starting\n[tune-metric]: {\"epoch\": 1"),
            "{out}"
        );
        let config: Config =
            serde_json::from_str(&std::fs::read_to_string(tdir.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(config, r.trial.config);
        assert!(tdir.join("checkpoints").is_dir());
    }
}

#[tokio::test]
async fn parallel_trials_each_get_their_own_arguments_and_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tuner) = tuner(dir.path(), "loss", x_space(), Arc::new(Fifo));
    // The first trial waits until a second one has its folder: they must run at once.
    let script = format!(
        r#"{PARSE}
echo "[tune-metric]: {{\"loss\": $x}}"
while [ "$(ls "$ckpt/../.." | wc -l)" -lt 2 ]; do sleep 0.01; done
echo "[tune-metric]: {{\"loss\": $x}}""#
    );
    let backend = SubprocessBackend::new(sh(&script), "loss", dir.path().join("trials"));
    let why = within(tuner.run_parallel(
        2,
        &trials(4),
        backend.clone(),
        std::future::pending(),
        |_| {},
    ))
    .await
    .unwrap();
    assert_eq!(why, StopReason::Trials);
    let records = store.trials(&tuner.study).unwrap();
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(r.trial.status, Status::Completed, "{:?}", r.error);
        let x = x_of(&r.trial.config) as f64;
        assert_eq!(r.trial.reports, vec![x, x]);
        let config: Config = serde_json::from_str(
            &std::fs::read_to_string(backend.trial_dir(r.trial.id).join("config.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(config, r.trial.config);
    }
}

#[tokio::test]
async fn asha_stops_trials_and_every_trials_group_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tuner) = tuner(
        dir.path(),
        "loss",
        x_space(),
        Arc::new(Asha::new(1, 3, 3.0).unwrap()),
    );
    // The background sleep keeps stdout open: the backend must not wait for it.
    let script = format!(
        r#"{PARSE}
sleep 1000 &
echo $$ > "$ckpt/pgid"
for i in 1 2 3; do echo "[tune-metric]: {{\"loss\": $x}}"; done"#
    );
    let backend = SubprocessBackend::new(sh(&script), "loss", dir.path().join("trials"));
    let records = run_all(&tuner, store.as_ref(), &backend, 8).await;
    let stopped = records
        .iter()
        .filter(|r| r.trial.status == Status::Stopped)
        .count();
    assert!(stopped > 0, "ASHA stopped nothing");
    for r in &records {
        match r.trial.status {
            Status::Stopped => {
                assert_eq!(r.error.as_deref(), Some("stopped by the scheduler"));
                assert_eq!(r.trial.reports.len(), 1);
            }
            Status::Completed => assert_eq!(r.trial.reports.len(), 3),
            other => panic!("trial {} {other:?}: {:?}", r.trial.id, r.error),
        }
        assert_group_gone(pgid_of(&backend, r.trial.id)).await;
    }
}

/// A trial that reports once, starts a grandchild and hangs: only killing its whole
/// group ends it.
fn hang_after_one_report() -> String {
    format!(
        r#"{PARSE}
echo $$ > "$ckpt/pgid"
echo "[tune-metric]: {{\"loss\": $x}}"
sleep 1000 &
sleep 1000"#
    )
}

#[tokio::test]
async fn a_trial_past_its_timeout_fails_and_its_group_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tuner) = tuner(dir.path(), "loss", x_space(), Arc::new(Fifo));
    let script = hang_after_one_report();
    let mut backend = SubprocessBackend::new(sh(&script), "loss", dir.path().join("trials"));
    backend.timeout = Some(Duration::from_secs(3));
    let started = Instant::now();
    let records = run_all(&tuner, store.as_ref(), &backend, 1).await;
    assert!(started.elapsed() < Duration::from_secs(60));
    let r = &records[0];
    assert_eq!(r.trial.status, Status::Failed);
    assert_eq!(
        r.error.as_deref(),
        Some("trial timeout after 3s (--trial-timeout)")
    );
    assert_eq!(r.trial.reports.len(), 1);
    assert_group_gone(pgid_of(&backend, 1)).await;
}

#[tokio::test]
async fn an_interrupt_drops_the_trial_and_kills_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tuner) = tuner(dir.path(), "loss", x_space(), Arc::new(Fifo));
    let script = hang_after_one_report();
    let backend = SubprocessBackend::new(sh(&script), "loss", dir.path().join("trials"));
    let reported = tokio::sync::Notify::new();
    let why = within(
        tuner.run(&trials(3), backend.clone(), reported.notified(), |e| {
            if let Event::Report { .. } = e {
                reported.notify_one();
            }
        }),
    )
    .await
    .unwrap();
    assert_eq!(why, StopReason::Interrupted);
    let records = store.trials(&tuner.study).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].trial.status, Status::Stopped);
    assert_eq!(records[0].error.as_deref(), Some("interrupted"));
    assert_eq!(records[0].trial.reports.len(), 1);
    assert_group_gone(pgid_of(&backend, 1)).await;
}

#[tokio::test]
async fn each_broken_program_fails_its_trial_clearly_and_the_study_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // Ten trials: more than `x_space` has points.
    let space = Space::new([("x".to_owned(), int(1, 1000))]).unwrap();
    let (store, tuner) = tuner(dir.path(), "loss", space, Arc::new(Fifo));
    let trials_dir = dir.path().join("trials");
    let report = r#"echo '[tune-metric]: {"loss": 1.5}'"#;
    // (command, expected reason: exact, or a prefix when it ends in "…").
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["/nonexistent/train.py".into()],
            "cannot start `/nonexistent/train.py`: No such file or directory".into(),
        ),
        (
            sh("echo 'Traceback:' >&2; echo 'NoSuchBucket: nope' >&2; exit 1"),
            "exited with status 1: Traceback: | NoSuchBucket: nope".into(),
        ),
        (sh("echo hello"), "printed no [tune-metric] line".into()),
        (
            sh(r#"echo '[tune-metric]: {"epoch": 1, "accuracy": 0.5, "st_worker_iter": 0}'"#),
            "finished without reporting `loss`; it reported: accuracy, epoch".into(),
        ),
        (
            // A broken line ends the trial at once, even one that would go on.
            sh(&format!(
                "{PARSE}\necho $$ > \"$ckpt/pgid\"\necho a\n{report}\necho '[tune-metric]: {{\"loss\": '\nsleep 1000"
            )),
            "malformed report line 3: EOF while parsing a value…".into(),
        ),
        (
            sh(&format!("{report}; echo 'disk full' >&2; exit 3")),
            "exited with status 3: disk full".into(),
        ),
        (
            sh(&format!("{report}; kill -9 $$")),
            "killed by signal 9 (SIGKILL)".into(),
        ),
        (
            sh(r#"echo '[tune-metric]: {"loss": NaN}'"#),
            "the result is not a finite number".into(),
        ),
        (
            sh(r#"echo '[tune-metric]: {"loss": "fast"}'"#),
            "report line 1: `loss` is \"fast\", not a number".into(),
        ),
    ];
    let n = cases.len() as u64;
    let mut backends: Vec<SubprocessBackend> = cases
        .iter()
        .map(|(command, _)| SubprocessBackend::new(command.clone(), "loss", &trials_dir))
        .collect();
    // The last trial is a good one: the study went on past every failure.
    backends.push(SubprocessBackend::new(sh(report), "loss", &trials_dir));
    let why = within(tuner.run(
        &trials(n + 1),
        {
            let backends = backends.clone();
            move |ctx: Arc<TrialContext>| {
                let backend = backends[ctx.trial() as usize - 1].clone();
                async move { backend.run_trial(&ctx).await }
            }
        },
        std::future::pending(),
        |_| {},
    ))
    .await
    .unwrap();
    assert_eq!(why, StopReason::Trials);
    let records = store.trials(&tuner.study).unwrap();
    assert_eq!(records.len(), cases.len() + 1);
    for (r, (_, expected)) in records.iter().zip(&cases) {
        let got = r.error.as_deref().unwrap_or("");
        assert_eq!(
            r.trial.status,
            Status::Failed,
            "trial {}: {got}",
            r.trial.id
        );
        match expected.strip_suffix('…') {
            Some(prefix) => assert!(got.starts_with(prefix), "trial {}: {got}", r.trial.id),
            None => assert_eq!(got, expected, "trial {}", r.trial.id),
        }
        assert!(!got.contains('\n'), "{got}");
    }
    let last = records.last().unwrap();
    assert_eq!(
        (last.trial.status, last.trial.reports.clone()),
        (Status::Completed, vec![1.5])
    );
    for n in 1..=records.len() as u64 {
        let tdir = backends[0].trial_dir(n);
        for file in ["std.out", "std.err", "config.json"] {
            assert!(tdir.join(file).is_file(), "trial {n} has no {file}");
        }
    }
    // The malformed-line trial was killed, not left running.
    assert_group_gone(pgid_of(&backends[4], 5)).await;
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn branin(x1: f64, x2: f64) -> f64 {
    use std::f64::consts::PI;
    let b = 5.1 / (4.0 * PI * PI);
    let c = 5.0 / PI;
    let t = 1.0 / (8.0 * PI);
    (x2 - b * x1 * x1 + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
}

#[tokio::test]
async fn the_branin_example_runs_as_a_trial_program() {
    let dir = tempfile::tempdir().unwrap();
    let float = |low, high| Domain::Float {
        low,
        high,
        scale: Scale::Linear,
    };
    let space = Space::new([
        ("x1".to_owned(), float(-5.0, 10.0)),
        ("x2".to_owned(), float(0.0, 15.0)),
        ("epochs".to_owned(), Domain::Fixed(Value::Int(3))),
    ])
    .unwrap();
    let (store, tuner) = tuner(dir.path(), "loss", space, Arc::new(Fifo));
    let script = examples().join("branin.py").display().to_string();
    let backend = SubprocessBackend::new(
        vec!["python3".into(), script],
        "loss",
        dir.path().join("trials"),
    );
    let records = run_all(&tuner, store.as_ref(), &backend, 3).await;
    for r in &records {
        assert_eq!(r.trial.status, Status::Completed, "{:?}", r.error);
        let [Value::Float(x1), Value::Float(x2)] = [&r.trial.config["x1"], &r.trial.config["x2"]]
        else {
            panic!("{:?}", r.trial.config);
        };
        let f = branin(*x1, *x2);
        let reports = &r.trial.reports;
        assert_eq!(reports.len(), 3);
        assert!(
            reports[0] > reports[1] && reports[1] > reports[2],
            "{reports:?}"
        );
        assert!(
            (reports[2] - f).abs() < 1e-9 * f.max(1.0),
            "{reports:?} vs {f}"
        );
        assert!(reports[2] >= 0.397_887 - 1e-6);
    }
}

/// A stand-in for boto3 (first on PYTHONPATH): `download_file` writes the file and logs
/// what it was given; or, with `broken`, a boto3 that cannot be imported.
fn fake_boto3(dir: &Path, broken: bool) -> PathBuf {
    let root = dir.join("fake-python");
    std::fs::create_dir_all(root.join("boto3/s3")).unwrap();
    let init = if broken {
        "raise ImportError('no module named botocore')\n"
    } else {
        r#"import json, os

class _Client:
    def __init__(self, endpoint_url):
        self.endpoint_url = endpoint_url

    def download_file(self, bucket, key, filename, Config=None):
        with open(filename, "wb") as f:
            f.write(b"x" * 1000)
        with open(os.environ["FAKE_BOTO3_LOG"], "a") as log:
            log.write(json.dumps([self.endpoint_url, bucket, key, Config.kw]) + "\n")

def client(service, endpoint_url=None):
    assert service == "s3"
    return _Client(endpoint_url)
"#
    };
    std::fs::write(root.join("boto3/__init__.py"), init).unwrap();
    std::fs::write(root.join("boto3/s3/__init__.py"), "").unwrap();
    std::fs::write(
        root.join("boto3/s3/transfer.py"),
        "class TransferConfig:\n    def __init__(self, **kw):\n        self.kw = kw\n",
    )
    .unwrap();
    root
}

fn download_space(dest: &Path) -> Space {
    let fixed = |v: Value| Domain::Fixed(v);
    Space::new([
        ("max_concurrency".to_owned(), int(1, 64)),
        (
            "multipart_chunksize".to_owned(),
            Domain::Ordinal(vec![Value::Int(5 << 20), Value::Int(8 << 20)]),
        ),
        ("max_io_queue".to_owned(), fixed(Value::Int(100))),
        ("io_chunksize".to_owned(), fixed(Value::Int(256 << 10))),
        ("bucket".to_owned(), fixed(Value::Str("data".into()))),
        ("key".to_owned(), fixed(Value::Str("big.bin".into()))),
        (
            "endpoint_url".to_owned(),
            fixed(Value::Str("http://127.0.0.1:9".into())),
        ),
        ("repeats".to_owned(), fixed(Value::Int(2))),
        (
            "dest_dir".to_owned(),
            fixed(Value::Str(dest.display().to_string())),
        ),
    ])
    .unwrap()
}

#[tokio::test]
async fn the_boto3_example_times_downloads_with_the_trials_transfer_config() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    let (store, tuner) = tuner(dir.path(), "seconds", download_space(&dest), Arc::new(Fifo));
    let log = dir.path().join("boto3.log");
    let script = examples().join("boto3_download.py").display().to_string();
    let mut backend = SubprocessBackend::new(
        vec!["python3".into(), script],
        "seconds",
        dir.path().join("trials"),
    );
    backend.env = vec![
        (
            "PYTHONPATH".into(),
            fake_boto3(dir.path(), false).display().to_string(),
        ),
        ("FAKE_BOTO3_LOG".into(), log.display().to_string()),
    ];
    let records = run_all(&tuner, store.as_ref(), &backend, 2).await;
    let calls: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(calls.len(), 4, "two downloads per trial");
    for (r, trial_calls) in records.iter().zip(calls.chunks(2)) {
        assert_eq!(r.trial.status, Status::Completed, "{:?}", r.error);
        assert_eq!(r.trial.reports.len(), 2);
        assert!(r.trial.reports.iter().all(|s| *s >= 0.0 && *s < 60.0));
        let c = &r.trial.config;
        let int_of = |name: &str| match c[name] {
            Value::Int(i) => i,
            ref v => panic!("{v:?}"),
        };
        for call in trial_calls {
            assert_eq!(
                *call,
                serde_json::json!([
                    "http://127.0.0.1:9",
                    "data",
                    "big.bin",
                    {
                        // The trial's knobs; boto3's defaults for the others.
                        "max_concurrency": int_of("max_concurrency"),
                        "multipart_chunksize": int_of("multipart_chunksize"),
                        "max_io_queue": 100,
                        "io_chunksize": 262_144,
                        "multipart_threshold": 8_388_608,
                        "num_download_attempts": 5,
                        "use_threads": true,
                        "max_bandwidth": null,
                    }
                ])
            );
        }
    }
    // Every copy was deleted.
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);
}

#[tokio::test]
async fn the_boto3_example_says_when_boto3_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tuner) = tuner(
        dir.path(),
        "seconds",
        download_space(dir.path()),
        Arc::new(Fifo),
    );
    let script = examples().join("boto3_download.py").display().to_string();
    let mut backend = SubprocessBackend::new(
        vec!["python3".into(), script],
        "seconds",
        dir.path().join("trials"),
    );
    backend.env = vec![(
        "PYTHONPATH".into(),
        fake_boto3(dir.path(), true).display().to_string(),
    )];
    let records = run_all(&tuner, store.as_ref(), &backend, 1).await;
    assert_eq!(records[0].trial.status, Status::Failed);
    assert_eq!(
        records[0].error.as_deref(),
        Some("exited with status 2: boto3 is not installed: pip install boto3")
    );
}
