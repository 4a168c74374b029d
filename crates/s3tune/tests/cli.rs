//! The `s3tune` binary as a user runs it: bad input gets one clear line and a non-zero
//! exit; good input serves and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn s3tune() -> Command {
    Command::new(env!("CARGO_BIN_EXE_s3tune"))
}

/// Runs `s3tune serve ARGS` expecting failure; returns its stderr.
fn serve_fails(args: &[&str]) -> String {
    let out = s3tune()
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run s3tune");
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    String::from_utf8(out.stderr).unwrap()
}

fn assert_one_line(stderr: &str, needle: &str) {
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got:\n{stderr}");
    assert!(lines[0].contains(needle), "`{needle}` not in: {}", lines[0]);
}

#[test]
fn unknown_profile() {
    assert_one_line(
        &serve_fails(&["--network", "warp-speed"]),
        "unknown network profile `warp-speed`",
    );
}

#[test]
fn malformed_profile_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.toml");
    std::fs::write(&path, "link_bandwidth = [[[").unwrap();
    assert_one_line(
        &serve_fails(&["--network", path.to_str().unwrap()]),
        "net.toml",
    );
    std::fs::write(&path, "base = \"s3-like\"\nlink_bandwith = \"1MB/s\"").unwrap();
    assert_one_line(
        &serve_fails(&["--network", path.to_str().unwrap()]),
        "link_bandwith",
    );
    assert_one_line(
        &serve_fails(&["--network", "/no/such/profile.toml"]),
        "/no/such/profile.toml",
    );
}

#[test]
fn field_out_of_range() {
    assert_one_line(
        &serve_fails(&["--reset-probability", "2"]),
        "reset_probability",
    );
    assert_one_line(
        &serve_fails(&["--link-bandwidth", "10B/s"]),
        "link_bandwidth",
    );
    assert_one_line(
        &serve_fails(&["--link-bandwidth", "lots"]),
        "--link-bandwidth",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.toml");
    std::fs::write(&path, "first_byte_jitter = 9.0").unwrap();
    assert_one_line(
        &serve_fails(&["--network", path.to_str().unwrap()]),
        "first_byte_jitter",
    );
}

#[test]
fn port_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = s3tune()
        .args(["serve", "--listen", &addr])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_one_line(
        &String::from_utf8(out.stderr).unwrap(),
        &format!("cannot listen on {addr}"),
    );
}

#[test]
fn unwritable_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let target = file.join("data");
    assert_one_line(
        &serve_fails(&["--data-dir", target.to_str().unwrap()]),
        "data dir",
    );
}

#[test]
fn malformed_object() {
    for bad in ["data/key", "data/key=huge", "nokey=1MiB", "Bad_Bucket/k=1"] {
        assert_one_line(
            &serve_fails(&["--object", bad]),
            &format!("bad --object `{bad}`"),
        );
    }
}

/// Starts `s3tune serve ARGS`, reads its ready line, runs `check` on it while the server
/// runs, then sends SIGTERM; returns the ready line and the finished process's output.
fn serve_then_sigterm(args: &[&str], check: impl FnOnce(&str)) -> (String, std::process::Output) {
    let mut child = s3tune()
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    check(&line);
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    (line, child.wait_with_output().unwrap())
}

#[test]
fn serves_then_stops_on_sigterm() {
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--json",
        "--object",
        "data/x.bin=1MiB",
    ];
    let (_, out) = serve_then_sigterm(&args, |line| {
        let ready: serde_json::Value =
            serde_json::from_str(line).expect("one JSON line when ready");
        for field in ["endpoint", "region", "access_key", "secret_key"] {
            assert!(ready[field].is_string(), "{field} in {line}");
        }
        let endpoint = ready["endpoint"].as_str().unwrap();
        let addr = endpoint.strip_prefix("http://").unwrap();
        assert!(addr.starts_with("127.0.0.1:"), "{endpoint}");
        std::net::TcpStream::connect(addr).expect("server accepts connections");
    });
    assert!(
        out.status.success(),
        "clean exit on SIGTERM: {:?}",
        out.status
    );
}

#[test]
fn warns_loudly_on_a_non_loopback_address() {
    let (line, out) = serve_then_sigterm(&["--listen", "0.0.0.0:0", "--json"], |_| {});
    assert!(line.contains("endpoint"), "{line}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("WARNING") && stderr.contains("not a loopback address"),
        "{stderr}"
    );
}
