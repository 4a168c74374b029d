//! Where a transfer study's bytes go, opened one way for `tune`, a resumed `tune` and
//! every worker: the embedded emulator with the study's network (each process starts its
//! own), or a bucket.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};

use super::{EmulatedNetwork, TransferSettings, Workload};
use crate::cli::ConnectArgs;
use crate::commands::Stop;
use crate::commands::client::{Timeouts, s3_client};
use crate::commands::s3url::S3Url;
use crate::experiment::upload::{SourceDigest, UploadCheck};
use crate::experiment::{Job, Target, UploadTarget, emulated};

/// Where a transfer study's bytes are.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// The embedded emulator with the network called `network`, and an object (download)
    /// or a synthetic source (upload) of `size` bytes.
    Emulator {
        /// `--network`.
        network: String,
        /// Bytes.
        size: u64,
    },
    /// `s3://bucket/key` (download), or `s3://bucket/prefix/` (upload).
    Bucket(S3Url),
    /// The embedded emulator with the network called `network`, holding the synthetic
    /// dataset `spec` (`--dataset`).
    Dataset {
        /// `--network`.
        network: String,
        /// `--dataset`.
        spec: String,
    },
    /// Every object under `s3://bucket/prefix/`, down.
    Prefix(S3Url),
}

impl Place {
    /// The place a stored study names.
    pub fn of_stored(s: &TransferSettings) -> anyhow::Result<Self> {
        if let Some(d) = &s.dataset {
            return Ok(match (&s.network, &d.spec) {
                (Some(network), Some(spec)) => Self::Dataset {
                    network: network.clone(),
                    spec: spec.clone(),
                },
                _ => Self::Prefix(S3Url::parse(&s.target)?),
            });
        }
        Ok(match &s.network {
            Some(network) => Self::Emulator {
                network: network.clone(),
                size: s.object_bytes,
            },
            None => Self::Bucket(S3Url::parse(&s.target)?),
        })
    }
}

/// What opening needs.
pub struct Request<'a> {
    /// What moves.
    pub workload: Workload,
    /// Where.
    pub place: Place,
    /// An upload's source file, for a bucket (the emulator's is made).
    pub source: Option<&'a Path>,
    /// The study: it names the scratch prefix of uploads.
    pub study: &'a str,
    /// Where S3 is.
    pub s3: &'a ConnectArgs,
    /// The timeouts of every request.
    pub timeouts: Timeouts,
    /// Where downloads (and the emulator's synthetic source) are written.
    pub dest: &'a Path,
    /// A dataset's `--sample N`.
    pub sample: Option<u64>,
}

/// An open target.
pub struct Opened {
    /// What the engine moves.
    pub job: Job,
    /// The object's or source's bytes.
    pub size: u64,
    /// The study's target, as stored: `s3://bucket/key` or `s3://bucket/prefix/`.
    pub url: String,
    /// The embedded emulator, running until dropped.
    pub server: Option<emulated::Emulated>,
    /// Its network, for the reports.
    pub emulated: Option<EmulatedNetwork>,
    /// Its `--network`, as the study keeps it.
    pub network: Option<String>,
    /// A synthetic source file, held to be removed when this is dropped.
    pub _scratch_source: Option<Box<dyn Send + Sync>>,
}

impl Opened {
    /// Where a client run as a program finds the same S3, and the environment it needs.
    pub fn program_env(&self, s3: &ConnectArgs) -> (Option<String>, Vec<(String, String)>) {
        match &self.server {
            Some(s) => (Some(s.endpoint()), s.client_env()),
            None => {
                let mut env = Vec::new();
                if let Some(r) = &s3.region {
                    env.push(("AWS_DEFAULT_REGION".to_owned(), r.clone()));
                }
                if let Some(p) = &s3.profile {
                    env.push(("AWS_PROFILE".to_owned(), p.clone()));
                }
                (s3.endpoint_url.clone(), env)
            }
        }
    }
}

/// Opens the target `req` describes: starts the emulator, looks the object up, or checks
/// that the bucket takes writes.
pub async fn open(req: Request<'_>, stop: &Stop) -> anyhow::Result<Opened> {
    match req.place.clone() {
        Place::Emulator { network, size } => open_emulator(&req, &network, size, stop).await,
        Place::Dataset { network, spec } if req.workload == Workload::Upload => {
            super::dataset::open_emulated_upload(&req, &network, &spec, stop).await
        }
        Place::Prefix(url) if req.workload == Workload::Upload => {
            let client = stop.or_stop(s3_client(req.s3)).await??;
            super::dataset::open_bucket_upload(&req, &url, client, stop).await
        }
        Place::Dataset { network, spec } => {
            super::dataset::open_emulated(&network, &spec, req.sample, stop).await
        }
        Place::Prefix(url) => {
            let client = stop.or_stop(s3_client(req.s3)).await??;
            super::dataset::open_bucket(client, &url, req.sample, req.timeouts, stop).await
        }
        Place::Bucket(url) => {
            let client = stop.or_stop(s3_client(req.s3)).await??;
            let job = match req.workload {
                Workload::Download => {
                    let t = stop
                        .or_stop(Target::discover(
                            client,
                            &url.bucket,
                            &url.key,
                            req.timeouts,
                        ))
                        .await?
                        .with_context(|| format!("looking up {url}"))?;
                    Job::Download(Arc::new(t))
                }
                Workload::Upload => {
                    let t = bucket_upload(&req, &url, client, stop).await?;
                    Job::Upload(Arc::new(t))
                }
            };
            Ok(Opened {
                size: job.bytes(),
                job,
                url: url.to_string(),
                server: None,
                emulated: None,
                network: None,
                _scratch_source: None,
            })
        }
    }
}

async fn open_emulator(
    req: &Request<'_>,
    network: &str,
    size: u64,
    stop: &Stop,
) -> anyhow::Result<Opened> {
    let (profile, description) = emulated::network(network)?;
    let described = EmulatedNetwork::of(&profile, description, network);
    let (server, job, scratch_source) = match req.workload {
        Workload::Download => {
            let (e, t) = stop
                .or_stop(emulated::start_download(profile, size))
                .await??;
            (e, Job::Download(Arc::new(t)), None)
        }
        Workload::Upload => {
            let e = stop.or_stop(emulated::start(profile, &[])).await??;
            // The user's file, checked by the MD5s the emulator answers with; else a
            // synthetic one, checked byte by byte in the emulator's store.
            let (source, check, scratch) = match req.source {
                Some(path) => {
                    let digest = SourceDigest::new(path.to_owned(), size);
                    (path.to_owned(), UploadCheck::Remote(Arc::new(digest)), None)
                }
                None => {
                    let src = emulated::upload_source(req.dest, size)?;
                    let check = UploadCheck::Emulator {
                        store: e.store(),
                        pattern: emulated::UPLOAD_PATTERN.into(),
                    };
                    (src.path().to_owned(), check, Some(src))
                }
            };
            let t = UploadTarget {
                client: e.client(),
                bucket: emulated::BUCKET.into(),
                prefix: format!("{}{}/", emulated::UPLOAD_PREFIX, req.study),
                source,
                size,
                check,
                timeouts: req.timeouts,
            };
            (e, Job::Upload(Arc::new(t)), scratch)
        }
    };
    let url = match &job {
        Job::Upload(_) => format!("s3://{}/{}", emulated::BUCKET, emulated::UPLOAD_PREFIX),
        Job::Download(t) => t.url(),
        Job::DownloadMany(d) => d.url(),
        Job::UploadMany(d) => d.scratch.url(),
    };
    Ok(Opened {
        job,
        size,
        url,
        server: Some(server),
        emulated: Some(described),
        network: Some(network.to_owned()),
        _scratch_source: scratch_source.map(|c| Box::new(c) as Box<dyn Send + Sync>),
    })
}

/// An upload to a bucket: the source checked, the bucket's taking of writes tried with
/// an empty object (deleted at once), so a refusal is one line before any trial.
async fn bucket_upload(
    req: &Request<'_>,
    url: &S3Url,
    client: aws_sdk_s3::Client,
    stop: &Stop,
) -> anyhow::Result<UploadTarget> {
    let Some(source) = req.source else {
        bail!("an upload to {url} needs the file to upload: --upload FILE");
    };
    let size = source_size(source)?;
    let prefix = scratch_prefix(req.study, url, &client, stop).await?;
    let path: PathBuf = source.to_owned();
    Ok(UploadTarget {
        client,
        bucket: url.bucket.clone(),
        prefix,
        check: UploadCheck::Remote(Arc::new(SourceDigest::new(path.clone(), size))),
        source: path,
        size,
        timeouts: req.timeouts,
    })
}

/// The study's scratch prefix under `url` (`PREFIX/s3tune-STUDY/`), once the bucket has
/// shown it takes writes there, and deletes and listings of what is written (tried with
/// an empty object, deleted at once): a refusal is one line before any trial.
pub async fn scratch_prefix(
    study: &str,
    url: &S3Url,
    client: &aws_sdk_s3::Client,
    stop: &Stop,
) -> anyhow::Result<String> {
    let mut prefix = url.key.clone();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    prefix.push_str(&format!("s3tune-{study}/"));
    let probe = format!("{prefix}.probe");
    let put = client
        .put_object()
        .bucket(&url.bucket)
        .key(&probe)
        .body(Vec::new().into())
        .send();
    stop.or_stop(put).await?.map_err(|e| {
        anyhow::anyhow!(
            "s3://{}/{prefix}: the bucket does not take the study's uploads ({}); choose a bucket and prefix you may write to",
            url.bucket,
            s3tune_transfer::error::describe(&e)
        )
    })?;
    let refused = |what: &str, e: &(dyn std::error::Error + 'static)| {
        anyhow::anyhow!(
            "s3://{}/{prefix}: the study can write there but not {what} ({}), which it needs to leave nothing behind; grant it or choose another bucket",
            url.bucket,
            s3tune_transfer::error::describe(e)
        )
    };
    let deleted = client
        .delete_object()
        .bucket(&url.bucket)
        .key(&probe)
        .send();
    stop.or_stop(deleted)
        .await?
        .map_err(|e| refused("delete", &e))?;
    let listed = client
        .list_objects_v2()
        .bucket(&url.bucket)
        .prefix(&prefix)
        .max_keys(1)
        .send();
    stop.or_stop(listed)
        .await?
        .map_err(|e| refused("list objects", &e))?;
    let uploads = client
        .list_multipart_uploads()
        .bucket(&url.bucket)
        .prefix(&prefix)
        .max_uploads(1)
        .send();
    stop.or_stop(uploads)
        .await?
        .map_err(|e| refused("list multipart uploads", &e))?;
    Ok(prefix)
}

/// The size of the upload source `path`, which must be a readable regular file.
pub fn source_size(path: &Path) -> anyhow::Result<u64> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| {
        anyhow::anyhow!(
            "--upload {shown}: {}",
            s3tune_transfer::error::io_reason(&e)
        )
    })?;
    if !meta.is_file() {
        bail!("--upload {shown}: not a regular file; give the file to upload");
    }
    std::fs::File::open(path).map_err(|e| {
        anyhow::anyhow!(
            "--upload {shown}: cannot read it ({})",
            s3tune_transfer::error::io_reason(&e)
        )
    })?;
    if meta.len() == 0 {
        bail!("--upload {shown}: the file is empty; there is nothing to time");
    }
    Ok(meta.len())
}

/// What building a study's runner needs beyond the opened target.
pub struct RunnerArgs<'a> {
    /// The Python that runs the bundled boto3 and CRT scripts.
    pub python: &'a str,
    /// Where S3 is, for boto3 on a bucket.
    pub s3: &'a ConnectArgs,
    /// Where downloads are written.
    pub dest: &'a Path,
    /// The study's output folder (the bundled scripts and the runs' folders).
    pub out: &'a Path,
}

impl Opened {
    /// Who moves the bytes in a trial of a study with `settings`: s3tune's engine, or
    /// another client as a program.
    pub fn runner(
        &self,
        settings: &TransferSettings,
        a: &RunnerArgs<'_>,
        slot: &crate::experiment::ProgressSlot,
    ) -> anyhow::Result<crate::experiment::Runner> {
        use crate::experiment::external::{External, Setup, probe, setup::S3Access};
        use crate::experiment::{Engine, Runner};
        if settings.client == super::Client::S3tune {
            return Ok(Runner::Engine(Engine {
                job: self.job.clone(),
                repeats: settings.repeats,
                prices: settings.prices,
                dest_dir: a.dest.to_path_buf(),
                slot: slot.clone(),
                meter: crate::experiment::usage::Meter::new(
                    self.server.as_ref().map(emulated::Emulated::cpu),
                ),
            }));
        }
        let found = probe(settings.client, a.python)?;
        let (endpoint, env) = self.program_env(a.s3);
        let region = match &self.server {
            Some(s) => Some(s.region()),
            None => a.s3.region.clone(),
        };
        let access = S3Access {
            endpoint,
            region,
            profile: a.s3.profile.clone(),
            env,
            watch: self.server.as_ref().map(emulated::Emulated::live_stats),
        };
        let setup = Setup::new(found, access, a.out)?;
        Ok(Runner::External(External {
            client: settings.client,
            job: self.job.clone(),
            repeats: settings.repeats,
            prices: settings.prices,
            dest_dir: a.dest.to_path_buf(),
            setup: Arc::new(setup),
        }))
    }

    /// Sweeps what the trials `mine` wrote (a worker's own, when it leaves: cleanup a
    /// dropped trial began may not have finished).
    pub async fn sweep_trials(&self, mine: &[u64]) {
        if let Some(t) = self.job.scratch() {
            for id in mine {
                if let Err(e) = t.sweep_under(&format!("trial-{id}/")).await {
                    tracing::warn!("{e}");
                }
            }
        }
    }

    /// Sweeps an upload study's scratch prefix (nothing to do for a download) but for
    /// what the study's running trials (other workers') are writing, saying what a killed
    /// run had left.
    pub async fn sweep(&self, session: &super::Session) -> anyhow::Result<()> {
        if let Some(t) = self.job.scratch() {
            let running: Vec<u64> = session
                .store
                .trials(&session.study)?
                .iter()
                .filter(|r| r.trial.status == s3tune_hpo::Status::Pending)
                .map(|r| r.trial.id)
                .collect();
            let (objects, uploads) = t.sweep_except(&running).await.map_err(anyhow::Error::msg)?;
            if objects + uploads > 0 {
                tracing::info!(
                    "removed {objects} objects and {uploads} multipart uploads left under {} by an earlier run",
                    t.url()
                );
            }
        }
        Ok(())
    }
}
