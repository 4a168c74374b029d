//! Every object under a prefix, down into a directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::keys::{self, Mapped};
use super::{AHEAD, Failed, Item, RecursiveStats, Since, drive, until};
use crate::error::TransferError;
use crate::{Transfer, download};

/// One listed object: its key, where under the directory it goes, and its size and
/// ETag as listed (which spare it a discovery request).
#[derive(Clone)]
struct Down {
    key: Arc<str>,
    rel: Arc<Path>,
    listed: Option<(u64, Arc<str>)>,
}

/// An object to download, as a listing gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its key.
    pub key: String,
    /// Its size.
    pub size: u64,
    /// Its ETag, if the listing gave one: the download is pinned to it.
    pub etag: Option<String>,
}

/// Downloads every object under `prefix` (taken as a directory: `data` is `data/`) of
/// `bucket` into `dir`, made if missing. A missing bucket or a refused listing fails
/// the whole transfer before anything is written; each object's failure is its own.
pub(crate) async fn download_prefix(
    t: &Transfer,
    bucket: &str,
    prefix: &str,
    dir: &Path,
    stop: impl Future<Output = ()>,
) -> Result<RecursiveStats, TransferError> {
    t.config.validate()?;
    let since = Since::now(&t.progress());
    let root = root(dir)?;
    let prefix = keys::as_directory(prefix);
    let mut pages = t
        .client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&prefix)
        .into_paginator()
        .send();
    // The first page answers for the bucket: a missing one fails here, whole.
    let first = pages
        .next()
        .await
        .transpose()
        .map_err(|e| TransferError::from_sdk("ListObjectsV2", bucket, &prefix, e))?;
    let (tx, rx) = tokio::sync::mpsc::channel(AHEAD);
    let lister = tokio::spawn({
        let (bucket, prefix) = (bucket.to_owned(), prefix.clone());
        async move {
            let mut page = first;
            while let Some(p) = page {
                for o in p.contents() {
                    let entry = Entry {
                        key: o.key().unwrap_or_default().to_owned(),
                        size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                        etag: o.e_tag().map(str::to_owned),
                    };
                    if tx.send(item(&prefix, entry)).await.is_err() {
                        return;
                    }
                }
                page = match pages.next().await.transpose() {
                    Ok(next) => next,
                    Err(e) => {
                        let e = TransferError::from_sdk("ListObjectsV2", &bucket, &prefix, e);
                        let failed = Failed {
                            name: format!("listing s3://{bucket}/{prefix}"),
                            error: e.to_string(),
                        };
                        let _ = tx.send(Item::Failed(failed)).await;
                        return;
                    }
                };
            }
        }
    });
    let stats = down_queue(t, bucket, root, rx, since, stop).await;
    lister.abort();
    stats
}

/// Downloads the objects `keys` (key, size) of `bucket`, each to its path under `dir` as
/// [`download_prefix`] would map it from `prefix`: a chosen part of a prefix (a sample of
/// a dataset), with no listing.
pub(crate) async fn download_keys(
    t: &Transfer,
    bucket: &str,
    prefix: &str,
    keys: Vec<Entry>,
    dir: &Path,
    stop: impl Future<Output = ()>,
) -> Result<RecursiveStats, TransferError> {
    t.config.validate()?;
    let since = Since::now(&t.progress());
    let root = root(dir)?;
    let prefix = keys::as_directory(prefix);
    let (tx, rx) = tokio::sync::mpsc::channel(AHEAD);
    let feeder = tokio::spawn(async move {
        for entry in keys {
            if tx.send(item(&prefix, entry)).await.is_err() {
                return;
            }
        }
    });
    let stats = down_queue(t, bucket, root, rx, since, stop).await;
    feeder.abort();
    stats
}

/// `dir`, made if missing, as the canonical root every object's path must stay under.
fn root(dir: &Path) -> Result<Arc<Path>, TransferError> {
    let destination = |e: std::io::Error| TransferError::Destination {
        path: dir.to_owned(),
        reason: crate::error::io_reason(&e),
    };
    std::fs::create_dir_all(dir).map_err(destination)?;
    Ok(std::fs::canonicalize(dir).map_err(destination)?.into())
}

/// Every object the queue `rx` names, down under `root`.
async fn down_queue(
    t: &Transfer,
    bucket: &str,
    root: Arc<Path>,
    rx: tokio::sync::mpsc::Receiver<Item<Down>>,
    since: Since,
    stop: impl Future<Output = ()>,
) -> Result<RecursiveStats, TransferError> {
    let (t2, bucket2) = (t.clone(), Arc::<str>::from(bucket));
    drive(
        rx,
        t.config.objects_in_flight(),
        (t.progress(), since),
        stop,
        move |d: Down, stopped| {
            let (t, bucket, root) = (t2.clone(), Arc::clone(&bucket2), Arc::clone(&root));
            async move { one(&t, &bucket, &root, &d, until(stopped)).await }
        },
    )
    .await
}

/// What a listed key becomes in the queue.
fn item(prefix: &str, entry: Entry) -> Item<Down> {
    match keys::path_for(prefix, &entry.key) {
        Ok(Mapped::Folder) => Item::Skipped,
        Ok(Mapped::File(rel)) => Item::Object {
            size: entry.size,
            job: Down {
                key: entry.key.as_str().into(),
                rel: rel.into(),
                listed: entry.etag.map(|e| (entry.size, e.into())),
            },
            name: entry.key,
        },
        Err(why) => Item::Failed(Failed {
            error: format!("the key {why}"),
            name: entry.key,
        }),
    }
}

/// One object: into a partial file beside its path, renamed when complete.
async fn one(
    t: &Transfer,
    bucket: &str,
    root: &Path,
    d: &Down,
    stop: impl Future<Output = ()>,
) -> Result<u64, TransferError> {
    let target: PathBuf = {
        let (root, rel) = (root.to_owned(), Arc::clone(&d.rel));
        tokio::task::spawn_blocking(move || keys::inside(&root, &rel))
            .await
            .map_err(|e| TransferError::BadResponse(format!("making directories: {e}")))?
            .map_err(|reason| TransferError::Destination {
                path: d.rel.to_path_buf(),
                reason,
            })?
    };
    let download = async {
        let listed = d
            .listed
            .as_ref()
            .map(|(size, etag)| (*size, etag.to_string()));
        let fetch = |listed| {
            download::to_part(
                &t.client,
                bucket,
                &d.key,
                &target,
                &t.config,
                t.discovery,
                Arc::clone(&t.shared),
                listed,
            )
        };
        match fetch(listed).await {
            // Replaced since it was listed: the version there now, found afresh (a retry).
            Err(TransferError::Changed { .. }) if d.listed.is_some() => {
                fetch(None).await.map(|w| (w, 1))
            }
            other => other.map(|w| (w, 0)),
        }
    };
    // Dropping the download drops its partial file, which removes it.
    let (w, retries) = tokio::select! {
        w = download => w?,
        () = stop => return Err(TransferError::Cancelled),
    };
    w.part.commit(&target)?;
    drop(w.file);
    Ok(retries)
}
