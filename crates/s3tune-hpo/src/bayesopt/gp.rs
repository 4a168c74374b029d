//! Gaussian-process regression: Matérn-5/2 kernel with one length scale per input
//! dimension (ARD), hyperparameters fit by maximizing the marginal likelihood times
//! priors (MAP) with L-BFGS over their logarithms, Cholesky with jitter for stability.
//!
//! The objective of the fit and its gradient are in [`super::likelihood`].
//!
//! Inputs live in the unit cube; outputs are expected standardized (mean 0, sd 1) by the
//! caller, which is what the priors assume.

use argmin::core::{Executor, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use nalgebra::{DMatrix, DVector};

pub use super::likelihood::neg_log_posterior;
use super::likelihood::{Pairs, Problem, prior_mean_sd};

pub(super) const SQRT5: f64 = 2.236_067_977_499_79;
/// L-BFGS iterations per start: the posterior surface is smooth and a few dozen steps
/// get close enough; more only costs suggestion latency.
const MAX_ITERS: u64 = 40;
/// Added to the diagonal on top of the noise: keeps the Cholesky factorization alive.
pub(super) const JITTER: f64 = 1e-8;

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
pub(super) fn unpack(theta: &[f64]) -> (Vec<f64>, f64, f64) {
    let d = theta.len() - 2;
    (
        theta[..d].iter().map(|t| t.exp()).collect(),
        theta[d].exp(),
        theta[d + 1].exp(),
    )
}

/// The posterior variance never goes below this (round-off at the data points).
const VAR_FLOOR: f64 = 1e-12;

/// Posterior mean and variance at a point, and their gradients with respect to it.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// Posterior mean.
    pub mean: f64,
    /// Posterior variance of the latent function (without noise).
    pub var: f64,
    /// `∂mean/∂xₘ`.
    pub dmean: Vec<f64>,
    /// `∂var/∂xₘ`.
    pub dvar: Vec<f64>,
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
        let pairs = Pairs::new(&x);
        let mut best: Option<(f64, Vec<f64>)> = None;
        for start in std::iter::once(centre).chain((0..restarts).map(|r| draw(r, d + 2))) {
            let problem = Problem {
                pairs: &pairs,
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

    /// The fitted length scales `ℓ₁ … ℓ_d`.
    #[must_use]
    pub fn lengths(&self) -> Vec<f64> {
        unpack(&self.theta).0
    }

    /// Posterior mean and variance at `at` with their gradients with respect to `at`.
    ///
    /// With `kᵢ = k(at, xᵢ)`: `∂kᵢ/∂xₘ = −(5/3) σ² (1 + √5 r) e^{−√5 r} (xₘ − xᵢₘ)/ℓₘ²`,
    /// `∇mean = Σᵢ αᵢ ∇kᵢ` and `∇var = −2 (K⁻¹k)ᵀ ∇k`. Where the variance is clamped at
    /// its floor its gradient is 0.
    #[must_use]
    pub fn predict_with_grad(&self, at: &[f64]) -> Prediction {
        self.predict_many_with_grad(at, std::slice::from_ref(&self.alpha))
            .pop()
            .expect("one prediction a weight vector")
    }

    /// `K⁻¹y` for other targets `y` at this model's points (same θ): the weights of a
    /// posterior whose variance is this one's — e.g. with sampled results for running
    /// trials ("fantasies").
    #[must_use]
    pub fn weights(&self, y: &DVector<f64>) -> DVector<f64> {
        let z = self
            .l
            .solve_lower_triangular(y)
            .unwrap_or_else(|| DVector::zeros(y.len()));
        self.l
            .tr_solve_lower_triangular(&z)
            .unwrap_or_else(|| DVector::zeros(y.len()))
    }

    /// [`Gp::predict_with_grad`] for several targets at once (`weights` from
    /// [`Gp::weights`]): one mean and mean gradient per weight vector, one variance. The
    /// costly part — the kernel row and its triangular solves — is done once.
    #[must_use]
    pub fn predict_many_with_grad(&self, at: &[f64], weights: &[DVector<f64>]) -> Vec<Prediction> {
        let (lengths, signal, _) = unpack(&self.theta);
        let (n, d) = (self.x.len(), at.len());
        let inv_l2: Vec<f64> = lengths.iter().map(|l| 1.0 / (l * l)).collect();
        let mut kstar = DVector::zeros(n);
        // ∂kᵢ/∂xₘ = coef[i] · (xₘ − xᵢₘ) / ℓₘ², kept as coef and the differences.
        let mut coef = vec![0.0; n];
        for (i, xi) in self.x.iter().enumerate() {
            let r2: f64 = (0..d).map(|m| (at[m] - xi[m]).powi(2) * inv_l2[m]).sum();
            let r = r2.sqrt();
            let e = (-SQRT5 * r).exp();
            kstar[i] = signal * (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * e;
            coef[i] = -5.0 / 3.0 * signal * (1.0 + SQRT5 * r) * e;
        }
        let v = self
            .l
            .solve_lower_triangular(&kstar)
            .unwrap_or_else(|| DVector::zeros(n));
        let raw_var = signal - v.dot(&v);
        let kinv_k = self
            .l
            .tr_solve_lower_triangular(&v)
            .unwrap_or_else(|| DVector::zeros(n));
        let mut dvar = vec![0.0; d];
        for (i, xi) in self.x.iter().enumerate() {
            let b = -2.0 * kinv_k[i] * coef[i];
            for m in 0..d {
                dvar[m] += b * (at[m] - xi[m]) * inv_l2[m];
            }
        }
        if raw_var <= VAR_FLOOR {
            dvar.iter_mut().for_each(|g| *g = 0.0);
        }
        weights
            .iter()
            .map(|w| {
                let mut dmean = vec![0.0; d];
                for (i, xi) in self.x.iter().enumerate() {
                    let a = w[i] * coef[i];
                    for m in 0..d {
                        dmean[m] += a * (at[m] - xi[m]) * inv_l2[m];
                    }
                }
                Prediction {
                    mean: kstar.dot(w),
                    var: raw_var.max(VAR_FLOOR),
                    dmean,
                    dvar: dvar.clone(),
                }
            })
            .collect()
    }

    /// The joint posterior of the latent function at `points`: their means and
    /// covariance.
    #[must_use]
    pub fn joint(&self, points: &[Vec<f64>]) -> (DVector<f64>, DMatrix<f64>) {
        let (lengths, signal, _) = unpack(&self.theta);
        let n = self.x.len();
        let vs: Vec<DVector<f64>> = points
            .iter()
            .map(|p| {
                let k = DVector::from_iterator(
                    n,
                    self.x.iter().map(|xi| matern52(p, xi, &lengths, signal)),
                );
                self.l
                    .solve_lower_triangular(&k)
                    .unwrap_or_else(|| DVector::zeros(n))
            })
            .collect();
        let means = DVector::from_iterator(points.len(), points.iter().map(|p| self.predict(p).0));
        let cov = DMatrix::from_fn(points.len(), points.len(), |i, j| {
            matern52(&points[i], &points[j], &lengths, signal) - vs[i].dot(&vs[j])
        });
        (means, cov)
    }

    /// Posterior mean and variance (of the latent function, without noise) at `at`.
    #[must_use]
    pub fn predict(&self, at: &[f64]) -> (f64, f64) {
        let (means, var) = self.predict_many(at, std::slice::from_ref(&self.alpha));
        (means[0], var)
    }

    /// [`Gp::predict`] for several targets at once (`weights` from [`Gp::weights`]): a
    /// mean per weight vector, and the one variance.
    #[must_use]
    pub fn predict_many(&self, at: &[f64], weights: &[DVector<f64>]) -> (Vec<f64>, f64) {
        let (lengths, signal, _) = unpack(&self.theta);
        let kstar = DVector::from_iterator(
            self.x.len(),
            self.x.iter().map(|xi| matern52(at, xi, &lengths, signal)),
        );
        let v = self
            .l
            .solve_lower_triangular(&kstar)
            .unwrap_or_else(|| DVector::zeros(self.x.len()));
        let var = (signal - v.dot(&v)).max(VAR_FLOOR);
        (weights.iter().map(|w| kstar.dot(w)).collect(), var)
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
    fn prediction_gradients_match_finite_differences() {
        let x: Vec<Vec<f64>> = (0..15)
            .map(|i| {
                let t = f64::from(i);
                vec![
                    (t * 0.618).fract(),
                    (t * 0.37 + 0.1).fract(),
                    (t * 0.77).fract(),
                ]
            })
            .collect();
        let y = DVector::from_iterator(
            15,
            x.iter().map(|p| (5.0 * p[0]).sin() + p[1] - p[2] * p[2]),
        );
        let gp = Gp::with_theta(x.clone(), &y, vec![-1.2, -0.5, 0.1, 0.3, -8.0]).unwrap();
        for at in [[0.3, 0.6, 0.2], [0.05, 0.95, 0.5], [0.71, 0.12, 0.88]] {
            let p = gp.predict_with_grad(&at);
            let (m, v) = gp.predict(&at);
            assert!((p.mean - m).abs() < 1e-12 && (p.var - v).abs() < 1e-12);
            assert!(
                p.dmean.iter().chain(&p.dvar).any(|g| g.abs() > 1e-3),
                "gradients not trivial"
            );
            for k in 0..3 {
                let h = 1e-6;
                let (mut up, mut down) = (at, at);
                up[k] += h;
                down[k] -= h;
                let ((mu, vu), (md, vd)) = (gp.predict(&up), gp.predict(&down));
                let (fdm, fdv) = ((mu - md) / (2.0 * h), (vu - vd) / (2.0 * h));
                assert!(
                    (fdm - p.dmean[k]).abs() < 1e-5 * fdm.abs().max(1.0),
                    "dmean/dx{k} at {at:?}: {} vs {fdm}",
                    p.dmean[k]
                );
                assert!(
                    (fdv - p.dvar[k]).abs() < 1e-5 * fdv.abs().max(1.0),
                    "dvar/dx{k} at {at:?}: {} vs {fdv}",
                    p.dvar[k]
                );
            }
        }
        // At a data point (r = 0 for one term): finite.
        let p = gp.predict_with_grad(&x[3]);
        assert!(p.dmean.iter().chain(&p.dvar).all(|g| g.is_finite()));
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

    #[test]
    fn other_targets_share_the_variance_and_the_joint_posterior_matches_the_marginals() {
        let x = vec![vec![0.1, 0.2], vec![0.5, 0.9], vec![0.8, 0.3]];
        // ℓ = (0.3, 0.5), σ² = 1, σₙ² = e⁻¹⁴.
        let theta = vec![0.3f64.ln(), 0.5f64.ln(), 0.0, -14.0];
        let y = DVector::from_vec(vec![1.0, -0.5, 0.25]);
        let other = DVector::from_vec(vec![-2.0, 0.3, 1.5]);
        let gp = Gp::with_theta(x.clone(), &y, theta.clone()).unwrap();
        let gp_other = Gp::with_theta(x, &other, theta).unwrap();
        let at = [0.4, 0.5];
        let w = [gp.weights(&y), gp.weights(&other)];
        let (means, var) = gp.predict_many(&at, &w);
        let many = gp.predict_many_with_grad(&at, &w);
        for (k, model) in [&gp, &gp_other].into_iter().enumerate() {
            let (m, v) = model.predict(&at);
            let p = model.predict_with_grad(&at);
            assert!((means[k] - m).abs() < 1e-9 && (var - v).abs() < 1e-12);
            assert!((many[k].mean - p.mean).abs() < 1e-9);
            for (a, b) in many[k].dmean.iter().zip(&p.dmean) {
                assert!((a - b).abs() < 1e-9);
            }
        }
        // The joint posterior's diagonal is the marginal variance; it is symmetric.
        let pts = vec![vec![0.4, 0.5], vec![0.45, 0.55], vec![0.9, 0.9]];
        let (m, cov) = gp.joint(&pts);
        for (i, p) in pts.iter().enumerate() {
            let (mi, vi) = gp.predict(p);
            assert!((m[i] - mi).abs() < 1e-12);
            assert!((cov[(i, i)] - vi).abs() < 1e-9, "{} {vi}", cov[(i, i)]);
            for j in 0..pts.len() {
                assert!((cov[(i, j)] - cov[(j, i)]).abs() < 1e-12);
            }
        }
        // Nearby points are correlated, far ones less.
        assert!(cov[(0, 1)] > cov[(0, 2)].abs());
    }
}
