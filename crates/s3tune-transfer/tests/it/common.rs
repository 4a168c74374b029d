//! Helpers: an emulator, a client for it, configurations, checks.

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use s3tune_emulator::synthetic::Pattern;
use s3tune_emulator::{Emulator, EmulatorConfig, EmulatorHandle, NetworkProfile};
use s3tune_transfer::{TransferConfig, TransferStats};

pub const MIB: u64 = 1024 * 1024;

/// An emulator with `network` and synthetic `objects` (`BUCKET/KEY=SIZE`).
pub async fn serve(network: NetworkProfile, objects: &[&str]) -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        network,
        objects: objects.iter().map(|o| o.parse().unwrap()).collect(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

/// A client with the SDK's standard retries (503/5xx) and short backoffs.
pub fn client(server: &EmulatorHandle) -> Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(server.region().to_owned()))
        .endpoint_url(server.endpoint())
        .credentials_provider(Credentials::new(
            server.access_key(),
            server.secret_key(),
            None,
            None,
            "test",
        ))
        .force_path_style(true)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(5)
                .with_initial_backoff(Duration::from_millis(20)),
        )
        .build();
    Client::from_conf(conf)
}

/// Checks a downloaded file against the synthetic object `key`, reading it in pieces.
pub fn verify_synthetic(path: &Path, key: &str, size: u64) {
    let data = std::fs::read(path).unwrap();
    assert_eq!(data.len() as u64, size, "{}", path.display());
    assert_eq!(
        Pattern::new(key).verify(0, &data),
        None,
        "{} differs",
        path.display()
    );
}

/// The memory bound the issue promises for file downloads.
pub fn assert_memory_bound(stats: &TransferStats, c: &TransferConfig) {
    let bound = c.concurrency() as u64 * c.io_chunksize + c.max_io_queue as u64 * c.io_chunksize;
    assert!(
        stats.peak_buffered <= bound,
        "peak {} > bound {bound} for {c:?}",
        stats.peak_buffered
    );
}

/// Deterministic bytes.
pub fn bytes(len: u64, seed: u64) -> Vec<u8> {
    let p = Pattern::new(&format!("upload-{seed}"));
    let mut v = vec![0u8; usize::try_from(len).unwrap()];
    p.fill(0, &mut v);
    v
}

/// Files in `dir` (to prove nothing was left behind).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A random configuration spanning the extremes of every knob.
pub fn random_config(rng: &mut rand::rngs::StdRng) -> TransferConfig {
    use rand::Rng;
    let pick = |rng: &mut rand::rngs::StdRng, lo: u64, hi: u64| -> u64 {
        match rng.random_range(0..4) {
            0 => lo,
            1 => hi,
            _ => (rng.random_range((lo as f64).ln()..=(hi as f64).ln())).exp() as u64,
        }
    };
    TransferConfig {
        multipart_threshold: pick(rng, 1, 64 * MIB).max(1),
        max_concurrency: pick(rng, 1, 256) as usize,
        multipart_chunksize: pick(rng, 5 * MIB, 1024 * MIB),
        num_download_attempts: rng.random_range(1..=5),
        max_io_queue: pick(rng, 1, 1000) as usize,
        io_chunksize: pick(rng, 4 * 1024, 16 * MIB),
        use_threads: rng.random_bool(0.8),
        max_bandwidth: None,
        ..TransferConfig::default()
    }
}
