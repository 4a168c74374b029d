//! What a dataset study adds to a transfer study's definition: whether many objects move
//! (`--dataset`, a prefix, a folder), the sample a study keeps, the second baseline, and
//! what is stored of the set as it was listed.

use anyhow::bail;
use s3tune_hpo::{Config, Domain, Space, Value};
use s3tune_transfer::Direction;

use super::define::Defined;
use crate::cli::TuneArgs;
use crate::commands::s3url::S3Url;
use crate::experiment::knobs;
use crate::study::dataset::is_prefix;
use crate::study::target::{Opened, Place};
use crate::study::{Client, DatasetSettings, TransferSettings};

/// What a dataset study adds.
pub struct Many {
    /// `--sample N`.
    pub sample: Option<u64>,
    /// boto3's defaults in a default Python thread pool, tried second.
    pub pool: Option<Config>,
    /// That pool's workers.
    pub workers: usize,
}

/// Whether the study moves many objects: `--dataset`, a target prefix, or a resumed
/// dataset study.
pub(super) fn is_many(args: &TuneArgs, stored: Option<&TransferSettings>) -> anyhow::Result<bool> {
    let prefix = args.upload.is_none()
        && args
            .target
            .as_deref()
            .and_then(|t| S3Url::parse(t).ok())
            .is_some_and(|u| is_prefix(&u));
    let folder = args
        .upload
        .as_ref()
        .and_then(Option::as_deref)
        .filter(|p| p.is_dir());
    let many = args.dataset.is_some()
        || prefix
        || folder.is_some()
        || stored.is_some_and(|s| s.dataset.is_some());
    if let Some(dir) = folder {
        if args.sample.is_some() {
            bail!(
                "--sample chooses objects of a --dataset or a prefix; to time part of {}, upload a folder holding that part",
                dir.display()
            );
        }
        if args.target.is_none() {
            bail!(
                "--upload {}: a folder goes to a bucket: give s3://BUCKET/PREFIX/ (or --dataset for a synthetic one on the emulator)",
                dir.display()
            );
        }
    }
    if args.sample.is_some() && !many {
        bail!(
            "--sample chooses objects of a dataset: give --dataset or a prefix (s3://BUCKET/PREFIX/)"
        );
    }
    if args.sample == Some(0) {
        bail!("--sample must be at least 1 object");
    }
    Ok(many)
}

/// A dataset study's sample (which a resumed study keeps) and, with `pool` (s3tune's
/// engine), its second baseline: boto3's defaults in a thread pool.
pub(super) fn dataset(
    args: &TuneArgs,
    name: &str,
    stored: Option<&TransferSettings>,
    space: &Space,
    pool: bool,
) -> anyhow::Result<Many> {
    let old = stored.and_then(|s| s.dataset.as_ref());
    let sample = match (args.sample, old) {
        (Some(given), Some(d)) if d.sample != Some(given) => bail!(
            "study `{name}` moves {} in each run, and a study keeps what defines it: drop --sample {given} to resume it, or give another --study name",
            d.sample.map_or("every object".to_owned(), |n| format!(
                "a sample of {n} objects"
            ))
        ),
        (given, d) => given.or(d.and_then(|d| d.sample)),
    };
    if let Some(d) = old {
        return Ok(Many {
            sample,
            pool: d.boto3_pool.clone(),
            workers: d.pool_workers,
        });
    }
    let workers = python_pool_workers();
    let pool = if args.no_baseline || !pool {
        None
    } else {
        let pool = boto3_pool(space, workers);
        if pool.is_none() {
            tracing::warn!(
                "the space cannot hold boto3's defaults in a pool of {workers} threads; that baseline is left out"
            );
        }
        pool
    };
    Ok(Many {
        sample,
        pool,
        workers,
    })
}

/// Workers of a Python `ThreadPoolExecutor()` on this machine, as it picks them
/// (`min(32, os.cpu_count() + 4)`): the pool a boto3 user maps `download_file` over.
pub fn python_pool_workers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    (cpus + 4).min(32)
}

/// A dataset's second baseline: boto3's defaults as a default thread pool of
/// `download_file` (or `upload_file`) calls moves it — `workers` objects at once, each
/// call with its own 10 threads, so up to 10 × `workers` requests. `None` when the space
/// cannot hold it (a narrowed range), which the caller says.
pub fn boto3_pool(space: &Space, workers: usize) -> Option<Config> {
    let mut config = knobs::baseline(Client::S3tune, space, Direction::Download).ok()?;
    let d = s3tune_transfer::TransferConfig::default();
    for (name, v) in [
        ("max_objects", workers),
        ("max_concurrency", d.max_concurrency * workers),
    ] {
        match space.params().find(|(k, _)| *k == name) {
            Some((_, Domain::Fixed(_))) | None => {}
            Some(_) => {
                config.insert(name.to_owned(), Value::Int(v as i64));
            }
        }
    }
    space.encode(&config).ok()?;
    Some(config)
}

impl Defined {
    /// What a dataset study stores of its set, as it was listed.
    pub(super) fn dataset_settings(&self, opened: &Opened) -> Option<Box<DatasetSettings>> {
        use crate::experiment::Job;
        let many = self.many.as_ref()?;
        let (objects, listed) = match &opened.job {
            Job::DownloadMany(d) => (d.objects.len() as u64, d.listed),
            Job::UploadMany(d) => (d.files.len() as u64, d.listed),
            Job::Download(_) | Job::Upload(_) => return None,
        };
        Some(Box::new(DatasetSettings {
            objects,
            listed,
            sample: many.sample,
            spec: match &self.place {
                Place::Dataset { spec, .. } => Some(spec.clone()),
                _ => None,
            },
            boto3_pool: many.pool.clone(),
            pool_workers: many.workers,
        }))
    }
}
