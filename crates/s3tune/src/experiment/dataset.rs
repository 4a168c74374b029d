//! Many objects down: the set a dataset study moves — every object under a prefix, or a
//! reproducible sample of them — and one timed, checked download of it.
//!
//! A run downloads the whole set into a fresh folder (as `s3tune get --recursive`
//! does: listing and transfers pipelined, so a full prefix's time includes its listing,
//! as a user's would), then checks every file against what the listing promised (the
//! emulator's synthetic bytes, else the ETag's MD5 or the size), untimed, and removes the
//! folder. A run in which any object failed, or any byte is wrong, fails its trial.

use super::costs::{Ran, Requests, Run};
use super::usage::Meter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::bail;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use s3tune_hpo::backend::TrialError;
use s3tune_transfer::{Transfer, TransferConfig};

use super::ProgressSlot;
use super::download::{Check, verify};
use crate::commands::client::Timeouts;

/// One object of the set, as the listing gave it.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its key.
    pub key: String,
    /// Its size.
    pub size: u64,
    /// Its ETag, as listed (quoted, as S3 gives it).
    pub etag: String,
    /// How its copy is checked.
    pub check: Check,
}

/// The objects a dataset study moves.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Client for its endpoint.
    pub client: aws_sdk_s3::Client,
    /// Bucket.
    pub bucket: String,
    /// The prefix, as a directory (`data/`, or empty for the whole bucket).
    pub prefix: String,
    /// The objects each run moves, by key.
    pub objects: Arc<Vec<Listed>>,
    /// Objects under the prefix; more than `objects` when they are a sample.
    pub listed: u64,
    /// The `--connect-timeout` and `--read-timeout` of every request.
    pub timeouts: Timeouts,
}

/// The name of every run's folder starts with this, then the process id: what a killed
/// run left is found by it and swept by the next start.
const FOLDER: &str = ".s3tune-dataset-";

impl Dataset {
    /// Lists `prefix` of `bucket` (an empty listing, a missing bucket or a refused
    /// listing fail here, before any timing) and keeps every object, or `sample` of them
    /// chosen by a fixed seed — the same ones in every process and every run, so that
    /// every trial moves the same set. Each copy is checked as [`Check::of`] says.
    pub async fn list(
        client: aws_sdk_s3::Client,
        bucket: &str,
        prefix: &str,
        sample: Option<u64>,
        timeouts: Timeouts,
    ) -> anyhow::Result<Self> {
        let prefix = s3tune_transfer::as_directory(prefix);
        let mut pages = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        let mut objects = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                anyhow::anyhow!(
                    "listing s3://{bucket}/{prefix}: {}",
                    s3tune_transfer::error::describe(&e)
                )
            })?;
            for o in page.contents() {
                let key = o.key().unwrap_or_default();
                if key.ends_with('/') {
                    continue; // a folder marker: `get --recursive` makes no file of it
                }
                let quoted = o.e_tag().unwrap_or_default();
                let size = o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
                let check = Check::of(key, size, quoted, false);
                objects.push(Listed {
                    key: key.to_owned(),
                    size,
                    etag: quoted.to_owned(),
                    check,
                });
            }
        }
        if objects.is_empty() {
            bail!(
                "s3://{bucket}/{prefix} holds no objects; give a prefix with the dataset under it"
            );
        }
        let listed = objects.len() as u64;
        if let Some(n) = sample {
            choose(&mut objects, n, |o| &o.key);
        }
        Ok(Self {
            client,
            bucket: bucket.to_owned(),
            prefix,
            objects: Arc::new(objects),
            listed,
            timeouts,
        })
    }

    /// `s3://bucket/prefix/`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// The bytes of what one run moves.
    pub fn bytes(&self) -> u64 {
        self.objects.iter().map(|o| o.size).sum()
    }

    /// Whether a run moves a sample rather than the whole prefix.
    pub fn sampled(&self) -> bool {
        (self.objects.len() as u64) < self.listed
    }

    /// Downloads the set once with `config` into a fresh folder under `dir`, checks every
    /// file, removes the folder, and returns the download's wall-clock seconds (the check
    /// is not timed); cut when it ran past `limit`.
    pub async fn download_once(
        &self,
        config: &TransferConfig,
        dir: &Path,
        slot: &ProgressSlot,
        limit: Option<Duration>,
        meter: &Meter,
    ) -> Result<Run, TrialError> {
        let folder = Folder::new(dir);
        let transfer = Transfer::new(self.client.clone(), self.timeouts.apply(config.clone()));
        let measuring = meter.start();
        *slot.lock().expect("progress slot") = Some(transfer.progress());
        let stop = async {
            match limit {
                Some(l) => tokio::time::sleep(l).await,
                None => std::future::pending().await,
            }
        };
        let result = if self.sampled() {
            let keys = self
                .objects
                .iter()
                .map(|o| s3tune_transfer::Entry {
                    key: o.key.clone(),
                    size: o.size,
                    etag: Some(o.etag.clone()),
                })
                .collect();
            transfer
                .download_keys(&self.bucket, &self.prefix, keys, &folder.0, stop)
                .await
        } else {
            transfer
                .download_prefix(&self.bucket, &self.prefix, &folder.0, stop)
                .await
        };
        *slot.lock().expect("progress slot") = None;
        let stats = match result {
            Err(s3tune_transfer::TransferError::Cancelled) => return Ok(Run::Cut(measuring.cut())),
            Err(e) => return Err(TrialError::Failed(e.to_string())),
            Ok(stats) => stats,
        };
        // Every attempt, the listing's included (priced as GETs here: a few at most).
        let costs = measuring.costs(
            None,
            Requests {
                get: stats.requests,
                ..Requests::default()
            },
        );
        if let Some(first) = stats.failed.first() {
            return Err(TrialError::Failed(format!(
                "{} of {} objects failed, {}: {}",
                stats.failed.len(),
                self.objects.len(),
                first.name,
                first.error
            )));
        }
        let (objects, prefix) = (Arc::clone(&self.objects), self.prefix.clone());
        let root = folder.0.clone();
        tokio::task::spawn_blocking(move || check_all(&objects, &prefix, &root))
            .await
            .map_err(|e| format!("checking the download: {e}"))??;
        drop(folder);
        Ok(Run::Whole(Ran {
            seconds: stats.seconds,
            costs,
        }))
    }
}

/// Keeps `n` of `items` (listed in key order), the same ones every time: shuffled by a
/// fixed seed, the first `n`, back in key order. Fewer than `n`: all of them.
pub fn choose<T>(items: &mut Vec<T>, n: u64, key: impl Fn(&T) -> &str) {
    if n >= items.len() as u64 {
        return;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_da7a);
    items.shuffle(&mut rng);
    items.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    items.sort_by(|a, b| key(a).cmp(key(b)));
}

/// Checks that every object of `objects` is under `root` where `prefix` maps it, with
/// exactly its bytes; the first that is not is named.
pub(super) fn check_all(objects: &[Listed], prefix: &str, root: &Path) -> Result<(), String> {
    for o in objects {
        let rel = o.key.strip_prefix(prefix).unwrap_or(&o.key);
        let path = root.join(rel);
        let file = std::fs::File::open(&path)
            .map_err(|e| format!("{}: not downloaded ({e}): not counted", o.key))?;
        verify(file, &path, o.size, &o.key, &o.check).map_err(|e| format!("{}: {e}", o.key))?;
    }
    Ok(())
}

/// A folder of this process under the destination (a run's copies, a synthetic
/// source), removed with all it holds when dropped, and swept by the next start if a
/// kill leaves it.
#[derive(Debug)]
pub struct Folder(PathBuf);

impl Folder {
    /// A new name in `dir` (made by whoever writes into it).
    pub fn new(dir: &Path) -> Self {
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        Self(dir.join(format!("{FOLDER}{}-{n}", std::process::id())))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes the run folders in `dir` that processes no longer running left (killed
/// mid-run); returns how many.
pub fn sweep_folders(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(FOLDER)) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        let alive = Path::new("/proc").join(pid).exists();
        if !alive && std::fs::remove_dir_all(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}
