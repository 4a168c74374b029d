//! One object down: the object a download study tunes, and one timed, checked download
//! of it. Every byte of each copy is checked (untimed) before the copy is deleted; a
//! download whose bytes are not exactly right fails its trial — it is never counted as
//! fast.

use super::costs::{Ran, Requests, Run};
use super::usage::Meter;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use md5::{Digest, Md5};
use s3tune_hpo::backend::TrialError;
use s3tune_transfer::{Transfer, TransferConfig};

use super::ProgressSlot;
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

impl Check {
    /// How a copy of `key` (`size` bytes, ETag `etag`, quoted or not) is checked: byte by
    /// byte when it is an s3tune emulator's synthetic object (`synthetic`, or its ETag is
    /// a synthetic one), by MD5 when the ETag is one (a single-part upload's), else by size.
    pub fn of(key: &str, size: u64, etag: &str, synthetic: bool) -> Self {
        let etag = etag.trim_matches('"');
        if synthetic || etag == s3tune_emulator::synthetic::etag(key, size) {
            Self::Synthetic
        } else if etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit()) {
            Self::Md5(etag.to_ascii_lowercase())
        } else {
            Self::Size
        }
    }
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
        let (name, version) = s3tune_emulator::synthetic::SYNTHETIC_METADATA;
        let synthetic = info.metadata.get(name).is_some_and(|v| v == version);
        let check = Check::of(key, info.size, &info.etag, synthetic);
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
    /// not timed); cut when the download ran past `limit`. The copy
    /// is a locked partial file from its first byte to its removal, so a kill at any
    /// moment leaves nothing that the next start's sweep does not take.
    pub async fn download_once(
        &self,
        config: &TransferConfig,
        dir: &Path,
        slot: &ProgressSlot,
        limit: Option<std::time::Duration>,
        meter: &Meter,
    ) -> Result<Run, TrialError> {
        let transfer = Transfer::new(self.client.clone(), self.timeouts.apply(config.clone()));
        let measuring = meter.start();
        *slot.lock().expect("progress slot") = Some(transfer.progress());
        let download = transfer.download_copy(&self.bucket, &self.key, dir);
        let result = match limit {
            None => Some(download.await),
            Some(l) => tokio::time::timeout(l, download).await.ok(),
        };
        *slot.lock().expect("progress slot") = None;
        let Some(result) = result else {
            return Ok(Run::Cut(measuring.cut()));
        };
        let (copy, stats) = result.map_err(|e| TrialError::Failed(e.to_string()))?;
        let costs = measuring.costs(
            Some(stats.peak_buffered),
            Requests::from_engine(&stats.requests_by_kind),
        );
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
        Ok(Run::Whole(Ran {
            seconds: stats.seconds,
            costs,
        }))
    }
}

/// Checks the copy open as `f` (at `path`): its size, then its bytes as `check` says.
pub(super) fn verify(
    mut f: File,
    path: &Path,
    size: u64,
    key: &str,
    check: &Check,
) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
