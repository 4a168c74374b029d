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
        args.extend([
            "--endpoint-url",
            &ep,
            "--read-timeout",
            "1s",
            "--connect-timeout",
            "1s",
        ]);
        let t0 = Instant::now();
        let out = run(home.path(), &creds(), &args);
        let took = t0.elapsed();
        let line = one_line(
            &out,
            1,
            &format!("{operation}: {ep} did not answer within 1s (the read timeout)"),
        );
        assert!(line.contains("--read-timeout"), "{line}");
        // Two silent attempts (each also allowing the connection its second) at an
        // endpoint that never answered, and the back-off between them: seconds, not
        // minutes.
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

#[test]
fn an_endpoint_that_never_completes_a_connection_is_named_by_the_connect_timeout() {
    // A listener that never accepts, its queue full: further connections are never made.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    while let Ok(c) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
        queued.push(c);
        assert!(queued.len() < 10_000, "the accept queue never filled");
    }
    let home = tempfile::tempdir().unwrap();
    let ep = format!("http://{addr}");
    let t0 = Instant::now();
    let out = run(
        home.path(),
        &creds(),
        &[
            "get",
            "s3://b/k",
            home.path().to_str().unwrap(),
            "--endpoint-url",
            &ep,
            "--connect-timeout",
            "1s",
        ],
    );
    let line = one_line(
        &out,
        1,
        &format!("no connection to {ep} within the connect timeout"),
    );
    assert!(line.contains("--connect-timeout"), "{line}");
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
    drop(listener);
}
