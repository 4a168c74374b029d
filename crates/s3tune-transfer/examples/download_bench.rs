//! How fast is s3tune's engine? A 1 GiB download from the emulator, on the `unlimited`
//! and `s3-like` profiles, by:
//!
//! * s3tune's engine with boto3's default `TransferConfig`;
//! * s3tune's engine with a good configuration (more connections, larger parts);
//! * s3tune's engine with defaults but boto3's HEAD-first discovery (which to keep);
//! * boto3's `download_file` with its defaults (Python from the test venv);
//! * `dd` writing 1 GiB to the same filesystem: the write ceiling;
//! * s3tune's engine into a null sink (no file at all: where the time goes);
//!
//! interleaved, 3 runs each (`BENCH_REPS`), in a temporary directory (of `BENCH_DIR`), every download verified byte for byte (untimed), and a
//! `max_bandwidth` check. Prints MB/s (min / median / max) and ratios of medians.
//!
//! Run: `cargo run --release -p s3tune-transfer --example download_bench`
//! (boto3 from `.venv`, made by `scripts/test`, or `S3TUNE_PYTHON=/path/to/python`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use s3tune_emulator::synthetic::Pattern;
use s3tune_emulator::{DedicatedEmulator, Emulator, EmulatorConfig, NetworkProfile};
use s3tune_transfer::{Discovery, Transfer, TransferConfig};

const GIB: u64 = 1024 * 1024 * 1024;
const MIB: u64 = 1024 * 1024;
/// Runs of each variant (`BENCH_REPS`, default 3).
fn reps() -> usize {
    std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

const BOTO3: &str = r#"
import sys, time, boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
ep, ak, sk, dest = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
t = time.perf_counter()
s3.download_file("bench", "1gib", dest, Config=TransferConfig())
print(time.perf_counter() - t)
"#;

fn python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("S3TUNE_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let ok = Command::new(&venv)
        .args(["-c", "import boto3"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(venv)
}

fn client(server: &DedicatedEmulator) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(server.endpoint())
        .credentials_provider(Credentials::new(
            server.access_key(),
            server.secret_key(),
            None,
            None,
            "bench",
        ))
        .force_path_style(true)
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

fn verify(path: &Path) {
    let data = std::fs::read(path).unwrap();
    assert_eq!(data.len() as u64, GIB, "size of {}", path.display());
    assert_eq!(
        Pattern::new("1gib").verify(0, &data),
        None,
        "bytes of {}",
        path.display()
    );
    std::fs::remove_file(path).unwrap();
}

struct Variant {
    name: &'static str,
    runs: Vec<f64>,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn spread(v: &[f64]) -> String {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    format!(
        "{:>6.0} / {:>6.0} / {:>6.0}",
        s[0] / 1e6,
        median(&s) / 1e6,
        s[s.len() - 1] / 1e6
    )
}

fn main() {
    // BENCH_DIR picks the filesystem (e.g. /dev/shm to take the disk out of the picture).
    let base = std::env::var_os("BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = tempfile::tempdir_in(base).unwrap();
    let reps = reps();
    let python = python();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "s3tune engine download benchmark: 1 GiB from the emulator, {reps} interleaved runs each"
    );
    println!(
        "machine: {cpus} cores; destination {} ; every download verified byte for byte",
        dir.path().display()
    );
    println!("MB/s min / median / max; ratios of medians");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for (name, profile, good) in [
        (
            "unlimited",
            NetworkProfile::unlimited(),
            TransferConfig {
                max_concurrency: 8,
                multipart_chunksize: 64 * MIB,
                io_chunksize: MIB,
                ..Default::default()
            },
        ),
        (
            "s3-like",
            NetworkProfile::s3_like(),
            TransferConfig {
                max_concurrency: 20,
                multipart_chunksize: 16 * MIB,
                io_chunksize: MIB,
                ..Default::default()
            },
        ),
    ] {
        let server = Emulator::start_dedicated(
            EmulatorConfig {
                network: profile.clone(),
                objects: vec![
                    format!("bench/1gib={GIB}").parse().unwrap(),
                    "bench/1mib=1MiB".parse().unwrap(),
                ],
                ..Default::default()
            },
            2,
        )
        .unwrap();
        let c = client(&server);
        let mut vs: Vec<Variant> = [
            "s3tune, boto3 defaults",
            "s3tune, good config",
            "s3tune, defaults, HEAD discovery",
            "boto3 download_file, defaults",
            "dd 1 GiB (write ceiling)",
            "s3tune, defaults, to a null sink",
        ]
        .into_iter()
        .map(|name| Variant {
            name,
            runs: Vec::new(),
        })
        .collect();
        for _ in 0..reps {
            let dest = dir.path().join("out.bin");
            // Rotate the order each run, so no variant always follows the same one.
            let mut order = vec![
                (0, TransferConfig::default(), Discovery::FirstGet),
                (1, good.clone(), Discovery::FirstGet),
                (2, TransferConfig::default(), Discovery::Head),
            ];
            order.rotate_left(vs[0].runs.len() % 3);
            for (i, config, discovery) in order {
                let t = Transfer::new(c.clone(), config).with_discovery(discovery);
                let (path, stats) = rt.block_on(t.download("bench", "1gib", &dest)).unwrap();
                vs[i].runs.push(stats.bytes_per_sec);
                verify(&path);
            }
            if let Some(py) = &python {
                let out = Command::new(py)
                    .args([
                        "-c",
                        BOTO3,
                        &server.endpoint(),
                        server.access_key(),
                        server.secret_key(),
                        dest.to_str().unwrap(),
                    ])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "boto3: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let secs: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
                vs[3].runs.push(GIB as f64 / secs);
                verify(&dest);
            }
            // The engine without the file: bytes in order into a sink (where time goes).
            let t = Transfer::new(c.clone(), TransferConfig::default());
            let stats = rt
                .block_on(t.download_to("bench", "1gib", &mut tokio::io::sink()))
                .unwrap();
            vs[5].runs.push(stats.bytes_per_sec);
            let dd = dir.path().join("dd.bin");
            let t0 = Instant::now();
            let st = Command::new("dd")
                .args([
                    "if=/dev/zero",
                    &format!("of={}", dd.display()),
                    "bs=1M",
                    "count=1024",
                ])
                .output()
                .unwrap();
            assert!(st.status.success());
            vs[4].runs.push(GIB as f64 / t0.elapsed().as_secs_f64());
            std::fs::remove_file(&dd).unwrap();
        }
        println!("\nprofile `{name}`: {}", profile.describe());
        println!("  good config: {}", good.to_boto3());
        for v in &vs {
            if v.runs.is_empty() {
                println!(
                    "  {:<36} (not run: no Python with boto3; run scripts/test first or set S3TUNE_PYTHON)",
                    v.name
                );
            } else {
                println!("  {:<36} {} MB/s", v.name, spread(&v.runs));
            }
        }
        let m = |i: usize| {
            if vs[i].runs.is_empty() {
                f64::NAN
            } else {
                median(&vs[i].runs)
            }
        };
        println!(
            "  s3tune defaults / boto3 defaults      {:.2}x",
            m(0) / m(3)
        );
        println!(
            "  s3tune good config / boto3 defaults   {:.2}x   (goal >= 3x)",
            m(1) / m(3)
        );
        println!(
            "  s3tune good config / write ceiling    {:.0} %   (goal >= 70 %)",
            m(1) / m(4) * 100.0
        );
        println!(
            "  first-GET / HEAD discovery            {:.3}x   (> 1: first-GET is faster)",
            m(0) / m(2)
        );
        if name == "s3-like" {
            // Discovery matters most for small objects: one round trip of a few.
            let mut times = [Vec::new(), Vec::new()];
            for round in 0..20 {
                let pair = if round % 2 == 0 {
                    [Discovery::FirstGet, Discovery::Head]
                } else {
                    [Discovery::Head, Discovery::FirstGet]
                };
                for d in pair {
                    let dest = dir.path().join("small.bin");
                    let t = Transfer::new(c.clone(), TransferConfig::default()).with_discovery(d);
                    let (path, stats) = rt.block_on(t.download("bench", "1mib", &dest)).unwrap();
                    assert_eq!(std::fs::read(&path).unwrap().len(), 1 << 20);
                    times[usize::from(d == Discovery::Head)].push(stats.seconds);
                    std::fs::remove_file(&path).unwrap();
                }
            }
            println!(
                "  1 MiB object, median of 20: first-GET discovery {:.1} ms, HEAD discovery {:.1} ms",
                median(&times[0]) * 1e3,
                median(&times[1]) * 1e3
            );
        }
        if name == "unlimited" {
            let cap = 200_000_000u64;
            let mut runs = Vec::new();
            for _ in 0..reps {
                let config = TransferConfig {
                    max_bandwidth: Some(cap),
                    ..Default::default()
                };
                let dest = dir.path().join("capped.bin");
                let (path, stats) = rt
                    .block_on(Transfer::new(c.clone(), config).download("bench", "1gib", &dest))
                    .unwrap();
                runs.push(stats.bytes_per_sec);
                verify(&path);
            }
            println!(
                "  max_bandwidth 200 MB/s                {} MB/s  ratio {:.3} (goal within ±10 %)",
                spread(&runs),
                median(&runs) / cap as f64
            );
        }
        drop(server);
        std::thread::sleep(Duration::from_millis(100));
    }
}
