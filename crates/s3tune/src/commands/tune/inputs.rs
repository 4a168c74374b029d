//! What a run checks before anything is made: its durations, the study's name, and the
//! folder its copies go to (which must take them).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail};

use crate::cli::TuneArgs;

/// The default time for trials: with the race and set-up, the main job takes about two
/// minutes.
const DEFAULT_BUDGET: Duration = Duration::from_secs(90);
/// `--heartbeat-timeout`, or the default.
pub(crate) fn heartbeat_timeout(text: Option<&str>) -> anyhow::Result<Duration> {
    let Some(text) = text else {
        return Ok(s3tune_hpo::spec::HEARTBEAT_TIMEOUT);
    };
    let d = crate::commands::duration("--heartbeat-timeout", text)?;
    if d < Duration::from_millis(300) {
        bail!("--heartbeat-timeout {text}: at least 300ms, or live workers are taken for lost");
    }
    Ok(d)
}

/// `--budget`; by default 90 s for a run of `tune` with no `--trials`, and none for a
/// study created for workers (they run until its trials are done, or Ctrl-C).
pub(crate) fn budget(args: &TuneArgs, create_only: bool) -> anyhow::Result<Option<Duration>> {
    match &args.budget {
        Some(text) => Ok(Some(crate::commands::duration("--budget", text)?)),
        None if args.trials.is_some() || create_only => Ok(None),
        None => Ok(Some(DEFAULT_BUDGET)),
    }
}

/// `what` and the time: `tune-20261125-101500`.
pub(crate) fn stamped(what: &str) -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    // 2026-11-25T10:15:00Z → 20261125-101500
    let digits: String = now.chars().filter(char::is_ascii_digit).collect();
    format!("{what}-{}-{}", &digits[..8], &digits[8..14])
}

pub(crate) fn study_name(args: &TuneArgs) -> anyhow::Result<String> {
    let name = match &args.study {
        Some(n) => n.clone(),
        None => stamped("tune"),
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        bail!("--study `{name}`: use letters, digits, '-', '_' and '.'");
    }
    Ok(name)
}

/// The destination folder: it must exist, be a folder and take a file — found now, not
/// after three failed trials — and what killed runs left in it is swept.
pub(crate) fn dest_dir(dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
    if !dir.is_dir() {
        bail!(
            "--dest-dir {}: not an existing folder; create it or choose another",
            dir.display()
        );
    }
    let probe = dir.join(format!(".s3tune-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| {
        anyhow!(
            "--dest-dir {}: cannot write there ({}); choose another",
            dir.display(),
            s3tune_transfer::error::io_reason(&e)
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    for p in s3tune_transfer::sweep(&dir) {
        tracing::info!("removed {}, a copy left by a killed s3tune", p.display());
    }
    let folders = crate::experiment::dataset::sweep_folders(&dir);
    if folders > 0 {
        tracing::info!(
            "removed {folders} dataset folders left in {} by a killed s3tune",
            dir.display()
        );
    }
    Ok(dir)
}

/// Each download trial writes one copy of the object at a time into `dir` (and an
/// upload study its synthetic source): there must be room for it.
pub(crate) fn check_room(dir: &Path, size: u64, upload: bool) -> anyhow::Result<()> {
    let Ok(fs) = nix::sys::statvfs::statvfs(dir) else {
        return Ok(());
    };
    let free = fs.blocks_available() * fs.fragment_size();
    if free < size {
        bail!(
            "--dest-dir {}: {} free, but {} a {} {} there; free some space or choose another",
            dir.display(),
            bytesize::ByteSize(free).display().iec(),
            if upload {
                "the upload's synthetic source is"
            } else {
                "each download writes"
            },
            bytesize::ByteSize(size).display().iec(),
            if upload { "file" } else { "copy" },
        );
    }
    Ok(())
}
