//! s3tune when things go wrong: destinations that are not plain files, endpoints that
//! never answer or stall mid-body, Ctrl-C and SIGTERM while a command waits, SIGKILL and
//! what it leaves, studies whose every trial fails, resumed studies, and the one line
//! each error gets. Real peers on loopback: the embedded emulator, a listener that never
//! answers, a scripted HTTP server, real SQLite and PostgreSQL.

#[path = "../common/mod.rs"]
mod common;
mod destinations;
mod messages;
mod peers;
mod signals;
mod studies;
mod timeouts;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use s3tune_emulator::{DedicatedEmulator, Emulator, EmulatorConfig, NetworkProfile};

use common::{ACCESS, SECRET, command, creds, ok, run};

/// An emulator with `objects` (`BUCKET/KEY=SIZE`) behind `network`.
pub fn emulator(objects: &[&str], network: NetworkProfile) -> DedicatedEmulator {
    Emulator::start_dedicated(
        EmulatorConfig {
            access_key: ACCESS.into(),
            secret_key: SECRET.into(),
            network,
            objects: objects.iter().map(|o| o.parse().unwrap()).collect(),
            ..EmulatorConfig::default()
        },
        1,
    )
    .unwrap()
}

/// The one line of a failed command's stderr, after checking that it is the only one,
/// that it names `needle`, that it holds no Rust debug text, and that the exit code is
/// `code`.
pub fn one_line(out: &Output, code: i32, needle: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code; stderr:\n{stderr}"
    );
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected:\n{stderr}");
    let line = lines[0];
    assert!(line.contains(needle), "`{needle}` not in: {line}");
    for debug in ["Error {", "Some(", "None", "Kind(", "{ "] {
        assert!(!line.contains(debug), "debug text `{debug}` in: {line}");
    }
    line.to_owned()
}

/// Starts s3tune with credentials, stdout and stderr captured.
pub fn spawn(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Child {
    command(home, env, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `signal` (`INT`, `TERM`, `KILL`) to `child` once `ready` holds; returns its
/// output and how long it took to end after the signal.
pub fn signal_when(child: Child, signal: &str, ready: impl Fn() -> bool) -> (Output, Duration) {
    let t0 = Instant::now();
    while !ready() {
        assert!(t0.elapsed() < Duration::from_secs(30), "never got ready");
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Instant::now();
    Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (out, sent.elapsed())
}

/// The names in `dir`.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A command that runs `script` (its trial arguments ignored).
pub fn script(dir: &Path, name: &str, script: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, script).unwrap();
    format!("sh {}", p.display())
}

/// A space file of one parameter, `x`, a whole number from 1 to 4.
pub fn space(dir: &Path) -> String {
    let p = dir.join("space.toml");
    std::fs::write(&p, "x = { int = [1, 4] }\n").unwrap();
    p.to_str().unwrap().to_owned()
}

/// The last line of stderr.
pub fn last_line(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

/// Checks `out`'s exit code, showing its stderr if it is another.
pub fn exits(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The words of `line` (split at spaces), then `more` as they are (paths, and commands
/// with spaces in them).
pub fn argv<'a>(line: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    line.split_whitespace()
        .chain(more.iter().copied())
        .collect()
}
