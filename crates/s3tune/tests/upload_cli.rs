//! `s3tune tune --upload` as a user runs it: on the embedded emulator, and against a
//! bucket of a real server over real sockets — every output written, every upload
//! checked, nothing left in the bucket however the run ends.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use s3tune_emulator::{DedicatedEmulator, Emulator, EmulatorConfig, NetworkProfile, Rate};

mod common;
use common::{ACCESS, SECRET, Tmpfs, command, creds, ok, one_line_error, run};

/// A server with the bucket `data`, shaped by `network`.
fn server(network: NetworkProfile) -> DedicatedEmulator {
    let s = Emulator::start_dedicated(
        EmulatorConfig {
            access_key: ACCESS.into(),
            secret_key: SECRET.into(),
            network,
            ..EmulatorConfig::default()
        },
        1,
    )
    .unwrap();
    s.store().create_bucket("data").unwrap();
    s
}

/// What is left under `prefix` in `data`: objects and multipart uploads.
fn left(s: &DedicatedEmulator, prefix: &str) -> (Vec<String>, usize) {
    let keys = s.store().keys("data", prefix);
    let uploads = s.store().list_uploads("data", prefix).unwrap().len();
    (keys, uploads)
}

/// A file of `len` bytes that is not a synthetic pattern.
fn source(dir: &Path, len: usize) -> std::path::PathBuf {
    let path = dir.join("model.bin");
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn tunes_uploads_on_the_emulator_and_writes_every_output() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("results");
    let dest = home.path().join("scratch");
    std::fs::create_dir(&dest).unwrap();
    let stdout = ok(&run(
        home.path(),
        &[],
        &[
            "tune",
            "--upload",
            "--network",
            "unlimited",
            "--object-size",
            "16MiB",
            "--trials",
            "5",
            "--confirm",
            "2",
            "--out",
            out.to_str().unwrap(),
            "--dest-dir",
            dest.to_str().unwrap(),
        ],
    ));
    assert!(stdout.contains("speedup"), "{stdout}");
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["workload"], "upload");
    assert_eq!(summary["client"], "s3tune");
    assert!(summary["best_trial"].as_u64().is_some(), "{summary}");
    for file in [
        "best.toml",
        "boto3.py",
        "aws-cli.ini",
        "trials.csv",
        "best_over_time.png",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let py = std::fs::read_to_string(out.join("boto3.py")).unwrap();
    assert!(
        py.contains("upload_file(FILENAME, BUCKET, KEY, Config=config)"),
        "{py}"
    );
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    for knob in [
        "max_concurrency",
        "multipart_chunksize",
        "multipart_threshold",
    ] {
        assert!(header.contains(knob), "{header}");
    }
    // The synthetic source is gone with the run.
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);

    // best.toml is what `s3tune put --config` takes.
    let s = server(NetworkProfile::unlimited());
    let file = source(home.path(), 6 << 20);
    let best = out.join("best.toml");
    let put = ok(&run(
        home.path(),
        &creds(),
        &[
            "put",
            "--config",
            best.to_str().unwrap(),
            file.to_str().unwrap(),
            "s3://data/m.bin",
            "--endpoint-url",
            &s.endpoint(),
            "--json",
        ],
    ));
    assert!(put.contains("\"bytes\""), "{put}");
    assert_eq!(
        s.store().get_object("data", "m.bin").unwrap().meta.size,
        6 << 20
    );
}

#[test]
fn tunes_uploads_to_a_bucket_and_leaves_nothing_there() {
    let s = server(NetworkProfile::unlimited());
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("results");
    // Over the part size of some trials, under others' threshold: single PUTs and
    // multipart uploads are both checked (by S3's MD5 ETags here).
    let file = source(home.path(), 12 << 20);
    ok(&run(
        home.path(),
        &creds(),
        &[
            "tune",
            "--upload",
            file.to_str().unwrap(),
            "s3://data/scratch/",
            "--endpoint-url",
            &s.endpoint(),
            "--trials",
            "4",
            "--confirm",
            "1",
            "--study",
            "up",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["target"], "s3://data/scratch/");
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.contains(",completed,") || l.contains(",stopped,")),
        "{csv}"
    );
    assert_eq!(
        left(&s, ""),
        (vec![], 0),
        "the study left something in the bucket"
    );
}

#[test]
fn bad_upload_input_gets_one_line_and_leaves_nothing() {
    let s = server(NetworkProfile::unlimited());
    let ep = s.endpoint();
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("results");
    let out = out.to_str().unwrap();
    let file = source(home.path(), 1 << 20);
    let file = file.to_str().unwrap();
    let missing = home.path().join("nope.bin");
    let empty_dir = home.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let empty = empty_dir.to_str().unwrap();
    for (args, needle) in [
        (
            vec![
                "--upload",
                missing.to_str().unwrap(),
                "s3://data/p/",
                "--endpoint-url",
                &ep,
            ],
            "No such file",
        ),
        // A folder is a dataset's upload (dataset_tune_cli.rs); an empty one is refused.
        (
            vec!["--upload", empty, "s3://data/p/", "--endpoint-url", &ep],
            "holds no files to upload",
        ),
        (
            vec!["--upload", file, "s3://nobucket/p/", "--endpoint-url", &ep],
            "does not take the study's uploads",
        ),
        (
            vec!["--upload", file, "--object-size", "8MiB"],
            "an --upload FILE is its own size",
        ),
        (
            vec!["--upload", "--param", "max_io_queue=1..8"],
            "`max_io_queue` does not change uploads",
        ),
    ] {
        let mut all = vec!["tune", "--out", out, "--trials", "2"];
        all.extend(args);
        one_line_error(&run(home.path(), &creds(), &all), needle);
    }
    assert_eq!(left(&s, ""), (vec![], 0));
    assert!(
        !Path::new(out).join("study.db").exists(),
        "bad input made a store"
    );

    // A destination without room for the synthetic source is refused before any trial.
    let small = home.path().join("small");
    if let Some(_disk) = Tmpfs::mount(&small, "size=4m") {
        one_line_error(
            &run(
                home.path(),
                &[],
                &[
                    "tune",
                    "--upload",
                    "--object-size",
                    "16MiB",
                    "--out",
                    out,
                    "--dest-dir",
                    small.to_str().unwrap(),
                ],
            ),
            "the upload's synthetic source is a 16.0 MiB file there",
        );
    }
}

/// The arguments of an upload study of `file` to `s` that is slow enough to be caught
/// mid-upload (small parts, one or two at a time).
fn slow_study(
    file: &Path,
    s: &DedicatedEmulator,
    study: &str,
    trials: &str,
    out: &Path,
) -> Vec<String> {
    [
        "tune",
        "--upload",
        file.to_str().unwrap(),
        "s3://data/scratch/",
        "--endpoint-url",
        &s.endpoint(),
        "--no-baseline",
        "--param",
        "multipart_threshold=5MiB",
        "--param",
        "multipart_chunksize=5MiB",
        "--param",
        "max_concurrency=1..2",
        "--repeats",
        "1",
        "--confirm",
        "0",
        "--trials",
        trials,
        "--study",
        study,
        "--out",
        out.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Starts [`slow_study`]; returns the child once a multipart upload is under way on the
/// server.
fn mid_upload(
    home: &Path,
    s: &DedicatedEmulator,
    study: &str,
    trials: &str,
) -> std::process::Child {
    let file = source(home, 24 << 20);
    let args = slow_study(&file, s, study, trials, &home.join("results"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = command(home, &creds(), &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while s.store().uploads_in_progress() == 0 {
        assert!(start.elapsed() < Duration::from_secs(60), "no upload began");
        assert!(child.try_wait().unwrap().is_none(), "tune ended early");
        std::thread::yield_now();
    }
    child
}

/// A network on which a 24 MiB upload takes seconds.
fn slow() -> NetworkProfile {
    NetworkProfile {
        connection_bandwidth: Some(Rate(4e6)),
        ..NetworkProfile::unlimited()
    }
}

#[test]
fn ctrl_c_mid_upload_leaves_no_object_and_no_multipart_upload() {
    let s = server(slow());
    let home = tempfile::tempdir().unwrap();
    let mut child = mid_upload(home.path(), &s, "c", "20");
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let mut stderr = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .lines()
        .for_each(|l| stderr.push_str(&(l.unwrap() + "\n")));
    assert_eq!(child.wait().unwrap().code(), Some(130), "{stderr}");
    assert_eq!(left(&s, ""), (vec![], 0), "{stderr}");
}

#[test]
fn a_killed_upload_study_is_swept_when_it_resumes() {
    let s = server(slow());
    let home = tempfile::tempdir().unwrap();
    let mut child = mid_upload(home.path(), &s, "k", "2");
    child.kill().unwrap();
    child.wait().unwrap();
    // SIGKILL gives no chance to clean: the upload is still there...
    assert!(s.store().uploads_in_progress() > 0);
    // ... until the study runs again, which sweeps its scratch prefix first.
    let file = home.path().join("model.bin");
    let args = slow_study(&file, &s, "k", "2", &home.path().join("results"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&run(home.path(), &creds(), &args));
    assert_eq!(left(&s, ""), (vec![], 0));
}

#[test]
fn a_source_that_changes_during_a_study_fails_it_in_one_line_and_leaves_nothing() {
    let s = server(slow());
    let home = tempfile::tempdir().unwrap();
    let mut child = mid_upload(home.path(), &s, "g", "20");
    // The file grows while an upload of it is under way.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(home.path().join("model.bin"))
        .unwrap();
    std::io::Write::write_all(&mut f, b"more").unwrap();
    drop(f);
    let mut stderr = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .lines()
        .for_each(|l| stderr.push_str(&(l.unwrap() + "\n")));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.contains("changed during the"), "{stderr}");
    assert_eq!(left(&s, ""), (vec![], 0), "{stderr}");
}

#[test]
fn a_worker_runs_an_upload_study_and_a_resumed_one_keeps_its_kind() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("up.db");
    let storage = format!("sqlite:{}", db.display());
    let dest = home.path().join("scratch");
    std::fs::create_dir(&dest).unwrap();
    let dest = dest.to_str().unwrap();
    ok(&run(
        home.path(),
        &[],
        &[
            "study",
            "create",
            "--upload",
            "--network",
            "unlimited",
            "--object-size",
            "8MiB",
            "--trials",
            "3",
            "--study",
            "w",
            "--storage",
            &storage,
        ],
    ));
    let out = home.path().join("results");
    ok(&run(
        home.path(),
        &[],
        &[
            "worker",
            "--storage",
            &storage,
            "--study",
            "w",
            "--dest-dir",
            dest,
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    let store = s3tune_hpo::SqliteStore::open(&db).unwrap();
    let study = s3tune_hpo::Store::study(&store, "w").unwrap().unwrap();
    let trials = s3tune_hpo::Store::trials(&store, &study).unwrap();
    assert_eq!(trials.len(), 3);
    assert!(
        trials.iter().all(|t| t.trial.value().is_some()),
        "{trials:?}"
    );
    assert_eq!(
        std::fs::read_dir(dest).unwrap().count(),
        0,
        "the synthetic source stayed"
    );
    // Resumed as a download, it says what it is.
    one_line_error(
        &run(
            home.path(),
            &[],
            &[
                "tune",
                "--study",
                "w",
                "--storage",
                &storage,
                "--network",
                "unlimited",
                "--trials",
                "4",
            ],
        ),
        "study `w` tunes uploads; add --upload to resume it",
    );
}

#[test]
fn a_users_file_is_tuned_on_the_emulator_checked_by_its_md5s() {
    let home = tempfile::tempdir().unwrap();
    let file = source(home.path(), 9 << 20);
    let out = home.path().join("results");
    let stdout = ok(&run(
        home.path(),
        &[],
        &[
            "tune",
            "--upload",
            file.to_str().unwrap(),
            "--network",
            "unlimited",
            "--trials",
            "3",
            "--confirm",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    assert!(stdout.contains("(9.0 MiB)"), "{stdout}");
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["workload"], "upload");
    assert_eq!(summary["trials"], 3);
}
