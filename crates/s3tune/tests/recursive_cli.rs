//! `s3tune get --recursive` and `s3tune put --recursive` as a user runs them, against an
//! in-process emulator over loopback: listings past one page, awkward and hostile keys,
//! an object replaced mid-download, and a faulty network.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use s3tune_emulator::{DedicatedEmulator, NetworkProfile, ObjectSpec, Rate, synthetic};

mod common;
use common::tree::{
    Entry, code_for, emulator, failed, files, missing_synthetic, objects, put, summary, tree,
};
use common::{creds, run};

/// `s3tune VERB --recursive FROM TO --endpoint-url EP --json EXTRA...`.
fn recursive(home: &Path, ep: &str, verb: &str, from: &str, to: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        verb,
        "--recursive",
        from,
        to,
        "--endpoint-url",
        ep,
        "--json",
    ];
    args.extend_from_slice(extra);
    run(home, &creds(), &args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn thousands_of_keys_come_down_past_every_listing_page_and_go_back_up() {
    // 2,511 keys: three pages of ListObjectsV2 (1,000 a page), sizes from 0 bytes up,
    // and folders nested below the prefix.
    let specs = [
        "data/many/f-{0000..2499}.bin=uniform(0,2KiB)",
        "data/many/empty.bin=0",
        "data/many/sub/deep/g-{0..9}.bin=100",
    ];
    let s = emulator(NetworkProfile::unlimited(), &specs);
    let (ep, home) = (s.endpoint(), tempfile::tempdir().unwrap());
    let dir = home.path().join("many");
    let out = recursive(
        home.path(),
        &ep,
        "get",
        "s3://data/many/",
        dir.to_str().unwrap(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let missing = missing_synthetic(&dir, &specs, "many/");
    assert!(missing.is_empty(), "never written: {missing:?}");
    let total: u64 = specs
        .iter()
        .map(|s| s.parse::<ObjectSpec>().unwrap().count())
        .sum();
    let bytes: u64 = specs
        .iter()
        .map(|s| s.parse::<ObjectSpec>().unwrap().total_bytes())
        .sum();
    let report = summary(&out);
    assert_eq!(report["stats"]["objects"], total);
    assert_eq!(report["stats"]["bytes"], bytes);
    assert_eq!(report["stats"]["skipped"], 0);
    assert!(failed(&report).is_empty());
    // Three listing requests at least, and one request per object with bytes at least
    // (the listing says which are empty: they need none).
    let with_bytes: u64 = specs
        .iter()
        .map(|s| {
            let spec = s.parse::<ObjectSpec>().unwrap();
            spec.objects().filter(|(_, n)| *n > 0).count() as u64
        })
        .sum();
    assert!(report["stats"]["requests"].as_u64().unwrap() >= with_bytes + 3);

    // Up again under another prefix: every file a key, byte for byte.
    let out = recursive(
        home.path(),
        &ep,
        "put",
        dir.to_str().unwrap(),
        "s3://data/copy",
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = summary(&out);
    assert_eq!(report["stats"]["objects"], total);
    assert_eq!(report["stats"]["bytes"], bytes);
    let (stored, local) = (objects(&s, "data", "copy/"), files(&dir));
    assert_eq!(stored.len(), local.len());
    assert!(stored == local, "an object is not its file's bytes");
}

#[test]
fn keys_with_spaces_and_unicode_round_trip_exactly() {
    let s = emulator(NetworkProfile::unlimited(), &[]);
    s.store().create_bucket("data").unwrap();
    let (ep, home) = (s.endpoint(), tempfile::tempdir().unwrap());
    let src = home.path().join("src");
    let names = [
        "with space.txt",
        "  leading and trailing  ",
        "ünïcødé/日本語 ファイル.bin",
        "emoji 🎉/a+b=c&d?.txt",
        "percent%20and#hash;semi.txt",
        "quote's \"double\" <angle>.txt",
        "nfd-e\u{301}-vs-nfc-\u{e9}.txt",
        "deep/a/b/c/d e.txt",
        "tilde~/star*/back\\slash.txt",
    ];
    for (i, name) in names.iter().enumerate() {
        let path = src.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("{i}: {name}\n").repeat(i * 100 + 1)).unwrap();
    }
    let before = files(&src);
    let out = recursive(
        home.path(),
        &ep,
        "put",
        src.to_str().unwrap(),
        "s3://data/names/",
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The keys are the names, not a re-encoding or a normalisation of them.
    assert_eq!(objects(&s, "data", "names/"), before);
    let back = home.path().join("back");
    let out = recursive(
        home.path(),
        &ep,
        "get",
        "s3://data/names/",
        back.to_str().unwrap(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(summary(&out)["stats"]["objects"], names.len());
    assert_eq!(tree(&back), tree(&src));
}

#[test]
fn keys_that_would_escape_the_directory_are_refused_by_name_and_never_written() {
    let s = emulator(NetworkProfile::unlimited(), &[]);
    // A name no machine has at its root, so that writing it would show.
    let abs = format!("/s3tune-escape-test-{}.txt", std::process::id());
    let bad = [
        "../escaped.txt",
        "sub/../../escaped-too.txt",
        abs.as_str(),
        "a//b.txt",
        "./dot.txt",
        "sub/.",
        "link/through.txt",
    ];
    for key in bad {
        put(&s, "evil", key, format!("from {key}").into_bytes());
    }
    put(&s, "evil", "ok.txt", b"fine".to_vec());
    put(&s, "evil", "sub/fine.txt", b"also fine".to_vec());
    // A folder marker (the S3 console's "Create folder"): nothing to write, no failure.
    put(&s, "evil", "folder/", Vec::new());
    let (ep, home) = (s.endpoint(), tempfile::tempdir().unwrap());
    let parent = home.path().join("parent");
    std::fs::create_dir(&parent).unwrap();
    std::fs::write(parent.join("sentinel"), "untouched").unwrap();
    // A directory of the destination that leads out of it is not written through.
    let dir = parent.join("dest");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::create_dir(home.path().join("outside")).unwrap();
    std::os::unix::fs::symlink(home.path().join("outside"), dir.join("link")).unwrap();
    let before = tree(home.path());

    let out = recursive(
        home.path(),
        &ep,
        "get",
        "s3://evil/",
        dir.to_str().unwrap(),
        &[],
    );
    // Some objects failed: exit code 4, each refused key named on stderr and in the JSON.
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    for key in bad {
        let line = format!("s3tune: failed: {key}: ");
        assert!(
            err.lines()
                .any(|l| l.starts_with(&line) && l.contains("outside the directory")),
            "{key} not named:\n{err}"
        );
    }
    let report = summary(&out);
    let want: BTreeSet<String> = bad.iter().map(|k| (*k).to_owned()).collect();
    assert_eq!(failed(&report), want);
    assert_eq!(report["stats"]["objects"], 2);
    assert_eq!(report["stats"]["skipped"], 1);
    // The others arrived; nothing else was made, in the directory or beside it.
    let mut after = before;
    after.insert("parent/dest/ok.txt".into(), Entry::File(b"fine".to_vec()));
    after.insert(
        "parent/dest/sub/fine.txt".into(),
        Entry::File(b"also fine".to_vec()),
    );
    assert_eq!(tree(home.path()), after);
    assert!(!Path::new(&abs).exists(), "{abs} was written");
}

#[test]
fn an_object_replaced_mid_download_arrives_whole_as_one_version() {
    // 24 MiB in 5 MiB parts at 6 MB/s a connection, four at once: a second and more.
    let s = emulator(
        NetworkProfile {
            connection_bandwidth: Some(Rate(6e6)),
            ..NetworkProfile::unlimited()
        },
        &[],
    );
    let version = |name: &str| {
        let mut v = vec![0; 24 << 20];
        synthetic::fill(name, 0, &mut v);
        v
    };
    let (old, new) = (version("old"), version("new"));
    assert!(old != new);
    put(&s, "data", "chg/big.bin", old);
    put(&s, "data", "chg/small.txt", b"small".to_vec());
    let (ep, home) = (s.endpoint(), tempfile::tempdir().unwrap());
    let dir = home.path().join("chg");
    let child = common::command(
        home.path(),
        &creds(),
        &[
            "get",
            "-r",
            "s3://data/chg/",
            dir.to_str().unwrap(),
            "--endpoint-url",
            &ep,
            "--multipart-chunksize",
            "5MiB",
            "--max-concurrency",
            "4",
            "--json",
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // Once the first four parts are under way (two MiB of them sent), and long before
    // the fifth is asked for, the object is replaced.
    let t0 = Instant::now();
    while s.stats().bytes_sent < 2 << 20 {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the download never started"
        );
        std::thread::yield_now();
    }
    put(&s, "data", "chg/big.bin", new.clone());
    let out = child.wait_with_output().unwrap();
    let report = summary(&out);
    let got = files(&dir);
    assert_eq!(got.get("small.txt").map(Vec::as_slice), Some(&b"small"[..]));
    let want: &[&str] = match got.get("big.bin") {
        // The fifth part's If-Match failed (412): the object was fetched again, whole.
        Some(data) => {
            assert!(data == &new, "big.bin is not the new version (a mix?)");
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            assert!(report["stats"]["retries"].as_u64().unwrap() >= 1);
            &["big.bin", "small.txt"]
        }
        // Or reported failed, with nothing left of it.
        None => {
            assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
            assert!(failed(&report).contains("chg/big.bin"));
            &["small.txt"]
        }
    };
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want,
        "a partial file is left"
    );
}

/// The dataset of the fault tests: 300 small objects and three of two parts.
const FLAKY: [&str; 2] = [
    "data/flaky/f-{000..299}.bin=uniform(1KiB,256KiB)",
    "data/flaky/big-{0..2}.bin=12MiB",
];

/// `get -r` of [`FLAKY`] into `dir`: every file there is exact, no partial file is left
/// (each file is an object's name), and every object without a file is named as failed,
/// with exit code 4 then. Returns the failures.
fn get_flaky(s: &DedicatedEmulator, home: &Path, dir: &Path, extra: &[&str]) -> BTreeSet<String> {
    let out = recursive(
        home,
        &s.endpoint(),
        "get",
        "s3://data/flaky/",
        dir.to_str().unwrap(),
        extra,
    );
    let report = summary(&out);
    let failed = failed(&report);
    assert_eq!(out.status.code(), code_for(&failed), "{}", stderr(&out));
    let missing = missing_synthetic(dir, &FLAKY, "flaky/");
    assert_eq!(
        missing, failed,
        "the objects without a file are those named as failed"
    );
    assert_eq!(report["stats"]["objects"], 303 - missing.len());
    failed
}

#[test]
fn on_a_faulty_network_what_arrives_is_exact_and_what_does_not_is_named() {
    let s = emulator(
        NetworkProfile {
            seed: 17,
            ..NetworkProfile::faulty()
        },
        &FLAKY,
    );
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("flaky");
    get_flaky(&s, home.path(), &dir, &[]);
    let faults = s.stats();
    assert!(
        faults.resets > 0 && faults.injected_slowdowns > 0,
        "{faults:?}"
    );

    // And up, through the same faults: every key stored is its file's bytes, every file
    // not stored is named as failed, and no multipart upload is left open.
    let ep = s.endpoint();
    let out = recursive(
        home.path(),
        &ep,
        "put",
        dir.to_str().unwrap(),
        "s3://data/up/",
        &[],
    );
    let report = summary(&out);
    let up_failed = failed(&report);
    assert_eq!(out.status.code(), code_for(&up_failed), "{}", stderr(&out));
    let local = files(&dir);
    let stored = objects(&s, "data", "up/");
    for (rel, data) in &stored {
        assert!(
            local.get(rel) == Some(data),
            "up/{rel} is not its file's bytes"
        );
    }
    let not_stored: BTreeSet<String> = local
        .keys()
        .filter(|rel| !stored.contains_key(*rel))
        .map(|rel| dir.join(rel).display().to_string())
        .collect();
    assert_eq!(not_stored, up_failed);
    assert_eq!(report["stats"]["objects"], stored.len());
    assert_eq!(
        s.store().uploads_in_progress(),
        0,
        "a multipart upload was left open"
    );
}

#[test]
fn objects_that_fail_after_every_retry_are_named_and_leave_no_partial_file() {
    // Half of all bodies cut off, and no second attempt at a broken body: each object
    // attempt fails about half the time, so about one object in eight fails all three.
    let s = emulator(
        NetworkProfile {
            reset_probability: 0.5,
            seed: 5,
            ..NetworkProfile::faulty()
        },
        &FLAKY,
    );
    let home = tempfile::tempdir().unwrap();
    let failed = get_flaky(
        &s,
        home.path(),
        &home.path().join("d"),
        &["--num-download-attempts", "1"],
    );
    // All 303 objects come through with a chance of 0.875^303 (about 1e-18).
    assert!(
        !failed.is_empty(),
        "nothing failed: the test did not test failures"
    );
}
