//! `s3tune-transfer`: the S3 transfer engine, configured by boto3's `TransferConfig`
//! knobs.
//!
//! This crate is empty so far: the workspace has its final shape from the start, and the
//! engine lands with its own issue. Nothing here is usable yet.
