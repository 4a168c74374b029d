//! Who downloads in a download study: s3tune's engine (in-process), or boto3 itself
//! through the bundled `examples/boto3_download.py` (the seed's experiment) run as a
//! Syne Tune–style subprocess. Both report the running mean seconds after each download,
//! so the searchers, the store and the reports are the same.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use s3tune_hpo::backend::SubprocessBackend;
use s3tune_hpo::{Config, Space, TrialContext};

use crate::experiment::{Experiment, knobs};

/// The seed's experiment, bundled so `--client boto3` needs no checkout.
const BOTO3_SCRIPT: &str = include_str!("../../../../../examples/boto3_download.py");

/// The knobs `boto3_download.py` takes.
const BOTO3_KNOBS: [&str; 4] = [
    "max_concurrency",
    "multipart_chunksize",
    "max_io_queue",
    "io_chunksize",
];

/// boto3 run by the bundled script.
pub struct Boto3 {
    backend: Arc<SubprocessBackend>,
}

/// How a trial's downloads are made.
pub enum Runner {
    /// s3tune's engine.
    Engine(Experiment),
    /// boto3's `download_file`.
    Boto3(Boto3),
}

/// Where boto3 finds the object.
pub struct Boto3Target<'a> {
    /// `--endpoint-url`, if any.
    pub endpoint: Option<String>,
    /// Bucket and key.
    pub bucket: &'a str,
    /// Key.
    pub key: &'a str,
    /// Environment for credentials and region.
    pub env: Vec<(String, String)>,
}

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

impl Boto3 {
    /// Checks that `python` can import boto3 and that the space has only the script's
    /// knobs, and writes the script into `out`.
    pub fn new(
        python: &str,
        space: &Space,
        target: Boto3Target<'_>,
        repeats: usize,
        dest: &Path,
        out: &Path,
    ) -> anyhow::Result<Self> {
        if let Some((k, _)) = space.params().find(|(k, _)| !BOTO3_KNOBS.contains(k)) {
            bail!(
                "--client boto3 tunes {} only; `{k}` is not one of them",
                BOTO3_KNOBS.join(", ")
            );
        }
        probe(python)?;
        let script = out.join("boto3_download.py");
        std::fs::write(&script, BOTO3_SCRIPT)
            .with_context(|| format!("writing {}", script.display()))?;
        let mut command = vec![python.to_owned(), script.display().to_string()];
        if let Some(ep) = target.endpoint {
            command.extend(["--endpoint-url".to_owned(), ep]);
        }
        command.extend([
            "--bucket".to_owned(),
            target.bucket.to_owned(),
            "--key".to_owned(),
            target.key.to_owned(),
            "--repeats".to_owned(),
            repeats.to_string(),
            "--dest-dir".to_owned(),
            dest.display().to_string(),
        ]);
        let mut backend = SubprocessBackend::new(command, "seconds", out.join("trials"));
        backend.env = target.env;
        Ok(Self {
            backend: Arc::new(backend),
        })
    }

    /// One download with `config`, outside any trial (the confirmation race).
    async fn once(&self, config: &Config, tag: &str) -> Result<f64, String> {
        let dir = self.backend.trials_dir.join(tag);
        let mut args = self.backend.command.clone();
        args.extend(["--repeats".to_owned(), "1".to_owned()]);
        args.extend(SubprocessBackend::arguments(config, &dir));
        // Under the trials' guard, in a group of its own: it dies with this process, even
        // by SIGKILL (the guard's stdin is the lifeline held here).
        let mut child = tokio::process::Command::new("/bin/sh")
            .args(["-c", s3tune_hpo::backend::GUARD, "s3tune-race-guard"])
            .args(&args)
            .envs(self.backend.env.iter().cloned())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", args[0]))?;
        let lifeline = child.stdin.take();
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| format!("cannot run {}: {e}", args[0]))?;
        drop(lifeline);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!("boto3 download failed: {}", err.trim()));
        }
        stdout
            .lines()
            .rev()
            .filter_map(|l| l.strip_prefix(s3tune_hpo::backend::REPORT_PREFIX))
            .filter_map(|j| serde_json::from_str::<serde_json::Value>(j.trim()).ok())
            .find_map(|v| v["seconds"].as_f64())
            .ok_or_else(|| "boto3's run reported no seconds".to_owned())
    }
}

impl Runner {
    /// One trial.
    pub async fn trial(&self, ctx: Arc<TrialContext>) -> Result<(), String> {
        match self {
            Runner::Engine(e) => e.run_trial(ctx).await,
            Runner::Boto3(b) => b.backend.run(ctx).await,
        }
    }

    /// One download of `config` (a point of the space), timed.
    pub async fn once(&self, config: &Config, tag: &str) -> Result<f64, String> {
        match self {
            Runner::Engine(e) => {
                let c = knobs::transfer_config(config).map_err(|e| e.to_string())?;
                e.target.download_once(&c, &e.dest_dir, &e.slot).await
            }
            Runner::Boto3(b) => b.once(config, tag).await,
        }
    }
}
