//! Buckets: made, listed, checked and deleted — as S3 does, a bucket with objects stays,
//! and one with uploads in progress goes with them.

use std::collections::BTreeMap;

use super::{Bucket, Store, StoreError, now_secs, validate_bucket_name};

impl Store {
    /// Creates a bucket.
    pub fn create_bucket(&self, name: &str) -> Result<(), StoreError> {
        validate_bucket_name(name)?;
        let mut s = self.lock();
        if s.buckets.contains_key(name) {
            return Err(StoreError::BucketExists(name.to_owned()));
        }
        let created = now_secs();
        if let Some(d) = &self.disk {
            d.create_bucket(name, created)?;
        }
        s.buckets.insert(
            name.to_owned(),
            Bucket {
                created,
                objects: BTreeMap::new(),
            },
        );
        Ok(())
    }

    /// Creates a bucket unless it exists.
    pub fn ensure_bucket(&self, name: &str) -> Result<(), StoreError> {
        match self.create_bucket(name) {
            Ok(()) | Err(StoreError::BucketExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes an empty bucket.
    pub fn delete_bucket(&self, name: &str) -> Result<(), StoreError> {
        let mut s = self.lock();
        let bucket = s
            .buckets
            .get(name)
            .ok_or_else(|| StoreError::NoSuchBucket(name.to_owned()))?;
        if !bucket.objects.is_empty() {
            return Err(StoreError::BucketNotEmpty(name.to_owned()));
        }
        if let Some(d) = &self.disk {
            d.delete_bucket(name)?;
        }
        s.buckets.remove(name);
        // As S3: uploads in progress do not keep a bucket, and go with it.
        let gone: Vec<String> = s
            .uploads
            .iter()
            .filter(|(_, u)| u.bucket == name)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &gone {
            s.uploads.remove(id);
        }
        drop(s);
        if let Some(d) = &self.disk {
            for id in &gone {
                d.remove_upload(id)?;
            }
        }
        Ok(())
    }

    /// Every bucket with its creation time (seconds since the epoch), by name.
    #[must_use]
    pub fn list_buckets(&self) -> Vec<(String, u64)> {
        self.lock()
            .buckets
            .iter()
            .map(|(n, b)| (n.clone(), b.created))
            .collect()
    }

    /// Fails with `NoSuchBucket` unless the bucket exists.
    pub fn check_bucket(&self, name: &str) -> Result<(), StoreError> {
        if self.lock().buckets.contains_key(name) {
            Ok(())
        } else {
            Err(StoreError::NoSuchBucket(name.to_owned()))
        }
    }
}
