//! Every file of a directory, up under a prefix.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::keys;
use super::{AHEAD, Failed, Item, RecursiveStats, Since, drive, until};
use crate::error::TransferError;
use crate::{Transfer, upload};

/// One file and its key.
#[derive(Clone)]
struct Up {
    path: Arc<Path>,
    key: Arc<str>,
}

/// Uploads every regular file under `dir` (symbolic links followed, as the AWS CLI
/// does, loops reported) to `bucket` under `prefix` (taken as a directory), in the
/// order of a sorted walk. A `dir` that is not a directory fails the whole transfer.
pub(crate) async fn upload_dir(
    t: &Transfer,
    dir: &Path,
    bucket: &str,
    prefix: &str,
    stop: impl Future<Output = ()>,
) -> Result<RecursiveStats, TransferError> {
    t.config.validate()?;
    let since = Since::now(&t.progress());
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(TransferError::Source {
                path: dir.to_owned(),
                reason: "is not a directory (without --recursive, put uploads one file)".into(),
            });
        }
        Err(e) => {
            return Err(TransferError::Source {
                path: dir.to_owned(),
                reason: crate::error::io_reason(&e),
            });
        }
    }
    let prefix = keys::as_directory(prefix);
    let (tx, rx) = tokio::sync::mpsc::channel(AHEAD);
    // Not awaited: the walk ends by itself once the queue is dropped.
    tokio::task::spawn_blocking({
        let (dir, prefix) = (dir.to_owned(), prefix.clone());
        move || walk(&dir, &prefix, &tx)
    });
    let (t2, bucket2) = (t.clone(), Arc::<str>::from(bucket));
    drive(
        rx,
        t.config.objects_in_flight(),
        (t.progress(), since),
        stop,
        move |u: Up, stopped| {
            let (t, bucket) = (t2.clone(), Arc::clone(&bucket2));
            async move {
                upload::from_path(
                    &t.client,
                    &u.path,
                    &bucket,
                    &u.key,
                    &t.config,
                    Arc::clone(&t.shared),
                    until(stopped),
                )
                .await
                .map(|_| 0)
            }
        },
    )
    .await
}

/// Walks `dir`, queueing each regular file with its key; refusals and unreadable
/// entries are queued as failures. Stops when the queue is dropped.
fn walk(dir: &Path, prefix: &str, tx: &super::Feed<Up>) {
    let entries = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .min_depth(1);
    for entry in entries {
        let item = match entry {
            Err(e) => Item::Failed(Failed {
                name: e.path().unwrap_or(dir).display().to_string(),
                error: e.io_error().map_or_else(
                    || "is a symbolic link loop: skipped".to_owned(),
                    crate::error::io_reason,
                ),
            }),
            Ok(e) if e.file_type().is_dir() => continue,
            Ok(e) if !e.file_type().is_file() => {
                tracing::warn!(path = %e.path().display(), "not a regular file: skipped");
                Item::Skipped
            }
            Ok(e) => file_item(
                dir,
                prefix,
                e.path().to_owned(),
                e.metadata().map(|m| m.len()).unwrap_or(0),
            ),
        };
        if tx.blocking_send(item).is_err() {
            return;
        }
    }
}

fn file_item(dir: &Path, prefix: &str, path: PathBuf, size: u64) -> Item<Up> {
    let rel = path.strip_prefix(dir).unwrap_or(&path);
    match keys::key_for(prefix, rel) {
        Ok(key) => Item::Object {
            name: path.display().to_string(),
            size,
            job: Up {
                path: path.into(),
                key: key.into(),
            },
        },
        Err(why) => Item::Failed(Failed {
            name: path.display().to_string(),
            error: format!("the path {why}"),
        }),
    }
}
