//! What a running trial sees: its configuration, where it reports, and how long its next
//! run may take.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::history::Metrics;
use crate::scheduler::{Decision, Scheduler};
use crate::space::Config;
use crate::store::{Store, StoreError, Study};

/// A report as it travels from a trial to the loop.
pub(super) type ReportMsg = (u64, usize, f64, Decision);

/// What a running trial sees: its configuration, and where to report.
pub struct TrialContext {
    pub(super) store: Arc<dyn Store>,
    pub(super) study: Arc<Study>,
    pub(super) scheduler: Arc<dyn Scheduler>,
    pub(super) trial: u64,
    pub(super) config: Config,
    pub(super) events: tokio::sync::mpsc::UnboundedSender<ReportMsg>,
    pub(super) steps: AtomicUsize,
    pub(super) stopped: AtomicBool,
    pub(super) gave_up: Mutex<Option<String>>,
    /// The last value reported.
    pub(super) last: Mutex<Option<f64>>,
    /// The scheduler's limit for the next run, from the history it last read.
    pub(super) run_limit: Mutex<Option<f64>>,
}

impl TrialContext {
    /// The trial's number in the study.
    #[must_use]
    pub fn trial(&self) -> u64 {
        self.trial
    }

    /// The configuration to run.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The value past which the next run (fidelity step) should be cut off, as the
    /// scheduler decided from the history when the trial was claimed or last reported;
    /// `None`: no limit. A trial that cuts a run reports the limit as the run's value and
    /// [gives up](TrialContext::give_up).
    #[must_use]
    pub fn run_limit(&self) -> Option<f64> {
        *self.run_limit.lock().expect("trial state")
    }

    /// Ends the trial early on its own account (e.g. a run was cut off): once it
    /// returns, it is recorded as stopped with `reason`, its last report standing.
    pub fn give_up(&self, reason: impl Into<String>) {
        *self.gave_up.lock().expect("trial state") = Some(reason.into());
    }

    /// Records an intermediate result (one fidelity step: an epoch, a repeat) and returns
    /// the scheduler's decision; on [`Decision::Stop`] the trial should return. The store
    /// is written and the history read once, off the async threads.
    pub async fn report(&self, value: f64) -> Result<Decision, StoreError> {
        self.report_measured(value, Metrics::new()).await
    }

    /// [`report`](TrialContext::report), with what the step measured besides the
    /// objective (its peak memory, CPU seconds, …): constraints and further objectives
    /// are judged on these.
    pub async fn report_measured(
        &self,
        value: f64,
        metrics: Metrics,
    ) -> Result<Decision, StoreError> {
        let (store, study, scheduler, trial) = (
            Arc::clone(&self.store),
            Arc::clone(&self.study),
            Arc::clone(&self.scheduler),
            self.trial,
        );
        let (decision, limit) = tokio::task::spawn_blocking(move || {
            store.report(&study, trial, value, &metrics)?;
            if !scheduler.needs_history() {
                return Ok((Decision::Continue, None));
            }
            let history = store.history(&study)?;
            let objective = &study.spec.objective;
            Ok::<_, StoreError>((
                scheduler.on_report(trial, &history, objective),
                scheduler.run_limit(&history, objective),
            ))
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        *self.last.lock().expect("trial state") = Some(value);
        *self.run_limit.lock().expect("trial state") = limit;
        let step = self.steps.fetch_add(1, Ordering::SeqCst) + 1;
        if decision == Decision::Stop {
            self.stopped.store(true, Ordering::SeqCst);
        }
        let _ = self.events.send((self.trial, step, value, decision));
        Ok(decision)
    }
}
