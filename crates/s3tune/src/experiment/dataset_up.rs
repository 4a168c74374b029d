//! Many files up: the folder a dataset upload study moves, and one timed, checked upload
//! of all of it.
//!
//! A run uploads the folder under its own key prefix of the study's scratch prefix (as
//! `s3tune put --recursive` does: the walk pipelined with the uploads), then checks every
//! object, untimed — on the embedded emulator its stored bytes against the synthetic
//! source's pattern, on a bucket S3's digest against the file's — and deletes them all.
//! The upload runs as a task of its own that is told to stop when the trial drops it, so
//! that it aborts its own multipart uploads and the run's keys are swept after its last
//! request: nothing is left in the bucket however the run ends.

use super::costs::{Ran, Requests, Run};
use super::usage::Meter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use s3tune_hpo::backend::TrialError;
use s3tune_transfer::{Transfer, TransferConfig};

use super::upload::{SourceDigest, UploadCheck, UploadTarget, digest};
use super::{ProgressSlot, emulated};

/// One file of the folder.
#[derive(Debug, Clone)]
pub struct UpFile {
    /// Its path under the folder, `/`-separated: the key under the run's prefix.
    pub rel: String,
    /// Its size.
    pub size: u64,
}

/// What a dataset upload study moves, and where.
#[derive(Debug, Clone)]
pub struct DatasetUpload {
    /// The bucket and the study's scratch prefix (its `source` is the folder, its
    /// `check` says where the objects are checked and swept: the emulator's store or the
    /// bucket).
    pub scratch: UploadTarget,
    /// The files, as the walk found them when the study opened.
    pub files: Arc<Vec<UpFile>>,
    /// Their digests, for a bucket (none on the emulator, whose store is read instead).
    pub digests: Option<Arc<Vec<Arc<SourceDigest>>>>,
    /// Files in the dataset, of which `files` are a sample when fewer.
    pub listed: u64,
}

impl DatasetUpload {
    /// The folder.
    pub fn source(&self) -> &Path {
        &self.scratch.source
    }

    /// The bytes of what one run moves.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Uploads the folder once with `config` under the run prefix `tag`, checks every
    /// object, deletes them, and returns the upload's wall-clock seconds (the check and
    /// the deletes are not timed); cut when it ran past `limit`.
    pub async fn upload_once(
        &self,
        config: &TransferConfig,
        tag: &str,
        slot: &ProgressSlot,
        limit: Option<Duration>,
        meter: &Meter,
    ) -> Result<Run, TrialError> {
        let sub = format!("{tag}/");
        let t = &self.scratch;
        let transfer = Transfer::new(t.client.clone(), t.timeouts.apply(config.clone()));
        let measuring = meter.start();
        *slot.lock().expect("progress slot") = Some(transfer.progress());
        let (keep, mut gone) = tokio::sync::oneshot::channel::<()>();
        let (me, sub2) = (self.clone(), sub.clone());
        let mut task = tokio::spawn(async move {
            let stop = async {
                let _ = (&mut gone).await;
            };
            let prefix = format!("{}{sub2}", me.scratch.prefix);
            let result = transfer
                .upload_dir(me.source(), &me.scratch.bucket, &prefix, stop)
                .await;
            if super::upload::abandoned(&mut gone)
                && let Err(e) = me.scratch.sweep_under(&sub2).await
            {
                tracing::warn!("{e}");
            }
            result
        });
        let cut = || async {
            match limit {
                Some(l) => tokio::time::sleep(l).await,
                None => std::future::pending().await,
            }
        };
        let done = tokio::select! {
            done = &mut task => Some(done),
            () = cut() => None,
        };
        if done.is_none() {
            // Cut: the task stops itself, then sweeps what it stored.
            drop(keep);
            let _ = task.await;
            *slot.lock().expect("progress slot") = None;
            return Ok(Run::Cut(measuring.cut()));
        }
        *slot.lock().expect("progress slot") = None;
        let checked = match done.expect("finished") {
            Err(e) => Err(TrialError::Failed(format!("the upload task failed: {e}"))),
            Ok(Err(e)) => Err(TrialError::Failed(e.to_string())),
            Ok(Ok(stats)) => {
                // Every attempt (CreateMultipartUpload and CompleteMultipartUpload,
                // POSTs, priced as PUTs are).
                let costs = measuring.costs(
                    None,
                    Requests {
                        put: stats.requests,
                        ..Requests::default()
                    },
                );
                self.check(&stats, &sub).await.map(|()| Ran {
                    seconds: stats.seconds,
                    costs,
                })
            }
        };
        let swept = t.sweep_under(&sub).await;
        drop(keep);
        let ran = checked?;
        swept.map_err(TrialError::Failed)?;
        Ok(Run::Whole(ran))
    }

    /// Every file arrived, exactly: none failed, and each object under the run's prefix
    /// is its file's bytes.
    async fn check(
        &self,
        stats: &s3tune_transfer::RecursiveStats,
        sub: &str,
    ) -> Result<(), TrialError> {
        if let Some(first) = stats.failed.first() {
            return Err(TrialError::Failed(format!(
                "{} of {} files failed, {}: {}",
                stats.failed.len(),
                self.files.len(),
                first.name,
                first.error
            )));
        }
        self.check_objects(sub).await
    }

    /// Every file is an object under the run's prefix `sub`, with exactly its bytes;
    /// the first that is not is named.
    pub async fn check_objects(&self, sub: &str) -> Result<(), TrialError> {
        let t = &self.scratch;
        let prefix = format!("{}{sub}", t.prefix);
        match (&t.check, &self.digests) {
            (UploadCheck::Emulator { store, pattern }, _) => {
                let (store, files) = (Arc::clone(store), Arc::clone(&self.files));
                let (bucket, pattern) = (t.bucket.clone(), pattern.clone());
                tokio::task::spawn_blocking(move || {
                    files.iter().try_for_each(|f| {
                        let key = format!("{prefix}{}", f.rel);
                        let p = pattern_of(&pattern, &f.rel);
                        digest::check_stored(&store, &bucket, &key, f.size, &p)
                            .map_err(|e| format!("{key}: {e}"))
                    })
                })
                .await
                .map_err(|e| format!("checking the upload: {e}"))?
                .map_err(TrialError::Failed)
            }
            (UploadCheck::Remote(_), Some(digests)) => {
                for (f, d) in self.files.iter().zip(digests.iter()) {
                    let key = format!("{prefix}{}", f.rel);
                    d.check_remote(&t.client, &t.bucket, &key)
                        .await
                        .map_err(|e| TrialError::Failed(format!("{key}: {e}")))?;
                }
                Ok(())
            }
            (UploadCheck::Remote(_), None) => Err(TrialError::Failed(
                "a bucket's upload has no digests to check against".into(),
            )),
        }
    }
}

/// The synthetic pattern of the file `rel` of a synthetic source folder whose patterns
/// are named under `base`.
pub fn pattern_of(base: &str, rel: &str) -> String {
    format!("{base}/{rel}")
}

/// The files under `dir` (regular files, symbolic links followed, as `put --recursive`
/// walks them), sorted; an error names the folder when it holds none or cannot be read.
pub fn walk(dir: &Path) -> anyhow::Result<Vec<UpFile>> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| anyhow::anyhow!("--upload {}: {e}", dir.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let rel: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
        let size = entry
            .metadata()
            .map_err(|e| anyhow::anyhow!("--upload {}: {e}", entry.path().display()))?
            .len();
        files.push(UpFile {
            rel: rel.join("/"),
            size,
        });
    }
    if files.is_empty() {
        anyhow::bail!(
            "--upload {}: the folder holds no files to upload",
            dir.display()
        );
    }
    Ok(files)
}

/// A synthetic source folder in `dir` holding `files` (each the pattern
/// [`pattern_of`]`(UPLOAD_PATTERN, rel)`), removed when dropped and swept if a kill
/// leaves it.
pub fn make_source(dir: &Path, files: &[UpFile]) -> anyhow::Result<super::dataset::Folder> {
    use anyhow::Context;
    let folder = super::dataset::Folder::new(dir);
    for f in files {
        let path: PathBuf = folder.path().join(&f.rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("making the synthetic source in {}", dir.display()))?;
        }
        let pattern =
            s3tune_emulator::synthetic::Pattern::new(&pattern_of(emulated::UPLOAD_PATTERN, &f.rel));
        let mut bytes = vec![0u8; usize::try_from(f.size).unwrap_or(0)];
        pattern.fill(0, &mut bytes);
        std::fs::write(&path, &bytes)
            .with_context(|| format!("writing the synthetic source {}", path.display()))?;
    }
    Ok(folder)
}
