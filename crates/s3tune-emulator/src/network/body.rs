//! A body wrapper that paces bytes through token buckets and injects mid-body resets.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

use super::{Connection, Direction, InFlight, SHAPING_PIECE};

/// How long a body pauses before an injected reset (see `poll_frame`).
const RESET_PAUSE: std::time::Duration = std::time::Duration::from_millis(2);

/// Boxed error of a shaped body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The error a body ends with when a reset was injected; hyper then drops the
/// connection, and the client sees a short body, as after a real connection reset.
#[derive(Debug, thiserror::Error)]
#[error("connection reset by s3tune-emulator fault injection")]
pub struct InjectedReset;

pin_project_lite::pin_project! {
    /// `inner`, paced through the connection's and the link's buckets for `direction`,
    /// and cut off after `reset_at` bytes when set.
    pub struct ShapedBody<B> {
        #[pin]
        inner: B,
        conn: Arc<Connection>,
        direction: Direction,
        shaping: bool,
        reset_at: Option<u64>,
        passed: u64,
        // A piece waiting for its reservation to be paid off.
        ready_piece: Option<Bytes>,
        // The rest of an inner frame larger than one piece.
        leftover: Option<Bytes>,
        sleep: Option<Pin<Box<Sleep>>>,
        // Whether the pause before an injected reset was taken.
        reset_armed: bool,
        // Holds the request's in-flight slot until the body is done.
        _in_flight: Option<InFlight>,
    }
}

impl<B> ShapedBody<B> {
    /// Wraps `inner`; `in_flight` is released when the body is dropped.
    pub fn new(
        inner: B,
        conn: Arc<Connection>,
        direction: Direction,
        reset_at: Option<u64>,
        in_flight: Option<InFlight>,
    ) -> Self {
        let shaping = conn.shapes(direction);
        Self {
            inner,
            conn,
            direction,
            shaping,
            reset_at,
            passed: 0,
            ready_piece: None,
            leftover: None,
            sleep: None,
            reset_armed: false,
            _in_flight: in_flight,
        }
    }
}

impl<B> Body for ShapedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                ready!(sleep.as_mut().poll(cx));
                *this.sleep = None;
            }
            if let Some(piece) = this.ready_piece.take() {
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
            if this.reset_at.is_some_and(|at| *this.passed >= at) {
                // Pause first, so hyper flushes the headers and the bytes before the cut:
                // the client must see a short body, not a refused request.
                if !*this.reset_armed {
                    *this.reset_armed = true;
                    *this.sleep = Some(Box::pin(tokio::time::sleep(RESET_PAUSE)));
                    continue;
                }
                this.conn
                    .network()
                    .stats
                    .resets
                    .fetch_add(1, Ordering::Relaxed);
                *this.reset_at = None;
                return Poll::Ready(Some(Err(Box::new(InjectedReset))));
            }
            let mut data = match this.leftover.take() {
                Some(rest) => rest,
                None => match ready!(this.inner.as_mut().poll_frame(cx)) {
                    None => return Poll::Ready(None),
                    Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => data,
                        Err(frame) => return Poll::Ready(Some(Ok(frame))),
                    },
                },
            };
            // Cut at the reset point, then into pieces small enough to pace smoothly.
            let mut limit = if *this.shaping {
                SHAPING_PIECE
            } else {
                usize::MAX
            };
            if let Some(at) = *this.reset_at {
                limit = limit.min(usize::try_from(at - *this.passed).unwrap_or(usize::MAX));
            }
            if data.len() > limit {
                *this.leftover = Some(data.split_off(limit));
            }
            if data.is_empty() {
                continue;
            }
            let n = data.len() as u64;
            *this.passed += n;
            let stats = &this.conn.network().stats;
            match this.direction {
                Direction::Down => stats.bytes_sent.fetch_add(n, Ordering::Relaxed),
                Direction::Up => stats.bytes_received.fetch_add(n, Ordering::Relaxed),
            };
            if !*this.shaping {
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            let now = Instant::now();
            let wait = this
                .conn
                .buckets(*this.direction)
                .into_iter()
                .flatten()
                .map(|b| b.reserve(n, now))
                .max()
                .unwrap_or_default();
            if wait.is_zero() {
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            *this.ready_piece = Some(data);
            *this.sleep = Some(Box::pin(tokio::time::sleep(wait)));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ready_piece.is_none()
            && self.leftover.is_none()
            && self.reset_at.is_none()
            && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        // Bytes already taken from `inner` but not yet sent still count.
        let held = self.ready_piece.as_ref().map_or(0, Bytes::len)
            + self.leftover.as_ref().map_or(0, Bytes::len);
        let inner = self.inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower() + held as u64);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + held as u64);
        }
        hint
    }
}
