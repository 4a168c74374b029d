//! `s3tune tune` (and `study create`): flags turned into a study — a transfer, or a
//! script — then `study::run` with a live display, the confirmation race and the
//! reports. The study runtime itself is in `crate::study`.

use std::process::ExitCode;

mod inputs;
pub(crate) mod race;
mod resume;
pub mod script;
pub(crate) mod transfer;

pub(crate) use inputs::{check_room, dest_dir, heartbeat_timeout, stamped};

use super::Stop;
use crate::cli::TuneArgs;

/// `tune`, or `study create` when `create_only` (the study and its budget are written,
/// no trial is run).
pub async fn run(args: TuneArgs, create_only: bool, stop: Stop) -> anyhow::Result<ExitCode> {
    if args.script.command.is_some() {
        script::run(args, stop, create_only).await
    } else {
        transfer::run(args, create_only, stop).await
    }
}
