//! What the recursive CLI tests share: directory trees, objects in the emulator's store,
//! and the summary `--json` prints.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

use s3tune_emulator::store::{Blob, Content, NewObject, md5_hex};
use s3tune_emulator::{DedicatedEmulator, Emulator, EmulatorConfig, NetworkProfile, ObjectSpec};

use super::{ACCESS, SECRET};

/// An emulator on one thread of its own, with `network` and the synthetic `objects`.
pub fn emulator(network: NetworkProfile, objects: &[&str]) -> DedicatedEmulator {
    Emulator::start_dedicated(
        EmulatorConfig {
            access_key: ACCESS.into(),
            secret_key: SECRET.into(),
            network,
            objects: objects.iter().map(|o| o.parse().unwrap()).collect(),
            ..EmulatorConfig::default()
        },
        1,
    )
    .unwrap()
}

/// One entry of a directory tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File(Vec<u8>),
    Link(std::path::PathBuf),
}

/// Everything under `dir` (not following links), by `/`-separated path relative to it:
/// directories, files with their bytes, symbolic links with their targets. Anything else
/// (a FIFO, a socket) fails the test.
pub fn tree(dir: &Path) -> BTreeMap<String, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            let kind = e.file_type().unwrap();
            if kind.is_dir() {
                out.insert(rel, Entry::Dir);
                walk(root, &path, out);
            } else if kind.is_symlink() {
                out.insert(rel, Entry::Link(std::fs::read_link(&path).unwrap()));
            } else {
                assert!(kind.is_file(), "{rel} is neither a file nor a directory");
                out.insert(rel, Entry::File(std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The files of [`tree`] alone.
pub fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    tree(dir)
        .into_iter()
        .filter_map(|(k, e)| match e {
            Entry::File(b) => Some((k, b)),
            Entry::Dir | Entry::Link(_) => None,
        })
        .collect()
}

/// Whether `name` (a path's last component) is one of s3tune's partial files,
/// `.NAME.XXXXXXXX.s3tune.part`.
pub fn is_partial(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".s3tune.part")
}

/// Checks the files under `dir` against the synthetic objects of `specs` whose keys
/// start with `prefix` (the key less the prefix is the file's path): every file is one of
/// them, its bytes exactly the object's. Returns the keys that have no file.
pub fn missing_synthetic(dir: &Path, specs: &[&str], prefix: &str) -> BTreeSet<String> {
    let mut want: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for spec in specs {
        let spec: ObjectSpec = spec.parse().unwrap();
        for (key, size) in spec.objects() {
            if let Some(rel) = key.strip_prefix(prefix) {
                want.insert(rel.to_owned(), (key.clone(), size));
            }
        }
    }
    let got = files(dir);
    for (rel, data) in &got {
        let (key, size) = want
            .get(rel)
            .unwrap_or_else(|| panic!("{rel} is no object of the prefix (a partial file?)"));
        assert_eq!(data.len() as u64, *size, "{rel}: its size");
        let wrong = s3tune_emulator::synthetic::verify(key, 0, data);
        assert_eq!(wrong, None, "{rel}: a wrong byte at that offset");
    }
    want.into_iter()
        .filter(|(rel, _)| !got.contains_key(rel))
        .map(|(_, (key, _))| key)
        .collect()
}

/// Stores `data` under `bucket/key`, as a PUT would (the bucket made if missing).
pub fn put(s: &DedicatedEmulator, bucket: &str, key: &str, data: Vec<u8>) {
    s.store().ensure_bucket(bucket).unwrap();
    let blob = Blob::from_chunks(vec![bytes::Bytes::from(data)]);
    let etag = md5_hex(&blob);
    s.store()
        .put_object(bucket, key, blob, NewObject::default(), etag)
        .unwrap();
}

/// The bytes the store holds under `bucket/key`.
pub fn stored(s: &DedicatedEmulator, bucket: &str, key: &str) -> Vec<u8> {
    let o = s.store().get_object(bucket, key).unwrap();
    match &o.content {
        Content::Memory(blob) => blob.chunks().concat(),
        Content::Synthetic(k) => {
            let mut buf = vec![0; usize::try_from(o.meta.size).unwrap()];
            s3tune_emulator::synthetic::fill(k, 0, &mut buf);
            buf
        }
        Content::File(p) => std::fs::read(p).unwrap(),
    }
}

/// Every object under `prefix` of `bucket`, by key less the prefix, with its bytes.
pub fn objects(s: &DedicatedEmulator, bucket: &str, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    s.store()
        .keys(bucket, prefix)
        .into_iter()
        .map(|k| (k[prefix.len()..].to_owned(), stored(s, bucket, &k)))
        .collect()
}

/// The `--json` summary on stdout.
pub fn summary(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON summary ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The names in the summary's list of failures.
pub fn failed(summary: &serde_json::Value) -> BTreeSet<String> {
    summary["stats"]["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The exit code a summary with these failures must come with: 0, or 4 when any failed.
pub fn code_for(failed: &BTreeSet<String>) -> Option<i32> {
    Some(if failed.is_empty() { 0 } else { 4 })
}
