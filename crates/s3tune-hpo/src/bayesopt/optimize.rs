//! Maximizing a smooth function over the unit cube from a starting point: projected
//! L-BFGS with a backtracking (Armijo) line search.
//!
//! The search runs in coordinates scaled by a length per dimension (`u = x / scale`), so
//! that with the GP's length scales one unit is "one length scale" in every direction:
//! the acquisition surface is then roughly isotropic, which is what a quasi-Newton method
//! with a short memory needs to converge in a few dozen steps. Bounds are handled by
//! projection: a coordinate at a bound whose direction points outward is held there for
//! the step, and every trial point is clamped into the cube.

/// Remembered steps of the L-BFGS approximation.
const MEMORY: usize = 6;
/// Largest step, in length scales: the model says little about farther points.
const MAX_STEP: f64 = 1.0;
/// Armijo's sufficient-increase constant.
const ARMIJO: f64 = 1e-4;
/// Halvings of the step before the line search gives up.
const BACKTRACKS: usize = 20;
/// Converged when no coordinate moves more than this (in length scales).
const X_TOL: f64 = 1e-7;

/// Maximizes `f` (which returns its value and gradient) over `[0, 1]^d` from `x0`, for at
/// most `max_iters` steps; returns the best value and point found (at least `x0`'s).
pub fn maximize(
    f: impl Fn(&[f64]) -> (f64, Vec<f64>),
    x0: &[f64],
    scale: &[f64],
    max_iters: usize,
) -> (f64, Vec<f64>) {
    let d = x0.len();
    let mut x: Vec<f64> = x0.iter().map(|v| v.clamp(0.0, 1.0)).collect();
    let (mut fx, g) = f(&x);
    // The gradient in scaled coordinates: ∂f/∂uₘ = ∂f/∂xₘ · scaleₘ.
    let mut gu: Vec<f64> = g.iter().zip(scale).map(|(g, s)| g * s).collect();
    let mut memory: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::with_capacity(MEMORY);
    if !fx.is_finite() || gu.iter().any(|v| !v.is_finite()) {
        return (fx, x);
    }
    for _ in 0..max_iters {
        let blocked = |m: usize, dir: f64| (x[m] <= 0.0 && dir < 0.0) || (x[m] >= 1.0 && dir > 0.0);
        let free_g: Vec<f64> = (0..d)
            .map(|m| if blocked(m, gu[m]) { 0.0 } else { gu[m] })
            .collect();
        if free_g.iter().all(|v| *v == 0.0) {
            break;
        }
        let mut dir = two_loop(&free_g, &memory);
        for (m, v) in dir.iter_mut().enumerate() {
            if blocked(m, *v) || free_g[m] == 0.0 {
                *v = 0.0;
            }
        }
        if dot(&dir, &free_g) <= 0.0 {
            memory.clear();
            dir.clone_from(&free_g);
        }
        let norm = dot(&dir, &dir).sqrt();
        if norm > MAX_STEP {
            dir.iter_mut().for_each(|v| *v *= MAX_STEP / norm);
        }
        let mut alpha = 1.0;
        let mut accepted = None;
        for _ in 0..BACKTRACKS {
            let xn: Vec<f64> = (0..d)
                .map(|m| (x[m] + alpha * dir[m] * scale[m]).clamp(0.0, 1.0))
                .collect();
            let step_u: Vec<f64> = (0..d).map(|m| (xn[m] - x[m]) / scale[m]).collect();
            let (fnew, gnew) = f(&xn);
            if fnew.is_finite() && fnew >= fx + ARMIJO * dot(&gu, &step_u) {
                accepted = Some((xn, step_u, fnew, gnew));
                break;
            }
            alpha *= 0.5;
        }
        let Some((xn, step_u, fnew, gnew)) = accepted else {
            break;
        };
        let gun: Vec<f64> = gnew.iter().zip(scale).map(|(g, s)| g * s).collect();
        if gun.iter().any(|v| !v.is_finite()) {
            x = xn;
            fx = fnew;
            break;
        }
        // Curvature pair for minimizing −f: s = Δu, y = −Δg.
        let y: Vec<f64> = gu.iter().zip(&gun).map(|(a, b)| a - b).collect();
        let sy = dot(&step_u, &y);
        let small = step_u.iter().all(|v| v.abs() < X_TOL);
        if sy > 1e-12 {
            if memory.len() == MEMORY {
                memory.remove(0);
            }
            memory.push((step_u, y, sy));
        }
        (x, fx, gu) = (xn, fnew, gun);
        if small {
            break;
        }
    }
    (fx, x)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// The L-BFGS ascent direction `H·g` from the remembered pairs (`H` ≈ the inverse
/// Hessian of `−f`), by the two-loop recursion.
fn two_loop(g: &[f64], memory: &[(Vec<f64>, Vec<f64>, f64)]) -> Vec<f64> {
    let mut q = g.to_vec();
    let mut alphas = Vec::with_capacity(memory.len());
    for (s, y, sy) in memory.iter().rev() {
        let a = dot(s, &q) / sy;
        q.iter_mut().zip(y).for_each(|(q, y)| *q -= a * y);
        alphas.push(a);
    }
    if let Some((_, y, sy)) = memory.last() {
        let gamma = sy / dot(y, y);
        q.iter_mut().for_each(|v| *v *= gamma);
    }
    for ((s, y, sy), a) in memory.iter().zip(alphas.iter().rev()) {
        let b = dot(y, &q) / sy;
        q.iter_mut().zip(s).for_each(|(q, s)| *q += (a - b) * s);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A badly scaled concave quadratic with its maximum inside the cube.
    fn quad(x: &[f64]) -> (f64, Vec<f64>) {
        let c = [0.3, 0.7, 0.55];
        let w = [1.0, 100.0, 10_000.0];
        let v = -(0..3).map(|m| w[m] * (x[m] - c[m]).powi(2)).sum::<f64>();
        let g = (0..3).map(|m| -2.0 * w[m] * (x[m] - c[m])).collect();
        (v, g)
    }

    #[test]
    fn finds_an_interior_maximum_of_a_badly_scaled_quadratic() {
        let scale = [1.0, 0.1, 0.01];
        let (v, x) = maximize(quad, &[0.9, 0.1, 0.5], &scale, 50);
        assert!(v > -1e-10, "{v} at {x:?}");
        for (got, want) in x.iter().zip([0.3, 0.7, 0.55]) {
            assert!((got - want).abs() < 1e-5, "{x:?}");
        }
    }

    #[test]
    fn stops_at_the_bound_when_the_maximum_is_outside() {
        // Maximum at (1.4, −0.2): the best point of the cube is the corner (1, 0).
        let f = |x: &[f64]| {
            let v = -(x[0] - 1.4).powi(2) - (x[1] + 0.2).powi(2) - 0.5 * x[0] * x[1];
            (
                v,
                vec![
                    -2.0 * (x[0] - 1.4) - 0.5 * x[1],
                    -2.0 * (x[1] + 0.2) - 0.5 * x[0],
                ],
            )
        };
        let (v, x) = maximize(f, &[0.5, 0.5], &[0.3, 0.3], 50);
        assert_eq!(x, vec![1.0, 0.0]);
        assert!((v - f(&[1.0, 0.0]).0).abs() < 1e-12);
    }

    #[test]
    fn never_returns_worse_than_the_start() {
        // A bumpy function: wherever it stops, it is no worse than where it started.
        let f = |x: &[f64]| {
            let v = (9.0 * x[0]).sin() * (7.0 * x[1]).cos();
            (
                v,
                vec![
                    9.0 * (9.0 * x[0]).cos() * (7.0 * x[1]).cos(),
                    -7.0 * (9.0 * x[0]).sin() * (7.0 * x[1]).sin(),
                ],
            )
        };
        for i in 0..20 {
            let x0 = [f64::from(i) / 19.0, (f64::from(i) * 0.618).fract()];
            let (v, x) = maximize(f, &x0, &[0.2, 0.2], 30);
            assert!(v >= f(&x0).0 && x.iter().all(|c| (0.0..=1.0).contains(c)));
            assert!((v - f(&x).0).abs() < 1e-12);
        }
    }
}
