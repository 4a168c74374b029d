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
//! A trial runs through a [`Backend`] as a task of its own and reports through its
//! [`TrialContext`]; it is dropped — which must cancel it cleanly — when the budget runs
//! out or the run is interrupted, and is then recorded as stopped. The store work (claims
//! with the searcher inside them, heartbeats, reports) runs on the blocking pool, never
//! on the threads that drive the trials.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::{JoinError, JoinHandle};

mod limits;
mod steps;
mod trial;

pub use limits::{Event, Limits, StopReason};
use steps::{Next, Shared, blocking};
use trial::ReportMsg;
pub use trial::TrialContext;

use crate::backend::{Backend, TrialError};
use crate::history::Status;
use crate::scheduler::Scheduler;
use crate::searcher::Searcher;
use crate::spec::Budget;
use crate::store::{Store, StoreError, Study};

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

/// A failed run of the loop.
#[derive(Debug, thiserror::Error)]
pub enum TunerError {
    /// The store failed; the study is as the last successful transaction left it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Tuner {
    /// The tuner of `study` as it is stored: its searcher and scheduler built from its
    /// specs, its heartbeats from `budget` (see [`Store::budget`]) — what every process
    /// that opens the study builds alike.
    pub fn of_study(
        store: Arc<dyn Store>,
        study: Study,
        worker: impl Into<String>,
        budget: &Budget,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            searcher: study.spec.build_searcher(),
            scheduler: study.spec.build_scheduler()?,
            store,
            study,
            worker: worker.into(),
            heartbeat: budget.heartbeat_every(),
            heartbeat_timeout: Some(budget.heartbeat_timeout()),
        })
    }

    /// Runs trials one at a time until a limit is reached or `interrupt` completes.
    pub async fn run<B: Backend + 'static>(
        &self,
        limits: &Limits,
        backend: B,
        interrupt: impl Future<Output = ()>,
        on_event: impl FnMut(&Event),
    ) -> Result<StopReason, TunerError> {
        self.run_parallel(1, limits, backend, interrupt, on_event)
            .await
    }

    fn shared(&self) -> Arc<Shared> {
        Arc::new(Shared {
            store: Arc::clone(&self.store),
            study: Arc::new(self.study.clone()),
            searcher: Arc::clone(&self.searcher),
            scheduler: Arc::clone(&self.scheduler),
            worker: self.worker.clone(),
            heartbeat_timeout: self.heartbeat_timeout,
        })
    }

    /// [`Tuner::run`] with up to `workers` trials at once. Each claim sees the running
    /// trials as pending, so the searcher spreads them out; when the run stops, every
    /// running trial is dropped and recorded as stopped.
    pub async fn run_parallel<B: Backend + 'static>(
        &self,
        workers: usize,
        limits: &Limits,
        backend: B,
        interrupt: impl Future<Output = ()>,
        mut on_event: impl FnMut(&Event),
    ) -> Result<StopReason, TunerError> {
        let backend = Arc::new(backend);
        let shared = self.shared();
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
        let mut running: Vec<Running> = Vec::new();
        let mut ending: Option<StopReason> = None;
        let mut failures = 0;
        Self::reaped(&shared, &mut on_event).await?;
        loop {
            let mut waiting = false;
            while ending.is_none() && running.len() < workers.max(1) && !passed() {
                let mine: Vec<u64> = running.iter().map(|r| r.ctx.trial).collect();
                let limits = limits.clone();
                match blocking(&shared, move |s| s.claim_next(&limits, &mine)).await? {
                    Next::Trial(record, limit) => {
                        on_event(&Event::Started((*record).clone()));
                        let ctx = Arc::new(TrialContext {
                            store: Arc::clone(&shared.store),
                            study: Arc::clone(&shared.study),
                            scheduler: Arc::clone(&shared.scheduler),
                            trial: record.trial.id,
                            config: record.trial.config,
                            events: tx.clone(),
                            steps: 0.into(),
                            stopped: false.into(),
                            gave_up: std::sync::Mutex::new(None),
                            last: std::sync::Mutex::new(None),
                            run_limit: std::sync::Mutex::new(limit),
                        });
                        let task = tokio::spawn(Arc::clone(&backend).run(Arc::clone(&ctx)));
                        running.push(Running { ctx, task });
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
                Wake::Report(report) => on_event(&report_event(report)),
                Wake::Poll => Self::reaped(&shared, &mut on_event).await?,
                Wake::Beat => {
                    let mine: Vec<u64> = running.iter().map(|r| r.ctx.trial).collect();
                    let gone = blocking(&shared, move |s| s.beat(&mine)).await?;
                    for trial in gone {
                        // Taken for lost by another worker: it is no longer ours.
                        let i = running.iter().position(|r| r.ctx.trial == trial);
                        let done = running.swap_remove(i.expect("a running trial"));
                        done.cancel().await;
                        Self::drain(&mut rx, &mut on_event);
                        on_event(&Event::Finished {
                            trial,
                            status: Status::Failed,
                            error: Some(LOST.to_owned()),
                        });
                    }
                    Self::reaped(&shared, &mut on_event).await?;
                }
                Wake::Done(i, result) => {
                    let done = running.swap_remove(i);
                    Self::drain(&mut rx, &mut on_event);
                    let result = result.unwrap_or_else(|e| Err(panicked(e)));
                    let ctx = Arc::clone(&done.ctx);
                    let (status, error) =
                        blocking(&shared, move |s| s.settle(&ctx, Ok(result))).await?;
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
                    // Dropping a trial's task cancels it (and must clean up after it);
                    // each is gone before it is recorded.
                    let mut stopped = Vec::new();
                    for r in running.drain(..) {
                        let ctx = Arc::clone(&r.ctx);
                        // One that finished meanwhile keeps its result.
                        stopped.push((ctx, r.cancel().await.ok_or(why)));
                    }
                    Self::drain(&mut rx, &mut on_event);
                    for (ctx, outcome) in stopped {
                        let trial = ctx.trial;
                        let (status, error) =
                            blocking(&shared, move |s| s.settle(&ctx, outcome)).await?;
                        on_event(&Event::Finished {
                            trial,
                            status,
                            error,
                        });
                    }
                    return Ok(why);
                }
            }
        }
    }

    /// Marks lost the trials of workers that are gone, and says which.
    async fn reaped(
        shared: &Arc<Shared>,
        on_event: &mut impl FnMut(&Event),
    ) -> Result<(), StoreError> {
        if let Some(event) = blocking(shared, Shared::reap).await? {
            on_event(&event);
        }
        Ok(())
    }

    /// Passes on the reports already sent.
    fn drain(
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<ReportMsg>,
        on_event: &mut impl FnMut(&Event),
    ) {
        while let Ok(report) = rx.try_recv() {
            on_event(&report_event(report));
        }
    }
}

fn report_event((trial, step, value, decision): ReportMsg) -> Event {
    Event::Report {
        trial,
        step,
        value,
        decision,
    }
}

/// A trial task that panicked fails its trial (the run goes on).
fn panicked(e: JoinError) -> TrialError {
    let what = match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default(),
        Err(e) => e.to_string(),
    };
    TrialError::Failed(format!("the trial panicked: {what}"))
}

/// The random stream of the suggestion after `n` trials of a study seeded `seed`: a
/// function of both alone, so a resumed run suggests what an uninterrupted one would
/// have, and any process can tell what the next suggestion is.
#[must_use]
pub fn suggestion_rng(seed: u64, n: usize) -> rand::rngs::StdRng {
    use rand::SeedableRng;
    rand::rngs::StdRng::seed_from_u64(
        seed.wrapping_add((n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
    )
}

/// How often a tuner waiting on others' running trials looks again (at most).
const WAIT_POLL: Duration = Duration::from_millis(200);

/// Why a trial of ours ended without its result: another worker took it for lost.
const LOST: &str =
    "lost: another worker took it for lost (no heartbeat in time); its result is not recorded";

/// A trial under way.
struct Running {
    ctx: Arc<TrialContext>,
    task: JoinHandle<Result<(), TrialError>>,
}

impl Running {
    /// Cancels the trial's task and waits until it is gone (its drop has run); the
    /// trial's own result when it had already finished.
    async fn cancel(mut self) -> Option<Result<(), TrialError>> {
        if self.task.is_finished() {
            return Some((&mut self.task).await.unwrap_or_else(|e| Err(panicked(e))));
        }
        self.task.abort();
        let _ = (&mut self.task).await;
        None
    }
}

/// A loop that is dropped (its caller gave up on it) takes its trials with it.
impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Outcome = Result<Result<(), TrialError>, JoinError>;

/// What woke the loop.
enum Wake {
    Done(usize, Outcome),
    Report(ReportMsg),
    Beat,
    /// Time to look again whether others' trials have ended or been lost.
    Poll,
    Stop(StopReason),
}

/// The first running trial to finish: its index and result.
fn first_done(running: &mut [Running]) -> impl Future<Output = (usize, Outcome)> + '_ {
    std::future::poll_fn(move |cx| {
        for (i, r) in running.iter_mut().enumerate() {
            if let std::task::Poll::Ready(out) = std::pin::Pin::new(&mut r.task).poll(cx) {
                return std::task::Poll::Ready((i, out));
            }
        }
        std::task::Poll::Pending
    })
}
