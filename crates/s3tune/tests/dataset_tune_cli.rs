//! `s3tune tune` of a dataset as a user runs it: a synthetic dataset on the embedded
//! emulator (`--dataset`), and a prefix of a bucket (`s3://BUCKET/PREFIX/`, `--sample`),
//! over real sockets, the study in a real SQLite file; the exports used as written.

use std::path::Path;

use s3tune_emulator::{DedicatedEmulator, Emulator, EmulatorConfig};

mod common;
use common::{ACCESS, SECRET, creds, ok, one_line_error, run};

/// A results folder and an empty downloads folder under `home`.
fn dirs(home: &Path) -> (String, String) {
    let out = home.join("results");
    let dl = home.join("downloads");
    std::fs::create_dir(&dl).unwrap();
    (
        out.to_str().unwrap().to_owned(),
        dl.to_str().unwrap().to_owned(),
    )
}

/// A server holding `objects` (specs as `serve --objects` takes them).
fn server(objects: &[&str]) -> DedicatedEmulator {
    Emulator::start_dedicated(
        EmulatorConfig {
            access_key: ACCESS.into(),
            secret_key: SECRET.into(),
            objects: objects.iter().map(|o| o.parse().unwrap()).collect(),
            ..EmulatorConfig::default()
        },
        1,
    )
    .unwrap()
}

fn summary(out: &str, study: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(Path::new(out).join(study).join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every file under `dir`, as paths relative to it.
fn files(dir: &Path) -> Vec<String> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                all.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    all.sort();
    all
}

#[test]
fn tunes_a_synthetic_dataset_and_its_exports_work_as_written() {
    let home = tempfile::tempdir().unwrap();
    let (out, dl) = dirs(home.path());
    let spec = "d/f-{000..299}.bin=uniform(1KiB,64KiB)";
    let out_dir = format!("{out}/ds");
    let o = run(
        home.path(),
        &[],
        &[
            "tune",
            "--dataset",
            spec,
            "--network",
            "unlimited",
            "--trials",
            "4",
            "--repeats",
            "1",
            "--confirm",
            "2",
            "--study",
            "ds",
            "--out",
            &out_dir,
            "--dest-dir",
            &dl,
        ],
    );
    let stdout = ok(&o);
    assert!(stdout.contains("dataset: 300 objects"), "{stdout}");
    assert!(stdout.contains("baseline (aws cli)"), "{stdout}");
    assert!(stdout.contains("objects/s"), "{stdout}");
    let s = summary(&out, "ds");
    assert_eq!(
        (s["objects"].as_u64(), s["sampled"].as_bool()),
        (Some(300), Some(false))
    );
    assert!(s["best_objects_per_sec"].as_f64().unwrap() > 0.0, "{s}");
    assert!(
        s["boto3_pool_seconds"].as_f64().is_some(),
        "the pool ran second: {s}"
    );
    assert_eq!(s["baseline"], "the AWS CLI's defaults");
    // Every run's folder is gone: nothing is left in the destination.
    assert!(
        files(Path::new(&dl)).is_empty(),
        "{:?}",
        files(Path::new(&dl))
    );
    // The exports speak each client's language.
    let read = |name: &str| std::fs::read_to_string(Path::new(&out_dir).join(name)).unwrap();
    let ini = read("aws-cli.ini");
    for k in [
        "max_concurrent_requests",
        "max_queue_size",
        "multipart_chunksize",
    ] {
        assert!(ini.contains(k), "{k}: {ini}");
    }
    let py = read("boto3.py");
    assert!(
        py.contains("ThreadPoolExecutor") && py.contains("max_pool_connections"),
        "{py}"
    );
    assert!(!py.contains("max_objects="), "not a boto3 knob: {py}");
    let compiled = std::process::Command::new("python3")
        .args(["-m", "py_compile"])
        .arg(Path::new(&out_dir).join("boto3.py"))
        .status()
        .unwrap();
    assert!(compiled.success(), "boto3.py is Python");
    let toml = read("best.toml");
    assert!(
        toml.contains("max_objects = ") && toml.contains("--recursive"),
        "{toml}"
    );
    // best.toml as `get --recursive --config` reads it: the same dataset, every byte.
    let s = server(&[&format!("data/{spec}")]);
    let copy = home.path().join("copy");
    let got = run(
        home.path(),
        &creds(),
        &[
            "get",
            "--recursive",
            "--config",
            &format!("{out_dir}/best.toml"),
            "s3://data/d/",
            copy.to_str().unwrap(),
            "--endpoint-url",
            &s.endpoint(),
            "--json",
        ],
    );
    let j: serde_json::Value = serde_json::from_str(&ok(&got)).unwrap();
    assert_eq!(j["stats"]["objects"], 300, "{j}");
    let names = files(&copy);
    assert_eq!(names.len(), 300);
    for n in &names {
        let bytes = std::fs::read(copy.join(n)).unwrap();
        let key = format!("d/{n}");
        assert_eq!(
            s3tune_emulator::synthetic::verify(&key, 0, &bytes),
            None,
            "{key}"
        );
    }
}

#[test]
fn tunes_a_prefix_of_a_bucket_whole_or_as_a_reproducible_sample() {
    // 1,200 objects: the listing pages past S3's 1,000 keys.
    let s = server(&["data/set/x-{0000..1199}.bin=4KiB", "data/other.bin=1KiB"]);
    let ep = s.endpoint();
    let home = tempfile::tempdir().unwrap();
    let (out, dl) = dirs(home.path());
    let tune = |study: &str, trials: &str, extra: &[&str]| {
        let mut args = vec![
            "tune",
            "s3://data/set/",
            "--endpoint-url",
            &ep,
            "--trials",
            trials,
            "--repeats",
            "1",
            "--confirm",
            "0",
            "--study",
            study,
            "--out",
            &out,
            "--dest-dir",
            &dl,
        ];
        args.extend_from_slice(extra);
        run(home.path(), &creds(), &args)
    };
    let whole = ok(&tune("whole", "2", &[]));
    assert!(whole.contains("dataset: 1200 objects"), "{whole}");
    let sw = summary(&out, "");
    assert_eq!(sw["objects"], 1200, "{sw}");
    let sampled = ok(&tune("part", "2", &["--sample", "100"]));
    assert!(
        sampled.contains("a sample of 100 of 1200 objects"),
        "{sampled}"
    );
    let sp = summary(&out, "");
    assert_eq!(
        (sp["objects"].as_u64(), sp["listed_objects"].as_u64()),
        (Some(100), Some(1200))
    );
    assert_eq!(sp["sampled"], true);
    // The sample defines the study: another is refused, by name.
    one_line_error(
        &tune("part", "2", &["--sample", "50"]),
        "a sample of 100 objects",
    );
    // Resumed with no flag, it keeps its sample.
    let again = ok(&tune("part", "3", &[]));
    assert!(again.contains("a sample of 100 of 1200 objects"), "{again}");
    assert!(files(Path::new(&dl)).is_empty());
}

#[test]
fn dataset_flags_that_cannot_hold_get_one_line() {
    let s = server(&["data/set/x-{0..9}.bin=1KiB"]);
    let ep = s.endpoint();
    let home = tempfile::tempdir().unwrap();
    let (out, dl) = dirs(home.path());
    let tune = |extra: &[&str]| {
        let mut args = vec!["tune", "--out", &out, "--dest-dir", &dl, "--trials", "1"];
        args.extend_from_slice(extra);
        run(home.path(), &creds(), &args)
    };
    one_line_error(
        &tune(&["--sample", "5"]),
        "--sample chooses objects of a dataset",
    );
    one_line_error(&tune(&["--dataset", "tiny"]), "small, large, images");
    let dir = home.path().join("folder");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a.bin"), b"a").unwrap();
    let folder = dir.to_str().unwrap();
    one_line_error(
        &tune(&[
            "--upload",
            folder,
            "s3://data/up/",
            "--endpoint-url",
            &ep,
            "--sample",
            "1",
        ]),
        "upload a folder holding that part",
    );
    one_line_error(&tune(&["--upload", folder]), "a folder goes to a bucket");
    let file = dir.join("a.bin");
    one_line_error(
        &tune(&["--upload", file.to_str().unwrap(), "--dataset", "small"]),
        "--dataset makes the files to upload",
    );
    one_line_error(
        &tune(&["--dataset", "small", "--object-size", "1MiB"]),
        "--object-size",
    );
    one_line_error(&tune(&["--param", "max_objects=1..8"]), "many objects");
    one_line_error(
        &tune(&["s3://data/none/", "--endpoint-url", &ep]),
        "holds no objects",
    );
    one_line_error(
        &tune(&[
            "s3://data/set/",
            "--endpoint-url",
            &ep,
            "--client",
            "boto3",
            "--python",
            "true",
        ]),
        "--client s3tune",
    );
}

#[test]
fn tunes_a_datasets_upload_and_leaves_nothing_in_the_bucket() {
    let home = tempfile::tempdir().unwrap();
    let (out, dl) = dirs(home.path());
    // A synthetic folder up to the embedded emulator, each stored byte checked there.
    let synthetic = format!("{out}/syn");
    let o = run(
        home.path(),
        &[],
        &[
            "tune",
            "--upload",
            "--dataset",
            "d/f-{000..099}.bin=16KiB",
            "--network",
            "unlimited",
            "--trials",
            "3",
            "--repeats",
            "1",
            "--confirm",
            "0",
            "--study",
            "syn",
            "--out",
            &synthetic,
            "--dest-dir",
            &dl,
        ],
    );
    let stdout = ok(&o);
    assert!(stdout.contains("dataset: 100 objects"), "{stdout}");
    let s = summary(&out, "syn");
    assert_eq!(
        (s["workload"].as_str(), s["objects"].as_u64()),
        (Some("upload"), Some(100))
    );
    assert!(
        files(Path::new(&dl)).is_empty(),
        "the synthetic folder is gone"
    );
    let toml = std::fs::read_to_string(Path::new(&synthetic).join("best.toml")).unwrap();
    assert!(toml.contains("s3tune put --recursive"), "{toml}");
    // A user's folder up to a bucket, each object checked by S3's digest of it.
    let srv = server(&[]);
    srv.store().ensure_bucket("data").unwrap();
    let dir = home.path().join("shards");
    for i in 0..40u32 {
        let sub = dir.join(format!("part-{}", i % 3));
        std::fs::create_dir_all(&sub).unwrap();
        let bytes: Vec<u8> = (0..(1000 + i * 37)).map(|b| (b * 7 + i) as u8).collect();
        std::fs::write(sub.join(format!("s-{i:02}.bin")), bytes).unwrap();
    }
    let bucket_out = format!("{out}/bucket");
    let o = run(
        home.path(),
        &creds(),
        &[
            "tune",
            "--upload",
            dir.to_str().unwrap(),
            "s3://data/train/",
            "--endpoint-url",
            &srv.endpoint(),
            "--trials",
            "3",
            "--repeats",
            "1",
            "--confirm",
            "0",
            "--study",
            "folder",
            "--out",
            &bucket_out,
            "--dest-dir",
            &dl,
        ],
    );
    let stdout = ok(&o);
    assert!(stdout.contains("dataset: 40 objects"), "{stdout}");
    let s = summary(&bucket_out, "");
    assert!(
        s["best_seconds"].as_f64().is_some(),
        "a checked upload was timed: {s}"
    );
    let store = srv.store();
    assert_eq!(
        store.keys("data", ""),
        Vec::<String>::new(),
        "nothing left in the bucket"
    );
    assert_eq!(store.uploads_in_progress(), 0);
}
