//! How a study searches, stopped and budgeted, as data stored with the study.
//!
//! A study's searcher and scheduler are written into the store when it is created, with
//! every setting that changes a decision (BO's initial points, the grid's resolution,
//! ASHA's rungs and η, the cut-off of slow runs, the points to evaluate first). Every
//! process that opens the study — the one that made it, a resumed run, each worker on
//! each machine — calls `build()` on what it reads back and gets the same searcher and
//! scheduler: there is no setting that lives only in one process's flags.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::bayesopt::BoSearcher;
use crate::history::{History, Mode, Objective, Status};
use crate::scheduler::{Asha, AshaError, Decision, Fifo, Scheduler};
use crate::searcher::{GridSearcher, RandomSearcher, Searcher};
use crate::space::Config;
use crate::tuner::Limits;

/// The searcher of a study and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SearcherSpec {
    /// Uniformly random points.
    Random {
        /// Tried first, in order (e.g. a library's defaults).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        points_to_evaluate: Vec<Config>,
    },
    /// Every point of a grid, in an order shuffled by the study's seed.
    Grid {
        /// Values per continuous dimension.
        resolution: usize,
        /// Tried first, in order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        points_to_evaluate: Vec<Config>,
    },
    /// Gaussian-process Bayesian optimization.
    Bo {
        /// Random points (counting the points to evaluate) before the model takes over.
        initial_points: usize,
        /// Tried first, in order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        points_to_evaluate: Vec<Config>,
        /// Earlier studies' results the model learns from (a warm start).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        prior: Vec<Observation>,
    },
}

/// A configuration and its value, from an earlier study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// The configuration.
    pub config: Config,
    /// Its value of the objective's metric.
    pub value: f64,
}

impl SearcherSpec {
    /// Its name as the command line spells it (`random`, `grid`, `bo`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Random { .. } => "random",
            Self::Grid { .. } => "grid",
            Self::Bo { .. } => "bo",
        }
    }

    /// The points it tries first.
    #[must_use]
    pub fn points_to_evaluate(&self) -> &[Config] {
        match self {
            Self::Random { points_to_evaluate }
            | Self::Grid {
                points_to_evaluate, ..
            }
            | Self::Bo {
                points_to_evaluate, ..
            } => points_to_evaluate,
        }
    }

    /// The points it tries first, to add to before the study is made.
    pub fn points_to_evaluate_mut(&mut self) -> &mut Vec<Config> {
        match self {
            Self::Random { points_to_evaluate }
            | Self::Grid {
                points_to_evaluate, ..
            }
            | Self::Bo {
                points_to_evaluate, ..
            } => points_to_evaluate,
        }
    }

    /// The searcher for a study of `objective` whose random stream starts at `seed`.
    #[must_use]
    pub fn build(&self, objective: &Objective, seed: u64) -> Arc<dyn Searcher> {
        let points = self.points_to_evaluate().to_vec();
        match self {
            Self::Random { .. } => Arc::new(RandomSearcher {
                points_to_evaluate: points,
            }),
            Self::Grid { resolution, .. } => Arc::new(GridSearcher {
                resolution: *resolution,
                seed,
                points_to_evaluate: points,
            }),
            Self::Bo {
                initial_points,
                prior,
                ..
            } => {
                let mut s = BoSearcher::new(objective.clone());
                s.points_to_evaluate = points;
                s.initial_points = *initial_points;
                s.prior = prior.iter().map(|o| (o.config.clone(), o.value)).collect();
                Arc::new(s)
            }
        }
    }
}

/// Which trials go on after a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SchedulerSpec {
    /// Every trial runs to its end (or its cut-off).
    Fifo {
        /// Runs far slower than the best are cut off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cut_off: Option<CutOff>,
    },
    /// Asynchronous successive halving (stopping variant).
    Asha {
        /// The first rung, in reports.
        min_resource: usize,
        /// The most reports a trial makes.
        max_resource: usize,
        /// The reduction factor: `1/eta` of the trials at a rung go on.
        eta: f64,
        /// Runs far slower than the best are cut off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cut_off: Option<CutOff>,
    },
}

/// A run (one fidelity step, e.g. one download) is cut off once its value passes
/// `max(best · ratio, best + slack)`, where best is the study's best completed trial:
/// finishing it would only confirm that it is slow. Meaningful for a metric that grows
/// while a run goes on (seconds) and is minimized; with [`Mode::Max`] there is no cut.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CutOff {
    /// How many times the best a run may take.
    pub ratio: f64,
    /// ... and never less than this much more than the best (small values vary too
    /// much for a ratio alone).
    pub slack: f64,
}

impl CutOff {
    /// Why a trial whose `run`-th run was cut at `seconds` was stopped, for its record.
    #[must_use]
    pub fn reason(run: usize, seconds: f64) -> String {
        format!(
            "run {run} passed {seconds:.2} s, the study's cut-off for runs far slower than the best trial, and was cut off there"
        )
    }

    /// The value past which the next run of any trial is cut off, from the history.
    #[must_use]
    pub fn limit(&self, history: &History, objective: &Objective) -> Option<f64> {
        // With several objectives a slow trial may be the leanest: none is cut.
        if objective.mode != Mode::Min || !objective.also_minimize.is_empty() {
            return None;
        }
        let best = history
            .best(objective)
            .filter(|t| t.status == Status::Completed)?
            .value()?;
        Some((best * self.ratio).max(best + self.slack))
    }
}

/// A spec that cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// ASHA's settings are out of range.
    #[error(transparent)]
    Asha(#[from] AshaError),
    /// A cut-off ratio at or below 1 would cut the best itself.
    #[error("a cut-off ratio must be more than 1 and its slack at least 0, got {0} and {1}")]
    CutOff(f64, f64),
}

impl SchedulerSpec {
    /// Its name as the command line spells it (`fifo`, `asha`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Fifo { .. } => "fifo",
            Self::Asha { .. } => "asha",
        }
    }

    /// The cut-off of slow runs, if it has one.
    #[must_use]
    pub fn cut_off(&self) -> Option<CutOff> {
        match self {
            Self::Fifo { cut_off } | Self::Asha { cut_off, .. } => *cut_off,
        }
    }

    /// The scheduler, or why these settings do not make one.
    pub fn build(&self) -> Result<Arc<dyn Scheduler>, SpecError> {
        let cut_off = self.cut_off();
        if let Some(c) = cut_off
            && !(c.ratio > 1.0 && c.slack >= 0.0)
        {
            return Err(SpecError::CutOff(c.ratio, c.slack));
        }
        let inner: Box<dyn Scheduler> = match self {
            Self::Fifo { .. } => Box::new(Fifo),
            Self::Asha {
                min_resource,
                max_resource,
                eta,
                ..
            } => Box::new(Asha::new(*min_resource, *max_resource, *eta)?),
        };
        Ok(Arc::new(Built { inner, cut_off }))
    }
}

/// A scheduler with the study's cut-off of slow runs.
struct Built {
    inner: Box<dyn Scheduler>,
    cut_off: Option<CutOff>,
}

impl Scheduler for Built {
    fn on_report(&self, id: u64, history: &History, objective: &Objective) -> Decision {
        self.inner.on_report(id, history, objective)
    }

    fn needs_history(&self) -> bool {
        self.inner.needs_history() || self.cut_off.is_some()
    }

    fn run_limit(&self, history: &History, objective: &Objective) -> Option<f64> {
        self.cut_off?.limit(history, objective)
    }
}

/// A study's budget, as its creator last set it; every worker that joins stops when it
/// is spent. Kept beside the study (it may change between runs; the search may not).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// The study ends with this many trials (lost ones do not count).
    pub trials: Option<u64>,
    /// No trial is claimed after this time (milliseconds since the Unix epoch).
    pub until_ms: Option<i64>,
    /// A running trial whose heartbeat is older than this is taken for lost.
    pub heartbeat_timeout_ms: Option<u64>,
    /// A trial running longer than this is stopped and failed.
    #[serde(default)]
    pub trial_timeout_ms: Option<u64>,
}

/// The heartbeat timeout of a study that never set one: a worker silent this long is
/// taken for lost.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(30);

/// A run gives up after this many trials in a row failed: something is wrong with the
/// setup (a full disk, revoked credentials, a broken script), not with the
/// configurations, and going on would only repeat it.
pub const MAX_FAILURES_IN_A_ROW: usize = 3;

/// A study with limits stops after this many trials with results of which not one kept
/// them: the limits are likely out of any configuration's reach (BO's random start is
/// ten points; a space with a feasible region a tenth of its size is missed by all ten
/// about a third of the time, so this errs towards going on).
pub const MAX_INFEASIBLE: usize = 10;

impl Budget {
    /// A budget of `trials` and of `time` from now.
    #[must_use]
    pub fn new(trials: Option<u64>, time: Option<Duration>, heartbeat_timeout: Duration) -> Self {
        Self {
            trials,
            until_ms: time.map(|t| crate::store::to_ms(SystemTime::now() + t)),
            heartbeat_timeout_ms: Some(heartbeat_timeout.as_millis() as u64),
            trial_timeout_ms: None,
        }
    }

    /// The time left until the deadline (zero once it has passed), if there is one.
    #[must_use]
    pub fn time_left(&self) -> Option<Duration> {
        self.until_ms.map(|ms| {
            crate::store::from_ms(ms)
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        })
    }

    /// The study's heartbeat timeout, else [`HEARTBEAT_TIMEOUT`].
    #[must_use]
    pub fn heartbeat_timeout(&self) -> Duration {
        self.heartbeat_timeout_ms
            .map_or(HEARTBEAT_TIMEOUT, Duration::from_millis)
    }

    /// How often a running trial's heartbeat is written: often enough that a few missed
    /// beats are still well inside the timeout.
    #[must_use]
    pub fn heartbeat_every(&self) -> Duration {
        (self.heartbeat_timeout() / 6).clamp(Duration::from_millis(50), Duration::from_secs(5))
    }

    /// The study's trial timeout, if it has one.
    #[must_use]
    pub fn trial_timeout(&self) -> Option<Duration> {
        self.trial_timeout_ms.map(Duration::from_millis)
    }

    /// The limits of a run of this study, bounded further by `own` (a run's own time
    /// budget, e.g. a worker's `--budget`).
    #[must_use]
    pub fn limits(&self, own: Option<Duration>) -> Limits {
        let time = match (self.time_left(), own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Limits {
            max_trials: self.trials,
            budget: time,
            max_failures_in_a_row: Some(MAX_FAILURES_IN_A_ROW),
            max_infeasible: Some(MAX_INFEASIBLE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Trial;

    fn trial(id: u64, status: Status, reports: &[f64]) -> Trial {
        Trial {
            id,
            config: Config::new(),
            status,
            reports: reports.to_vec(),
            metrics: Vec::new(),
        }
    }

    #[test]
    fn specs_read_back_as_written() {
        let s = SearcherSpec::Bo {
            initial_points: 5,
            points_to_evaluate: vec![],
            prior: vec![],
        };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(text, r#"{"kind":"bo","initial_points":5}"#);
        assert_eq!(serde_json::from_str::<SearcherSpec>(&text).unwrap(), s);
        let a = SchedulerSpec::Asha {
            min_resource: 1,
            max_resource: 3,
            eta: 3.0,
            cut_off: Some(CutOff {
                ratio: 3.0,
                slack: 1.0,
            }),
        };
        let back: SchedulerSpec =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
        assert!(serde_json::from_str::<SearcherSpec>(r#"{"kind":"tpe"}"#).is_err());
    }

    #[test]
    fn the_cut_off_follows_the_best_completed_trial_only() {
        let objective = Objective {
            metric: "seconds".into(),
            mode: Mode::Min,
            constraints: Vec::new(),
            also_minimize: Vec::new(),
        };
        let spec = SchedulerSpec::Fifo {
            cut_off: Some(CutOff {
                ratio: 3.0,
                slack: 1.0,
            }),
        };
        let s = spec.build().unwrap();
        // FIFO alone needs no history; with a cut-off, every report must read it, or the
        // limit of the runs after the first would be lost.
        assert!(s.needs_history());
        assert!(
            !SchedulerSpec::Fifo { cut_off: None }
                .build()
                .unwrap()
                .needs_history()
        );
        let mut h = History::default();
        assert_eq!(s.run_limit(&h, &objective), None);
        // A stopped trial's value is from fewer runs: it sets no limit.
        h.trials.push(trial(1, Status::Stopped, &[0.1]));
        assert_eq!(s.run_limit(&h, &objective), None);
        h.trials.push(trial(2, Status::Completed, &[2.0, 2.0]));
        assert_eq!(s.run_limit(&h, &objective), Some(6.0));
        h.trials.push(trial(3, Status::Completed, &[0.2]));
        assert_eq!(s.run_limit(&h, &objective), Some(1.2));
        let max = Objective {
            metric: "mbps".into(),
            mode: Mode::Max,
            constraints: Vec::new(),
            also_minimize: Vec::new(),
        };
        assert_eq!(s.run_limit(&h, &max), None);
        let bad = SchedulerSpec::Fifo {
            cut_off: Some(CutOff {
                ratio: 1.0,
                slack: 0.0,
            }),
        };
        assert!(bad.build().is_err());
    }

    #[test]
    fn a_budget_bounds_a_run_by_the_sooner_deadline() {
        let b = Budget::new(Some(7), Some(Duration::from_secs(3600)), HEARTBEAT_TIMEOUT);
        let l = b.limits(Some(Duration::from_secs(60)));
        assert_eq!(l.max_trials, Some(7));
        assert_eq!(l.budget, Some(Duration::from_secs(60)));
        let l = b.limits(None);
        assert!(l.budget.unwrap() > Duration::from_secs(3590));
        assert_eq!(Budget::default().limits(None).budget, None);
    }
}
