//! Endpoints that accept a connection and then say nothing, or stop half-way through a
//! body: every request ends in bounded time with the cause named, and leaves nothing.

use std::time::{Duration, Instant};

use super::peers::{BlackHole, Scripted, range_of};
use super::{creds, names, one_line, run};

#[test]
fn a_silent_endpoint_fails_get_and_put_within_the_read_timeout_and_one_retry() {
    let hole = BlackHole::start();
    let home = tempfile::tempdir().unwrap();
    let dl = home.path().join("dl");
    std::fs::create_dir(&dl).unwrap();
    let small = home.path().join("small.bin");
    std::fs::write(&small, vec![1u8; 1 << 20]).unwrap();
    let big = home.path().join("big.bin");
    std::fs::write(&big, vec![2u8; 12 << 20]).unwrap();
    let ep = hole.url();
    for (args, operation) in [
        (vec!["get", "s3://b/k", dl.to_str().unwrap()], "GetObject"),
        (
            vec!["put", small.to_str().unwrap(), "s3://b/k"],
            "PutObject",
        ),
        (
            vec!["put", big.to_str().unwrap(), "s3://b/k"],
            "CreateMultipartUpload",
        ),
    ] {
        let mut args = args;
        args.extend(["--endpoint-url", &ep, "--read-timeout", "1s"]);
        let t0 = Instant::now();
        let out = run(home.path(), &creds(), &args);
        let took = t0.elapsed();
        let line = one_line(
            &out,
            1,
            &format!("{operation}: {ep} did not answer within 1s (the read timeout)"),
        );
        assert!(line.contains("--read-timeout"), "{line}");
        // Two silent attempts at an endpoint that never answered, and the back-off
        // between them: seconds, not minutes.
        assert!(took < Duration::from_secs(8), "{args:?} took {took:?}");
    }
    assert!(names(&dl).is_empty());
}

/// A ranged GET's answer of a 16 MiB object: the headers of the range asked for, then 1000
/// bytes of it, then silence.
fn stall_after_1000_bytes(request: &str) -> (String, Vec<u8>) {
    let (a, b) = range_of(request).unwrap_or((0, (16 << 20) - 1));
    let head = format!(
        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {a}-{b}/{}\r\nContent-Length: {}\r\nETag: \"0123456789abcdef0123456789abcdef\"\r\nContent-Type: application/octet-stream",
        16 << 20,
        b - a + 1
    );
    (head, vec![7u8; 1000])
}

#[test]
fn a_body_that_stalls_mid_way_is_fetched_again_then_reported() {
    let server = Scripted::start(stall_after_1000_bytes);
    let home = tempfile::tempdir().unwrap();
    let dl = home.path().join("dl");
    std::fs::create_dir(&dl).unwrap();
    let t0 = Instant::now();
    let out = run(
        home.path(),
        &creds(),
        &[
            "get",
            "s3://b/k",
            dl.to_str().unwrap(),
            "--endpoint-url",
            &server.url(),
            "--read-timeout",
            "1s",
            "--num-download-attempts",
            "2",
            "--max-concurrency",
            "1",
        ],
    );
    let line = one_line(&out, 1, "failed 2 times (num_download_attempts)");
    assert!(
        line.contains("no byte came for 1s (read_timeout)"),
        "{line}"
    );
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    // The first part was asked for again from where it broke off (discovery, then the
    // refetch of its missing bytes).
    assert!(server.requests.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    assert!(names(&dl).is_empty(), "{:?}", names(&dl));
}
