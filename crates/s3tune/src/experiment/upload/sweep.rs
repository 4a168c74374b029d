//! Leaving nothing in the bucket: every object and every multipart upload under a study's
//! scratch prefix is removed when the study's run starts (what a killed run left) and
//! when it ends.

use super::{UploadCheck, UploadTarget};

impl UploadTarget {
    /// Deletes every object and aborts every multipart upload under the scratch prefix;
    /// returns how many of each there were.
    pub async fn sweep(&self) -> Result<(usize, usize), String> {
        self.sweep_under("").await
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

    /// Checks and deletes every object under the scratch prefix followed by `sub` (what
    /// one run of a client stored): a wrong one fails, and is deleted too.
    pub async fn check_all(&self, sub: &str) -> Result<(), s3tune_hpo::backend::TrialError> {
        let keys = self
            .keys_under(sub)
            .await
            .map_err(s3tune_hpo::backend::TrialError::Failed)?;
        let mut first_error = None;
        for key in keys {
            if let Err(e) = self.verify(&key).await {
                first_error.get_or_insert(e);
            }
            self.delete(&key).await?;
        }
        first_error.map_or(Ok(()), Err)
    }

    /// [`UploadTarget::sweep`] of the scratch prefix followed by `sub` only.
    pub async fn sweep_under(&self, sub: &str) -> Result<(usize, usize), String> {
        let prefix = format!("{}{sub}", self.prefix);
        if let UploadCheck::Emulator { store, .. } = &self.check {
            return Ok(store.clear_prefix(&self.bucket, &prefix));
        }
        let fail = |what: &str, e: &(dyn std::error::Error + 'static)| {
            format!(
                "{what} under {}: {}",
                self.url(),
                s3tune_transfer::error::describe(e)
            )
        };
        let keys = self.keys_under(sub).await?;
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
                self.client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(id)
                    .send()
                    .await
                    .map_err(|e| fail("aborting a multipart upload left", &e))?;
                uploads += 1;
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
