//! Downloads with boto3's semantics and better mechanics.
//!
//! 1. **Discovery**: a HEAD request gives the size and ETag (boto3's way).
//! 2. Below `multipart_threshold`, one GET; otherwise ranged GETs of the part size
//!    (`multipart_chunksize`, doubled past 10,000 parts), each with `If-Match` on the
//!    ETag so an object replaced mid-download fails with 412 instead of mixing versions.
//! 3. `max_concurrency` workers (1 without `use_threads`) take parts in order; each reads
//!    its body in `io_chunksize` pieces (see [`part`]) paced by `max_bandwidth`.
//! 4. Pieces go through a queue of `max_io_queue` slots to one writer that puts each at
//!    its offset in a temporary file ([`writer`]), renamed when all is written. Memory
//!    is bounded: `max_concurrency × io_chunksize` being read plus `max_io_queue ×
//!    io_chunksize` queued.
//!
//! To standard output the bytes must go in order, so parts are fetched into memory with
//! at most `max_concurrency` in flight and written in sequence (memory up to
//! `max_concurrency × part size`).

pub(crate) mod part;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::Client;
use bytes::Bytes;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;

use crate::bandwidth::Limiter;
use crate::config::TransferConfig;
use crate::dest::{TempFile, resolve};
use crate::error::TransferError;
use crate::stats::{Counters, Progress, TransferStats};

/// Everything the tasks of one download share.
pub(crate) struct Job {
    pub client: Client,
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub size: u64,
    pub config: TransferConfig,
    pub counters: Arc<Counters>,
    pub limiter: Option<Limiter>,
}

impl Job {
    /// The part plan: (ranged?, part size, number of parts).
    fn plan(&self) -> (bool, u64, u64) {
        if self.size < self.config.multipart_threshold {
            (false, self.size, 1)
        } else {
            let part = self.config.part_size_for(self.size);
            (true, part, self.size.div_ceil(part))
        }
    }

    fn part_range(&self, part_size: u64, i: u64) -> (u64, u64) {
        (i * part_size, ((i + 1) * part_size).min(self.size))
    }
}

/// HEAD: the object's size and ETag.
async fn discover(
    client: &Client,
    bucket: &str,
    key: &str,
    config: &TransferConfig,
    counters: Arc<Counters>,
) -> Result<Job, TransferError> {
    counters.request();
    let head = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| TransferError::from_sdk("HeadObject", bucket, key, e));
    // A 404 to HEAD has no body to say whether the bucket or the key is missing.
    let head = match head {
        Err(TransferError::NoSuchKey { .. })
            if client.head_bucket().bucket(bucket).send().await.is_err() =>
        {
            return Err(TransferError::NoSuchBucket {
                bucket: bucket.to_owned(),
            });
        }
        other => other?,
    };
    let size = head
        .content_length()
        .and_then(|l| u64::try_from(l).ok())
        .ok_or_else(|| TransferError::BadResponse("HEAD without a Content-Length".into()))?;
    let etag = head
        .e_tag()
        .ok_or_else(|| TransferError::BadResponse("HEAD without an ETag".into()))?
        .to_owned();
    Ok(Job {
        client: client.clone(),
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        etag,
        size,
        config: config.clone(),
        counters,
        limiter: config.max_bandwidth.map(Limiter::new),
    })
}

/// Downloads `bucket/key` to the file or directory `dest`.
pub(crate) async fn to_path(
    client: &Client,
    bucket: &str,
    key: &str,
    dest: &Path,
    config: &TransferConfig,
    progress: Arc<Progress>,
) -> Result<(PathBuf, TransferStats), TransferError> {
    config.validate()?;
    let target = resolve(dest, key)?;
    let counters = Arc::new(Counters::new());
    let job = Arc::new(discover(client, bucket, key, config, Arc::clone(&counters)).await?);
    progress.set_total(job.size);
    let (temp, file) = TempFile::create(&target, job.size)?;
    let (ranged, part_size, parts) = job.plan();
    tracing::info!(bucket, key, size = job.size, parts, part_size, dest = %target.display(), "download starting");
    if job.size > 0 {
        let (queue, writer) = writer::start(
            file,
            target.clone(),
            config.max_io_queue,
            Arc::clone(&counters),
            Arc::clone(&progress),
        );
        let next = Arc::new(AtomicU64::new(0));
        let mut workers = JoinSet::new();
        for _ in 0..(config.concurrency() as u64).min(parts) {
            let (job, next, mut queue) = (Arc::clone(&job), Arc::clone(&next), queue.clone());
            workers.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= parts {
                        return Ok(());
                    }
                    let (start, end) = job.part_range(part_size, i);
                    part::fetch(&job, start, end, ranged, &mut queue).await?;
                }
            });
        }
        drop(queue);
        let mut failure = None;
        while let Some(done) = workers.join_next().await {
            let result = done.unwrap_or_else(|e| {
                Err(TransferError::BadResponse(format!(
                    "a download task failed: {e}"
                )))
            });
            if let Err(e) = result {
                // The first error decides; stop the rest (their pieces are dropped).
                failure.get_or_insert(e);
                workers.abort_all();
            }
        }
        let written = writer.await.unwrap_or_else(|e| {
            Err(TransferError::BadResponse(format!(
                "the writer failed: {e}"
            )))
        });
        // A write error (disk full, say) explains the workers' "writer stopped".
        written?;
        if let Some(e) = failure {
            return Err(e);
        }
    }
    temp.commit()?;
    let stats = counters.finish(job.size, if ranged { part_size } else { 0 }, parts);
    tracing::info!(
        bucket,
        key,
        seconds = stats.seconds,
        mb_per_sec = stats.bytes_per_sec / 1e6,
        retries = stats.retries,
        "download done"
    );
    Ok((target, stats))
}

/// Downloads `bucket/key` to `out` (standard output), bytes in order.
pub(crate) async fn to_writer(
    client: &Client,
    bucket: &str,
    key: &str,
    out: &mut (impl tokio::io::AsyncWrite + Unpin),
    config: &TransferConfig,
    progress: Arc<Progress>,
) -> Result<TransferStats, TransferError> {
    config.validate()?;
    let counters = Arc::new(Counters::new());
    let job = Arc::new(discover(client, bucket, key, config, Arc::clone(&counters)).await?);
    progress.set_total(job.size);
    let (ranged, part_size, parts) = job.plan();
    let stdout_err = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::BrokenPipe => TransferError::OutputClosed,
        _ => TransferError::Destination {
            path: "-".into(),
            reason: e.to_string(),
        },
    };
    let fetches = futures::stream::iter(0..if job.size == 0 { 0 } else { parts }).map(|i| {
        let job = Arc::clone(&job);
        async move {
            let (start, end) = job.part_range(part_size, i);
            let mut pieces: Vec<Bytes> = Vec::new();
            part::fetch(&job, start, end, ranged, &mut pieces)
                .await
                .map(|()| pieces)
        }
    });
    let mut in_order = fetches.buffered(config.concurrency());
    while let Some(pieces) = in_order.next().await {
        for piece in pieces? {
            out.write_all(&piece).await.map_err(stdout_err)?;
            counters.release(piece.len() as u64);
            progress.add(piece.len() as u64);
        }
    }
    out.flush().await.map_err(stdout_err)?;
    Ok(counters.finish(job.size, if ranged { part_size } else { 0 }, parts))
}
