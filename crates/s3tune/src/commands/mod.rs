//! One module per subcommand; each turns the parsed flags into library calls.

mod s3url;
mod serve;
mod transfer;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the chosen subcommand. Only this function builds a tokio runtime.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Get(args) => runtime.block_on(transfer::get(args)),
        Command::Put(args) => runtime.block_on(transfer::put(args)),
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM: how long-running commands learn to stop and
/// clean up.
pub async fn interrupted() {
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    match term {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
