//! `s3tune study list`: what a storage holds, at a glance — for the user who shares a
//! database between workers and wants to know which studies are there and how far
//! each has got, without rendering every report.

use std::process::ExitCode;

use anyhow::bail;
use s3tune_hpo::{Mode, Status, Store, Study};
use serde::Serialize;

use super::storage::{self, Location};
use super::tune::plan::StudyBudget;
use crate::cli::StudyListArgs;

/// One study's line.
#[derive(Debug, Serialize)]
struct Row {
    study: String,
    metric: String,
    mode: &'static str,
    completed: usize,
    running: usize,
    failed: usize,
    lost: usize,
    budget_trials: Option<u64>,
    best: Option<f64>,
    created: String,
}

pub fn list(args: &StudyListArgs) -> anyhow::Result<ExitCode> {
    let location = storage::parse(Some(&args.storage), std::path::Path::new("."))?;
    // Listing must not leave a new, empty database behind.
    if let Location::Sqlite(path) = &location
        && !path.is_file()
    {
        bail!("no study storage at {}", path.display());
    }
    let store = storage::open_read_only(&location)?;
    let mut rows = Vec::new();
    for name in store.studies()? {
        if let Some(study) = store.study(&name)? {
            rows.push(row(store.as_ref(), &study)?);
        }
    }
    if args.json {
        for r in &rows {
            println!("{}", serde_json::to_string(r)?);
        }
    } else if rows.is_empty() {
        eprintln!("no studies in {}", location.flag(store.as_ref()));
    } else {
        print!("{}", table(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

fn row(store: &dyn Store, study: &Study) -> anyhow::Result<Row> {
    let trials = store.trials(study)?;
    let count =
        |want: &dyn Fn(&s3tune_hpo::TrialRecord) -> bool| trials.iter().filter(|t| want(t)).count();
    let objective = &study.spec.objective;
    let best = crate::report::best_trial(&trials, objective).and_then(|i| trials[i].trial.value());
    Ok(Row {
        study: study.spec.name.clone(),
        metric: objective.metric.clone(),
        mode: match objective.mode {
            Mode::Min => "min",
            Mode::Max => "max",
        },
        completed: count(&|t| matches!(t.trial.status, Status::Completed | Status::Stopped)),
        running: count(&|t| t.trial.status == Status::Pending),
        failed: count(&|t| t.trial.status == Status::Failed && !t.lost),
        lost: count(&|t| t.lost),
        budget_trials: StudyBudget::load(store, study)?.trials,
        best,
        created: humantime::format_rfc3339_seconds(study.created).to_string(),
    })
}

/// The rows as an aligned table.
fn table(rows: &[Row]) -> String {
    let header = [
        "study",
        "objective",
        "done",
        "running",
        "failed",
        "lost",
        "budget",
        "best",
        "created",
    ];
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            [
                r.study.clone(),
                format!("{} {}", r.metric, r.mode),
                r.completed.to_string(),
                r.running.to_string(),
                r.failed.to_string(),
                r.lost.to_string(),
                r.budget_trials
                    .map_or_else(|| "-".to_owned(), |b| format!("{b} trials")),
                r.best.map_or_else(|| "-".to_owned(), |b| format!("{b:.6}")),
                r.created.clone(),
            ]
        })
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |fields: Vec<&str>| {
        let padded: Vec<String> = fields
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (f, w))| {
                // Names and text to the left, numbers to the right.
                if (2..=5).contains(&i) || i == 7 {
                    format!("{f:>w$}")
                } else {
                    format!("{f:<w$}")
                }
            })
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    for c in &cells {
        out += &line(c.iter().map(String::as_str).collect());
    }
    out
}
