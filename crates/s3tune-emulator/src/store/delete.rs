//! Deleting objects, plainly or on condition of their ETag.

use super::{Store, StoreError};

/// What a conditional delete found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The object, now deleted.
    Deleted,
    /// No object.
    Missing,
    /// Another object than the one named (nothing deleted).
    Other,
}

impl Store {
    /// Deletes `bucket/key`; deleting a missing key succeeds, as in S3.
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        self.delete_object_if(bucket, key, None).map(|_| ())
    }

    /// Deletes `bucket/key` if its ETag is `etag` (any object when `None`), in one step,
    /// so no write between the check and the delete is lost; tells what it found.
    pub fn delete_object_if(
        &self,
        bucket: &str,
        key: &str,
        etag: Option<&str>,
    ) -> Result<Found, StoreError> {
        let mut s = self.lock();
        let b = s
            .buckets
            .get_mut(bucket)
            .ok_or_else(|| StoreError::NoSuchBucket(bucket.to_owned()))?;
        let found = match (b.objects.get(key), etag) {
            (None, _) => return Ok(Found::Missing),
            (Some(o), Some(e)) if o.meta.etag != e => return Ok(Found::Other),
            _ => Found::Deleted,
        };
        b.objects.remove(key);
        if let Some(d) = &self.disk {
            d.delete_object(bucket, key)?;
        }
        Ok(found)
    }
}
