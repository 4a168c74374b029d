//! Object content and the streams that serve it.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::Stream;
use s3s::stream::{ByteStream, RemainingLength};
use tokio::sync::mpsc;

use crate::synthetic::Pattern;

/// Frame size of GET bodies. Large frames keep per-frame overhead (allocation, a syscall,
/// a token-bucket reservation) negligible; 256 KiB still sits in L2 cache between being
/// produced and being copied into the socket.
pub const FRAME: usize = 256 * 1024;

/// Where an object's bytes are.
#[derive(Debug, Clone)]
pub enum Content {
    /// In memory, as the chunks it arrived in (a multipart object keeps one per part).
    Memory(Blob),
    /// Generated on every read from the key it names (see [`crate::synthetic`]): the key
    /// alone is kept, so a dataset of a million objects costs no pattern tables (each
    /// read builds its own, in microseconds).
    Synthetic(Arc<str>),
    /// In a file of the data dir.
    File(PathBuf),
}

/// Bytes held as a list of chunks, so that assembling parts never copies them.
#[derive(Debug, Clone, Default)]
pub struct Blob {
    chunks: Vec<Bytes>,
    len: u64,
}

impl Blob {
    /// A blob of the given chunks, in order.
    #[must_use]
    pub fn from_chunks(chunks: Vec<Bytes>) -> Self {
        let len = chunks.iter().map(|c| c.len() as u64).sum();
        Self { chunks, len }
    }

    /// Total length.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it holds no bytes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunks, in order.
    #[must_use]
    pub fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    /// Zero-copy slices covering `start..end`, each at most [`FRAME`] bytes.
    fn frames(&self, start: u64, end: u64) -> Vec<Bytes> {
        let mut out = Vec::new();
        let mut chunk_start = 0u64;
        for chunk in &self.chunks {
            let chunk_end = chunk_start + chunk.len() as u64;
            if chunk_end > start && chunk_start < end {
                let a = usize::try_from(start.saturating_sub(chunk_start)).unwrap_or(0);
                let b = usize::try_from(end.min(chunk_end) - chunk_start).unwrap_or(chunk.len());
                let mut pos = a;
                while pos < b {
                    let n = FRAME.min(b - pos);
                    out.push(chunk.slice(pos..pos + n));
                    pos += n;
                }
            }
            chunk_start = chunk_end;
        }
        out
    }
}

enum Source {
    Frames(std::vec::IntoIter<Bytes>),
    Synthetic {
        pattern: Box<Pattern>,
        pos: u64,
        end: u64,
    },
    File(mpsc::Receiver<std::io::Result<Bytes>>),
}

/// A GET body: the bytes `start..end` of one object, in frames of up to [`FRAME`] bytes.
pub struct ObjectStream {
    source: Source,
    remaining: u64,
}

impl ObjectStream {
    /// Streams `start..end` of `content`. A file is opened here, before the caller lets
    /// go of the object, so a concurrent replacement cannot swap the bytes underneath.
    pub fn new(content: &Content, start: u64, end: u64) -> std::io::Result<Self> {
        let source = match content {
            Content::Memory(blob) => Source::Frames(blob.frames(start, end).into_iter()),
            Content::Synthetic(key) => Source::Synthetic {
                pattern: Box::new(Pattern::new(key)),
                pos: start,
                end,
            },
            Content::File(path) => {
                Source::File(spawn_file_reader(std::fs::File::open(path)?, start, end))
            }
        };
        Ok(Self {
            source,
            remaining: end - start,
        })
    }
}

/// Reads `start..end` of a file on the blocking pool, a few frames ahead of the socket.
fn spawn_file_reader(
    file: std::fs::File,
    start: u64,
    end: u64,
) -> mpsc::Receiver<std::io::Result<Bytes>> {
    let (tx, rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::FileExt;
        let mut pos = start;
        while pos < end {
            let n = usize::try_from((end - pos).min(FRAME as u64)).unwrap_or(FRAME);
            let mut buf = BytesMut::zeroed(n);
            let result = file.read_exact_at(&mut buf, pos).map(|()| buf.freeze());
            let failed = result.is_err();
            if tx.blocking_send(result).is_err() || failed {
                return; // the client went away, or the error was sent
            }
            pos += n as u64;
        }
    });
    rx
}

impl Stream for ObjectStream {
    type Item = Result<Bytes, s3s::StdError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = match &mut self.source {
            Source::Frames(it) => it.next().map(Ok),
            Source::Synthetic { pattern, pos, end } => {
                if *pos >= *end {
                    None
                } else {
                    let n = usize::try_from((*end - *pos).min(FRAME as u64)).unwrap_or(FRAME);
                    let mut buf = BytesMut::zeroed(n);
                    pattern.fill(*pos, &mut buf);
                    *pos += n as u64;
                    Some(Ok(buf.freeze()))
                }
            }
            Source::File(rx) => match rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => None,
                Poll::Ready(Some(r)) => Some(r.map_err(|e| Box::new(e) as s3s::StdError)),
            },
        };
        if let Some(Ok(b)) = &item {
            self.remaining -= b.len() as u64;
        }
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

impl ByteStream for ObjectStream {
    fn remaining_length(&self) -> RemainingLength {
        RemainingLength::new_exact(usize::try_from(self.remaining).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn synthetic_bodies_stream_in_large_frames() {
        let content = Content::Synthetic("k".into());
        let len = 3 * FRAME as u64 + 5;
        let mut stream = ObjectStream::new(&content, 7, 7 + len).unwrap();
        let mut sizes = Vec::new();
        let mut offset = 7;
        while let Some(frame) = stream.next().await {
            let frame = frame.unwrap();
            assert_eq!(crate::synthetic::verify("k", offset, &frame), None);
            offset += frame.len() as u64;
            sizes.push(frame.len());
        }
        assert_eq!(sizes, vec![FRAME, FRAME, FRAME, 5]);
    }

    #[test]
    fn blob_frames_cover_ranges_across_chunks() {
        let a = Bytes::from(vec![1u8; 10]);
        let b = Bytes::from(vec![2u8; FRAME + 5]);
        let blob = Blob::from_chunks(vec![a, b]);
        let frames = blob.frames(8, 10 + FRAME as u64 + 2);
        let joined: Vec<u8> = frames.iter().flat_map(|f| f.iter().copied()).collect();
        assert_eq!(joined.len(), 2 + FRAME + 2);
        assert_eq!(&joined[..2], &[1, 1]);
        assert!(joined[2..].iter().all(|&x| x == 2));
        assert!(frames.iter().all(|f| f.len() <= FRAME));
    }
}
