//! `s3tune-transfer`: an S3 transfer engine whose configuration is boto3's
//! [`TransferConfig`] — the same eight knobs, names, defaults and meaning — so that what
//! s3tune tunes means something to every boto3 user, on the official `aws-sdk-s3` and
//! tokio.
//!
//! A [`Transfer`] pairs an `aws_sdk_s3::Client` (credentials, region, endpoint and the
//! SDK's retry policy for 503/5xx are the client's business) with a [`TransferConfig`],
//! and runs downloads ([`Transfer::download`], [`Transfer::download_to`]) and uploads
//! ([`Transfer::upload`]). Each returns [`TransferStats`]; a shared [`Progress`] can be
//! polled meanwhile for a progress bar. Failures are [`TransferError`]s whose messages
//! say what to do; a failed download leaves no file behind (see [`sweep`] for what a
//! killed process leaves). Every request has a connect and a read timeout
//! ([`TransferConfig::connect_timeout`], [`TransferConfig::read_timeout`]).

mod bandwidth;
pub mod config;
mod dest;
mod download;
pub mod error;
pub mod knobs;
mod recursive;
mod shared;
pub mod stats;
mod timeout;
mod upload;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use config::{ConfigError, FileError, TransferConfig, parse_duration, parse_rate, parse_size};
pub use dest::{Copy, sweep};
pub use download::Discovery;
pub use error::{Cause, TransferError};
pub use knobs::{Direction, KNOBS, Knob, KnobKind, KnobValue};
pub use recursive::keys::as_directory;
pub use recursive::{Entry, Failed, RecursiveStats};
pub use stats::{Progress, RequestCounts, TransferStats};

/// Counts the client's HTTP attempts into [`Progress`].
#[derive(Debug)]
struct AttemptCounter(Arc<Progress>);

impl aws_sdk_s3::config::Intercept for AttemptCounter {
    fn name(&self) -> &'static str {
        "s3tune-attempt-counter"
    }

    fn read_before_attempt(
        &self,
        _context: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        self.0.attempt();
        Ok(())
    }
}

/// What a HEAD request says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size in bytes.
    pub size: u64,
    /// ETag, with its quotes, as S3 sends it.
    pub etag: String,
    /// User metadata (`x-amz-meta-*`, without the prefix).
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// A client and a configuration, ready to transfer. Transfers run at once on one
/// `Transfer` share its `max_concurrency` requests in flight and its `max_bandwidth`, as
/// boto3's transfer manager shares them (see [`Transfer::download_prefix`]).
#[derive(Debug, Clone)]
pub struct Transfer {
    client: aws_sdk_s3::Client,
    config: TransferConfig,
    discovery: Discovery,
    shared: Arc<shared::Shared>,
}

impl Transfer {
    /// Transfers with `client` configured by `config`. The client's HTTP connections
    /// and timeouts become the transfer's own: the SDK's default HTTPS client, watched
    /// for `config`'s connect and read timeouts (see the `timeout` module).
    #[must_use]
    pub fn new(client: aws_sdk_s3::Client, config: TransferConfig) -> Self {
        use aws_sdk_s3::config::StalledStreamProtectionConfig;
        use aws_sdk_s3::config::timeout::TimeoutConfig;
        // Count every HTTP attempt, so the SDK's own retries show in the stats.
        let progress = Arc::new(Progress::default());
        let client = aws_sdk_s3::Client::from_conf(
            client
                .config()
                .to_builder()
                .interceptor(AttemptCounter(Arc::clone(&progress)))
                .http_client(timeout::http_client(config.read_timeout))
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(config.connect_timeout)
                        .build(),
                )
                // A backstop for the small bodies the SDK reads itself; never sooner
                // than the read timeout that governs the rest.
                .stalled_stream_protection(
                    StalledStreamProtectionConfig::enabled()
                        .grace_period(config.read_timeout.max(std::time::Duration::from_secs(20)))
                        .build(),
                )
                .build(),
        );
        Self {
            client,
            shared: Arc::new(shared::Shared::new(&config, progress)),
            config,
            discovery: Discovery::default(),
        }
    }

    /// Chooses how downloads learn the object's size (default: [`Discovery::FirstGet`]).
    #[must_use]
    pub fn with_discovery(mut self, discovery: Discovery) -> Self {
        self.discovery = discovery;
        self
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &TransferConfig {
        &self.config
    }

    /// Counters of the transfer under way (for progress bars).
    #[must_use]
    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.shared.progress)
    }

    /// The size and ETag of `s3://bucket/key` (a HEAD request), with the same errors
    /// as a download: what a caller checks before it starts timing downloads.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<ObjectInfo, TransferError> {
        let (job, metadata) = download::discover(
            &self.client,
            bucket,
            key,
            &self.config,
            Arc::new(stats::Counters::new(&self.shared.progress)),
            &self.shared,
        )
        .await?;
        Ok(ObjectInfo {
            size: job.size,
            etag: job.etag,
            metadata,
        })
    }

    /// Downloads `s3://bucket/key` to `dest`: a file path, or a directory that receives
    /// the key's last component. A regular file is written under a partial name and
    /// renamed when complete; a device or FIFO is written in order as a stream; a
    /// symbolic link is written through. Returns what was written and the figures.
    pub async fn download(
        &self,
        bucket: &str,
        key: &str,
        dest: &Path,
    ) -> Result<(PathBuf, TransferStats), TransferError> {
        download::to_path(
            &self.client,
            bucket,
            key,
            dest,
            &self.config,
            self.discovery,
            Arc::clone(&self.shared),
        )
        .await
    }

    /// Downloads `s3://bucket/key` into `out` with the bytes in order (e.g. stdout, which
    /// errors call `-`).
    pub async fn download_to(
        &self,
        bucket: &str,
        key: &str,
        out: &mut (impl tokio::io::AsyncWrite + Unpin),
    ) -> Result<TransferStats, TransferError> {
        download::to_writer(
            &self.client,
            bucket,
            key,
            out,
            Path::new("-"),
            &self.config,
            Arc::clone(&self.shared),
        )
        .await
    }

    /// Downloads `s3://bucket/key` into a locked partial file in `dir` that is never
    /// given a name of its own: a copy to read back and throw away (dropping the
    /// [`Copy`] removes it). Timed like [`Transfer::download`], less the rename.
    pub async fn download_copy(
        &self,
        bucket: &str,
        key: &str,
        dir: &Path,
    ) -> Result<(Copy, TransferStats), TransferError> {
        download::to_copy(
            &self.client,
            bucket,
            key,
            dir,
            &self.config,
            self.discovery,
            Arc::clone(&self.shared),
        )
        .await
    }

    /// Uploads the file `src` to `s3://bucket/key`.
    pub async fn upload(
        &self,
        src: &Path,
        bucket: &str,
        key: &str,
    ) -> Result<TransferStats, TransferError> {
        self.upload_until(src, bucket, key, std::future::pending())
            .await
    }

    /// [`Transfer::upload`], stopped when `stop` completes (e.g. on Ctrl-C): a multipart
    /// upload under way is aborted first, and the result is [`TransferError::Cancelled`].
    pub async fn upload_until(
        &self,
        src: &Path,
        bucket: &str,
        key: &str,
        stop: impl Future<Output = ()>,
    ) -> Result<TransferStats, TransferError> {
        upload::from_path(
            &self.client,
            src,
            bucket,
            key,
            &self.config,
            Arc::clone(&self.shared),
            stop,
        )
        .await
    }

    /// [`Transfer::download`], stopped when `stop` completes (e.g. on Ctrl-C): the
    /// temporary file is removed and the result is [`TransferError::Cancelled`].
    pub async fn download_until(
        &self,
        bucket: &str,
        key: &str,
        dest: &Path,
        stop: impl Future<Output = ()>,
    ) -> Result<(PathBuf, TransferStats), TransferError> {
        tokio::select! {
            // Dropping the download drops its temporary file, which removes it.
            r = self.download(bucket, key, dest) => r,
            () = stop => Err(TransferError::Cancelled),
        }
    }

    /// Downloads every object under `prefix` of `bucket` into `dir` (`aws s3 cp
    /// --recursive`), stopped when `stop` completes. Objects that fail are in the
    /// result's `failed`; an `Err` means nothing could start (no such bucket, say) or the
    /// transfer was cancelled, leaving no partial file.
    pub async fn download_prefix(
        &self,
        bucket: &str,
        prefix: &str,
        dir: &Path,
        stop: impl Future<Output = ()>,
    ) -> Result<RecursiveStats, TransferError> {
        recursive::download_prefix(self, bucket, prefix, dir, stop).await
    }

    /// Downloads the objects `keys` (as a listing gave them) of `bucket`
    /// into `dir`, each where [`Transfer::download_prefix`] of `prefix` would put it: a
    /// chosen part of a prefix, with no listing. Failures as there.
    pub async fn download_keys(
        &self,
        bucket: &str,
        prefix: &str,
        keys: Vec<Entry>,
        dir: &Path,
        stop: impl Future<Output = ()>,
    ) -> Result<RecursiveStats, TransferError> {
        recursive::download_keys(self, bucket, prefix, keys, dir, stop).await
    }

    /// Uploads every file under `dir` to `bucket` under `prefix`, stopped when `stop`
    /// completes (multipart uploads under way are aborted). Failures as in
    /// [`Transfer::download_prefix`].
    pub async fn upload_dir(
        &self,
        dir: &Path,
        bucket: &str,
        prefix: &str,
        stop: impl Future<Output = ()>,
    ) -> Result<RecursiveStats, TransferError> {
        recursive::upload_dir(self, dir, bucket, prefix, stop).await
    }
}
