//! Keys to paths and back, as `aws s3 cp --recursive` maps them: the key less the
//! prefix is the path under the directory, `/` separating directories.
//!
//! A key is data from the bucket, and the bucket may be anyone's: a key that would put
//! a file outside the directory (`..` or `.` segments, a leading `/`, an empty segment
//! as in `a//b`, a NUL byte) is refused with its name, never written. A directory inside
//! the destination that is a symbolic link leading out of it is refused the same way
//! (see [`inside`]). Keys ending in `/` are folder markers (what the S3 console's
//! "Create folder" makes): they hold no file and are skipped.

use std::path::{Component, Path, PathBuf};

/// The longest file name Linux filesystems take, in bytes.
const NAME_MAX: usize = 255;

/// What a listed key becomes under the destination directory.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Mapped {
    /// The file at this path, relative to the directory.
    File(PathBuf),
    /// A folder marker: nothing to write.
    Folder,
}

/// `prefix` as the AWS CLI takes it for a recursive transfer: a directory, so it ends in
/// `/` unless it is empty (the whole bucket).
#[must_use]
pub fn as_directory(prefix: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    }
}

/// Where `key`, listed under `prefix`, goes; `Err` says why it cannot go anywhere.
pub(crate) fn path_for(prefix: &str, key: &str) -> Result<Mapped, String> {
    let rel = key
        .strip_prefix(prefix)
        .ok_or_else(|| format!("is not under the prefix `{prefix}`"))?;
    if rel.is_empty() || rel.ends_with('/') {
        return Ok(Mapped::Folder);
    }
    if rel.contains('\0') {
        return Err("holds a NUL byte, which no file name can".into());
    }
    let mut path = PathBuf::new();
    for segment in rel.split('/') {
        match segment {
            "" => return Err("has an empty path segment (`//` or a leading `/`): refused, it would be written outside the directory".into()),
            "." | ".." => {
                return Err(format!(
                    "has a `{segment}` segment: refused, it would be written outside the directory"
                ));
            }
            s if s.len() > NAME_MAX => {
                return Err(format!(
                    "has a segment of {} bytes; file names are at most {NAME_MAX}",
                    s.len()
                ));
            }
            s => path.push(s),
        }
    }
    Ok(Mapped::File(path))
}

/// The key of the file at `rel` (relative to the uploaded directory) under `prefix`;
/// `Err` when a name is not UTF-8 (S3 keys are).
pub(crate) fn key_for(prefix: &str, rel: &Path) -> Result<String, String> {
    let mut key = prefix.to_owned();
    for (i, c) in rel.components().enumerate() {
        let Component::Normal(name) = c else {
            return Err("is not a plain path under the directory".into());
        };
        let name = name
            .to_str()
            .ok_or_else(|| "has a name that is not UTF-8, which S3 keys must be".to_owned())?;
        if i > 0 {
            key.push('/');
        }
        key.push_str(name);
    }
    Ok(key)
}

/// Makes the directories of `rel` under `root` (the destination, canonical) and checks
/// that where they lead is still under `root`: a directory that is a symbolic link out of
/// the destination is refused, never written through.
pub(crate) fn inside(root: &Path, rel: &Path) -> Result<PathBuf, String> {
    let target = root.join(rel);
    let parent = target.parent().unwrap_or(root);
    std::fs::create_dir_all(parent).map_err(|e| {
        format!(
            "cannot make {}: {}",
            parent.display(),
            crate::error::io_reason(&e)
        )
    })?;
    let real = std::fs::canonicalize(parent).map_err(|e| {
        format!(
            "cannot resolve {}: {}",
            parent.display(),
            crate::error::io_reason(&e)
        )
    })?;
    if !real.starts_with(root) {
        return Err(format!(
            "would be written to {}, outside the directory (through a symbolic link): refused",
            real.display()
        ));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_under_the_directory_and_escapes_are_refused() {
        let file = |p: &str| Ok(Mapped::File(PathBuf::from(p)));
        assert_eq!(path_for("data/", "data/a/b.txt"), file("a/b.txt"));
        assert_eq!(
            path_for("", "caf\u{e9} menu.txt"),
            file("caf\u{e9} menu.txt")
        );
        assert_eq!(path_for("data/", "data/sub/"), Ok(Mapped::Folder));
        assert_eq!(path_for("data/", "data/"), Ok(Mapped::Folder));
        for bad in [
            "data/../x",
            "data/a/../../x",
            "data//x",
            "data/./x",
            "data/a\0b",
        ] {
            let e = path_for("data/", bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(path_for("data/", "/etc/passwd").is_err());
        assert!(path_for("", "/etc/passwd").unwrap_err().contains("empty"));
        assert!(path_for("", &"n".repeat(256)).is_err());
        assert_eq!(as_directory("data"), "data/");
        assert_eq!(as_directory(""), "");
        assert_eq!(as_directory("data/"), "data/");
    }

    #[test]
    fn paths_map_back_to_keys() {
        assert_eq!(
            key_for("up/", Path::new("a/b c.txt")).unwrap(),
            "up/a/b c.txt"
        );
        assert_eq!(key_for("", Path::new("x")).unwrap(), "x");
        assert!(key_for("", Path::new("../x")).is_err());
        use std::os::unix::ffi::OsStrExt;
        let bad = std::ffi::OsStr::from_bytes(b"caf\xe9");
        assert!(key_for("", Path::new(bad)).unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn a_symbolic_link_out_of_the_directory_is_not_written_through() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root_path = std::fs::canonicalize(root.path()).unwrap();
        std::os::unix::fs::symlink(outside.path(), root_path.join("out")).unwrap();
        let e = inside(&root_path, Path::new("out/x")).unwrap_err();
        assert!(e.contains("outside"), "{e}");
        let ok = inside(&root_path, Path::new("in/deep/x")).unwrap();
        assert_eq!(ok, root_path.join("in/deep/x"));
        assert!(root_path.join("in/deep").is_dir());
    }
}
