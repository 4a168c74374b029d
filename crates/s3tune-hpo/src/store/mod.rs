//! Study storage: the single source of truth of a study.
//!
//! A study is its definition (space, objective, searcher and scheduler settings, seed)
//! and its trials. Searchers and schedulers are functions of the trials, so anything that
//! can read the store — a resumed run, a second process, `s3tune report` — sees and
//! decides the same. The one operation that must be atomic is *suggest-and-claim*: read
//! the history, ask the searcher, and record the new trial as running, in one
//! transaction, so two workers never claim the same configuration.
//!
//! [`SqliteStore`] is the embedded implementation (one machine, any number of processes);
//! [`PostgresStore`] is the shared one (a fleet of machines). Both pass one conformance
//! suite.
//!
//! Workers may die at any time. A running trial carries its worker's heartbeat; a trial
//! whose heartbeat is too old, or whose worker process on this machine is gone, is marked
//! failed and *lost* by whichever worker notices ([`Store::fail_stale`],
//! [`Store::fail_trials`]). A lost trial stays in the record, but not in the
//! [`History`]: it says nothing about its configuration, so it does not count towards a
//! study's trial budget and its configuration may be suggested again. Its worker, should
//! it come back, can no longer report to it ([`StoreError::NotRunning`]).

mod postgres;
mod rows;
mod sqlite;
mod tls;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::history::{History, Metrics, Objective, Status, Trial};

use crate::scheduler::Scheduler;
use crate::searcher::{SearchError, Searcher, Suggestion};
use crate::space::{Space, SpaceError};
use crate::spec::{Budget, SchedulerSpec, SearcherSpec};
pub(crate) use rows::{RawStudy, RawTrial};

/// What defines a study; fixed when it is created.
#[derive(Debug, Clone, PartialEq)]
pub struct StudySpec {
    /// Unique name within the store.
    pub name: String,
    /// The search space.
    pub space: Space,
    /// What is optimized.
    pub objective: Objective,
    /// The searcher and its settings.
    pub searcher: SearcherSpec,
    /// The scheduler and its settings.
    pub scheduler: SchedulerSpec,
    /// Seed of the searcher's random stream.
    pub seed: u64,
    /// Anything else the application needs to run or report the study again (the
    /// experiment's target, repeats, …), as JSON.
    pub settings: serde_json::Value,
}

impl StudySpec {
    /// The study's searcher, as every process that opens the study builds it.
    #[must_use]
    pub fn build_searcher(&self) -> Arc<dyn Searcher> {
        self.searcher.build(&self.objective, self.seed)
    }

    /// The study's scheduler, as every process that opens the study builds it.
    pub fn build_scheduler(&self) -> Result<Arc<dyn Scheduler>, StoreError> {
        self.scheduler.build().map_err(|e| StoreError::Corrupt {
            study: self.name.clone(),
            what: "scheduler".into(),
            reason: e.to_string(),
        })
    }
}

/// A study as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    /// The store's key for it.
    pub id: i64,
    /// Its definition.
    pub spec: StudySpec,
    /// When it was created.
    pub created: SystemTime,
}

/// A trial with what the store keeps beside its results.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRecord {
    /// Configuration, status and reports (`trial.status == Pending` while it runs).
    pub trial: Trial,
    /// Why it failed or was stopped, if it did.
    pub error: Option<String>,
    /// Who ran it.
    pub worker: String,
    /// When it was claimed.
    pub started: SystemTime,
    /// The last sign of life from its worker.
    pub heartbeat: SystemTime,
    /// When it ended.
    pub finished: Option<SystemTime>,
    /// Failed because its worker was lost (no heartbeat, or its process gone), not
    /// because of its configuration: left out of the [`History`].
    pub lost: bool,
}

/// What a claim gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// A new trial, recorded as running for the claiming worker.
    Trial(TrialRecord),
    /// The searcher has nothing left to suggest.
    Exhausted,
}

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened, read or written.
    #[error("study storage {location}: {reason}")]
    Database {
        /// Where the store is.
        location: String,
        /// What went wrong.
        reason: String,
    },
    /// A study of that name exists with another definition.
    #[error(
        "study `{name}` already exists with a different {what}; use another --study name or the same settings"
    )]
    Mismatch {
        /// The study.
        name: String,
        /// Which part differs (space, objective, …).
        what: String,
    },
    /// A study of that name exists and should not.
    #[error("study `{0}` already exists")]
    Exists(String),
    /// No study of that name.
    #[error("no study named `{0}` in this storage")]
    NoStudy(String),
    /// No such trial.
    #[error("study `{study}` has no trial {trial}")]
    NoTrial {
        /// The study.
        study: String,
        /// The trial number.
        trial: u64,
    },
    /// The trial is no longer running: it ended, or another worker marked it lost.
    #[error("trial {trial} of study `{study}` is no longer running (it ended, or was marked lost)")]
    NotRunning {
        /// The study.
        study: String,
        /// The trial number.
        trial: u64,
    },
    /// The stored data does not parse (written by a newer s3tune, or damaged).
    #[error("study `{study}`: stored {what} is unreadable: {reason}")]
    Corrupt {
        /// The study.
        study: String,
        /// Which field.
        what: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The searcher failed.
    #[error(transparent)]
    Search(#[from] SearchError),
    /// The space failed.
    #[error(transparent)]
    Space(#[from] SpaceError),
}

/// Storage of studies and trials.
///
/// Every method is one transaction. Trials are numbered from 1 within a study.
pub trait Store: Send + Sync {
    /// Where the store is, for messages (a path or a URL without its password).
    fn location(&self) -> String;

    /// Creates the study, or opens the existing one of the same name after checking
    /// that its space and objective are the same (a study's results are only
    /// comparable within one definition). Returns the stored study.
    fn open_or_create(&self, spec: &StudySpec) -> Result<Study, StoreError>;

    /// The study named `name`, if there is one.
    fn study(&self, name: &str) -> Result<Option<Study>, StoreError>;

    /// Names of all studies, oldest first.
    fn studies(&self) -> Result<Vec<String>, StoreError>;

    /// Every trial of the study, by number.
    fn trials(&self, study: &Study) -> Result<Vec<TrialRecord>, StoreError>;

    /// Suggest-and-claim: reads the history, asks `suggest`, and records the suggested
    /// configuration as a trial running on `worker` — atomically, so concurrent claims
    /// see each other's trials as pending.
    fn claim(
        &self,
        study: &Study,
        worker: &str,
        suggest: &mut dyn FnMut(&History) -> Result<Suggestion, SearchError>,
    ) -> Result<Claim, StoreError>;

    /// Appends an intermediate result to a running trial, with what the step measured
    /// besides (and refreshes its heartbeat); [`StoreError::NotRunning`] when it is not
    /// running.
    fn report(
        &self,
        study: &Study,
        trial: u64,
        value: f64,
        metrics: &Metrics,
    ) -> Result<(), StoreError>;

    /// Marks a running trial alive; [`StoreError::NotRunning`] when it is not running
    /// (e.g. another worker took it for lost: its worker should drop it).
    fn heartbeat(&self, study: &Study, trial: u64) -> Result<(), StoreError>;

    /// Ends a running trial: completed, failed (with the reason) or stopped;
    /// [`StoreError::NotRunning`] when it is not running.
    fn finish(
        &self,
        study: &Study,
        trial: u64,
        status: Status,
        error: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Marks failed and lost every running trial whose heartbeat is older than
    /// `older_than` by the store's clock (`Duration::ZERO`: every running trial), with
    /// `reason`. Returns their numbers.
    fn fail_stale(
        &self,
        study: &Study,
        older_than: Duration,
        reason: &str,
    ) -> Result<Vec<u64>, StoreError>;

    /// Marks failed and lost those of `trials` that are still running (their worker is
    /// known to be gone), with `reason`. Returns their numbers.
    fn fail_trials(
        &self,
        study: &Study,
        trials: &[u64],
        reason: &str,
    ) -> Result<Vec<u64>, StoreError>;

    /// Records a named JSON document about the study (results computed after the trials,
    /// such as a confirmation race), replacing any earlier one of that name.
    fn put_note(
        &self,
        study: &Study,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError>;

    /// The study's notes by name.
    fn notes(
        &self,
        study: &Study,
    ) -> Result<std::collections::BTreeMap<String, serde_json::Value>, StoreError>;

    /// The history the searchers and schedulers decide from: every trial but the lost.
    fn history(&self, study: &Study) -> Result<History, StoreError> {
        Ok(rows::history_of(&self.trials(study)?))
    }

    /// The study's budget as last saved (none: no limit but the space).
    fn budget(&self, study: &Study) -> Result<Budget, StoreError> {
        match self.notes(study)?.remove(BUDGET_NOTE) {
            Some(v) => serde_json::from_value(v).map_err(|e| StoreError::Corrupt {
                study: study.spec.name.clone(),
                what: "budget".into(),
                reason: e.to_string(),
            }),
            None => Ok(Budget::default()),
        }
    }

    /// Records `budget` as the study's, for every worker that joins from now on.
    fn set_budget(&self, study: &Study, budget: &Budget) -> Result<(), StoreError> {
        let value = serde_json::to_value(budget).expect("budgets serialize");
        self.put_note(study, BUDGET_NOTE, &value)
    }
}

/// The note a study's budget is kept in.
const BUDGET_NOTE: &str = "budget";

/// How a status is spelled in storage.
pub(crate) fn status_name(status: Status) -> &'static str {
    match status {
        Status::Pending => "running",
        Status::Completed => "completed",
        Status::Failed => "failed",
        Status::Stopped => "stopped",
    }
}

/// The status a stored name stands for.
pub(crate) fn parse_status(name: &str) -> Option<Status> {
    Some(match name {
        "running" | "pending" => Status::Pending,
        "completed" => Status::Completed,
        "failed" => Status::Failed,
        "stopped" => Status::Stopped,
        _ => return None,
    })
}

/// The definition fields stored as text, so a store can compare them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredSpec {
    pub space: String,
    pub objective: String,
    pub searcher: String,
    pub scheduler: String,
}

impl StoredSpec {
    pub(crate) fn of(spec: &StudySpec) -> Self {
        Self {
            space: spec.space.to_json().to_string(),
            objective: serde_json::to_string(&spec.objective).expect("objectives serialize"),
            searcher: serde_json::to_string(&spec.searcher).expect("searchers serialize"),
            scheduler: serde_json::to_string(&spec.scheduler).expect("schedulers serialize"),
        }
    }
}

/// Joining `existing` with `spec` is allowed only when both define the same space,
/// objective, searcher and scheduler: results are only comparable within one definition,
/// and every process of a study must decide alike.
pub(crate) fn check_same(existing: &Study, spec: &StudySpec) -> Result<(), StoreError> {
    let (old, new) = (StoredSpec::of(&existing.spec), StoredSpec::of(spec));
    for (what, same) in [
        ("search space", old.space == new.space),
        ("objective", old.objective == new.objective),
        ("searcher", old.searcher == new.searcher),
        ("scheduler", old.scheduler == new.scheduler),
    ] {
        if !same {
            return Err(StoreError::Mismatch {
                name: spec.name.clone(),
                what: what.into(),
            });
        }
    }
    Ok(())
}

/// A study's notes from their stored text.
pub(crate) fn parse_notes(
    study: &Study,
    rows: Vec<(String, String)>,
) -> Result<std::collections::BTreeMap<String, serde_json::Value>, StoreError> {
    rows.into_iter()
        .map(|(k, v)| {
            let parsed = serde_json::from_str(&v).map_err(|e| StoreError::Corrupt {
                study: study.spec.name.clone(),
                what: format!("note `{k}`"),
                reason: e.to_string(),
            })?;
            Ok((k, parsed))
        })
        .collect()
}

/// Milliseconds since the Unix epoch (what the stores keep).
pub(crate) fn to_ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The time `ms` milliseconds after the Unix epoch.
pub(crate) fn from_ms(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}
