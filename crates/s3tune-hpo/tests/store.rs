//! The study store and the tuner loop, against a real SQLite file and a real PostgreSQL
//! server (`S3TUNE_TEST_POSTGRES`, started by `scripts/test`; a database per test).
//!
//! `conformance` and `concurrent_claims` are what every `Store` must do; they run on both.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use s3tune_hpo::backend::TrialError;
use s3tune_hpo::{
    Asha, Claim, Config, Domain, Event, Fifo, History, Limits, Mode, Objective, PostgresStore,
    RandomSearcher, Scale, SearchError, Searcher, Space, SqliteStore, Status, StopReason, Store,
    StoreError, StudySpec, Suggestion, Tuner, Value, config_hash, testing::TempDatabase,
};
use s3tune_hpo::{SchedulerSpec, SearcherSpec};

fn space() -> Space {
    Space::new([
        (
            "x".to_owned(),
            Domain::Int {
                low: 1,
                high: 8,
                scale: Scale::Linear,
            },
        ),
        (
            "y".to_owned(),
            Domain::Ordinal(vec![Value::Int(1), Value::Int(2), Value::Int(4)]),
        ),
    ])
    .unwrap()
}

fn spec(name: &str) -> StudySpec {
    StudySpec {
        name: name.into(),
        space: space(),
        objective: Objective {
            metric: "seconds".into(),
            mode: Mode::Min,
            constraints: Vec::new(),
            also_minimize: Vec::new(),
        },
        searcher: SearcherSpec::Random {
            points_to_evaluate: vec![],
        },
        scheduler: SchedulerSpec::Fifo { cut_off: None },
        seed: 7,
        settings: serde_json::json!({"repeats": 3}),
    }
}

fn random(history: &History) -> Result<Suggestion, SearchError> {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(history.trials.len() as u64);
    RandomSearcher::default().suggest(&space(), history, &mut rng)
}

fn claim(store: &dyn Store, study: &s3tune_hpo::Study, worker: &str) -> u64 {
    match store.claim(study, worker, &mut random).unwrap() {
        Claim::Trial(t) => t.trial.id,
        Claim::Exhausted => panic!("the space is not exhausted"),
    }
}

/// What every store must do.
fn conformance(store: &dyn Store) {
    // Creating twice opens the same study; another definition under the name is refused.
    let a = store.open_or_create(&spec("a")).unwrap();
    assert_eq!(store.open_or_create(&spec("a")).unwrap().id, a.id);
    assert_eq!(a.spec, spec("a"));
    let mut other = spec("a");
    other.objective.mode = Mode::Max;
    let err = store.open_or_create(&other).unwrap_err();
    assert!(matches!(err, StoreError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("objective"), "{err}");
    let reread = store.study("a").unwrap().unwrap();
    assert_eq!(reread.spec, spec("a"));
    assert!(store.study("nope").unwrap().is_none());
    // The search is part of the definition: every process must decide alike.
    let mut other = spec("a");
    other.scheduler = SchedulerSpec::Asha {
        min_resource: 1,
        max_resource: 3,
        eta: 3.0,
        cut_off: Some(s3tune_hpo::CutOff {
            ratio: 3.0,
            slack: 1.0,
        }),
    };
    let err = store.open_or_create(&other).unwrap_err();
    assert!(err.to_string().contains("different scheduler"), "{err}");
    let c = store
        .open_or_create(&{
            let mut s = other.clone();
            s.name = "c".into();
            s
        })
        .unwrap();
    assert_eq!(c.spec.scheduler, other.scheduler);
    assert_eq!(
        store.study("c").unwrap().unwrap().spec.scheduler,
        other.scheduler
    );
    // A budget is kept beside the study, and read back as saved.
    let budget = s3tune_hpo::Budget::new(
        Some(9),
        Some(Duration::from_secs(60)),
        Duration::from_secs(4),
    );
    assert_eq!(store.budget(&c).unwrap(), Default::default());
    store.set_budget(&c, &budget).unwrap();
    assert_eq!(store.budget(&c).unwrap(), budget);

    // Claims number trials from 1 and show earlier claims as pending.
    let t1 = claim(store, &a, "w1");
    let mut pending_seen = 0;
    store
        .claim(&a, "w2", &mut |h| {
            pending_seen = h
                .trials
                .iter()
                .filter(|t| t.status == Status::Pending)
                .count();
            random(h)
        })
        .unwrap();
    assert_eq!((t1, pending_seen), (1, 1));

    // Reports append in order; finish sets the status and reason; NaN survives as NaN.
    let measured = |v: f64| s3tune_hpo::Metrics::from([("memory".to_owned(), v)]);
    store.report(&a, 1, 2.5, &measured(100.0)).unwrap();
    store.report(&a, 1, 2.0, &measured(300.0)).unwrap();
    store.finish(&a, 1, Status::Completed, None).unwrap();
    store.report(&a, 2, f64::NAN, &Default::default()).unwrap();
    store.finish(&a, 2, Status::Failed, Some("boom")).unwrap();
    let trials = store.trials(&a).unwrap();
    assert_eq!(trials[0].trial.reports, vec![2.5, 2.0]);
    assert_eq!(trials[0].trial.value(), Some(2.0));
    // What each report measured besides is kept with it; a trial costs its costliest.
    assert_eq!(
        trials[0].trial.metrics,
        vec![measured(100.0), measured(300.0)]
    );
    assert_eq!(trials[0].trial.metric("memory"), Some(300.0));
    assert!(trials[1].trial.metrics.is_empty());
    assert_eq!(trials[0].worker, "w1");
    assert!(trials[0].finished.is_some());
    assert_eq!(trials[1].trial.status, Status::Failed);
    assert!(trials[1].trial.reports[0].is_nan());
    assert_eq!(trials[1].error.as_deref(), Some("boom"));
    assert!(matches!(
        store.report(&a, 99, 1.0, &Default::default()),
        Err(StoreError::NoTrial { trial: 99, .. })
    ));

    // Stale running trials are failed and lost; fresh ones are left alone.
    let t3 = claim(store, &a, "w1");
    assert!(
        store
            .fail_stale(&a, Duration::from_secs(3600), "lost")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.fail_stale(&a, Duration::ZERO, "lost").unwrap(),
        vec![t3]
    );
    let t = &store.trials(&a).unwrap()[2];
    assert_eq!(
        (t.trial.status, t.error.as_deref(), t.lost),
        (Status::Failed, Some("lost"), true)
    );
    assert!(
        !store.trials(&a).unwrap()[1].lost,
        "a failed trial is not lost"
    );
    // A lost trial is out of the history (its configuration is free again), and its
    // worker can no longer report to it, beat for it or finish it.
    let history = store.history(&a).unwrap();
    assert_eq!(
        history.trials.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![1, 2]
    );
    for err in [
        store.report(&a, t3, 1.0, &Default::default()).unwrap_err(),
        store.heartbeat(&a, t3).unwrap_err(),
        store.finish(&a, t3, Status::Completed, None).unwrap_err(),
    ] {
        assert!(
            matches!(err, StoreError::NotRunning { trial, .. } if trial == t3),
            "{err}"
        );
    }
    assert!(matches!(
        store.heartbeat(&a, 99),
        Err(StoreError::NoTrial { trial: 99, .. })
    ));
    assert!(matches!(
        store.finish(&a, 1, Status::Failed, Some("again")),
        Err(StoreError::NotRunning { trial: 1, .. })
    ));
    // Numbers are never reused, and a trial known to be gone is lost only if running.
    let t4 = claim(store, &a, "w2");
    assert_eq!(t4, 4);
    let mut seen_by_claim = 0;
    store
        .claim(&a, "w3", &mut |h| {
            seen_by_claim = h.trials.len();
            random(h)
        })
        .unwrap();
    assert_eq!(seen_by_claim, 3, "the claim saw the lost trial");
    store.heartbeat(&a, t4).unwrap();
    assert_eq!(
        store.fail_trials(&a, &[1, t4, 99], "gone").unwrap(),
        vec![t4]
    );
    let trials = store.trials(&a).unwrap();
    assert_eq!(trials[0].trial.status, Status::Completed);
    assert_eq!(trials[3].error.as_deref(), Some("gone"));
    store.report(&a, 5, 3.0, &Default::default()).unwrap();
    store.finish(&a, 5, Status::Completed, None).unwrap();

    // Notes: replaced by key, per study.
    store
        .put_note(&a, "race", &serde_json::json!({"runs": [1.0]}))
        .unwrap();
    store
        .put_note(&a, "race", &serde_json::json!({"runs": [2.0]}))
        .unwrap();
    let notes = store.notes(&a).unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes["race"], serde_json::json!({"runs": [2.0]}));

    // Studies are separate.
    let b = store.open_or_create(&spec("b")).unwrap();
    assert_eq!(claim(store, &b, "w1"), 1);
    assert_eq!(store.studies().unwrap(), vec!["a", "c", "b"]);
    assert!(store.notes(&b).unwrap().is_empty());

    // A searcher's error reaches the caller and claims nothing.
    let before = store.trials(&b).unwrap().len();
    let err = store
        .claim(&b, "w1", &mut |_| Err(SearchError::GridTooLarge(5)))
        .unwrap_err();
    assert!(matches!(err, StoreError::Search(_)));
    assert_eq!(store.trials(&b).unwrap().len(), before);
}

/// Four connections, as four processes would have, claiming in parallel on a 24-point
/// space: every point exactly once, numbered 1 to 24, then "exhausted" for all.
fn concurrent_claims(open: impl Fn() -> Box<dyn Store> + Sync) {
    let study = open().open_or_create(&spec("c")).unwrap();
    let counts: Vec<usize> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (open, study) = (&open, &study);
                s.spawn(move || {
                    let store = open();
                    // Each opens the study as a joining worker does.
                    assert_eq!(store.open_or_create(&spec("c")).unwrap().id, study.id);
                    let mut mine = 0;
                    while let Claim::Trial(_) =
                        store.claim(study, &format!("w{w}"), &mut random).unwrap()
                    {
                        mine += 1;
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let store = open();
    let trials = store.trials(&study).unwrap();
    let hashes: HashSet<u64> = trials
        .iter()
        .map(|t| config_hash(&t.trial.config))
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), 24);
    assert_eq!(trials.len(), 24);
    assert_eq!(hashes.len(), 24, "a configuration was claimed twice");
    let numbers: Vec<u64> = trials.iter().map(|t| t.trial.id).collect();
    assert_eq!(numbers, (1..=24).collect::<Vec<_>>());
}

#[test]
fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("s.db")).unwrap();
    conformance(&store);
    // Everything is on disk: a second connection reads the same.
    let again = SqliteStore::open(dir.path().join("s.db")).unwrap();
    let a = again.study("a").unwrap().unwrap();
    assert_eq!(again.trials(&a).unwrap().len(), 5);
}

#[test]
fn postgres_store_conforms() {
    let db = TempDatabase::create();
    let store = PostgresStore::connect(db.url()).unwrap();
    conformance(&store);
    // Everything is in the database: a second connection reads the same.
    let again = PostgresStore::connect(db.url()).unwrap();
    let a = again.study("a").unwrap().unwrap();
    assert_eq!(again.trials(&a).unwrap().len(), 5);
    // Messages name the database, never its password.
    let password = db
        .url()
        .split('@')
        .next()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap();
    assert!(!again.location().contains(password), "{}", again.location());
}

/// TLS as libpq's `sslmode` says, against the test server (TLS on, plain connections
/// allowed, its certificate made out to `localhost` only): each connection is counted
/// as encrypted or not by the server itself.
#[test]
fn postgres_connections_use_tls_as_sslmode_says() {
    let db = TempDatabase::create();
    let ca = s3tune_hpo::testing::server_ca();
    let url = |query: &str| format!("{}?{query}", db.url());
    let named = |query: &str| url(query).replacen("@127.0.0.1:", "@localhost:", 1);
    assert!(
        url("").contains("@127.0.0.1:"),
        "the test server is on 127.0.0.1"
    );
    let sessions = |ssl: bool| {
        db.number(&format!(
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
             WHERE ssl = {ssl} AND application_name = 's3tune' AND datname = current_database()"
        ))
    };
    // Every store stays open, so the counts only grow.
    let mut open = Vec::new();
    for (query, encrypted) in [
        ("sslmode=disable".to_owned(), false),
        (String::new(), true), // prefer, as libpq
        ("sslmode=require".to_owned(), true),
        (format!("sslmode=verify-ca&sslrootcert={ca}"), true), // the name is not checked
    ] {
        let before = (sessions(false), sessions(true));
        open.push(PostgresStore::connect(&url(&query)).unwrap_or_else(|e| panic!("{query}: {e}")));
        let want = if encrypted {
            (before.0, before.1 + 1)
        } else {
            (before.0 + 1, before.1)
        };
        assert_eq!((sessions(false), sessions(true)), want, "{query}");
    }
    let full = format!("sslmode=verify-full&sslrootcert={ca}");
    open.push(PostgresStore::connect(&named(&full)).unwrap());
    // Its location, which hints print for the next command, keeps the TLS settings.
    let shown = open.last().unwrap().location();
    assert!(shown.ends_with(&format!("?{full}")), "{shown}");
    assert_eq!((sessions(false), sessions(true)), (1, 4));
    // Refused, in one line, before anything is written: a certificate made out to
    // another name, and one no trusted root signed.
    for (bad, says) in [
        (url(&full), "sslmode=verify-ca"),
        (
            named("sslmode=verify-full&sslrootcert=system"),
            "sslrootcert=",
        ),
    ] {
        let started = std::time::Instant::now();
        let Err(e) = PostgresStore::connect(&bad) else {
            panic!("{bad}: connected")
        };
        let e = e.to_string();
        assert!(e.contains(says) && !e.contains('\n'), "{bad}: {e}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    assert_eq!((sessions(false), sessions(true)), (1, 4));
}

#[test]
fn concurrent_sqlite_claims_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    concurrent_claims(|| Box::new(SqliteStore::open(&path).unwrap()));
}

#[test]
fn concurrent_postgres_claims_never_collide() {
    let db = TempDatabase::create();
    concurrent_claims(|| Box::new(PostgresStore::connect(db.url()).unwrap()));
}

#[test]
fn a_store_that_is_not_sqlite_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "these are my notes, not a database ".repeat(100)).unwrap();
    let err = SqliteStore::open(&path).unwrap_err().to_string();
    assert!(err.contains("notes.txt"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "these are my notes, not a database ".repeat(100),
        "the file was changed"
    );
}

fn loss(c: &Config) -> f64 {
    let x = match c["x"] {
        Value::Int(x) => x as f64,
        _ => unreachable!(),
    };
    (x - 3.0).powi(2) + 1.0
}

fn tuner(store: Arc<dyn Store>, name: &str, scheduler: Arc<dyn s3tune_hpo::Scheduler>) -> Tuner {
    let study = store.open_or_create(&spec(name)).unwrap();
    Tuner {
        store,
        study,
        searcher: Arc::new(RandomSearcher::default()),
        scheduler,
        worker: "test".into(),
        heartbeat: Duration::from_secs(1),
        heartbeat_timeout: None,
    }
}

/// Reports `steps` results: the loss, rising with each step for configs far from the
/// optimum (so ASHA has something to cut).
async fn objective(ctx: Arc<s3tune_hpo::TrialContext>, steps: usize) -> Result<(), TrialError> {
    for _ in 0..steps {
        if ctx.report(loss(ctx.config())).await? == s3tune_hpo::Decision::Stop {
            break;
        }
    }
    Ok(())
}

#[tokio::test]
async fn tuner_runs_to_the_trial_limit_and_resumes_to_a_larger_one() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let t = tuner(Arc::clone(&store), "t", Arc::new(Fifo));
    let mut finished = 0;
    let limits = Limits {
        max_trials: Some(6),
        budget: None,
        max_failures_in_a_row: None,
        max_infeasible: None,
    };
    let why = t
        .run(
            &limits,
            |c| objective(c, 2),
            std::future::pending(),
            |e| {
                if let Event::Finished { .. } = e {
                    finished += 1;
                }
            },
        )
        .await
        .unwrap();
    assert_eq!((why, finished), (StopReason::Trials, 6));
    // Same limit again: nothing to do. A larger one: only the difference runs.
    let limits10 = Limits {
        max_trials: Some(10),
        budget: None,
        max_failures_in_a_row: None,
        max_infeasible: None,
    };
    assert_eq!(
        t.run(&limits, |c| objective(c, 2), std::future::pending(), |_| {})
            .await
            .unwrap(),
        StopReason::Trials
    );
    t.run(
        &limits10,
        |c| objective(c, 2),
        std::future::pending(),
        |_| {},
    )
    .await
    .unwrap();
    let trials = store.trials(&t.study).unwrap();
    assert_eq!(trials.len(), 10);
    for r in &trials {
        assert_eq!(r.trial.status, Status::Completed);
        assert_eq!(r.trial.reports, vec![loss(&r.trial.config); 2]);
    }
}

#[tokio::test]
async fn failures_and_non_finite_results_are_recorded_and_the_study_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let t = tuner(Arc::clone(&store), "f", Arc::new(Fifo));
    let limits = Limits {
        max_trials: Some(3),
        budget: None,
        max_failures_in_a_row: None,
        max_infeasible: None,
    };
    let run = |ctx: Arc<s3tune_hpo::TrialContext>| async move {
        match ctx.trial() {
            1 => Err("the object is missing".into()),
            2 => ctx
                .report(f64::INFINITY)
                .await
                .map(|_| ())
                .map_err(TrialError::from),
            _ => Ok(()),
        }
    };
    t.run(&limits, run, std::future::pending(), |_| {})
        .await
        .unwrap();
    let trials = store.trials(&t.study).unwrap();
    let got: Vec<(Status, Option<&str>)> = trials
        .iter()
        .map(|r| (r.trial.status, r.error.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Status::Failed, Some("the object is missing")),
            (Status::Failed, Some("the result is not a finite number")),
            (Status::Failed, Some("the trial reported no result")),
        ]
    );
    // With a limit on failures in a row, a broken setup ends the run.
    let limits = Limits {
        max_trials: Some(10),
        budget: None,
        max_failures_in_a_row: Some(2),
        max_infeasible: None,
    };
    let why = t
        .run(
            &limits,
            |_| async { Err::<(), TrialError>("disk full".into()) },
            std::future::pending(),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(why, StopReason::Failing);
    assert_eq!(store.trials(&t.study).unwrap().len(), 5);
}

#[tokio::test]
async fn asha_stops_trials_through_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let t = tuner(
        Arc::clone(&store),
        "asha",
        Arc::new(Asha::new(1, 3, 3.0).unwrap()),
    );
    let limits = Limits {
        max_trials: Some(20),
        budget: None,
        max_failures_in_a_row: None,
        max_infeasible: None,
    };
    t.run(&limits, |c| objective(c, 3), std::future::pending(), |_| {})
        .await
        .unwrap();
    let trials = store.trials(&t.study).unwrap();
    let stopped: Vec<_> = trials
        .iter()
        .filter(|r| r.trial.status == Status::Stopped)
        .collect();
    assert!(!stopped.is_empty(), "ASHA stopped nothing");
    for r in &stopped {
        assert_eq!(r.trial.reports.len(), 1, "stopped at the first rung");
    }
    // Every completed trial ran all three steps.
    for r in trials
        .iter()
        .filter(|r| r.trial.status == Status::Completed)
    {
        assert_eq!(r.trial.reports.len(), 3);
    }
}

#[tokio::test]
async fn an_interrupt_stops_the_running_trial_and_the_study_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let t = tuner(Arc::clone(&store), "i", Arc::new(Fifo));
    let limits = Limits {
        max_trials: Some(5),
        budget: None,
        max_failures_in_a_row: None,
        max_infeasible: None,
    };
    let reported = Arc::new(tokio::sync::Notify::new());
    let notify = Arc::clone(&reported);
    // Trial 2 reports once, then waits forever: the interrupt must end it.
    let run = move |ctx: Arc<s3tune_hpo::TrialContext>| {
        let notify = Arc::clone(&notify);
        async move {
            ctx.report(loss(ctx.config())).await?;
            if ctx.trial() == 2 {
                notify.notify_one();
                std::future::pending::<()>().await;
            }
            Ok(())
        }
    };
    let why = t
        .run(&limits, run, reported.notified(), |_| {})
        .await
        .unwrap();
    assert_eq!(why, StopReason::Interrupted);
    let trials = store.trials(&t.study).unwrap();
    assert_eq!(trials.len(), 2);
    assert_eq!(trials[1].trial.status, Status::Stopped);
    assert_eq!(trials[1].error.as_deref(), Some("interrupted"));
    assert_eq!(trials[1].trial.reports.len(), 1);
    // Resuming finishes the budget.
    t.run(&limits, |c| objective(c, 1), std::future::pending(), |_| {})
        .await
        .unwrap();
    assert_eq!(store.trials(&t.study).unwrap().len(), 5);
}

#[tokio::test]
async fn a_spent_budget_stops_the_running_trial() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let t = tuner(Arc::clone(&store), "b", Arc::new(Fifo));
    let limits = Limits {
        max_trials: None,
        budget: Some(Duration::from_millis(100)),
        max_failures_in_a_row: None,
        max_infeasible: None,
    };
    let why = t
        .run(
            &limits,
            |_| std::future::pending::<Result<(), TrialError>>(),
            std::future::pending(),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(why, StopReason::Budget);
    let trials = store.trials(&t.study).unwrap();
    assert_eq!(trials.len(), 1);
    assert_eq!(trials[0].trial.status, Status::Stopped);
    assert_eq!(trials[0].error.as_deref(), Some("the time budget ran out"));
}

#[test]
fn points_to_evaluate_that_were_interrupted_are_run_again() {
    use rand::SeedableRng;
    let base: Config = [
        ("x".to_owned(), Value::Int(2)),
        ("y".to_owned(), Value::Int(4)),
    ]
    .into();
    let searcher = RandomSearcher {
        points_to_evaluate: vec![base.clone()],
    };
    let mut h = History::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    for attempt in 0..2 {
        assert_eq!(
            searcher.suggest(&space(), &h, &mut rng).unwrap(),
            Suggestion::Config(base.clone()),
            "attempt {attempt}"
        );
        h.trials.push(s3tune_hpo::Trial {
            id: attempt + 1,
            config: base.clone(),
            status: Status::Stopped,
            reports: vec![],
            metrics: vec![],
        });
    }
    // Twice without a result: given up.
    assert_ne!(
        searcher.suggest(&space(), &h, &mut rng).unwrap(),
        Suggestion::Config(base)
    );
}

#[tokio::test]
async fn parallel_workers_run_at_once_and_never_share_a_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let t = tuner(Arc::clone(&store), "p", Arc::new(Fifo));
    let limits = Limits {
        max_trials: Some(16),
        budget: None,
        max_failures_in_a_row: None,
        max_infeasible: None,
    };
    // The first four trials wait for each other: only four at once get through.
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let run = move |ctx: Arc<s3tune_hpo::TrialContext>| {
        let barrier = Arc::clone(&barrier);
        async move {
            if ctx.trial() <= 4 {
                barrier.wait().await;
            }
            objective(ctx, 1).await
        }
    };
    let mut most = 0usize;
    let mut now = 0usize;
    let why = tokio::time::timeout(
        Duration::from_secs(30),
        t.run_parallel(4, &limits, run, std::future::pending(), |e| match e {
            Event::Started(_) => {
                now += 1;
                most = most.max(now);
            }
            Event::Finished { .. } => now -= 1,
            Event::Report { .. } | Event::Lost(_) => {}
        }),
    )
    .await
    .expect("four trials never ran at once")
    .unwrap();
    assert_eq!((why, most), (StopReason::Trials, 4));
    let trials = store.trials(&t.study).unwrap();
    assert_eq!(trials.len(), 16);
    let hashes: HashSet<u64> = trials
        .iter()
        .map(|t| config_hash(&t.trial.config))
        .collect();
    assert_eq!(hashes.len(), 16, "two workers ran one configuration");
    assert!(trials.iter().all(|t| t.trial.status == Status::Completed));
}

#[tokio::test]
async fn an_interrupt_stops_every_running_trial() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let t = tuner(Arc::clone(&store), "pi", Arc::new(Fifo));
    let limits = Limits {
        max_trials: Some(10),
        budget: None,
        max_failures_in_a_row: None,
        max_infeasible: None,
    };
    // Three running trials and the interrupt meet at a barrier: the interrupt fires only
    // once all three are under way; then they hang until dropped.
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let b = Arc::clone(&barrier);
    let run = move |_ctx: Arc<s3tune_hpo::TrialContext>| {
        let b = Arc::clone(&b);
        async move {
            b.wait().await;
            std::future::pending::<Result<(), TrialError>>().await
        }
    };
    let interrupt = async move {
        barrier.wait().await;
    };
    let why = t
        .run_parallel(3, &limits, run, interrupt, |_| {})
        .await
        .unwrap();
    assert_eq!(why, StopReason::Interrupted);
    let trials = store.trials(&t.study).unwrap();
    assert_eq!(trials.len(), 3);
    for r in &trials {
        assert_eq!(r.trial.status, Status::Stopped);
        assert_eq!(r.error.as_deref(), Some("interrupted"));
    }
}

#[test]
fn a_sqlite_store_of_the_first_revision_is_migrated_keeping_its_trials() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    // A store as s3tune wrote it before trials could be lost.
    let study = SqliteStore::open(dir.path().join("model.db"))
        .unwrap()
        .open_or_create(&spec("old"))
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE studies (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
             space TEXT NOT NULL, objective TEXT NOT NULL, searcher TEXT NOT NULL,
             scheduler TEXT NOT NULL, seed INTEGER NOT NULL, settings TEXT NOT NULL,
             created_ms INTEGER NOT NULL);
         CREATE TABLE trials (study INTEGER NOT NULL REFERENCES studies(id),
             number INTEGER NOT NULL, config TEXT NOT NULL, config_hash TEXT NOT NULL,
             status TEXT NOT NULL, reports TEXT NOT NULL, error TEXT, worker TEXT NOT NULL,
             started_ms INTEGER NOT NULL, heartbeat_ms INTEGER NOT NULL, finished_ms INTEGER,
             PRIMARY KEY (study, number));
         CREATE TABLE notes (study INTEGER NOT NULL REFERENCES studies(id), key TEXT NOT NULL,
             value TEXT NOT NULL, PRIMARY KEY (study, key));
         PRAGMA user_version = 1;",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO studies VALUES (1, 'old', ?1, ?2, '{\"kind\":\"random\"}', '{\"kind\":\"fifo\"}', 7, '{\"repeats\":3}', 0)",
        [
            study.spec.space.to_json().to_string(),
            serde_json::to_string(&study.spec.objective).unwrap(),
        ],
    )
    .unwrap();
    conn.execute_batch(
        "INSERT INTO trials VALUES (1, 1, '{\"x\":2,\"y\":4}', 'h', 'completed', '[1.5]', NULL,
             's3tune-1', 0, 0, 0);
         INSERT INTO trials VALUES (1, 2, '{\"x\":3,\"y\":1}', 'h', 'failed', '[]', 'boom',
             's3tune-1', 0, 0, 0);",
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open(&path).unwrap();
    let old = store.open_or_create(&spec("old")).unwrap();
    let trials = store.trials(&old).unwrap();
    assert_eq!(trials.len(), 2);
    assert_eq!(trials[0].trial.reports, vec![1.5]);
    assert_eq!(trials[1].error.as_deref(), Some("boom"));
    assert!(
        trials.iter().all(|t| !t.lost),
        "old failures are not lost ones"
    );
    assert_eq!(claim(&store, &old, "w"), 3);
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 3);
    assert!(trials.iter().all(|t| t.trial.metrics.is_empty()));
}

#[tokio::test]
async fn a_tuner_takes_over_the_trial_of_a_worker_that_went_silent() {
    // Worker A claims a trial and goes silent (its loop is dropped mid-trial, as a
    // machine that dies leaves it); worker B finds the budget taken by A's trial, waits,
    // marks it lost once its heartbeat is stale, and runs the study to its budget.
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let limits = Limits {
        max_trials: Some(4),
        budget: None,
        max_failures_in_a_row: None,
        max_infeasible: None,
    };
    let mut a = tuner(Arc::clone(&store), "shared", Arc::new(Fifo));
    a.worker = "machine-a".into();
    let started = Arc::new(tokio::sync::Notify::new());
    let hang = {
        let started = Arc::clone(&started);
        move |_ctx: Arc<s3tune_hpo::TrialContext>| {
            let started = Arc::clone(&started);
            async move {
                started.notify_one();
                std::future::pending::<Result<(), TrialError>>().await
            }
        }
    };
    tokio::select! {
        _ = a.run(&limits, hang, std::future::pending(), |_| {}) => unreachable!(),
        () = started.notified() => {}
    }
    // B, with three trials to go and A's trial counting, must not stop at the budget.
    let mut b = tuner(Arc::clone(&store), "shared", Arc::new(Fifo));
    b.worker = "machine-b".into();
    b.heartbeat = Duration::from_millis(50);
    b.heartbeat_timeout = Some(Duration::from_millis(300));
    let mut lost = Vec::new();
    let why = tokio::time::timeout(
        Duration::from_secs(30),
        b.run(
            &limits,
            |c| objective(c, 1),
            std::future::pending(),
            |e| {
                if let Event::Lost(t) = e {
                    lost.extend(t.clone());
                }
            },
        ),
    )
    .await
    .expect("B never finished")
    .unwrap();
    assert_eq!((why, lost), (StopReason::Trials, vec![1]));
    let trials = store.trials(&b.study).unwrap();
    assert_eq!(trials.len(), 5);
    assert!(trials[0].lost && trials[0].worker == "machine-a");
    assert!(trials[0].error.as_deref().unwrap().contains("no heartbeat"));
    assert!(
        trials[1..]
            .iter()
            .all(|t| t.trial.status == Status::Completed && t.worker == "machine-b")
    );
}
