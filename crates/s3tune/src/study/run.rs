//! The run loop `tune` and `worker` share: a tuner built from the study as stored, its
//! trials run through a backend until the limits or Ctrl-C, and what this process's run
//! came to.

use std::sync::Arc;

use s3tune_hpo::backend::Backend;
use s3tune_hpo::{Event, Limits, Status, StopReason, TrialRecord, Tuner};

use super::Session;
use crate::commands::Stop;

/// `n trials`, or `1 trial`.
pub fn trials(n: u64) -> String {
    if n == 1 {
        "1 trial".to_owned()
    } else {
        format!("{n} trials")
    }
}

/// What a run ended with.
pub struct Ran {
    /// Why it stopped.
    pub why: StopReason,
    /// Its trials.
    pub outcome: RunOutcome,
}

/// How this process runs a study's trials.
pub struct Plan {
    /// Who runs (stored with each trial).
    pub worker: String,
    /// Trials at once.
    pub parallel: usize,
    /// When to stop claiming.
    pub limits: Limits,
    /// This run's heartbeat timeout (a worker's flag), instead of the study's.
    pub heartbeat_timeout: Option<std::time::Duration>,
}

/// Runs trials of `session`'s study from this process as `plan` says, through `backend`,
/// until the limits or `stop`; `on_event` sees each event.
pub async fn run<B: Backend + 'static>(
    session: &Session,
    plan: &Plan,
    backend: B,
    stop: &Stop,
    on_event: impl FnMut(&Event),
) -> anyhow::Result<Ran> {
    let mut budget = session.budget()?;
    if let Some(t) = plan.heartbeat_timeout {
        budget.heartbeat_timeout_ms = Some(t.as_millis() as u64);
    }
    let worker = plan.worker.as_str();
    let tuner = Tuner::of_study(
        Arc::clone(&session.store),
        session.study.clone(),
        worker,
        &budget,
    )?;
    let mark = session
        .store
        .trials(&session.study)?
        .last()
        .map_or(0, |t| t.trial.id);
    let why = tuner
        .run_parallel(plan.parallel, &plan.limits, backend, stop.wait(), on_event)
        .await?;
    let trials = session.store.trials(&session.study)?;
    Ok(Ran {
        why,
        outcome: RunOutcome::of(&trials, worker, mark),
    })
}

/// What this process's run of a study came to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOutcome {
    /// Trials this run ran (to an end).
    pub ran: usize,
    /// Of those, trials with a result (completed, or stopped early with one).
    pub succeeded: usize,
    /// Of those, trials that failed.
    pub failed: usize,
    /// The last error of a trial that failed.
    pub last_error: Option<String>,
}

impl RunOutcome {
    /// Of a study's `trials`, those `worker` ran with numbers above `after` (the
    /// study's last trial before the run began).
    pub fn of(trials: &[TrialRecord], worker: &str, after: u64) -> Self {
        let mut out = Self::default();
        for t in trials {
            if t.worker != worker || t.trial.id <= after || t.trial.status == Status::Pending {
                continue;
            }
            out.ran += 1;
            if t.trial.status == Status::Failed {
                out.failed += 1;
                out.last_error.clone_from(&t.error);
            } else if t.trial.value().is_some() {
                out.succeeded += 1;
            }
        }
        out
    }

    /// When the run made trials and none succeeded: the line that says so. The exit code
    /// is then `exit::NO_TRIAL_SUCCEEDED` (unless the run was interrupted).
    pub fn none_succeeded(&self) -> Option<String> {
        if self.ran == 0 || self.succeeded > 0 {
            return None;
        }
        let what = match (self.ran, self.failed) {
            (1, 1) => "the one trial failed".to_owned(),
            (n, f) if n == f => format!("all {n} trials failed"),
            (1, 0) => "the one trial was stopped before its first result".to_owned(),
            (n, f) => format!(
                "{f} of {n} trials failed, the others were stopped before their first result"
            ),
        };
        Some(format!(
            "no trial succeeded: {what}{}",
            self.last_error
                .as_deref()
                .map_or(String::new(), |e| format!("; the last error: {e}"))
        ))
    }

    /// The line of a run that gave up after failures in a row.
    pub fn failing_line(&self) -> String {
        format!(
            "{} trials in a row failed, so tuning stopped; the last error: {}",
            s3tune_hpo::spec::MAX_FAILURES_IN_A_ROW,
            self.last_error.as_deref().unwrap_or_default()
        )
    }
}
