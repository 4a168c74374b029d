//! How fast do s3tune's engine and boto3's `upload_file` upload? A 512 MiB file to the
//! emulator (`s3tune serve`'s server, in process), on the `unlimited` and `s3-like`
//! profiles, by:
//!
//! * s3tune's engine with boto3's default `TransferConfig`, and with a tuned one;
//! * boto3's `upload_file` with its defaults, and with the same tuned one (Python from
//!   the test venv);
//! * reading the file (`cat` to /dev/null): this machine's read ceiling.
//!
//! Interleaved, 3 runs each (`BENCH_REPS`); every upload's stored bytes checked against
//! the source's pattern in the emulator's store (untimed), then deleted. Prints MB/s
//! (min / median / max) and ratios of medians measured in the same run. On `unlimited`
//! the engine's tuned rate is the emulator's ingest rate on this machine.
//!
//! Run: `cargo run --release -p s3tune-transfer --example upload_bench`
//! (boto3 from `.venv`, made by `scripts/test`, or `S3TUNE_PYTHON=/path/to/python`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use s3tune_emulator::synthetic::Pattern;
use s3tune_emulator::{DedicatedEmulator, Emulator, EmulatorConfig, NetworkProfile};
use s3tune_transfer::{Transfer, TransferConfig};

const MIB: u64 = 1024 * 1024;
const SIZE: u64 = 512 * MIB;
const PATTERN: &str = "upload-bench";

fn reps() -> usize {
    std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// boto3's upload_file of a file with a config given as JSON; prints the seconds.
const BOTO3: &str = r#"
import json, sys, time, boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
ep, ak, sk, src, key, cfg = sys.argv[1:7]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
t = time.perf_counter()
s3.upload_file(src, "bench", key, Config=TransferConfig(**json.loads(cfg)))
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

/// Checks the stored object `key` byte for byte against the source's pattern, and
/// deletes it.
fn verify(server: &DedicatedEmulator, key: &str) {
    let store = server.store();
    let obj = store.get_object("bench", key).unwrap();
    assert_eq!(obj.meta.size, SIZE, "size of {key}");
    let s3tune_emulator::store::Content::Memory(blob) = &obj.content else {
        panic!("{key} is not in memory");
    };
    let pattern = Pattern::new(PATTERN);
    let mut offset = 0;
    for chunk in blob.chunks() {
        assert_eq!(pattern.verify(offset, chunk), None, "bytes of {key}");
        offset += chunk.len() as u64;
    }
    store.delete_object("bench", key).unwrap();
    assert_eq!(store.uploads_in_progress(), 0, "an upload was left behind");
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

/// The synthetic source file.
fn source(dir: &Path) -> PathBuf {
    let path = dir.join("source.bin");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let pattern = Pattern::new(PATTERN);
    let mut buf = vec![0u8; 8 << 20];
    let mut offset = 0;
    while offset < SIZE {
        pattern.fill(offset, &mut buf);
        f.write_all(&buf).unwrap();
        offset += buf.len() as u64;
    }
    f.flush().unwrap();
    path
}

/// One boto3 upload with `config` (as TransferConfig kwargs); bytes per second.
fn boto3(py: &Path, server: &DedicatedEmulator, src: &Path, key: &str, config: &str) -> f64 {
    let out = Command::new(py)
        .args([
            "-c",
            BOTO3,
            &server.endpoint(),
            server.access_key(),
            server.secret_key(),
            src.to_str().unwrap(),
            key,
            config,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secs: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    SIZE as f64 / secs
}

fn main() {
    let base = std::env::var_os("BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = tempfile::tempdir_in(base).unwrap();
    let src = source(dir.path());
    let reps = reps();
    let python = python();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("upload benchmark: a 512 MiB file to the emulator, {reps} interleaved runs each");
    println!(
        "machine: {cpus} cores; source {}; every upload's stored bytes checked",
        src.display()
    );
    println!("MB/s min / median / max; ratios of medians");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for (name, profile, tuned) in [
        ("unlimited", NetworkProfile::unlimited(), (8usize, 32 * MIB)),
        ("s3-like", NetworkProfile::s3_like(), (32usize, 16 * MIB)),
    ] {
        let server = Emulator::start_dedicated(
            EmulatorConfig {
                network: profile.clone(),
                ..Default::default()
            },
            2,
        )
        .unwrap();
        server.store().create_bucket("bench").unwrap();
        let c = client(&server);
        let tuned_config = TransferConfig {
            max_concurrency: tuned.0,
            multipart_chunksize: tuned.1,
            ..Default::default()
        };
        let tuned_py = format!(
            "{{\"max_concurrency\": {}, \"multipart_chunksize\": {}}}",
            tuned.0, tuned.1
        );
        let names = [
            "s3tune, boto3 defaults",
            "s3tune, tuned",
            "boto3 upload_file, defaults",
            "boto3 upload_file, tuned",
            "reading the file (read ceiling)",
        ];
        let mut runs: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
        for r in 0..reps {
            let mut order: Vec<usize> = (0..4).collect();
            order.rotate_left(r % 4);
            for i in order {
                let key = format!("run-{r}-{i}");
                let rate = match i {
                    0 | 1 => {
                        let config = if i == 0 {
                            TransferConfig::default()
                        } else {
                            tuned_config.clone()
                        };
                        let t = Transfer::new(c.clone(), config);
                        rt.block_on(t.upload(&src, "bench", &key))
                            .unwrap()
                            .bytes_per_sec
                    }
                    _ => match &python {
                        Some(py) => boto3(
                            py,
                            &server,
                            &src,
                            &key,
                            if i == 2 { "{}" } else { &tuned_py },
                        ),
                        None => continue,
                    },
                };
                runs[i].push(rate);
                verify(&server, &key);
            }
            let t0 = Instant::now();
            let st = Command::new("cat")
                .arg(&src)
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(st.success());
            runs[4].push(SIZE as f64 / t0.elapsed().as_secs_f64());
        }
        println!("\nprofile `{name}`: {}", profile.describe());
        println!(
            "  tuned: max_concurrency={} multipart_chunksize={} MiB",
            tuned.0,
            tuned.1 / MIB
        );
        for (n, v) in names.iter().zip(&runs) {
            if v.is_empty() {
                println!(
                    "  {n:<34} (not run: no Python with boto3; run scripts/test first or set S3TUNE_PYTHON)"
                );
            } else {
                println!("  {n:<34} {} MB/s", spread(v));
            }
        }
        let m = |i: usize| {
            if runs[i].is_empty() {
                f64::NAN
            } else {
                median(&runs[i])
            }
        };
        println!("  s3tune defaults / boto3 defaults    {:.2}x", m(0) / m(2));
        println!("  s3tune tuned / boto3 defaults       {:.2}x", m(1) / m(2));
        println!("  s3tune tuned / boto3 tuned          {:.2}x", m(1) / m(3));
        println!("  boto3 tuned / boto3 defaults        {:.2}x", m(3) / m(2));
        if name == "unlimited" {
            println!(
                "  emulator ingest (s3tune tuned)      {:.0} MB/s = {:.0} % of the read ceiling",
                m(1) / 1e6,
                m(1) / m(4) * 100.0
            );
        }
        drop(server);
    }
}
