//! Trial backends other than an in-process async function.
//!
//! The [`Tuner`](crate::Tuner) runs a trial as any async function of its
//! [`TrialContext`](crate::TrialContext). [`SubprocessBackend`] is such a function that
//! runs an external program per trial and speaks Syne Tune's entry-point protocol, so that
//! training scripts written for Syne Tune (or any program that prints the same lines) can
//! be tuned unchanged.

mod subprocess;

pub use subprocess::{GUARD, REPORT_PREFIX, SubprocessBackend};
