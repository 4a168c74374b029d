//! What a transfer did, for `--json`, the tuner and tests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Figures of one finished transfer.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TransferStats {
    /// Bytes transferred (the object's size).
    pub bytes: u64,
    /// Wall-clock seconds around the whole transfer, discovery to rename.
    pub seconds: f64,
    /// `bytes / seconds`.
    pub bytes_per_sec: f64,
    /// S3 requests made (each counted once however often it was retried).
    pub requests: u64,
    /// The same requests by the kind S3 prices them by.
    pub requests_by_kind: RequestCounts,
    /// Retries: requests the SDK sent again (503 SlowDown, 5xx, connection errors) plus
    /// parts re-requested after their body broke off.
    pub retries: u64,
    /// Seconds from the start until the first body byte arrived.
    pub first_byte_seconds: f64,
    /// Most bytes held in memory at once (pieces being read plus the write queue).
    pub peak_buffered: u64,
    /// Part size used (after doubling for S3's 10,000-part limit); 0 for one request.
    pub part_size: u64,
    /// Number of parts (1 for a single request).
    pub parts: u64,
}

/// What kind of request, as S3's price list tells them apart: a GET or HEAD costs about
/// a twelfth of a PUT or POST (S3 Standard: $0.0004 against $0.005 per 1,000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    /// GetObject.
    Get,
    /// HeadObject.
    Head,
    /// PutObject, UploadPart.
    Put,
    /// CreateMultipartUpload, CompleteMultipartUpload.
    Post,
}

/// Requests counted by kind.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct RequestCounts {
    /// GetObject (whole or ranged).
    pub get: u64,
    /// HeadObject.
    pub head: u64,
    /// PutObject and UploadPart.
    pub put: u64,
    /// CreateMultipartUpload and CompleteMultipartUpload.
    pub post: u64,
}

/// Live counters shared by a transfer's tasks; also readable from outside for progress.
/// One per [`crate::Transfer`]: transfers run at once on the same `Transfer` share it.
/// A recursive transfer counts bytes over every object, and objects beside them.
#[derive(Debug, Default)]
pub struct Progress {
    total: AtomicU64,
    done: AtomicU64,
    attempts: AtomicU64,
    /// Set by a recursive transfer, which adds each listed object's size to the total
    /// itself: the objects' own downloads then leave the total alone.
    many: AtomicBool,
    objects_total: AtomicU64,
    objects_done: AtomicU64,
}

impl Progress {
    /// Bytes to transfer (0 until known).
    #[must_use]
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Bytes written (download) or sent (upload) so far.
    #[must_use]
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// HTTP attempts the client has made (every request and every SDK retry of one).
    #[must_use]
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }

    pub(crate) fn attempt(&self) {
        self.attempts.fetch_add(1, Ordering::Relaxed);
    }

    /// Objects found so far, and objects finished (transferred or failed), in a
    /// recursive transfer; `(0, 0)` for one object.
    #[must_use]
    pub fn objects(&self) -> (u64, u64) {
        (
            self.objects_total.load(Ordering::Relaxed),
            self.objects_done.load(Ordering::Relaxed),
        )
    }

    /// Whether a recursive transfer is counting (so there are objects to show).
    #[must_use]
    pub fn is_many(&self) -> bool {
        self.many.load(Ordering::Relaxed)
    }

    pub(crate) fn set_total(&self, n: u64) {
        if !self.many.load(Ordering::Relaxed) {
            self.total.store(n, Ordering::Relaxed);
        }
    }

    /// One object of `n` bytes more in a recursive transfer (after `begin_many`).
    pub(crate) fn found(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
        self.objects_total.fetch_add(1, Ordering::Relaxed);
    }

    /// One object of a recursive transfer finished, one way or the other.
    pub(crate) fn object_done(&self) {
        self.objects_done.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks the transfer as one of many objects before any is found.
    pub(crate) fn begin_many(&self) {
        self.many.store(true, Ordering::Relaxed);
    }

    pub(crate) fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
}

/// Counters a transfer's tasks update as they go.
#[derive(Debug)]
pub(crate) struct Counters {
    pub start: Instant,
    progress: std::sync::Arc<Progress>,
    attempts_at_start: u64,
    pub requests: AtomicU64,
    /// By [`RequestKind`], in its order.
    kinds: [AtomicU64; 4],
    pub retries: AtomicU64,
    first_byte_nanos: AtomicU64,
    buffered: AtomicU64,
    peak_buffered: AtomicU64,
}

impl Counters {
    pub fn new(progress: &std::sync::Arc<Progress>) -> Self {
        Self {
            start: Instant::now(),
            progress: std::sync::Arc::clone(progress),
            attempts_at_start: progress.attempts(),
            requests: AtomicU64::new(0),
            kinds: Default::default(),
            retries: AtomicU64::new(0),
            first_byte_nanos: AtomicU64::new(u64::MAX),
            buffered: AtomicU64::new(0),
            peak_buffered: AtomicU64::new(0),
        }
    }

    pub fn request(&self, kind: RequestKind) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.kinds[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn first_byte(&self) {
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.first_byte_nanos.fetch_min(nanos, Ordering::Relaxed);
    }

    /// `n` more bytes held in memory.
    pub fn hold(&self, n: u64) {
        let now = self.buffered.fetch_add(n, Ordering::Relaxed) + n;
        self.peak_buffered.fetch_max(now, Ordering::Relaxed);
    }

    /// `n` bytes no longer held.
    pub fn release(&self, n: u64) {
        self.buffered.fetch_sub(n, Ordering::Relaxed);
    }

    pub fn finish(&self, bytes: u64, part_size: u64, parts: u64) -> TransferStats {
        let seconds = self.start.elapsed().as_secs_f64();
        let fb = self.first_byte_nanos.load(Ordering::Relaxed);
        let requests = self.requests.load(Ordering::Relaxed);
        // Attempts the client's interceptor counted during this transfer: every request
        // of ours (refetches included) once, plus each time the SDK sent one again.
        let sdk_attempts = self.progress.attempts() - self.attempts_at_start;
        TransferStats {
            bytes,
            seconds,
            bytes_per_sec: if seconds > 0.0 {
                bytes as f64 / seconds
            } else {
                0.0
            },
            requests,
            requests_by_kind: {
                let k = |kind: RequestKind| self.kinds[kind as usize].load(Ordering::Relaxed);
                RequestCounts {
                    get: k(RequestKind::Get),
                    head: k(RequestKind::Head),
                    put: k(RequestKind::Put),
                    post: k(RequestKind::Post),
                }
            },
            retries: self.retries.load(Ordering::Relaxed) + sdk_attempts.saturating_sub(requests),
            first_byte_seconds: if fb == u64::MAX {
                0.0
            } else {
                Duration::from_nanos(fb).as_secs_f64()
            },
            peak_buffered: self.peak_buffered.load(Ordering::Relaxed),
            part_size,
            parts,
        }
    }
}
