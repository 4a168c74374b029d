//! Network emulation seen from a client: bandwidth, latency, throttling, faults, replay.
//! Bounds are wide (timing on a shared 2-core machine is noisy); the profile benchmark
//! measures the same figures precisely.

use std::time::{Duration, Instant};

use s3tune_emulator::{Emulator, EmulatorConfig, EmulatorHandle, NetworkProfile, Rate, synthetic};

use crate::common::{RawConn, client, presign_get};

const MB: f64 = 1e6;

async fn serve(network: NetworkProfile, objects: &[&str]) -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        network,
        objects: objects.iter().map(|o| o.parse().unwrap()).collect(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_gets_its_bandwidth() {
    let net = NetworkProfile {
        connection_bandwidth: Some(Rate(20.0 * MB)),
        ..NetworkProfile::unlimited()
    };
    let server = serve(net, &["bkt/k=8000000"]).await;
    let (uri, headers) = presign_get(&client(&server), "bkt", "k", None).await;
    let mut conn = RawConn::connect(server.addr()).await;
    let t0 = Instant::now();
    let r = conn.get(&uri, &headers, None).await;
    let rate = r.body.len() as f64 / t0.elapsed().as_secs_f64();
    assert_eq!(synthetic::verify("k", 0, &r.body), None);
    assert_eq!(r.body.len(), 8_000_000);
    assert!(
        rate < 20.0 * MB * 1.15,
        "faster than the configured 20 MB/s: {:.1} MB/s",
        rate / MB
    );
    assert!(
        rate > 20.0 * MB * 0.5,
        "far slower than 20 MB/s: {:.1} MB/s",
        rate / MB
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_share_the_link() {
    let net = NetworkProfile {
        connection_bandwidth: Some(Rate(40.0 * MB)),
        link_bandwidth: Some(Rate(30.0 * MB)),
        ..NetworkProfile::unlimited()
    };
    let server = serve(net, &["bkt/k=4000000"]).await;
    let (uri, headers) = presign_get(&client(&server), "bkt", "k", None).await;
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (uri, headers, addr) = (uri.clone(), headers.clone(), server.addr());
            tokio::spawn(async move {
                RawConn::connect(addr)
                    .await
                    .get(&uri, &headers, None)
                    .await
                    .body
                    .len()
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let rate = total as f64 / t0.elapsed().as_secs_f64();
    assert_eq!(total, 16_000_000);
    assert!(
        rate < 30.0 * MB * 1.15,
        "aggregate above the 30 MB/s link: {:.1} MB/s",
        rate / MB
    );
    assert!(
        rate > 30.0 * MB * 0.5,
        "aggregate far below the link: {:.1} MB/s",
        rate / MB
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_byte_latency_is_applied() {
    let net = NetworkProfile {
        first_byte_latency: Duration::from_millis(60),
        ..NetworkProfile::unlimited()
    };
    let server = serve(net, &["bkt/k=10"]).await;
    let (uri, headers) = presign_get(&client(&server), "bkt", "k", None).await;
    let mut conn = RawConn::connect(server.addr()).await;
    for _ in 0..5 {
        let r = conn.get(&uri, &headers, None).await;
        assert_eq!(r.status, 200);
        assert!(
            r.first_byte >= Duration::from_millis(60),
            "{:?}",
            r.first_byte
        );
        assert!(
            r.first_byte < Duration::from_millis(60) + Duration::from_secs(2),
            "{:?}",
            r.first_byte
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_rate_limit_answers_slowdown() {
    let net = NetworkProfile {
        get_rate_limit: Some(20.0),
        ..NetworkProfile::unlimited()
    };
    let server = serve(net, &["bkt/k=10"]).await;
    let (uri, headers) = presign_get(&client(&server), "bkt", "k", None).await;
    let mut conn = RawConn::connect(server.addr()).await;
    let t0 = Instant::now();
    let mut ok = 0;
    let mut slow = 0;
    for _ in 0..100 {
        let r = conn.get(&uri, &headers, None).await;
        match r.status {
            200 => ok += 1,
            503 => {
                assert!(String::from_utf8_lossy(&r.body).contains("<Code>SlowDown</Code>"));
                slow += 1;
            }
            s => panic!("unexpected status {s}"),
        }
    }
    let allowed = 20.0 + 20.0 * t0.elapsed().as_secs_f64() + 1.0;
    assert!(
        f64::from(ok) <= allowed,
        "{ok} admitted, at most {allowed:.0} allowed"
    );
    assert!(ok >= 1 && slow >= 1, "ok {ok}, slowdown {slow}");
    assert_eq!(server.stats().throttled, slow as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_prefix_has_its_own_request_rate() {
    let net = NetworkProfile {
        get_rate_limit: Some(20.0),
        ..NetworkProfile::unlimited()
    };
    let server = serve(net, &["bkt/a/k=10", "bkt/b/k=10"]).await;
    let c = client(&server);
    let a = presign_get(&c, "bkt", "a/k", None).await;
    let b = presign_get(&c, "bkt", "b/k", None).await;
    let mut conn = RawConn::connect(server.addr()).await;
    let t0 = Instant::now();
    let (mut ok_a, mut ok_b) = (0, 0);
    for i in 0..100 {
        let ((uri, headers), ok) = if i % 2 == 0 {
            (&a, &mut ok_a)
        } else {
            (&b, &mut ok_b)
        };
        let r = conn.get(uri, headers, None).await;
        match r.status {
            200 => *ok += 1,
            503 => {}
            s => panic!("unexpected status {s}"),
        }
    }
    let allowed = 20.0 + 20.0 * t0.elapsed().as_secs_f64() + 1.0;
    // Each folder gets its full burst, so together they pass what one limit would allow.
    for (name, ok) in [("a/", ok_a), ("b/", ok_b)] {
        assert!(
            (20..=allowed as i32).contains(&ok),
            "{name}: {ok} admitted, 20 to {allowed:.0} allowed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_answers_slowdown() {
    let net = NetworkProfile {
        max_concurrent_requests: Some(2),
        connection_bandwidth: Some(Rate(1.0 * MB)),
        ..NetworkProfile::unlimited()
    };
    let server = serve(net, &["bkt/big=1500000", "bkt/small=10"]).await;
    let c = client(&server);
    let (big, big_h) = presign_get(&c, "bkt", "big", None).await;
    let (small, small_h) = presign_get(&c, "bkt", "small", None).await;
    // Two slow downloads hold both slots (their headers are in, bodies take ~1.5 s)...
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut conn = RawConn::connect(server.addr()).await;
        let (uri, h) = (big.clone(), big_h.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        holders.push(tokio::spawn(async move {
            let _ = tx.send(());
            conn.get(&uri, &h, None).await
        }));
        rx.await.unwrap();
    }
    // ...wait until the server has admitted both.
    let t0 = Instant::now();
    while server.stats().requests < 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "downloads did not start"
        );
        tokio::task::yield_now().await;
    }
    let mut conn = RawConn::connect(server.addr()).await;
    let r = conn.get(&small, &small_h, None).await;
    assert_eq!(r.status, 503, "a third concurrent request is throttled");
    for h in holders {
        assert_eq!(h.await.unwrap().status, 200);
    }
    let r = conn.get(&small, &small_h, None).await;
    assert_eq!(r.status, 200, "slots are released when bodies finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_errors_and_resets_at_their_rates() {
    let net = NetworkProfile {
        slowdown_probability: 0.3,
        internal_error_probability: 0.1,
        reset_probability: 0.5,
        seed: 42,
        ..NetworkProfile::unlimited()
    };
    let server = serve(net, &["bkt/k=65536"]).await;
    let (uri, headers) = presign_get(&client(&server), "bkt", "k", None).await;
    let mut conn = RawConn::connect(server.addr()).await;
    let (mut e503, mut e500, mut resets, mut whole) = (0, 0, 0, 0);
    let n = 500;
    for _ in 0..n {
        if !conn.is_open() {
            conn = RawConn::connect(server.addr()).await;
        }
        let r = conn.get(&uri, &headers, None).await;
        match r.status {
            503 => e503 += 1,
            500 => e500 += 1,
            200 if r.broken => {
                resets += 1;
                assert!(r.body.len() < 65536);
                assert_eq!(
                    synthetic::verify("k", 0, &r.body),
                    None,
                    "a cut body is a true prefix"
                );
            }
            200 => {
                whole += 1;
                assert_eq!(synthetic::verify("k", 0, &r.body), None);
                assert_eq!(r.body.len(), 65536);
            }
            s => panic!("unexpected status {s}"),
        }
    }
    let frac = |x: i32| f64::from(x) / f64::from(n);
    assert!((0.2..0.4).contains(&frac(e503)), "503 rate {}", frac(e503));
    assert!(
        (0.04..0.17).contains(&frac(e500)),
        "500 rate {}",
        frac(e500)
    );
    let served = resets + whole;
    let reset_rate = f64::from(resets) / f64::from(served);
    assert!(
        (0.35..0.65).contains(&reset_rate),
        "reset rate {reset_rate}"
    );
    let s = server.stats();
    assert_eq!(
        (s.injected_slowdowns, s.injected_internal_errors, s.resets),
        (e503 as u64, e500 as u64, resets as u64)
    );
}

/// The outcome of each of 60 requests on one connection against `faulty` with `seed`.
async fn outcomes(seed: u64) -> Vec<(u16, bool, usize)> {
    let net = NetworkProfile {
        seed,
        first_byte_latency: Duration::ZERO,
        connection_bandwidth: None,
        link_bandwidth: None,
        ..NetworkProfile::faulty()
    };
    let net = NetworkProfile {
        reset_probability: 0.3,
        slowdown_probability: 0.2,
        ..net
    };
    let server = serve(net, &["bkt/k=100000"]).await;
    let (uri, headers) = presign_get(&client(&server), "bkt", "k", None).await;
    let mut out = Vec::new();
    for _ in 0..60 {
        // A fresh connection each time: connection numbers, and so streams, line up.
        let mut conn = RawConn::connect(server.addr()).await;
        let r = conn.get(&uri, &headers, None).await;
        out.push((r.status, r.broken, r.body.len()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_replays_the_same_faults() {
    let a = outcomes(7).await;
    let b = outcomes(7).await;
    let c = outcomes(8).await;
    assert_eq!(a, b, "same seed, same faults");
    assert_ne!(a, c, "another seed, other faults");
    assert!(
        a.iter().any(|o| o.1) && a.iter().any(|o| o.0 == 503),
        "{a:?}"
    );
}
