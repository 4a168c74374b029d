//! Buckets, objects and multipart uploads: the emulator's state, in memory or on disk.
//!
//! One `std::sync::Mutex` guards the index; it is never held across `.await` nor across
//! file I/O (files are written under a temporary name first and renamed while the lock
//! is held, which is quick). Objects are immutable `Arc<Object>`s, so a GET streams an
//! object that a concurrent PUT replaces without either waiting for the other.

mod buckets;
pub mod content;
mod delete;
mod disk;
mod listing;
mod multipart;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

pub use content::{Blob, Content, FRAME, ObjectStream};
pub use delete::Found;
use disk::Disk;
pub use listing::Listing;
pub use multipart::{Received, UploadInfo};

use crate::checksum::{Algorithm, Checksum, Kind};
use crate::synthetic;

/// Why a store operation failed; mapped to S3 error codes by the protocol layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such bucket.
    #[error("the bucket `{0}` does not exist")]
    NoSuchBucket(String),
    /// No such key.
    #[error("the key `{0}` does not exist")]
    NoSuchKey(String),
    /// The bucket exists already.
    #[error("the bucket `{0}` exists already")]
    BucketExists(String),
    /// The bucket still holds objects.
    #[error("the bucket `{0}` is not empty")]
    BucketNotEmpty(String),
    /// The name breaks S3's bucket naming rules.
    #[error("`{0}` is not a valid bucket name (3-63 characters: a-z, 0-9, '.', '-')")]
    InvalidBucketName(String),
    /// No such multipart upload.
    #[error("the multipart upload `{0}` does not exist")]
    NoSuchUpload(String),
    /// A completed part that was not uploaded, or whose ETag differs.
    #[error("part {0} was not uploaded or its ETag does not match")]
    InvalidPart(i32),
    /// Parts not in ascending order.
    #[error("the parts are not in ascending order")]
    InvalidPartOrder,
    /// A part other than the last below 5 MiB.
    #[error("part {0} is smaller than the 5 MiB minimum")]
    EntityTooSmall(i32),
    /// Completing with no parts.
    #[error("a multipart upload needs at least one part")]
    NoParts,
    /// The data dir failed.
    #[error("storage I/O failed: {0}")]
    Io(String),
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

/// S3's smallest part (all but the last part of a multipart upload).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// What is known about an object besides its bytes (persisted as JSON in disk mode).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag without quotes: the MD5 of the bytes, or `<md5 of part md5s>-N`.
    pub etag: String,
    /// Seconds since the epoch (S3 dates have second precision in HTTP headers).
    pub last_modified: u64,
    /// `Content-Type` given at upload.
    pub content_type: Option<String>,
    /// The other standard headers given at upload.
    #[serde(default)]
    pub headers: ObjectHeaders,
    /// User metadata (`x-amz-meta-*`), shared: every synthetic object holds the same.
    pub metadata: Arc<BTreeMap<String, String>>,
    /// Sizes of the parts of a multipart object (empty for a single-part object).
    pub part_sizes: Vec<u64>,
    /// Its additional checksum (none for a synthetic object, or one stored before
    /// checksums were kept).
    #[serde(default)]
    pub checksum: Option<Checksum>,
}

impl ObjectMeta {
    /// `last_modified` as a `SystemTime`.
    #[must_use]
    pub fn modified(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.last_modified)
    }
}

/// An object: metadata and where its bytes are.
#[derive(Debug)]
pub struct Object {
    /// Metadata.
    pub meta: ObjectMeta,
    /// The bytes.
    pub content: Content,
}

/// The standard HTTP headers besides `Content-Type` that S3 keeps with an object, as
/// given at upload, and returns on every GET and HEAD of it: caches, browsers and
/// decompressing clients act on them, so a copy that drops them is not the same object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectHeaders {
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Encoding` (without the `aws-chunked` of the upload's framing).
    pub content_encoding: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Expires`, as an HTTP date.
    pub expires: Option<String>,
}

/// Attributes given when an object is created.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewObject {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// The other standard headers.
    #[serde(default)]
    pub headers: ObjectHeaders,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
    /// A single PUT: the object's checksum. A multipart upload: the algorithm and kind
    /// its parts and its object get (`CreateMultipartUpload`'s).
    #[serde(default)]
    pub checksum: NewChecksum,
}

/// The checksum a new object gets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum NewChecksum {
    /// None given.
    #[default]
    None,
    /// This one (computed and checked by the protocol layer).
    Object(Checksum),
    /// A multipart upload's algorithm and kind.
    Upload(Algorithm, Kind),
}

#[derive(Debug)]
struct Bucket {
    created: u64,
    objects: BTreeMap<String, Arc<Object>>,
}

/// One uploaded part.
#[derive(Debug, Clone)]
pub struct PartInfo {
    /// Part number (1..=10000).
    pub number: i32,
    /// MD5 of the part, without quotes.
    pub etag: String,
    /// Size in bytes.
    pub size: u64,
    /// Its full-object checksums: CRC64NVME always (for the object's default), and the
    /// algorithm the client named, if another.
    pub checksums: Vec<Checksum>,
    /// Seconds since the epoch.
    pub last_modified: u64,
}

#[derive(Debug)]
struct Upload {
    bucket: String,
    key: String,
    /// When it was created (seconds since the epoch).
    initiated: u64,
    attrs: NewObject,
    parts: BTreeMap<i32, (PartInfo, Content)>,
}

#[derive(Debug, Default)]
struct State {
    buckets: BTreeMap<String, Bucket>,
    uploads: HashMap<String, Upload>,
    /// Uploads completed lately, oldest first: `(id, bucket, key, ETag)`, so that a
    /// repeated `CompleteMultipartUpload` (a client retrying after a lost response)
    /// answers with the object, as S3 does.
    completed: std::collections::VecDeque<(String, String, String, String)>,
}

/// The emulator's buckets, objects and uploads.
#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
    disk: Option<Disk>,
}

/// Current time in whole seconds since the epoch.
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The MD5 of a blob, hex.
#[must_use]
pub fn md5_hex(blob: &Blob) -> String {
    let mut h = Md5::new();
    for c in blob.chunks() {
        h.update(c);
    }
    hex::encode(h.finalize())
}

/// Checks S3's bucket naming rules, which also keep names safe as directory names.
pub fn validate_bucket_name(name: &str) -> Result<(), StoreError> {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..");
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidBucketName(name.to_owned()))
    }
}

impl Store {
    /// An empty in-memory store.
    #[must_use]
    pub fn in_memory() -> Self {
        Self {
            state: Mutex::new(State::default()),
            disk: None,
        }
    }

    /// A store persisted under `dir`, loading what an earlier run left there.
    pub fn on_disk(dir: &Path) -> Result<Self, StoreError> {
        let (disk, loaded) = Disk::open(dir)?;
        let mut state = State::default();
        for (name, created, objects) in loaded.buckets {
            let objects = objects
                .into_iter()
                .map(|o| (o.meta.key.clone(), Arc::new(o)))
                .collect();
            state.buckets.insert(name, Bucket { created, objects });
        }
        Ok(Self {
            state: Mutex::new(state),
            disk: Some(disk),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("store lock poisoned")
    }

    fn insert(&self, bucket: &str, object: Object) -> Result<Arc<Object>, StoreError> {
        let mut s = self.lock();
        let b = s
            .buckets
            .get_mut(bucket)
            .ok_or_else(|| StoreError::NoSuchBucket(bucket.to_owned()))?;
        let object = Arc::new(object);
        b.objects
            .insert(object.meta.key.clone(), Arc::clone(&object));
        Ok(object)
    }

    /// Stores `blob` under `bucket/key`, replacing what was there.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        blob: Blob,
        attrs: NewObject,
        etag: String,
    ) -> Result<Arc<Object>, StoreError> {
        self.check_bucket(bucket)?;
        let meta = ObjectMeta {
            key: key.to_owned(),
            size: blob.len(),
            etag,
            last_modified: now_secs(),
            content_type: attrs.content_type,
            headers: attrs.headers,
            metadata: Arc::new(attrs.metadata),
            part_sizes: Vec::new(),
            checksum: match attrs.checksum {
                NewChecksum::Object(c) => Some(c),
                _ => None,
            },
        };
        self.commit(bucket, meta, Content::Memory(blob))
    }

    /// Stores `content` (memory or synthetic) with `meta`, writing it to disk in disk mode.
    fn commit(
        &self,
        bucket: &str,
        meta: ObjectMeta,
        content: Content,
    ) -> Result<Arc<Object>, StoreError> {
        if let (Some(d), Content::Memory(blob)) = (&self.disk, &content) {
            let staged = d.stage_blob(blob)?;
            return self.commit_staged(d, bucket, meta, staged);
        }
        self.insert(bucket, Object { meta, content })
    }

    /// Renames a staged file into place as `meta`'s object and indexes it (disk mode).
    fn commit_staged(
        &self,
        d: &Disk,
        bucket: &str,
        meta: ObjectMeta,
        staged: disk::Staged,
    ) -> Result<Arc<Object>, StoreError> {
        let mut s = self.lock();
        let b = s
            .buckets
            .get_mut(bucket)
            .ok_or_else(|| StoreError::NoSuchBucket(bucket.to_owned()))?;
        let path = d.commit_object(bucket, &meta, staged)?;
        let object = Arc::new(Object {
            meta,
            content: Content::File(path),
        });
        b.objects
            .insert(object.meta.key.clone(), Arc::clone(&object));
        Ok(object)
    }

    /// Adds a synthetic object of `size` bytes (never persisted: it is given at start-up).
    pub fn put_synthetic(
        &self,
        bucket: &str,
        key: &str,
        size: u64,
    ) -> Result<Arc<Object>, StoreError> {
        let meta = ObjectMeta {
            key: key.to_owned(),
            size,
            etag: synthetic::etag(key, size),
            last_modified: now_secs(),
            content_type: Some("application/octet-stream".into()),
            headers: ObjectHeaders::default(),
            // Tells clients the bytes follow the synthetic pattern of this key, so they
            // can check every byte (see `synthetic::SYNTHETIC_METADATA`).
            metadata: synthetic::metadata(),
            part_sizes: Vec::new(),
            checksum: None,
        };
        self.insert(
            bucket,
            Object {
                meta,
                content: Content::Synthetic(key.into()),
            },
        )
    }

    /// Copies an object's bytes to `dst_bucket/dst_key`, with `attrs` when given.
    pub fn copy_object(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
        attrs: Option<NewObject>,
    ) -> Result<Arc<Object>, StoreError> {
        let src = self.get_object(src_bucket, src_key)?;
        self.check_bucket(dst_bucket)?;
        let attrs = attrs.unwrap_or_else(|| NewObject {
            content_type: src.meta.content_type.clone(),
            headers: src.meta.headers.clone(),
            metadata: (*src.meta.metadata).clone(),
            checksum: NewChecksum::None,
        });
        let meta = ObjectMeta {
            key: dst_key.to_owned(),
            last_modified: now_secs(),
            content_type: attrs.content_type,
            headers: attrs.headers,
            metadata: Arc::new(attrs.metadata),
            ..src.meta.clone()
        };
        if let (Content::File(path), Some(d)) = (&src.content, &self.disk) {
            let staged = d.stage_copy(path)?;
            return self.commit_staged(d, dst_bucket, meta, staged);
        }
        // Memory and synthetic content is shared, not copied.
        self.commit(dst_bucket, meta, src.content.clone())
    }

    /// The object at `bucket/key`.
    pub fn get_object(&self, bucket: &str, key: &str) -> Result<Arc<Object>, StoreError> {
        let s = self.lock();
        let b = s
            .buckets
            .get(bucket)
            .ok_or_else(|| StoreError::NoSuchBucket(bucket.to_owned()))?;
        b.objects
            .get(key)
            .cloned()
            .ok_or_else(|| StoreError::NoSuchKey(key.to_owned()))
    }
}
