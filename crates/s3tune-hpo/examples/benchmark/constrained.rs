//! Constrained test problems: random search against GP-BO that models feasibility
//! (EI × the probability of keeping the limit). Regret is the best *feasible* value
//! found less the constrained minimum; a run with no feasible trial yet has none.
//!
//! - `gardner`: Gardner et al. (2014)'s toy, minimize `cos 2x · cos y + sin x` on
//!   [0, 6]² subject to `cos x · cos y − sin x · sin y ≤ 0.5` (a feasible region of
//!   bands), 30 evaluations; its minimum found on a fine grid.
//! - `hartmann6-l1`: Hartmann6 subject to `‖x‖₁ ≤ 2.2` (the corner of the cube by the
//!   origin, 13 % of it, holding the global minimum, whose ‖x‖₁ is 2.07), 60
//!   evaluations.

use rand::SeedableRng;
use rand::rngs::StdRng;
use s3tune_hpo::*;

use super::{HARTMANN_SPACE, hartmann6, num, quantile};

/// A constrained problem: minimize `f` subject to `g ≤ max`.
pub struct Constrained {
    pub name: &'static str,
    pub space: &'static str,
    pub budget: usize,
    pub f: fn(&Config) -> f64,
    pub g: fn(&Config) -> f64,
    pub max: f64,
    pub minimum: f64,
}

fn gardner_f(c: &Config) -> f64 {
    let (x, y) = (num(c, "x"), num(c, "y"));
    (2.0 * x).cos() * y.cos() + x.sin()
}

fn gardner_g(c: &Config) -> f64 {
    let (x, y) = (num(c, "x"), num(c, "y"));
    x.cos() * y.cos() - x.sin() * y.sin()
}

fn l1(c: &Config) -> f64 {
    (1..=6).map(|i| num(c, &format!("x{i}"))).sum()
}

/// Gardner's constrained minimum on a 2,000² grid.
fn gardner_minimum() -> f64 {
    let n = 2000;
    let mut best = f64::INFINITY;
    for i in 0..=n {
        for j in 0..=n {
            let (x, y) = (
                6.0 * f64::from(i) / f64::from(n),
                6.0 * f64::from(j) / f64::from(n),
            );
            let mut c = Config::new();
            c.insert("x".into(), Value::Float(x));
            c.insert("y".into(), Value::Float(y));
            if gardner_g(&c) <= 0.5 {
                best = best.min(gardner_f(&c));
            }
        }
    }
    best
}

pub fn problems() -> Vec<Constrained> {
    vec![
        Constrained {
            name: "gardner",
            space: "x = { float = [0, 6] }\ny = { float = [0, 6] }",
            budget: 30,
            f: gardner_f,
            g: gardner_g,
            max: 0.5,
            minimum: gardner_minimum(),
        },
        Constrained {
            name: "hartmann6-l1",
            space: HARTMANN_SPACE,
            budget: 60,
            f: hartmann6,
            g: l1,
            max: 2.2,
            minimum: -3.322_37,
        },
    ]
}

/// One run: the best feasible value after each evaluation (∞ before the first) and how
/// many evaluations were infeasible.
fn run(p: &Constrained, kind: &str, seed: u64) -> (Vec<f64>, usize) {
    let space = Space::from_toml(p.space).unwrap();
    let mut objective = Objective::new("f", Mode::Min);
    objective.constraints.push(Constraint {
        metric: "g".into(),
        max: p.max,
    });
    let s: Box<dyn Searcher> = match kind {
        "random" => Box::new(RandomSearcher::default()),
        _ => Box::new(BoSearcher::new(objective)),
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut history = History::default();
    let mut best = Vec::new();
    let mut infeasible = 0;
    for i in 0..p.budget {
        let Suggestion::Config(c) = s.suggest(&space, &history, &mut rng).unwrap() else {
            break;
        };
        let (v, g) = ((p.f)(&c), (p.g)(&c));
        let ok = g <= p.max;
        infeasible += usize::from(!ok);
        let so_far = best.last().copied().unwrap_or(f64::INFINITY);
        best.push(if ok { so_far.min(v) } else { so_far });
        history.trials.push(Trial {
            id: i as u64,
            config: c,
            status: Status::Completed,
            reports: vec![v],
            metrics: vec![[("g".to_owned(), g)].into()],
        });
    }
    (best, infeasible)
}

/// Runs every problem with random search and BO over `seeds` seeds and prints the
/// regret (median [IQR], ∞ while no feasible trial) and the share of infeasible trials.
pub fn main(seeds: u64, json: bool) {
    if !json {
        println!("\nconstrained: regret of the best feasible trial, share of trials infeasible");
        println!(
            "{:<13} {:<8} {:>6}  {:>30}  {:>30}  {:>10}",
            "problem", "searcher", "budget", "at half budget", "at full budget", "infeasible"
        );
    }
    for p in problems() {
        for kind in ["random", "bo"] {
            let runs: Vec<(Vec<f64>, usize)> = (0..seeds).map(|s| run(&p, kind, s)).collect();
            let at =
                |n: usize| -> Vec<f64> { runs.iter().map(|(b, _)| b[n - 1] - p.minimum).collect() };
            let (half, full) = (at(p.budget / 2), at(p.budget));
            let share =
                runs.iter().map(|(_, i)| *i).sum::<usize>() as f64 / (runs.len() * p.budget) as f64;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"problem": p.name, "searcher": kind, "budget": p.budget,
                        "seeds": seeds, "median_regret": quantile(&full, 0.5),
                        "iqr": [quantile(&full, 0.25), quantile(&full, 0.75)],
                        "infeasible_share": share})
                );
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
                    "{:<13} {:<8} {:>6}  {:>30}  {:>30}  {:>9.0} %",
                    p.name,
                    kind,
                    p.budget,
                    f(&half),
                    f(&full),
                    share * 100.0
                );
            }
        }
    }
}
