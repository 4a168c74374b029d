//! Downloads with boto3's semantics and better mechanics.
//!
//! 1. **Discovery**: the first ranged GET gives the size and ETag, and its body is the
//!    first part ([`Discovery::FirstGet`]); or a HEAD request does, boto3's way.
//! 2. Below `multipart_threshold`, one GET; otherwise ranged GETs of the part size
//!    (`multipart_chunksize`, doubled past 10,000 parts), each with `If-Match` on the
//!    ETag so an object replaced mid-download fails with 412 instead of mixing versions.
//! 3. `max_concurrency` workers (1 without `use_threads`) take parts in order; each reads
//!    its body in `io_chunksize` pieces (see [`part`]) paced by `max_bandwidth`.
//! 4. Pieces go through a queue of `max_io_queue` slots to one writer that puts each at
//!    its offset in a locked partial file ([`writer`], `crate::dest`), renamed when all
//!    is written. Memory is bounded: `max_concurrency × io_chunksize` being read plus
//!    `max_io_queue × io_chunksize` queued.
//!
//! To standard output, a device or a FIFO the bytes must go in order, so parts are
//! fetched into memory with at most `max_concurrency` in flight and written in sequence
//! (memory up to `max_concurrency × part size`).

mod discovery;
pub(crate) mod part;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_s3::Client;
use bytes::Bytes;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;

use crate::config::TransferConfig;
use crate::dest::{Copy, Destination, PartFile, resolve};
use crate::error::TransferError;
use crate::shared::Shared;
use crate::stats::{Counters, TransferStats};

pub use discovery::Discovery;
use discovery::discover_by_get;
pub(crate) use discovery::{Job, discover};

/// A download written into a locked partial file, not yet renamed.
pub(crate) struct Written {
    pub part: PartFile,
    pub file: std::fs::File,
    counters: Arc<Counters>,
    size: u64,
    part_size: u64,
    parts: u64,
}

impl Written {
    pub fn stats(&self) -> TransferStats {
        self.counters.finish(self.size, self.part_size, self.parts)
    }
}

/// Downloads `bucket/key` to the file or directory `dest`: into a partial file renamed
/// into place, or — for a device or FIFO — in order, as a stream.
pub(crate) async fn to_path(
    client: &Client,
    bucket: &str,
    key: &str,
    dest: &Path,
    config: &TransferConfig,
    discovery: Discovery,
    shared: Arc<Shared>,
) -> Result<(PathBuf, TransferStats), TransferError> {
    config.validate()?;
    match resolve(dest, key)? {
        Destination::File(target) => {
            let w = to_part(
                client, bucket, key, &target, config, discovery, shared, None,
            )
            .await?;
            // The lock belongs to the open file, and goes with it through the rename.
            w.part.commit(&target)?;
            drop(w.file);
            let stats = w.counters.finish(w.size, w.part_size, w.parts);
            Ok((target, stats))
        }
        Destination::Stream(path) => {
            let opened = path.clone();
            // A FIFO's open waits for its reader: off the async threads. Appending, so a
            // file the shell opened with `>>` (as `/dev/stdout`, say) keeps what it had.
            let file = tokio::task::spawn_blocking(move || {
                std::fs::OpenOptions::new().append(true).open(&opened)
            })
            .await
            .map_err(|e| TransferError::BadResponse(format!("opening the output: {e}")))?
            .map_err(|e| TransferError::Destination {
                path: path.clone(),
                reason: crate::error::io_reason(&e),
            })?;
            let mut out = tokio::fs::File::from_std(file);
            let stats = to_writer(client, bucket, key, &mut out, &path, config, shared).await?;
            Ok((path, stats))
        }
    }
}

/// Downloads `bucket/key` into a locked partial file in `dir` that is never renamed: a
/// copy to read back and throw away.
pub(crate) async fn to_copy(
    client: &Client,
    bucket: &str,
    key: &str,
    dir: &Path,
    config: &TransferConfig,
    discovery: Discovery,
    shared: Arc<Shared>,
) -> Result<(Copy, TransferStats), TransferError> {
    config.validate()?;
    let name = key.rsplit('/').find(|n| !n.is_empty()).unwrap_or("object");
    let written = to_part(
        client,
        bucket,
        key,
        &dir.join(name),
        config,
        discovery,
        shared,
        None,
    )
    .await?;
    let stats = written.stats();
    Ok((Copy::new(written.part, written.file), stats))
}

/// Discovery, then every part written into a partial file beside `target`. `listed`:
/// the size and ETag a listing gave, which make discovery needless (the parts are
/// pinned to that ETag, so a changed object fails with [`TransferError::Changed`]).
#[allow(
    clippy::too_many_arguments,
    reason = "where, what, how, and what is known"
)]
pub(crate) async fn to_part(
    client: &Client,
    bucket: &str,
    key: &str,
    target: &Path,
    config: &TransferConfig,
    discovery: Discovery,
    shared: Arc<Shared>,
    listed: Option<(u64, String)>,
) -> Result<Written, TransferError> {
    let progress = Arc::clone(&shared.progress);
    let counters = Arc::new(Counters::new(&progress));
    // With a threshold above the part size, an object between the two must come in one
    // GET (boto3's rule), which a first range of one part cannot promise: ask with HEAD.
    let discovery = if config.multipart_threshold > config.multipart_chunksize {
        Discovery::Head
    } else {
        discovery
    };
    let (job, first) = match (listed, discovery) {
        (Some((size, etag)), _) => {
            let counters = Arc::clone(&counters);
            let job =
                discovery::Job::new(client, bucket, key, etag, size, config, counters, &shared);
            (job, None)
        }
        (None, Discovery::Head) => (
            discover(client, bucket, key, config, Arc::clone(&counters), &shared)
                .await?
                .0,
            None,
        ),
        (None, Discovery::FirstGet) => {
            discover_by_get(client, bucket, key, config, Arc::clone(&counters), &shared).await?
        }
    };
    let job = Arc::new(job);
    progress.set_total(job.size);
    let (part, file) = PartFile::create(target, job.size)?;
    let (part_size, ranges) = job.ranges(first.as_ref().map(|f| f.0));
    // Everything is ranged once discovery asked for a range.
    let ranged = part_size > 0 || first.is_some();
    tracing::info!(bucket, key, size = job.size, parts = ranges.len(), part_size, dest = %target.display(), "download starting");
    let parts = ranges.len() as u64;
    if ranges.is_empty() {
        return Ok(Written {
            part,
            file,
            counters,
            size: 0,
            part_size: 0,
            parts: 0,
        });
    }
    let (queue, writer) = writer::start(
        file,
        target.to_owned(),
        config.max_io_queue,
        Arc::clone(&counters),
        Arc::clone(&progress),
    );
    let ranges = Arc::new(ranges);
    let next = Arc::new(AtomicUsize::new(usize::from(first.is_some())));
    let mut first_body = first.map(|f| (f.1, f.2));
    let mut workers = JoinSet::new();
    for _ in 0..config.concurrency().min(ranges.len()) {
        let (job, next, ranges, mut queue) = (
            Arc::clone(&job),
            Arc::clone(&next),
            Arc::clone(&ranges),
            queue.clone(),
        );
        let body = first_body.take();
        workers.spawn(async move {
            // One worker starts with the body discovery already has in hand.
            if let Some(body) = body {
                let (start, end) = ranges[0];
                part::fetch_with(&job, start, end, true, Some(body), &mut queue).await?;
            }
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(start, end)) = ranges.get(i) else {
                    return Ok(());
                };
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
    let file = written?;
    if let Some(e) = failure {
        return Err(e);
    }
    let w = Written {
        part,
        file,
        counters,
        size: job.size,
        part_size,
        parts,
    };
    tracing::info!(
        bucket,
        key,
        seconds = w.stats().seconds,
        retries = w.stats().retries,
        "download done"
    );
    Ok(w)
}

/// Downloads `bucket/key` to `out` (standard output, a device, a FIFO), bytes in order;
/// `label` names it in errors.
pub(crate) async fn to_writer(
    client: &Client,
    bucket: &str,
    key: &str,
    out: &mut (impl tokio::io::AsyncWrite + Unpin),
    label: &Path,
    config: &TransferConfig,
    shared: Arc<Shared>,
) -> Result<TransferStats, TransferError> {
    config.validate()?;
    let progress = Arc::clone(&shared.progress);
    let counters = Arc::new(Counters::new(&progress));
    let job = Arc::new(
        discover(client, bucket, key, config, Arc::clone(&counters), &shared)
            .await?
            .0,
    );
    progress.set_total(job.size);
    let (part_size, ranges) = job.ranges(None);
    let ranged = part_size > 0;
    let parts = ranges.len() as u64;
    let written = std::sync::atomic::AtomicU64::new(0);
    let out_err = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::BrokenPipe => TransferError::OutputClosed {
            path: label.to_owned(),
            written: written.load(Ordering::Relaxed),
            total: job.size,
        },
        _ => TransferError::Destination {
            path: label.to_owned(),
            reason: crate::error::io_reason(&e),
        },
    };
    let fetches = futures::stream::iter(ranges).map(|(start, end)| {
        let job = Arc::clone(&job);
        async move {
            let mut pieces: Vec<Bytes> = Vec::new();
            part::fetch(&job, start, end, ranged, &mut pieces)
                .await
                .map(|()| pieces)
        }
    });
    let mut in_order = fetches.buffered(config.concurrency());
    while let Some(pieces) = in_order.next().await {
        for piece in pieces? {
            out.write_all(&piece).await.map_err(out_err)?;
            written.fetch_add(piece.len() as u64, Ordering::Relaxed);
            counters.release(piece.len() as u64);
            progress.add(piece.len() as u64);
        }
    }
    // Every write is checked: a buffered writer's last error shows at the flush.
    out.flush().await.map_err(out_err)?;
    Ok(counters.finish(job.size, part_size, parts))
}
