//! Runs each trial as a process, the way Syne Tune's local backend does.
//!
//! The program is started as `<command…> --name value … --st_checkpoint_dir DIR` — every
//! entry of the configuration, constants too, in name order — and reports by printing
//! lines `[tune-metric]: {"loss": 0.25, …}` on stdout, the format of `syne_tune.Reporter`.
//! Each such line is one fidelity step (an epoch, a repeat) and goes to the scheduler,
//! which may stop the trial after it. Like Syne Tune, the trial's folder gets its
//! `config.json`, its stdout in `std.out` and its stderr in `std.err`, and the program
//! sees the environment with `OMP_NUM_THREADS=1` added when it is unset (a trial should
//! not take every core of a shared machine).
//!
//! Not supported: Syne Tune's `pass_args_as_json` mode (`--st_config_json_filename`),
//! and resuming from checkpoints (the folder is passed, never reused for a new trial).
//!
//! The program runs in a process group of its own, and every way a trial can end — it
//! exits, the scheduler stops it, it times out, or the tuner drops the trial's future on
//! a spent budget or Ctrl-C — kills the whole group: a training script's data loaders
//! or a shell script's background jobs must not outlive the trial, go on using the
//! machine and skew the next trial's measurement.
//!
//! That holds even when the tuner itself is killed with SIGKILL and can do nothing: the
//! program is started by a small shell guard ([`GUARD`]) that leaves a watcher in the
//! group, holding the read end of a pipe whose write end only the tuner has, and then
//! becomes the program. When the tuner dies, the kernel closes that end, the watcher
//! reads end-of-file and kills the group. (The
//! other way, `PR_SET_PDEATHSIG`, needs code run between fork and exec, which is unsafe
//! Rust; this needs none.)

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::io::{AsyncBufReadExt, BufReader};

mod group;
mod report;

pub use group::{GUARD, Group, startable};
pub use report::REPORT_PREFIX;

use report::Reports;

use super::{Backend, TrialError};
use crate::scheduler::Decision;
use crate::space::Config;
use crate::tuner::TrialContext;

/// How many of std.err's last lines a failure reason quotes, and at most how long they
/// may be together: enough for a Python exception, short enough for one line of a table.
const TAIL_LINES: usize = 5;
const TAIL_CHARS: usize = 500;

/// After the program exits, how long its stdout may stay open (a process outside its
/// group still holding it) before the last lines are given up on.
const DRAIN: Duration = Duration::from_secs(2);

/// Runs trials as external programs speaking Syne Tune's entry-point protocol: a
/// [`Backend`] for [`Tuner::run`](crate::Tuner::run).
#[derive(Debug, Clone)]
pub struct SubprocessBackend {
    /// The program and its own arguments; the configuration's arguments follow them.
    pub command: Vec<String>,
    /// The reported metric that is the objective (e.g. `loss`); other keys of a report
    /// line are ignored.
    pub metric: String,
    /// Each trial gets the folder `trial-<n>` in it, with its `config.json`, `std.out`,
    /// `std.err` and `checkpoints/`.
    pub trials_dir: PathBuf,
    /// A trial running longer than this is killed and failed (`--trial-timeout`).
    pub timeout: Option<Duration>,
    /// Extra environment variables for the program, on top of the inherited ones.
    pub env: Vec<(String, String)>,
    /// For a program whose metric is the running mean of each step's seconds (as the
    /// bundled transfer scripts report): a step that runs past the scheduler's run limit
    /// (see [`TrialContext::run_limit`]) is ended there, counted at the limit, and the
    /// trial stopped — as the in-process engine cuts its runs.
    pub cut_runs: bool,
}

impl SubprocessBackend {
    /// A backend running `command` and reading `metric`, with trial folders in
    /// `trials_dir`, no timeout and no extra environment.
    pub fn new(
        command: Vec<String>,
        metric: impl Into<String>,
        trials_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            command,
            metric: metric.into(),
            trials_dir: trials_dir.into(),
            timeout: None,
            env: Vec::new(),
            cut_runs: false,
        }
    }

    /// The folder of trial `trial`.
    #[must_use]
    pub fn trial_dir(&self, trial: u64) -> PathBuf {
        self.trials_dir.join(format!("trial-{trial}"))
    }

    /// The arguments after the command for `config`, as Syne Tune passes them:
    /// `--name value` for every entry in name order (values formatted by
    /// [`Value`](crate::Value)'s `Display`: `8`, `0.001`, `True`, `adam`), then
    /// `--st_checkpoint_dir <trial_dir>/checkpoints`.
    #[must_use]
    pub fn arguments(config: &Config, trial_dir: &Path) -> Vec<String> {
        let mut args = Vec::with_capacity(2 * config.len() + 2);
        for (name, value) in config {
            args.push(format!("--{name}"));
            args.push(value.to_string());
        }
        args.push("--st_checkpoint_dir".to_owned());
        args.push(trial_dir.join("checkpoints").display().to_string());
        args
    }

    /// Runs one trial: starts the program, reports each `[tune-metric]` line's `metric`
    /// through `ctx`, and ends the program's process group when the trial ends.
    ///
    /// Returns `Ok` when the program exited 0 having reported the metric, or when the
    /// scheduler stopped it; otherwise `Err` with a one-line reason (and the tail of
    /// its std.err where that says more). Dropping the future kills the process group.
    pub async fn run_trial(&self, ctx: &TrialContext) -> Result<(), TrialError> {
        let dir = self.trial_dir(ctx.trial());
        let limit = || self.cut_runs.then(|| ctx.run_limit()).flatten();
        let ended = self
            .drive(ctx.config(), &dir, |value| ctx.report(value), limit)
            .await?;
        if let Ended::Cut { run, seconds } = ended {
            ctx.give_up(crate::spec::CutOff::reason(run, seconds));
        }
        Ok(())
    }

    /// Runs the program once with `config` outside any study (e.g. a confirmation race),
    /// its folder `dir`, and returns every value of the metric it reported, in order.
    pub async fn measure(&self, config: &Config, dir: &Path) -> Result<Vec<f64>, TrialError> {
        let mut values = Vec::new();
        self.drive(
            config,
            dir,
            |value| {
                values.push(value);
                std::future::ready(Ok(Decision::Continue))
            },
            || None,
        )
        .await?;
        Ok(values)
    }

    /// Runs the program with `config` in the folder `dir`, passing each reported value of
    /// the metric to `report`, which says whether the program goes on; a step running
    /// past `limit()` seconds is cut (see [`SubprocessBackend::cut_runs`]).
    async fn drive<F, Fut>(
        &self,
        config: &Config,
        dir: &Path,
        mut report: F,
        limit: impl Fn() -> Option<f64>,
    ) -> Result<Ended, TrialError>
    where
        F: FnMut(f64) -> Fut,
        Fut: Future<Output = Result<Decision, crate::store::StoreError>>,
    {
        let Some((program, own_args)) = self.command.split_first() else {
            return Err(TrialError::Config(
                "no command to run a trial with".to_owned(),
            ));
        };
        std::fs::create_dir_all(dir.join("checkpoints"))
            .map_err(|e| format!("cannot create the trial folder {}: {e}", dir.display()))?;
        let config_json = serde_json::to_string_pretty(config)
            .map_err(|e| format!("cannot write the trial's config.json: {e}"))?;
        write_file(&dir.join("config.json"), config_json.as_bytes())?;
        let err_path = dir.join("std.err");
        let stderr = File::create(&err_path).map_err(|e| cannot_write(&err_path, &e))?;
        let out_path = dir.join("std.out");
        let mut stdout_file = File::create(&out_path).map_err(|e| cannot_write(&out_path, &e))?;

        let path = self
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| std::ffi::OsStr::new(v));
        startable(program, path)
            .map_err(|e| format!("cannot start `{program}`: {}", io_reason(&e)))?;
        let mut args = own_args.to_vec();
        args.extend(Self::arguments(config, dir));
        let omp = std::env::var_os("OMP_NUM_THREADS").is_none()
            && !self.env.iter().any(|(k, _)| k == "OMP_NUM_THREADS");
        let mut group = Group::spawn(program, &args, |command| {
            command.stdout(Stdio::piped()).stderr(Stdio::from(stderr));
            if omp {
                command.env("OMP_NUM_THREADS", "1");
            }
            command.envs(self.env.iter().map(|(k, v)| (k, v)));
        })
        .map_err(|e| format!("cannot start `{program}`: {}", io_reason(&e)))?;
        // From here on, however this function ends or is dropped, the group dies.
        let stdout = group.child.stdout.take().expect("stdout is piped");

        let timeout = async {
            match self.timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(timeout);
        // Armed when the program exits (tokio caps the far-off deadline).
        let drain = tokio::time::sleep(Duration::MAX / 4);
        tokio::pin!(drain);

        // The step under way: when it began, and when it is cut.
        let cut_at = |from: tokio::time::Instant| {
            limit().map(|l| from + Duration::from_secs_f64(l.clamp(0.0, 1e9)))
        };
        let mut deadline = cut_at(tokio::time::Instant::now());
        let cut = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now));
        tokio::pin!(cut);
        let (mut steps, mut last) = (0usize, 0.0f64);

        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        let mut number = 0;
        let mut reports = Reports::default();
        let mut status: Option<ExitStatus> = None;
        let mut eof = false;
        while !(eof && status.is_some()) {
            tokio::select! {
                // `read_until` is cancel safe: a partial line stays in `line`.
                read = reader.read_until(b'\n', &mut line), if !eof => {
                    match read {
                        Ok(0) => eof = true,
                        Ok(_) => {}
                        Err(e) => return Err(format!("cannot read the trial's stdout: {e}").into()),
                    }
                    if line.is_empty() || (!eof && !line.ends_with(b"\n")) {
                        continue;
                    }
                    number += 1;
                    stdout_file
                        .write_all(&line)
                        .map_err(|e| cannot_write(&out_path, &e))?;
                    let text = String::from_utf8_lossy(&line).into_owned();
                    line.clear();
                    match reports.read(&text, number, &self.metric) {
                        Ok(Some(value)) => {
                            let decision = report(value).await?;
                            if decision == Decision::Stop {
                                group.kill_and_reap().await;
                                return Ok(Ended::Stopped);
                            }
                            (steps, last) = (steps + 1, value);
                            deadline = cut_at(tokio::time::Instant::now());
                            if let Some(d) = deadline {
                                cut.as_mut().reset(d);
                            }
                        }
                        Ok(None) => {}
                        Err(reason) => {
                            group.kill_and_reap().await;
                            return Err(reason.into());
                        }
                    }
                }
                exit = group.child.wait(), if status.is_none() => {
                    let exit = exit.map_err(|e| format!("cannot wait for the trial: {e}"))?;
                    status = Some(exit);
                    // Whatever it left behind in its group goes too (and so lets go of
                    // stdout); lines already written stay readable.
                    group.kill();
                    drain.as_mut().reset(tokio::time::Instant::now() + DRAIN);
                }
                () = &mut drain, if status.is_some() => break,
                () = &mut cut, if deadline.is_some() && status.is_none() => {
                    group.kill_and_reap().await;
                    let seconds = limit().unwrap_or_default();
                    // The running mean with this run counted at the cut.
                    let n = steps as f64;
                    report((last * n + seconds) / (n + 1.0)).await?;
                    return Ok(Ended::Cut { run: steps + 1, seconds });
                }
                () = &mut timeout => {
                    group.kill_and_reap().await;
                    let t = self.timeout.unwrap_or_default();
                    return Err(TrialError::TimedOut(t));
                }
            }
        }
        let status = status.expect("the loop ends after the exit");
        let tail = || stderr_tail(&err_path);
        if let Some(signal) = status.signal() {
            let name = Signal::try_from(signal).map_or_else(|_| "?", Signal::as_str);
            return Err(with_tail(format!("killed by signal {signal} ({name})"), &tail()).into());
        }
        if !status.success() {
            let code = status.code().unwrap_or(-1);
            return Err(with_tail(format!("exited with status {code}"), &tail()).into());
        }
        if reports.count == 0 {
            let what = if reports.lines == 0 {
                "printed no [tune-metric] line".to_owned()
            } else {
                let keys: Vec<&str> = reports.keys.iter().map(String::as_str).collect();
                format!(
                    "finished without reporting `{}`; it reported: {}",
                    self.metric,
                    if keys.is_empty() {
                        "nothing but Syne Tune's st_ keys".to_owned()
                    } else {
                        keys.join(", ")
                    }
                )
            };
            return Err(with_tail(what, &tail()).into());
        }
        Ok(Ended::Exited)
    }
}

/// How a program's run ended, when it did not fail.
enum Ended {
    /// It exited 0 having reported.
    Exited,
    /// The scheduler stopped it.
    Stopped,
    /// Its `run`-th step passed the run limit, `seconds`, and was ended there.
    Cut { run: usize, seconds: f64 },
}

impl Backend for SubprocessBackend {
    fn run(
        self: Arc<Self>,
        ctx: Arc<TrialContext>,
    ) -> futures::future::BoxFuture<'static, Result<(), TrialError>> {
        Box::pin(async move { self.run_trial(&ctx).await })
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| cannot_write(path, &e))
}

fn cannot_write(path: &Path, e: &std::io::Error) -> String {
    format!("cannot write {}: {}", path.display(), io_reason(e))
}

/// An I/O error's message without Rust's " (os error 2)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_owned(),
        _ => text,
    }
}

/// `reason`, with the tail of std.err after a colon when there is one.
#[must_use]
pub fn with_tail(reason: String, tail: &str) -> String {
    if tail.is_empty() {
        reason
    } else {
        format!("{reason}: {tail}")
    }
}

/// The last few non-blank lines of the file at `path`, joined by ` | ` into one line of
/// at most [`TAIL_CHARS`] characters (the end kept: that is where the error is); empty
/// when the file is empty or unreadable.
#[must_use]
pub fn stderr_tail(path: &Path) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    // Only the end of a long log is read.
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join(" | ");
    let n = tail.chars().count();
    if n <= TAIL_CHARS {
        tail
    } else {
        let kept: String = tail.chars().skip(n - (TAIL_CHARS - 1)).collect();
        format!("…{kept}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Value;

    #[test]
    fn arguments_are_every_entry_in_name_order_then_the_checkpoint_dir() {
        let config: Config = [
            ("x".to_owned(), Value::Int(8)),
            ("lr".to_owned(), Value::Float(0.001)),
            ("bucket".to_owned(), Value::Str("data".into())),
            ("flag".to_owned(), Value::Bool(true)),
        ]
        .into();
        let args = SubprocessBackend::arguments(&config, Path::new("/t/trial-1"));
        assert_eq!(
            args.join(" "),
            "--bucket data --flag True --lr 0.001 --x 8 --st_checkpoint_dir /t/trial-1/checkpoints"
        );
    }

    #[test]
    fn the_tail_of_stderr_is_one_short_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("std.err");
        std::fs::write(&path, "a\n\nb\nc\nd\ne\nf\n").unwrap();
        assert_eq!(stderr_tail(&path), "b | c | d | e | f");
        std::fs::write(&path, "x".repeat(2000)).unwrap();
        let tail = stderr_tail(&path);
        assert_eq!(tail.chars().count(), TAIL_CHARS);
        assert!(tail.starts_with('…'));
        assert_eq!(stderr_tail(&dir.path().join("none")), "");
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(io_reason(&e), "No such file or directory");
    }
}
