//! One file up: the bucket and scratch prefix an upload study writes under, and one
//! timed, checked upload.
//!
//! Every upload is checked before its time counts, by s3tune and not only by the client:
//! on the embedded emulator, the stored bytes themselves against the synthetic source's
//! pattern; on a bucket, what S3 says it stored — its checksum of the object
//! (CRC64NVME, CRC32, CRC32C, SHA-1, SHA-256; full-object or composite of the parts) or
//! its MD5 ETag — against the same digest of the source. Each object is deleted after its
//! check; a trial dropped mid-upload has its multipart upload aborted; and what a killed
//! run left under the study's scratch prefix is swept ([`UploadTarget::sweep`]).

use super::costs::{Ran, Requests, Run};
use super::usage::Meter;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use s3tune_hpo::backend::TrialError;
use s3tune_transfer::{Transfer, TransferConfig};

use super::ProgressSlot;
use crate::commands::client::Timeouts;

pub(crate) mod digest;
mod sweep;

pub use digest::SourceDigest;

/// How an uploaded object is checked.
#[derive(Debug, Clone)]
pub enum UploadCheck {
    /// The embedded emulator's own store: every stored byte against the synthetic
    /// pattern called `pattern`.
    Emulator {
        /// The emulator's store.
        store: Arc<s3tune_emulator::store::Store>,
        /// The name of the source's synthetic pattern.
        pattern: String,
    },
    /// S3's digest of what it stored against the source's.
    Remote(Arc<SourceDigest>),
}

/// Where an upload study writes, and what it uploads.
#[derive(Debug, Clone)]
pub struct UploadTarget {
    /// Client for the endpoint.
    pub client: aws_sdk_s3::Client,
    /// The bucket.
    pub bucket: String,
    /// The study's scratch prefix (ends in `/`): every trial's objects go under it.
    pub prefix: String,
    /// The file uploaded.
    pub source: PathBuf,
    /// Its size.
    pub size: u64,
    /// How each upload is checked.
    pub check: UploadCheck,
    /// The `--connect-timeout` and `--read-timeout` of every request.
    pub timeouts: Timeouts,
}

/// Deletes its object when dropped before it is disarmed: an upload whose trial ends
/// anywhere after S3 stored it leaves nothing behind.
struct Scratch {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    armed: bool,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (client, bucket, key) = (self.client.clone(), self.bucket.clone(), self.key.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = client.delete_object().bucket(bucket).key(key).send().await;
            });
        }
    }
}

/// Whether the run that owns an upload task has let it go (dropped or cut it): the
/// sender of `gone` is gone without a word. The task then cleans up after itself.
pub(super) fn abandoned(gone: &mut tokio::sync::oneshot::Receiver<()>) -> bool {
    matches!(
        gone.try_recv(),
        Err(tokio::sync::oneshot::error::TryRecvError::Closed)
    )
}

impl UploadTarget {
    /// `s3://bucket/prefix/`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// The key of the upload called `tag` (`trial-3/run-2`).
    pub fn key(&self, tag: &str) -> String {
        format!("{}{tag}", self.prefix)
    }

    /// Uploads the source once with `config` to the key of `tag`, checks what was
    /// stored, deletes it, and returns the upload's wall-clock seconds (the check and the
    /// delete are not timed); cut when the upload ran past `limit`.
    pub async fn upload_once(
        &self,
        config: &TransferConfig,
        tag: &str,
        slot: &ProgressSlot,
        limit: Option<Duration>,
        meter: &Meter,
    ) -> Result<Run, TrialError> {
        let key = self.key(tag);
        self.check_source()?;
        let transfer = Transfer::new(self.client.clone(), self.timeouts.apply(config.clone()));
        let measuring = meter.start();
        *slot.lock().expect("progress slot") = Some(transfer.progress());
        // The upload runs as a task of its own, told to stop when this future is dropped
        // or cut: it then aborts its multipart upload, or deletes what it had stored
        // already, itself — after its last request, so no delete can come before the
        // write it undoes.
        let (keep, mut gone) = tokio::sync::oneshot::channel::<()>();
        let (src, bucket, k) = (self.source.clone(), self.bucket.clone(), key.clone());
        let client = self.client.clone();
        let mut task = tokio::spawn(async move {
            let stop = async {
                let _ = (&mut gone).await;
            };
            let result = transfer.upload_until(&src, &bucket, &k, stop).await;
            let abandoned = abandoned(&mut gone);
            if abandoned && result.is_ok() {
                let _ = client.delete_object().bucket(&bucket).key(&k).send().await;
            }
            result
        });
        let done = match limit {
            None => Some((&mut task).await),
            Some(l) => tokio::time::timeout(l, &mut task).await.ok(),
        };
        drop(keep);
        *slot.lock().expect("progress slot") = None;
        let Some(done) = done else {
            return Ok(Run::Cut(measuring.cut()));
        };
        let stats = done
            .map_err(|e| TrialError::Failed(format!("the upload task failed: {e}")))?
            .map_err(|e| TrialError::Failed(e.to_string()))?;
        let costs = measuring.costs(
            Some(stats.peak_buffered),
            Requests::from_engine(&stats.requests_by_kind),
        );
        // Stored: deleted however the check ends (dropped too).
        let mut scratch = Scratch {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.clone(),
            armed: true,
        };
        self.verify(&key).await?;
        self.delete(&key).await?;
        scratch.armed = false;
        Ok(Run::Whole(Ran {
            seconds: stats.seconds,
            costs,
        }))
    }

    /// The source must still be the size the study was made with: a file that changed
    /// between trials would make every measurement after it another experiment.
    pub fn check_source(&self) -> Result<(), TrialError> {
        let shown = self.source.display();
        let now = std::fs::metadata(&self.source)
            .map_err(|e| {
                TrialError::Failed(format!(
                    "the upload's source {shown}: {}",
                    s3tune_transfer::error::io_reason(&e)
                ))
            })?
            .len();
        if now != self.size {
            return Err(TrialError::Failed(format!(
                "the upload's source {shown} changed during the study (it was {} bytes, it is now {now}); restore it or start a new study",
                self.size
            )));
        }
        Ok(())
    }

    /// Checks the object at `key` as [`UploadCheck`] says.
    pub async fn verify(&self, key: &str) -> Result<(), TrialError> {
        match &self.check {
            UploadCheck::Emulator { store, pattern } => {
                let (store, pattern) = (Arc::clone(store), pattern.clone());
                let (bucket, key, size) = (self.bucket.clone(), key.to_owned(), self.size);
                tokio::task::spawn_blocking(move || {
                    digest::check_stored(&store, &bucket, &key, size, &pattern)
                })
                .await
                .map_err(|e| TrialError::Failed(format!("checking the upload: {e}")))?
            }
            UploadCheck::Remote(source) => {
                source.check_remote(&self.client, &self.bucket, key).await
            }
        }
        .map_err(TrialError::Failed)
    }

    /// Deletes the object at `key`.
    pub async fn delete(&self, key: &str) -> Result<(), TrialError> {
        if let UploadCheck::Emulator { store, .. } = &self.check {
            // In process: no request through the emulated network.
            return store
                .delete_object(&self.bucket, key)
                .map_err(|e| TrialError::Failed(format!("deleting {key}: {e}")));
        }
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                TrialError::Failed(format!(
                    "deleting s3://{}/{key} after its check: {}",
                    self.bucket,
                    s3tune_transfer::error::describe(&e)
                ))
            })
    }
}
