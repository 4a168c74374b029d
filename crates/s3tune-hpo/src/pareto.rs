//! Several objectives: a trial's vector of losses, the Pareto front of a study, its knee
//! (the one point a study with several objectives calls its best), hypervolume, and the
//! random scalarizations BO searches the front with.
//!
//! The primary objective is the reported metric (`Objective::metric`); the others are
//! measured metrics (`Objective::also_minimize`, keys of the trials' `Metrics`), all
//! minimized.

use rand::Rng;
use rand::rngs::StdRng;

use crate::history::{History, Objective, Status, Trial};

/// `t`'s losses, the primary first; `None` when it has no result or lacks a measure.
#[must_use]
pub fn losses(objective: &Objective, t: &Trial) -> Option<Vec<f64>> {
    let first = objective.loss(t.value()?);
    let mut v = vec![first];
    for m in &objective.also_minimize {
        v.push(t.metric(m)?);
    }
    Some(v)
}

/// Whether `a` is at least as good as `b` everywhere and better somewhere.
#[must_use]
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// The Pareto front: the feasible trials with every loss that no other such trial
/// dominates, in trial order. Completed trials only, when any is complete (a trial
/// stopped early has fewer runs behind it), as for the best of one objective; of trials
/// with equal losses, the earliest.
#[must_use]
pub fn front<'a>(history: &'a History, objective: &Objective) -> Vec<&'a Trial> {
    let scored: Vec<(&Trial, Vec<f64>)> = history
        .trials
        .iter()
        .filter(|t| objective.feasible(t))
        .filter_map(|t| Some((t, losses(objective, t)?)))
        .collect();
    let any_completed = scored.iter().any(|(t, _)| t.status == Status::Completed);
    let pool: Vec<&(&Trial, Vec<f64>)> = scored
        .iter()
        .filter(|(t, _)| !any_completed || t.status == Status::Completed)
        .collect();
    pool.iter()
        .enumerate()
        .filter(|(i, (_, v))| {
            !pool
                .iter()
                .enumerate()
                .any(|(j, (_, w))| dominates(w, v) || (j < *i && w == v))
        })
        .map(|(_, (t, _))| *t)
        .collect()
}

/// The knee of `front`: the point nearest the ideal (every loss at its best on the
/// front) once each loss is scaled to [0, 1] over the front — the balanced choice,
/// neither extreme. Ties go to the earlier trial.
#[must_use]
pub fn knee<'a>(front: &[&'a Trial], objective: &Objective) -> Option<&'a Trial> {
    let vs: Vec<Vec<f64>> = front
        .iter()
        .map(|t| losses(objective, t).expect("front trials have every loss"))
        .collect();
    let scaled = scale(&vs);
    let mut best: Option<(usize, f64)> = None;
    for (i, v) in scaled.iter().enumerate() {
        let d: f64 = v.iter().map(|x| x * x).sum();
        if best.is_none_or(|(_, b)| d < b) {
            best = Some((i, d));
        }
    }
    best.map(|(i, _)| front[i])
}

/// Each column of `vs` scaled to [0, 1] (a column with one value: 0).
fn scale(vs: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let k = vs.first().map_or(0, Vec::len);
    let lo: Vec<f64> = (0..k)
        .map(|j| vs.iter().map(|v| v[j]).fold(f64::INFINITY, f64::min))
        .collect();
    let hi: Vec<f64> = (0..k)
        .map(|j| vs.iter().map(|v| v[j]).fold(f64::NEG_INFINITY, f64::max))
        .collect();
    vs.iter()
        .map(|v| {
            (0..k)
                .map(|j| {
                    let span = hi[j] - lo[j];
                    if span > 0.0 {
                        (v[j] - lo[j]) / span
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// The area dominated by `points` (two losses each) and bounded by `reference`.
#[must_use]
pub fn hypervolume_2d(points: &[[f64; 2]], reference: [f64; 2]) -> f64 {
    let mut ps: Vec<[f64; 2]> = points
        .iter()
        .copied()
        .filter(|p| p[0] < reference[0] && p[1] < reference[1])
        .collect();
    ps.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let mut area = 0.0;
    let mut ceiling = reference[1];
    for p in ps {
        if p[1] < ceiling {
            area += (reference[0] - p[0]) * (ceiling - p[1]);
            ceiling = p[1];
        }
    }
    area
}

/// ParEGO's scalarization (Knowles 2006) of each row of `vs` (a trial's losses) for
/// this suggestion: every loss put on a log scale when all its values are positive,
/// scaled to [0, 1] over the rows, then `max λᵢ zᵢ + 0.05 Σ λᵢ zᵢ` with weights `λ` drawn
/// uniformly from the simplex — a new direction towards the front each suggestion, so
/// that over a study BO fills the front in rather than settling on one point of it.
pub fn parego(vs: &[Vec<f64>], rng: &mut StdRng) -> Vec<f64> {
    let k = vs.first().map_or(0, Vec::len);
    let logged: Vec<Vec<f64>> = {
        let positive: Vec<bool> = (0..k).map(|j| vs.iter().all(|v| v[j] > 0.0)).collect();
        vs.iter()
            .map(|v| {
                v.iter()
                    .zip(&positive)
                    .map(|(x, p)| if *p { x.ln() } else { *x })
                    .collect()
            })
            .collect()
    };
    let z = scale(&logged);
    let raw: Vec<f64> = (0..k)
        .map(|_| -rng.random::<f64>().max(f64::MIN_POSITIVE).ln())
        .collect();
    let total: f64 = raw.iter().sum();
    let lambda: Vec<f64> = raw.iter().map(|r| r / total).collect();
    z.iter()
        .map(|v| {
            let weighted: Vec<f64> = v.iter().zip(&lambda).map(|(x, l)| x * l).collect();
            weighted.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                + 0.05 * weighted.iter().sum::<f64>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Metrics, Mode};
    use crate::space::Config;

    fn trial(id: u64, seconds: f64, memory: f64) -> Trial {
        Trial {
            id,
            config: Config::new(),
            status: Status::Completed,
            reports: vec![seconds],
            metrics: vec![Metrics::from([("memory".to_owned(), memory)])],
        }
    }

    fn objective() -> Objective {
        let mut o = Objective::new("seconds", Mode::Min);
        o.also_minimize.push("memory".into());
        o
    }

    #[test]
    fn the_front_keeps_what_nothing_beats_and_its_knee_is_the_balanced_one() {
        let h = History {
            trials: vec![
                trial(1, 1.0, 100.0), // fastest
                trial(2, 2.0, 50.0),  // balanced
                trial(3, 2.5, 80.0),  // beaten by 2
                trial(4, 4.0, 10.0),  // leanest
                trial(5, 2.0, 50.0),  // the same as 2, later
            ],
        };
        let o = objective();
        let ids: Vec<u64> = front(&h, &o).iter().map(|t| t.id).collect();
        assert_eq!(ids, [1, 2, 4]);
        assert_eq!(knee(&front(&h, &o), &o).unwrap().id, 2);
        assert_eq!(
            h.best(&o).unwrap().id,
            2,
            "the best of several objectives is the knee"
        );
        // A limit removes trials from the front before the knee is taken.
        let mut limited = o.clone();
        limited.constraints.push(crate::history::Constraint {
            metric: "memory".into(),
            max: 40.0,
        });
        assert_eq!(h.best(&limited).unwrap().id, 4);
    }

    #[test]
    fn hypervolume_adds_the_rectangles_each_point_adds() {
        let hv = hypervolume_2d(
            &[[1.0, 3.0], [2.0, 1.0], [3.0, 2.0], [5.0, 0.0]],
            [4.0, 4.0],
        );
        // [1,3]: 3×1 = 3; [2,1]: 2×2 = 4; [3,2] is dominated; [5,0] is past the reference.
        assert!((hv - 7.0).abs() < 1e-12, "{hv}");
        assert_eq!(hypervolume_2d(&[], [1.0, 1.0]), 0.0);
    }

    #[test]
    fn parego_ranks_the_best_of_every_loss_first_whatever_the_weights() {
        use rand::SeedableRng;
        let vs = vec![vec![1.0, 100.0], vec![2.0, 50.0], vec![0.5, 10.0]];
        for seed in 0..20 {
            let s = parego(&vs, &mut StdRng::seed_from_u64(seed));
            assert_eq!(s[2], 0.0, "the point best in both is the ideal: {s:?}");
            assert!(s[0] > 0.0 && s[1] > 0.0);
        }
    }
}
