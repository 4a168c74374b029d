//! boto3 as the client of a transfer study: its own `download_file` / `upload_file`, run
//! by the bundled scripts (`examples/boto3_download.py`, the seed's experiment, and
//! `examples/boto3_upload.py`) as Syne Tune–style subprocesses. They report the running
//! mean seconds after each transfer, as the engine does, so the searchers, the store and
//! the reports are the same. An upload's objects are checked by s3tune once the script
//! has ended, then deleted; a trial with one wrong object fails.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use s3tune_hpo::backend::{SubprocessBackend, TrialError};
use s3tune_hpo::{Config, TrialContext};

use super::UploadTarget;

/// The seed's experiment, bundled so `--client boto3` needs no checkout.
const DOWNLOAD_SCRIPT: &str = include_str!("../../../../examples/boto3_download.py");
/// `upload_file`'s counterpart.
const UPLOAD_SCRIPT: &str = include_str!("../../../../examples/boto3_upload.py");

/// Checks that `python` runs and can import boto3.
pub fn probe(python: &str) -> anyhow::Result<()> {
    match std::process::Command::new(python)
        .args(["-c", "import boto3"])
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        Ok(_) => bail!(
            "boto3 is not importable by `{python}`: install it with `{python} -m pip install boto3`, or name another Python with --python"
        ),
        Err(e) => bail!("cannot run `{python}` ({e}): name a Python with --python"),
    }
}

/// Where the script finds S3, and what it moves.
pub struct Boto3Setup<'a> {
    /// The Python that runs boto3.
    pub python: &'a str,
    /// `--endpoint-url`, if any.
    pub endpoint: Option<String>,
    /// Environment for credentials and region.
    pub env: Vec<(String, String)>,
    /// Transfers per trial.
    pub repeats: usize,
    /// Where the trials' folders (and the script) go.
    pub out: &'a Path,
}

/// What boto3 moves.
pub enum Boto3Job<'a> {
    /// `bucket/key` down into `dest`.
    Download {
        /// Bucket.
        bucket: &'a str,
        /// Key.
        key: &'a str,
        /// Where copies are written.
        dest: &'a Path,
    },
    /// The target's source up under its scratch prefix.
    Upload(Arc<UploadTarget>),
}

/// boto3 run by the bundled scripts.
#[derive(Clone)]
pub struct Boto3 {
    backend: SubprocessBackend,
    upload: Option<Arc<UploadTarget>>,
}

impl Boto3 {
    /// Checks that `python` can import boto3, writes the script into `out`, and sets up
    /// its command.
    pub fn new(setup: Boto3Setup<'_>, job: Boto3Job<'_>) -> anyhow::Result<Self> {
        probe(setup.python)?;
        // The upload script takes its knobs from the download script beside it.
        for (name, text) in [
            ("boto3_download.py", DOWNLOAD_SCRIPT),
            ("boto3_upload.py", UPLOAD_SCRIPT),
        ] {
            let path = setup.out.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        let script = setup.out.join(match job {
            Boto3Job::Download { .. } => "boto3_download.py",
            Boto3Job::Upload(_) => "boto3_upload.py",
        });
        let mut command = vec![setup.python.to_owned(), script.display().to_string()];
        if let Some(ep) = setup.endpoint {
            command.extend(["--endpoint-url".to_owned(), ep]);
        }
        let upload = match job {
            Boto3Job::Download { bucket, key, dest } => {
                command.extend(["--bucket", bucket, "--key", key, "--dest-dir"].map(str::to_owned));
                command.push(dest.display().to_string());
                None
            }
            Boto3Job::Upload(t) => {
                command.extend(["--bucket".to_owned(), t.bucket.clone()]);
                command.extend(["--file".to_owned(), t.source.display().to_string()]);
                Some(t)
            }
        };
        command.extend(["--repeats".to_owned(), setup.repeats.to_string()]);
        let mut backend = SubprocessBackend::new(command, "seconds", setup.out.join("trials"));
        backend.env = setup.env;
        backend.cut_runs = true;
        Ok(Self { backend, upload })
    }

    /// The backend with the arguments of the run called `tag` (an upload's keys).
    fn for_run(&self, tag: &str, repeats: Option<usize>) -> SubprocessBackend {
        let mut b = self.backend.clone();
        if let Some(t) = &self.upload {
            b.command
                .extend(["--prefix".to_owned(), t.key(&format!("{tag}/"))]);
        }
        if let Some(r) = repeats {
            // The later flag wins in argparse.
            b.command.extend(["--repeats".to_owned(), r.to_string()]);
        }
        b
    }

    /// One trial: the script, then (uploads) every object it stored checked and deleted.
    pub async fn trial(&self, ctx: Arc<TrialContext>) -> Result<(), TrialError> {
        let tag = format!("trial-{}", ctx.trial());
        let backend = self.for_run(&tag, None);
        let _cleanup = self.upload.as_ref().map(|t| Cleanup::new(t, &tag));
        let result = backend.run_trial(&ctx).await;
        if let Some(t) = &self.upload {
            t.check_all(&format!("{tag}/")).await?;
        }
        result
    }

    /// One transfer with `config`, outside any trial (the confirmation race).
    pub async fn once(&self, config: &Config, tag: &str) -> Result<f64, TrialError> {
        let backend = self.for_run(tag, Some(1));
        let _cleanup = self.upload.as_ref().map(|t| Cleanup::new(t, tag));
        let dir = self.backend.trials_dir.join(tag);
        let values = backend.measure(config, &dir).await?;
        if let Some(t) = &self.upload {
            t.check_all(&format!("{tag}/")).await?;
        }
        values
            .last()
            .copied()
            .ok_or_else(|| TrialError::Failed("boto3's run reported no seconds".into()))
    }
}

/// Sweeps a run's keys when it ends, however it ends (dropped too).
struct Cleanup {
    target: Arc<UploadTarget>,
    sub: String,
}

impl Cleanup {
    fn new(target: &Arc<UploadTarget>, tag: &str) -> Self {
        Self {
            target: Arc::clone(target),
            sub: format!("{tag}/"),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (target, sub) = (Arc::clone(&self.target), std::mem::take(&mut self.sub));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = target.sweep_under(&sub).await {
                    tracing::warn!("{e}");
                }
            });
        }
    }
}
