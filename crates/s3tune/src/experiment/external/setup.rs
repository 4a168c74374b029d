//! Where a client is and how it reaches S3: found once when a study opens (a client
//! that is not installed is one line saying how to install it), then shared by every run.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::study::Client;

/// The bundled scripts, written next to the study's trials so no checkout is needed.
const SCRIPTS: [(&str, &str); 4] = [
    (
        "boto3_download.py",
        include_str!("../../../../../examples/boto3_download.py"),
    ),
    (
        "boto3_upload.py",
        include_str!("../../../../../examples/boto3_upload.py"),
    ),
    (
        "awscli_cp.py",
        include_str!("../../../../../examples/awscli_cp.py"),
    ),
    (
        "crt_transfer.py",
        include_str!("../../../../../examples/crt_transfer.py"),
    ),
];

/// What every run of a client shares.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The Python that runs the bundled boto3 and CRT scripts.
    pub python: String,
    /// The Python of the `aws` on `PATH`, when it is the Python package (then its
    /// entry point runs inside the bundled timing script); `None`: run `aws` itself.
    pub awscli_python: Option<String>,
    /// `--endpoint-url`, if any.
    pub endpoint: Option<String>,
    /// `--region`, if given (or the emulator's).
    pub region: Option<String>,
    /// `--profile`, if given.
    pub profile: Option<String>,
    /// Environment for credentials (the emulator's keys).
    pub env: Vec<(String, String)>,
    /// Environment variables the clients must not see: on the embedded emulator, the
    /// user's profile and session token (a profile the run's own AWS CLI config does not
    /// define would fail the client, a token would spoil the emulator's signatures).
    pub unset: Vec<&'static str>,
    /// Where the bundled scripts are.
    pub scripts: PathBuf,
    /// Where each run keeps its files (`trial-N/run-R/`).
    pub runs: PathBuf,
    /// This run's folder (set for each run).
    pub run_dir: PathBuf,
    /// The embedded emulator's counters, which tell when a run's first request came.
    pub watch: Option<std::sync::Arc<s3tune_emulator::Stats>>,
}

impl Setup {
    /// The bundled script `name`, as an argument.
    pub fn script(&self, name: &str) -> String {
        self.scripts.join(name).display().to_string()
    }

    /// A setup with its scripts written into `out/scripts` (a folder of
    /// their own: Python puts a script's folder first on its path, where the export
    /// `boto3.py` would hide the boto3 package) and its runs' files in `out/trials`;
    /// `probe` has found the client.
    pub fn new(found: Found, s3: S3Access, out: &Path) -> anyhow::Result<Self> {
        let scripts = out.join("scripts");
        std::fs::create_dir_all(&scripts)
            .with_context(|| format!("creating {}", scripts.display()))?;
        for (name, text) in SCRIPTS {
            let path = scripts.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(Self {
            python: found.python,
            awscli_python: found.awscli_python,
            endpoint: s3.endpoint,
            region: s3.region,
            profile: s3.profile,
            unset: if s3.watch.is_some() {
                vec!["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"]
            } else {
                Vec::new()
            },
            env: s3.env,
            watch: s3.watch,
            scripts,
            runs: out.join("trials"),
            run_dir: out.join("trials"),
        })
    }
}

/// Where S3 is for a client.
pub struct S3Access {
    /// `--endpoint-url`, if any.
    pub endpoint: Option<String>,
    /// The region.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// Environment (credentials, region).
    pub env: Vec<(String, String)>,
    /// The embedded emulator's counters.
    pub watch: Option<std::sync::Arc<s3tune_emulator::Stats>>,
}

/// A client found on this machine.
#[derive(Debug, Clone)]
pub struct Found {
    /// The Python for the bundled scripts.
    pub python: String,
    /// The AWS CLI's own Python, when it is the Python package.
    pub awscli_python: Option<String>,
}

/// Finds `client` on this machine (with `python` for the bundled scripts): an error is
/// one line saying how to install it. A client found once is not looked for again (a
/// study's definition, its rules and its runner each need it; each look starts a
/// Python).
pub fn probe(client: Client, python: &str) -> anyhow::Result<Found> {
    type Seen = std::collections::HashMap<(Client, String), Found>;
    static FOUND: std::sync::LazyLock<std::sync::Mutex<Seen>> =
        std::sync::LazyLock::new(Default::default);
    let key = (client, python.to_owned());
    if let Some(found) = FOUND.lock().expect("probe cache").get(&key) {
        return Ok(found.clone());
    }
    let found = look(client, python)?;
    FOUND
        .lock()
        .expect("probe cache")
        .insert(key, found.clone());
    Ok(found)
}

/// [`probe`]'s look, every time.
fn look(client: Client, python: &str) -> anyhow::Result<Found> {
    let mut found = Found {
        python: python.to_owned(),
        awscli_python: None,
    };
    let imports = |python: &str, module: &str| {
        std::process::Command::new(python)
            .args(["-c", &format!("import {module}")])
            .output()
    };
    let python_has = |module: &str, package: &str| -> anyhow::Result<()> {
        match imports(python, module) {
            Ok(o) if o.status.success() => Ok(()),
            Ok(_) => bail!(
                "{} is not importable by `{python}`: install it with `{python} -m pip install {package}`, or name another Python with --python",
                client.title()
            ),
            Err(e) => bail!("cannot run `{python}` ({e}): name a Python with --python"),
        }
    };
    match client {
        Client::S3tune => {}
        Client::Boto3 => python_has("boto3", "boto3")?,
        Client::Crt => python_has("awscrt.s3", "awscrt")?,
        Client::Awscli => {
            let Some(aws) = on_path("aws") else {
                bail!(
                    "the AWS CLI is not installed (no `aws` on PATH): install it with `{python} -m pip install awscli` or AWS's installer for v2"
                );
            };
            found.awscli_python = interpreter(&aws)
                .filter(|p| matches!(imports(p, "awscli.clidriver"), Ok(o) if o.status.success()));
        }
        Client::Rclone => {
            let ran = std::process::Command::new("rclone").arg("version").output();
            if !matches!(ran, Ok(o) if o.status.success()) {
                bail!(
                    "rclone is not installed (no `rclone` on PATH): install it with `apt-get install rclone`, or from rclone.org"
                );
            }
        }
    }
    Ok(found)
}

/// `name` on `PATH`, if it is there.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The interpreter a script's `#!` line names, when it is a Python.
fn interpreter(script: &Path) -> Option<String> {
    use std::io::BufRead;
    let file = std::fs::File::open(script).ok()?;
    let mut first = String::new();
    std::io::BufReader::new(file).read_line(&mut first).ok()?;
    let line = first.strip_prefix("#!")?.trim();
    let mut words = line.split_whitespace();
    let program = words.next()?;
    let python = if program.ends_with("/env") {
        words.next()?
    } else {
        program
    };
    python.contains("python").then(|| python.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scripts_python_is_read_off_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let aws = dir.path().join("aws");
        std::fs::write(&aws, "#!/opt/venv/bin/python3.11\nimport sys\n").unwrap();
        assert_eq!(
            interpreter(&aws).as_deref(),
            Some("/opt/venv/bin/python3.11")
        );
        std::fs::write(&aws, "#!/usr/bin/env python3\n").unwrap();
        assert_eq!(interpreter(&aws).as_deref(), Some("python3"));
        std::fs::write(&aws, "\x7fELF binary").unwrap();
        assert_eq!(interpreter(&aws), None);
    }
}
