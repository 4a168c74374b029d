//! Uploads: one PUT below `multipart_threshold`, else a multipart upload of
//! `multipart_chunksize` parts (doubled past 10,000 parts) with `max_concurrency` in
//! flight, aborted on failure so no orphaned parts are left to pay for.
//!
//! When `stop` completes (Ctrl-C), the upload is aborted and `Cancelled` returned.
//!
//! The source must not change while it is read: its size and modification time are
//! checked after the last part, before the upload is completed, and a file that changed
//! (or shrank under a part being read) fails the upload with that said and its multipart
//! upload aborted, so no mixture of two versions is left in the bucket. A single PUT that
//! S3 has already stored cannot be taken back that way: the error says what the object
//! now holds.
//!
//! Part bodies stream from the file (read in `io_chunksize` buffers) and can be replayed,
//! so the SDK retries a failed part request itself. `max_bandwidth` is paid before each
//! request for its whole body.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_smithy_types::byte_stream::Length;
use tokio::task::JoinSet;

use crate::config::TransferConfig;
use crate::error::TransferError;
use crate::shared::Shared;
use crate::stats::{Counters, TransferStats};

/// What identifies the version of a file being uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    len: u64,
    modified: Option<SystemTime>,
}

fn version_of(src: &Path) -> Result<Version, TransferError> {
    let meta = std::fs::metadata(src).map_err(|e| TransferError::Source {
        path: src.to_owned(),
        reason: crate::error::io_reason(&e),
    })?;
    Ok(Version {
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

/// `Some(error)` when `src` is no longer the version the upload began with.
fn changed(src: &Path, was: Version) -> Option<TransferError> {
    let now = version_of(src).ok()?;
    (now != was).then(|| TransferError::Source {
        path: src.to_owned(),
        reason: if now.len == was.len {
            "was modified during the upload; nothing was left in the bucket".to_owned()
        } else {
            format!(
                "changed during the upload (it was {} bytes, it is now {}); nothing was left in the bucket",
                was.len, now.len
            )
        },
    })
}

async fn file_body(
    src: &Path,
    offset: u64,
    len: u64,
    io: u64,
    was: Version,
) -> Result<ByteStream, TransferError> {
    ByteStream::read_from()
        .path(src)
        .offset(offset)
        .length(Length::Exact(len))
        .buffer_size(usize::try_from(io).unwrap_or(usize::MAX))
        .build()
        .await
        .map_err(|e| {
            changed(src, was).unwrap_or_else(|| TransferError::Source {
                path: src.to_owned(),
                reason: crate::error::describe(&e),
            })
        })
}

/// Uploads the file `src` to `bucket/key`.
pub(crate) async fn from_path(
    client: &Client,
    src: &Path,
    bucket: &str,
    key: &str,
    config: &TransferConfig,
    shared: Arc<Shared>,
    stop: impl Future<Output = ()>,
) -> Result<TransferStats, TransferError> {
    config.validate()?;
    let meta = std::fs::metadata(src).map_err(|e| TransferError::Source {
        path: src.to_owned(),
        reason: crate::error::io_reason(&e),
    })?;
    let was = version_of(src)?;
    let mut stop = std::pin::pin!(stop);
    if !meta.is_file() {
        return Err(TransferError::Source {
            path: src.to_owned(),
            reason: "not a regular file".into(),
        });
    }
    let size = meta.len();
    let progress = Arc::clone(&shared.progress);
    progress.set_total(size);
    let counters = Counters::new(&progress);
    if size < config.multipart_threshold {
        let _slot = shared.slot().await;
        if let Some(l) = &shared.limiter {
            l.take(size).await;
        }
        let body = file_body(src, 0, size, config.io_chunksize, was).await?;
        counters.request(crate::stats::RequestKind::Put);
        let put = client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_length(i64::try_from(size).unwrap_or(i64::MAX))
            .body(body)
            .send();
        // Dropped mid-body, a PUT stores nothing.
        let sent = tokio::select! {
            sent = put => sent,
            () = &mut stop => return Err(TransferError::Cancelled),
        };
        sent.map_err(|e| {
            changed(src, was)
                .unwrap_or_else(|| TransferError::from_sdk("PutObject", bucket, key, e))
        })?;
        if changed(src, was).is_some() {
            // What was stored may mix two versions of the file. It is not deleted: the
            // change may have been a touch, and the object it replaced is gone anyway.
            return Err(TransferError::Source {
                path: src.to_owned(),
                reason: format!(
                    "changed while it was uploaded: s3://{bucket}/{key} holds what was read, which may mix two versions; upload it again"
                ),
            });
        }
        progress.add(size);
        return Ok(counters.finish(size, 0, 1));
    }

    let part_size = config.part_size_for(size);
    let parts = size.div_ceil(part_size);
    tracing::info!(
        bucket,
        key,
        size,
        parts,
        part_size,
        "multipart upload starting"
    );
    let create_slot = shared.slot().await;
    counters.request(crate::stats::RequestKind::Post);
    let create = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send();
    let mut create = std::pin::pin!(create);
    let created = tokio::select! {
        created = &mut create => created,
        () = &mut stop => {
            // Interrupted while the upload was being created: it may exist already, and
            // its id is on its way. Wait for it briefly (the CLI has a second and a half
            // left) and abort it, so an interruption leaves no upload behind.
            let wait = std::time::Duration::from_millis(500);
            if let Ok(Ok(c)) = tokio::time::timeout(wait, create).await
                && let Some(id) = c.upload_id()
            {
                let abort = client
                    .abort_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(id)
                    .send();
                let done = tokio::time::timeout(std::time::Duration::from_millis(900), abort).await;
                if !matches!(done, Ok(Ok(_))) {
                    tracing::warn!(
                        "could not abort the multipart upload of s3://{bucket}/{key}: aws s3api abort-multipart-upload --bucket {bucket} --key {key} --upload-id {id}"
                    );
                }
            }
            return Err(TransferError::Cancelled);
        }
    }
    .map_err(|e| TransferError::from_sdk("CreateMultipartUpload", bucket, key, e))?;
    drop(create_slot);
    let upload_id = created
        .upload_id()
        .ok_or_else(|| {
            TransferError::BadResponse("CreateMultipartUpload without an UploadId".into())
        })?
        .to_owned();

    let job = Arc::new((
        client.clone(),
        src.to_owned(),
        bucket.to_owned(),
        key.to_owned(),
        upload_id.clone(),
    ));
    let counters = Arc::new(counters);
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..(config.concurrency() as u64).min(parts) {
        let (job, budget, counters, next, progress) = (
            job.clone(),
            shared.clone(),
            counters.clone(),
            next.clone(),
            progress.clone(),
        );
        let io = config.io_chunksize;
        workers.spawn(async move {
            let (client, src, bucket, key, upload_id) = &*job;
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= parts {
                    return Ok::<_, TransferError>(done);
                }
                let start = i * part_size;
                let len = part_size.min(size - start);
                let _slot = budget.slot().await;
                if let Some(l) = &budget.limiter {
                    l.take(len).await;
                }
                let body = file_body(src, start, len, io, was).await?;
                tracing::debug!(part = i + 1, start, len, "uploading part");
                counters.request(crate::stats::RequestKind::Put);
                let number = i32::try_from(i + 1).expect("at most 10,000 parts");
                let r = client
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .part_number(number)
                    .content_length(i64::try_from(len).unwrap_or(i64::MAX))
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| {
                        changed(src, was).unwrap_or_else(|| {
                            TransferError::from_sdk("UploadPart", bucket, key, e)
                        })
                    })?;
                let etag = r.e_tag().ok_or_else(|| {
                    TransferError::BadResponse("UploadPart without an ETag".into())
                })?;
                done.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .e_tag(etag)
                        .build(),
                );
                progress.add(len);
            }
        });
    }
    let mut completed = Vec::with_capacity(usize::try_from(parts).unwrap_or(0));
    let mut failure = None;
    loop {
        let joined = tokio::select! {
            joined = workers.join_next() => joined,
            () = &mut stop, if failure.is_none() => {
                failure = Some(TransferError::Cancelled);
                workers.abort_all();
                continue;
            }
        };
        let Some(r) = joined else { break };
        match r.unwrap_or_else(|e| {
            if e.is_cancelled() {
                Err(TransferError::Cancelled)
            } else {
                Err(TransferError::BadResponse(format!(
                    "an upload task failed: {e}"
                )))
            }
        }) {
            Ok(mut parts) => completed.append(&mut parts),
            Err(e) => {
                failure.get_or_insert(e);
                workers.abort_all();
            }
        }
    }
    let result = match failure.or_else(|| changed(src, was)) {
        Some(e) => Err(e),
        None => {
            completed.sort_by_key(|p| p.part_number());
            let _slot = shared.slot().await;
            counters.request(crate::stats::RequestKind::Post);
            client
                .complete_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(completed))
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(|e| TransferError::from_sdk("CompleteMultipartUpload", bucket, key, e))
        }
    };
    if let Err(e) = result {
        // Parts of an abandoned upload cost money until aborted: try, for a bounded time
        // (the endpoint may be the reason for the failure), and say so if it fails.
        let abort = client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .send();
        // Interrupted, the process has little time left (a second and a half, in the
        // CLI): the abort gets a second, so that its warning, if it fails, is seen.
        let limit = if matches!(e, TransferError::Cancelled) {
            std::time::Duration::from_secs(1)
        } else {
            config.read_timeout * 2
        };
        let aborted = tokio::time::timeout(limit, abort).await;
        if !matches!(aborted, Ok(Ok(_))) {
            tracing::warn!(
                "could not abort the multipart upload of s3://{bucket}/{key}; its parts are kept (and billed) until it is: aws s3api abort-multipart-upload --bucket {bucket} --key {key} --upload-id {upload_id}"
            );
        }
        return Err(e);
    }
    Ok(counters.finish(size, part_size, parts))
}
