//! Searchers on standard test functions: random, grid and GP-BO on Branin (2-D, 30
//! evaluations) and Hartmann6 (6-D, 60 evaluations), 20 seeds each, run sequentially.
//! Prints the median and interquartile range of the simple regret (best found − global
//! minimum) at half and full budget, and the median time of one BO suggestion at 10, 50,
//! 100 and 200 observations. `bo×4` is BO as four asynchronous workers see it: four
//! trials always pending, the oldest finishing next, each suggestion made with the other
//! three pending (the same evaluations, in the order a shared study would get them);
//! the last lines say after how many evaluations sequential BO is as good as `bo×4`
//! after all of them (by the mean log10 regret over the seeds).
//! Then the constrained problems ([`constrained`]): random search against BO that models
//! feasibility; and two-objective ones ([`fronts`]): random search against BO's ParEGO, by
//! hypervolume. `--json`: one JSON object per line instead.
//!
//! Run: `cargo run --release -p s3tune-hpo --example benchmark [-- --json]`
//! (`BENCH_SEEDS=N` for fewer seeds; `BENCH_ONLY=single,constrained,fronts,latency` for
//! some of the sections.)

mod constrained;
mod fronts;

use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use s3tune_hpo::*;

struct Problem {
    name: &'static str,
    space: &'static str,
    budget: usize,
    minimum: f64,
    f: fn(&Config) -> f64,
    grid_resolution: usize,
}

fn num(c: &Config, k: &str) -> f64 {
    match c[k] {
        Value::Float(v) => v,
        Value::Int(v) => v as f64,
        _ => f64::NAN,
    }
}

fn branin(c: &Config) -> f64 {
    let (x1, x2) = (num(c, "x1"), num(c, "x2"));
    let pi = std::f64::consts::PI;
    let (a, b, cc, r, s, t) = (
        1.0,
        5.1 / (4.0 * pi * pi),
        5.0 / pi,
        6.0,
        10.0,
        1.0 / (8.0 * pi),
    );
    a * (x2 - b * x1 * x1 + cc * x1 - r).powi(2) + s * (1.0 - t) * x1.cos() + s
}

fn hartmann6(c: &Config) -> f64 {
    const A: [[f64; 6]; 4] = [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ];
    const P: [[f64; 6]; 4] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ];
    const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
    let x: Vec<f64> = (1..=6).map(|i| num(c, &format!("x{i}"))).collect();
    -(0..4)
        .map(|i| {
            ALPHA[i]
                * (-(0..6)
                    .map(|j| A[i][j] * (x[j] - P[i][j]).powi(2))
                    .sum::<f64>())
                .exp()
        })
        .sum::<f64>()
}

const HARTMANN_SPACE: &str = "x1 = { float = [0, 1] }\nx2 = { float = [0, 1] }\nx3 = { float = [0, 1] }\nx4 = { float = [0, 1] }\nx5 = { float = [0, 1] }\nx6 = { float = [0, 1] }";

fn searcher(kind: &str, resolution: usize, seed: u64) -> Box<dyn Searcher> {
    let objective = Objective {
        metric: "f".into(),
        mode: Mode::Min,
        constraints: Vec::new(),
        also_minimize: Vec::new(),
    };
    match kind {
        "random" => Box::new(RandomSearcher::default()),
        "grid" => Box::new(GridSearcher {
            resolution,
            seed,
            points_to_evaluate: vec![],
        }),
        _ => Box::new(BoSearcher::new(objective)),
    }
}

/// Best value after each evaluation, with `workers` trials pending at once (the oldest
/// finishes first).
fn run(p: &Problem, kind: &str, seed: u64, workers: usize) -> Vec<f64> {
    let space = Space::from_toml(p.space).unwrap();
    let s = searcher(kind, p.grid_resolution, seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut history = History::default();
    let mut best = Vec::new();
    let mut next = 0;
    while best.len() < p.budget {
        while next < p.budget && next - best.len() < workers {
            let Suggestion::Config(c) = s.suggest(&space, &history, &mut rng).unwrap() else {
                break;
            };
            history.trials.push(Trial {
                id: next as u64,
                config: c,
                status: Status::Pending,
                reports: vec![],
                metrics: vec![],
            });
            next += 1;
        }
        let Some(t) = history.trials.get_mut(best.len()) else {
            break;
        };
        let v = (p.f)(&t.config);
        t.status = Status::Completed;
        t.reports.push(v);
        best.push(best.last().map_or(v, |b: &f64| b.min(v)));
    }
    best
}

/// Mean log10 regret over the runs after `n` evaluations.
fn mean_log_regret(runs: &[Vec<f64>], n: usize, p: &Problem) -> f64 {
    let logs: Vec<f64> = runs
        .iter()
        .map(|r| (r[(n - 1).min(r.len() - 1)] - p.minimum).max(1e-12).log10())
        .collect();
    logs.iter().sum::<f64>() / logs.len() as f64
}

/// The fewest evaluations after which sequential BO's mean log10 regret is as low as
/// parallel BO's at the full budget: how many evaluations the parallel runs are worth.
fn matching(sequential: &[Vec<f64>], parallel: &[Vec<f64>], p: &Problem) -> Option<usize> {
    let target = mean_log_regret(parallel, p.budget, p);
    (1..=p.budget).find(|&n| mean_log_regret(sequential, n, p) <= target)
}

fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

fn main() {
    let json = std::env::args().any(|a| a == "--json");
    let seeds: u64 = std::env::var("BENCH_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    // BENCH_ONLY=single,constrained,fronts,latency: some of the sections.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let wanted = |s: &str| only.is_empty() || only.split(',').any(|o| o == s);
    let problems = [
        Problem {
            name: "branin",
            space: "x1 = { float = [-5, 10] }\nx2 = { float = [0, 15] }",
            budget: 30,
            minimum: 0.397_887,
            f: branin,
            grid_resolution: 6,
        },
        Problem {
            name: "hartmann6",
            space: HARTMANN_SPACE,
            budget: 60,
            minimum: -3.322_37,
            f: hartmann6,
            grid_resolution: 2,
        },
    ];
    if !json && wanted("single") {
        println!("s3tune-hpo benchmark: simple regret over {seeds} seeds (median [25%, 75%])");
        println!(
            "{:<10} {:<8} {:>6}  {:>30}  {:>30}",
            "problem", "searcher", "budget", "at half budget", "at full budget"
        );
    }
    let mut lags = Vec::new();
    for p in problems.iter().filter(|_| wanted("single")) {
        let mut sequential_bo = Vec::new();
        for (kind, workers) in [("random", 1), ("grid", 1), ("bo", 1), ("bo×4", 4)] {
            let t0 = Instant::now();
            let runs: Vec<Vec<f64>> = (0..seeds).map(|s| run(p, kind, s, workers)).collect();
            if kind == "bo" {
                sequential_bo.clone_from(&runs);
            } else if kind == "bo×4" {
                lags.push((p.name, p.budget, matching(&sequential_bo, &runs, p)));
            }
            let at = |n: usize| -> Vec<f64> {
                runs.iter()
                    .map(|r| r[(n - 1).min(r.len() - 1)] - p.minimum)
                    .collect()
            };
            let (half, full) = (at(p.budget / 2), at(p.budget));
            if json {
                for (budget, regrets) in [(p.budget / 2, &half), (p.budget, &full)] {
                    println!(
                        "{}",
                        serde_json::json!({"problem": p.name, "searcher": kind, "budget": budget, "seeds": seeds,
                            "median_regret": quantile(regrets, 0.5), "iqr": [quantile(regrets, 0.25), quantile(regrets, 0.75)]})
                    );
                }
            } else {
                let f = |r: &[f64]| {
                    format!(
                        "{:.4} [{:.4}, {:.4}]",
                        quantile(r, 0.5),
                        quantile(r, 0.25),
                        quantile(r, 0.75)
                    )
                };
                println!(
                    "{:<10} {:<8} {:>6}  {:>30}  {:>30}   ({:.1} s)",
                    p.name,
                    kind,
                    p.budget,
                    f(&half),
                    f(&full),
                    t0.elapsed().as_secs_f64()
                );
            }
        }
    }
    for (name, budget, n) in lags {
        if json {
            println!(
                "{}",
                serde_json::json!({"problem": name, "searcher": "bo×4", "budget": budget, "sequential_bo_equivalent": n})
            );
        } else {
            let n = n.map_or_else(|| format!("more than {budget}"), |n| n.to_string());
            println!("{name}: bo×4 after {budget} evaluations = bo after {n} (mean log10 regret)");
        }
    }
    if wanted("constrained") {
        constrained::main(seeds, json);
    }
    if wanted("fronts") {
        fronts::main(seeds, json);
    }
    if !wanted("latency") {
        return;
    }
    // Suggestion latency of BO on Hartmann6 histories of growing size.
    let space = Space::from_toml(HARTMANN_SPACE).unwrap();
    let bo = searcher("bo", 0, 0);
    if !json {
        println!("\nBO suggest time (Hartmann6, median of 5):");
    }
    for n in [10usize, 50, 100, 200] {
        let mut rng = StdRng::seed_from_u64(n as u64);
        let trials = (0..n)
            .map(|i| {
                let c = space.sample(&mut rng);
                let v = hartmann6(&c);
                Trial {
                    id: i as u64,
                    config: c,
                    status: Status::Completed,
                    reports: vec![v],
                    metrics: vec![],
                }
            })
            .collect();
        let history = History { trials };
        let times: Vec<f64> = (0..5)
            .map(|_| {
                let t0 = Instant::now();
                let _ = bo.suggest(&space, &history, &mut rng).unwrap();
                t0.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let med = quantile(&times, 0.5);
        if json {
            println!(
                "{}",
                serde_json::json!({"searcher": "bo", "observations": n, "suggest_ms_median": med})
            );
        } else {
            println!("  {n:>4} observations: {med:.1} ms");
        }
    }
}
