//! The clients s3tune runs as programs — boto3, the AWS CLI, the AWS CRT (through the
//! bundled scripts) and rclone — one process per transfer, each copy checked by s3tune.
//!
//! A run writes the client's settings where the client reads them (a config file, its
//! arguments, its flags: each client's file in `clients/` says how), starts it on a fresh
//! folder or a fresh key, times it (by the client's own report of the seconds from its
//! first request, or start to exit), then checks every byte it moved exactly as the
//! engine's copies are checked — a download's file against the object, an upload's
//! stored object against the source — and removes it. A client that exits with an error,
//! reports no time, writes the wrong bytes or leaves a file out fails its trial with that
//! reason; the study goes on.

mod process;
pub mod setup;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use s3tune_hpo::Config;
use s3tune_hpo::backend::TrialError;

use super::costs::Run;
use super::dataset::{Folder, check_all};
use super::download::verify;
use super::{Job, UploadTarget};
use crate::study::Client;

pub use setup::{Setup, probe};

/// What one run of a client moves.
#[derive(Debug)]
pub enum Move<'a> {
    /// `s3://bucket/key` to the file `dest`.
    Download {
        /// Bucket.
        bucket: &'a str,
        /// Key.
        key: &'a str,
        /// The file to write.
        dest: &'a Path,
    },
    /// The file `source` to `s3://bucket/key`.
    Upload {
        /// The file.
        source: &'a Path,
        /// Bucket.
        bucket: &'a str,
        /// Key.
        key: &'a str,
    },
    /// Every object under `s3://bucket/prefix` (or only `keys`, a sample) into `dest`.
    DownloadMany {
        /// Bucket.
        bucket: &'a str,
        /// The prefix, ending in `/` (or empty).
        prefix: &'a str,
        /// A sample's keys (full keys); `None`: every object under the prefix.
        keys: Option<&'a [String]>,
        /// The folder to write into.
        dest: &'a Path,
    },
    /// Every file under `source` to its key under `s3://bucket/prefix`.
    UploadMany {
        /// The folder.
        source: &'a Path,
        /// Bucket.
        bucket: &'a str,
        /// The prefix, ending in `/`.
        prefix: &'a str,
    },
}

/// How a client's run is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// The client reports `[tune-metric]: {"seconds": …}` on stdout: the time from its
    /// first request to its end (the bundled Python scripts).
    Reported,
    /// From the process's start to its exit (a compiled client that starts at once).
    Wall,
}

/// How one run of a client is started.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The program (a path, or a name on `PATH`).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment added to s3tune's own.
    pub env: Vec<(String, String)>,
    /// Environment variables removed.
    pub unset: Vec<&'static str>,
    /// Files written before the run (settings), path and text.
    pub files: Vec<(PathBuf, String)>,
    /// How the run is timed.
    pub timing: Timing,
}

impl Client {
    /// How a run of `what` with `config` is started (not the engine's: it runs in
    /// process).
    pub fn invocation(self, setup: &Setup, what: &Move<'_>, config: &Config) -> Invocation {
        use super::clients::{awscli, crt, rclone};
        match self {
            Self::Awscli => awscli::invocation(setup, what, config),
            Self::Crt => crt::invocation(setup, what, config),
            Self::Rclone => rclone::invocation(setup, what, config),
            Self::Boto3 | Self::S3tune => super::clients::boto3::invocation(setup, what, config),
        }
    }
}

/// A client run as a program, for a study's trials and its race.
#[derive(Clone)]
pub struct External {
    /// Which.
    pub client: Client,
    /// What moves.
    pub job: Job,
    /// Transfers per trial.
    pub repeats: usize,
    /// What its requests cost.
    pub prices: super::costs::Prices,
    /// Where downloads are written.
    pub dest_dir: PathBuf,
    /// Where it is, how it reaches S3, where runs keep their files.
    pub setup: Arc<Setup>,
}

impl External {
    /// One timed, checked transfer of `config`, its files in the run folder `tag`; cut
    /// when it ran past `limit`.
    pub async fn run(
        &self,
        config: &Config,
        tag: &str,
        limit: Option<Duration>,
    ) -> Result<Run, TrialError> {
        let dir = self.setup.runs.join(tag);
        let setup = Setup {
            run_dir: dir.clone(),
            ..(*self.setup).clone()
        };
        let name = self.client.title();
        let run = |what: Move<'_>| {
            let mut inv = self.client.invocation(&setup, &what, config);
            inv.unset.extend(&setup.unset);
            let dir = dir.clone();
            let watch = self.setup.watch.clone();
            async move { process::run(&inv, &dir, name, limit, watch.as_deref()).await }
        };
        match &self.job {
            Job::Download(t) => {
                let folder = Folder::new(&self.dest_dir);
                make(folder.path())?;
                let file = t.key.rsplit('/').next().filter(|n| !n.is_empty());
                let dest = folder.path().join(file.unwrap_or("object"));
                let what = Move::Download {
                    bucket: &t.bucket,
                    key: &t.key,
                    dest: &dest,
                };
                let ran = match run(what).await? {
                    Run::Whole(ran) => ran,
                    cut @ Run::Cut(_) => return Ok(cut),
                };
                let (size, key, check) = (t.size, t.key.clone(), t.check.clone());
                blocking(move || {
                    let f = std::fs::File::open(&dest)
                        .map_err(|e| format!("{name} wrote no file at {}: {e}", dest.display()))?;
                    verify(f, &dest, size, &key, &check)
                })
                .await?;
                Ok(Run::Whole(ran))
            }
            Job::Upload(t) => {
                let sub = format!("{tag}/");
                let _sweep = Sweep::new(t, &sub);
                let key = t.key(&format!("{sub}object"));
                let what = Move::Upload {
                    source: &t.source,
                    bucket: &t.bucket,
                    key: &key,
                };
                let ran = match run(what).await? {
                    Run::Whole(ran) => ran,
                    cut @ Run::Cut(_) => return Ok(cut),
                };
                t.check_source()?;
                t.verify(&key).await?;
                t.delete(&key).await?;
                Ok(Run::Whole(ran))
            }
            Job::DownloadMany(d) => {
                let folder = Folder::new(&self.dest_dir);
                make(folder.path())?;
                let keys: Option<Vec<String>> = d
                    .sampled()
                    .then(|| d.objects.iter().map(|o| o.key.clone()).collect());
                let what = Move::DownloadMany {
                    bucket: &d.bucket,
                    prefix: &d.prefix,
                    keys: keys.as_deref(),
                    dest: folder.path(),
                };
                let ran = match run(what).await? {
                    Run::Whole(ran) => ran,
                    cut @ Run::Cut(_) => return Ok(cut),
                };
                let (objects, prefix) = (Arc::clone(&d.objects), d.prefix.clone());
                let root = folder.path().to_owned();
                blocking(move || check_all(&objects, &prefix, &root)).await?;
                drop(folder);
                Ok(Run::Whole(ran))
            }
            Job::UploadMany(d) => {
                let sub = format!("{tag}/");
                let _sweep = Sweep::new(&d.scratch, &sub);
                let prefix = d.scratch.key(&sub);
                let what = Move::UploadMany {
                    source: d.source(),
                    bucket: &d.scratch.bucket,
                    prefix: &prefix,
                };
                let ran = match run(what).await? {
                    Run::Whole(ran) => ran,
                    cut @ Run::Cut(_) => return Ok(cut),
                };
                d.check_objects(&sub).await?;
                Ok(Run::Whole(ran))
            }
        }
    }
}

fn make(dir: &Path) -> Result<(), TrialError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| TrialError::Failed(format!("cannot create {}: {e}", dir.display())))
}

/// Runs a check off the async threads.
async fn blocking(
    check: impl FnOnce() -> Result<(), String> + Send + 'static,
) -> Result<(), TrialError> {
    tokio::task::spawn_blocking(check)
        .await
        .map_err(|e| format!("checking the copy: {e}"))?
        .map_err(TrialError::Failed)
}

/// Sweeps a run's keys (objects, and multipart uploads a cut client left open) when the
/// run ends, however it ends: checked, failed, cut or dropped.
struct Sweep {
    target: UploadTarget,
    sub: String,
}

impl Sweep {
    fn new(target: &UploadTarget, sub: &str) -> Self {
        Self {
            target: target.clone(),
            sub: sub.to_owned(),
        }
    }
}

impl Drop for Sweep {
    fn drop(&mut self) {
        let (target, sub) = (self.target.clone(), std::mem::take(&mut self.sub));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = target.sweep_under(&sub).await {
                    tracing::warn!("{e}");
                }
            });
        }
    }
}
