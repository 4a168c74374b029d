//! `s3tune-emulator`: an embedded S3-compatible server with network emulation.
//!
//! s3tune tunes S3 transfers; tuning needs a peer that behaves like S3, in its API and in
//! its network, on any machine and without a cloud account. This crate is that peer:
//!
//! * [`s3`] speaks S3 (on the `s3s` crate): buckets, objects, ranges, conditional
//!   requests, multipart uploads and part copies, bulk deletes, the listings, SigV4 —
//!   what boto3, the AWS CLI, rclone and `aws-sdk-s3` use, with S3's error codes;
//! * [`store`] keeps buckets and objects in memory or in a data dir, plus
//!   [`synthetic`] objects whose bytes are computed from their key, so a 3 GiB test
//!   object costs nothing and a client can verify every byte without a second copy;
//! * [`network`] shapes each TCP connection and request after a [`NetworkProfile`]:
//!   first-byte latency, per-connection and shared-link bandwidth, request-rate
//!   throttling with `503 SlowDown`, injected errors and mid-body resets;
//! * [`Emulator`] runs it all, on the caller's runtime ([`Emulator::start`]) or on a
//!   runtime of its own ([`Emulator::start_dedicated`]), as `s3tune serve` does.
//!
//! ```no_run
//! # async fn demo() -> Result<(), s3tune_emulator::StartError> {
//! use s3tune_emulator::{Emulator, EmulatorConfig, NetworkProfile};
//! let config = EmulatorConfig {
//!     network: NetworkProfile::s3_like(),
//!     objects: vec!["data/big.bin=1GiB".parse()?],
//!     ..EmulatorConfig::default()
//! };
//! let server = Emulator::start(config).await?;
//! println!("S3 at {} (key {})", server.endpoint(), server.access_key());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod answer;
pub mod auth;
pub mod checksum;
pub mod config;
pub mod cpu;
pub mod dataset;
pub mod error;
mod expect;
pub mod network;
pub mod s3;
pub mod server;
pub mod store;
pub mod synthetic;
pub mod units;

pub use config::{
    DEFAULT_ACCESS_KEY, DEFAULT_REGION, DEFAULT_SECRET_KEY, EmulatorConfig, ObjectSpec,
};
pub use error::{ConfigError, StartError};
pub use network::profile::PROFILE_NAMES;
pub use network::{NetworkProfile, RequestClass, RequestCounts, Stats, StatsSnapshot};
pub use server::{DedicatedEmulator, Emulator, EmulatorHandle};
pub use units::{Rate, parse_size};
