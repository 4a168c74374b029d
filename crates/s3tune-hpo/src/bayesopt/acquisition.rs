//! Log expected improvement, computed without underflow.
//!
//! For minimization with best value `f*`, posterior mean `μ` and standard deviation `σ`,
//! `EI = σ · h(z)` with `z = (f* − μ) / σ` and `h(z) = z Φ(z) + φ(z)`. Far from the best
//! (`z ≪ 0`) `h` underflows to 0 and its direct formula cancels catastrophically well
//! before that, which leaves an optimizer with a flat zero to climb. So `ln h` is taken
//! directly: for `z > −3` from the formula; below, as `ln φ(z) + ln(1 − t·m(t))` with
//! `t = −z` and Mills' ratio `m(t) = Φ(−t)/φ(t)` from its continued fraction (accurate
//! for `t ≥ 3`), and for `t > 10⁴` from the asymptote `ln φ(z) − 2 ln t`.

use std::f64::consts::{PI, SQRT_2};

/// `ln φ(z)`, the log standard normal density.
fn ln_pdf(z: f64) -> f64 {
    -0.5 * z * z - 0.5 * (2.0 * PI).ln()
}

/// `Φ(z)`, the standard normal distribution function.
fn cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / SQRT_2)
}

/// Mills' ratio `Φ(−t)/φ(t)` for `t ≥ 3`, by Laplace's continued fraction
/// `1/(t + 1/(t + 2/(t + 3/(t + …))))`, evaluated bottom-up.
fn mills(t: f64) -> f64 {
    let mut acc = t;
    for k in (1..=60).rev() {
        acc = t + f64::from(k) / acc;
    }
    1.0 / acc
}

/// `ln h(z)` with `h(z) = z Φ(z) + φ(z)`: finite for every finite `z`, increasing in `z`.
#[must_use]
pub fn ln_h(z: f64) -> f64 {
    if z > -3.0 {
        let h = z * cdf(z) + ln_pdf(z).exp();
        return h.ln();
    }
    let t = -z;
    if t > 1e4 {
        return ln_pdf(z) - 2.0 * t.ln();
    }
    ln_pdf(z) + (1.0 - t * mills(t)).ln()
}

/// `d ln h / dz = Φ(z) / h(z)` (since `h′ = Φ`), positive, ≈ `−z` for `z ≪ 0`. Taken
/// the same ways as [`ln_h`]: directly for `z > −3`, else as `m(t)/(1 − t·m(t))` (both
/// `Φ(z)` and `h(z)` carry the factor `φ(z)`, which cancels), and past `t = 10⁴` from the
/// asymptote `t + 2/t`.
#[must_use]
pub fn d_ln_h(z: f64) -> f64 {
    if z > -3.0 {
        return cdf(z) / (z * cdf(z) + ln_pdf(z).exp());
    }
    let t = -z;
    if t > 1e4 {
        return t + 2.0 / t;
    }
    let m = mills(t);
    m / (1.0 - t * m)
}

/// `ln Φ(z)`, finite for every finite `z`: directly above −3, else as
/// `ln φ(z) + ln m(−z)` with Mills' ratio (Φ(z) = φ(z)·m(−z)), which does not underflow.
#[must_use]
pub fn ln_cdf(z: f64) -> f64 {
    if z > -3.0 {
        return cdf(z).ln();
    }
    ln_pdf(z) + mills(-z).ln()
}

/// `d ln Φ / dz = φ(z)/Φ(z)`: directly above −3, else `1/m(−z)` (≈ `−z`).
#[must_use]
pub fn d_ln_cdf(z: f64) -> f64 {
    if z > -3.0 {
        return ln_pdf(z).exp() / cdf(z);
    }
    1.0 / mills(-z)
}

/// `ln EI` with its partial derivatives with respect to the mean and the standard
/// deviation: with `g = d ln h/dz`, `∂/∂mean = −g/σ` and `∂/∂σ = (1 − z g)/σ`. Needs
/// `sd > 0`.
#[must_use]
pub fn log_ei_with_grad(mean: f64, sd: f64, best: f64) -> (f64, f64, f64) {
    let z = (best - mean) / sd;
    let g = d_ln_h(z);
    (sd.ln() + ln_h(z), -g / sd, (1.0 - z * g) / sd)
}

/// `ln EI` for minimization: `ln σ + ln h((best − mean)/σ)`; `−∞` only when `σ = 0` and
/// the mean is no better than `best`.
#[must_use]
pub fn log_ei(mean: f64, sd: f64, best: f64) -> f64 {
    if sd <= 0.0 {
        return if mean < best {
            (best - mean).ln()
        } else {
            f64::NEG_INFINITY
        };
    }
    sd.ln() + ln_h((best - mean) / sd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EI from its textbook formula (fine where it does not underflow).
    fn ei(mean: f64, sd: f64, best: f64) -> f64 {
        let z = (best - mean) / sd;
        sd * (z * cdf(z) + ln_pdf(z).exp())
    }

    #[test]
    fn ln_cdf_is_continuous_and_finite_far_in_the_tail() {
        for z in [-2.999_999, -3.0, -3.000_001] {
            assert!((ln_cdf(z) - cdf(z).ln()).abs() < 1e-9, "z={z}");
            let direct = ln_pdf(z).exp() / cdf(z);
            assert!((d_ln_cdf(z) - direct).abs() < 1e-6, "z={z}");
        }
        // Φ(−40) underflows no f64 here, yet its log is about −804.6.
        assert!((ln_cdf(-40.0) + 804.608).abs() < 0.01, "{}", ln_cdf(-40.0));
        assert!((d_ln_cdf(-40.0) - 40.025).abs() < 0.01);
        assert!(ln_cdf(8.0).abs() < 1e-12);
    }

    #[test]
    fn equals_ln_ei_where_ei_is_well_above_underflow() {
        for i in -40..=40 {
            let z = f64::from(i) / 10.0; // z in [-4, 4]
            let (mean, sd, best) = (1.0, 0.5, 1.0 + z * 0.5);
            let direct = ei(mean, sd, best).ln();
            let got = log_ei(mean, sd, best);
            assert!(
                (got - direct).abs() < 1e-9 * direct.abs().max(1.0),
                "z={z}: {got} vs {direct}"
            );
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        // Across every branch of ln h: z from +3 down to -2e4.
        for z in [3.0, 1.0, 0.0, -1.0, -2.9, -3.1, -5.0, -30.0, -500.0, -2e4] {
            let (sd, best) = (0.7, 0.2);
            let mean = best - z * sd;
            let (v, dm, ds) = log_ei_with_grad(mean, sd, best);
            assert!((v - log_ei(mean, sd, best)).abs() < 1e-12 * v.abs().max(1.0));
            let h = 1e-6 * mean.abs().max(1.0);
            let fdm = (log_ei(mean + h, sd, best) - log_ei(mean - h, sd, best)) / (2.0 * h);
            let hs = 1e-7;
            let fds = (log_ei(mean, sd + hs, best) - log_ei(mean, sd - hs, best)) / (2.0 * hs);
            // Relative accuracy of the differences shrinks with |ln EI| (cancellation).
            let tol = 1e-6 * v.abs().max(1.0) * (1.0 + z.abs());
            assert!(
                (fdm - dm).abs() < tol * fdm.abs().max(1.0),
                "z={z}: d/dmean {dm} vs {fdm}"
            );
            assert!(
                (fds - ds).abs() < tol * fds.abs().max(1.0),
                "z={z}: d/dsd {ds} vs {fds}"
            );
        }
        // Continuous across the branch switches, and ≈ −z far out.
        for edge in [-3.0, -1e4] {
            let (a, b) = (d_ln_h(edge - 1e-9), d_ln_h(edge + 1e-9));
            assert!((a - b).abs() < 1e-7 * a.abs(), "jump at {edge}: {a} vs {b}");
        }
        assert!((d_ln_h(-1e3) / 1e3 - 1.0).abs() < 1e-5);
    }

    #[test]
    fn finite_and_monotone_where_ei_underflows() {
        let mut last = f64::NEG_INFINITY;
        // From z = -1e6 up to z = -2, in growing steps: strictly increasing, finite.
        let mut z = -1e6;
        while z < -2.0 {
            let v = ln_h(z);
            assert!(v.is_finite(), "z={z}");
            assert!(v > last, "not increasing at z={z}: {v} <= {last}");
            last = v;
            z = if z < -100.0 { z / 1.5 } else { z + 0.01 };
        }
        // Continuous across the switch points.
        for edge in [-3.0, -1e4] {
            let (a, b) = (ln_h(edge - 1e-9), ln_h(edge + 1e-9));
            assert!((a - b).abs() < 1e-6 * a.abs(), "jump at {edge}: {a} vs {b}");
        }
        // Against the asymptotic series of 1 - t·m(t) at t = 30 (error ~ 945/t^10).
        let t: f64 = 30.0;
        let series = 1.0 / t.powi(2) - 3.0 / t.powi(4) + 15.0 / t.powi(6) - 105.0 / t.powi(8);
        let want = ln_pdf(-t) + series.ln();
        assert!(
            (ln_h(-t) - want).abs() < 1e-9 * want.abs(),
            "{} vs {want}",
            ln_h(-t)
        );
    }
}
