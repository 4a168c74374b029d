//! How a download begins: learning the object's size and version (its ETag, pinned
//! with `If-Match` from then on), and planning the ranges to fetch.

use std::sync::Arc;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

use super::part;
use crate::config::TransferConfig;
use crate::error::TransferError;
use crate::shared::{Shared, Slot};
use crate::stats::Counters;

/// How a download learns the object's size and ETag. Not a boto3 knob: it is how the
/// engine works, and the faster way is the default (see the README's benchmark).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Discovery {
    /// A HEAD request first, as boto3 does: one more round trip before any data.
    Head,
    /// The first ranged GET doubles as discovery, as AWS's Rust transfer manager does.
    #[default]
    FirstGet,
}

/// Everything the tasks of one download share.
pub(crate) struct Job {
    pub client: Client,
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub size: u64,
    pub config: TransferConfig,
    pub counters: Arc<Counters>,
    /// The budget and bandwidth shared with the transfer's other objects.
    pub shared: Arc<Shared>,
}

impl Job {
    /// The job of downloading `size` bytes of `bucket/key` at version `etag`.
    #[allow(clippy::too_many_arguments, reason = "a constructor of eight fields")]
    pub(super) fn new(
        client: &Client,
        bucket: &str,
        key: &str,
        etag: String,
        size: u64,
        config: &TransferConfig,
        counters: Arc<Counters>,
        shared: &Arc<Shared>,
    ) -> Self {
        Self {
            client: client.clone(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            etag,
            size,
            config: config.clone(),
            counters,
            shared: Arc::clone(shared),
        }
    }

    /// The byte ranges to fetch, in order, and the part size (0 for a single GET).
    /// Below `multipart_threshold` the object is one GET; otherwise parts of the part
    /// size. `first_end`: a range `0..first_end` already requested by discovery comes
    /// first, and the rest is planned after it.
    pub(super) fn ranges(&self, first_end: Option<u64>) -> (u64, Vec<(u64, u64)>) {
        let mut out = Vec::new();
        let mut start = 0;
        if let Some(f) = first_end {
            out.push((0, f));
            start = f;
        }
        if self.size < self.config.multipart_threshold {
            if start < self.size {
                out.push((start, self.size));
            }
            return (0, out);
        }
        let part = self.config.part_size_for(self.size);
        while start < self.size {
            out.push((start, (start + part).min(self.size)));
            start += part;
        }
        (part, out)
    }
}

/// HEAD: the object's size and ETag (and its user metadata, for callers who look).
pub(crate) async fn discover(
    client: &Client,
    bucket: &str,
    key: &str,
    config: &TransferConfig,
    counters: Arc<Counters>,
    shared: &Arc<Shared>,
) -> Result<(Job, std::collections::BTreeMap<String, String>), TransferError> {
    let _slot = shared.slot().await;
    counters.request(crate::stats::RequestKind::Head);
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
    let metadata = head
        .metadata()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok((
        Job::new(client, bucket, key, etag, size, config, counters, shared),
        metadata,
    ))
}

/// The first ranged GET as discovery (as AWS's Rust transfer manager does): its
/// `Content-Range` gives the size, its ETag the version, and its body is the first part,
/// which saves the HEAD's round trip. An empty object answers 416 to any range; then a
/// HEAD settles it. Returns the job and, unless empty, the first range's end and body
/// with the budget slot its request holds until the body is read.
pub(super) async fn discover_by_get(
    client: &Client,
    bucket: &str,
    key: &str,
    config: &TransferConfig,
    counters: Arc<Counters>,
    shared: &Arc<Shared>,
) -> Result<(Job, Option<(u64, ByteStream, Slot)>), TransferError> {
    let slot = shared.slot().await;
    counters.request(crate::stats::RequestKind::Get);
    let first_len = config.multipart_chunksize;
    let sent = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .range(format!("bytes=0-{}", first_len - 1))
        .send()
        .await;
    let resp = match sent {
        Ok(resp) => resp,
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 416) => {
            drop(slot);
            return Ok((
                discover(client, bucket, key, config, counters, shared)
                    .await?
                    .0,
                None,
            ));
        }
        Err(e) => return Err(TransferError::from_sdk("GetObject", bucket, key, e)),
    };
    let size = match resp.content_range() {
        Some(cr) => cr.rsplit('/').next().and_then(|t| t.parse::<u64>().ok()),
        None => resp.content_length().and_then(|l| u64::try_from(l).ok()),
    }
    .ok_or_else(|| {
        TransferError::BadResponse("GET without a size (Content-Range or Content-Length)".into())
    })?;
    let etag = resp
        .e_tag()
        .ok_or_else(|| TransferError::BadResponse("GET without an ETag".into()))?
        .to_owned();
    let job = Job::new(client, bucket, key, etag, size, config, counters, shared);
    let first_end = first_len.min(size);
    part::check_response(
        &job,
        0,
        first_end,
        resp.content_range().is_some(),
        resp.content_range(),
        resp.content_length(),
    )?;
    Ok((job, Some((first_end, resp.body, slot))))
}
