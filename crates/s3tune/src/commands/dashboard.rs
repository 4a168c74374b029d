//! `s3tune dashboard`: serves the live page of a storage's studies until Ctrl-C.

use std::io::Write;
use std::process::ExitCode;

use anyhow::bail;

use super::Stop;
use super::storage::{self, Location};
use crate::cli::DashboardArgs;
use crate::dashboard::{Dashboard, warn_if_exposed};

pub async fn run(args: DashboardArgs, stop: Stop) -> anyhow::Result<ExitCode> {
    let location = storage::parse(Some(&args.storage), std::path::Path::new("."))?;
    // Watching must not leave a new, empty database behind.
    if let Location::Sqlite(path) = &location
        && !path.is_file()
    {
        bail!(
            "no study storage at {} (give the study.db a tune wrote, or a postgres:// URL)",
            path.display()
        );
    }
    let listen = super::listen_addr(&args.listen)?;
    let opened = location.clone();
    let store = tokio::task::spawn_blocking(move || storage::open_read_only(&opened)).await??;
    let flag = location.flag(store.as_ref());
    let dashboard = Dashboard::start(store, listen).await?;
    warn_if_exposed(listen);
    // One write: a reader that takes the first line and closes the pipe must not make
    // the second line fail.
    let mut out = std::io::stdout().lock();
    out.write_all(
        format!(
            "s3tune dashboard: {} ({flag})\nStop with Ctrl-C.\n",
            dashboard.url()
        )
        .as_bytes(),
    )?;
    out.flush()?;
    drop(out);
    stop.wait().await;
    Ok(ExitCode::SUCCESS)
}
