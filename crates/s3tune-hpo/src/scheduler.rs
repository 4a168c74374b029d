//! Schedulers decide, after each intermediate report, whether a trial goes on.
//!
//! FIFO lets every trial run to the end. ASHA (asynchronous successive halving, the
//! stopping variant, as in Syne Tune) puts rungs at resources `r_min · ηᵏ`; a trial that
//! reaches a rung goes on only if its result there is in the best `1/η` of the results
//! recorded at that rung so far. Decisions read only the history, like searchers.

use crate::history::{History, Objective};

/// What to do with a trial after a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Let it run.
    Continue,
    /// Stop it: it is not promising.
    Stop,
}

/// Decides after each report.
pub trait Scheduler: Send + Sync {
    /// Trial `id` has just made its `reports.len()`-th report.
    fn on_report(&self, id: u64, history: &History, objective: &Objective) -> Decision;

    /// Whether [`Scheduler::on_report`] reads the history (a tuner skips reading it for
    /// one that does not).
    fn needs_history(&self) -> bool {
        true
    }

    /// The value past which a run about to start (one fidelity step of any trial) is cut
    /// off, if there is one — a function of the history, so every worker of a study cuts
    /// at the same point. See [`CutOff`](crate::spec::CutOff).
    fn run_limit(&self, _history: &History, _objective: &Objective) -> Option<f64> {
        None
    }
}

/// Every trial runs to the end.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fifo;

impl Scheduler for Fifo {
    fn on_report(&self, _id: u64, _history: &History, _objective: &Objective) -> Decision {
        Decision::Continue
    }

    fn needs_history(&self) -> bool {
        false
    }
}

/// Asynchronous successive halving, stopping variant.
#[derive(Debug, Clone, PartialEq)]
pub struct Asha {
    rungs: Vec<usize>,
    eta: f64,
}

/// An ASHA that cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "ASHA needs 1 <= min_resource < max_resource and a reduction factor eta >= 2, got {min}, {max}, {eta}"
)]
pub struct AshaError {
    min: usize,
    max: usize,
    eta: f64,
}

impl Asha {
    /// Rungs at `min_resource · ηᵏ` below `max_resource` (e.g. 1, 3 of max 9 with η = 3).
    pub fn new(min_resource: usize, max_resource: usize, eta: f64) -> Result<Self, AshaError> {
        if min_resource < 1 || min_resource >= max_resource || eta.is_nan() || eta < 2.0 {
            return Err(AshaError {
                min: min_resource,
                max: max_resource,
                eta,
            });
        }
        let mut rungs = Vec::new();
        let mut r = min_resource as f64;
        while (r.round() as usize) < max_resource {
            let level = r.round() as usize;
            if rungs.last() != Some(&level) {
                rungs.push(level);
            }
            r *= eta;
        }
        Ok(Self { rungs, eta })
    }

    /// The rung levels.
    #[must_use]
    pub fn rungs(&self) -> &[usize] {
        &self.rungs
    }
}

impl Scheduler for Asha {
    fn on_report(&self, id: u64, history: &History, objective: &Objective) -> Decision {
        let Some(trial) = history.trials.iter().find(|t| t.id == id) else {
            return Decision::Continue;
        };
        let level = trial.reports.len();
        if !self.rungs.contains(&level) {
            return Decision::Continue;
        }
        let mine = objective.loss(trial.reports[level - 1]);
        if !mine.is_finite() {
            return Decision::Stop;
        }
        // Everyone's result at this rung, this trial's included.
        let mut at_rung: Vec<f64> = history
            .trials
            .iter()
            .filter(|t| t.reports.len() >= level)
            .map(|t| objective.loss(t.reports[level - 1]))
            .filter(|v| v.is_finite())
            .collect();
        at_rung.sort_by(f64::total_cmp);
        let keep = ((at_rung.len() as f64 / self.eta).ceil() as usize).max(1);
        let cutoff = at_rung[keep - 1];
        if mine <= cutoff {
            Decision::Continue
        } else {
            Decision::Stop
        }
    }
}
