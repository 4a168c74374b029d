//! What a searcher and a scheduler decide from: the trials so far, and the objective.

use serde::{Deserialize, Serialize};

use crate::space::Config;

/// Whether to minimize or maximize the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Smaller is better (seconds, loss).
    #[default]
    Min,
    /// Larger is better (throughput, accuracy).
    Max,
}

/// The metric a study optimizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objective {
    /// Name of the reported metric.
    pub metric: String,
    /// Direction.
    pub mode: Mode,
}

impl Objective {
    /// `value` turned so that smaller is better (negated when maximizing).
    #[must_use]
    pub fn loss(&self, value: f64) -> f64 {
        match self.mode {
            Mode::Min => value,
            Mode::Max => -value,
        }
    }
}

/// Where a trial is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Suggested and running (or about to).
    Pending,
    /// Finished with a final value.
    Completed,
    /// Failed: no usable value (an error, or a non-finite result).
    Failed,
    /// Stopped early by the scheduler; its last report stands.
    Stopped,
}

/// One trial of a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Number within the study.
    pub id: u64,
    /// The configuration tried.
    pub config: Config,
    /// Its state.
    pub status: Status,
    /// The metric after each fidelity step (e.g. the mean time after each repeat).
    pub reports: Vec<f64>,
}

impl Trial {
    /// The trial's latest result, if it has a usable one (completed or stopped).
    #[must_use]
    pub fn value(&self) -> Option<f64> {
        match self.status {
            Status::Completed | Status::Stopped => {
                self.reports.last().copied().filter(|v| v.is_finite())
            }
            _ => None,
        }
    }
}

/// The trials of a study, in order. Searchers and schedulers are functions of this (and a
/// seed), so any process that can read the study can make the same decisions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The trials.
    pub trials: Vec<Trial>,
}

impl History {
    /// The best trial: the best completed one, else the best with any result (one stopped
    /// early), so that a trial judged on fewer steps does not win over those that ran them
    /// all. Ties go to the earlier trial. The one rule of "best" for every report, display
    /// and worker.
    #[must_use]
    pub fn best(&self, objective: &Objective) -> Option<&Trial> {
        let mut completed: Option<(&Trial, f64)> = None;
        let mut any: Option<(&Trial, f64)> = None;
        for t in &self.trials {
            let Some(loss) = t.value().map(|v| objective.loss(v)) else {
                continue;
            };
            let better = |best: Option<(&Trial, f64)>| best.is_none_or(|(_, b)| loss < b);
            if better(any) {
                any = Some((t, loss));
            }
            if t.status == Status::Completed && better(completed) {
                completed = Some((t, loss));
            }
        }
        completed.or(any).map(|(t, _)| t)
    }

    /// Records a result, refusing NaN and infinities (they would poison every model):
    /// such a trial is marked failed instead.
    pub fn complete(&mut self, id: u64, value: f64) -> Status {
        let Some(t) = self.trials.iter_mut().find(|t| t.id == id) else {
            return Status::Failed;
        };
        t.reports.push(value);
        t.status = if value.is_finite() {
            Status::Completed
        } else {
            Status::Failed
        };
        t.status
    }
}
