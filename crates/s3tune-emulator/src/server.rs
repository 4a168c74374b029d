//! The HTTP server: accept loop, per-connection emulation, start and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3Error, S3ErrorCode};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::answer::{name_response, request_id, sized, unsized_body};
use crate::auth::{Hosts, KeyPair};
use crate::config::EmulatorConfig;
use crate::error::StartError;
use crate::expect::{self, ContinueIo, Owed};
use crate::network::body::ShapedBody;
use crate::network::{
    Admission, Connection, Direction, Network, NetworkProfile, Stats, StatsSnapshot,
};
use crate::s3::Service;
use crate::store::Store;

/// How long shutdown waits for open connections to finish their responses.
const DRAIN: Duration = Duration::from_secs(1);

/// The embedded S3 server. See [`Emulator::start`] and [`Emulator::start_dedicated`].
#[derive(Debug)]
pub struct Emulator;

/// A running emulator on the caller's runtime. Dropping it stops accepting connections.
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: SocketAddr,
    config: EmulatorConfig,
    network: Arc<Network>,
    store: Arc<Store>,
    stop: watch::Sender<bool>,
    done: watch::Receiver<bool>,
}

impl Emulator {
    /// Binds, creates the configured synthetic objects and serves on the current tokio
    /// runtime until the handle is shut down or dropped.
    pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, StartError> {
        config.network.validate()?;
        let store = match &config.data_dir {
            None => Store::in_memory(),
            Some(dir) => Store::on_disk(dir).map_err(|e| StartError::DataDir {
                path: dir.clone(),
                reason: e.to_string(),
            })?,
        };
        for spec in &config.objects {
            let failed = |e: crate::store::StoreError| {
                StartError::Config(crate::error::ConfigError::ObjectSpec {
                    spec: spec.to_string(),
                    reason: e.to_string(),
                })
            };
            store.ensure_bucket(&spec.bucket).map_err(failed)?;
            for (key, size) in spec.objects() {
                store
                    .put_synthetic(&spec.bucket, &key, size)
                    .map_err(failed)?;
            }
        }
        let store = Arc::new(store);
        let bind_err = |e: std::io::Error| StartError::Bind {
            addr: config.listen,
            reason: crate::units::io_reason(&e),
        };
        let listener = TcpListener::bind(config.listen).await.map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;

        let mut builder =
            S3ServiceBuilder::new(Service::new(Arc::clone(&store), config.region.clone()));
        builder.set_auth(KeyPair::new(&config.access_key, &config.secret_key));
        builder.set_host(Hosts::new(&config.domains));
        let s3 = builder.build();
        let network = Network::new(config.network.clone());

        let (stop, stop_rx) = watch::channel(false);
        let (done_tx, done) = watch::channel(false);
        tokio::spawn(serve(listener, s3, Arc::clone(&network), stop_rx, done_tx));
        tracing::info!(%addr, network = %config.network.describe(), "s3tune emulator listening");
        Ok(EmulatorHandle {
            addr,
            config,
            network,
            store,
            stop,
            done,
        })
    }

    /// Starts the emulator on a runtime of its own with `threads` worker threads, so that
    /// it behaves like a separate server: a client's work does not slow it, nor it the
    /// client's. Stops when the returned value is dropped.
    pub fn start_dedicated(
        config: EmulatorConfig,
        threads: usize,
    ) -> Result<DedicatedEmulator, StartError> {
        let cpu = Arc::new(crate::cpu::ThreadCpu::default());
        let (on_start, on_stop) = (Arc::clone(&cpu), Arc::clone(&cpu));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("s3tune-emulator")
            .on_thread_start(move || on_start.started())
            .on_thread_stop(move || on_stop.stopped())
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let handle = runtime.block_on(Emulator::start(config))?;
        Ok(DedicatedEmulator {
            handle: Some(handle),
            runtime: Some(runtime),
            cpu,
        })
    }
}

impl EmulatorHandle {
    /// `http://ADDR`: the endpoint URL for clients (path-style). A server bound to every
    /// address (`0.0.0.0`, `::`) is reached on this machine at the loopback address.
    #[must_use]
    pub fn endpoint(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        format!("http://{addr}")
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The region reported to clients.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.config.region
    }

    /// The access key clients must sign with.
    #[must_use]
    pub fn access_key(&self) -> &str {
        &self.config.access_key
    }

    /// The secret key clients must sign with.
    #[must_use]
    pub fn secret_key(&self) -> &str {
        &self.config.secret_key
    }

    /// The network profile in force.
    #[must_use]
    pub fn profile(&self) -> &NetworkProfile {
        self.network.profile()
    }

    /// The server's counters so far.
    #[must_use]
    pub fn stats(&self) -> StatsSnapshot {
        self.network.stats().snapshot()
    }

    /// The server's live counters (and its watch for a first request, [`Stats::mark`]).
    #[must_use]
    pub fn live_stats(&self) -> Arc<Stats> {
        Arc::clone(self.network.stats())
    }

    /// The store, to add objects while serving.
    #[must_use]
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Stops accepting, lets open connections finish (up to 5 s), then returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let _ = self.done.wait_for(|d| *d).await;
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// An emulator on its own runtime (see [`Emulator::start_dedicated`]).
#[derive(Debug)]
pub struct DedicatedEmulator {
    handle: Option<EmulatorHandle>,
    runtime: Option<tokio::runtime::Runtime>,
    cpu: Arc<crate::cpu::ThreadCpu>,
}

impl DedicatedEmulator {
    /// The CPU time of the server's threads, to tell a client in the same process its
    /// own.
    #[must_use]
    pub fn cpu(&self) -> Arc<crate::cpu::ThreadCpu> {
        Arc::clone(&self.cpu)
    }
}

impl std::ops::Deref for DedicatedEmulator {
    type Target = EmulatorHandle;

    fn deref(&self) -> &EmulatorHandle {
        self.handle.as_ref().expect("handle lives until drop")
    }
}

impl Drop for DedicatedEmulator {
    fn drop(&mut self) {
        if let (Some(handle), Some(runtime)) = (self.handle.take(), self.runtime.take()) {
            runtime.block_on(handle.shutdown());
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

async fn serve(
    listener: TcpListener,
    s3: S3Service,
    network: Arc<Network>,
    mut stop: watch::Receiver<bool>,
    done: watch::Sender<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).keep_alive(true).writev(true);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let owed = Arc::new(Owed::default());
                    let service = ConnService {
                        s3: s3.clone(),
                        conn: Arc::new(network.connection()),
                        owed: Arc::clone(&owed),
                    };
                    let io = TokioIo::new(ContinueIo::new(stream, owed));
                    let conn = graceful.watch(http.serve_connection(io, service));
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "connection closed with an error");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN:?}; closing them");
    }
    let _ = done.send(true);
}

/// The service of one TCP connection: admission, latency and shaping around s3s.
#[derive(Clone)]
struct ConnService {
    s3: S3Service,
    conn: Arc<Connection>,
    /// Set when this request's answer must follow a `100 Continue` hyper will not send.
    owed: Arc<Owed>,
}

fn error_response(code: S3ErrorCode, message: &'static str) -> http::Response<s3s::Body> {
    S3Error::with_message(code, message)
        .to_http_response()
        .unwrap_or_else(|_| {
            let mut r = http::Response::new(s3s::Body::empty());
            *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
}

impl hyper::service::Service<http::Request<Incoming>> for ConnService {
    type Response = http::Response<ShapedBody<s3s::Body>>;
    type Error = s3s::HttpError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        let ConnService { s3, conn, owed } = self.clone();
        Box::pin(async move {
            let t0 = Instant::now();
            let owes_continue = expect::owed_by(&req);
            let method = req.method().clone();
            let uri = req.uri().clone();
            let host = req
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok());
            let prefix = crate::network::rate_prefix(host, uri.path());
            let class = crate::network::RequestClass::of(&method, uri.path(), uri.query());
            let (mut resp, in_flight) = match conn.admit(&method, &prefix, class) {
                Admission::Serve(guard) => {
                    let req = if conn.shapes(Direction::Up) {
                        let conn = Arc::clone(&conn);
                        req.map(|b| {
                            s3s::Body::http_body_unsync(ShapedBody::new(
                                b,
                                conn,
                                Direction::Up,
                                None,
                                None,
                            ))
                        })
                    } else {
                        req.map(s3s::Body::from)
                    };
                    let req = if unsized_body(&req) {
                        sized(req).await
                    } else {
                        Ok(req)
                    };
                    match req {
                        Ok(req) => (s3.call(req).await?, Some(guard)),
                        Err(e) => (
                            e.to_http_response().unwrap_or_else(|_| {
                                error_response(S3ErrorCode::InternalError, "internal error")
                            }),
                            Some(guard),
                        ),
                    }
                }
                Admission::SlowDown => (
                    error_response(S3ErrorCode::SlowDown, "Please reduce your request rate."),
                    None,
                ),
                Admission::InternalError => (
                    error_response(
                        S3ErrorCode::InternalError,
                        "We encountered an internal error. Please try again.",
                    ),
                    None,
                ),
            };
            let delay = conn.first_byte_delay();
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let id = request_id();
            name_response(&mut resp, &id);
            let status = resp.status();
            if status == http::StatusCode::NOT_MODIFIED {
                // 304 carries no body (s3s renders one for the error).
                *resp.body_mut() = s3s::Body::empty();
                resp.headers_mut().remove(http::header::CONTENT_LENGTH);
                resp.headers_mut().remove(http::header::CONTENT_TYPE);
            }
            let reset_at = if method == http::Method::GET && status.is_success() {
                let len = resp
                    .headers()
                    .get(http::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                conn.reset_point(len)
            } else {
                None
            };
            tracing::info!(
                target: "s3tune_emulator::request",
                %method, %uri, status = status.as_u16(), ms = t0.elapsed().as_secs_f64() * 1e3,
                request_id = %id,
                reset = reset_at.is_some(),
            );
            if owes_continue {
                owed.set();
            }
            Ok(resp.map(|b| ShapedBody::new(b, conn, Direction::Down, reset_at, in_flight)))
        })
    }
}
