//! Where a dataset study's objects are: a synthetic dataset on the embedded emulator
//! (`--dataset NAME|KEY=SIZE`, down from it, or up from a synthetic folder), or a prefix
//! of a bucket (down from it, or up from a folder) — opened the same way by `tune`,
//! a resumed `tune` and every worker.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use s3tune_emulator::ObjectSpec;

use super::EmulatedNetwork;
use super::target::{Opened, Request};
use crate::commands::Stop;
use crate::commands::client::Timeouts;
use crate::commands::s3url::S3Url;
use crate::experiment::dataset_up::{self, UpFile, make_source};
use crate::experiment::upload::{SourceDigest, UploadCheck};
use crate::experiment::{Dataset, DatasetUpload, Job, UploadTarget, dataset, emulated};

/// The named datasets of `--dataset`: the two shapes (many small objects, where
/// requests are the limit; few large ones, where the link is) and an image folder.
pub const PRESETS: [(&str, &str, &str); 3] = [
    (
        "small",
        "dataset/small/shard-{0000..1999}.bin=256KiB",
        "2,000 objects of 256 KiB",
    ),
    (
        "large",
        "dataset/large/shard-{00..63}.bin=64MiB",
        "64 objects of 64 MiB",
    ),
    (
        "images",
        "dataset/images/img-{00000..19999}.jpg=lognormal(100KiB,0.5)",
        "20,000 images of log-normal sizes around 100 KiB",
    ),
];

/// `--dataset`: a preset's name, or `KEY=SIZE` as `s3tune serve --objects` takes it
/// without the bucket (`train/shard-{000..999}.tar=64MiB`); the spec in the emulator's
/// bucket and the prefix it lists under (its key up to the numbered range, to the last
/// `/`).
pub fn spec(text: &str) -> anyhow::Result<(ObjectSpec, String)> {
    let key = PRESETS
        .iter()
        .find(|(name, _, _)| *name == text)
        .map_or(text, |(_, spec, _)| spec);
    let spec: ObjectSpec = format!("{}/{key}", emulated::BUCKET).parse().map_err(|e| {
        anyhow!(
            "--dataset {text}: {e}; give {} or KEY=SIZE, e.g. 'train/shard-{{000..999}}.tar=64MiB'",
            PRESETS.map(|p| p.0).join(", ")
        )
    })?;
    let head = key.split(['{', '=']).next().unwrap_or_default();
    let prefix = head.rfind('/').map_or("", |i| &head[..=i]).to_owned();
    Ok((spec, prefix))
}

/// The emulator holding the dataset `text` names, on `network`, listed (and sampled).
pub async fn open_emulated(
    network: &str,
    text: &str,
    sample: Option<u64>,
    stop: &Stop,
) -> anyhow::Result<Opened> {
    let (profile, description) = emulated::network(network)?;
    let (spec, prefix) = spec(text)?;
    let described = EmulatedNetwork::of(&profile, description, network);
    let e = stop
        .or_stop(emulated::start_specs(profile, vec![spec]))
        .await??;
    let listing = Dataset::list(
        e.client(),
        emulated::BUCKET,
        &prefix,
        sample,
        Timeouts::default(),
    );
    let d = stop
        .or_stop(listing)
        .await?
        .context("listing the emulator's dataset")?;
    Ok(Opened {
        size: d.bytes(),
        url: d.url(),
        job: Job::DownloadMany(Arc::new(d)),
        server: Some(e),
        emulated: Some(described),
        network: Some(network.to_owned()),
        _scratch_source: None,
    })
}

/// The prefix `url` of a bucket, listed (and sampled).
pub async fn open_bucket(
    client: aws_sdk_s3::Client,
    url: &S3Url,
    sample: Option<u64>,
    timeouts: Timeouts,
    stop: &Stop,
) -> anyhow::Result<Opened> {
    let listing = Dataset::list(client, &url.bucket, &url.key, sample, timeouts);
    let d = stop.or_stop(listing).await??;
    Ok(Opened {
        size: d.bytes(),
        url: d.url(),
        job: Job::DownloadMany(Arc::new(d)),
        server: None,
        emulated: None,
        network: None,
        _scratch_source: None,
    })
}

/// The emulator and, in `req.dest`, a synthetic source folder of the dataset `text` (or
/// its sample), for a dataset upload study: each file its own synthetic pattern, so that
/// every stored byte can be checked in the emulator's store.
pub async fn open_emulated_upload(
    req: &Request<'_>,
    network: &str,
    text: &str,
    stop: &Stop,
) -> anyhow::Result<Opened> {
    let (profile, description) = emulated::network(network)?;
    let (spec, prefix) = spec(text)?;
    let described = EmulatedNetwork::of(&profile, description, network);
    let mut files: Vec<UpFile> = spec
        .objects()
        .map(|(key, size)| UpFile {
            rel: key[prefix.len()..].to_owned(),
            size,
        })
        .collect();
    let listed = files.len() as u64;
    if let Some(n) = req.sample {
        dataset::choose(&mut files, n, |f| &f.rel);
    }
    let bytes = files.iter().map(|f| f.size).sum();
    crate::commands::tune::check_room(req.dest, bytes, true)?;
    let (dest, list) = (req.dest.to_owned(), files.clone());
    let folder = tokio::task::spawn_blocking(move || make_source(&dest, &list)).await??;
    let e = stop.or_stop(emulated::start(profile, &[])).await??;
    let scratch = UploadTarget {
        client: e.client(),
        bucket: emulated::BUCKET.into(),
        prefix: format!("{}{}/", emulated::UPLOAD_PREFIX, req.study),
        source: folder.path().to_owned(),
        size: bytes,
        check: UploadCheck::Emulator {
            store: e.store(),
            pattern: emulated::UPLOAD_PATTERN.into(),
        },
        timeouts: req.timeouts,
    };
    Ok(Opened {
        size: bytes,
        url: format!("s3://{}/{}", emulated::BUCKET, emulated::UPLOAD_PREFIX),
        job: Job::UploadMany(Arc::new(DatasetUpload {
            scratch,
            files: Arc::new(files),
            digests: None,
            listed,
        })),
        server: Some(e),
        emulated: Some(described),
        network: Some(network.to_owned()),
        _scratch_source: Some(Box::new(folder)),
    })
}

/// The folder `req.source`, up under the study's scratch prefix of `url` (once the
/// bucket has shown it takes the study's writes, deletes and listings).
pub async fn open_bucket_upload(
    req: &Request<'_>,
    url: &S3Url,
    client: aws_sdk_s3::Client,
    stop: &Stop,
) -> anyhow::Result<Opened> {
    let dir = req
        .source
        .ok_or_else(|| anyhow!("an upload to {url} needs the folder to upload: --upload DIR"))?;
    let root = dir.to_owned();
    let files = tokio::task::spawn_blocking(move || dataset_up::walk(&root)).await??;
    let digests: Vec<_> = files
        .iter()
        .map(|f| Arc::new(SourceDigest::new(dir.join(&f.rel), f.size)))
        .collect();
    let prefix = super::target::scratch_prefix(req.study, url, &client, stop).await?;
    let bytes = files.iter().map(|f| f.size).sum();
    let scratch = UploadTarget {
        client,
        bucket: url.bucket.clone(),
        prefix,
        source: dir.to_owned(),
        size: bytes,
        check: UploadCheck::Remote(Arc::clone(&digests[0])),
        timeouts: req.timeouts,
    };
    Ok(Opened {
        size: bytes,
        url: url.to_string(),
        job: Job::UploadMany(Arc::new(DatasetUpload {
            scratch,
            listed: files.len() as u64,
            files: Arc::new(files),
            digests: Some(Arc::new(digests)),
        })),
        server: None,
        emulated: None,
        network: None,
        _scratch_source: None,
    })
}

/// Whether a download target names many objects: a prefix (a key ending in `/`, or
/// none: the whole bucket) is a dataset, as `aws s3 cp --recursive` takes it.
pub fn is_prefix(url: &S3Url) -> bool {
    url.key.is_empty() || url.key.ends_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_specs_name_their_objects_and_prefix() {
        let (small, prefix) = spec("small").unwrap();
        assert_eq!((small.count(), prefix.as_str()), (2000, "dataset/small/"));
        assert_eq!(small.total_bytes(), 2000 * 256 * 1024);
        let (own, prefix) = spec("train/x/shard-{000..009}.tar=1MiB").unwrap();
        assert_eq!((own.count(), prefix.as_str()), (10, "train/x/"));
        let (flat, prefix) = spec("img-{1..5}.jpg=lognormal(10KiB,0.5)").unwrap();
        assert_eq!((flat.count(), prefix.as_str()), (5, ""));
        let err = spec("tiny").unwrap_err().to_string();
        assert!(err.contains("small, large, images"), "{err}");
    }
}
