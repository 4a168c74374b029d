//! `s3tune-hpo`: black-box optimization (search spaces, searchers, schedulers, study
//! storage) for s3tune. It knows nothing about S3.
//!
//! This crate is empty so far: the workspace has its final shape from the start, and the
//! optimization library lands with its own issue. Nothing here is usable yet.
