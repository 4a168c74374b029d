//! `s3tune get` / `s3tune put` as a user runs them, against an in-process emulator.

use std::process::Output;
use std::time::{Duration, Instant};

use s3tune_emulator::{DedicatedEmulator, Emulator, EmulatorConfig, synthetic};

mod common;
use common::{ACCESS, SECRET, creds, interrupt, one_line_error, run};

fn server() -> DedicatedEmulator {
    Emulator::start_dedicated(
        EmulatorConfig {
            access_key: ACCESS.into(),
            secret_key: SECRET.into(),
            objects: vec![
                "data/big.bin=20000003".parse().unwrap(),
                "data/small.txt=100".parse().unwrap(),
            ],
            ..EmulatorConfig::default()
        },
        1,
    )
    .unwrap()
}

#[test]
fn get_and_put_round_trip() {
    let s = server();
    let home = tempfile::tempdir().unwrap();
    let ep = s.endpoint();
    let dir = home.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    // Into a directory, with the knobs as flags and --json.
    let out = run(
        home.path(),
        &creds(),
        &[
            "get",
            "s3://data/big.bin",
            dir.to_str().unwrap(),
            "--endpoint-url",
            &ep,
            "--max-concurrency",
            "4",
            "--multipart-chunksize",
            "5MiB",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["stats"]["bytes"], 20_000_003);
    assert_eq!(report["stats"]["parts"], 4);
    assert_eq!(report["config"]["max_concurrency"], 4);
    let data = std::fs::read(dir.join("big.bin")).unwrap();
    assert_eq!(synthetic::verify("big.bin", 0, &data), None);
    // To standard output, in order.
    let out = run(
        home.path(),
        &creds(),
        &["get", "s3://data/big.bin", "-", "--endpoint-url", &ep],
    );
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), 20_000_003);
    assert_eq!(synthetic::verify("big.bin", 0, &out.stdout), None);
    // Up again under a key ending in / (the file's name is appended), from a config file.
    let config = home.path().join("t.toml");
    std::fs::write(
        &config,
        "max_concurrency = 3\nmultipart_chunksize = \"6MiB\"\n",
    )
    .unwrap();
    let src = dir.join("big.bin");
    let out = run(
        home.path(),
        &creds(),
        &[
            "put",
            src.to_str().unwrap(),
            "s3://data/copies/",
            "--endpoint-url",
            &ep,
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("uploaded"));
    let back = home.path().join("back.bin");
    let out = run(
        home.path(),
        &creds(),
        &[
            "get",
            "s3://data/copies/big.bin",
            back.to_str().unwrap(),
            "--endpoint-url",
            &ep,
        ],
    );
    assert!(out.status.success());
    assert!(std::fs::read(&back).unwrap() == data);
}

#[test]
fn bad_input_gets_one_clear_line() {
    let s = server();
    let home = tempfile::tempdir().unwrap();
    let ep = s.endpoint();
    let dest = home.path().to_str().unwrap().to_owned();
    let c = creds();
    let get = |dest: &str, extra: &[&str]| -> Output {
        let mut args = vec!["get", "s3://data/big.bin", dest, "--endpoint-url", &ep];
        args.extend_from_slice(extra);
        run(home.path(), &c, &args)
    };
    for (source, needle) in [
        ("data/big.bin", "not an S3 URL"),
        ("s3://data/", "names no object"),
        ("s3://nobucket/k", "bucket `nobucket` does not exist"),
        ("s3://data/nokey", "s3://data/nokey does not exist"),
    ] {
        let out = run(
            home.path(),
            &c,
            &["get", source, &dest, "--endpoint-url", &ep],
        );
        one_line_error(&out, needle);
    }
    one_line_error(
        &run(
            home.path(),
            &[],
            &["get", "s3://data/big.bin", &dest, "--endpoint-url", &ep],
        ),
        "no AWS credentials",
    );
    one_line_error(&get("/no/such/dir/x", &[]), "does not exist");
    one_line_error(
        &get("/proc/s3tune-cannot-write-here", &[]),
        "/proc/s3tune-cannot-write-here",
    );
    one_line_error(
        &get(&dest, &["--multipart-chunksize", "1MiB"]),
        "S3 parts are 5 MiB to 5 GiB",
    );
    one_line_error(
        &get(&dest, &["--max-concurrency", "0"]),
        "--max-concurrency 0: must be 1 to 1024",
    );
    one_line_error(
        &run(
            home.path(),
            &c,
            &["put", "/no/such/file", "s3://data/k", "--endpoint-url", &ep],
        ),
        "/no/such/file",
    );
    // An unreachable endpoint fails within the retry policy, not after minutes.
    let t0 = Instant::now();
    one_line_error(
        &run(
            home.path(),
            &c,
            &[
                "get",
                "s3://data/big.bin",
                &dest,
                "--endpoint-url",
                "http://127.0.0.1:1",
            ],
        ),
        "http://127.0.0.1:1 refused the connection",
    );
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    // Nothing was left behind by any of it.
    let left: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn credentials_never_appear_in_output_or_logs() {
    let s = server();
    let home = tempfile::tempdir().unwrap();
    let ep = s.endpoint();
    let dest = home.path().join("x.bin");
    for args in [
        vec![
            "get",
            "s3://data/big.bin",
            dest.to_str().unwrap(),
            "--endpoint-url",
            &ep,
            "-vvv",
            "--json",
        ],
        vec![
            "put",
            dest.to_str().unwrap(),
            "s3://data/y.bin",
            "--endpoint-url",
            &ep,
            "-vvv",
        ],
        vec![
            "get",
            "s3://data/missing",
            dest.to_str().unwrap(),
            "--endpoint-url",
            &ep,
            "-vvv",
        ],
    ] {
        let out = run(home.path(), &creds(), &args);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains(SECRET),
            "secret key in the output of {args:?}"
        );
        assert!(
            !all.contains(ACCESS),
            "access key in the output of {args:?}"
        );
        assert!(all.contains("DEBUG"), "-vvv logs: {all}");
    }
}

#[test]
fn ctrl_c_leaves_nothing_behind() {
    let s = Emulator::start_dedicated(
        EmulatorConfig {
            access_key: ACCESS.into(),
            secret_key: SECRET.into(),
            network: s3tune_emulator::NetworkProfile {
                connection_bandwidth: Some(s3tune_emulator::Rate(4e6)),
                ..s3tune_emulator::NetworkProfile::unlimited()
            },
            objects: vec!["data/slow.bin=200MiB".parse().unwrap()],
            ..EmulatorConfig::default()
        },
        1,
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let ep = s.endpoint();
    let dir = home.path().join("dl");
    std::fs::create_dir(&dir).unwrap();
    // A download: interrupted once its temporary file exists.
    let out = interrupt(
        home.path(),
        &[
            "get",
            "s3://data/slow.bin",
            dir.to_str().unwrap(),
            "--endpoint-url",
            &ep,
        ],
        || std::fs::read_dir(&dir).unwrap().next().is_some(),
    );
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was left behind"));
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "the temporary file is gone"
    );
    // An upload: interrupted once its multipart upload exists; it is aborted.
    let src = home.path().join("src.bin");
    std::fs::write(&src, vec![7u8; 40 << 20]).unwrap();
    let store = s.store().clone();
    let out = interrupt(
        home.path(),
        &[
            "put",
            src.to_str().unwrap(),
            "s3://data/up.bin",
            "--endpoint-url",
            &ep,
        ],
        || store.uploads_in_progress() > 0,
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
        "the multipart upload was aborted"
    );
}

#[test]
fn ctrl_c_while_the_upload_is_being_created_aborts_it() {
    // Every answer comes 300 ms late: the upload exists on the server before its id
    // reaches s3tune, which is interrupted in between.
    let s = Emulator::start_dedicated(
        EmulatorConfig {
            access_key: ACCESS.into(),
            secret_key: SECRET.into(),
            network: s3tune_emulator::NetworkProfile {
                first_byte_latency: Duration::from_millis(300),
                ..s3tune_emulator::NetworkProfile::unlimited()
            },
            ..EmulatorConfig::default()
        },
        1,
    )
    .unwrap();
    s.store().create_bucket("data").unwrap();
    let home = tempfile::tempdir().unwrap();
    let src = home.path().join("src.bin");
    std::fs::write(&src, vec![7u8; 40 << 20]).unwrap();
    let store = s.store().clone();
    let ep = s.endpoint();
    let out = interrupt(
        home.path(),
        &[
            "put",
            src.to_str().unwrap(),
            "s3://data/up.bin",
            "--endpoint-url",
            &ep,
        ],
        || store.uploads_in_progress() > 0,
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
        "the upload created as the interruption came was aborted"
    );
}
