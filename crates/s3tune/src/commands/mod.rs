//! One module per subcommand; each turns the parsed flags into library calls.

pub mod client;
pub(crate) mod compare;
mod dashboard;
pub mod display;
pub mod files;
mod recursive;
mod report;
pub mod s3url;
mod serve;
pub(crate) use serve::listen_addr;
pub mod storage;
mod study;
pub(crate) use study::row as study_row;
mod transfer;
pub(crate) mod tune;
mod worker;

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{Cli, Command, StudyCommand};

/// The exit codes, the same for every command (0: it worked).
pub mod exit {
    /// It failed; the one line on stderr says why.
    pub const FAILED: u8 = 1;
    /// The command line is wrong (clap's code).
    pub const USAGE: u8 = 2;
    /// A study ran to its end, but none of the trials this run made succeeded.
    pub const NO_TRIAL_SUCCEEDED: u8 = 3;
    /// A recursive transfer finished, but some objects failed; each is named on stderr.
    pub const SOME_FAILED: u8 = 4;
    /// Stopped by Ctrl-C (SIGINT) or SIGTERM.
    pub const INTERRUPTED: u8 = 130;
}

/// How long a command has, after Ctrl-C or SIGTERM, to stop by itself — abort its
/// upload, mark its trial stopped, write its report — before the process ends anyway.
/// Whatever it was waiting on (a silent endpoint, a database that never answers) then
/// cannot hold it: the whole process is gone within two seconds of the signal.
const GRACE: Duration = Duration::from_millis(1500);

/// Runs the chosen subcommand. Only this function builds a tokio runtime.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let stop = Stop::new();
        match cli.command {
            Command::Serve(args) => serve::run(args, stop).await,
            Command::Dashboard(args) => dashboard::run(args, stop).await,
            Command::Get(args) => transfer::get(args, stop).await,
            Command::Put(args) => transfer::put(args, stop).await,
            Command::Tune(args) => tune::run(*args, false, stop).await,
            Command::Compare(args) => compare::run(*args, stop).await,
            Command::Report(args) => blocking(move || report::run(args)).await,
            Command::Worker(args) => worker::run(args, stop).await,
            Command::Study(StudyCommand::Create(args)) => tune::run(*args, true, stop).await,
            Command::Study(StudyCommand::List(args)) => blocking(move || study::list(&args)).await,
            Command::Study(StudyCommand::Show(args)) => blocking(move || study::show(&args)).await,
        }
    });
    // A thread still blocked (a FIFO's open waiting for its reader, say) must not hold
    // the exit: the command has returned, so nothing it owns is left to clean up.
    runtime.shutdown_background();
    result
}

/// A duration flag's value, in humantime's syntax (`90s`, `500ms`, `1h 30m`), more than
/// zero: every duration flag is read by this.
pub fn duration(flag: &str, text: &str) -> anyhow::Result<Duration> {
    let d = s3tune_transfer::parse_duration(text).map_err(|e| anyhow::anyhow!("{flag} {e}"))?;
    if d.is_zero() {
        anyhow::bail!("{flag} must be more than zero");
    }
    Ok(d)
}

/// Runs a command that reads a store synchronously off the async threads, so that the
/// signal watch keeps running.
async fn blocking(
    work: impl FnOnce() -> anyhow::Result<ExitCode> + Send + 'static,
) -> anyhow::Result<ExitCode> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| anyhow::anyhow!("the command stopped unexpectedly: {e}"))?
}

/// Ctrl-C or SIGTERM, seen by every part of a command that waits.
///
/// Made once, at the start, so a signal that comes early is not lost (nor kills the
/// process unhandled). The first signal completes every [`Stop::wait`], and the command
/// cleans up and returns [`exit::INTERRUPTED`]; if it has not within [`GRACE`], or a
/// second signal comes, the process exits with that code at once.
#[derive(Clone)]
pub struct Stop(tokio::sync::watch::Receiver<bool>);

impl Stop {
    /// Installs the signal handlers and the watch over them.
    pub fn new() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let (tx, rx) = tokio::sync::watch::channel(false);
        // A handler that cannot be installed leaves its signal's default action (death)
        // in place; the other is still watched.
        let mut int = signal(SignalKind::interrupt()).ok();
        let mut term = signal(SignalKind::terminate()).ok();
        tokio::spawn(async move {
            async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = next(&mut int) => {}
                () = next(&mut term) => {}
            }
            let _ = tx.send(true);
            tokio::select! {
                () = tokio::time::sleep(GRACE) => {}
                () = next(&mut int) => {}
                () = next(&mut term) => {}
            }
            eprintln!("s3tune: interrupted");
            std::process::exit(i32::from(exit::INTERRUPTED));
        });
        Self(rx)
    }

    /// Completes when the signal has come.
    pub fn wait(&self) -> impl Future<Output = ()> + use<> {
        let mut rx = self.0.clone();
        async move {
            let _ = rx.wait_for(|v| *v).await;
        }
    }

    /// `work`, or `Err(Interrupted)` if the signal comes first.
    pub async fn or_stop<T>(&self, work: impl Future<Output = T>) -> Result<T, Interrupted> {
        tokio::select! {
            r = work => Ok(r),
            () = self.wait() => Err(Interrupted),
        }
    }
}

/// Ctrl-C or SIGTERM came while a command waited.
#[derive(Debug, Clone, Copy)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// The exit code of a failed command: [`exit::INTERRUPTED`] when the failure is an
/// interruption, else [`exit::FAILED`].
pub fn code_of(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<Interrupted>().is_some()
        || matches!(
            err.downcast_ref::<s3tune_transfer::TransferError>(),
            Some(s3tune_transfer::TransferError::Cancelled)
        )
    {
        exit::INTERRUPTED
    } else {
        exit::FAILED
    }
}
