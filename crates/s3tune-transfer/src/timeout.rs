//! Connect and read timeouts on every S3 request, and the endpoint named in every
//! connection error.
//!
//! The SDK's own `read_timeout` runs from the start of a request to the first byte of
//! its answer, so it would also have to cover the upload of a 5 GiB part: no value
//! suits both a GET and a large PUT. What people mean by a read timeout (boto3's, the
//! AWS CLI's `--cli-read-timeout`) is *silence*: no byte moving for that long. This
//! module gives the SDK an HTTP client whose connector watches each request for that:
//!
//! - while a request's body is being sent, every piece the connection takes resets the
//!   clock; a body that stops moving for `read_timeout` fails the attempt;
//! - once the body is sent (or for a request without one), the answer must begin within
//!   `read_timeout` — plus the time the last 8 MiB of the body took to go out, since
//!   that much may still sit in socket buffers on its way to a slow link;
//! - before anything has moved, the connection may take its own `connect_timeout`: the
//!   clock then runs to `max(read_timeout, connect_timeout)` (and a moment), so that a
//!   connection that is never made is named as such by the connect timeout, not taken
//!   for silence. (Whether a connection is up cannot be seen from here; the first piece
//!   of a body taken shows it, but a GET has no body.)
//!
//! A timed-out attempt is a timeout error, which the SDK retries like any transient
//! one — except at an endpoint that has never answered: there a second timed-out attempt
//! (silent, or never connected) ends the request (its error is then not retryable). A stuck proxy or a dead load
//! balancer is reported after two read timeouts, about ten seconds, not after the five
//! attempts and their back-off (forty); an endpoint that has answered before gets every
//! retry, since its silence is more likely a passing stall. Response *bodies* are watched where they are read: the download engine fails a
//! body that is silent for `read_timeout` and fetches the rest again
//! (`num_download_attempts`); the SDK's stalled-stream protection watches the small XML
//! bodies of the other calls.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;

/// Bytes of a body that may still be in buffers (the socket's send buffer, which Linux
/// grows to 4 MiB, and the HTTP client's own) when the last of it has been handed over.
const IN_FLIGHT: u64 = 8 << 20;

/// A connection error, and the endpoint (`scheme://host:port`) it happened at.
#[derive(Debug)]
pub(crate) struct AtEndpoint {
    pub endpoint: String,
    pub source: BoxError,
}

impl fmt::Display for AtEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.endpoint, self.source)
    }
}

impl std::error::Error for AtEndpoint {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// Nothing moved for the read timeout.
#[derive(Debug)]
pub(crate) struct Silent {
    pub after: Duration,
}

impl fmt::Display for Silent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nothing moved for {}s", self.after.as_secs_f64())
    }
}

impl std::error::Error for Silent {}

/// The SDK's default HTTPS client (hyper 1, rustls on aws-lc, proxies from the
/// environment), watched for `read` of silence.
pub(crate) fn http_client(read: Duration) -> SharedHttpClient {
    use aws_smithy_http_client::{Builder, ConnectorBuilder, proxy::ProxyConfig, tls};
    let inner = Builder::new().build_with_connector_fn(|settings, components| {
        let mut b = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        b.set_connector_settings(settings.cloned());
        if let Some(c) = components {
            b.set_sleep_impl(c.sleep_impl());
        }
        b.set_proxy_config(Some(ProxyConfig::from_env()));
        b.build()
    });
    SharedHttpClient::new(Watched {
        inner,
        read,
        contact: Arc::default(),
    })
}

/// Timed-out attempts at an endpoint that has never answered, after which a request
/// gives up (see the module docs).
const SILENT_FIRST_CONTACTS: u32 = 2;

/// How much later than the connect timeout the silence clock may first run out, so
/// that the connect timeout, when it is the cause, is the one that fires.
const AFTER_CONNECT: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct Watched {
    inner: SharedHttpClient,
    read: Duration,
    contact: Arc<Contact>,
}

/// What one client has heard from its endpoint.
#[derive(Debug, Default)]
struct Contact {
    /// Some answer has come.
    answered: AtomicBool,
    /// Attempts that timed out (silent, or never connected) before any answer came.
    silent: AtomicU32,
}

impl HttpClient for Watched {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(WatchedConnector {
            inner: self.inner.http_connector(settings, components),
            read: self.read,
            connect: settings.connect_timeout().unwrap_or(Duration::ZERO),
            contact: Arc::clone(&self.contact),
        })
    }
}

#[derive(Debug)]
struct WatchedConnector {
    inner: SharedHttpConnector,
    read: Duration,
    connect: Duration,
    contact: Arc<Contact>,
}

/// `scheme://host[:port]` of a request.
fn endpoint_of(request: &HttpRequest) -> String {
    let uri = request.uri();
    let (scheme, rest) = uri.split_once("://").unwrap_or(("https", uri));
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    format!("{scheme}://{authority}")
}

/// The same kind of connector error (so the SDK retries it alike), naming `endpoint` —
/// but a timeout that is the last [`SILENT_FIRST_CONTACTS`] allows is not retried.
fn at(endpoint: &str, e: ConnectorError, contact: &Contact) -> ConnectorError {
    let kind = (e.is_timeout(), e.is_io(), e.is_user(), e.as_other());
    let wrapped: BoxError = Box::new(AtEndpoint {
        endpoint: endpoint.to_owned(),
        source: Box::new(e),
    });
    match kind {
        (true, ..) if contact.give_up() => ConnectorError::other(wrapped, None),
        (true, ..) => ConnectorError::timeout(wrapped),
        (_, true, ..) => ConnectorError::io(wrapped),
        (_, _, true, _) => ConnectorError::user(wrapped),
        (.., other) => ConnectorError::other(wrapped, other),
    }
}

impl Contact {
    /// Counts a timed-out attempt; whether the request should give up now (the endpoint
    /// has never answered, and this was its last allowed timeout).
    fn give_up(&self) -> bool {
        let silent = self.silent.fetch_add(1, Ordering::Relaxed) + 1;
        !self.answered.load(Ordering::Relaxed) && silent >= SILENT_FIRST_CONTACTS
    }
}

impl HttpConnector for WatchedConnector {
    fn call(&self, mut request: HttpRequest) -> HttpConnectorFuture {
        let endpoint = endpoint_of(&request);
        let started = Instant::now();
        let body = std::mem::replace(request.body_mut(), SdkBody::taken());
        let activity = Arc::new(Activity::new(
            started,
            self.read.max(self.connect + AFTER_CONNECT),
            body.content_length(),
        ));
        *request.body_mut() = SdkBody::from_body_1_x(Progressing {
            inner: body,
            activity: Arc::clone(&activity),
        });
        let answer = self.inner.call(request);
        let read = self.read;
        let contact = Arc::clone(&self.contact);
        HttpConnectorFuture::new(async move {
            let silence = async {
                loop {
                    let deadline = activity.deadline(read);
                    tokio::time::sleep_until(deadline.into()).await;
                    if activity.deadline(read) <= Instant::now() {
                        return;
                    }
                }
            };
            tokio::select! {
                r = answer => {
                    if r.is_ok() {
                        contact.answered.store(true, Ordering::Relaxed);
                    }
                    r.map_err(|e| at(&endpoint, e, &contact))
                }
                () = silence => Err(at(
                    &endpoint,
                    ConnectorError::timeout(Box::new(Silent { after: read })),
                    &contact,
                )),
            }
        })
    }
}

/// When a request's body last moved, and when it was all handed over.
#[derive(Debug)]
struct Activity {
    len: Option<u64>,
    /// The silence allowed before anything has moved (the connection included).
    first: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The request's start.
    started: Instant,
    /// The last sign of progress (none yet: `None`).
    last: Option<Instant>,
    /// Bytes handed over.
    sent: u64,
    /// When the last [`IN_FLIGHT`] bytes began to go out.
    tail_from: Instant,
    /// When the whole body was handed over.
    done: Option<Instant>,
}

impl Activity {
    fn new(started: Instant, first: Duration, len: Option<u64>) -> Self {
        Self {
            len,
            first,
            state: Mutex::new(State {
                started,
                last: None,
                sent: 0,
                tail_from: started,
                done: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain numbers: a panic elsewhere cannot leave them half-written.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sent(&self, n: u64) {
        let now = Instant::now();
        let mut s = self.lock();
        let tail_start = self.len.map_or(u64::MAX, |l| l.saturating_sub(IN_FLIGHT));
        if s.sent <= tail_start && s.sent + n > tail_start {
            s.tail_from = now;
        }
        s.sent += n;
        s.last = Some(now);
        if self.len.is_some_and(|l| s.sent >= l) {
            s.done = Some(now);
        }
    }

    fn ended(&self) {
        let now = Instant::now();
        let mut s = self.lock();
        if s.done.is_none() {
            s.done = Some(now);
            s.last = Some(now);
            if self.len.is_none() {
                // Where its last 8 MiB began is not known: no allowance for them.
                s.tail_from = now;
            }
        }
    }

    /// When silence becomes a timeout.
    fn deadline(&self, read: Duration) -> Instant {
        let s = self.lock();
        match (s.done, s.last) {
            (Some(done), _) => done + read + done.saturating_duration_since(s.tail_from),
            (None, Some(last)) => last + read,
            // Nothing has moved: the connection may take its own timeout first.
            (None, None) => s.started + self.first,
        }
    }
}

/// A request body that tells [`Activity`] as it is taken.
struct Progressing {
    inner: SdkBody,
    activity: Arc<Activity>,
}

impl http_body::Body for Progressing {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.activity.sent(data.len() as u64);
                }
            }
            Poll::Ready(None) => self.activity.ended(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_measured_from_the_last_progress() {
        let t0 = Instant::now();
        let read = Duration::from_secs(5);
        let a = Activity::new(t0, read, Some(20 << 20));
        assert_eq!(a.deadline(read), t0 + read);
        a.sent(1 << 20);
        let after_first = a.deadline(read);
        assert!(after_first >= t0 + read);
        a.sent(19 << 20);
        // All handed over: the answer may also wait for what is still in flight.
        let s = a.lock();
        let done = s.done.expect("done once every byte went");
        assert_eq!(Some(done), s.last);
        drop(s);
        assert!(a.deadline(read) >= done + read);
    }

    #[test]
    fn before_anything_moves_the_connection_may_take_its_own_timeout() {
        let t0 = Instant::now();
        let first = Duration::from_secs(5) + AFTER_CONNECT;
        let a = Activity::new(t0, first, Some(0));
        assert_eq!(a.deadline(Duration::from_secs(1)), t0 + first);
        // A body of unknown length gets no allowance for buffers once it has ended.
        let b = Activity::new(t0, first, None);
        b.sent(100);
        b.ended();
        let done = b.lock().done.unwrap();
        assert_eq!(
            b.deadline(Duration::from_secs(1)),
            done + Duration::from_secs(1)
        );
    }

    #[test]
    fn endpoints_are_scheme_and_authority() {
        let r = HttpRequest::get("http://127.0.0.1:9000/b/k?x=1").unwrap();
        assert_eq!(endpoint_of(&r), "http://127.0.0.1:9000");
    }
}
