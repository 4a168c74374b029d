//! The tuner loop: claim a trial from the store, run it, record what it reports, ask the
//! scheduler after each report whether it goes on, and stop on a trial count, a time
//! budget, an exhausted space or an interruption.
//!
//! The loop keeps nothing the store does not: a resumed run, or another process on the
//! same study, picks up from the trials alone. A trial runs as an async function (the
//! in-process backend) that reports through its [`TrialContext`]; it is dropped — which
//! must cancel it cleanly — when the budget runs out or the run is interrupted, and is
//! then recorded as stopped.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::history::Status;
use crate::scheduler::{Decision, Scheduler};
use crate::searcher::Searcher;
use crate::space::Config;
use crate::store::{Claim, Store, StoreError, Study, TrialRecord};

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

/// What a running trial sees: its configuration, and where to report.
pub struct TrialContext {
    store: Arc<dyn Store>,
    study: Study,
    scheduler: Arc<dyn Scheduler>,
    trial: u64,
    config: Config,
    events: tokio::sync::mpsc::UnboundedSender<(u64, usize, f64, Decision)>,
    steps: std::sync::atomic::AtomicUsize,
    stopped: std::sync::atomic::AtomicBool,
    gave_up: std::sync::Mutex<Option<String>>,
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

/// Runs trials of one study.
pub struct Tuner {
    /// Where the study lives.
    pub store: Arc<dyn Store>,
    /// The study.
    pub study: Study,
    /// Proposes configurations.
    pub searcher: Arc<dyn Searcher>,
    /// Stops unpromising trials.
    pub scheduler: Arc<dyn Scheduler>,
    /// Who is running (stored with each trial).
    pub worker: String,
    /// How often a running trial's heartbeat is written.
    pub heartbeat: Duration,
}

/// A failed run of the loop.
#[derive(Debug, thiserror::Error)]
pub enum TunerError {
    /// The store failed; the study is as the last successful transaction left it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Tuner {
    /// The random stream for the suggestion after `n` trials: a function of the study's
    /// seed and its history's length, so a resumed run suggests what an uninterrupted
    /// one would have.
    fn rng(&self, n: usize) -> StdRng {
        StdRng::seed_from_u64(
            self.study
                .spec
                .seed
                .wrapping_add((n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        )
    }

    /// Runs trials until a limit is reached or `interrupt` completes. `run_trial` is the
    /// in-process backend: it runs one configuration, reporting through the context, and
    /// returns `Err(reason)` when the trial failed.
    pub async fn run<F, Fut>(
        &self,
        limits: &Limits,
        run_trial: F,
        interrupt: impl Future<Output = ()>,
        mut on_event: impl FnMut(&Event),
    ) -> Result<StopReason, TunerError>
    where
        F: Fn(Arc<TrialContext>) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let start = Instant::now();
        let deadline = limits.budget.map(|b| start + b);
        tokio::pin!(interrupt);
        let mut failures = 0;
        loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(StopReason::Budget);
            }
            let mut n_trials = 0;
            let claim = self
                .store
                .claim(&self.study, &self.worker, &mut |history| {
                    n_trials = history.trials.len();
                    if limits
                        .max_trials
                        .is_some_and(|m| history.trials.len() as u64 >= m)
                    {
                        // Nothing is claimed: report it as the trial limit below.
                        return Ok(crate::searcher::Suggestion::Exhausted);
                    }
                    let mut rng = self.rng(history.trials.len());
                    self.searcher
                        .suggest(&self.study.spec.space, history, &mut rng)
                })?;
            let record = match claim {
                Claim::Trial(r) => r,
                Claim::Exhausted if limits.max_trials.is_some_and(|m| n_trials as u64 >= m) => {
                    return Ok(StopReason::Trials);
                }
                Claim::Exhausted => return Ok(StopReason::Exhausted),
            };
            on_event(&Event::Started(record.clone()));
            let id = record.trial.id;
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let ctx = Arc::new(TrialContext {
                store: Arc::clone(&self.store),
                study: self.study.clone(),
                scheduler: Arc::clone(&self.scheduler),
                trial: id,
                config: record.trial.config.clone(),
                events: tx,
                steps: 0.into(),
                stopped: false.into(),
                gave_up: std::sync::Mutex::new(None),
            });
            let fut = run_trial(Arc::clone(&ctx));
            tokio::pin!(fut);
            let mut beat = tokio::time::interval(self.heartbeat);
            beat.tick().await;
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(sleep);
            let outcome = loop {
                tokio::select! {
                    r = &mut fut => break Ok(r),
                    Some((trial, step, value, decision)) = rx.recv() => {
                        on_event(&Event::Report { trial, step, value, decision });
                    }
                    _ = beat.tick() => self.store.heartbeat(&self.study, id)?,
                    () = &mut sleep => break Err(StopReason::Budget),
                    () = &mut interrupt => break Err(StopReason::Interrupted),
                }
            };
            while let Ok((trial, step, value, decision)) = rx.try_recv() {
                on_event(&Event::Report {
                    trial,
                    step,
                    value,
                    decision,
                });
            }
            let stopped = ctx.stopped.load(std::sync::atomic::Ordering::SeqCst);
            let steps = ctx.steps.load(std::sync::atomic::Ordering::SeqCst);
            let gave_up = ctx.gave_up.lock().expect("trial state").take();
            let (status, error) = match &outcome {
                Ok(Err(reason)) => (Status::Failed, Some(reason.clone())),
                Ok(Ok(())) if steps == 0 => {
                    (Status::Failed, Some("the trial reported no result".into()))
                }
                Ok(Ok(())) if gave_up.is_some() => (Status::Stopped, gave_up),
                Ok(Ok(())) if stopped => (Status::Stopped, Some("stopped by the scheduler".into())),
                Ok(Ok(())) => {
                    let history = self.store.history(&self.study)?;
                    let finite = history
                        .trials
                        .iter()
                        .find(|t| t.id == id)
                        .and_then(|t| t.reports.last())
                        .is_some_and(|v| v.is_finite());
                    if finite {
                        (Status::Completed, None)
                    } else {
                        (
                            Status::Failed,
                            Some("the result is not a finite number".into()),
                        )
                    }
                }
                Err(why) => {
                    let text = match *why {
                        StopReason::Interrupted => "interrupted",
                        _ => "the time budget ran out",
                    };
                    (Status::Stopped, Some(text.to_owned()))
                }
            };
            self.store
                .finish(&self.study, id, status, error.as_deref())?;
            on_event(&Event::Finished {
                trial: id,
                status,
                error,
            });
            if let Err(why) = outcome {
                return Ok(why);
            }
            failures = if status == Status::Failed {
                failures + 1
            } else {
                0
            };
            if limits.max_failures_in_a_row.is_some_and(|m| failures >= m) {
                return Ok(StopReason::Failing);
            }
        }
    }
}
