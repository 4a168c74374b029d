//! One true line per failure: each cause named (S3's code and message, or what stopped
//! the connection and where), no Rust debug text, and nothing before it without `-v`;
//! files name their line, column and field.

use std::path::Path;

use s3tune_emulator::NetworkProfile;

use super::peers::Scripted;
use super::{ACCESS, SECRET, argv, creds, emulator, names, ok, one_line, run};

/// An answer whose Content-Range is not the range asked for.
fn wrong_range(_request: &str) -> (String, Vec<u8>) {
    (
        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-9/100\r\nContent-Length: 5\r\nETag: \"e\"".to_owned(),
        b"hello".to_vec(),
    )
}

#[test]
fn every_cause_of_a_failed_request_gets_one_line_that_names_it() {
    let s = emulator(&["data/obj.bin=1MiB"], NetworkProfile::unlimited());
    let failing = emulator(
        &["data/obj.bin=1MiB"],
        NetworkProfile {
            internal_error_probability: 1.0,
            ..NetworkProfile::unlimited()
        },
    );
    let odd = Scripted::start(wrong_range);
    let home = tempfile::tempdir().unwrap();
    let dl = home.path().join("dl");
    std::fs::create_dir(&dl).unwrap();
    let d = dl.to_str().unwrap();
    let ep = s.endpoint();
    let tls_ep = ep.replace("http://", "https://");
    let dns_ep = format!("http://{}.invalid:9", "a".repeat(70));
    let long_key = format!("s3://data/{}k", "d/".repeat(550));
    let (failing_ep, odd_ep) = (failing.endpoint(), odd.url());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["s3://Bad_Bucket/k", "--endpoint-url", &ep],
            "S3 answered 400 InvalidBucketName",
        ),
        (
            vec![&long_key, "--endpoint-url", &ep],
            "S3 answered 400 KeyTooLongError",
        ),
        (
            vec![
                "s3://data/obj.bin",
                "--endpoint-url",
                &ep,
                "--region",
                "eu west",
            ],
            "InvalidRequest",
        ),
        (
            vec!["s3://data/obj.bin", "--endpoint-url", &failing_ep],
            "S3 answered 500 InternalError",
        ),
        (
            vec!["s3://data/obj.bin", "--endpoint-url", &tls_ep],
            "TLS with https://127.0.0.1",
        ),
        (
            vec!["s3://data/obj.bin", "--endpoint-url", &dns_ep],
            "cannot resolve the host of http://aaaa",
        ),
        (
            vec!["s3://data/obj.bin", "--endpoint-url", "http://127.0.0.1:1"],
            "http://127.0.0.1:1 refused the connection",
        ),
        (
            vec!["s3://b/k", "--endpoint-url", &odd_ep],
            "Content-Range is `bytes 5-9/100`",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["get"];
        all.extend(&args[..1]);
        all.push(d);
        all.extend(&args[1..]);
        let line = one_line(&run(home.path(), &creds(), &all), 1, needle);
        assert!(line.len() < 400, "a readable line: {line}");
    }
    assert!(names(&dl).is_empty());
}

#[test]
fn credentials_say_what_is_missing_and_the_sdk_s_search_shows_only_with_v() {
    let s = emulator(&["data/obj.bin=1000"], NetworkProfile::unlimited());
    let home = tempfile::tempdir().unwrap();
    let ep = s.endpoint();
    let dest = home.path().join("x");
    let args = [
        "get",
        "s3://data/obj.bin",
        dest.to_str().unwrap(),
        "--endpoint-url",
        &ep,
    ];
    // No keys; the instance-metadata service asked on loopback, where nothing listens.
    let imds = [
        ("AWS_EC2_METADATA_DISABLED", "false"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1"),
    ];
    one_line(
        &run(home.path(), &imds, &args),
        1,
        "no AWS credentials found",
    );
    let mut verbose = args.to_vec();
    verbose.push("-vv");
    let out = run(home.path(), &imds, &verbose);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("did not provide credentials"),
        "-vv shows where it looked: {stderr}"
    );

    // --profile wins over the environment, as with the AWS CLI: a wrong key in the
    // environment does not matter, and a profile that is not there is refused.
    let aws = home.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!("[tuner]\naws_access_key_id = {ACCESS}\naws_secret_access_key = {SECRET}\n"),
    )
    .unwrap();
    let wrong = [
        ("AWS_ACCESS_KEY_ID", "AKIAWRONG"),
        ("AWS_SECRET_ACCESS_KEY", "wrong"),
    ];
    let mut with_profile = args.to_vec();
    with_profile.extend(["--profile", "tuner"]);
    ok(&run(home.path(), &wrong, &with_profile));
    let mut unknown = args.to_vec();
    unknown.extend(["--profile", "nosuchprofile"]);
    let line = one_line(
        &run(home.path(), &creds(), &unknown),
        1,
        "--profile nosuchprofile: no such profile",
    );
    assert!(line.contains("they have tuner"), "{line}");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

#[test]
fn config_space_and_profile_files_name_their_line_column_and_field() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let s = emulator(&["data/obj.bin=1000"], NetworkProfile::unlimited());
    let get_with = |config: &str| {
        run(
            h,
            &creds(),
            &[
                "get",
                "s3://data/obj.bin",
                h.to_str().unwrap(),
                "--endpoint-url",
                &s.endpoint(),
                "--config",
                config,
            ],
        )
    };
    let c = write(
        h,
        "bad.toml",
        "max_concurrency = 4\nmultipart_chunksize = -5\n",
    );
    one_line(
        &get_with(&c),
        1,
        &format!("--config {c}: line 2, column 23: multipart_chunksize: -5 is negative"),
    );
    let c = write(h, "range.toml", "# tuned\n\nmax_io_queue = 0\n");
    one_line(
        &get_with(&c),
        1,
        &format!("--config {c}: line 3, column 1: max_io_queue: 0 is out of range"),
    );
    let c = write(h, "syntax.toml", "max_concurrency = [\n");
    one_line(&get_with(&c), 1, &format!("--config {c}: line 1, column"));
    let c = write(h, "bad.json", "{\n  \"max_concurrency\": \"many\"\n}\n");
    one_line(&get_with(&c), 1, &format!("--config {c}: line 2, column"));
    let c = write(h, "time.toml", "read_timeout = \"soon\"\n");
    one_line(&get_with(&c), 1, "read_timeout: `soon` is not a duration");

    let space = write(
        h,
        "space.toml",
        "max_concurrency = { int = [1, 64] }\n\nmax_io_queue = { int = [9, 2] }\n",
    );
    let out = run(
        h,
        &[],
        &["tune", "--space", &space, "--network", "unlimited"],
    );
    one_line(
        &out,
        1,
        &format!("--space {space}: line 3, column 1: parameter `max_io_queue`"),
    );
    let space = write(h, "space.json", "{\n  \"x\": {\"range\": 3}\n}\n");
    let out = run(
        h,
        &[],
        &argv("tune --command true --metric m --space", &[&space]),
    );
    one_line(
        &out,
        1,
        &format!("--space {space}: line 2, column 3: parameter `x`"),
    );

    let profile = write(
        h,
        "net.toml",
        "base = \"s3-like\"\nlink_bandwidth = \"fast\"\n",
    );
    let out = run(
        h,
        &[],
        &["serve", "--network", &profile, "--listen", "127.0.0.1:0"],
    );
    one_line(
        &out,
        1,
        &format!("--network {profile}: line 2, column 1: link_bandwidth:"),
    );
    let profile = write(
        h,
        "late.toml",
        "seed = 3
first_byte_latency = \"soon\"\n",
    );
    let out = run(
        h,
        &[],
        &["serve", "--network", &profile, "--listen", "127.0.0.1:0"],
    );
    let line = one_line(
        &out,
        1,
        "line 2, column 1: first_byte_latency: `soon` is not a duration",
    );
    assert!(!line.contains("expected"), "{line}");

    // Less common shapes: a parameter as a [table], one-line JSON, a knob a download
    // space cannot have.
    let space = write(h, "table.toml", "[x]\nint = [9, 2]\n");
    let out = run(
        h,
        &[],
        &argv("tune --command true --metric m --space", &[&space]),
    );
    one_line(
        &out,
        1,
        &format!("--space {space}: line 1, column 1: parameter `x`"),
    );
    let c = write(
        h,
        "one.json",
        "{\"max_io_queue\": 1, \"max_concurrency\": 0}",
    );
    one_line(
        &get_with(&c),
        1,
        &format!("--config {c}: line 1, column 21: max_concurrency: 0 is out of range"),
    );
    let space = write(
        h,
        "knob.toml",
        "max_concurrency = { int = [1, 8] }\nbogus_knob = { int = [1, 2] }\n",
    );
    let out = run(h, &[], &["tune", "--space", &space]);
    one_line(
        &out,
        1,
        &format!("--space {space}: line 2, column 1: s3tune's engine has no knob `bogus_knob`"),
    );
}

#[test]
fn small_mistakes_get_words_not_parser_noise() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    one_line(
        &run(h, &[], &["tune", "--budget", "forever"]),
        1,
        "--budget `forever` is not a duration: write e.g. 90s",
    );
    one_line(
        &run(h, &[], &["tune", "--trials", "-1"]),
        2,
        "`-1` is not a whole number",
    );
    one_line(
        &run(
            h,
            &creds(),
            &["get", "s3://b/k", "x", "--max-concurrency", "-1"],
        ),
        2,
        "`-1` is not a whole number",
    );
    std::fs::write(h.join("afile"), b"").unwrap();
    let s = emulator(&["data/obj.bin=1000"], NetworkProfile::unlimited());
    let dest = h.join("afile").join("x.bin");
    one_line(
        &run(
            h,
            &creds(),
            &[
                "get",
                "s3://data/obj.bin",
                dest.to_str().unwrap(),
                "--endpoint-url",
                &s.endpoint(),
            ],
        ),
        1,
        "afile is not a directory",
    );
    // A port in use is said once.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let line = one_line(
        &run(h, &[], &["serve", "--listen", &addr]),
        1,
        "Address already in use",
    );
    assert_eq!(line.matches("Address already in use").count(), 1, "{line}");
}

/// `s3tune serve ARGS --json` until its ready line; returns the line's endpoint.
fn serve_endpoint(listen: &str) -> String {
    use std::io::BufRead;
    let home = tempfile::tempdir().unwrap();
    let mut child = super::spawn(home.path(), &[], &["serve", "--listen", listen, "--json"]);
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    v["endpoint"].as_str().unwrap().to_owned()
}

#[test]
fn serve_takes_host_names_and_prints_an_endpoint_clients_can_reach() {
    assert!(serve_endpoint("localhost:0").starts_with("http://127.0.0.1:"));
    let any = serve_endpoint("0.0.0.0:0");
    assert!(any.starts_with("http://127.0.0.1:"), "{any}");
    let home = tempfile::tempdir().unwrap();
    one_line(
        &run(home.path(), &[], &["serve", "--listen", "localhost"]),
        1,
        "write HOST:PORT",
    );
}

#[test]
fn a_file_that_shrinks_during_its_upload_fails_saying_so_and_leaves_nothing() {
    let slow = NetworkProfile {
        connection_bandwidth: Some(s3tune_emulator::Rate(4e6)),
        ..NetworkProfile::unlimited()
    };
    let s = emulator(&["data/seed=1"], slow);
    let home = tempfile::tempdir().unwrap();
    let src = home.path().join("model.bin");
    std::fs::write(&src, vec![3u8; 40 << 20]).unwrap();
    let child = super::spawn(
        home.path(),
        &creds(),
        &[
            "put",
            src.to_str().unwrap(),
            "s3://data/model.bin",
            "--endpoint-url",
            &s.endpoint(),
            "--max-concurrency",
            "1",
        ],
    );
    let store = s.store().clone();
    let t0 = std::time::Instant::now();
    while store.uploads_in_progress() == 0 {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(20),
            "the upload never began"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::fs::File::options()
        .write(true)
        .open(&src)
        .unwrap()
        .set_len(10 << 20)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    one_line(
        &out,
        1,
        "changed during the upload (it was 41943040 bytes, it is now 10485760); nothing was left in the bucket",
    );
    assert_eq!(
        store.uploads_in_progress(),
        0,
        "the multipart upload was aborted"
    );
    let listed = run(
        home.path(),
        &creds(),
        &[
            "get",
            "s3://data/model.bin",
            "-",
            "--endpoint-url",
            &s.endpoint(),
        ],
    );
    one_line(&listed, 1, "does not exist");
}
