//! `s3tune get` and `s3tune put`: one transfer with s3tune's engine.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use s3tune_transfer::{Progress, Transfer, TransferConfig, TransferStats};

use super::client::Timeouts;
use super::s3url::S3Url;
use super::{Stop, files};
use crate::cli::{GetArgs, KnobArgs, PutArgs, TransferArgs};

/// The configuration from `--config` (TOML or JSON), then the flags on top.
fn transfer_config(args: &TransferArgs) -> anyhow::Result<TransferConfig> {
    let mut c = match &args.config {
        None => TransferConfig::default(),
        Some(path) => files::transfer_config(path)?,
    };
    let KnobArgs {
        multipart_threshold,
        max_concurrency,
        multipart_chunksize,
        num_download_attempts,
        max_io_queue,
        io_chunksize,
        use_threads,
        max_bandwidth,
        max_objects,
    } = &args.knobs;
    c.multipart_threshold = multipart_threshold.unwrap_or(c.multipart_threshold);
    c.max_concurrency = max_concurrency.unwrap_or(c.max_concurrency);
    c.multipart_chunksize = multipart_chunksize.unwrap_or(c.multipart_chunksize);
    c.num_download_attempts = num_download_attempts.unwrap_or(c.num_download_attempts);
    c.max_io_queue = max_io_queue.unwrap_or(c.max_io_queue);
    c.io_chunksize = io_chunksize.unwrap_or(c.io_chunksize);
    c.use_threads = use_threads.unwrap_or(c.use_threads);
    c.max_bandwidth = max_bandwidth.or(c.max_bandwidth);
    c.max_objects = max_objects.or(c.max_objects);
    let c = Timeouts::from_args(&args.s3)?.apply(c);
    // A file's values were checked as it was read: what is out of range now came as a flag.
    c.validate()
        .map_err(|e| anyhow!("--{} {}: {}", e.knob.replace('_', "-"), e.value, e.limit))?;
    Ok(c)
}

/// The engine `get` and `put` transfer with: the configuration from the flags, and a
/// client for where S3 is (interruptible while credentials are looked up).
pub(super) async fn engine(
    args: &TransferArgs,
    stop: &Stop,
) -> anyhow::Result<(Transfer, TransferConfig)> {
    let config = transfer_config(args)?;
    let client = stop.or_stop(super::client::s3_client(&args.s3)).await??;
    Ok((Transfer::new(client, config.clone()), config))
}

/// A progress bar on stderr while `work` runs, when stderr is a terminal.
pub(super) async fn with_progress<T>(
    progress: Arc<Progress>,
    label: String,
    work: impl Future<Output = T>,
) -> T {
    if !std::io::stderr().is_terminal() {
        return work.await;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {prefix}{eta}",
        )
        .expect("valid template"),
    );
    bar.set_message(label);
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            loop {
                bar.set_length(progress.total());
                bar.set_position(progress.done());
                if progress.is_many() {
                    let (found, done) = progress.objects();
                    bar.set_prefix(format!("{done}/{found} objects "));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let out = work.await;
    ticker.abort();
    bar.finish_and_clear();
    out
}

/// Prints the result: JSON on stdout with `--json`, else one line for people.
fn report(
    json: bool,
    verb: &str,
    from: &str,
    to: &str,
    stats: &TransferStats,
    config: &TransferConfig,
    to_stderr: bool,
) -> anyhow::Result<()> {
    if json {
        let value = serde_json::json!({
            "operation": verb,
            "source": from,
            "destination": to,
            "stats": stats,
            "config": config,
            "engine": "s3tune",
        });
        println!("{value}");
        return Ok(());
    }
    let line = format!(
        "{verb} {from} to {to}: {} in {:.2} s ({:.1} MB/s), {} requests, {} retries",
        bytesize::ByteSize(stats.bytes),
        stats.seconds,
        stats.bytes_per_sec / 1e6,
        stats.requests,
        stats.retries
    );
    if to_stderr {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
    Ok(())
}

/// Removes the partial files that killed runs left where `dest` goes (beside the target
/// of a symbolic link, where its partial files are made).
pub(super) fn sweep_for(dest: &Path) {
    let dest = match std::fs::symlink_metadata(dest) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(dest) {
            Ok(target) => target,
            Err(_) => return,
        },
        _ => dest.to_owned(),
    };
    let dir = if dest.is_dir() {
        dest.as_path()
    } else {
        match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    };
    for p in s3tune_transfer::sweep(dir) {
        tracing::info!(
            "removed {}, a partial download left by a killed s3tune",
            p.display()
        );
    }
}

pub async fn get(args: GetArgs, stop: Stop) -> anyhow::Result<ExitCode> {
    if args.transfer.recursive {
        return super::recursive::get(args, stop).await;
    }
    refuse_max_objects(&args.transfer)?;
    let url = S3Url::parse_object(&args.source)?;
    let (transfer, config) = engine(&args.transfer, &stop).await?;
    let label = format!("get {url}");
    if args.dest == Path::new("-") {
        let mut out = tokio::io::stdout();
        let work = stop.or_stop(transfer.download_to(&url.bucket, &url.key, &mut out));
        // A reader that stops early (`| head`) leaves the download incomplete: an error.
        let stats = with_progress(transfer.progress(), label, work).await??;
        // Standard output carries the bytes: figures go to stderr unless asked for JSON.
        if std::io::stderr().is_terminal() && !args.transfer.json {
            report(
                false,
                "downloaded",
                &url.to_string(),
                "-",
                &stats,
                &config,
                true,
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    sweep_for(&args.dest);
    let work = transfer.download_until(&url.bucket, &url.key, &args.dest, stop.wait());
    let (path, stats) = with_progress(transfer.progress(), label, work).await?;
    // When the bytes went to our own standard output (`/dev/stdout`), the line for
    // people goes to stderr, as with `-`.
    let is_stdout = |p: &Path| {
        use std::os::unix::fs::MetadataExt;
        let id = |m: std::fs::Metadata| (m.dev(), m.ino());
        match (std::fs::metadata(p), std::fs::metadata("/proc/self/fd/1")) {
            (Ok(a), Ok(b)) => id(a) == id(b),
            _ => false,
        }
    };
    report(
        args.transfer.json,
        "downloaded",
        &url.to_string(),
        &path.display().to_string(),
        &stats,
        &config,
        !args.transfer.json && is_stdout(&path),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `--max-objects` means something only to a recursive transfer.
fn refuse_max_objects(args: &TransferArgs) -> anyhow::Result<()> {
    if args.knobs.max_objects.is_some() {
        anyhow::bail!(
            "--max-objects applies to --recursive transfers only: add --recursive, or drop it"
        );
    }
    Ok(())
}

pub async fn put(args: PutArgs, stop: Stop) -> anyhow::Result<ExitCode> {
    if args.transfer.recursive {
        return super::recursive::put(args, stop).await;
    }
    refuse_max_objects(&args.transfer)?;
    let mut url = S3Url::parse(&args.dest)?;
    if url.key.is_empty() || url.key.ends_with('/') {
        let name = args.source.file_name().ok_or_else(|| {
            anyhow!(
                "{} has no file name to use as the key",
                args.source.display()
            )
        })?;
        url.key.push_str(&name.to_string_lossy());
    }
    let (transfer, config) = engine(&args.transfer, &stop).await?;
    let work = transfer.upload_until(&args.source, &url.bucket, &url.key, stop.wait());
    let stats = with_progress(transfer.progress(), format!("put {url}"), work).await?;
    report(
        args.transfer.json,
        "uploaded",
        &args.source.display().to_string(),
        &url.to_string(),
        &stats,
        &config,
        false,
    )?;
    Ok(ExitCode::SUCCESS)
}
