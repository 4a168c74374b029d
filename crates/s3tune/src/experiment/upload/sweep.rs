//! Leaving nothing in the bucket: every object and every multipart upload under a study's
//! scratch prefix is removed when the study's run starts (what a killed run left) and
//! when it ends.

use super::{UploadCheck, UploadTarget};

impl UploadTarget {
    /// Deletes every object and aborts every multipart upload under the scratch prefix,
    /// but for what trials `running` (other workers' trials under way) are writing;
    /// returns how many of each there were.
    pub async fn sweep_except(&self, running: &[u64]) -> Result<(usize, usize), String> {
        let theirs: Vec<String> = running
            .iter()
            .map(|t| format!("{}trial-{t}/", self.prefix))
            .collect();
        self.sweep_where("", &|key: &str| theirs.iter().any(|p| key.starts_with(p)))
            .await
    }

    /// The keys under the scratch prefix followed by `sub`.
    pub async fn keys_under(&self, sub: &str) -> Result<Vec<String>, String> {
        let prefix = format!("{}{sub}", self.prefix);
        if let UploadCheck::Emulator { store, .. } = &self.check {
            return Ok(store.keys(&self.bucket, &prefix));
        }
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                format!(
                    "listing s3://{}/{prefix}: {}",
                    self.bucket,
                    s3tune_transfer::error::describe(&e)
                )
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    /// [`UploadTarget::sweep_except`] of the scratch prefix followed by `sub` only.
    pub async fn sweep_under(&self, sub: &str) -> Result<(usize, usize), String> {
        self.sweep_where(sub, &|_: &str| false).await
    }

    /// Sweeps under the scratch prefix followed by `sub`, but for the keys `spared`
    /// names. An upload aborted by its own worker meanwhile is no error.
    async fn sweep_where(
        &self,
        sub: &str,
        spared: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<(usize, usize), String> {
        let prefix = format!("{}{sub}", self.prefix);
        if let UploadCheck::Emulator { store, .. } = &self.check {
            return Ok(in_store(store, &self.bucket, &prefix, spared));
        }
        let fail = |what: &str, e: &(dyn std::error::Error + 'static)| {
            format!(
                "{what} under {}: {}",
                self.url(),
                s3tune_transfer::error::describe(e)
            )
        };
        let keys: Vec<String> = self
            .keys_under(sub)
            .await?
            .into_iter()
            .filter(|k| !spared(k))
            .collect();
        for key in &keys {
            self.delete(key).await.map_err(|e| e.to_string())?;
        }
        let objects = keys.len();
        let mut uploads = 0;
        let mut key_marker: Option<String> = None;
        let mut id_marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(id_marker.take())
                .send()
                .await
                .map_err(|e| fail("listing the multipart uploads left", &e))?;
            for u in page.uploads() {
                let (Some(key), Some(id)) = (u.key(), u.upload_id()) else {
                    continue;
                };
                if spared(key) {
                    continue;
                }
                let aborted = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(id)
                    .send()
                    .await;
                match aborted {
                    Ok(_) => uploads += 1,
                    // Its own worker aborted it meanwhile.
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_upload()) => {}
                    Err(e) => return Err(fail("aborting a multipart upload left", &e)),
                }
            }
            if !page.is_truncated().unwrap_or(false) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            id_marker = page.next_upload_id_marker().map(str::to_owned);
            if key_marker.is_none() {
                break;
            }
        }
        Ok((objects, uploads))
    }
}

/// The sweep of an emulator's own store: no request through its emulated network.
fn in_store(
    store: &s3tune_emulator::store::Store,
    bucket: &str,
    prefix: &str,
    spared: &(dyn Fn(&str) -> bool + Sync),
) -> (usize, usize) {
    let keys: Vec<String> = store.keys(bucket, prefix);
    let mut objects = 0;
    for k in keys.iter().filter(|k| !spared(k)) {
        objects += usize::from(store.delete_object(bucket, k).is_ok());
    }
    let uploads = store.list_uploads(bucket, prefix).unwrap_or_default();
    let mut aborted = 0;
    for u in uploads.iter().filter(|u| !spared(&u.key)) {
        aborted += usize::from(store.abort_upload(bucket, &u.key, &u.id).is_ok());
    }
    (objects, aborted)
}
