//! The objective of the hyperparameter fit: the negative log marginal likelihood of the
//! standardized outputs plus log-normal priors on the hyperparameters, with its gradient,
//! wrapped for argmin's L-BFGS.

use argmin::core::{CostFunction, Gradient};
use nalgebra::{DMatrix, DVector};

use super::gp::{JITTER, SQRT5, unpack};

/// Log-normal priors on the hyperparameters (mean and sd of the logarithm): length
/// scales around 0.5 of the cube, signal variance around 1 (standardized outputs),
/// noise variance around e⁻¹² but wide (two sds: 10⁻⁸ … 2·10⁻³). A prior centred at
/// e⁻⁶ made the model explain differences of a few percent of the outputs' spread as
/// noise, so it could not resolve the last steps towards a minimum of a noiseless
/// function; noisy download times still get their noise from the likelihood.
const PRIOR_LOG_LENGTH: (f64, f64) = (-0.7, 1.0);
const PRIOR_LOG_SIGNAL: (f64, f64) = (0.0, 1.0);
const PRIOR_LOG_NOISE: (f64, f64) = (-12.0, 3.0);

/// The prior of `θᵢ` (mean and sd) for `d` input dimensions.
pub(super) fn prior_mean_sd(d: usize, i: usize) -> (f64, f64) {
    if i < d {
        PRIOR_LOG_LENGTH
    } else if i == d {
        PRIOR_LOG_SIGNAL
    } else {
        PRIOR_LOG_NOISE
    }
}

/// Squared differences of the inputs, per dimension, for every pair `j < i` (row-major
/// over the lower triangle): computed once per fit, not once per evaluation.
pub(super) struct Pairs {
    d: usize,
    sq: Vec<f64>,
}

impl Pairs {
    pub(super) fn new(x: &[Vec<f64>]) -> Self {
        let d = x.first().map_or(0, Vec::len);
        let mut sq = Vec::with_capacity(x.len() * x.len().saturating_sub(1) / 2 * d);
        for (i, xi) in x.iter().enumerate() {
            for xj in &x[..i] {
                sq.extend(xi.iter().zip(xj).map(|(a, b)| (a - b).powi(2)));
            }
        }
        Self { d, sq }
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
    neg_log_posterior_pairs(&Pairs::new(x), y, theta)
}

fn neg_log_posterior_pairs(
    pairs: &Pairs,
    y: &DVector<f64>,
    theta: &[f64],
) -> Option<(f64, Vec<f64>)> {
    let n = y.len();
    let d = theta.len() - 2;
    debug_assert_eq!(d, pairs.d);
    let (lengths, signal, noise) = unpack(theta);
    let inv_l2: Vec<f64> = lengths.iter().map(|l| 1.0 / (l * l)).collect();
    // Per pair: k and the common factor of its length-scale derivatives,
    // ∂k/∂ln ℓₘ = (5/3) σ² (1 + √5 r) e^{−√5 r} Δₘ²/ℓₘ².
    let mut k = DMatrix::zeros(n, n);
    let mut common = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    let mut p = 0;
    for i in 0..n {
        for j in 0..i {
            let sq = &pairs.sq[p * d..(p + 1) * d];
            let r2: f64 = sq.iter().zip(&inv_l2).map(|(s, w)| s * w).sum();
            let r = r2.sqrt();
            let e = (-SQRT5 * r).exp();
            let v = signal * (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * e;
            k[(i, j)] = v;
            k[(j, i)] = v;
            common.push(5.0 / 3.0 * signal * (1.0 + SQRT5 * r) * e);
            p += 1;
        }
        k[(i, i)] = signal + noise + JITTER;
    }
    let chol = k.clone().cholesky()?;
    let alpha = chol.solve(y);
    let log_det: f64 = chol.l().diagonal().iter().map(|v| v.ln()).sum::<f64>() * 2.0;
    let mut value =
        0.5 * y.dot(&alpha) + 0.5 * log_det + 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
    // d/dθ of the NLL is ½ Σᵢⱼ Wᵢⱼ ∂Kᵢⱼ/∂θ with W = K⁻¹ − ααᵀ; W and ∂K/∂θ are
    // symmetric, so each pair off the diagonal counts twice.
    let w = chol.inverse() - &alpha * alpha.transpose();
    let mut grad = vec![0.0; d + 2];
    let mut p = 0;
    for i in 0..n {
        for j in 0..i {
            let wij = w[(i, j)];
            let f = wij * common[p];
            for ((g, s), il) in grad
                .iter_mut()
                .zip(&pairs.sq[p * d..(p + 1) * d])
                .zip(&inv_l2)
            {
                *g += f * s * il;
            }
            grad[d] += wij * k[(i, j)];
            p += 1;
        }
        grad[d] += 0.5 * w[(i, i)] * signal;
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
pub(super) struct Problem<'a> {
    pub(super) pairs: &'a Pairs,
    pub(super) y: &'a DVector<f64>,
    pub(super) last: std::sync::Mutex<Option<(Vec<f64>, Evaluation)>>,
}

impl Problem<'_> {
    fn eval(&self, theta: &[f64]) -> Option<(f64, Vec<f64>)> {
        let mut last = self.last.lock().expect("cache lock poisoned");
        if let Some((t, v)) = last.as_ref()
            && t.as_slice() == theta
        {
            return v.clone();
        }
        let v = neg_log_posterior_pairs(self.pairs, self.y, theta);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
