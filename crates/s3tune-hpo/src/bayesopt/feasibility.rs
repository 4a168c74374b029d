//! The chance that a point keeps a study's limits: one GP per constraint, fitted to the
//! measured metric of every trial that has it (Gardner et al. 2014; Optuna's constrained
//! `GPSampler` since 4.2). The acquisition is log EI over the best *feasible* trial plus
//! `Σ ln P(metricᵢ ≤ maxᵢ)` — expected improvement times the probability of
//! feasibility — so BO spends few trials over a limit; before any trial is feasible, the
//! probability alone is climbed, which finds the feasible region first.
//!
//! A metric positive in every trial (memory, CPU, requests, cost) is modelled on a log
//! scale, where a limit a fifth of the largest value is as far from it as 5× is from
//! 1×; it is then standardized like the objective.

use nalgebra::DVector;
use rand::Rng;
use rand::rngs::StdRng;

use super::acquisition::{d_ln_cdf, ln_cdf};
use super::gp::Gp;
use crate::history::{History, Objective};
use crate::space::Space;

/// One limit's model: its GP, and the limit on the GP's standardized scale.
struct Limit {
    gp: Gp,
    threshold: f64,
}

/// The models of a study's limits.
pub(super) struct Feasibility {
    limits: Vec<Limit>,
}

impl Feasibility {
    /// The models of `objective`'s limits from `history` (trials with a result; a
    /// limit with fewer than two measured trials is left out: nothing to learn from).
    pub(super) fn fit(
        objective: &Objective,
        space: &Space,
        history: &History,
        fit_restarts: usize,
        rng: &mut StdRng,
    ) -> Self {
        let limits = objective
            .constraints
            .iter()
            .filter_map(|c| {
                let (xs, values): (Vec<Vec<f64>>, Vec<f64>) = history
                    .trials
                    .iter()
                    .filter(|t| t.value().is_some())
                    .filter_map(|t| Some((space.encode(&t.config).ok()?, t.metric(&c.metric)?)))
                    .unzip();
                if xs.len() < 2 {
                    return None;
                }
                let log = c.max > 0.0 && values.iter().all(|v| *v > 0.0);
                let scale = |v: f64| if log { v.ln() } else { v };
                let g: Vec<f64> = values.iter().map(|v| scale(*v)).collect();
                let mean = g.iter().sum::<f64>() / g.len() as f64;
                let sd = (g.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / g.len() as f64)
                    .sqrt()
                    .max(1e-9);
                let y = DVector::from_iterator(g.len(), g.iter().map(|v| (v - mean) / sd));
                let d = space.dims();
                let draws: Vec<Vec<f64>> = (0..fit_restarts)
                    .map(|_| (0..d + 2).map(|_| rng.random_range(-3.0..1.0)).collect())
                    .collect();
                let gp = Gp::fit(xs, &y, fit_restarts, |r, _| draws[r].clone())?;
                Some(Limit {
                    gp,
                    threshold: (scale(c.max) - mean) / sd,
                })
            })
            .collect();
        Self { limits }
    }

    /// `ln P(every limit kept)` at `x`, the limits taken as independent.
    pub(super) fn log_pof(&self, x: &[f64]) -> f64 {
        self.limits
            .iter()
            .map(|l| {
                let (mean, var) = l.gp.predict(x);
                ln_cdf((l.threshold - mean) / var.sqrt())
            })
            .sum()
    }

    /// [`Feasibility::log_pof`] with its gradient: with `z = (t − μ)/σ`,
    /// `∇ ln Φ(z) = (ln Φ)′(z) · (−∇μ/σ − z ∇σ²/(2σ²))`.
    pub(super) fn log_pof_with_grad(&self, x: &[f64]) -> (f64, Vec<f64>) {
        let mut total = 0.0;
        let mut grad = vec![0.0; x.len()];
        for l in &self.limits {
            let p = l.gp.predict_with_grad(x);
            let sd = p.var.sqrt();
            let z = (l.threshold - p.mean) / sd;
            let dz = d_ln_cdf(z);
            total += ln_cdf(z);
            for (m, g) in grad.iter_mut().enumerate() {
                *g += dz * (-p.dmean[m] / sd - z * p.dvar[m] / (2.0 * p.var));
            }
        }
        (total, grad)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::history::{Constraint, Mode, Status, Trial};
    use crate::space::{Config, Domain, Value};

    /// Trials over x ∈ [0, 1] whose "memory" is 10^(3x): a limit of 100 is kept below
    /// x = 2/3.
    fn study() -> (Space, History, Objective) {
        let space = Space::new([(
            "x".to_owned(),
            Domain::Float {
                low: 0.0,
                high: 1.0,
                scale: crate::space::Scale::Linear,
            },
        )])
        .unwrap();
        let trials = (0..8)
            .map(|i| {
                let x = f64::from(i) / 7.0;
                let mut config = Config::new();
                config.insert("x".into(), Value::Float(x));
                Trial {
                    id: u64::from(i as u32) + 1,
                    config,
                    status: Status::Completed,
                    reports: vec![1.0],
                    metrics: vec![[("memory".to_owned(), 10f64.powf(3.0 * x))].into()],
                }
            })
            .collect();
        let mut objective = Objective::new("seconds", Mode::Min);
        objective.constraints.push(Constraint {
            metric: "memory".into(),
            max: 100.0,
        });
        (space, History { trials }, objective)
    }

    #[test]
    fn the_chance_of_keeping_a_limit_falls_across_it() {
        let (space, history, objective) = study();
        let f = Feasibility::fit(
            &objective,
            &space,
            &history,
            1,
            &mut StdRng::seed_from_u64(1),
        );
        let low = f.log_pof(&[0.2]).exp();
        let high = f.log_pof(&[0.95]).exp();
        assert!(low > 0.9, "well inside: {low}");
        assert!(high < 0.1, "well over: {high}");
        // The gradient points towards the feasible side, and matches finite differences.
        let (v, g) = f.log_pof_with_grad(&[0.7]);
        assert!(g[0] < 0.0, "{g:?}");
        let h = 1e-6;
        let fd = (f.log_pof(&[0.7 + h]) - f.log_pof(&[0.7 - h])) / (2.0 * h);
        assert!(
            (g[0] - fd).abs() < 1e-3 * fd.abs().max(1.0),
            "{} vs {fd}",
            g[0]
        );
        assert!((v - f.log_pof(&[0.7])).abs() < 1e-12);
    }
}
