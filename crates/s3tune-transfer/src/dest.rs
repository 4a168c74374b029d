//! Where a download goes: the final path, and the temporary file that becomes it.
//!
//! A download is written under a temporary name in the destination's directory (same
//! filesystem, so the final rename is atomic) and renamed when complete. Dropping a
//! [`TempFile`] that was not committed removes it, so a failed, cancelled or panicking
//! download leaves nothing behind.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::TransferError;

/// Resolves `dest` for `key`: a directory (existing, or written with a trailing `/`)
/// receives the key's last component; anything else is the file path itself.
pub(crate) fn resolve(dest: &Path, key: &str) -> Result<PathBuf, TransferError> {
    let as_dir = dest.is_dir() || dest.as_os_str().to_string_lossy().ends_with('/');
    let path = if as_dir {
        // Only the last component of the key, and never `.`/`..`: keys cannot climb out.
        let name = key.rsplit('/').next().unwrap_or("");
        if name.is_empty() || name == "." || name == ".." || name.contains('\0') {
            return Err(TransferError::Destination {
                path: dest.to_owned(),
                reason: format!(
                    "the key `{key}` has no usable file name; give a file path instead"
                ),
            });
        }
        dest.join(name)
    } else {
        dest.to_owned()
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(TransferError::Destination {
            path: path.clone(),
            reason: format!("directory {} does not exist", parent.display()),
        });
    }
    if path.is_dir() {
        return Err(TransferError::Destination {
            path,
            reason: "is a directory".into(),
        });
    }
    Ok(path)
}

/// A file being written under a temporary name next to its final path.
#[derive(Debug)]
pub(crate) struct TempFile {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl TempFile {
    /// Creates `.NAME.s3tune-XXXXXXXX.part` beside `target`, sized `len` bytes.
    pub fn create(target: &Path, len: u64) -> Result<(Self, File), TransferError> {
        let name = target
            .file_name()
            .map_or_else(|| "download".into(), |n| n.to_string_lossy().into_owned());
        let temp = target.with_file_name(format!(
            ".{name}.s3tune-{}.part",
            hex::encode(rand::random::<[u8; 4]>())
        ));
        let err = |e: std::io::Error| TransferError::Destination {
            path: target.to_owned(),
            reason: e.to_string(),
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(err)?;
        let me = Self {
            temp,
            target: target.to_owned(),
            committed: false,
        };
        file.set_len(len).map_err(err)?;
        Ok((me, file))
    }

    /// Renames the temporary file to its final name.
    pub fn commit(mut self) -> Result<(), TransferError> {
        std::fs::rename(&self.temp, &self.target).map_err(|e| TransferError::Destination {
            path: self.target.clone(),
            reason: e.to_string(),
        })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_take_the_keys_last_component() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            resolve(d.path(), "a/b/c.bin").unwrap(),
            d.path().join("c.bin")
        );
        for bad in ["a/", "a/..", ".."] {
            assert!(resolve(d.path(), bad).is_err(), "{bad}");
        }
        assert_eq!(
            resolve(&d.path().join("x.bin"), "k").unwrap(),
            d.path().join("x.bin")
        );
        assert!(resolve(&d.path().join("missing/x.bin"), "k").is_err());
    }

    #[test]
    fn uncommitted_temp_files_vanish() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("out.bin");
        {
            let (_t, _f) = TempFile::create(&target, 10).unwrap();
            assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        }
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
        let (t, _f) = TempFile::create(&target, 10).unwrap();
        t.commit().unwrap();
        assert_eq!(std::fs::metadata(&target).unwrap().len(), 10);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
