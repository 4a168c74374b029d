//! Is the emulator ever the bottleneck? Fetches a 1 GiB synthetic object with 8 parallel
//! ranged GETs from an `unlimited` server, beside a same-run baseline: a plain loopback
//! TCP copy of the same bytes over 8 connections (a server writing from one static
//! buffer, a client reading into one): the machine's ceiling. Runs alternate, so both see
//! the same machine noise.
//!
//! Timed runs discard the bytes (counting them exactly); one untimed run first checks
//! every byte against the synthetic pattern.
//!
//! Run: `cargo run --release -p s3tune-emulator --example raw_throughput`

#[path = "common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use common::{Conn, client_runtime, gbps, presign, quantile, spread};
use s3tune_emulator::synthetic::Pattern;
use s3tune_emulator::{Emulator, EmulatorConfig, NetworkProfile};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GIB: u64 = 1024 * 1024 * 1024;
const PARTS: u64 = 8;
const REPS: usize = 5;
const BUF: usize = 256 * 1024;

/// The baseline server: for each connection, read a byte count, write that many bytes.
fn start_tcp_server() -> (SocketAddr, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        let block: Arc<[u8]> = vec![0x5a; BUF].into();
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            let block = block.clone();
            tokio::spawn(async move {
                let mut left = s.read_u64().await.unwrap();
                while left > 0 {
                    let n = left.min(BUF as u64) as usize;
                    s.write_all(&block[..n]).await.unwrap();
                    left -= n as u64;
                }
            });
        }
    });
    (addr, rt)
}

async fn tcp_copy(addr: SocketAddr) -> f64 {
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..PARTS)
        .map(|_| {
            tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                s.write_u64(GIB / PARTS).await.unwrap();
                let mut buf = vec![0u8; BUF];
                let mut got = 0u64;
                while got < GIB / PARTS {
                    let n = s.read(&mut buf).await.unwrap();
                    assert!(n > 0, "baseline connection closed early");
                    got += n as u64;
                }
                got
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, GIB);
    GIB as f64 / t0.elapsed().as_secs_f64()
}

/// 8 parallel ranged GETs of the whole object; bytes/s. With `verify`, every byte is
/// checked against the pattern (slower; not timed).
async fn emulator_fetch(server: &s3tune_emulator::DedicatedEmulator, verify: bool) -> f64 {
    let part = GIB / PARTS;
    let mut reqs = Vec::new();
    for i in 0..PARTS {
        reqs.push(
            presign(
                server,
                "bench",
                "1gib",
                Some(format!("bytes={}-{}", i * part, (i + 1) * part - 1)),
            )
            .await,
        );
    }
    let bad = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let tasks: Vec<_> = reqs
        .into_iter()
        .enumerate()
        .map(|(i, req)| {
            let (addr, bad) = (server.addr(), bad.clone());
            tokio::spawn(async move {
                let mut conn = Conn::connect(addr).await;
                let pattern = verify.then(|| Pattern::new("1gib"));
                let mut offset = i as u64 * part;
                let f = conn
                    .get(&req, |d| {
                        if let Some(p) = &pattern
                            && p.verify(offset, d).is_some()
                        {
                            bad.fetch_add(1, Ordering::Relaxed);
                        }
                        offset += d.len() as u64;
                    })
                    .await;
                assert_eq!((f.status, f.broken), (206, false));
                f.bytes
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, GIB, "every byte arrived");
    assert_eq!(bad.load(Ordering::Relaxed), 0, "every byte is right");
    GIB as f64 / t0.elapsed().as_secs_f64()
}

fn main() {
    let config = EmulatorConfig {
        network: NetworkProfile::unlimited(),
        objects: vec![format!("bench/1gib={GIB}").parse().unwrap()],
        ..EmulatorConfig::default()
    };
    let server = Emulator::start_dedicated(config, 2).expect("emulator starts");
    let (tcp_addr, _tcp_rt) = start_tcp_server();
    let rt = client_runtime(2);
    let (emu, tcp) = rt.block_on(async {
        emulator_fetch(&server, true).await; // correctness first, untimed
        let mut emu = Vec::new();
        let mut tcp = Vec::new();
        for _ in 0..REPS {
            tcp.push(tcp_copy(tcp_addr).await);
            emu.push(emulator_fetch(&server, false).await);
        }
        (emu, tcp)
    });
    let ratio = quantile(&emu, 0.5) / quantile(&tcp, 0.5);
    println!(
        "s3tune emulator raw throughput: 1 GiB, {PARTS} parallel ranged GETs, `unlimited` profile"
    );
    println!(
        "machine: {}; server and client on separate 2-thread runtimes",
        common::machine()
    );
    println!(
        "all bytes verified in an untimed run first; min / median / max over {REPS} interleaved runs"
    );
    println!("  loopback TCP copy (ceiling)   {}", spread(&tcp, gbps));
    println!("  emulator GET                  {}", spread(&emu, gbps));
    println!(
        "  emulator / ceiling            {:.0} %   (goals: >= 2 GB/s and >= 70 %)",
        ratio * 100.0
    );
    let ok = quantile(&emu, 0.5) >= 2e9 && ratio >= 0.7;
    println!(
        "  verdict                       {}",
        if ok { "goals met" } else { "GOALS NOT MET" }
    );
}
