//! Measures what each named network profile delivers on loopback, beside what it is
//! configured to deliver:
//!
//! * 1-connection throughput (one large GET, first byte to last);
//! * 32-connection aggregate throughput (steady state: from the moment all 32 have their
//!   headers until the first one finishes);
//! * first-byte latency, median and p99, over many small GETs on 32 connections;
//! * observed 503 and mid-body reset rates over the same requests, with 95 % intervals.
//!
//! Run: `cargo run --release -p s3tune-emulator --example profile_bench`
//! (`PROFILE_BENCH_REQUESTS=N` changes the number of small GETs, default 2000).

#[path = "common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::{Conn, client_runtime, mbps, ms, presign, quantile, spread, wilson};
use s3tune_emulator::{DedicatedEmulator, Emulator, EmulatorConfig, NetworkProfile, PROFILE_NAMES};

const MIB: u64 = 1024 * 1024;
const BIG: u64 = 2048 * MIB;
const REPS: usize = 3;
const CONNS: u64 = 32;

/// One large GET on one connection; bytes/s from first byte to last. Broken transfers
/// (the faulty profile resets some) are retried: only complete ones count.
async fn single(server: &DedicatedEmulator, bytes: u64) -> f64 {
    let req = presign(
        server,
        "bench",
        "big",
        Some(format!("bytes=0-{}", bytes - 1)),
    )
    .await;
    let mut conn = Conn::connect(server.addr()).await;
    loop {
        let f = conn.get(&req, |_| {}).await;
        if f.status == 206 && !f.broken && f.bytes == bytes {
            return bytes as f64 / (f.done - f.first_byte).as_secs_f64();
        }
    }
}

/// (time, bytes received so far) when all 32 have their headers, and when the first ends.
type Window = (Option<(Instant, u64)>, Option<(Instant, u64)>);

/// 32 concurrent ranged GETs of `each` bytes; steady-state aggregate bytes/s.
async fn aggregate(server: &DedicatedEmulator, each: u64) -> f64 {
    let received = Arc::new(AtomicU64::new(0));
    let headers = Arc::new(AtomicUsize::new(0));
    let window: Arc<Mutex<Window>> = Arc::default();
    // Sign every request first, so that all 32 start together.
    let mut reqs = Vec::new();
    for i in 0..CONNS {
        reqs.push(
            presign(
                server,
                "bench",
                "big",
                Some(format!("bytes={}-{}", i * each, (i + 1) * each - 1)),
            )
            .await,
        );
    }
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for req in reqs {
        let (received, headers, window, addr) = (
            received.clone(),
            headers.clone(),
            window.clone(),
            server.addr(),
        );
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(addr).await;
            let mut first = true;
            // Under `faulty` some requests get 503 or lose their connection: retry, as
            // a client would, until the range arrives whole.
            let f = loop {
                let f = conn
                    .get(&req, |d| {
                        if first {
                            first = false;
                            if headers.fetch_add(1, Ordering::SeqCst) + 1 == CONNS as usize {
                                window.lock().unwrap().0 =
                                    Some((Instant::now(), received.load(Ordering::SeqCst)));
                            }
                        }
                        received.fetch_add(d.len() as u64, Ordering::SeqCst);
                    })
                    .await;
                if f.status == 206 && !f.broken {
                    break f;
                }
            };
            let mut w = window.lock().unwrap();
            if w.1.is_none() {
                w.1 = Some((f.done, received.load(Ordering::SeqCst)));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let w = window.lock().unwrap();
    match (w.0, w.1) {
        (Some((ta, ba)), Some((tb, bb))) if tb > ta => (bb - ba) as f64 / (tb - ta).as_secs_f64(),
        // One finished before the last started (only when unshaped): whole-run average.
        _ => received.load(Ordering::SeqCst) as f64 / t0.elapsed().as_secs_f64(),
    }
}

#[derive(Default)]
struct Requests {
    latencies: Vec<f64>,
    n: u64,
    e503: u64,
    served: u64,
    resets: u64,
}

/// `n` small GETs spread over 32 connections.
async fn requests(server: &DedicatedEmulator, n: u64) -> Requests {
    let req = presign(server, "bench", "small", None).await;
    let out = Arc::new(Mutex::new(Requests::default()));
    let mut tasks = Vec::new();
    for c in 0..CONNS {
        let (req, out, addr) = (req.clone(), out.clone(), server.addr());
        let mine = n / CONNS + u64::from(c < n % CONNS);
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(addr).await;
            for _ in 0..mine {
                let f = conn.get(&req, |_| {}).await;
                let mut o = out.lock().unwrap();
                o.n += 1;
                o.latencies.push((f.first_byte - f.started).as_secs_f64());
                match f.status {
                    503 => o.e503 += 1,
                    200 => {
                        o.served += 1;
                        o.resets += u64::from(f.broken);
                    }
                    0 => o.resets += 1,
                    _ => {}
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(out).ok().unwrap().into_inner().unwrap()
}

fn row(figure: &str, configured: Option<f64>, measured: &[f64], fmt: fn(f64) -> String) {
    let median = quantile(measured, 0.5);
    let (conf, verdict) = match configured {
        Some(c) if c > 0.0 => {
            let ratio = median / c;
            let ok = if (0.9..=1.1).contains(&ratio) {
                "ok"
            } else {
                "OFF"
            };
            (fmt(c), format!("{ratio:.3}  {ok}"))
        }
        _ => ("unshaped".to_owned(), "-".to_owned()),
    };
    let shown = if measured.len() == 1 {
        fmt(measured[0])
    } else {
        spread(measured, fmt)
    };
    println!("  {figure:<28} {conf:>12}   {shown:>32}   {verdict}");
}

fn rate_row(figure: &str, configured: f64, k: u64, n: u64) {
    let (lo, hi) = wilson(k, n);
    let verdict = if (lo..=hi).contains(&configured) {
        "ok (in 95% CI)"
    } else {
        "OFF"
    };
    println!(
        "  {figure:<28} {:>11.2}%   {:>9.2}% [{:.2}%, {:.2}%] of {n:<5}   {verdict}",
        configured * 100.0,
        k as f64 / n.max(1) as f64 * 100.0,
        lo * 100.0,
        hi * 100.0
    );
}

fn main() {
    let n_requests: u64 = std::env::var("PROFILE_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    println!("s3tune emulator profile benchmark");
    println!(
        "machine: {}; server and client on separate 2-thread runtimes",
        common::machine()
    );
    println!(
        "throughput: min / median / max over {REPS} runs; latency and rates: over all small GETs"
    );
    println!("ratio = median / configured (ok within ±10%); rates: observed with a 95% interval");
    for name in PROFILE_NAMES {
        let profile = NetworkProfile::named(name).unwrap();
        let config = EmulatorConfig {
            network: profile.clone(),
            objects: vec![
                format!("bench/big={BIG}").parse().unwrap(),
                "bench/small=1KiB".parse().unwrap(),
            ],
            ..EmulatorConfig::default()
        };
        let server = Emulator::start_dedicated(config, 2).expect("emulator starts");
        let conn_rate = profile.connection_bandwidth.map(|r| r.bytes_per_sec());
        let link_rate = profile.link_bandwidth.map(|r| r.bytes_per_sec());
        let agg_rate = match (conn_rate, link_rate) {
            (Some(c), Some(l)) => Some((c * CONNS as f64).min(l)),
            (Some(c), None) => Some(c * CONNS as f64),
            (None, l) => l,
        };
        // About 1.5 s of transfer per measurement at the configured rate.
        let single_bytes = conn_rate.map_or(1024 * MIB, |r| {
            ((r * 1.5) as u64).clamp(64 * MIB, 1024 * MIB)
        });
        let each = agg_rate.map_or(BIG / CONNS, |r| {
            ((r * 1.5 / CONNS as f64) as u64).clamp(4 * MIB, BIG / CONNS)
        });

        let rt = client_runtime(2);
        let (singles, aggs, reqs) = rt.block_on(async {
            let mut singles = Vec::new();
            let mut aggs = Vec::new();
            for _ in 0..REPS {
                singles.push(single(&server, single_bytes).await);
                aggs.push(aggregate(&server, each).await);
            }
            (singles, aggs, requests(&server, n_requests).await)
        });
        println!("\nprofile `{name}`: {}", profile.describe());
        println!(
            "  {:<28} {:>12}   {:>32}   ratio",
            "figure", "configured", "measured"
        );
        row("1-connection throughput", conn_rate, &singles, mbps);
        row("32-connection throughput", agg_rate, &aggs, mbps);
        let median = profile.first_byte_latency.as_secs_f64();
        let p99 = median * (2.3263 * profile.first_byte_jitter).exp();
        let lat = &reqs.latencies;
        row(
            "first-byte latency median",
            Some(median),
            &[quantile(lat, 0.5)],
            ms,
        );
        row(
            "first-byte latency p99",
            Some(p99),
            &[quantile(lat, 0.99)],
            ms,
        );
        rate_row(
            "503 SlowDown rate",
            profile.slowdown_probability,
            reqs.e503,
            reqs.n,
        );
        rate_row(
            "mid-body reset rate",
            profile.reset_probability,
            reqs.resets,
            reqs.served,
        );
        let s = server.stats();
        println!(
            "  server counted: {} requests, {} injected 503, {} throttled, {} resets",
            s.requests, s.injected_slowdowns, s.throttled, s.resets
        );
    }
}
