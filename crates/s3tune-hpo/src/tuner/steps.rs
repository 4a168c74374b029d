//! The loop's store work — claim, reap, heartbeat, settle — as plain functions run on the
//! blocking pool: the stores are synchronous (PostgreSQL's through its own runtime), and
//! the searcher runs inside the claim's transaction, so none of it may hold up the trials
//! running on the async threads.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::rngs::StdRng;

use super::{Event, LOST, Limits, StopReason, TrialContext};
use crate::backend::TrialError;
use crate::history::Status;
use crate::scheduler::Scheduler;
use crate::searcher::{Searcher, Suggestion};
use crate::store::{Claim, Store, StoreError, Study, TrialRecord};

/// What the loop's store work needs, shared with the blocking pool.
pub(super) struct Shared {
    pub store: Arc<dyn Store>,
    pub study: Arc<Study>,
    pub searcher: Arc<dyn Searcher>,
    pub scheduler: Arc<dyn Scheduler>,
    pub worker: String,
    pub heartbeat_timeout: Option<Duration>,
}

/// What a claim gave the loop.
pub(super) enum Next {
    /// A trial to run, and the scheduler's limit for its first run.
    Trial(Box<TrialRecord>, Option<f64>),
    /// Nothing now, but other workers' running trials may yet be lost and free a slot.
    Wait,
    /// Nothing more to do.
    Stop(StopReason),
}

/// Runs `f` on the blocking pool (a panic in it goes on in the caller).
pub(super) async fn blocking<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&Shared) -> T + Send + 'static,
) -> T {
    let shared = Arc::clone(shared);
    tokio::task::spawn_blocking(move || f(&shared))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

impl Shared {
    /// The random stream for the suggestion after `n` trials: a function of the study's
    /// seed and its history's length, so a resumed run suggests what an uninterrupted
    /// one would have.
    fn rng(&self, n: usize) -> StdRng {
        super::suggestion_rng(self.study.spec.seed, n)
    }

    /// Claims the next trial, or says why there is none. `mine` are the trials this
    /// loop runs.
    pub fn claim_next(&self, limits: &Limits, mine: &[u64]) -> Result<Next, StoreError> {
        let mut n_trials = 0;
        let mut others_running = 0;
        let mut limit = None;
        let mut infeasible = false;
        let claim = self
            .store
            .claim(&self.study, &self.worker, &mut |history| {
                n_trials = history.trials.len();
                others_running = history
                    .trials
                    .iter()
                    .filter(|t| t.status == Status::Pending && !mine.contains(&t.id))
                    .count();
                if limits.max_trials.is_some_and(|m| n_trials as u64 >= m) {
                    // Nothing is claimed: reported as the trial limit below.
                    return Ok(Suggestion::Exhausted);
                }
                let objective = &self.study.spec.objective;
                if let Some(m) = limits.max_infeasible
                    && !objective.constraints.is_empty()
                {
                    let mut done = history.trials.iter().filter(|t| t.value().is_some());
                    let count = done.clone().count();
                    if count >= m && !done.any(|t| objective.feasible(t)) {
                        infeasible = true;
                        return Ok(Suggestion::Exhausted);
                    }
                }
                limit = self
                    .scheduler
                    .run_limit(history, &self.study.spec.objective);
                let mut rng = self.rng(n_trials);
                self.searcher
                    .suggest(&self.study.spec.space, history, &mut rng)
            })?;
        Ok(match claim {
            Claim::Trial(r) => Next::Trial(Box::new(r), limit),
            Claim::Exhausted if infeasible => Next::Stop(StopReason::Infeasible),
            // Only a tuner that takes others' trials for lost can have a slot freed.
            Claim::Exhausted if others_running > 0 && self.heartbeat_timeout.is_some() => {
                Next::Wait
            }
            Claim::Exhausted if limits.max_trials.is_some_and(|m| n_trials as u64 >= m) => {
                Next::Stop(StopReason::Trials)
            }
            Claim::Exhausted => Next::Stop(StopReason::Exhausted),
        })
    }

    /// Marks lost the running trials of workers that are gone — stale heartbeats, and
    /// ended processes of this machine — and returns which they were.
    pub fn reap(&self) -> Result<Option<Event>, StoreError> {
        let mut lost = Vec::new();
        if let Some(t) = self.heartbeat_timeout {
            let reason = format!(
                "lost: its worker sent no heartbeat for {:.1} s (noticed by {})",
                t.as_secs_f64(),
                self.worker
            );
            lost.extend(self.store.fail_stale(&self.study, t, &reason)?);
        }
        let mut gone: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
        for r in self.store.trials(&self.study)? {
            if r.trial.status == Status::Pending && crate::worker::is_gone(&r.worker) {
                gone.entry(r.worker).or_default().push(r.trial.id);
            }
        }
        for (worker, trials) in gone {
            let reason = format!("lost: its worker {worker} stopped while it ran");
            lost.extend(self.store.fail_trials(&self.study, &trials, &reason)?);
        }
        lost.sort_unstable();
        Ok((!lost.is_empty()).then_some(Event::Lost(lost)))
    }

    /// Writes the heartbeats of `trials`; returns those that are no longer ours (another
    /// worker took them for lost).
    pub fn beat(&self, trials: &[u64]) -> Result<Vec<u64>, StoreError> {
        let mut gone = Vec::new();
        for &t in trials {
            match self.store.heartbeat(&self.study, t) {
                Ok(()) => {}
                Err(StoreError::NotRunning { .. }) => gone.push(t),
                Err(e) => return Err(e),
            }
        }
        Ok(gone)
    }

    /// How a trial ended, from what its task gave (`Err(why)`: it was dropped because the
    /// run stopped), recorded in the store.
    pub fn settle(
        &self,
        ctx: &TrialContext,
        outcome: Result<Result<(), TrialError>, StopReason>,
    ) -> Result<(Status, Option<String>), StoreError> {
        let stopped = ctx.stopped.load(Ordering::SeqCst);
        let steps = ctx.steps.load(Ordering::SeqCst);
        let gave_up = ctx.gave_up.lock().expect("trial state").take();
        let last = *ctx.last.lock().expect("trial state");
        let (status, error) = match outcome {
            Ok(Err(e)) => (Status::Failed, Some(e.to_string())),
            Ok(Ok(())) if steps == 0 => {
                (Status::Failed, Some("the trial reported no result".into()))
            }
            Ok(Ok(())) if gave_up.is_some() => (Status::Stopped, gave_up),
            Ok(Ok(())) if stopped => (Status::Stopped, Some("stopped by the scheduler".into())),
            Ok(Ok(())) if last.is_some_and(f64::is_finite) => (Status::Completed, None),
            Ok(Ok(())) => (
                Status::Failed,
                Some("the result is not a finite number".into()),
            ),
            Err(why) => {
                let text = match why {
                    StopReason::Interrupted => "interrupted",
                    _ => "the time budget ran out",
                };
                (Status::Stopped, Some(text.to_owned()))
            }
        };
        match self
            .store
            .finish(&self.study, ctx.trial, status, error.as_deref())
        {
            Ok(()) => Ok((status, error)),
            // Another worker took it for lost meanwhile: its result is not ours to record.
            Err(StoreError::NotRunning { .. }) => Ok((Status::Failed, Some(LOST.to_owned()))),
            Err(e) => Err(e),
        }
    }
}
