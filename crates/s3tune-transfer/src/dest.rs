//! Where a download goes, and the partial file that becomes it.
//!
//! A regular file (or a path that does not exist yet) is written under a temporary name
//! in its own directory (same filesystem, so the final rename is atomic) and renamed when
//! complete: a reader never sees half an object, and a failed download leaves the old
//! file as it was. Anything else that can be opened for writing — a device such as
//! `/dev/null`, a FIFO — cannot be renamed over (that would replace the device with a
//! file, as root even `/dev/null`): it is written in order, as a stream, as `cp` does. A
//! symbolic link is written *through*: its target is the destination, and the link
//! stays; a link to nothing is refused, since where it points is likely a mistake. A
//! path into a process's open files (`/dev/stdout`, `/dev/fd/3`, `/proc/self/fd/1`)
//! names whatever the shell opened there — a pipe, or a file opened with `>>` — and is
//! written as a stream, appending, never renamed over. A file that is replaced keeps its
//! permissions.
//!
//! Partial files are named `.NAME.XXXXXXXX.s3tune.part` (the name cut short so that a
//! valid file name never grows past the 255-byte limit) and hold an exclusive advisory
//! lock (`flock`) for as long as their download runs. A partial file whose lock can be
//! taken therefore belongs to no live process — its s3tune was killed — and
//! [`sweep`] removes it; one whose lock is held, or that cannot be locked at all (a
//! filesystem without `flock`), is left alone. Dropping a [`PartFile`] that was not
//! committed removes it, so a failed, cancelled or panicking download leaves nothing
//! behind.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::error::{TransferError, io_reason};

/// The longest file name Linux filesystems take, in bytes.
const NAME_MAX: usize = 255;
/// What ends every partial file's name: `.` + 8 hex digits + `.s3tune.part` (a shape
/// of its own: earlier versions' partial files, which took no lock, never match).
const SUFFIX: &str = ".s3tune.part";
const HEX: usize = 8;

/// Where a download's bytes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    /// A regular file, or a new one: written as a partial file and renamed into place.
    File(PathBuf),
    /// A device, FIFO or one of a process's open files: opened (appending) and written
    /// in order, never replaced.
    Stream(PathBuf),
}

/// Whether `path` leads into a process's open files (`/proc/PID/fd/N`, which
/// `/dev/stdout` and `/dev/fd/N` are links to): what it names is whatever was opened
/// there, not a file to replace.
fn into_open_files(path: &Path) -> bool {
    let in_proc = |p: &Path| p.starts_with("/proc");
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .and_then(|p| std::fs::canonicalize(p).ok());
    parent.as_deref().is_some_and(in_proc)
        || std::fs::read_link(path).is_ok_and(|to| in_proc(&to) || into_open_files(&to))
}

fn refuse(path: &Path, reason: impl Into<String>) -> TransferError {
    TransferError::Destination {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Resolves `dest` for `key`: a directory (existing, or written with a trailing `/`)
/// receives the key's last component; a symbolic link stands for its target; a device
/// or FIFO is a stream; anything else is the file to write.
pub(crate) fn resolve(dest: &Path, key: &str) -> Result<Destination, TransferError> {
    let as_dir = dest.is_dir() || dest.as_os_str().to_string_lossy().ends_with('/');
    let path = if as_dir {
        // Only the last component of the key, and never `.`/`..`: keys cannot climb out.
        let name = key.rsplit('/').next().unwrap_or("");
        if name.is_empty() || name == "." || name == ".." || name.contains('\0') {
            return Err(refuse(
                dest,
                format!("the key `{key}` has no usable file name; give a file path instead"),
            ));
        }
        if name.len() > NAME_MAX {
            return Err(refuse(
                dest,
                format!(
                    "the key's last part is {} bytes, longer than a file name may be ({NAME_MAX}); give a file path instead",
                    name.len()
                ),
            ));
        }
        dest.join(name)
    } else {
        dest.to_owned()
    };
    if into_open_files(&path) {
        return Ok(Destination::Stream(path));
    }
    let target = match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(&path) {
            Ok(t) => t,
            Err(_) => {
                let to = std::fs::read_link(&path).unwrap_or_default();
                return Err(refuse(
                    &path,
                    format!(
                        "is a symbolic link to {}, which does not exist; remove the link or give another path",
                        to.display()
                    ),
                ));
            }
        },
        _ => path,
    };
    match std::fs::metadata(&target) {
        Ok(m) if m.is_dir() => Err(refuse(&target, "is a directory")),
        Ok(m) if m.is_file() => Ok(Destination::File(target)),
        Ok(m) if m.file_type().is_socket() => Err(refuse(&target, "is a socket")),
        Ok(_) => Ok(Destination::Stream(target)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            check_parent(&target)?;
            Ok(Destination::File(target))
        }
        Err(e) => Err(refuse(&target, io_reason(&e))),
    }
}

/// A new file at `path` needs a directory to live in.
fn check_parent(path: &Path) -> Result<(), TransferError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::metadata(parent) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(refuse(
            path,
            format!("{} is not a directory", parent.display()),
        )),
        Err(_) => Err(refuse(
            path,
            format!("directory {} does not exist", parent.display()),
        )),
    }
}

/// The partial file's name for `name`: `.NAME.XXXXXXXX.s3tune.part`, with NAME cut (at
/// a character boundary) so the whole stays a valid file name.
fn partial_name(name: &str, tag: &str) -> String {
    let room = NAME_MAX - 2 - HEX - SUFFIX.len();
    let mut end = name.len().min(room);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!(".{}.{tag}{SUFFIX}", &name[..end])
}

/// Whether `name` is one of s3tune's partial files (bytes are compared: any other
/// file may share the folder, whatever its name).
fn is_partial(name: &[u8]) -> bool {
    let Some(rest) = name.strip_suffix(SUFFIX.as_bytes()) else {
        return false;
    };
    let Some(at) = rest.len().checked_sub(HEX + 1) else {
        return false;
    };
    name.starts_with(b".") && rest[at] == b'.' && rest[at + 1..].iter().all(u8::is_ascii_hexdigit)
}

/// Removes the partial files in `dir` that no live download holds (left by an s3tune
/// that was killed), and returns their paths. Errors reading the directory are not
/// errors of the caller's work: nothing is removed then.
pub fn sweep(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        use std::os::unix::ffi::OsStrExt;
        if !is_partial(entry.file_name().as_bytes()) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = File::open(&path) else {
            continue;
        };
        // Held: a live download. Taken: nobody's; still the same file: remove it.
        if file.try_lock().is_ok() && same_file(&path, &file) && std::fs::remove_file(&path).is_ok()
        {
            removed.push(path);
        }
    }
    removed
}

/// Whether `path` still names the file open as `file`.
fn same_file(path: &Path, file: &File) -> bool {
    match (std::fs::symlink_metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// A partial file: written under its own name, locked while it lives, removed when
/// dropped unless committed.
#[derive(Debug)]
pub(crate) struct PartFile {
    path: PathBuf,
    committed: bool,
}

impl PartFile {
    /// Creates a locked partial file for `target` (beside it, with the permissions of the
    /// file it will replace, if there is one), sized `len` bytes, and opened for reading
    /// and writing.
    pub fn create(target: &Path, len: u64) -> Result<(Self, File), TransferError> {
        let name = target
            .file_name()
            .map_or_else(|| "download".into(), |n| n.to_string_lossy().into_owned());
        let err = |e: io::Error| refuse(target, io_reason(&e));
        // A sweeper that locked a just-made file before its maker did has removed it:
        // then try another name.
        for _ in 0..8 {
            let path = target.with_file_name(partial_name(
                &name,
                &hex::encode(rand::random::<[u8; HEX / 2]>()),
            ));
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(err)?;
            let me = Self {
                path,
                committed: false,
            };
            match file.try_lock() {
                // Taken by a sweeper in the instant between its making and its locking.
                Err(std::fs::TryLockError::WouldBlock) => continue,
                // A filesystem without locks: unlocked, so no sweep will take it.
                Err(std::fs::TryLockError::Error(_)) | Ok(()) => {}
            }
            if !same_file(&me.path, &file) {
                continue;
            }
            if let Ok(old) = std::fs::metadata(target) {
                file.set_permissions(old.permissions()).map_err(err)?;
            }
            file.set_len(len).map_err(err)?;
            return Ok((me, file));
        }
        Err(refuse(target, "could not create a partial file beside it"))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames it to `target` (its lock goes with the open file, which the caller
    /// closes).
    pub fn commit(mut self, target: &Path) -> Result<(), TransferError> {
        std::fs::rename(&self.path, target).map_err(|e| refuse(target, io_reason(&e)))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A downloaded copy that was never given a name of its own: a locked partial file,
/// removed when dropped. For callers that read the bytes back and throw them away (a
/// tuner checking each copy), so that no window exists in which a copy is unlocked and
/// could be left behind by a kill.
#[derive(Debug)]
pub struct Copy {
    part: PartFile,
    file: File,
}

impl Copy {
    pub(crate) fn new(part: PartFile, file: File) -> Self {
        Self { part, file }
    }

    /// A locked scratch file of `len` bytes in `dir` (named after `name`), open for
    /// reading and writing, removed when dropped — and, if the process is killed first,
    /// by the next [`sweep`] of `dir`. For files a caller makes only to upload them.
    pub fn scratch(dir: &Path, name: &str, len: u64) -> Result<Self, TransferError> {
        let (part, file) = PartFile::create(&dir.join(name), len)?;
        Ok(Self { part, file })
    }

    /// The file, open for reading (and still locked).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        self.part.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_at(d: &Path, name: &str) -> Destination {
        Destination::File(std::fs::canonicalize(d).unwrap().join(name))
    }

    #[test]
    fn directories_take_the_keys_last_component() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            resolve(d.path(), "a/b/c.bin").unwrap(),
            file_at(d.path(), "c.bin")
        );
        for bad in ["a/", "a/..", ".."] {
            assert!(resolve(d.path(), bad).is_err(), "{bad}");
        }
        assert_eq!(
            resolve(&d.path().join("x.bin"), "k").unwrap(),
            Destination::File(d.path().join("x.bin"))
        );
        let e = resolve(&d.path().join("missing/x.bin"), "k").unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        std::fs::write(d.path().join("afile"), b"").unwrap();
        let e = resolve(&d.path().join("afile/x.bin"), "k").unwrap_err();
        assert!(e.to_string().contains("afile is not a directory"), "{e}");
    }

    #[test]
    fn devices_are_streams_and_links_are_followed() {
        assert_eq!(
            resolve(Path::new("/dev/null"), "k").unwrap(),
            Destination::Stream("/dev/null".into())
        );
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("real"), b"old").unwrap();
        std::os::unix::fs::symlink(d.path().join("real"), d.path().join("link")).unwrap();
        assert_eq!(
            resolve(&d.path().join("link"), "k").unwrap(),
            file_at(d.path(), "real")
        );
        std::os::unix::fs::symlink(d.path().join("gone"), d.path().join("dangling")).unwrap();
        let e = resolve(&d.path().join("dangling"), "k").unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
    }

    #[test]
    fn partial_names_stay_valid_and_are_recognised() {
        for name in ["x", &"é".repeat(127), &"n".repeat(255)] {
            let p = partial_name(name, "0123abcd");
            assert!(p.len() <= NAME_MAX, "{} bytes", p.len());
            assert!(is_partial(p.as_bytes()), "{p}");
        }
        for other in [
            "x.part",
            "ファイル名.pdf.part",
            ".日本語.part",
            ".x.0123abc.s3tune.part",
            ".x.0123abcz.s3tune.part",
            "x.0123abcd.s3tune.part",
            ".x.s3tune-0123abcd.part",
            ".0123abcd.s3tune.partial",
        ] {
            assert!(!is_partial(other.as_bytes()), "{other}");
        }
    }

    #[test]
    fn paths_into_a_process_s_open_files_are_streams() {
        for p in ["/dev/stdout", "/dev/stderr", "/dev/fd/1", "/proc/self/fd/1"] {
            assert_eq!(
                resolve(Path::new(p), "k").unwrap(),
                Destination::Stream(p.into()),
                "{p}"
            );
        }
    }

    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("private.bin");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (part, file) = PartFile::create(&target, 3).unwrap();
        part.commit(&target).unwrap();
        drop(file);
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn uncommitted_partial_files_vanish_and_stale_ones_are_swept() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("out.bin");
        {
            let (_t, _f) = PartFile::create(&target, 10).unwrap();
            assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
            // Locked by a live download: the sweep leaves it.
            assert!(sweep(d.path()).is_empty());
        }
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
        let (t, f) = PartFile::create(&target, 10).unwrap();
        t.commit(&target).unwrap();
        drop(f);
        assert_eq!(std::fs::metadata(&target).unwrap().len(), 10);
        // One a killed process left: nobody holds its lock.
        let stale = d.path().join(partial_name("out.bin", "deadbeef"));
        std::fs::write(&stale, b"half").unwrap();
        assert_eq!(sweep(d.path()), vec![stale]);
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.bin")]);
    }
}
