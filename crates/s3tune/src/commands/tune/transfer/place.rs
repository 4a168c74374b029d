//! Where a transfer study's bytes are, from the flags for a new study and from the store
//! for a resumed one (whose flags must agree): the embedded emulator (one synthetic
//! object, or a dataset), an object or prefix of a bucket, and an upload's source.

use std::path::PathBuf;

use anyhow::bail;

use super::super::resume::{self, Size};
use crate::cli::TuneArgs;
use crate::commands::s3url::S3Url;
use crate::experiment::emulated;
use crate::study::dataset::is_prefix;
use crate::study::target::Place;
use crate::study::{TransferSettings, Workload};

/// Where the bytes are — the flags' for a new study, a resumed one's own — and an
/// upload's source file.
pub(super) fn place(
    args: &TuneArgs,
    name: &str,
    stored: Option<&TransferSettings>,
    workload: Workload,
) -> anyhow::Result<(Place, Option<PathBuf>)> {
    // Canonical, so a resume from another folder, or as `./f`, names the same file.
    let given = args
        .upload
        .clone()
        .flatten()
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p));
    let source = given
        .clone()
        .or_else(|| stored.and_then(|s| s.source.clone().map(PathBuf::from)));
    if let (Some(g), Some(s)) = (&given, stored.and_then(|s| s.source.as_deref()))
        && g.as_os_str() != std::ffi::OsStr::new(s)
    {
        bail!(
            "study `{name}` uploads {s}, not {}; use another --study name",
            g.display()
        );
    }
    let Some(text) = &args.target else {
        return emulator(args, name, stored, workload, source);
    };
    if args.network.is_some() || args.object_size.is_some() || args.dataset.is_some() {
        bail!(
            "--network, --object-size and --dataset shape the embedded emulator; they do not apply to an s3:// target"
        );
    }
    let url = S3Url::parse(text)?;
    let prefix = match workload {
        Workload::Download => is_prefix(&url),
        Workload::Upload => source.as_ref().is_some_and(|p| p.is_dir()),
    };
    let url = match workload {
        Workload::Download if !prefix => S3Url::parse_object(text)?,
        _ => url,
    };
    if let Some(s) = stored
        && s.target != url.to_string()
    {
        bail!(
            "study `{name}` tuned {}, not {url}; use another --study name",
            s.target
        );
    }
    if prefix {
        return Ok((Place::Prefix(url), source));
    }
    Ok((Place::Bucket(url), source))
}

/// The embedded emulator's place (no target): a synthetic dataset, or one synthetic
/// object or source file (or the user's file, up).
fn emulator(
    args: &TuneArgs,
    name: &str,
    stored: Option<&TransferSettings>,
    workload: Workload,
    source: Option<PathBuf>,
) -> anyhow::Result<(Place, Option<PathBuf>)> {
    if let Some(s) = stored
        && s.network.is_none()
    {
        bail!(
            "study `{name}` tuned {}; give it as the target to resume it",
            s.target
        );
    }
    let network = || {
        resume::fixed(
            name,
            "--network",
            args.network.clone(),
            stored.and_then(|s| s.network.clone()),
            "s3-scaled".to_owned(),
        )
    };
    let stored_spec = stored.and_then(|s| s.dataset.as_ref()?.spec.clone());
    if args.dataset.is_some() || stored_spec.is_some() {
        if args.object_size.is_some() {
            bail!("--object-size sizes the one synthetic object; a --dataset gives its own sizes");
        }
        if let Some(path) = &source {
            bail!(
                "--dataset makes the files to upload; drop {} (or drop --dataset and give s3://BUCKET/PREFIX/)",
                path.display()
            );
        }
        let spec = resume::fixed(
            name,
            "--dataset",
            args.dataset.clone(),
            stored_spec,
            String::new(),
        )?;
        crate::study::dataset::spec(&spec)?;
        return Ok((
            Place::Dataset {
                network: network()?,
                spec,
            },
            None,
        ));
    }
    if source.is_some() && args.object_size.is_some() {
        bail!("--object-size sizes the synthetic file; an --upload FILE is its own size");
    }
    let network = network()?;
    let size = match &source {
        Some(path) => crate::study::target::source_size(path)?,
        None => {
            resume::fixed(
                name,
                "--object-size",
                args.object_size.map(Size),
                stored.map(|s| Size(s.object_bytes)),
                Size(match workload {
                    Workload::Download => emulated::OBJECT_SIZE,
                    Workload::Upload => emulated::UPLOAD_SIZE,
                }),
            )?
            .0
        }
    };
    Ok((Place::Emulator { network, size }, source))
}
