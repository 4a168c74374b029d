//! Fetching one byte range: request, check, read in `io_chunksize` pieces, and refetch
//! only the missing bytes when the body breaks off.
//!
//! Which layer retries what: the SDK client retries whole requests that fail with
//! throttling (503 SlowDown), 5xx or connection errors, with exponential backoff and
//! jitter (standard retry mode). A body that breaks *after* a 200/206 is ours: the bytes
//! already received are kept, and the rest is asked for again, up to
//! `num_download_attempts` attempts, as boto3 does. A body that goes silent for
//! `read_timeout` counts as broken the same way: a stall is retried, never waited out.

use aws_sdk_s3::primitives::ByteStream;
use bytes::{Bytes, BytesMut};

use super::Job;
use crate::error::TransferError;
use crate::shared::Slot;

/// Where the pieces of a range go.
pub(crate) trait Sink: Send {
    /// Takes the piece `data` found at `offset` of the object.
    fn put(
        &mut self,
        offset: u64,
        data: Bytes,
    ) -> impl Future<Output = Result<(), TransferError>> + Send;
}

/// In memory, in order (for writing to standard output).
impl Sink for Vec<Bytes> {
    async fn put(&mut self, _offset: u64, data: Bytes) -> Result<(), TransferError> {
        self.push(data);
        Ok(())
    }
}

/// Paces `data` through `max_bandwidth`, then hands it to `sink`.
async fn emit(
    job: &Job,
    sink: &mut impl Sink,
    offset: u64,
    data: Bytes,
) -> Result<(), TransferError> {
    if let Some(l) = &job.shared.limiter {
        l.take(data.len() as u64).await;
    }
    sink.put(offset, data).await
}

/// Fetches `start..end` of the object and hands each piece (at most `io_chunksize`
/// bytes, at its absolute offset) to `sink`, in order.
pub(crate) async fn fetch(
    job: &Job,
    start: u64,
    end: u64,
    ranged: bool,
    sink: &mut impl Sink,
) -> Result<(), TransferError> {
    fetch_with(job, start, end, ranged, None, sink).await
}

/// [`fetch`], where the response for `start..end` may already be in hand (`first`: its
/// checked body, from discovery by the first ranged GET, and the budget slot it holds).
/// Otherwise the fetch waits for a slot of the shared budget and holds it to the end.
pub(crate) async fn fetch_with(
    job: &Job,
    start: u64,
    end: u64,
    ranged: bool,
    first: Option<(ByteStream, Slot)>,
    sink: &mut impl Sink,
) -> Result<(), TransferError> {
    let (mut first, _slot) = match first {
        Some((body, slot)) => (Some(body), slot),
        None => (None, job.shared.slot().await),
    };
    let io = usize::try_from(job.config.io_chunksize).unwrap_or(usize::MAX);
    let mut pos = start;
    let mut attempts = 0u32;
    tracing::debug!(start, end, "fetching part");
    loop {
        attempts += 1;
        let mut body = match first.take() {
            Some(body) => body,
            None => request(job, start, pos, end, ranged).await?,
        };
        let mut piece = BytesMut::new();
        let stall = job.config.read_timeout;
        let broke = loop {
            let Ok(next) = tokio::time::timeout(stall, body.next()).await else {
                break Some(format!(
                    "no byte came for {}s (read_timeout)",
                    stall.as_secs_f64()
                ));
            };
            match next {
                Some(Ok(mut chunk)) => {
                    job.counters.first_byte();
                    while !chunk.is_empty() {
                        let n = (io - piece.len()).min(chunk.len());
                        job.counters.hold(n as u64);
                        // Large enough reads go on as they are (no copy); small ones are
                        // gathered into one piece, so the writer is not fed crumbs.
                        if piece.is_empty() && (n == io || n >= io / 2) {
                            let direct = chunk.split_to(n);
                            emit(job, sink, pos, direct).await?;
                            pos += n as u64;
                            continue;
                        }
                        piece.extend_from_slice(&chunk.split_to(n));
                        if piece.len() == io {
                            let full = piece.split().freeze();
                            let len = full.len() as u64;
                            emit(job, sink, pos, full).await?;
                            pos += len;
                        }
                    }
                }
                Some(Err(e)) => break Some(crate::error::describe(&e)),
                None => break None,
            }
        };
        // Bytes received before a break are good: keep them.
        if !piece.is_empty() {
            let rest = piece.freeze();
            let len = rest.len() as u64;
            emit(job, sink, pos, rest).await?;
            pos += len;
        }
        let message = match broke {
            None if pos == end => return Ok(()),
            None if pos > end => {
                return Err(TransferError::BadResponse(format!(
                    "more bytes than asked for at {start}"
                )));
            }
            None => "the body ended early".to_owned(),
            Some(m) => m,
        };
        if attempts >= job.config.num_download_attempts {
            return Err(TransferError::BodyBroken {
                start,
                end: end - 1,
                attempts,
                message,
            });
        }
        tracing::debug!(start, pos, end, attempts, %message, "body broke off; fetching the rest again");
        job.counters
            .retries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Sends the GET for `pos..end` (of the part `start..end`) and checks the response.
async fn request(
    job: &Job,
    start: u64,
    pos: u64,
    end: u64,
    ranged: bool,
) -> Result<ByteStream, TransferError> {
    job.counters.request(crate::stats::RequestKind::Get);
    let mut req = job
        .client
        .get_object()
        .bucket(&job.bucket)
        .key(&job.key)
        .if_match(&job.etag);
    let ranged = ranged || pos > start;
    if ranged {
        req = req.range(format!("bytes={pos}-{}", end - 1));
    }
    let resp = req
        .send()
        .await
        .map_err(|e| TransferError::from_sdk("GetObject", &job.bucket, &job.key, e))?;
    check_response(
        job,
        pos,
        end,
        ranged,
        resp.content_range(),
        resp.content_length(),
    )?;
    Ok(resp.body)
}

/// The response must carry exactly the bytes asked for.
pub(crate) fn check_response(
    job: &Job,
    pos: u64,
    end: u64,
    ranged: bool,
    content_range: Option<&str>,
    content_length: Option<i64>,
) -> Result<(), TransferError> {
    let want_len = i64::try_from(end - pos).ok();
    if ranged {
        let want = format!("bytes {pos}-{}/{}", end - 1, job.size);
        if content_range != Some(want.as_str()) {
            return Err(TransferError::BadResponse(match content_range {
                Some(got) => format!("the answer's Content-Range is `{got}`, not `{want}`"),
                None => format!("the answer has no Content-Range; expected `{want}`"),
            }));
        }
    }
    if let (Some(got), Some(want)) = (content_length, want_len)
        && got != want
    {
        return Err(TransferError::BadResponse(format!(
            "the answer's Content-Length is {got}, not {want}"
        )));
    }
    Ok(())
}
