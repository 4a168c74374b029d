//! Spaces, searchers and schedulers, tested as a study would use them.

use std::collections::HashSet;

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use s3tune_hpo::*;

const S3_SPACE: &str = r#"
max_concurrency = { int = [1, 256], scale = "log" }
multipart_chunksize = { int = [5242880, 268435456], scale = "log" }
io_chunksize = { ordinal = [65536, 262144, 1048576] }
use_threads = { choice = [true, false] }
bucket = "data"
"#;

/// FNV-1a of `{"x":1}`, computed independently: the hash must never change.
const HASH_OF_X_1: u64 = 0xbdd3_d53c_3a0b_3fd6;

fn trial(id: u64, config: Config, status: Status, reports: Vec<f64>) -> Trial {
    Trial {
        id,
        config,
        status,
        reports,
        metrics: Vec::new(),
    }
}

/// Runs `searcher` for `n` suggestions, recording each as completed.
fn run(searcher: &dyn Searcher, space: &Space, n: usize, seed: u64) -> (Vec<Config>, bool) {
    let mut history = History::default();
    let mut rng = StdRng::seed_from_u64(seed);
    for i in 0..n {
        match searcher.suggest(space, &history, &mut rng).unwrap() {
            Suggestion::Config(c) => {
                history
                    .trials
                    .push(trial(i as u64, c, Status::Completed, vec![1.0]))
            }
            Suggestion::Exhausted => {
                return (history.trials.into_iter().map(|t| t.config).collect(), true);
            }
        }
    }
    (
        history.trials.into_iter().map(|t| t.config).collect(),
        false,
    )
}

#[test]
fn toml_spaces_parse_and_encode() {
    let space = Space::from_toml(S3_SPACE).unwrap();
    assert_eq!(
        space.dims(),
        1 + 1 + 1 + 2,
        "fixed values take no dimension, choices one-hot"
    );
    let mut rng = StdRng::seed_from_u64(1);
    let c = space.sample(&mut rng);
    assert_eq!(c["bucket"], Value::Str("data".into()));
    let x = space.encode(&c).unwrap();
    assert!(x.iter().all(|u| (0.0..=1.0).contains(u)));
    assert_eq!(space.decode(&x), c);
}

#[test]
fn json_spaces_equal_toml_ones() {
    let json = r#"{"max_concurrency": {"int": [1, 256], "scale": "log"},
        "multipart_chunksize": {"int": [5242880, 268435456], "scale": "log"},
        "io_chunksize": {"ordinal": [65536, 262144, 1048576]},
        "use_threads": {"choice": [true, false]}, "bucket": "data"}"#;
    assert_eq!(
        Space::from_json(json).unwrap(),
        Space::from_toml(S3_SPACE).unwrap()
    );
    assert!(
        Space::from_json("[1, 2]")
            .unwrap_err()
            .to_string()
            .contains("table of parameters")
    );
    assert!(Space::from_json("{").is_err());
}

#[test]
fn bad_spaces_are_clear_errors() {
    let cases = [
        ("x = { int = [10, 1] }", "low bound above high bound"),
        (
            "x = { float = [0.0, 1.0], scale = \"log\" }",
            "log scale needs bounds above 0",
        ),
        (
            "x = { int = [-1, 5], scale = \"log\" }",
            "log scale needs bounds above 0",
        ),
        ("x = { choice = [] }", "list of values is empty"),
        ("x = { float = [0.0, nan] }", "must be numbers"),
        ("x = { int = [1, 2], scale = \"cubic\" }", "scale must be"),
        ("x = { range = [1, 2] }", "unknown key `range`"),
        ("x = { int = [1.5, 2] }", "whole numbers"),
        ("bucket = \"only-fixed\"", "search space is empty"),
        ("", "search space is empty"),
        ("x = [[[", "line 1, column"),
    ];
    for (text, want) in cases {
        let e = Space::from_toml(text).unwrap_err().to_string();
        assert!(e.contains(want), "{text}: {e}");
        assert!(!e.contains("(file)"), "{text}: {e}");
    }
}

#[test]
fn space_file_errors_name_the_line_column_and_parameter() {
    let text = "a = { int = [1, 8] }\n\nb = { int = [9, 2] }\n";
    let e = Space::from_toml(text).unwrap_err();
    assert_eq!(e.param(), Some("b"));
    assert!(
        e.to_string().starts_with("line 3, column 1: parameter `b`"),
        "{e}"
    );
    let e =
        Space::from_json("{\n  \"a\": {\"int\": [1, 8]},\n  \"b\": {\"range\": 3}\n}").unwrap_err();
    assert!(
        e.to_string().starts_with("line 3, column 3: parameter `b`"),
        "{e}"
    );
    let e = Space::from_json("{\"a\": ").unwrap_err();
    assert!(e.to_string().starts_with("line 1, column"), "{e}");
}

#[test]
fn configs_outside_the_space_are_refused() {
    let space = Space::from_toml("x = { int = [1, 10] }\ny = { choice = [\"a\", \"b\"] }").unwrap();
    let mut c = Config::new();
    c.insert("x".into(), Value::Int(11));
    c.insert("y".into(), Value::Str("a".into()));
    assert!(
        space
            .encode(&c)
            .unwrap_err()
            .to_string()
            .contains("outside")
    );
    c.insert("x".into(), Value::Int(3));
    c.insert("y".into(), Value::Str("c".into()));
    assert!(space.encode(&c).is_err());
    c.remove("y");
    assert!(
        space
            .encode(&c)
            .unwrap_err()
            .to_string()
            .contains("missing")
    );
}

proptest! {
    /// Decoding any point gives a valid configuration, which encodes and decodes to itself.
    #[test]
    fn encoding_round_trips(x in proptest::collection::vec(0.0f64..=1.0, 5), seed in 0u64..1000) {
        let space = Space::from_toml(S3_SPACE).unwrap();
        let c = space.decode(&x);
        let back = space.encode(&c).unwrap();
        prop_assert_eq!(space.decode(&back), c);
        let mut rng = StdRng::seed_from_u64(seed);
        let s = space.sample(&mut rng);
        prop_assert!(space.encode(&s).is_ok());
        match s["max_concurrency"] { Value::Int(v) => prop_assert!((1..=256).contains(&v)), _ => prop_assert!(false) }
    }

    /// Log-scale floats stay within bounds and spread evenly in log space.
    #[test]
    fn log_floats_in_bounds(seed in 0u64..200) {
        let space = Space::from_toml("lr = { float = [1e-4, 1e-1], scale = \"log\" }").unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..20 {
            match space.sample(&mut rng)["lr"] { Value::Float(v) => prop_assert!((1e-4..=1e-1).contains(&v)), _ => prop_assert!(false) }
        }
    }
}

#[test]
fn hashes_are_stable_and_distinguish() {
    let mut a = Config::new();
    a.insert("x".into(), Value::Int(1));
    let mut b = a.clone();
    assert_eq!(config_hash(&a), config_hash(&b));
    b.insert("x".into(), Value::Int(2));
    assert_ne!(config_hash(&a), config_hash(&b));
    // The same value in every build: studies written by one version are read by the next.
    assert_eq!(config_hash(&a), HASH_OF_X_1);
}

#[test]
fn random_search_is_deterministic_and_starts_with_points_to_evaluate() {
    let space = Space::from_toml(S3_SPACE).unwrap();
    let mut first = space.sample(&mut StdRng::seed_from_u64(99));
    first.insert("max_concurrency".into(), Value::Int(10));
    let s = RandomSearcher {
        points_to_evaluate: vec![first.clone()],
    };
    let (a, _) = run(&s, &space, 20, 7);
    let (b, _) = run(&s, &space, 20, 7);
    let (c, _) = run(&s, &space, 20, 8);
    assert_eq!(a[0], first);
    assert_eq!(a, b, "same seed, same suggestions");
    assert_ne!(a, c, "another seed, other suggestions");
}

#[test]
fn discrete_spaces_get_no_duplicates_until_exhausted() {
    let space =
        Space::from_toml("a = { int = [1, 4] }\nb = { choice = [\"x\", \"y\", \"z\"] }").unwrap();
    for searcher in [
        &RandomSearcher::default() as &dyn Searcher,
        &GridSearcher::default(),
    ] {
        let (configs, exhausted) = run(searcher, &space, 20, 3);
        assert!(exhausted, "then a clear 'space exhausted'");
        assert_eq!(configs.len(), 12);
        let distinct: HashSet<u64> = configs.iter().map(config_hash).collect();
        assert_eq!(distinct.len(), 12, "no duplicate before exhaustion");
    }
}

#[test]
fn grid_search_covers_the_grid_in_a_seeded_order() {
    let space =
        Space::from_toml("x = { float = [0.0, 1.0] }\nn = { int = [1, 1000], scale = \"log\" }")
            .unwrap();
    let g = GridSearcher {
        resolution: 4,
        seed: 5,
        points_to_evaluate: vec![],
    };
    let grid = g.grid(&space).unwrap();
    assert_eq!(grid.len(), 16);
    let xs: HashSet<String> = grid.iter().map(|c| c["x"].to_string()).collect();
    assert_eq!(xs.len(), 4);
    let ns: Vec<i64> = {
        let mut v: Vec<i64> = grid
            .iter()
            .filter_map(|c| {
                if let Value::Int(n) = c["n"] {
                    Some(n)
                } else {
                    None
                }
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    assert_eq!(ns, vec![1, 10, 100, 1000], "log-spaced");
    let (a, _) = run(&g, &space, 16, 1);
    let (b, _) = run(&g, &space, 16, 2);
    assert_eq!(
        a, b,
        "the order depends on the grid's seed, not the caller's stream"
    );
    let huge = GridSearcher {
        resolution: 1000,
        ..g
    };
    let three =
        Space::from_toml("a = { float = [0, 1] }\nb = { float = [0, 1] }\nc = { float = [0, 1] }")
            .unwrap();
    assert!(matches!(
        huge.grid(&three),
        Err(SearchError::GridTooLarge(_))
    ));
}

#[test]
fn non_finite_results_fail_the_trial() {
    let mut h = History {
        trials: vec![trial(0, Config::new(), Status::Pending, vec![])],
    };
    assert_eq!(h.complete(0, f64::NAN), Status::Failed);
    assert_eq!(h.trials[0].value(), None);
    h.trials
        .push(trial(1, Config::new(), Status::Pending, vec![]));
    assert_eq!(h.complete(1, f64::INFINITY), Status::Failed);
    h.trials
        .push(trial(2, Config::new(), Status::Pending, vec![]));
    assert_eq!(h.complete(2, 2.5), Status::Completed);
    assert_eq!(h.trials[2].value(), Some(2.5));
}

#[test]
fn asha_rungs_and_decisions() {
    let asha = Asha::new(1, 9, 3.0).unwrap();
    assert_eq!(asha.rungs(), &[1, 3]);
    assert!(
        Asha::new(0, 9, 3.0).is_err()
            && Asha::new(3, 3, 3.0).is_err()
            && Asha::new(1, 9, 1.5).is_err()
    );
    let min = Objective {
        metric: "seconds".into(),
        mode: Mode::Min,
        constraints: Vec::new(),
        also_minimize: Vec::new(),
    };
    // Scripted: three trials report at rung 1 (seconds: 5, 3, 9), in that order.
    let mut h = History::default();
    let decide = |h: &mut History, id: u64, value: f64| {
        if let Some(t) = h.trials.iter_mut().find(|t| t.id == id) {
            t.reports.push(value);
        } else {
            h.trials
                .push(trial(id, Config::new(), Status::Pending, vec![value]));
        }
        asha.on_report(id, h, &min)
    };
    assert_eq!(
        decide(&mut h, 0, 5.0),
        Decision::Continue,
        "alone at the rung"
    );
    assert_eq!(decide(&mut h, 1, 3.0), Decision::Continue, "best of two");
    assert_eq!(
        decide(&mut h, 2, 9.0),
        Decision::Stop,
        "not in the best third of three"
    );
    // Between rungs nothing is decided.
    assert_eq!(decide(&mut h, 1, 100.0), Decision::Continue);
    // At rung 3 only trials that got there count: trial 1 alone goes on...
    assert_eq!(decide(&mut h, 1, 2.0), Decision::Continue);
    // ...trial 0 reaches it better, and goes on (best of two)...
    assert_eq!(
        decide(&mut h, 0, 4.0),
        Decision::Continue,
        "its second report: no rung"
    );
    assert_eq!(decide(&mut h, 0, 1.5), Decision::Continue);
    // ...and a third, worse one is stopped there.
    for v in [4.0, 6.0] {
        assert_eq!(decide(&mut h, 3, v), Decision::Continue);
    }
    assert_eq!(decide(&mut h, 3, 7.0), Decision::Stop);
    // Maximizing flips the order.
    let max = Objective {
        metric: "mbps".into(),
        mode: Mode::Max,
        constraints: Vec::new(),
        also_minimize: Vec::new(),
    };
    let mut h = History::default();
    for (id, v) in [(0, 5.0), (1, 3.0)] {
        h.trials
            .push(trial(id, Config::new(), Status::Pending, vec![v]));
    }
    h.trials
        .push(trial(2, Config::new(), Status::Pending, vec![9.0]));
    assert_eq!(asha.on_report(2, &h, &max), Decision::Continue);
    assert_eq!(asha.on_report(1, &h, &max), Decision::Stop);
    assert_eq!(Fifo.on_report(1, &h, &max), Decision::Continue);
}

#[test]
fn bayesian_optimization_homes_in_and_respects_the_history() {
    let space = Space::from_toml("x = { float = [-2, 3] }\nn = { int = [1, 64], scale = \"log\" }")
        .unwrap();
    let f = |c: &Config| {
        let (Value::Float(x), Value::Int(n)) = (&c["x"], &c["n"]) else {
            panic!("types")
        };
        (x - 1.0).powi(2) + (((*n as f64).ln() - 8f64.ln()) / 2.0).powi(2)
    };
    let objective = Objective {
        metric: "f".into(),
        mode: Mode::Min,
        constraints: Vec::new(),
        also_minimize: Vec::new(),
    };
    let mut first = Config::new();
    first.insert("x".into(), Value::Float(-2.0));
    first.insert("n".into(), Value::Int(1));
    let bo = BoSearcher {
        points_to_evaluate: vec![first.clone()],
        ..BoSearcher::new(objective)
    };
    let mut rng = StdRng::seed_from_u64(11);
    let mut history = History::default();
    for i in 0..20u64 {
        let Suggestion::Config(c) = bo.suggest(&space, &history, &mut rng).unwrap() else {
            panic!("exhausted")
        };
        if i == 0 {
            assert_eq!(c, first, "points_to_evaluate first");
        }
        assert!(space.encode(&c).is_ok(), "suggestions fit the space");
        let v = f(&c);
        history.trials.push(trial(i, c, Status::Completed, vec![v]));
    }
    let best = history
        .trials
        .iter()
        .filter_map(Trial::value)
        .fold(f64::INFINITY, f64::min);
    assert!(
        best < 0.05,
        "BO got within 0.05 of the minimum in 20 evaluations: {best}"
    );
    // A pending trial is not suggested again.
    let mut with_pending = history.clone();
    let Suggestion::Config(next) = bo
        .suggest(&space, &history, &mut StdRng::seed_from_u64(1))
        .unwrap()
    else {
        panic!()
    };
    with_pending
        .trials
        .push(trial(99, next.clone(), Status::Pending, vec![]));
    let Suggestion::Config(again) = bo
        .suggest(&space, &with_pending, &mut StdRng::seed_from_u64(1))
        .unwrap()
    else {
        panic!()
    };
    assert_ne!(config_hash(&again), config_hash(&next));
}

/// Parallel workers spend no more random points than one worker does: running trials
/// count towards BO's random start, as long as half of it has results.
#[test]
fn running_trials_count_towards_the_random_start() {
    let space = Space::from_toml("x = { float = [0, 1] }\ny = { float = [0, 1] }").unwrap();
    let bo = BoSearcher::new(Objective {
        metric: "f".into(),
        mode: Mode::Min,
        constraints: Vec::new(),
        also_minimize: Vec::new(),
    });
    assert_eq!(bo.initial_points, 10);
    let mut rng = StdRng::seed_from_u64(3);
    // `completed` results and `running` running trials, all at random points.
    let history = |completed: usize, running: usize, rng: &mut StdRng| History {
        trials: (0..completed + running)
            .map(|i| {
                let c = space.sample(rng);
                if i < completed {
                    let v = c
                        .values()
                        .map(|v| match v {
                            Value::Float(f) => *f,
                            _ => panic!("floats only"),
                        })
                        .sum::<f64>();
                    trial(i as u64, c, Status::Completed, vec![v])
                } else {
                    trial(i as u64, c, Status::Pending, vec![])
                }
            })
            .collect(),
    };
    // Random while the suggestion is the same as the random searcher's from the same
    // random stream.
    let is_random = |h: &History, seed: u64| {
        let from_bo = bo
            .suggest(&space, h, &mut StdRng::seed_from_u64(seed))
            .unwrap();
        let from_random = RandomSearcher::default()
            .suggest(&space, h, &mut StdRng::seed_from_u64(seed))
            .unwrap();
        from_bo == from_random
    };
    for seed in 0..5 {
        assert!(
            is_random(&history(9, 0, &mut rng), seed),
            "9 results: random"
        );
        assert!(
            !is_random(&history(10, 0, &mut rng), seed),
            "10 results: BO"
        );
        assert!(
            !is_random(&history(7, 3, &mut rng), seed),
            "7 results + 3 running: BO"
        );
        assert!(
            is_random(&history(6, 3, &mut rng), seed),
            "6 + 3 running: random"
        );
        assert!(
            is_random(&history(4, 8, &mut rng), seed),
            "4 + 8 running: random"
        );
        assert!(
            !is_random(&history(5, 8, &mut rng), seed),
            "5 + 8 running: BO"
        );
    }
}

/// A run of BO on Branin that settled on the box's edge: the data say the function falls
/// towards x1 = 10, nothing was tried just inside it (the minimum is at x1 = 9.42), and
/// the model kept proposing (10, 3.003) again, a few 10⁻⁴ apart. It must try something
/// else: nothing within 10⁻³ of the range of a point already tried.
#[test]
fn bayesian_optimization_does_not_try_the_same_point_again_and_again() {
    let space = Space::from_toml("x1 = { float = [-5, 10] }\nx2 = { float = [0, 15] }").unwrap();
    #[rustfmt::skip]
    let tried = [
        (-0.3716, 13.1105), (-0.8614, 6.9846), (7.9704, 13.6646), (7.9123, 0.2217),
        (1.6501, 5.2056), (0.6088, 12.8414), (-1.9596, 14.9717), (8.8994, 11.3180),
        (8.5493, 3.6297), (0.5437, 7.6607), (-0.1900, 1.6266), (5.4776, 2.8196),
        (10.0, 3.0374), (-5.0, 1.3401), (10.0, 2.0829), (10.0, 4.8614), (-5.0, 3.8065),
        (10.0, 1.0166), (10.0, 3.6528), (-5.0, 9.8708), (10.0, 3.2446), (10.0, 2.9052),
        (-5.0, 12.6905), (10.0, 2.9906), (10.0, 2.9946), (-5.0, 15.0), (10.0, 3.0045),
        (3.5799, 0.0), (10.0, 3.0033),
    ];
    let branin = |x1: f64, x2: f64| {
        let pi = std::f64::consts::PI;
        let b = 5.1 / (4.0 * pi * pi);
        (x2 - b * x1 * x1 + 5.0 / pi * x1 - 6.0).powi(2)
            + 10.0 * (1.0 - 1.0 / (8.0 * pi)) * x1.cos()
            + 10.0
    };
    let history = History {
        trials: tried
            .iter()
            .enumerate()
            .map(|(i, &(x1, x2))| {
                let mut c = Config::new();
                c.insert("x1".into(), Value::Float(x1));
                c.insert("x2".into(), Value::Float(x2));
                trial(i as u64, c, Status::Completed, vec![branin(x1, x2)])
            })
            .collect(),
    };
    let bo = BoSearcher::new(Objective {
        metric: "f".into(),
        mode: Mode::Min,
        constraints: Vec::new(),
        also_minimize: Vec::new(),
    });
    for seed in 0..10 {
        let Suggestion::Config(c) = bo
            .suggest(&space, &history, &mut StdRng::seed_from_u64(seed))
            .unwrap()
        else {
            panic!("exhausted")
        };
        let x = space.encode(&c).unwrap();
        for t in &history.trials {
            let y = space.encode(&t.config).unwrap();
            let close = x.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-3);
            assert!(
                !close,
                "seed {seed}: {c:?} is next to trial {} ({:?})",
                t.id, t.config
            );
        }
    }
}
