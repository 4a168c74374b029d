//! What a searcher and a scheduler decide from: the trials so far, and the objective.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::space::Config;

/// What a trial measured at one step besides its objective (a run's peak memory, CPU
/// seconds, requests, …), by name.
pub type Metrics = BTreeMap<String, f64>;

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

/// An upper limit on a measured metric: a trial over it is infeasible — kept and shown,
/// never the best.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    /// Name of the measured metric (a key of the trials' [`Metrics`]).
    pub metric: String,
    /// The most it may be.
    pub max: f64,
}

/// The metric a study optimizes, and the limits a trial must keep to count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// Name of the reported metric.
    pub metric: String,
    /// Direction.
    pub mode: Mode,
    /// Limits every counted trial keeps (none: every trial is feasible).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Constraint>,
    /// Measured metrics minimized besides (keys of the trials' [`Metrics`]): with any,
    /// the study keeps a Pareto front and its best is the front's knee
    /// ([`crate::pareto`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_minimize: Vec<String>,
}

impl Objective {
    /// `metric` in direction `mode`, with no limits.
    #[must_use]
    pub fn new(metric: impl Into<String>, mode: Mode) -> Self {
        Self {
            metric: metric.into(),
            mode,
            constraints: Vec::new(),
            also_minimize: Vec::new(),
        }
    }

    /// Whether `trial` keeps every limit: each constrained metric was measured and is
    /// within its limit. A metric never measured cannot be shown to keep its limit, so
    /// the trial is not feasible.
    #[must_use]
    pub fn feasible(&self, trial: &Trial) -> bool {
        self.constraints
            .iter()
            .all(|c| trial.metric(&c.metric).is_some_and(|v| v <= c.max))
    }

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
    /// What each step measured besides (one entry per report; empty when the trial
    /// measures nothing else).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metrics>,
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

    /// The trial's measure of `name`: the most any of its steps measured (a limit holds
    /// for every run, and a trial costs what its costliest run did); `None` when no step
    /// measured it.
    #[must_use]
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .filter_map(|m| m.get(name).copied())
            .filter(|v| v.is_finite())
            .reduce(f64::max)
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
    /// all; only a trial that keeps the objective's limits counts. Ties go to the earlier
    /// trial. With several objectives, the knee of the Pareto front. The one rule of
    /// "best" for every report, display and worker.
    #[must_use]
    pub fn best(&self, objective: &Objective) -> Option<&Trial> {
        if !objective.also_minimize.is_empty() {
            let front = crate::pareto::front(self, objective);
            return crate::pareto::knee(&front, objective);
        }
        let mut completed: Option<(&Trial, f64)> = None;
        let mut any: Option<(&Trial, f64)> = None;
        for t in &self.trials {
            let Some(loss) = t.value().map(|v| objective.loss(v)) else {
                continue;
            };
            if !objective.feasible(t) {
                continue;
            }
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
