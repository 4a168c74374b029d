//! Tuning other clients than s3tune's engine (`--client`, `compare`): bad input is one
//! line that says what to do, and a client that crashes or writes the wrong bytes fails
//! its trial with that reason while the study goes on. (The clients' own tuning and
//! their exports are tested with the real clients in tests/python/test_clients.py.)

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{one_line_error, run};

/// A folder holding only an executable `name` with the shell script `body`.
fn bin_with(dir: &Path, name: &str, body: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn an_unknown_client_is_refused_naming_the_known_ones() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["tune", "--client", "curl"][..],
        &["compare", "--clients", "awscli,curl"],
    ] {
        let out = run(home.path(), &[], args);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        one_line_error(
            &out,
            "[possible values: s3tune, boto3, awscli, crt, rclone]",
        );
    }
}

#[test]
fn a_missing_client_says_how_to_install_it_and_makes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let empty = home.path().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out_dir = home.path().join("out");
    let path = empty.to_str().unwrap();
    let out_flag = out_dir.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["tune", "--client", "rclone", "--out", out_flag],
            "rclone is not installed (no `rclone` on PATH): install it with `apt-get install rclone`",
        ),
        (
            &["tune", "--client", "awscli", "--upload", "--out", out_flag],
            "the AWS CLI is not installed (no `aws` on PATH): install it with",
        ),
        (
            &["compare", "--clients", "rclone", "--out", out_flag],
            "rclone is not installed",
        ),
        (
            &[
                "tune",
                "--dataset",
                "small",
                "--client",
                "rclone",
                "--out",
                out_flag,
            ],
            "rclone is not installed",
        ),
    ];
    for (args, needle) in cases {
        let out = run(home.path(), &[("PATH", path)], args);
        one_line_error(&out, needle);
        assert_eq!(out.status.code(), Some(1));
        assert!(!out_dir.exists(), "{args:?} made {}", out_dir.display());
    }
    // A Python without awscrt (or boto3) is named, with the pip line for it.
    let python = bin_with(&home.path().join("bin"), "python3", "exit 1");
    let python = python.to_str().unwrap();
    for (client, package) in [("crt", "awscrt"), ("boto3", "boto3")] {
        let out = run(
            home.path(),
            &[],
            &[
                "tune", "--client", client, "--python", python, "--out", out_flag,
            ],
        );
        one_line_error(
            &out,
            &format!(
                "is not importable by `{python}`: install it with `{python} -m pip install {package}`"
            ),
        );
    }
    // Compare with no client named leaves the missing ones out, and with none
    // installed says so in one line.
    let out = run(
        home.path(),
        &[("PATH", path)],
        &[
            "compare",
            "--clients",
            "crt",
            "--python",
            python,
            "--out",
            out_flag,
        ],
    );
    one_line_error(&out, "the AWS CRT is not importable");
    assert!(!out_dir.exists());
}

#[test]
fn a_knob_the_client_lacks_is_named_with_the_clients_knobs() {
    let home = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "tune",
                "--client",
                "awscli",
                "--param",
                "max_concurrency=1..8",
            ],
            "the AWS CLI has no knob `max_concurrency`; its knobs are max_concurrent_requests, max_queue_size, multipart_threshold, multipart_chunksize",
        ),
        (
            &[
                "tune",
                "--client",
                "crt",
                "--param",
                "multipart_chunksize=8MiB",
            ],
            "the AWS CRT has no knob `multipart_chunksize`; its knobs are throughput_target_gbps, part_size",
        ),
        (
            &[
                "tune",
                "--client",
                "rclone",
                "--param",
                "s3_chunk_size=5MiB..64MiB",
            ],
            "`s3_chunk_size` does not change downloads (rclone reads it only for uploads)",
        ),
        (
            &["tune", "--client", "rclone", "--param", "transfers=1..8"],
            "`transfers` changes only transfers of many objects",
        ),
    ];
    for (args, needle) in cases {
        let out = run(home.path(), &[], args);
        one_line_error(&out, needle);
    }
}

/// The real rclone, which the next test wraps; `None` (the test skipped) where it is
/// not installed, which CI never is (`scripts/test` installs it).
fn real_rclone() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|d| d.join("rclone"))
        .find(|p| p.is_file());
    if found.is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI installs rclone (scripts/test)"
        );
        eprintln!("skipped: rclone is not installed");
    }
    found
}

#[test]
fn a_client_that_crashes_hangs_or_writes_wrong_bytes_loses_its_trial_and_the_study_goes_on() {
    let Some(rclone) = real_rclone() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let count = home.path().join("count");
    // Copies 1-4 are AzCopy's climb; 5, the first trial (rclone's defaults) and 8 are
    // the real rclone's; the 6th crashes, the 7th flips a byte of the copy it made, the
    // 9th hangs.
    let fake = bin_with(
        &home.path().join("bin"),
        "rclone",
        &format!(
            r#"case "$1" in copyto) ;; *) exec {rclone} "$@" ;; esac
n=$(( $(cat {count} 2>/dev/null || echo 0) + 1 )); echo $n > {count}
case $n in
  6) echo "panic: runtime error: invalid memory address" >&2; kill -SEGV $$ ;;
  7) {rclone} "$@" || exit $?; printf X | dd of="$3" bs=1 seek=100000 conv=notrunc 2>/dev/null ;;
  9) exec sleep 600 ;;
  *) exec {rclone} "$@" ;;
esac"#,
            rclone = rclone.display(),
            count = count.display()
        ),
    );
    let path = format!(
        "{}:{}",
        fake.parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    let out_dir = home.path().join("out");
    let out = run(
        home.path(),
        &[("PATH", &path)],
        &[
            "tune",
            "--client",
            "rclone",
            "--object-size",
            "8MiB",
            "--trials",
            "5",
            "--repeats",
            "1",
            "--confirm",
            "0",
            "--study",
            "crashy",
            "--out",
            out_dir.to_str().unwrap(),
            "--dest-dir",
            home.path().to_str().unwrap(),
        ],
    );
    let stdout = common::ok(&out);
    assert!(stdout.contains("measured with rclone"), "{stdout}");
    let csv = std::fs::read_to_string(out_dir.join("trials.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 5, "{csv}");
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert!(
        header.contains(&"multi_thread_streams"),
        "rclone's knobs have their columns: {csv}"
    );
    assert!(rows[0].starts_with("1,completed,"), "{csv}");
    assert!(
        rows[1].starts_with("2,failed,") && rows[1].contains("rclone was killed by signal 11"),
        "{csv}"
    );
    assert!(
        rows[1].contains("invalid memory address"),
        "the reason quotes its stderr: {csv}"
    );
    assert!(
        rows[2].starts_with("3,failed,")
            && rows[2].contains("byte 100000 of the download is wrong"),
        "{csv}"
    );
    assert!(rows[3].starts_with("4,completed,"), "{csv}");
    // The hung run was cut at the study's cut-off, and what it had used by then is kept.
    assert!(rows[4].starts_with("5,stopped,"), "{csv}");
    let memory = header.iter().position(|h| *h == "memory_bytes").unwrap();
    let used = rows[4].split(',').nth(memory).unwrap();
    assert!(
        used.parse::<u64>().is_ok_and(|m| m > 0),
        "a cut run's memory is measured: {csv}"
    );
    // Nothing of the runs is left in the destination.
    let left: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".s3tune"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
