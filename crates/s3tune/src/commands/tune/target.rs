//! What a download study tunes: an object in a bucket (looked up, and checked against a
//! resumed study's), or a synthetic object on the embedded emulator with the study's
//! network.

use anyhow::{Context, bail};

use super::resume;
use crate::cli::TuneArgs;
use crate::commands::Stop;
use crate::commands::client::Timeouts;
use crate::commands::s3url::S3Url;
use crate::experiment::{Target, emulated};
use crate::report::{EmulatedNetwork, Settings};

/// The object, and the emulator it is on (if it is).
pub(super) struct Found {
    /// The object.
    pub target: Target,
    /// The embedded emulator, running until dropped.
    pub server: Option<emulated::Emulated>,
    /// Its network, for the reports.
    pub emulated: Option<EmulatedNetwork>,
    /// Its `--network`, as the study keeps it.
    pub network: Option<String>,
}

/// Finds the target of study `name`: the object `url`, or with none the emulator's
/// (`stored`: the study's settings, when it is resumed).
pub(super) async fn find(
    args: &TuneArgs,
    url: Option<&S3Url>,
    name: &str,
    stored: Option<&Settings>,
    timeouts: Timeouts,
    stop: &Stop,
) -> anyhow::Result<Found> {
    Ok(match url {
        Some(url) => {
            if let Some(s) = stored
                && s.target != url.to_string()
            {
                bail!(
                    "study `{name}` tuned {}, not {url}; use another --study name",
                    s.target
                );
            }
            let client = stop
                .or_stop(crate::commands::client::s3_client(&args.s3))
                .await??;
            let target = stop
                .or_stop(Target::discover(client, &url.bucket, &url.key, timeouts))
                .await?
                .with_context(|| format!("looking up {url}"))?;
            if let Some(s) = stored
                && s.object_bytes != target.size
            {
                bail!(
                    "{url} is {} bytes now, but study `{name}` tuned it at {}: the object changed, so the study's results do not carry over; use another --study name",
                    target.size,
                    s.object_bytes
                );
            }
            Found {
                target,
                server: None,
                emulated: None,
                network: None,
            }
        }
        None => {
            let stored_network = stored.and_then(|s| s.network.clone());
            if stored.is_some() && stored_network.is_none() {
                bail!(
                    "study `{name}` tuned {}; give it as the target to resume it",
                    stored.map_or("", |s| s.target.as_str())
                );
            }
            let network_name = resume::fixed(
                name,
                "--network",
                args.network.clone(),
                stored_network,
                "s3-scaled".to_owned(),
            )?;
            let size = resume::fixed(
                name,
                "--object-size",
                args.object_size.map(resume::Size),
                stored.map(|s| resume::Size(s.object_bytes)),
                resume::Size(emulated::OBJECT_SIZE),
            )?
            .0;
            let (profile, description) = emulated::network(&network_name)?;
            let link = profile.link_bandwidth.map(|r| r.0);
            // Started to learn the object as a client sees it; `study create` stops it
            // again at once (each worker of the study starts its own).
            let e = stop.or_stop(emulated::start(profile, size)).await??;
            let network = EmulatedNetwork {
                description,
                link_bytes_per_sec: link,
                scale: (network_name == "s3-scaled").then_some(emulated::SCALE),
            };
            Found {
                target: e.target.clone(),
                server: Some(e),
                emulated: Some(network),
                network: Some(network_name),
            }
        }
    })
}
