//! The tuner loop: claim a trial from the store, run it, record what it reports, ask the
//! scheduler after each report whether it goes on, and stop on a trial count, a time
//! budget, an exhausted space or an interruption.
//!
//! The loop keeps nothing the store does not: a resumed run, or another process on the
//! same study, picks up from the trials alone. Several tuners — threads, processes,
//! machines — may work on one study at once: each claim sees the others' running
//! trials; each tuner writes its trials' heartbeats and marks lost the running trials of
//! workers that are gone (their heartbeat is older than [`Tuner::heartbeat_timeout`], or
//! their process on this machine has ended). A tuner whose trial limit is taken up by
//! other workers' running trials waits for them rather than leaving: if one is lost, its
//! slot is claimed again, so the study still ends with its budget of trials.
//!
//! A trial runs as an async function (the in-process backend) that reports through its
//! [`TrialContext`]; it is dropped — which must cancel it cleanly — when the budget runs
//! out or the run is interrupted, and is then recorded as stopped.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

mod limits;
mod trial;

pub use limits::{Event, Limits, StopReason};
use trial::ReportMsg;
pub use trial::TrialContext;

use crate::history::Status;
use crate::scheduler::Scheduler;
use crate::searcher::Searcher;
use crate::store::{Claim, Store, StoreError, Study, TrialRecord};

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
    /// How often a running trial's heartbeat is written (and others' are checked).
    pub heartbeat: Duration,
    /// A running trial whose heartbeat is older than this is taken for lost (its worker
    /// died or hangs) and marked so, whoever's it is. `None`: only the trials of this
    /// machine's ended processes are. Every worker of a study should use one value, some
    /// times [`Tuner::heartbeat`].
    pub heartbeat_timeout: Option<Duration>,
}

/// What a claim gave the loop.
enum Next {
    /// A trial to run.
    Trial(TrialRecord),
    /// Nothing now, but other workers' running trials may yet be lost and free a slot.
    Wait,
    /// Nothing more to do.
    Stop(StopReason),
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

    /// Runs trials one at a time until a limit is reached or `interrupt` completes.
    /// `run_trial` is the in-process backend: it runs one configuration, reporting through
    /// the context, and returns `Err(reason)` when the trial failed.
    pub async fn run<F, Fut>(
        &self,
        limits: &Limits,
        run_trial: F,
        interrupt: impl Future<Output = ()>,
        on_event: impl FnMut(&Event),
    ) -> Result<StopReason, TunerError>
    where
        F: Fn(Arc<TrialContext>) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        self.run_parallel(1, limits, run_trial, interrupt, on_event)
            .await
    }

    /// Claims the next trial, or says why there is none. `mine` are the trials this
    /// loop runs.
    fn claim_next(&self, limits: &Limits, mine: &[u64]) -> Result<Next, TunerError> {
        let mut n_trials = 0;
        let mut others_running = 0;
        let claim = self
            .store
            .claim(&self.study, &self.worker, &mut |history| {
                n_trials = history.trials.len();
                others_running = history
                    .trials
                    .iter()
                    .filter(|t| t.status == Status::Pending && !mine.contains(&t.id))
                    .count();
                if limits
                    .max_trials
                    .is_some_and(|m| history.trials.len() as u64 >= m)
                {
                    // Nothing is claimed: reported as the trial limit below.
                    return Ok(crate::searcher::Suggestion::Exhausted);
                }
                let mut rng = self.rng(history.trials.len());
                self.searcher
                    .suggest(&self.study.spec.space, history, &mut rng)
            })?;
        Ok(match claim {
            Claim::Trial(r) => Next::Trial(r),
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
    /// ended processes of this machine — and tells `on_event` which they were.
    fn reap(&self, on_event: &mut impl FnMut(&Event)) -> Result<(), StoreError> {
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
        if !lost.is_empty() {
            lost.sort_unstable();
            on_event(&Event::Lost(lost));
        }
        Ok(())
    }

    /// How a trial ended, from what its function returned (`Err(why)`: it was dropped
    /// because the run stopped), recorded in the store.
    fn settle(
        &self,
        ctx: &TrialContext,
        outcome: Result<Result<(), String>, StopReason>,
    ) -> Result<(Status, Option<String>), StoreError> {
        use std::sync::atomic::Ordering;
        let id = ctx.trial;
        let stopped = ctx.stopped.load(Ordering::SeqCst);
        let steps = ctx.steps.load(Ordering::SeqCst);
        let gave_up = ctx.gave_up.lock().expect("trial state").take();
        let (status, error) = match outcome {
            Ok(Err(reason)) => (Status::Failed, Some(reason)),
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
                let text = match why {
                    StopReason::Interrupted => "interrupted",
                    _ => "the time budget ran out",
                };
                (Status::Stopped, Some(text.to_owned()))
            }
        };
        match self.store.finish(&self.study, id, status, error.as_deref()) {
            Ok(()) => Ok((status, error)),
            // Another worker took it for lost meanwhile: its result is not ours to record.
            Err(StoreError::NotRunning { .. }) => Ok((Status::Failed, Some(LOST.to_owned()))),
            Err(e) => Err(e),
        }
    }

    /// [`Tuner::run`] with up to `workers` trials at once. Each claim sees the running
    /// trials as pending, so the searcher spreads them out; when the run stops, every
    /// running trial is dropped and recorded as stopped.
    pub async fn run_parallel<F, Fut>(
        &self,
        workers: usize,
        limits: &Limits,
        run_trial: F,
        interrupt: impl Future<Output = ()>,
        mut on_event: impl FnMut(&Event),
    ) -> Result<StopReason, TunerError>
    where
        F: Fn(Arc<TrialContext>) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let deadline = limits.budget.map(|b| Instant::now() + b);
        let passed = || deadline.is_some_and(|d| Instant::now() >= d);
        tokio::pin!(interrupt);
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(sleep);
        let mut beat = tokio::time::interval(self.heartbeat);
        beat.tick().await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut running: Vec<Running<Fut>> = Vec::new();
        let mut ending: Option<StopReason> = None;
        let mut failures = 0;
        self.reap(&mut on_event)?;
        loop {
            let mut waiting = false;
            while ending.is_none() && running.len() < workers.max(1) && !passed() {
                let mine: Vec<u64> = running.iter().map(|r| r.ctx.trial).collect();
                match self.claim_next(limits, &mine)? {
                    Next::Trial(record) => {
                        on_event(&Event::Started(record.clone()));
                        let ctx = Arc::new(TrialContext {
                            store: Arc::clone(&self.store),
                            study: self.study.clone(),
                            scheduler: Arc::clone(&self.scheduler),
                            trial: record.trial.id,
                            config: record.trial.config,
                            events: tx.clone(),
                            steps: 0.into(),
                            stopped: false.into(),
                            gave_up: std::sync::Mutex::new(None),
                        });
                        let fut = Box::pin(run_trial(Arc::clone(&ctx)));
                        running.push(Running { ctx, fut });
                    }
                    // Claimed again shortly, or when a trial ends.
                    Next::Wait => {
                        waiting = true;
                        break;
                    }
                    Next::Stop(why) => ending = Some(why),
                }
            }
            if running.is_empty() {
                if let Some(why) = ending {
                    return Ok(why);
                }
                if passed() {
                    return Ok(StopReason::Budget);
                }
            }
            let wake = tokio::select! {
                (i, r) = first_done(&mut running) => Wake::Done(i, r),
                Some(report) = rx.recv() => Wake::Report(report),
                _ = beat.tick() => Wake::Beat,
                () = tokio::time::sleep(self.heartbeat.min(WAIT_POLL)), if waiting => Wake::Poll,
                () = &mut sleep => Wake::Stop(StopReason::Budget),
                () = &mut interrupt => Wake::Stop(StopReason::Interrupted),
            };
            match wake {
                Wake::Report((trial, step, value, decision)) => on_event(&Event::Report {
                    trial,
                    step,
                    value,
                    decision,
                }),
                Wake::Poll => {
                    self.reap(&mut on_event)?;
                }
                Wake::Beat => {
                    let mut i = 0;
                    while i < running.len() {
                        match self.store.heartbeat(&self.study, running[i].ctx.trial) {
                            Ok(()) => i += 1,
                            // Taken for lost by another worker: it is no longer ours.
                            Err(StoreError::NotRunning { .. }) => {
                                let done = running.swap_remove(i);
                                drop(done.fut);
                                Self::drain(&mut rx, &mut on_event);
                                on_event(&Event::Finished {
                                    trial: done.ctx.trial,
                                    status: Status::Failed,
                                    error: Some(LOST.to_owned()),
                                });
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                    self.reap(&mut on_event)?;
                }
                Wake::Done(i, result) => {
                    let done = running.swap_remove(i);
                    drop(done.fut);
                    Self::drain(&mut rx, &mut on_event);
                    let (status, error) = self.settle(&done.ctx, Ok(result))?;
                    let was_lost = error.as_deref() == Some(LOST);
                    on_event(&Event::Finished {
                        trial: done.ctx.trial,
                        status,
                        error,
                    });
                    failures = match status {
                        Status::Failed if was_lost => failures,
                        Status::Failed => failures + 1,
                        _ => 0,
                    };
                    if limits.max_failures_in_a_row.is_some_and(|m| failures >= m) {
                        ending = Some(StopReason::Failing);
                    }
                }
                Wake::Stop(why) => {
                    // Dropping a trial's future cancels it (and must clean up after it).
                    let stopped: Vec<Arc<TrialContext>> =
                        running.drain(..).map(|r| r.ctx).collect();
                    Self::drain(&mut rx, &mut on_event);
                    for ctx in stopped {
                        let (status, error) = self.settle(&ctx, Err(why))?;
                        on_event(&Event::Finished {
                            trial: ctx.trial,
                            status,
                            error,
                        });
                    }
                    return Ok(why);
                }
            }
        }
    }

    /// Passes on the reports already sent.
    fn drain(
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<ReportMsg>,
        on_event: &mut impl FnMut(&Event),
    ) {
        while let Ok((trial, step, value, decision)) = rx.try_recv() {
            on_event(&Event::Report {
                trial,
                step,
                value,
                decision,
            });
        }
    }
}

/// How often a tuner waiting on others' running trials looks again (at most).
const WAIT_POLL: Duration = Duration::from_millis(200);

/// Why a trial of ours ended without its result: another worker took it for lost.
const LOST: &str =
    "lost: another worker took it for lost (no heartbeat in time); its result is not recorded";

/// A trial under way.
struct Running<Fut> {
    ctx: Arc<TrialContext>,
    fut: std::pin::Pin<Box<Fut>>,
}

/// What woke the loop.
enum Wake {
    Done(usize, Result<(), String>),
    Report(ReportMsg),
    Beat,
    /// Time to look again whether others' trials have ended or been lost.
    Poll,
    Stop(StopReason),
}

/// The first running trial to finish: its index and result.
fn first_done<Fut: Future<Output = Result<(), String>>>(
    running: &mut [Running<Fut>],
) -> impl Future<Output = (usize, Result<(), String>)> + '_ {
    std::future::poll_fn(move |cx| {
        for (i, r) in running.iter_mut().enumerate() {
            if let std::task::Poll::Ready(out) = r.fut.as_mut().poll(cx) {
                return std::task::Poll::Ready((i, out));
            }
        }
        std::task::Poll::Pending
    })
}
