//! The download experiment: what one trial of `s3tune tune` does.
//!
//! A trial downloads the object `repeats` times with the trial's `TransferConfig`, checks
//! every byte of each copy (untimed), deletes it, and reports the mean seconds so far after
//! each repeat — one fidelity step per download, so ASHA can stop a poor configuration
//! after one. A download whose bytes are not exactly right fails the trial: it is never
//! counted as fast.

pub mod emulated;
pub mod knobs;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use md5::{Digest, Md5};
use s3tune_hpo::{Decision, TrialContext};
use s3tune_transfer::{Progress, Transfer, TransferConfig};

use crate::commands::client::Timeouts;

/// How a downloaded copy is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Byte by byte against the emulator's synthetic pattern for the key.
    Synthetic,
    /// The MD5 of the bytes against the ETag (S3's ETag of a single-part upload).
    Md5(String),
    /// Size only (a multipart ETag is not a digest of the bytes); the engine has already
    /// pinned the version with `If-Match` and checked every `Content-Range`.
    Size,
}

/// The object being tuned for.
#[derive(Debug, Clone)]
pub struct Target {
    /// Client for its endpoint.
    pub client: aws_sdk_s3::Client,
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// How copies are checked.
    pub check: Check,
    /// The `--connect-timeout` and `--read-timeout` of every request.
    pub timeouts: Timeouts,
}

/// The live counters of the download under way, for the progress display.
pub type ProgressSlot = Arc<Mutex<Option<Arc<Progress>>>>;

impl Target {
    /// Looks the object up (a missing object or an unreachable endpoint fails here, before
    /// any timing) and chooses how copies will be checked: byte by byte when the object
    /// says it is an s3tune emulator's synthetic object, else by MD5 when the ETag is one.
    pub async fn discover(
        client: aws_sdk_s3::Client,
        bucket: &str,
        key: &str,
        timeouts: Timeouts,
    ) -> anyhow::Result<Self> {
        let info = Transfer::new(client.clone(), timeouts.apply(TransferConfig::default()))
            .head(bucket, key)
            .await?;
        let etag = info.etag.trim_matches('"').to_owned();
        let (name, version) = s3tune_emulator::synthetic::SYNTHETIC_METADATA;
        let check = if info.metadata.get(name).is_some_and(|v| v == version) {
            Check::Synthetic
        } else if etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit()) {
            Check::Md5(etag.to_ascii_lowercase())
        } else {
            Check::Size
        };
        Ok(Self {
            client,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            size: info.size,
            check,
            timeouts,
        })
    }

    /// `s3://bucket/key`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Downloads one copy into `dir` with `config`, checks it, deletes it, and returns the
    /// download's wall-clock seconds (discovery to the last byte written; the check is
    /// not timed). The copy is a locked partial file from its first byte to its removal,
    /// so a kill at any moment leaves nothing that the next start's sweep does not take.
    pub async fn download_once(
        &self,
        config: &TransferConfig,
        dir: &Path,
        slot: &ProgressSlot,
    ) -> Result<f64, String> {
        let transfer = Transfer::new(self.client.clone(), self.timeouts.apply(config.clone()));
        *slot.lock().expect("progress slot") = Some(transfer.progress());
        let result = transfer.download_copy(&self.bucket, &self.key, dir).await;
        *slot.lock().expect("progress slot") = None;
        let (copy, stats) = result.map_err(|e| e.to_string())?;
        let (check, size, key) = (self.check.clone(), self.size, self.key.clone());
        // Removed however this ends: checked, failed, or dropped mid-check.
        tokio::task::spawn_blocking(move || {
            let file = copy.file().try_clone();
            let path = copy.path().to_owned();
            file.map_err(|e| format!("reading back {}: {e}", path.display()))
                .and_then(|f| verify(f, &path, size, &key, &check))
        })
        .await
        .map_err(|e| format!("checking the download: {e}"))??;
        Ok(stats.seconds)
    }
}

/// Checks the copy open as `f` (at `path`): its size, then its bytes as `check` says.
fn verify(mut f: File, path: &Path, size: u64, key: &str, check: &Check) -> Result<(), String> {
    use std::io::Seek;
    let fail = |e: std::io::Error| format!("reading back {}: {e}", path.display());
    f.rewind().map_err(fail)?;
    let len = f.metadata().map_err(fail)?.len();
    if len != size {
        return Err(format!(
            "the download has {len} bytes, the object {size}: not counted"
        ));
    }
    let mut buf = vec![0u8; 8 << 20];
    let mut offset = 0u64;
    let mut md5 = Md5::new();
    loop {
        let n = f.read(&mut buf).map_err(fail)?;
        if n == 0 {
            break;
        }
        match check {
            Check::Synthetic => {
                if let Some(bad) = s3tune_emulator::synthetic::verify(key, offset, &buf[..n]) {
                    return Err(format!(
                        "byte {bad} of the download is wrong: the transfer corrupted data"
                    ));
                }
            }
            Check::Md5(_) => md5.update(&buf[..n]),
            Check::Size => {}
        }
        offset += n as u64;
    }
    if let Check::Md5(want) = check {
        let got = hex::encode(md5.finalize());
        if &got != want {
            return Err(format!(
                "the download's MD5 {got} is not the object's ETag {want}: not counted"
            ));
        }
    }
    Ok(())
}

/// What every trial of a study shares.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The object.
    pub target: Arc<Target>,
    /// Downloads per trial.
    pub repeats: usize,
    /// Where copies are written.
    pub dest_dir: PathBuf,
    /// The download under way, for the display.
    pub slot: ProgressSlot,
    /// The best mean seconds of a trial that ran all its repeats, so far.
    pub best: Arc<Mutex<Option<f64>>>,
}

/// A run taking longer than this many times the best trial's mean is cut off there:
/// finishing it would only confirm that it is slow. The cut time is reported (a lower
/// bound of the run's time, and already far from the best), and the trial is stopped.
pub const CUT_OFF: f64 = 3.0;
/// ... but never less than this many seconds over the best: sub-second downloads vary
/// too much for a ratio alone.
pub const CUT_OFF_SLACK: f64 = 1.0;

impl Experiment {
    /// One trial: up to `repeats` downloads, reporting the mean seconds after each.
    pub async fn run_trial(&self, ctx: Arc<TrialContext>) -> Result<(), String> {
        let config = knobs::transfer_config(ctx.config()).map_err(|e| e.to_string())?;
        let mut total = 0.0;
        for r in 1..=self.repeats {
            let run = self
                .target
                .download_once(&config, &self.dest_dir, &self.slot);
            let limit = self
                .best
                .lock()
                .expect("best so far")
                .map(|b| (b * CUT_OFF).max(b + CUT_OFF_SLACK));
            let (seconds, cut) = match limit {
                None => (run.await?, false),
                Some(limit) => {
                    match tokio::time::timeout(Duration::from_secs_f64(limit), run).await {
                        Ok(seconds) => (seconds?, false),
                        Err(_) => (limit, true),
                    }
                }
            };
            total += seconds;
            let mean = total / r as f64;
            let decision = ctx.report(mean).map_err(|e| e.to_string())?;
            if cut {
                ctx.give_up(format!(
                    "run {r} passed {seconds:.2} s ({CUT_OFF}x the best trial's mean, at least {CUT_OFF_SLACK} s more) and was cut off there"
                ));
                return Ok(());
            }
            if decision == Decision::Stop {
                return Ok(());
            }
        }
        let mean = total / self.repeats as f64;
        let mut best = self.best.lock().expect("best so far");
        if best.is_none_or(|b| mean < b) {
            *best = Some(mean);
        }
        Ok(())
    }
}

/// Each repeat's seconds from the running means a trial reported.
pub fn repeats_of(means: &[f64]) -> Vec<f64> {
    means
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let before = if i == 0 { 0.0 } else { means[i - 1] * i as f64 };
            m * (i + 1) as f64 - before
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_come_back_from_running_means() {
        let got = repeats_of(&[2.0, 3.0, 4.0]);
        let want = [2.0, 4.0, 6.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
    }

    #[test]
    fn a_copy_with_one_wrong_byte_or_the_wrong_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copy");
        let mut bytes = vec![0u8; 3 << 20];
        s3tune_emulator::synthetic::fill("k", 0, &mut bytes);
        std::fs::write(&path, &bytes).unwrap();
        let open = || File::open(&path).unwrap();
        verify(open(), &path, bytes.len() as u64, "k", &Check::Synthetic).unwrap();
        let err = verify(
            open(),
            &path,
            bytes.len() as u64 + 1,
            "k",
            &Check::Synthetic,
        )
        .unwrap_err();
        assert!(err.contains("bytes"), "{err}");
        bytes[2_000_000] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = verify(open(), &path, bytes.len() as u64, "k", &Check::Synthetic).unwrap_err();
        assert!(err.contains("byte 2000000"), "{err}");
        let md5 = hex::encode(Md5::digest(&bytes));
        verify(open(), &path, bytes.len() as u64, "k", &Check::Md5(md5)).unwrap();
        let err = verify(
            open(),
            &path,
            bytes.len() as u64,
            "k",
            &Check::Md5("0".repeat(32)),
        )
        .unwrap_err();
        assert!(err.contains("MD5"), "{err}");
    }
}
