//! The main job's peer: the embedded emulator with S3's shape, scaled down to fit this
//! machine.
//!
//! On a real instance the network is the bottleneck: ~88 MB/s per connection, a shared
//! link ~14× that (10 Gb/s), ~30 ms to the first byte. A small machine emulating both
//! ends cannot run that link at full speed — its loopback, CPU and file writes would
//! become the limit, and tuning would measure them instead. So every bandwidth is divided
//! by [`SCALE`] (latency, being time, is kept) until the link sits far below what the
//! machine can move; the machine's own ceiling is measured and printed beside the link.
//! The object is sized so one download at the link's speed takes under a second, and a
//! default run fits a few dozen trials into two minutes.

use std::time::Duration;

use anyhow::Context;
use s3tune_emulator::{DedicatedEmulator, Emulator, EmulatorConfig, NetworkProfile, ObjectSpec};
use s3tune_transfer::TransferConfig;

use super::{ProgressSlot, Target};
use crate::commands::client::{Timeouts, emulator_client};

/// How much slower than S3 on a 10 Gb/s instance the emulated network is.
pub const SCALE: f64 = 8.0;
/// The tuned object's size: the seed's 3 GiB over 24 (one download ≈ 0.9 s on the link).
pub const OBJECT_SIZE: u64 = 128 << 20;
/// The uploaded file's size: twice the download's, because an upload pays three answers
/// that a download does not overlap (CreateMultipartUpload, the last part's,
/// CompleteMultipartUpload: ~0.1 s at S3's latency), which at 128 MiB would cap even the
/// best configuration near 88 % of the link. One upload ≈ 1.7 s on the link.
pub const UPLOAD_SIZE: u64 = 256 << 20;
/// The bucket of the emulated studies.
pub const BUCKET: &str = "s3tune";
const KEY: &str = "tune/object.bin";

/// S3's shape (the `s3-like` profile) with every rate divided by [`SCALE`]: the
/// bandwidths, and the request rates per prefix too — a rate of requests is as much a
/// rate as one of bytes, and scaling both keeps small objects meeting the request cap at
/// the same share of the link as they do on S3 (256 KiB objects: ~87 %).
pub fn profile() -> NetworkProfile {
    let s3 = NetworkProfile::s3_like();
    let scale = |r: Option<s3tune_emulator::Rate>| r.map(|r| s3tune_emulator::Rate(r.0 / SCALE));
    NetworkProfile {
        connection_bandwidth: scale(s3.connection_bandwidth),
        link_bandwidth: scale(s3.link_bandwidth),
        get_rate_limit: s3.get_rate_limit.map(|r| r / SCALE),
        put_rate_limit: s3.put_rate_limit.map(|r| r / SCALE),
        ..s3
    }
}

/// What the network imitates, in one line.
pub fn describe() -> String {
    let p = profile();
    let mbps = |r: Option<s3tune_emulator::Rate>| r.map_or(f64::INFINITY, |r| r.0 / 1e6);
    format!(
        "S3 from a 10 Gb/s instance scaled down {SCALE}x: {:.0} MB/s per connection, \
         {:.0} MB/s shared link, {} ms median first byte, {:.0} GET/s and {:.0} PUT/s per prefix",
        mbps(p.connection_bandwidth),
        mbps(p.link_bandwidth),
        p.first_byte_latency.as_millis(),
        p.get_rate_limit.unwrap_or(f64::INFINITY),
        p.put_rate_limit.unwrap_or(f64::INFINITY),
    )
}

/// A running emulator; stopped when dropped.
pub struct Emulated {
    server: Server,
}

impl Emulated {
    /// The endpoint URL.
    pub fn endpoint(&self) -> String {
        self.server().endpoint()
    }

    /// Its live counters (which tell when a client's first request came).
    pub fn live_stats(&self) -> std::sync::Arc<s3tune_emulator::Stats> {
        self.server().live_stats()
    }

    /// The CPU time of its threads (which serve in this process).
    pub fn cpu(&self) -> std::sync::Arc<s3tune_emulator::cpu::ThreadCpu> {
        self.server().cpu()
    }

    /// Its region.
    pub fn region(&self) -> String {
        self.server().region().to_owned()
    }

    /// The environment an AWS SDK (boto3) needs to sign requests to this server.
    pub fn client_env(&self) -> Vec<(String, String)> {
        let s = self.server();
        vec![
            ("AWS_ACCESS_KEY_ID".into(), s.access_key().into()),
            ("AWS_SECRET_ACCESS_KEY".into(), s.secret_key().into()),
            ("AWS_DEFAULT_REGION".into(), s.region().into()),
        ]
    }

    /// A client of this server.
    pub fn client(&self) -> aws_sdk_s3::Client {
        let h = self.server();
        emulator_client(&h.endpoint(), h.region(), h.access_key(), h.secret_key())
    }

    /// Its store, for checks that need no request through the emulated network.
    pub fn store(&self) -> std::sync::Arc<s3tune_emulator::store::Store> {
        std::sync::Arc::clone(self.server().store())
    }

    fn server(&self) -> &DedicatedEmulator {
        self.server.0.as_ref().expect("running until dropped")
    }
}

/// The emulator, stopped when dropped — from any thread.
struct Server(Option<DedicatedEmulator>);

impl Drop for Server {
    /// The server's runtime cannot be shut down from a thread that drives async tasks,
    /// which is where this is dropped (on every path, errors included): a plain thread
    /// does it.
    fn drop(&mut self) {
        if let Some(server) = self.0.take() {
            let _ = std::thread::spawn(move || drop(server)).join();
        }
    }
}

/// The network called `name`: `s3-scaled` ([`profile`]), a named profile, or a file.
pub fn network(name: &str) -> anyhow::Result<(NetworkProfile, String)> {
    if name == "s3-scaled" {
        return Ok((profile(), describe()));
    }
    let p = crate::commands::files::network(name)
        .map_err(|e| anyhow::anyhow!("{e} (or s3-scaled, the default)"))?;
    let text = format!("{name}: {}", p.describe());
    Ok((p, text))
}

/// Starts an emulator with `network` on threads of its own, with the bucket the studies
/// use, holding `objects` (synthetic, `(key, size)`).
pub async fn start(network: NetworkProfile, objects: &[(&str, u64)]) -> anyhow::Result<Emulated> {
    let specs = objects
        .iter()
        .map(|(key, size)| ObjectSpec::one(BUCKET, key, *size))
        .collect();
    start_specs(network, specs).await
}

/// Starts an emulator with `network` on threads of its own, with the bucket the studies
/// use, holding the synthetic objects and datasets `objects`.
pub async fn start_specs(
    network: NetworkProfile,
    objects: Vec<ObjectSpec>,
) -> anyhow::Result<Emulated> {
    let config = EmulatorConfig {
        network,
        objects,
        ..EmulatorConfig::default()
    };
    // Its own runtime and threads: the server behaves like a separate machine's.
    let server = Server(Some(
        tokio::task::spawn_blocking(move || Emulator::start_dedicated(config, 2))
            .await?
            .context("starting the embedded S3 emulator")?,
    ));
    let e = Emulated { server };
    e.server()
        .store()
        .ensure_bucket(BUCKET)
        .context("creating the emulator's bucket")?;
    Ok(e)
}

/// An emulator with `network` holding the synthetic object a download study tunes.
pub async fn start_download(
    network: NetworkProfile,
    size: u64,
) -> anyhow::Result<(Emulated, Target)> {
    let e = start(network, &[(KEY, size)]).await?;
    let target = Target::discover(e.client(), BUCKET, KEY, Timeouts::default()).await?;
    Ok((e, target))
}

/// The bucket of an emulated upload study, and the scratch prefix under it.
pub const UPLOAD_PREFIX: &str = "tune/uploads/";

/// The synthetic pattern of an emulated upload study's source file.
pub const UPLOAD_PATTERN: &str = "s3tune/upload-source";

/// A synthetic source file of `size` bytes in `dir` (the pattern [`UPLOAD_PATTERN`]): a
/// locked scratch file, removed when dropped and swept if a kill leaves it.
pub fn upload_source(dir: &std::path::Path, size: u64) -> anyhow::Result<s3tune_transfer::Copy> {
    use std::os::unix::fs::FileExt;
    let copy = s3tune_transfer::Copy::scratch(dir, "upload-source", size)
        .with_context(|| format!("making the synthetic source in {}", dir.display()))?;
    let pattern = s3tune_emulator::synthetic::Pattern::new(UPLOAD_PATTERN);
    let mut buf = vec![0u8; 8 << 20];
    let mut offset = 0;
    while offset < size {
        let n = usize::try_from((size - offset).min(buf.len() as u64)).unwrap_or(buf.len());
        pattern.fill(offset, &mut buf[..n]);
        copy.file()
            .write_all_at(&buf[..n], offset)
            .with_context(|| format!("writing the synthetic source {}", copy.path().display()))?;
        offset += n as u64;
    }
    Ok(copy)
}

/// What this machine can move with no emulated network: the best of three downloads of
/// a `size`-byte object from an unshaped emulator into `dir`, in bytes per second.
pub async fn machine_ceiling(dir: &std::path::Path, size: u64) -> anyhow::Result<f64> {
    let (free, target) = start_download(NetworkProfile::unlimited(), size).await?;
    let config = TransferConfig {
        max_concurrency: 8,
        multipart_chunksize: 16 << 20,
        ..TransferConfig::default()
    };
    let slot = ProgressSlot::default();
    let best = best_of_three(async |_| {
        target
            .download_once(&config, dir, &slot, None, &Default::default())
            .await
    })
    .await;
    drop(free);
    Ok(size as f64 / best.map_err(|e| anyhow::anyhow!("measuring the machine's ceiling: {e}"))?)
}

/// What this machine can move of the dataset `like` with no emulated network: the best
/// of three downloads of its first objects (the dataset `spec`), up to [`OBJECT_SIZE`]
/// of them, from an unshaped emulator into `dir`, wide open (64 objects and 64 requests
/// at once), in bytes per second — many small files cost the machine more than one
/// large one, and a part of the set tells that as well as the whole, in a second.
pub async fn dataset_ceiling(
    spec: ObjectSpec,
    like: &super::Dataset,
    dir: &std::path::Path,
) -> anyhow::Result<f64> {
    let free = start_specs(NetworkProfile::unlimited(), vec![spec]).await?;
    let mut bytes = 0;
    let part: Vec<_> = like
        .objects
        .iter()
        .take_while(|o| {
            bytes += o.size;
            bytes - o.size < OBJECT_SIZE
        })
        .cloned()
        .collect();
    let set = super::Dataset {
        client: free.client(),
        objects: std::sync::Arc::new(part),
        listed: u64::MAX,
        ..like.clone()
    };
    let config = wide_open();
    let slot = ProgressSlot::default();
    let best = best_of_three(async |_| {
        set.download_once(&config, dir, &slot, None, &Default::default())
            .await
    })
    .await;
    drop(free);
    Ok(set.bytes() as f64
        / best.map_err(|e| anyhow::anyhow!("measuring the machine's ceiling: {e}"))?)
}

/// What this machine can upload of the folder `like` with no emulated network: the best
/// of three uploads of it into an unshaped emulator, wide open (64 files and 64 requests
/// at once), each checked as the study's are, in bytes per second.
pub async fn dataset_upload_ceiling(like: &super::DatasetUpload) -> anyhow::Result<f64> {
    use super::upload::UploadCheck;
    let free = start(NetworkProfile::unlimited(), &[]).await?;
    let mut set = like.clone();
    set.scratch.client = free.client();
    set.scratch.bucket = BUCKET.into();
    set.scratch.prefix = "ceiling/".into();
    if let UploadCheck::Emulator { pattern, .. } = &like.scratch.check {
        set.scratch.check = UploadCheck::Emulator {
            store: free.store(),
            pattern: pattern.clone(),
        };
    }
    let config = wide_open();
    let slot = ProgressSlot::default();
    let best = best_of_three(async |i| {
        set.upload_once(
            &config,
            &format!("run-{i}"),
            &slot,
            None,
            &Default::default(),
        )
        .await
    })
    .await;
    drop(free);
    Ok(set.bytes() as f64
        / best.map_err(|e| anyhow::anyhow!("measuring the machine's upload ceiling: {e}"))?)
}

/// What this machine can upload with no emulated network: the best of three uploads of
/// the study's source (`like`'s) into an unshaped emulator, in bytes per second — the
/// emulator's ingest ceiling here, which the emulated link must sit well below. Each is
/// checked as the study's uploads are: a synthetic source byte by byte, a user's file by
/// the MD5s the emulator answers with.
pub async fn upload_ceiling(like: &super::UploadTarget) -> anyhow::Result<f64> {
    use super::upload::UploadCheck;
    let free = start(NetworkProfile::unlimited(), &[]).await?;
    let check = match &like.check {
        UploadCheck::Emulator { pattern, .. } => UploadCheck::Emulator {
            store: free.store(),
            pattern: pattern.clone(),
        },
        remote @ UploadCheck::Remote(_) => remote.clone(),
    };
    let size = like.size;
    let target = super::UploadTarget {
        client: free.client(),
        bucket: BUCKET.into(),
        prefix: "ceiling/".into(),
        source: like.source.clone(),
        size,
        check,
        timeouts: Timeouts::default(),
    };
    let config = TransferConfig {
        max_concurrency: 8,
        multipart_chunksize: 16 << 20,
        ..TransferConfig::default()
    };
    let slot = ProgressSlot::default();
    let best = best_of_three(async |i| {
        target
            .upload_once(
                &config,
                &format!("run-{i}"),
                &slot,
                None,
                &Default::default(),
            )
            .await
    })
    .await;
    drop(free);
    Ok(size as f64
        / best.map_err(|e| anyhow::anyhow!("measuring the machine's upload ceiling: {e}"))?)
}

/// How a dataset's ceiling is measured: 64 objects and 64 requests at once, 16 MiB
/// parts — far past what the emulated network rewards.
fn wide_open() -> TransferConfig {
    TransferConfig {
        max_concurrency: 64,
        max_objects: Some(64),
        multipart_chunksize: 16 << 20,
        ..TransferConfig::default()
    }
}

/// The fewest seconds of three runs of `once` (given the run's number).
async fn best_of_three(
    once: impl AsyncFn(usize) -> Result<super::costs::Run, s3tune_hpo::backend::TrialError>,
) -> Result<f64, s3tune_hpo::backend::TrialError> {
    let mut best = Duration::MAX.as_secs_f64();
    for i in 0..3 {
        if let super::costs::Run::Whole(r) = once(i).await? {
            best = best.min(r.seconds);
        }
    }
    Ok(best)
}
