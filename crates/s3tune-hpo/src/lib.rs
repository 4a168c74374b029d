//! `s3tune-hpo`: black-box optimization for s3tune — and for anyone tuning a function from
//! Rust. It knows nothing about S3.
//!
//! The model follows Optuna and Syne Tune: a [`Space`] of named parameters; a [`History`]
//! of trials (pending, completed, failed, stopped); [`Searcher`]s that propose the next
//! [`Config`] as a function of the history and a random stream (ask/tell, no hidden
//! state, so several processes sharing one study make consistent choices); and
//! [`Scheduler`]s that decide after each intermediate report whether a trial goes on.
//!
//! The [`Store`] keeps studies and trials (SQLite embedded: [`SqliteStore`]; PostgreSQL
//! shared by workers on many machines: [`PostgresStore`]); the
//! [`Tuner`] claims trials from it, runs them through an async function, and records
//! what they report.

pub mod backend;
pub mod bayesopt;
pub mod history;
pub mod pareto;
pub mod scheduler;
pub mod searcher;
pub mod space;
pub mod spec;
pub mod store;
#[doc(hidden)]
pub mod testing;
pub mod tuner;
pub mod worker;

pub use backend::SubprocessBackend;
pub use bayesopt::BoSearcher;
pub use history::{Constraint, History, Metrics, Mode, Objective, Status, Trial};
pub use scheduler::{Asha, Decision, Fifo, Scheduler};
pub use searcher::{GridSearcher, RandomSearcher, SearchError, Searcher, Suggestion};
pub use space::{Config, Domain, Scale, Space, SpaceError, Value, config_hash};
pub use spec::{Budget, CutOff, SchedulerSpec, SearcherSpec, SpecError};
pub use store::{
    Claim, PostgresStore, SqliteStore, Store, StoreError, Study, StudySpec, TrialRecord,
};
pub use tuner::{Event, Limits, StopReason, TrialContext, Tuner, TunerError};
