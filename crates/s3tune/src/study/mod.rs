//! A study as the binary runs it: what it tunes ([`kind`]), where its bytes go
//! ([`target`]), opening it from its store ([`session`]), and the run loop that `tune` and
//! `worker` share ([`run`]). Commands parse flags and render results; everything between
//! is here, written once.

pub mod dataset;
pub mod kind;
pub mod rules;
pub mod run;
pub mod session;
pub mod target;

pub use kind::{
    Client, CommandSettings, DatasetSettings, EmulatedNetwork, Rule, StudyKind, TransferSettings,
    WarmStart, Workload,
};
pub use session::Session;
