//! What a running trial sees: its configuration, and where it reports.

use std::sync::Arc;

use crate::scheduler::{Decision, Scheduler};
use crate::space::Config;
use crate::store::{Store, StoreError, Study};

/// A report as it travels from a trial to the loop.
pub(super) type ReportMsg = (u64, usize, f64, Decision);

/// What a running trial sees: its configuration, and where to report.
pub struct TrialContext {
    pub(super) store: Arc<dyn Store>,
    pub(super) study: Study,
    pub(super) scheduler: Arc<dyn Scheduler>,
    pub(super) trial: u64,
    pub(super) config: Config,
    pub(super) events: tokio::sync::mpsc::UnboundedSender<ReportMsg>,
    pub(super) steps: std::sync::atomic::AtomicUsize,
    pub(super) stopped: std::sync::atomic::AtomicBool,
    pub(super) gave_up: std::sync::Mutex<Option<String>>,
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

    /// Ends the trial early on its own account (e.g. it is hopelessly slow): once it
    /// returns, it is recorded as stopped with `reason`, its last report standing.
    pub fn give_up(&self, reason: impl Into<String>) {
        *self.gave_up.lock().expect("trial state") = Some(reason.into());
    }

    /// Records an intermediate result (one fidelity step: an epoch, a repeat) and returns
    /// the scheduler's decision; on [`Decision::Stop`] the trial should return.
    pub fn report(&self, value: f64) -> Result<Decision, StoreError> {
        use std::sync::atomic::Ordering;
        self.store.report(&self.study, self.trial, value)?;
        let step = self.steps.fetch_add(1, Ordering::SeqCst) + 1;
        let history = self.store.history(&self.study)?;
        let decision = self
            .scheduler
            .on_report(self.trial, &history, &self.study.spec.objective);
        if decision == Decision::Stop {
            self.stopped.store(true, Ordering::SeqCst);
        }
        let _ = self.events.send((self.trial, step, value, decision));
        Ok(decision)
    }
}
