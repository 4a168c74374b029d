//! The confirmation race's statistics: how much faster, and how sure.
//!
//! Best and baseline run interleaved, so each pair shares the machine's and the network's
//! mood of the moment. The speedup of a pair is `baseline / best`; its logarithm is
//! roughly normal, so a Student-t interval on the mean log-ratio, exponentiated, gives a
//! 95 % interval for the (geometric mean) speedup that respects the pairing.

/// Two-sided 95 % quantiles of Student's t for 1…30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The 0.975 quantile of Student's t with `df` degrees of freedom.
fn t975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T975[df - 1],
        // Beyond the table the normal quantile plus the first correction term.
        _ => 1.96 + 2.4 / df as f64,
    }
}

/// Speedup of `best` over `baseline` from paired runs: (point, low, high), the point
/// being the geometric mean of the pairs' ratios. `None` without two complete pairs.
pub fn paired_speedup(baseline: &[f64], best: &[f64]) -> Option<(f64, f64, f64)> {
    let logs: Vec<f64> = baseline
        .iter()
        .zip(best)
        .filter(|(a, b)| **a > 0.0 && **b > 0.0)
        .map(|(a, b)| (a / b).ln())
        .collect();
    let n = logs.len();
    if n < 2 {
        return None;
    }
    let mean = logs.iter().sum::<f64>() / n as f64;
    let var = logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t975(n - 1) * (var / n as f64).sqrt();
    Some((mean.exp(), (mean - half).exp(), (mean + half).exp()))
}

/// Minimum, median and maximum.
pub fn min_median_max(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    };
    Some((v[0], median, v[v.len() - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_gain_has_a_tight_interval_around_it() {
        let base = [2.0, 2.2, 1.9, 2.1, 2.0];
        let best: Vec<f64> = base.iter().map(|b| b / 1.5).collect();
        let (p, lo, hi) = paired_speedup(&base, &best).unwrap();
        assert!((p - 1.5).abs() < 1e-9 && (lo - 1.5).abs() < 1e-9 && (hi - 1.5).abs() < 1e-9);
    }

    #[test]
    fn noise_without_a_gain_gives_an_interval_that_includes_one() {
        let base = [1.0, 1.3, 0.9, 1.2, 1.1];
        let best = [1.2, 1.0, 1.1, 0.95, 1.25];
        let (_, lo, hi) = paired_speedup(&base, &best).unwrap();
        assert!(lo < 1.0 && hi > 1.0, "[{lo}, {hi}]");
        // By hand: log-ratios' mean and sd with t(4) = 2.776.
        let logs: Vec<f64> = base.iter().zip(best).map(|(a, b)| (a / b).ln()).collect();
        let m = logs.iter().sum::<f64>() / 5.0;
        let sd = (logs.iter().map(|l| (l - m).powi(2)).sum::<f64>() / 4.0).sqrt();
        assert!((lo - (m - 2.776 * sd / 5f64.sqrt()).exp()).abs() < 1e-12);
    }

    #[test]
    fn one_pair_is_not_enough() {
        assert_eq!(paired_speedup(&[1.0], &[0.5]), None);
        assert_eq!(
            min_median_max(&[3.0, 1.0, 2.0, 10.0]),
            Some((1.0, 2.5, 10.0))
        );
    }
}
