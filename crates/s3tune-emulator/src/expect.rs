//! `100 Continue` for every request that asks for it, even one with an empty body.
//!
//! hyper answers `Expect: 100-continue` when the body is first read, so a request with
//! no body (an empty file's PUT) gets its final answer alone. HTTP allows that, and S3
//! does not do it: botocore, which sends the expectation on every upload, keeps the
//! answer's status line for the connection's next request and then misreads that
//! request's answer (boto/botocore#3010). `aws s3 sync` of a tree with an empty file
//! then fails a part with `'ETag'` after a 30 s stall. So the connection's writer owes a
//! `100 Continue` that the service asks for, and writes it before the answer.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Whether a connection owes its client a `100 Continue` before the next answer.
#[derive(Debug, Default)]
pub(crate) struct Owed(AtomicBool);

impl Owed {
    /// The answer now being made is to a request whose `100 Continue` hyper will not send.
    pub fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Whether `req` expects `100 Continue` and has no body (so hyper sends none).
pub(crate) fn owed_by<B>(req: &http::Request<B>) -> bool {
    let h = req.headers();
    let expects = h
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let empty = match h.get(http::header::CONTENT_LENGTH) {
        Some(v) => v.as_bytes() == b"0",
        None => !h.contains_key(http::header::TRANSFER_ENCODING),
    };
    expects && empty && req.version() == http::Version::HTTP_11
}

/// A connection's stream that writes an owed `100 Continue` before what it writes next.
#[derive(Debug)]
pub(crate) struct ContinueIo<S> {
    inner: S,
    owed: Arc<Owed>,
    /// How much of `CONTINUE` is written, while it is being written.
    sending: Option<usize>,
}

impl<S> ContinueIo<S> {
    pub fn new(inner: S, owed: Arc<Owed>) -> Self {
        Self {
            inner,
            owed,
            sending: None,
        }
    }
}

impl<S: AsyncWrite + Unpin> ContinueIo<S> {
    /// Writes what is owed, if anything, before anything else is.
    fn poll_owed(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.sending.is_none() && self.owed.0.swap(false, Ordering::AcqRel) {
            self.sending = Some(0);
        }
        while let Some(done) = self.sending {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &CONTINUE[done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sending = (done + n < CONTINUE.len()).then_some(done + n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ContinueIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ContinueIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_owed(cx))?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_owed(cx))?;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_owed(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
