//! `s3tune get --recursive` and `put --recursive` at their limits, as a user meets
//! them: stopped with Ctrl-C halfway, and run over tens of thousands of objects.

use std::path::Path;
use std::time::Duration;

use s3tune_emulator::{DedicatedEmulator, NetworkProfile, Rate, synthetic};

mod common;
use common::tree::{emulator, files, is_partial, missing_synthetic, objects, summary};
use common::{creds, interrupt, run};

/// The names in `dir` (none if it does not exist yet).
fn names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).map_or_else(
        |_| Vec::new(),
        |d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        },
    )
}

fn slow(bytes_per_sec: f64) -> NetworkProfile {
    NetworkProfile {
        connection_bandwidth: Some(Rate(bytes_per_sec)),
        ..NetworkProfile::unlimited()
    }
}

#[test]
fn ctrl_c_during_a_recursive_download_leaves_only_complete_files() {
    // 30 objects, 100 KiB to 3 MiB, at 2 MB/s each, ten at once: about 2.5 s in all.
    let specs = ["data/slow/f-{00..29}.bin=uniform(100KiB,3MiB)"];
    let s = emulator(slow(2e6), &specs);
    let (ep, home) = (s.endpoint(), tempfile::tempdir().unwrap());
    let dir = home.path().join("slow");
    let d = dir.to_str().unwrap();
    // Interrupted once some objects are complete and others half-written.
    let out = interrupt(
        home.path(),
        &["get", "-r", "s3://data/slow/", d, "--endpoint-url", &ep],
        || {
            let n = names(&dir);
            n.iter().any(|n| is_partial(n)) && n.iter().any(|n| !is_partial(n))
        },
    );
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every file left is a complete, exact object (a partial file would fail here).
    let missing = missing_synthetic(&dir, &specs, "slow/");
    assert!(
        !missing.is_empty() && missing.len() < 30,
        "{} objects missing: was it interrupted halfway?",
        missing.len()
    );
}

#[test]
fn ctrl_c_during_a_recursive_upload_leaves_no_upload_open_and_no_partial_object() {
    let s = emulator(slow(4e6), &[]);
    s.store().create_bucket("data").unwrap();
    let (ep, home) = (s.endpoint(), tempfile::tempdir().unwrap());
    let src = home.path().join("src");
    std::fs::create_dir(&src).unwrap();
    // Small files first (the walk is sorted), done at once; then one 6 MiB single PUT and
    // three 12 MiB multipart uploads that take seconds at 4 MB/s.
    let mut sizes: Vec<(String, usize)> = (0..5).map(|i| (format!("a-{i}.txt"), 4000)).collect();
    sizes.push(("mid.bin".into(), 6 << 20));
    sizes.extend((0..3).map(|i| (format!("big-{i}.bin"), 12 << 20)));
    for (name, size) in &sizes {
        let mut data = vec![0; *size];
        synthetic::fill(name, 0, &mut data);
        std::fs::write(src.join(name), data).unwrap();
    }
    let store = s.store().clone();
    let out = interrupt(
        home.path(),
        &[
            "put",
            "-r",
            src.to_str().unwrap(),
            "s3://data/up/",
            "--endpoint-url",
            &ep,
            "--multipart-chunksize",
            "5MiB",
        ],
        || store.uploads_in_progress() > 0 && !store.keys("data", "up/").is_empty(),
    );
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        s.store().uploads_in_progress(),
        0,
        "every upload was aborted"
    );
    // What was stored is whole: each object its file's bytes, none cut short.
    let local = files(&src);
    let stored = objects(&s, "data", "up/");
    assert!(!stored.is_empty());
    for (key, data) in &stored {
        assert!(
            local.get(key) == Some(data),
            "up/{key} is not its file's bytes"
        );
    }
    assert!(stored.len() < local.len(), "was it interrupted halfway?");
}

/// `s3tune VERB -r FROM TO --json` to its end, successful; its summary.
fn recursive(s: &DedicatedEmulator, verb: &str, from: &str, to: &str) -> serde_json::Value {
    let home = tempfile::tempdir().unwrap();
    let ep = s.endpoint();
    let args = [verb, "-r", from, to, "--endpoint-url", &ep, "--json"];
    let out = run(home.path(), &creds(), &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    summary(&out)
}

/// Peak memory may not follow the number of objects. Each object open costs about 22 KiB
/// (measured: `--max-objects 1024` lifts the peak of this download by some 22 MiB over
/// the default 10), and an engine that held all 20,000 objects' tasks at once would need
/// some 430 MiB more than for 2,000 (and one buffer of `io_chunksize`, 256 KiB, each would
/// need gigabytes). Allowing 16 MiB more than the 2,000-object run (the runs measured
/// differ by 1-2 MiB: allocator noise, and the larger tally) fails any engine holding
/// more than about 700 objects at once, or anything per object listed.
const MARGIN: u64 = 16 << 20;

#[test]
fn memory_does_not_grow_with_the_number_of_objects() {
    let specs = [
        "data/n2k/f-{0000..1999}.bin=1KiB",
        "data/n20k/f-{00000..19999}.bin=1KiB",
    ];
    let s = emulator(NetworkProfile::unlimited(), &specs);
    let home = tempfile::tempdir().unwrap();
    let peak = |v: &serde_json::Value| v["peak_rss_bytes"].as_u64().unwrap();
    let mut peaks = Vec::new();
    for n in ["n2k", "n20k"] {
        let dir = home.path().join(n);
        let down = recursive(&s, "get", &format!("s3://data/{n}/"), dir.to_str().unwrap());
        let missing = missing_synthetic(&dir, &specs, &format!("{n}/"));
        assert!(missing.is_empty(), "{} never written", missing.len());
        let up = recursive(
            &s,
            "put",
            dir.to_str().unwrap(),
            &format!("s3://data/up-{n}/"),
        );
        assert!(objects(&s, "data", &format!("up-{n}/")) == files(&dir));
        peaks.push((peak(&down), peak(&up)));
    }
    let [(get_2k, put_2k), (get_20k, put_20k)] = peaks[..] else {
        unreachable!()
    };
    let mib = |b: u64| b >> 20;
    assert!(
        get_20k < get_2k + MARGIN,
        "get -r: {} MiB for 20,000 objects, {} MiB for 2,000",
        mib(get_20k),
        mib(get_2k)
    );
    assert!(
        put_20k < put_2k + MARGIN,
        "put -r: {} MiB for 20,000 objects, {} MiB for 2,000",
        mib(put_20k),
        mib(put_2k)
    );
}

#[test]
fn max_objects_bounds_the_objects_open_at_once() {
    // Every answer 20 ms late, and the server throttles past three requests at once (one
    // above the bound, for a request whose end the server has not yet counted as the
    // next one comes). 60 one-request objects, one listing page before any of them.
    let specs = ["data/few/f-{00..59}.bin=1KiB"];
    let s = emulator(
        NetworkProfile {
            first_byte_latency: Duration::from_millis(20),
            max_concurrent_requests: Some(3),
            ..NetworkProfile::unlimited()
        },
        &specs,
    );
    let home = tempfile::tempdir().unwrap();
    let get = |dir: &str, extra: &[&str]| {
        let d = home.path().join(dir);
        let ep = s.endpoint();
        let mut args = vec!["get", "-r", "s3://data/few/", d.to_str().unwrap()];
        args.extend_from_slice(&["--endpoint-url", &ep, "--json"]);
        args.extend_from_slice(extra);
        let out = run(home.path(), &creds(), &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(missing_synthetic(&d, &specs, "few/").is_empty());
        summary(&out)
    };
    let before = s.stats().throttled;
    let report = get("two", &["--max-objects", "2"]);
    assert_eq!(report["config"]["max_objects"], 2);
    assert_eq!(
        s.stats().throttled,
        before,
        "more than two objects were open at once"
    );
    // The same without the bound (ten objects open) is throttled: the server can tell.
    get("ten", &[]);
    assert!(
        s.stats().throttled > before,
        "ten objects open never made four requests"
    );
}
