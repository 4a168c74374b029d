//! Two-objective test problems: random search against BO with ParEGO's random
//! scalarizations, by the hypervolume of the front found (the area it dominates up to a
//! reference point), as a share of the problem's largest, and of the front of 300
//! random evaluations.
//!
//! - `branin-currin` (2-D, 30 evaluations; BoTorch's test problem): Branin on the
//!   rescaled square and Currin's exponential function, reference (18, 6).
//! - `zdt1` (6-D, 60 evaluations; Zitzler, Deb and Thiele 2000): `f₁ = x₁`,
//!   `f₂ = g (1 − √(x₁/g))` with `g = 1 + 9 Σᵢ₌₂ xᵢ / 5`, reference (11, 11); the true
//!   front is `g = 1`, whose hypervolume is 120 + 2/3.

use rand::SeedableRng;
use rand::rngs::StdRng;
use s3tune_hpo::pareto::hypervolume_2d;
use s3tune_hpo::*;

use super::{num, quantile};

/// A problem of two losses.
struct TwoObjective {
    name: &'static str,
    space: &'static str,
    budget: usize,
    f: fn(&Config) -> [f64; 2],
    reference: [f64; 2],
    max_hv: f64,
}

fn branin_currin(c: &Config) -> [f64; 2] {
    let (x1, x2) = (num(c, "x1"), num(c, "x2"));
    let (u, v) = (15.0 * x1 - 5.0, 15.0 * x2);
    let pi = std::f64::consts::PI;
    let branin = (v - 5.1 / (4.0 * pi * pi) * u * u + 5.0 / pi * u - 6.0).powi(2)
        + 10.0 * (1.0 - 1.0 / (8.0 * pi)) * u.cos()
        + 10.0;
    let currin = (1.0 - (-1.0 / (2.0 * x2)).exp())
        * (2300.0 * x1.powi(3) + 1900.0 * x1 * x1 + 2092.0 * x1 + 60.0)
        / (100.0 * x1.powi(3) + 500.0 * x1 * x1 + 4.0 * x1 + 20.0);
    [branin, currin]
}

fn zdt1(c: &Config) -> [f64; 2] {
    let x: Vec<f64> = (1..=6).map(|i| num(c, &format!("x{i}"))).collect();
    let g = 1.0 + 9.0 * x[1..].iter().sum::<f64>() / 5.0;
    [x[0], g * (1.0 - (x[0] / g).sqrt())]
}

fn problems() -> [TwoObjective; 2] {
    [
        TwoObjective {
            name: "branin-currin",
            space: "x1 = { float = [0, 1] }\nx2 = { float = [0, 1] }",
            budget: 30,
            f: branin_currin,
            reference: [18.0, 6.0],
            // BoTorch's figure for this reference point.
            max_hv: 59.360_118_748_677_46,
        },
        TwoObjective {
            name: "zdt1",
            space: super::HARTMANN_SPACE,
            budget: 60,
            f: zdt1,
            reference: [11.0, 11.0],
            max_hv: 120.0 + 2.0 / 3.0,
        },
    ]
}

/// The hypervolume of the first `n` evaluations of `kind` with seed `seed`.
fn run(p: &TwoObjective, kind: &str, seed: u64, n: usize) -> f64 {
    let space = Space::from_toml(p.space).unwrap();
    let mut objective = Objective::new("f1", Mode::Min);
    objective.also_minimize.push("f2".into());
    let s: Box<dyn Searcher> = match kind {
        "random" => Box::new(RandomSearcher::default()),
        _ => Box::new(BoSearcher::new(objective)),
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut history = History::default();
    let mut points = Vec::new();
    for i in 0..n {
        let Suggestion::Config(c) = s.suggest(&space, &history, &mut rng).unwrap() else {
            break;
        };
        let [a, b] = (p.f)(&c);
        points.push([a, b]);
        history.trials.push(Trial {
            id: i as u64,
            config: c,
            status: Status::Completed,
            reports: vec![a],
            metrics: vec![[("f2".to_owned(), b)].into()],
        });
    }
    hypervolume_2d(&points, p.reference)
}

/// Runs both problems and prints the hypervolumes (median [IQR]) as shares of the
/// largest and of 300 random evaluations' (its median over the seeds).
pub fn main(seeds: u64, json: bool) {
    if !json {
        println!(
            "\ntwo objectives: hypervolume as % of the largest (median [25%, 75%]), and of 300 random evaluations'"
        );
        println!(
            "{:<13} {:<8} {:>6}  {:>26}  {:>14}",
            "problem", "searcher", "budget", "% of the largest", "% of random×300"
        );
    }
    for p in problems() {
        let reference: Vec<f64> = (0..seeds)
            .map(|s| run(&p, "random", 1000 + s, 300))
            .collect();
        let reference = quantile(&reference, 0.5);
        for kind in ["random", "bo"] {
            let hv: Vec<f64> = (0..seeds).map(|s| run(&p, kind, s, p.budget)).collect();
            let share: Vec<f64> = hv.iter().map(|h| h / p.max_hv * 100.0).collect();
            let of_ref = quantile(&hv, 0.5) / reference * 100.0;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"problem": p.name, "searcher": kind, "budget": p.budget,
                        "seeds": seeds, "median_hv_share": quantile(&share, 0.5),
                        "iqr": [quantile(&share, 0.25), quantile(&share, 0.75)],
                        "share_of_random_300": of_ref})
                );
            } else {
                println!(
                    "{:<13} {:<8} {:>6}  {:>26}  {:>13.1} %",
                    p.name,
                    kind,
                    p.budget,
                    format!(
                        "{:.1} [{:.1}, {:.1}]",
                        quantile(&share, 0.5),
                        quantile(&share, 0.25),
                        quantile(&share, 0.75)
                    ),
                    of_ref
                );
            }
        }
    }
}
