//! Recursive transfers: every object under a prefix down into a directory, or every
//! file of a directory up under a prefix — `aws s3 cp --recursive`'s meaning (see
//! [`keys`] for how keys and paths map).
//!
//! Two levels of concurrency share one budget. Up to `max_objects` objects are open at
//! once (default: `max_concurrency`, so that every request can be a different small
//! object, as in the AWS CLI); each runs as a single transfer would, in parts, but every
//! request of every object takes a slot of the one `max_concurrency` budget (see the
//! `shared` module). The listing (or the directory walk) runs ahead of the transfers
//! through a bounded queue, so the first object starts after one page, and memory does
//! not grow with the number of objects: at most `max_concurrency × io_chunksize` being
//! read, `max_objects × max_io_queue × io_chunksize` queued to disk, and a queue of
//! listed keys.
//!
//! An object that fails is tried again (three attempts in all) unless trying cannot help
//! (a refused key, a full disk, a missing key); then it is reported, and the others
//! finish. Each object is checked as a single download is — its version pinned with
//! `If-Match`, every `Content-Range` and length checked — and written under a partial
//! name renamed only when complete. Stopped (Ctrl-C), every object in flight is
//! cancelled: partial files are removed and multipart uploads aborted.

mod down;
pub mod keys;
mod up;

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

pub use down::Entry;
pub(crate) use down::{download_keys, download_prefix};
pub(crate) use up::upload_dir;

use crate::error::TransferError;
use crate::stats::Progress;

/// Attempts per object, the first included.
const OBJECT_ATTEMPTS: u32 = 3;
/// Listed keys (or walked files) queued ahead of the transfers: two listing pages.
const AHEAD: usize = 2000;

/// An object that could not be transferred.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Failed {
    /// Its key (downloads) or path (uploads).
    pub name: String,
    /// What went wrong, last attempt's.
    pub error: String,
}

/// Figures of one finished recursive transfer.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecursiveStats {
    /// Objects transferred.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Wall-clock seconds, from the first listing request to the last rename.
    pub seconds: f64,
    /// `bytes / seconds`.
    pub bytes_per_sec: f64,
    /// `objects / seconds`.
    pub objects_per_sec: f64,
    /// HTTP attempts made, listing included, every retry counted.
    pub requests: u64,
    /// Objects tried again. (Requests the SDK sent again show in `requests`: one
    /// object's counters cannot tell its own retries from those of objects beside it.)
    pub retries: u64,
    /// Folder markers (keys ending in `/`) and files that are not regular files: nothing
    /// to transfer.
    pub skipped: u64,
    /// Objects that failed, with why.
    pub failed: Vec<Failed>,
}

/// What the listing or walk hands the transfers.
enum Item<T> {
    Object { name: String, size: u64, job: T },
    Skipped,
    Failed(Failed),
}

/// The producer's side of the queue.
type Feed<T> = mpsc::Sender<Item<T>>;

/// A signal every object's transfer watches; set once, on stop.
type Stopped = watch::Receiver<bool>;

/// Resolves when `stopped` is set.
async fn until(mut stopped: Stopped) {
    // An error means the sender is gone: the run is over, so never stop.
    if stopped.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Whether another attempt at an object could turn out differently.
fn worth_retrying(e: &TransferError) -> bool {
    !matches!(
        e,
        TransferError::Config(_)
            | TransferError::Cancelled
            | TransferError::Destination { .. }
            | TransferError::NoSuchBucket { .. }
            | TransferError::NoSuchKey { .. }
            | TransferError::Denied { .. }
    )
}

/// How one object ended: its name, its size, and the retries it took, with the error
/// if it failed.
type Outcome = (String, u64, Result<u64, (TransferError, u64)>);

/// The running totals.
#[derive(Default)]
struct Tally {
    objects: u64,
    bytes: u64,
    retries: u64,
    skipped: u64,
    failed: Vec<Failed>,
}

/// When a recursive transfer began, and the requests made by then: its time and its
/// requests count from there (the listing's first page, which comes before the queue,
/// included).
#[derive(Debug, Clone, Copy)]
struct Since {
    at: Instant,
    attempts: u64,
}

impl Since {
    /// Now, for the transfer whose counters are `progress`.
    fn now(progress: &Progress) -> Self {
        Self {
            at: Instant::now(),
            attempts: progress.attempts(),
        }
    }
}

/// Runs `each` over every item `rx` yields, `objects` at a time, retrying as
/// [`worth_retrying`] says, until the queue ends or `stop` completes. `each` gets the
/// job and a stop signal, and returns the retries its transfer made.
async fn drive<T, F, Fut>(
    mut rx: mpsc::Receiver<Item<T>>,
    objects: usize,
    (progress, since): (Arc<Progress>, Since),
    stop: impl Future<Output = ()>,
    each: F,
) -> Result<RecursiveStats, TransferError>
where
    T: Clone + Send + 'static,
    F: Fn(T, Stopped) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<u64, TransferError>> + Send,
{
    progress.begin_many();
    let (stop_tx, stopped) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(objects.max(1)));
    let mut tasks: JoinSet<Outcome> = JoinSet::new();
    let mut tally = Tally::default();
    let mut slot = None;
    let mut open = true;
    let mut stop = std::pin::pin!(stop);
    // The stop branch is always armed, so the end is checked here, not by `else`.
    while open || !tasks.is_empty() {
        tokio::select! {
            () = &mut stop => {
                let _ = stop_tx.send(true);
                // Each transfer cancels itself (removing its partial file, aborting its
                // multipart upload); wait for them so that nothing is left behind.
                while tasks.join_next().await.is_some() {}
                return Err(TransferError::Cancelled);
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                progress.object_done();
                match done {
                    Ok((_, size, Ok(retries))) => {
                        tally.objects += 1;
                        tally.bytes += size;
                        tally.retries += retries;
                    }
                    Ok((name, _, Err((e, retries)))) => {
                        tally.retries += retries;
                        tracing::warn!(object = %name, error = %e, "failed");
                        tally.failed.push(Failed { name, error: e.to_string() });
                    }
                    Err(e) => tally.failed.push(Failed { name: "?".into(), error: format!("a transfer task failed: {e}") }),
                }
            }
            s = Arc::clone(&slots).acquire_owned(), if open && slot.is_none() => {
                slot = Some(s.expect("never closed"));
            }
            item = rx.recv(), if open && slot.is_some() => match item {
                None => open = false,
                Some(Item::Skipped) => tally.skipped += 1,
                Some(Item::Failed(f)) => {
                    tracing::warn!(object = %f.name, error = %f.error, "refused");
                    tally.failed.push(f);
                }
                Some(Item::Object { name, size, job }) => {
                    progress.found(size);
                    let (each, stopped, held) = (each.clone(), stopped.clone(), slot.take());
                    tasks.spawn(async move {
                        let _held = held;
                        let mut retries = 0;
                        let mut attempt = 1;
                        loop {
                            match each(job.clone(), stopped.clone()).await {
                                Ok(r) => return (name, size, Ok(retries + r)),
                                Err(e) if attempt < OBJECT_ATTEMPTS && worth_retrying(&e) => {
                                    tracing::info!(object = %name, error = %e, attempt, "trying the object again");
                                    attempt += 1;
                                    retries += 1;
                                }
                                Err(e) => return (name, size, Err((e, retries))),
                            }
                        }
                    });
                }
            },
        }
    }
    let seconds = since.at.elapsed().as_secs_f64();
    let per_sec = |n: u64| {
        if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        }
    };
    Ok(RecursiveStats {
        objects: tally.objects,
        bytes: tally.bytes,
        seconds,
        bytes_per_sec: per_sec(tally.bytes),
        objects_per_sec: per_sec(tally.objects),
        requests: progress.attempts() - since.attempts,
        retries: tally.retries,
        skipped: tally.skipped,
        failed: tally.failed,
    })
}
