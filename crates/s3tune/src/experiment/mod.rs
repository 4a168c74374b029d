//! The trials of a transfer study: what one trial does, for each workload (one object
//! down or up, a dataset down or up) and each client (s3tune's engine in process; boto3,
//! the AWS CLI, the AWS CRT and rclone as programs, [`external`]). Every client
//! implements the tuner's [`Backend`]; every copy is checked by s3tune before its time
//! counts.

pub mod auto;
pub mod clients;
pub mod costs;
pub mod dataset;
pub mod dataset_up;
pub mod download;
pub mod emulated;
pub mod external;
pub mod knobs;
pub mod repeat;
pub mod upload;
pub mod usage;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use s3tune_hpo::backend::{Backend, TrialError};
use s3tune_hpo::{Config, TrialContext};
use s3tune_transfer::Progress;

use costs::Run;

pub use dataset::Dataset;
pub use dataset_up::DatasetUpload;
pub use download::Target;
pub use repeat::repeats_of;
pub use upload::UploadTarget;

/// The live counters of the transfer under way, for the progress display.
pub type ProgressSlot = Arc<Mutex<Option<Arc<Progress>>>>;

/// What moves in a trial of s3tune's engine.
#[derive(Debug, Clone)]
pub enum Job {
    /// The object, down into `dest_dir`.
    Download(Arc<Target>),
    /// The source file, up under the target's scratch prefix.
    Upload(Arc<UploadTarget>),
    /// Every object of a dataset (or its sample), down into a folder in `dest_dir`.
    DownloadMany(Arc<Dataset>),
    /// Every file of a folder, up under the target's scratch prefix.
    UploadMany(Arc<DatasetUpload>),
}

impl Job {
    /// The bytes one transfer moves.
    pub fn bytes(&self) -> u64 {
        match self {
            Self::Download(t) => t.size,
            Self::Upload(t) => t.size,
            Self::DownloadMany(d) => d.bytes(),
            Self::UploadMany(d) => d.bytes(),
        }
    }

    /// Where an upload writes (and what is swept there), for either upload.
    pub fn scratch(&self) -> Option<&UploadTarget> {
        match self {
            Self::Upload(t) => Some(t),
            Self::UploadMany(d) => Some(&d.scratch),
            Self::Download(_) | Self::DownloadMany(_) => None,
        }
    }
}

/// s3tune's engine, in process.
#[derive(Debug, Clone)]
pub struct Engine {
    /// What moves.
    pub job: Job,
    /// Transfers per trial.
    pub repeats: usize,
    /// What its requests cost.
    pub prices: costs::Prices,
    /// Where downloaded copies are written.
    pub dest_dir: PathBuf,
    /// The transfer under way, for the display.
    pub slot: ProgressSlot,
    /// Measures each run's memory and CPU.
    pub meter: usage::Meter,
}

impl Engine {
    /// One timed, checked transfer of `config` (a point of the space); `tag` names it
    /// (an upload's key); cut when it ran past `limit`.
    async fn run(
        &self,
        config: &Config,
        tag: &str,
        limit: Option<Duration>,
    ) -> Result<Run, TrialError> {
        let c = knobs::transfer_config(config).map_err(|e| TrialError::Config(e.to_string()))?;
        let (dir, slot, meter) = (&self.dest_dir, &self.slot, &self.meter);
        match &self.job {
            Job::Download(t) => t.download_once(&c, dir, slot, limit, meter).await,
            Job::Upload(t) => t.upload_once(&c, tag, slot, limit, meter).await,
            Job::DownloadMany(d) => d.download_once(&c, dir, slot, limit, meter).await,
            Job::UploadMany(d) => d.upload_once(&c, tag, slot, limit, meter).await,
        }
    }
}

/// Who moves the bytes in a trial.
#[derive(Clone)]
pub enum Runner {
    /// s3tune's engine.
    Engine(Engine),
    /// A client run as a program.
    External(external::External),
}

impl Runner {
    /// One timed, checked transfer of `config`, its run called `tag` (an upload's keys,
    /// a run's folder); cut when it ran past `limit`.
    async fn run(
        &self,
        config: &Config,
        tag: &str,
        limit: Option<Duration>,
    ) -> Result<Run, TrialError> {
        match self {
            Self::Engine(e) => e.run(config, tag, limit).await,
            Self::External(x) => x.run(config, tag, limit).await,
        }
    }

    /// One transfer of `config` outside any trial (the confirmation race, the auto
    /// rules' probes), timed.
    pub async fn once(&self, config: &Config, tag: &str) -> Result<f64, TrialError> {
        match self.run(config, tag, None).await? {
            Run::Whole(r) => Ok(r.seconds),
            Run::Cut(_) => Err(TrialError::Failed(
                "the transfer was cut with no limit".into(),
            )),
        }
    }

    /// A trial: its configuration's transfer, as many times as the study's repeats.
    async fn trial(&self, ctx: Arc<TrialContext>) -> Result<(), TrialError> {
        let (repeats, prices) = match self {
            Self::Engine(e) => (e.repeats, e.prices),
            Self::External(x) => (x.repeats, x.prices),
        };
        let config = ctx.config().clone();
        let id = ctx.trial();
        repeat::run_repeats(&ctx, repeats, &prices, |r, limit| {
            let config = config.clone();
            async move {
                self.run(&config, &format!("trial-{id}/run-{r}"), limit)
                    .await
            }
        })
        .await
    }
}

impl Backend for Runner {
    fn run(self: Arc<Self>, ctx: Arc<TrialContext>) -> BoxFuture<'static, Result<(), TrialError>> {
        Box::pin(async move { self.trial(ctx).await })
    }
}
