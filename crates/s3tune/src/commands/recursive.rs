//! `s3tune get --recursive` and `s3tune put --recursive`: a prefix down into a
//! directory, a directory up under a prefix.

use std::path::Path;
use std::process::ExitCode;

use s3tune_transfer::{RecursiveStats, TransferConfig};

use super::s3url::S3Url;
use super::transfer::{engine, sweep_for, with_progress};
use super::{Stop, exit};
use crate::cli::{GetArgs, PutArgs};

/// Failures named one per line on stderr before the rest are counted.
const NAMED_FAILURES: usize = 20;

pub async fn get(args: GetArgs, stop: Stop) -> anyhow::Result<ExitCode> {
    let url = S3Url::parse(&args.source)?;
    if args.dest == Path::new("-") {
        anyhow::bail!(
            "--recursive writes files into a directory, not to standard output: name a directory"
        );
    }
    let (transfer, config) = engine(&args.transfer, &stop).await?;
    sweep_for(&args.dest);
    let work = transfer.download_prefix(&url.bucket, &url.key, &args.dest, stop.wait());
    let stats = with_progress(transfer.progress(), format!("get {url}"), work).await?;
    let from = format!(
        "s3://{}/{}",
        url.bucket,
        s3tune_transfer::as_directory(&url.key)
    );
    finish(
        &args.transfer.json,
        "downloaded",
        &from,
        &args.dest.display().to_string(),
        &stats,
        &config,
    )
}

pub async fn put(args: PutArgs, stop: Stop) -> anyhow::Result<ExitCode> {
    let url = S3Url::parse(&args.dest)?;
    let (transfer, config) = engine(&args.transfer, &stop).await?;
    let work = transfer.upload_dir(&args.source, &url.bucket, &url.key, stop.wait());
    let stats = with_progress(transfer.progress(), format!("put {url}"), work).await?;
    let to = format!(
        "s3://{}/{}",
        url.bucket,
        s3tune_transfer::as_directory(&url.key)
    );
    finish(
        &args.transfer.json,
        "uploaded",
        &args.source.display().to_string(),
        &to,
        &stats,
        &config,
    )
}

/// Names the failures on stderr, prints the summary (JSON with `--json`), and says by
/// the exit code whether every object made it.
fn finish(
    json: &bool,
    verb: &str,
    from: &str,
    to: &str,
    stats: &RecursiveStats,
    config: &TransferConfig,
) -> anyhow::Result<ExitCode> {
    for f in stats.failed.iter().take(NAMED_FAILURES) {
        eprintln!("s3tune: failed: {}: {}", f.name, f.error);
    }
    if stats.failed.len() > NAMED_FAILURES {
        eprintln!(
            "s3tune: and {} more failed (--json lists them all)",
            stats.failed.len() - NAMED_FAILURES
        );
    }
    if *json {
        let value = serde_json::json!({
            "operation": verb,
            "recursive": true,
            "source": from,
            "destination": to,
            "stats": stats,
            "config": config,
            "engine": "s3tune",
            "peak_rss_bytes": peak_rss(),
        });
        println!("{value}");
    } else {
        println!(
            "{verb} {} objects ({}) from {from} to {to} in {:.2} s: {:.1} MB/s, {:.0} objects/s, {} requests, {} retries, {} skipped, {} failed",
            stats.objects,
            bytesize::ByteSize(stats.bytes),
            stats.seconds,
            stats.bytes_per_sec / 1e6,
            stats.objects_per_sec,
            stats.requests,
            stats.retries,
            stats.skipped,
            stats.failed.len()
        );
    }
    Ok(if stats.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::SOME_FAILED)
    })
}

/// This process's peak resident memory (`VmHWM`), in bytes, where Linux says.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
