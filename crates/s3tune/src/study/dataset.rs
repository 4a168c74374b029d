//! Where a dataset study's objects are: a synthetic dataset on the embedded emulator
//! (`--dataset NAME|KEY=SIZE`), or a prefix of a bucket — opened the same way by `tune`,
//! a resumed `tune` and every worker.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use s3tune_emulator::ObjectSpec;

use super::EmulatedNetwork;
use super::target::Opened;
use crate::commands::Stop;
use crate::commands::client::Timeouts;
use crate::commands::s3url::S3Url;
use crate::experiment::{Dataset, Job, emulated};

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
