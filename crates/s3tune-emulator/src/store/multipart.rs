//! Multipart uploads: parts kept apart until completed with S3's checks, then joined
//! without copying (memory) or concatenated once (disk).

use std::collections::BTreeMap;
use std::sync::Arc;

use md5::{Digest, Md5};

use super::{
    Blob, Content, MIN_PART_SIZE, NewChecksum, NewObject, Object, ObjectMeta, PartInfo, State,
    Store, StoreError, Upload, now_secs,
};
use crate::checksum::{Algorithm, Checksum, Kind};

/// A part's body as the protocol layer received it.
#[derive(Debug)]
pub struct Received {
    /// The bytes.
    pub blob: Blob,
    /// Their MD5, hex.
    pub etag: String,
    /// Their full-object checksums.
    pub checksums: Vec<Checksum>,
}

/// A multipart upload in progress, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    /// Its key.
    pub key: String,
    /// Its id.
    pub id: String,
    /// When it was started (seconds since the epoch).
    pub initiated: u64,
}

impl Store {
    /// Multipart uploads started and neither completed nor aborted.
    #[must_use]
    pub fn uploads_in_progress(&self) -> usize {
        self.lock().uploads.len()
    }

    /// The multipart uploads in progress in `bucket` whose keys start with `prefix`, as
    /// S3 lists them: by key, then by when they were started.
    pub fn list_uploads(&self, bucket: &str, prefix: &str) -> Result<Vec<UploadInfo>, StoreError> {
        self.check_bucket(bucket)?;
        let s = self.lock();
        let mut out: Vec<UploadInfo> = s
            .uploads
            .iter()
            .filter(|(_, u)| u.bucket == bucket && u.key.starts_with(prefix))
            .map(|(id, u)| UploadInfo {
                key: u.key.clone(),
                id: id.clone(),
                initiated: u.initiated,
            })
            .collect();
        out.sort_by(|a, b| (&a.key, a.initiated, &a.id).cmp(&(&b.key, b.initiated, &b.id)));
        Ok(out)
    }

    /// Deletes every object and aborts every upload of `bucket` under `prefix`; returns
    /// how many of each there were.
    pub fn clear_prefix(&self, bucket: &str, prefix: &str) -> (usize, usize) {
        let objects = self
            .keys(bucket, prefix)
            .iter()
            .filter(|k| self.delete_object(bucket, k).is_ok())
            .count();
        let uploads = self
            .list_uploads(bucket, prefix)
            .unwrap_or_default()
            .into_iter()
            .filter(|u| self.abort_upload(bucket, &u.key, &u.id).is_ok())
            .count();
        (objects, uploads)
    }

    /// The keys of `bucket` that start with `prefix`, in order (none when there is no
    /// such bucket).
    #[must_use]
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let s = self.lock();
        s.buckets.get(bucket).map_or_else(Vec::new, |b| {
            b.objects
                .range(prefix.to_owned()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, _)| k.clone())
                .collect()
        })
    }

    /// Starts a multipart upload; returns its id.
    pub fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        attrs: NewObject,
    ) -> Result<String, StoreError> {
        self.check_bucket(bucket)?;
        let id = hex::encode(rand::random::<[u8; 16]>());
        if let Some(d) = &self.disk {
            d.create_upload(&id)?;
        }
        self.lock().uploads.insert(
            id.clone(),
            Upload {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                initiated: now_secs(),
                attrs,
                parts: BTreeMap::new(),
            },
        );
        Ok(id)
    }

    fn check_upload(s: &State, id: &str, bucket: &str, key: &str) -> Result<(), StoreError> {
        match s.uploads.get(id) {
            Some(u) if u.bucket == bucket && u.key == key => Ok(()),
            _ => Err(StoreError::NoSuchUpload(id.to_owned())),
        }
    }

    /// Stores part `number` of upload `id`, replacing an earlier one with that number.
    pub fn put_part(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
        number: i32,
        part: Received,
    ) -> Result<PartInfo, StoreError> {
        let Received {
            blob,
            etag,
            checksums,
        } = part;
        Self::check_upload(&self.lock(), id, bucket, key)?;
        let info = PartInfo {
            number,
            etag,
            size: blob.len(),
            last_modified: now_secs(),
            checksums,
        };
        let content = match &self.disk {
            Some(d) => Content::File(d.write_part(id, number, &blob)?),
            None => Content::Memory(blob),
        };
        let mut s = self.lock();
        let upload = s
            .uploads
            .get_mut(id)
            .ok_or_else(|| StoreError::NoSuchUpload(id.to_owned()))?;
        upload.parts.insert(number, (info.clone(), content));
        Ok(info)
    }

    /// The parts of upload `id`, by number.
    pub fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
    ) -> Result<Vec<PartInfo>, StoreError> {
        let s = self.lock();
        Self::check_upload(&s, id, bucket, key)?;
        Ok(s.uploads[id]
            .parts
            .values()
            .map(|(p, _)| p.clone())
            .collect())
    }

    /// Aborts upload `id`, dropping its parts.
    pub fn abort_upload(&self, bucket: &str, key: &str, id: &str) -> Result<(), StoreError> {
        let mut s = self.lock();
        Self::check_upload(&s, id, bucket, key)?;
        s.uploads.remove(id);
        drop(s);
        if let Some(d) = &self.disk {
            d.remove_upload(id)?;
        }
        Ok(())
    }

    /// The checksum algorithm and kind upload `id` was created with, if any.
    pub fn upload_checksum(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
    ) -> Result<Option<(Algorithm, Kind)>, StoreError> {
        let s = self.lock();
        Self::check_upload(&s, id, bucket, key)?;
        Ok(match s.uploads[id].attrs.checksum {
            NewChecksum::Upload(a, k) => Some((a, k)),
            _ => None,
        })
    }

    /// Completes upload `id` from the listed `(part number, etag)`s, with S3's checks:
    /// ascending numbers, parts that exist with that ETag, all but the last ≥ 5 MiB. The
    /// object gets `checksum` (the protocol layer's, from the parts').
    pub fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
        parts: &[(i32, String)],
        checksum: Option<Checksum>,
    ) -> Result<Arc<Object>, StoreError> {
        let (chosen, attrs) = {
            let s = self.lock();
            Self::check_upload(&s, id, bucket, key)?;
            let upload = &s.uploads[id];
            if parts.is_empty() {
                return Err(StoreError::NoParts);
            }
            if parts.windows(2).any(|w| w[0].0 >= w[1].0) {
                return Err(StoreError::InvalidPartOrder);
            }
            let mut chosen = Vec::with_capacity(parts.len());
            for (i, (number, etag)) in parts.iter().enumerate() {
                let (info, content) = upload
                    .parts
                    .get(number)
                    .ok_or(StoreError::InvalidPart(*number))?;
                if info.etag != etag.trim_matches('"') {
                    return Err(StoreError::InvalidPart(*number));
                }
                if i + 1 < parts.len() && info.size < MIN_PART_SIZE {
                    return Err(StoreError::EntityTooSmall(*number));
                }
                chosen.push((info.clone(), content.clone()));
            }
            (chosen, upload.attrs.clone())
        };
        // S3's multipart ETag: the MD5 of the concatenated binary part MD5s, then -N.
        let mut h = Md5::new();
        for (info, _) in &chosen {
            h.update(hex::decode(&info.etag).map_err(|e| StoreError::Io(e.to_string()))?);
        }
        let meta = ObjectMeta {
            key: key.to_owned(),
            size: chosen.iter().map(|(p, _)| p.size).sum(),
            etag: format!("{}-{}", hex::encode(h.finalize()), chosen.len()),
            last_modified: now_secs(),
            content_type: attrs.content_type,
            headers: attrs.headers,
            metadata: Arc::new(attrs.metadata),
            part_sizes: chosen.iter().map(|(p, _)| p.size).collect(),
            checksum,
        };
        let object = match &self.disk {
            Some(d) => {
                let files: Vec<_> = chosen
                    .iter()
                    .map(|(_, c)| match c {
                        Content::File(p) => Ok(p.clone()),
                        _ => Err(StoreError::Io("part not on disk".into())),
                    })
                    .collect::<Result<_, _>>()?;
                let staged = d.stage_concat(&files)?;
                self.commit_staged(d, bucket, meta, staged)?
            }
            None => {
                let chunks = chosen
                    .iter()
                    .flat_map(|(_, c)| match c {
                        Content::Memory(b) => b.chunks().to_vec(),
                        _ => Vec::new(),
                    })
                    .collect();
                self.insert(
                    bucket,
                    Object {
                        meta,
                        content: Content::Memory(Blob::from_chunks(chunks)),
                    },
                )?
            }
        };
        {
            let mut s = self.lock();
            s.uploads.remove(id);
            if s.completed.len() == REMEMBERED_COMPLETIONS {
                s.completed.pop_front();
            }
            s.completed.push_back((
                id.to_owned(),
                bucket.to_owned(),
                key.to_owned(),
                object.meta.etag.clone(),
            ));
        }
        if let Some(d) = &self.disk {
            d.remove_upload(id)?;
        }
        Ok(object)
    }

    /// The object upload `id` made, when it was completed lately and `bucket/key` still
    /// holds that object (not one written since): what a repeated completion answers.
    #[must_use]
    pub fn completed_object(&self, bucket: &str, key: &str, id: &str) -> Option<Arc<Object>> {
        let etag = {
            let s = self.lock();
            s.completed
                .iter()
                .find(|(i, b, k, _)| i == id && b == bucket && k == key)
                .map(|(.., e)| e.clone())?
        };
        self.get_object(bucket, key)
            .ok()
            .filter(|o| o.meta.etag == etag)
    }
}

/// How many completed uploads are remembered for repeated completions (in memory only:
/// a restarted server answers a repeat with `NoSuchUpload`).
const REMEMBERED_COMPLETIONS: usize = 10_000;
