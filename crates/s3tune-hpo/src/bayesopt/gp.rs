//! Gaussian-process regression: Matérn-5/2 kernel with one length scale per input
//! dimension (ARD), hyperparameters fit by maximizing the marginal likelihood times
//! priors (MAP) with L-BFGS over their logarithms, Cholesky with jitter for stability.
//!
//! Inputs live in the unit cube; outputs are expected standardized (mean 0, sd 1) by the
//! caller, which is what the priors assume.

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use nalgebra::{DMatrix, DVector};

const SQRT5: f64 = 2.236_067_977_499_79;
/// L-BFGS iterations per start: the posterior surface is smooth and a few dozen steps
/// get close enough; more only costs suggestion latency.
const MAX_ITERS: u64 = 40;
/// Added to the diagonal on top of the noise: keeps the Cholesky factorization alive.
const JITTER: f64 = 1e-8;

/// Log-normal priors on the hyperparameters (mean and sd of the logarithm): length
/// scales around 0.5 of the cube, signal variance around 1 (standardized outputs),
/// noise small but not zero (download times are noisy).
const PRIOR_LOG_LENGTH: (f64, f64) = (-0.7, 1.0);
const PRIOR_LOG_SIGNAL: (f64, f64) = (0.0, 1.0);
const PRIOR_LOG_NOISE: (f64, f64) = (-6.0, 2.0);

/// The Matérn-5/2 covariance of `a` and `b`.
#[must_use]
pub fn matern52(a: &[f64], b: &[f64], lengths: &[f64], signal: f64) -> f64 {
    let r2: f64 = a
        .iter()
        .zip(b)
        .zip(lengths)
        .map(|((a, b), l)| ((a - b) / l).powi(2))
        .sum();
    let r = r2.sqrt();
    signal * (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * (-SQRT5 * r).exp()
}

/// Hyperparameters as `θ = [ln ℓ₁ … ln ℓ_d, ln σ², ln σₙ²]`.
fn unpack(theta: &[f64]) -> (Vec<f64>, f64, f64) {
    let d = theta.len() - 2;
    (
        theta[..d].iter().map(|t| t.exp()).collect(),
        theta[d].exp(),
        theta[d + 1].exp(),
    )
}

fn prior_mean_sd(d: usize, i: usize) -> (f64, f64) {
    if i < d {
        PRIOR_LOG_LENGTH
    } else if i == d {
        PRIOR_LOG_SIGNAL
    } else {
        PRIOR_LOG_NOISE
    }
}

/// Negative log posterior of `θ` (negative log marginal likelihood of `y` at inputs `x`,
/// minus the log priors) and its gradient; `None` when the covariance is not positive
/// definite even with jitter.
#[must_use]
pub fn neg_log_posterior(
    x: &[Vec<f64>],
    y: &DVector<f64>,
    theta: &[f64],
) -> Option<(f64, Vec<f64>)> {
    let n = x.len();
    let d = theta.len() - 2;
    let (lengths, signal, noise) = unpack(theta);
    let mut k = DMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..=i {
            let v = matern52(&x[i], &x[j], &lengths, signal);
            k[(i, j)] = v;
            k[(j, i)] = v;
        }
    }
    let signal_part = k.clone();
    for i in 0..n {
        k[(i, i)] += noise + JITTER;
    }
    let chol = k.cholesky()?;
    let alpha = chol.solve(y);
    let log_det: f64 = chol.l().diagonal().iter().map(|v| v.ln()).sum::<f64>() * 2.0;
    let mut value =
        0.5 * y.dot(&alpha) + 0.5 * log_det + 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
    // d/dθ of the NLL is ½ Σᵢⱼ Wᵢⱼ ∂Kᵢⱼ/∂θ with W = K⁻¹ − ααᵀ.
    let w = chol.inverse() - &alpha * alpha.transpose();
    let mut grad = vec![0.0; d + 2];
    for i in 0..n {
        for j in 0..n {
            let wij = w[(i, j)];
            if i != j {
                // ∂k/∂ln ℓₘ = (5/3) σ² (1 + √5 r) e^{−√5 r} (Δₘ/ℓₘ)²
                let r2: f64 = (0..d)
                    .map(|m| ((x[i][m] - x[j][m]) / lengths[m]).powi(2))
                    .sum();
                let r = r2.sqrt();
                let common = 5.0 / 3.0 * signal * (1.0 + SQRT5 * r) * (-SQRT5 * r).exp();
                for m in 0..d {
                    grad[m] += 0.5 * wij * common * ((x[i][m] - x[j][m]) / lengths[m]).powi(2);
                }
            }
            grad[d] += 0.5 * wij * signal_part[(i, j)];
        }
        grad[d + 1] += 0.5 * w[(i, i)] * noise;
    }
    for (i, t) in theta.iter().enumerate() {
        let (mu, sd) = prior_mean_sd(d, i);
        value += (t - mu).powi(2) / (2.0 * sd * sd);
        grad[i] += (t - mu) / (sd * sd);
    }
    Some((value, grad))
}

/// The value and gradient at some `θ`, or `None` where the covariance is singular.
type Evaluation = Option<(f64, Vec<f64>)>;

/// The fitting problem for argmin. L-BFGS asks for the cost and the gradient at the
/// same point one after the other; both come from one factorization, so the last
/// evaluation is kept.
struct Problem<'a> {
    x: &'a [Vec<f64>],
    y: &'a DVector<f64>,
    last: std::sync::Mutex<Option<(Vec<f64>, Evaluation)>>,
}

impl Problem<'_> {
    fn eval(&self, theta: &[f64]) -> Option<(f64, Vec<f64>)> {
        let mut last = self.last.lock().expect("cache lock poisoned");
        if let Some((t, v)) = last.as_ref()
            && t.as_slice() == theta
        {
            return v.clone();
        }
        let v = neg_log_posterior(self.x, self.y, theta);
        *last = Some((theta.to_vec(), v.clone()));
        v
    }
}

impl CostFunction for Problem<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, theta: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        Ok(self.eval(theta).map_or(1e10, |(v, _)| v))
    }
}

impl Gradient for Problem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, theta: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self
            .eval(theta)
            .map_or_else(|| vec![0.0; theta.len()], |(_, g)| g))
    }
}

/// A fitted Gaussian process.
#[derive(Debug, Clone)]
pub struct Gp {
    x: Vec<Vec<f64>>,
    theta: Vec<f64>,
    l: DMatrix<f64>,
    alpha: DVector<f64>,
}

impl Gp {
    /// The posterior given `θ` (no fitting); `None` if the covariance is not positive definite.
    #[must_use]
    pub fn with_theta(x: Vec<Vec<f64>>, y: &DVector<f64>, theta: Vec<f64>) -> Option<Self> {
        let (lengths, signal, noise) = unpack(&theta);
        let n = x.len();
        let k = DMatrix::from_fn(n, n, |i, j| {
            matern52(&x[i], &x[j], &lengths, signal) + if i == j { noise + JITTER } else { 0.0 }
        });
        let chol = k.cholesky()?;
        let alpha = chol.solve(y);
        Some(Self {
            x,
            theta,
            l: chol.unpack(),
            alpha,
        })
    }

    /// Fits `θ` by MAP with L-BFGS from the prior's centre and `restarts` more starting
    /// points drawn by `draw` (a function of the restart number), keeping the best.
    pub fn fit(
        x: Vec<Vec<f64>>,
        y: &DVector<f64>,
        restarts: usize,
        draw: impl Fn(usize, usize) -> Vec<f64>,
    ) -> Option<Self> {
        let d = x.first().map_or(0, Vec::len);
        let centre: Vec<f64> = (0..d + 2).map(|i| prior_mean_sd(d, i).0).collect();
        let mut best: Option<(f64, Vec<f64>)> = None;
        for start in std::iter::once(centre).chain((0..restarts).map(|r| draw(r, d + 2))) {
            let problem = Problem {
                x: &x,
                y,
                last: std::sync::Mutex::new(None),
            };
            let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7);
            let Ok(res) = Executor::new(problem, solver)
                .configure(|s| s.param(start.clone()).max_iters(MAX_ITERS))
                .run()
            else {
                continue;
            };
            let theta = res.state().get_best_param().cloned().unwrap_or(start);
            let value = res.state().get_best_cost();
            if value.is_finite() && best.as_ref().is_none_or(|(b, _)| value < *b) {
                best = Some((value, theta));
            }
        }
        let theta = best.map(|(_, t)| t)?;
        Self::with_theta(x, y, theta)
    }

    /// The fitted hyperparameters, `[ln ℓ…, ln σ², ln σₙ²]`.
    #[must_use]
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }

    /// Posterior mean and variance (of the latent function, without noise) at `at`.
    #[must_use]
    pub fn predict(&self, at: &[f64]) -> (f64, f64) {
        let (lengths, signal, _) = unpack(&self.theta);
        let kstar = DVector::from_iterator(
            self.x.len(),
            self.x.iter().map(|xi| matern52(at, xi, &lengths, signal)),
        );
        let mean = kstar.dot(&self.alpha);
        let v = self
            .l
            .solve_lower_triangular(&kstar)
            .unwrap_or_else(|| DVector::zeros(self.x.len()));
        let var = (signal - v.dot(&v)).max(1e-12);
        (mean, var)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posterior_matches_a_hand_computed_case() {
        // Two points in 1-D, almost no noise.
        let x = vec![vec![0.2], vec![0.8]];
        let y = DVector::from_vec(vec![1.0, -1.0]);
        let (ls, signal, noise) = (0.3f64, 1.0f64, 1e-9f64);
        let gp = Gp::with_theta(x.clone(), &y, vec![ls.ln(), signal.ln(), noise.ln()]).unwrap();
        // By hand: K = [[s, c], [c, s]] with s = 1 + noise + jitter, c = k(0.2, 0.8).
        let c = matern52(&[0.2], &[0.8], &[ls], signal);
        let s = 1.0 + noise + JITTER;
        let det = s * s - c * c;
        // K⁻¹ y with y = (1, −1): the 2×2 inverse is [[s, −c], [−c, s]] / det.
        let kinv_y = [(s + c) / det, (-c - s) / det];
        let at = 0.5;
        let ks = [
            matern52(&[at], &[0.2], &[ls], signal),
            matern52(&[at], &[0.8], &[ls], signal),
        ];
        let want_mean = ks[0] * kinv_y[0] + ks[1] * kinv_y[1];
        let (mean, var) = gp.predict(&[at]);
        assert!((mean - want_mean).abs() < 1e-9, "{mean} vs {want_mean}");
        // The mean interpolates the data, where the variance vanishes...
        for (xi, yi) in [(0.2, 1.0), (0.8, -1.0)] {
            let (m, v) = gp.predict(&[xi]);
            assert!((m - yi).abs() < 1e-4, "mean {m} at {xi}");
            assert!(v < 1e-6, "variance {v} at {xi}");
        }
        // ...and grows away from it.
        assert!(var > 0.01);
        assert!(gp.predict(&[0.5]).1 > gp.predict(&[0.25]).1);
        assert!(gp.predict(&[1.0]).1 > gp.predict(&[0.85]).1);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let x: Vec<Vec<f64>> = (0..9)
            .map(|i| vec![f64::from(i) / 8.0, (f64::from(i) * 0.37).fract()])
            .collect();
        let y = DVector::from_iterator(9, x.iter().map(|p| (6.0 * p[0]).sin() + p[1] * p[1]));
        let theta = vec![-1.0, -0.3, 0.2, -4.0];
        let (_, grad) = neg_log_posterior(&x, &y, &theta).unwrap();
        for i in 0..theta.len() {
            let h = 1e-6;
            let mut up = theta.clone();
            up[i] += h;
            let mut down = theta.clone();
            down[i] -= h;
            let fd = (neg_log_posterior(&x, &y, &up).unwrap().0
                - neg_log_posterior(&x, &y, &down).unwrap().0)
                / (2.0 * h);
            assert!(
                (fd - grad[i]).abs() < 1e-5 * fd.abs().max(1.0),
                "dθ{i}: analytic {} vs numeric {fd}",
                grad[i]
            );
        }
    }

    #[test]
    fn fitting_raises_the_posterior() {
        let x: Vec<Vec<f64>> = (0..12).map(|i| vec![f64::from(i) / 11.0]).collect();
        let y = DVector::from_iterator(12, x.iter().map(|p| (8.0 * p[0]).sin()));
        let start: Vec<f64> = (0..3).map(|i| prior_mean_sd(1, i).0).collect();
        let before = neg_log_posterior(&x, &y, &start).unwrap().0;
        let gp = Gp::fit(x.clone(), &y, 2, |r, n| {
            (0..n).map(|i| -1.0 + 0.3 * (r + i) as f64).collect()
        })
        .unwrap();
        let after = neg_log_posterior(&x, &y, gp.theta()).unwrap().0;
        assert!(after < before, "{after} !< {before}");
        // A smooth sine: the fitted model predicts a held-out point well.
        let (m, _) = gp.predict(&[0.5 / 11.0]);
        assert!((m - (8.0 * 0.5 / 11.0f64).sin()).abs() < 0.05, "{m}");
    }
}
