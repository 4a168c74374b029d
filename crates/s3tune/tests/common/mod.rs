//! What the CLI tests share: running s3tune as a user would, and checking its errors.
#![allow(dead_code)] // each test file uses a different part

pub mod tree;

use std::path::Path;
use std::process::{Command, Output};

/// The access key the test servers take.
pub const ACCESS: &str = "AKIAS3TUNETESTKEY";
/// Its secret key (which no output may show).
pub const SECRET: &str = "Secret-Key-That-Must-Never-Be-Logged";

/// s3tune with only the environment given (HOME is empty: no AWS config files).
pub fn command(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3tune"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .args(args);
    cmd
}

/// Runs s3tune to the end (see [`command`]).
pub fn run(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    command(home, env, args).output().unwrap()
}

/// Starts `s3tune ARGS`, waits until `started` holds, sends SIGINT; returns the output.
pub fn interrupt(home: &Path, args: &[&str], started: impl Fn() -> bool) -> Output {
    let child = command(home, &creds(), args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !started() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(20),
            "the command never got there"
        );
        std::thread::yield_now();
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The environment that names both.
pub fn creds() -> [(&'static str, &'static str); 2] {
    [
        ("AWS_ACCESS_KEY_ID", ACCESS),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ]
}

/// The command failed with one line on stderr, which names `needle`.
pub fn one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success(), "should fail: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected:\n{stderr}");
    assert!(lines[0].contains(needle), "`{needle}` not in: {}", lines[0]);
}

/// The command's stdout, after checking that it succeeded (its output shown if not).
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A tmpfs mounted at a folder (`options` such as `size=4m` or `ro,size=1m`), unmounted
/// when dropped: a small or read-only disk. Mounting needs root, which CI has; elsewhere
/// `mount` is `None` and the test says it was skipped.
pub struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// Mounts it at `dir` (made if missing).
    pub fn mount(dir: &Path, options: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "CI runs as root and must be able to mount a tmpfs"
            );
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        Some(Self(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Every run's measures of every trial of the one study in `db`, with its configuration.
pub fn runs(db: &Path) -> Vec<(s3tune_hpo::Config, s3tune_hpo::Metrics)> {
    use s3tune_hpo::Store;
    let store = s3tune_hpo::SqliteStore::open(db).unwrap();
    let name = store.studies().unwrap().pop().unwrap();
    let study = store.study(&name).unwrap().unwrap();
    store
        .trials(&study)
        .unwrap()
        .into_iter()
        .flat_map(|r| {
            let config = r.trial.config.clone();
            r.trial
                .metrics
                .into_iter()
                .map(move |m| (config.clone(), m))
        })
        .collect()
}
