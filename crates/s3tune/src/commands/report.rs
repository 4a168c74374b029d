//! `s3tune report`: a study's outputs, re-rendered from its store at any time.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::ReportArgs;

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("s3tune-results").join(&args.study));
    if args.storage.is_none() && !out.join("study.db").is_file() {
        anyhow::bail!(
            "no study storage at {}; name it with --storage sqlite:PATH",
            out.join("study.db").display()
        );
    }
    let location = super::storage::parse(args.storage.as_deref(), &out)?;
    let store = super::storage::open_read_only(&location)?;
    if store.study(&args.study)?.is_none() {
        let known = store.studies()?;
        anyhow::bail!(
            "no study named `{}` in {}{}",
            args.study,
            store.location(),
            if known.is_empty() {
                " (it has none)".to_owned()
            } else {
                format!(" (it has {})", known.join(", "))
            }
        );
    }
    print!(
        "{}",
        crate::report::render(store.as_ref(), &args.study, &out, args.pick)?
    );
    Ok(ExitCode::SUCCESS)
}
