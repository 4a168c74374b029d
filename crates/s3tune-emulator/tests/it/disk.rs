//! `--data-dir`: persistence across restarts, and no key escapes the directory.

use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use s3tune_emulator::{Emulator, EmulatorConfig, StartError};

use crate::common::{bytes, client};

fn on_disk(dir: &Path) -> EmulatorConfig {
    EmulatorConfig {
        data_dir: Some(dir.to_owned()),
        ..EmulatorConfig::default()
    }
}

/// Every file below `root`, relative to it.
fn files_below(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let body = bytes(6 * 1024 * 1024 + 5, 4);
    let (etag, mp_etag) = {
        let server = Emulator::start(on_disk(&dir)).await.unwrap();
        let c = client(&server);
        c.create_bucket().bucket("keep").send().await.unwrap();
        let etag = c
            .put_object()
            .bucket("keep")
            .key("a/b.bin")
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap()
            .e_tag()
            .unwrap()
            .to_owned();
        // A multipart object too, replaced once (the old version's file must go).
        let mut mp_etag = String::new();
        for round in 0..2u8 {
            let id = c
                .create_multipart_upload()
                .bucket("keep")
                .key("mp")
                .send()
                .await
                .unwrap()
                .upload_id()
                .unwrap()
                .to_owned();
            let mut parts = Vec::new();
            for n in 1..=2 {
                let part = if n == 1 {
                    bytes(5 * 1024 * 1024, round)
                } else {
                    bytes(10, round)
                };
                let r = c
                    .upload_part()
                    .bucket("keep")
                    .key("mp")
                    .upload_id(&id)
                    .part_number(n)
                    .body(ByteStream::from(part))
                    .send()
                    .await
                    .unwrap();
                parts.push(
                    aws_sdk_s3::types::CompletedPart::builder()
                        .part_number(n)
                        .e_tag(r.e_tag().unwrap())
                        .build(),
                );
            }
            let done = aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build();
            mp_etag = c
                .complete_multipart_upload()
                .bucket("keep")
                .key("mp")
                .upload_id(&id)
                .multipart_upload(done)
                .send()
                .await
                .unwrap()
                .e_tag()
                .unwrap()
                .to_owned();
        }
        server.shutdown().await;
        (etag, mp_etag)
    };
    let data_files = files_below(&dir)
        .into_iter()
        .filter(|f| f.ends_with(".data"))
        .count();
    assert_eq!(
        data_files, 2,
        "one data file per object, old versions removed"
    );

    let server = Emulator::start(on_disk(&dir)).await.unwrap();
    let c = client(&server);
    let got = c
        .get_object()
        .bucket("keep")
        .key("a/b.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(got.e_tag(), Some(etag.as_str()));
    assert!(got.body.collect().await.unwrap().into_bytes().as_ref() == body.as_slice());
    let got = c
        .get_object()
        .bucket("keep")
        .key("mp")
        .send()
        .await
        .unwrap();
    assert_eq!(got.e_tag(), Some(mp_etag.as_str()));
    let mut want = bytes(5 * 1024 * 1024, 1);
    want.extend(bytes(10, 1));
    assert!(got.body.collect().await.unwrap().into_bytes().as_ref() == want.as_slice());
    let listed = c.list_objects_v2().bucket("keep").send().await.unwrap();
    assert_eq!(listed.contents().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_escapes_the_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let server = Emulator::start(on_disk(&dir)).await.unwrap();
    let c = client(&server);
    c.create_bucket().bucket("jail").send().await.unwrap();
    let long = "../".repeat(300);
    let keys = [
        "../escape.txt".to_owned(),
        "../../../../../../tmp/escape2".to_owned(),
        "/etc/passwd-copy".to_owned(),
        "a/../../b".to_owned(),
        "nul\0key".to_owned(),
        "..".to_owned(),
        format!("{long}deep"),
        "back\\..\\..\\slash".to_owned(),
    ];
    let mut stored = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let body = bytes(100 + i, i as u8);
        match c
            .put_object()
            .bucket("jail")
            .key(key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
        {
            Ok(_) => stored.push((key.clone(), body)),
            // Refusing a key is fine (S3 refuses some too); escaping is not.
            Err(e) => assert!(
                crate::common::code_of(&e)
                    .1
                    .is_some_and(|s| (400..500).contains(&s)),
                "{key:?}: {e:?}"
            ),
        }
    }
    assert!(
        stored.len() >= 5,
        "most hostile keys are ordinary S3 keys and must be stored"
    );
    for (key, body) in &stored {
        let got = c.get_object().bucket("jail").key(key).send().await.unwrap();
        assert!(
            got.body.collect().await.unwrap().into_bytes().as_ref() == body.as_slice(),
            "{key:?}"
        );
    }
    // Nothing outside the data dir, and inside only the documented layout.
    let outside: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, vec![std::ffi::OsString::from("data")]);
    for f in files_below(&dir) {
        assert!(f.starts_with("buckets/jail/"), "unexpected file {f}");
    }
    assert!(!Path::new("/tmp/escape2").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_data_dir_is_a_clear_start_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = Emulator::start(on_disk(&file.join("sub")))
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::DataDir { .. }), "{err:?}");
    assert!(err.to_string().contains("a-file"), "{err}");
}

/// Mounts a tmpfs of `size` at `dir`, and unmounts it when dropped; `None` without root
/// (CI runs as root, and must be able to).
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "CI runs as root and must be able to mount a tmpfs"
            );
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        Some(Self(dir.to_owned()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_write_and_leaves_no_staged_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("small");
    let Some(_disk) = SmallDisk::mount(&dir, "2m") else {
        return;
    };
    let server = Emulator::start(on_disk(&dir)).await.unwrap();
    let c = client(&server);
    c.create_bucket().bucket("full").send().await.unwrap();
    // A PUT larger than the disk, then parts of a multipart upload that fill it.
    let put = c
        .put_object()
        .bucket("full")
        .key("big")
        .body(ByteStream::from(bytes(3 << 20, 1)))
        .send()
        .await;
    assert!(put.is_err(), "a 3 MiB object does not fit on 2 MiB");
    let id = c
        .create_multipart_upload()
        .bucket("full")
        .key("mp")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let mut failed = false;
    for n in 1..=3 {
        let part = c
            .upload_part()
            .bucket("full")
            .key("mp")
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(bytes(1 << 20, n as u8)))
            .send()
            .await;
        failed |= part.is_err();
    }
    assert!(
        failed,
        "three 1 MiB parts do not fit beside the bucket on 2 MiB"
    );
    // While the server runs on, nothing half-written stays in its staging folder.
    let staged: Vec<_> = std::fs::read_dir(dir.join("tmp")).unwrap().collect();
    assert!(staged.is_empty(), "{staged:?}");
    server.shutdown().await;
}
