//! The write side of a download: one writer on a blocking thread, fed a queue of pieces
//! that each go to their offset in the file (positional writes: nothing to reorder, so
//! memory stays bounded by the queue).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::error::TransferError;
use crate::stats::{Counters, Progress};

/// A piece on its way to the file, holding its place in the queue.
pub(crate) struct Piece {
    offset: u64,
    data: Bytes,
    _slot: OwnedSemaphorePermit,
}

/// The sending side: at most `max_io_queue` pieces queued or being written.
#[derive(Clone)]
pub(crate) struct Queue {
    tx: mpsc::UnboundedSender<Piece>,
    slots: Arc<Semaphore>,
}

impl super::part::Sink for Queue {
    /// Waits for a free slot, then queues `data` for `offset`.
    async fn put(&mut self, offset: u64, data: Bytes) -> Result<(), TransferError> {
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| stopped())?;
        self.tx
            .send(Piece {
                offset,
                data,
                _slot: slot,
            })
            .map_err(|_| stopped())
    }
}

fn stopped() -> TransferError {
    TransferError::BadResponse("the writer stopped".into())
}

/// Starts the writer; it ends when every [`Queue`] clone is dropped, returning the file
/// (still open, so its lock is held until the caller is done with it) or the first
/// write error.
pub(crate) fn start(
    file: File,
    path: std::path::PathBuf,
    max_io_queue: usize,
    counters: Arc<Counters>,
    progress: Arc<Progress>,
) -> (Queue, tokio::task::JoinHandle<Result<File, TransferError>>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Piece>();
    let slots = Arc::new(Semaphore::new(max_io_queue));
    let handle = tokio::task::spawn_blocking(move || {
        while let Some(piece) = rx.blocking_recv() {
            let len = piece.data.len() as u64;
            file.write_all_at(&piece.data, piece.offset).map_err(|e| {
                TransferError::Destination {
                    path: path.clone(),
                    reason: crate::error::io_reason(&e),
                }
            })?;
            counters.release(len);
            progress.add(len);
        }
        Ok(file)
    });
    (Queue { tx, slots }, handle)
}
