//! What bounds a run, why it ended, and what it tells its display on the way.

use std::time::Duration;

use crate::history::Status;
use crate::scheduler::Decision;
use crate::store::TrialRecord;

/// When a run stops claiming trials.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// The study's total number of trials (all statuses); a resumed study goes on until
    /// it has this many.
    pub max_trials: Option<u64>,
    /// Wall-clock budget of this run; the running trial is stopped when it is spent.
    pub budget: Option<Duration>,
    /// Give up after this many trials in a row failed (something is wrong with the
    /// setup, not the configurations: a full disk, revoked credentials).
    pub max_failures_in_a_row: Option<usize>,
    /// With limits on the objective (constraints): stop once this many trials have
    /// results and not one kept the limits — no configuration may meet them.
    pub max_infeasible: Option<usize>,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The study has `max_trials` trials.
    Trials,
    /// The time budget is spent.
    Budget,
    /// The searcher has nothing left to try.
    Exhausted,
    /// The caller's interrupt fired (e.g. Ctrl-C).
    Interrupted,
    /// `max_failures_in_a_row` trials failed in a row.
    Failing,
    /// `max_infeasible` trials have results and none kept the objective's limits.
    Infeasible,
}

/// What the loop tells its display.
#[derive(Debug, Clone)]
pub enum Event {
    /// A trial was claimed and starts.
    Started(TrialRecord),
    /// A trial reported its `step`-th result (1-based).
    Report {
        /// Trial number.
        trial: u64,
        /// Step.
        step: usize,
        /// The value.
        value: f64,
        /// What the scheduler decided.
        decision: Decision,
    },
    /// Trials of workers that are gone were marked failed and lost (by this tuner).
    Lost(Vec<u64>),
    /// A trial ended.
    Finished {
        /// Trial number.
        trial: u64,
        /// How.
        status: Status,
        /// Why it failed or was stopped.
        error: Option<String>,
    },
}
