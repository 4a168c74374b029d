//! Disk persistence of the store (`--data-dir`).
//!
//! Layout under the data dir:
//!
//! ```text
//! buckets/<bucket>/.bucket.json            creation time
//! buckets/<bucket>/<sha256(key)>.json      the object's metadata, naming its data file
//! buckets/<bucket>/<sha256(key)>.<v>.data  the object's bytes (v: a random version)
//! uploads/<upload id>/<part>.part          parts of multipart uploads in progress
//! tmp/                                     files being written
//! ```
//!
//! File names come from hashes, validated bucket names and generated ids only, never
//! from a key, so no key (`../x`, `/etc/passwd`, NUL bytes, 1,000 slashes) can name a
//! path outside the data dir. Every file is written under `tmp/` and renamed into place,
//! so a crash leaves either the old or the new object, never half of one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Blob, Content, Object, ObjectMeta, StoreError, validate_bucket_name};

#[derive(Debug)]
pub(super) struct Disk {
    root: PathBuf,
}

/// What an earlier run left: `(bucket, created, objects)`.
pub(super) struct Loaded {
    pub buckets: Vec<(String, u64, Vec<Object>)>,
}

/// A file written under `tmp/`, waiting to be renamed into place; removed when dropped
/// unless it was (a write that failed half-way, on a full disk say, leaves nothing).
pub(super) struct Staged {
    path: PathBuf,
    renamed: bool,
}

impl Staged {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            renamed: false,
        }
    }

    /// Renames it to `to`.
    fn rename_to(mut self, to: &Path) -> Result<(), StoreError> {
        fs::rename(&self.path, to).map_err(|e| io_err(to, &e))?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[derive(Serialize, Deserialize)]
struct BucketFile {
    created: u64,
}

#[derive(Serialize, Deserialize)]
struct MetaFile {
    meta: ObjectMeta,
    data_file: String,
}

fn io_err(path: &Path, e: &std::io::Error) -> StoreError {
    StoreError::Io(format!("{}: {e}", path.display()))
}

fn write_json(path: &Path, tmp_dir: &Path, value: &impl Serialize) -> Result<(), StoreError> {
    let tmp = Staged::new(tmp_dir.join(format!("{}.json", hex::encode(rand::random::<[u8; 8]>()))));
    let text = serde_json::to_vec(value).map_err(|e| StoreError::Io(e.to_string()))?;
    fs::write(&tmp.path, text).map_err(|e| io_err(&tmp.path, &e))?;
    tmp.rename_to(path)
}

fn key_stem(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Disk {
    /// Opens (creating) the data dir and loads its buckets and objects. Uploads in
    /// progress and staged files of an earlier run are discarded.
    pub fn open(root: &Path) -> Result<(Self, Loaded), StoreError> {
        for sub in ["buckets", "uploads", "tmp"] {
            let p = root.join(sub);
            fs::create_dir_all(&p).map_err(|e| io_err(&p, &e))?;
        }
        let disk = Self {
            root: root.to_owned(),
        };
        for sub in ["uploads", "tmp"] {
            let p = root.join(sub);
            fs::remove_dir_all(&p)
                .and_then(|()| fs::create_dir(&p))
                .map_err(|e| io_err(&p, &e))?;
        }
        // Prove the dir is writable now rather than at the first PUT.
        let probe = disk.tmp().join("probe");
        fs::write(&probe, b"ok").map_err(|e| io_err(&probe, &e))?;
        fs::remove_file(&probe).map_err(|e| io_err(&probe, &e))?;

        let mut buckets = Vec::new();
        let dir = root.join("buckets");
        for entry in fs::read_dir(&dir).map_err(|e| io_err(&dir, &e))? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if validate_bucket_name(&name).is_err() || !entry.file_type()?.is_dir() {
                continue;
            }
            let bdir = entry.path();
            let created = fs::read(bdir.join(".bucket.json"))
                .ok()
                .and_then(|t| serde_json::from_slice::<BucketFile>(&t).ok())
                .map_or(0, |b| b.created);
            let mut objects = Vec::new();
            for f in fs::read_dir(&bdir)? {
                let path = f?.path();
                let is_meta = path.extension().is_some_and(|e| e == "json")
                    && path.file_name().is_none_or(|n| n != ".bucket.json");
                if !is_meta {
                    continue;
                }
                let Some(mf) = fs::read(&path)
                    .ok()
                    .and_then(|t| serde_json::from_slice::<MetaFile>(&t).ok())
                else {
                    tracing::warn!(path = %path.display(), "skipping unreadable object metadata");
                    continue;
                };
                let data = bdir.join(&mf.data_file);
                // Only names this module made (`<stem>.<version>.data`), never a path.
                let safe = mf.data_file.starts_with(&key_stem(&mf.meta.key))
                    && mf.data_file.ends_with(".data")
                    && mf
                        .data_file
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.')
                    && !mf.data_file.contains("..");
                if safe && data.is_file() {
                    objects.push(Object {
                        meta: mf.meta,
                        content: Content::File(data),
                    });
                }
            }
            buckets.push((name, created, objects));
        }
        Ok((disk, Loaded { buckets }))
    }

    fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join("buckets").join(bucket)
    }

    pub fn create_bucket(&self, name: &str, created: u64) -> Result<(), StoreError> {
        let dir = self.bucket_dir(name);
        fs::create_dir_all(&dir).map_err(|e| io_err(&dir, &e))?;
        write_json(
            &dir.join(".bucket.json"),
            &self.tmp(),
            &BucketFile { created },
        )
    }

    pub fn delete_bucket(&self, name: &str) -> Result<(), StoreError> {
        let dir = self.bucket_dir(name);
        fs::remove_dir_all(&dir).map_err(|e| io_err(&dir, &e))
    }

    fn new_staged(&self) -> Staged {
        Staged::new(self.tmp().join(hex::encode(rand::random::<[u8; 16]>())))
    }

    pub fn stage_blob(&self, blob: &Blob) -> Result<Staged, StoreError> {
        let staged = self.new_staged();
        let mut f = fs::File::create(&staged.path).map_err(|e| io_err(&staged.path, &e))?;
        for c in blob.chunks() {
            f.write_all(c).map_err(|e| io_err(&staged.path, &e))?;
        }
        Ok(staged)
    }

    pub fn stage_copy(&self, src: &Path) -> Result<Staged, StoreError> {
        let staged = self.new_staged();
        fs::copy(src, &staged.path).map_err(|e| io_err(src, &e))?;
        Ok(staged)
    }

    pub fn stage_concat(&self, files: &[PathBuf]) -> Result<Staged, StoreError> {
        let staged = self.new_staged();
        let mut out = fs::File::create(&staged.path).map_err(|e| io_err(&staged.path, &e))?;
        for p in files {
            let mut f = fs::File::open(p).map_err(|e| io_err(p, &e))?;
            std::io::copy(&mut f, &mut out).map_err(|e| io_err(p, &e))?;
        }
        Ok(staged)
    }

    /// Moves `staged` into place as `meta.key`'s data and records the metadata; returns
    /// the data file. The replaced version's data file is removed.
    pub fn commit_object(
        &self,
        bucket: &str,
        meta: &ObjectMeta,
        staged: Staged,
    ) -> Result<PathBuf, StoreError> {
        let dir = self.bucket_dir(bucket);
        let stem = key_stem(&meta.key);
        let meta_path = dir.join(format!("{stem}.json"));
        let old = fs::read(&meta_path)
            .ok()
            .and_then(|t| serde_json::from_slice::<MetaFile>(&t).ok());
        let data_file = format!("{stem}.{}.data", hex::encode(rand::random::<[u8; 8]>()));
        let data = dir.join(&data_file);
        staged.rename_to(&data)?;
        write_json(
            &meta_path,
            &self.tmp(),
            &MetaFile {
                meta: meta.clone(),
                data_file,
            },
        )?;
        if let Some(old) = old {
            let _ = fs::remove_file(dir.join(old.data_file));
        }
        Ok(data)
    }

    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let dir = self.bucket_dir(bucket);
        let meta_path = dir.join(format!("{}.json", key_stem(key)));
        if let Some(mf) = fs::read(&meta_path)
            .ok()
            .and_then(|t| serde_json::from_slice::<MetaFile>(&t).ok())
        {
            fs::remove_file(&meta_path).map_err(|e| io_err(&meta_path, &e))?;
            let _ = fs::remove_file(dir.join(mf.data_file));
        }
        Ok(())
    }

    pub fn create_upload(&self, id: &str) -> Result<(), StoreError> {
        let dir = self.root.join("uploads").join(id);
        fs::create_dir_all(&dir).map_err(|e| io_err(&dir, &e))
    }

    pub fn write_part(&self, id: &str, number: i32, blob: &Blob) -> Result<PathBuf, StoreError> {
        let staged = self.stage_blob(blob)?;
        let path = self
            .root
            .join("uploads")
            .join(id)
            .join(format!("{number}.part"));
        staged.rename_to(&path)?;
        Ok(path)
    }

    pub fn remove_upload(&self, id: &str) -> Result<(), StoreError> {
        let dir = self.root.join("uploads").join(id);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&dir, &e)),
            _ => Ok(()),
        }
    }
}
