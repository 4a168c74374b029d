//! Network emulation: what happens to a request between the socket and the S3 logic.
//!
//! The S3 protocol layer (`crate::s3`) knows nothing of networks; this module wraps each
//! TCP connection and each request around it:
//!
//! * [`Network`] holds what all connections share: the link's token buckets (one per
//!   direction), the request-rate limiters, the in-flight count and the [`Stats`];
//! * [`Connection`] is one accepted TCP connection: its own token buckets and its own
//!   random stream, seeded from the profile's seed and the connection's number, so a
//!   faulty run replays the same draws connection by connection;
//! * [`ShapedBody`](body::ShapedBody) paces a request or response body through the
//!   connection's and the link's buckets and cuts it off where a reset was drawn.

pub mod body;
pub mod bucket;
pub mod profile;
pub mod requests;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use bucket::TokenBucket;
pub use profile::NetworkProfile;
pub use requests::{RequestClass, RequestCounts};

/// Largest piece of body sent through the token buckets at once: pacing granularity.
pub const SHAPING_PIECE: usize = 256 * 1024;

/// Counters of what the server did, readable while it runs.
#[derive(Debug, Default)]
pub struct Stats {
    /// TCP connections accepted.
    pub connections: AtomicU64,
    /// HTTP requests received.
    pub requests: AtomicU64,
    /// The same by the kind S3 prices them by.
    pub by_class: requests::ClassCounters,
    /// Requests answered `503 SlowDown` because a rate or concurrency limit was exceeded.
    pub throttled: AtomicU64,
    /// Requests answered `503 SlowDown` by fault injection.
    pub injected_slowdowns: AtomicU64,
    /// Requests answered `500 InternalError` by fault injection.
    pub injected_internal_errors: AtomicU64,
    /// Response bodies cut off by fault injection.
    pub resets: AtomicU64,
    /// Body bytes sent to clients.
    pub bytes_sent: AtomicU64,
    /// Body bytes received from clients.
    pub bytes_received: AtomicU64,
    /// When the first request since the last [`Stats::mark`] arrived, in nanoseconds
    /// since the Unix epoch (0: none yet).
    first_since_mark: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[allow(missing_docs)]
pub struct StatsSnapshot {
    pub connections: u64,
    pub requests: u64,
    pub throttled: u64,
    pub injected_slowdowns: u64,
    pub injected_internal_errors: u64,
    pub resets: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

impl Stats {
    /// Starts watching for the next request: [`Stats::first_since_mark`] then tells when
    /// it arrived. A client run as a program is timed from its first request this way, as
    /// one that times itself is, so that its start-up (the same whatever its settings)
    /// is not counted.
    pub fn mark(&self) {
        self.first_since_mark.store(0, Ordering::SeqCst);
    }

    /// When the first request since the last [`Stats::mark`] arrived, if one has.
    #[must_use]
    pub fn first_since_mark(&self) -> Option<std::time::SystemTime> {
        match self.first_since_mark.load(Ordering::SeqCst) {
            0 => None,
            n => Some(std::time::UNIX_EPOCH + std::time::Duration::from_nanos(n)),
        }
    }

    /// Notes a request's arrival.
    fn arrived(&self) {
        if self.first_since_mark.load(Ordering::Relaxed) == 0 {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
            let _ = self.first_since_mark.compare_exchange(
                0,
                now.max(1),
                Ordering::SeqCst,
                Ordering::Relaxed,
            );
        }
    }

    /// Reads every counter.
    #[must_use]
    pub fn snapshot(&self) -> StatsSnapshot {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            connections: r(&self.connections),
            requests: r(&self.requests),
            throttled: r(&self.throttled),
            injected_slowdowns: r(&self.injected_slowdowns),
            injected_internal_errors: r(&self.injected_internal_errors),
            resets: r(&self.resets),
            bytes_sent: r(&self.bytes_sent),
            bytes_received: r(&self.bytes_received),
        }
    }
}

/// The prefix whose request rate a request counts against: the host it was sent to and
/// the path up to its last `/` (so, in either addressing style, its bucket and its key's
/// folder). S3 partitions a bucket by key prefix and gives each partition its rate
/// (5,500 GET/s, 3,500 PUT/s): a dataset under one folder shares one, folders side by
/// side do not.
#[must_use]
pub fn rate_prefix(host: Option<&str>, path: &str) -> String {
    let dir = path.rfind('/').map_or(path, |i| &path[..=i]);
    format!("{}{dir}", host.unwrap_or_default())
}

/// State shared by all connections of one server.
#[derive(Debug)]
pub struct Network {
    profile: NetworkProfile,
    link_down: Option<TokenBucket>,
    link_up: Option<TokenBucket>,
    /// The request-rate limiters, one per prefix and kind (reads, writes), made as
    /// prefixes are first seen: S3 scales its request rates per prefix.
    limiters: Mutex<HashMap<(bool, String), Arc<TokenBucket>>>,
    in_flight: AtomicU32,
    next_connection: AtomicU64,
    stats: Arc<Stats>,
}

/// What to do with a request, decided before it reaches the S3 logic.
#[derive(Debug)]
pub enum Admission {
    /// Serve it; the guard counts it as in flight until dropped.
    Serve(InFlight),
    /// Answer `503 SlowDown`.
    SlowDown,
    /// Answer `500 InternalError`.
    InternalError,
}

/// Counts one request as in flight for `max_concurrent_requests`; released on drop.
#[derive(Debug)]
pub struct InFlight(Arc<Network>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Network {
    /// The shared state for `profile` (assumed valid).
    #[must_use]
    pub fn new(profile: NetworkProfile) -> Arc<Self> {
        let bw = |r: Option<crate::units::Rate>| {
            r.map(|r| TokenBucket::for_bandwidth(r.bytes_per_sec(), SHAPING_PIECE))
        };
        Arc::new(Self {
            link_down: bw(profile.link_bandwidth),
            link_up: bw(profile.link_bandwidth),
            limiters: Mutex::new(HashMap::new()),
            in_flight: AtomicU32::new(0),
            next_connection: AtomicU64::new(0),
            stats: Arc::new(Stats::default()),
            profile,
        })
    }

    /// Takes one request of the given kind from `prefix`'s rate limiter: `false` when the
    /// prefix is past its rate (no limit: always `true`).
    fn take_request(&self, reading: bool, prefix: &str, now: Instant) -> bool {
        let rate = if reading {
            self.profile.get_rate_limit
        } else {
            self.profile.put_rate_limit
        };
        let Some(rate) = rate else { return true };
        let limiter = {
            let mut all = self.limiters.lock().expect("limiter map lock poisoned");
            Arc::clone(
                all.entry((reading, prefix.to_owned()))
                    .or_insert_with(|| Arc::new(TokenBucket::new(rate, rate.max(1.0)))),
            )
        };
        limiter.try_take(now)
    }

    /// The profile in force.
    #[must_use]
    pub fn profile(&self) -> &NetworkProfile {
        &self.profile
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// State for a newly accepted TCP connection.
    #[must_use]
    pub fn connection(self: &Arc<Self>) -> Connection {
        let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        let bw = |r: Option<crate::units::Rate>| {
            r.map(|r| TokenBucket::for_bandwidth(r.bytes_per_sec(), SHAPING_PIECE))
        };
        // Mix the connection number into the seed so streams differ but replay.
        let seed = self.profile.seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Connection {
            net: Arc::clone(self),
            down: bw(self.profile.connection_bandwidth),
            up: bw(self.profile.connection_bandwidth),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }
}

/// One TCP connection's emulation state.
#[derive(Debug)]
pub struct Connection {
    net: Arc<Network>,
    down: Option<TokenBucket>,
    up: Option<TokenBucket>,
    rng: Mutex<StdRng>,
}

/// Which way a body flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Server to client (response bodies).
    Down,
    /// Client to server (request bodies).
    Up,
}

impl Connection {
    /// The shared state.
    #[must_use]
    pub fn network(&self) -> &Arc<Network> {
        &self.net
    }

    fn with_rng<T>(&self, f: impl FnOnce(&mut StdRng) -> T) -> T {
        f(&mut self.rng.lock().expect("rng lock poisoned"))
    }

    /// Decides whether a request with `method` for a key under `prefix` (see
    /// [`rate_prefix`]), of `class`, is served, throttled or failed.
    pub fn admit(&self, method: &http::Method, prefix: &str, class: RequestClass) -> Admission {
        let net = &self.net;
        let p = &net.profile;
        net.stats.requests.fetch_add(1, Ordering::Relaxed);
        net.stats.by_class.count(class);
        net.stats.arrived();
        let now = Instant::now();
        let reading = matches!(*method, http::Method::GET | http::Method::HEAD);
        if !net.take_request(reading, prefix, now) {
            net.stats.throttled.fetch_add(1, Ordering::Relaxed);
            return Admission::SlowDown;
        }
        let in_flight = net.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        let guard = InFlight(Arc::clone(net));
        if let Some(max) = p.max_concurrent_requests
            && in_flight > max
        {
            net.stats.throttled.fetch_add(1, Ordering::Relaxed);
            return Admission::SlowDown;
        }
        if p.slowdown_probability > 0.0 || p.internal_error_probability > 0.0 {
            let u: f64 = self.with_rng(|r| r.random());
            if u < p.slowdown_probability {
                net.stats.injected_slowdowns.fetch_add(1, Ordering::Relaxed);
                return Admission::SlowDown;
            }
            if u < p.slowdown_probability + p.internal_error_probability {
                net.stats
                    .injected_internal_errors
                    .fetch_add(1, Ordering::Relaxed);
                return Admission::InternalError;
            }
        }
        Admission::Serve(guard)
    }

    /// The delay before this response's first byte: log-normal around the median.
    pub fn first_byte_delay(&self) -> Duration {
        let p = &self.net.profile;
        if p.first_byte_latency.is_zero() {
            return Duration::ZERO;
        }
        if p.first_byte_jitter == 0.0 {
            return p.first_byte_latency;
        }
        let z: f64 = self.with_rng(|r| StandardNormal.sample(r));
        // Cap at 20× the median so one draw cannot stall a test.
        let factor = (p.first_byte_jitter * z).exp().min(20.0);
        p.first_byte_latency.mul_f64(factor)
    }

    /// Where to cut off a response body of `len` bytes, if a reset is drawn for it.
    pub fn reset_point(&self, len: u64) -> Option<u64> {
        let p = self.net.profile.reset_probability;
        if p <= 0.0 || len == 0 {
            return None;
        }
        self.with_rng(|r| {
            if r.random::<f64>() < p {
                Some(r.random_range(0..len))
            } else {
                None
            }
        })
    }

    /// The buckets a body in `dir` is paced through: this connection's, then the link's.
    pub(crate) fn buckets(&self, dir: Direction) -> [Option<&TokenBucket>; 2] {
        match dir {
            Direction::Down => [self.down.as_ref(), self.net.link_down.as_ref()],
            Direction::Up => [self.up.as_ref(), self.net.link_up.as_ref()],
        }
    }

    /// Whether any bucket shapes `dir`.
    pub(crate) fn shapes(&self, dir: Direction) -> bool {
        self.buckets(dir).iter().any(Option::is_some)
    }
}
