//! One module per subcommand; each turns the parsed flags into library calls.

pub mod client;
pub mod display;
mod report;
mod s3url;
mod serve;
mod storage;
mod study;
mod transfer;
mod tune;
mod worker;

use std::process::ExitCode;

use crate::cli::{Cli, Command, StudyCommand};

/// Runs the chosen subcommand. Only this function builds a tokio runtime.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Get(args) => runtime.block_on(transfer::get(args)),
        Command::Put(args) => runtime.block_on(transfer::put(args)),
        Command::Tune(args) => runtime.block_on(tune::run(args, false)),
        Command::Report(args) => report::run(args),
        Command::Worker(args) => runtime.block_on(worker::run(args)),
        Command::Study(StudyCommand::Create(args)) => runtime.block_on(tune::run(*args, true)),
        Command::Study(StudyCommand::List(args)) => study::list(&args),
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM: how long-running commands learn to stop and
/// clean up. The handlers are installed by this call, not when the future is first
/// polled, so a signal that comes early is not lost (nor kills the process unhandled).
pub fn interrupted() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        match (int, term) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}
