//! How a trial runs: the [`Backend`] trait, and its implementations here.
//!
//! The [`Tuner`](crate::Tuner) runs every trial through a backend: given the trial's
//! [`TrialContext`] (its configuration; where it reports, which answers with the
//! scheduler's decision; how long its next run may take), the backend runs it and says
//! how it ended. A trial that returns `Ok` has reported its result; one that returns a
//! [`TrialError`] failed, with the reason recorded in the store. Each trial is an owned
//! task: the tuner may drop it at any await (a spent budget, Ctrl-C, a trial another
//! worker took for lost), and a backend must clean up after itself when it is dropped.
//!
//! [`SubprocessBackend`] runs an external program per trial and speaks Syne Tune's
//! entry-point protocol, so that training scripts written for Syne Tune (or any program
//! that prints the same lines) can be tuned unchanged. Any async function of the context
//! is a backend too (the in-process case).

mod subprocess;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

pub use subprocess::{
    GUARD, Group, REPORT_PREFIX, SubprocessBackend, startable, stderr_tail, with_tail,
};

use crate::store::StoreError;
use crate::tuner::TrialContext;

/// Why a trial failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrialError {
    /// The configuration (or the backend's own setup) cannot be run at all.
    #[error("{0}")]
    Config(String),
    /// The trial ran and failed: the reason, in one line.
    #[error("{0}")]
    Failed(String),
    /// It ran past the study's trial timeout and was ended.
    #[error("trial timeout after {}s (--trial-timeout)", .0.as_secs_f64())]
    TimedOut(Duration),
    /// Its reports could not be recorded.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<String> for TrialError {
    fn from(reason: String) -> Self {
        Self::Failed(reason)
    }
}

impl From<&str> for TrialError {
    fn from(reason: &str) -> Self {
        Self::Failed(reason.to_owned())
    }
}

/// Runs trials.
pub trait Backend: Send + Sync {
    /// Runs the trial `ctx` describes to its end, reporting through `ctx`.
    fn run(self: Arc<Self>, ctx: Arc<TrialContext>) -> BoxFuture<'static, Result<(), TrialError>>;
}

/// An async function of the trial's context is a backend (the in-process one).
impl<F, Fut> Backend for F
where
    F: Fn(Arc<TrialContext>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), TrialError>> + Send + 'static,
{
    fn run(self: Arc<Self>, ctx: Arc<TrialContext>) -> BoxFuture<'static, Result<(), TrialError>> {
        Box::pin((*self)(ctx))
    }
}
