//! `s3tune study list`: what a storage holds, at a glance — for the user who shares a
//! database between workers and wants to know which studies are there and how far
//! each has got, without rendering every report. `s3tune study show`: one study's
//! search as any process that opens it builds it, and what it would decide next.

use std::process::ExitCode;

use anyhow::bail;
use s3tune_hpo::{Mode, Status, Store, Study};
use serde::Serialize;

use super::storage::{self, Location};
use crate::cli::{StudyListArgs, StudyShowArgs};

/// One study's line.
#[derive(Debug, Serialize)]
pub(crate) struct Row {
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

/// Study `study`'s line: its trials by state, budget and best.
pub(crate) fn row(store: &dyn Store, study: &Study) -> anyhow::Result<Row> {
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
        budget_trials: store.budget(study)?.trials,
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

/// `s3tune study show`: what every process that opens the study builds from the store —
/// searcher, scheduler, budget — and what they decide from its history now: the best
/// trial, the cut-off of the next run, the next suggestion.
pub fn show(args: &StudyShowArgs) -> anyhow::Result<ExitCode> {
    let session = crate::study::Session::join(&args.storage, &args.study)?;
    let (store, study) = (&session.store, &session.study);
    let spec = &study.spec;
    let history = store.history(study)?;
    let best = history.best(&spec.objective);
    let scheduler = spec.build_scheduler()?;
    let run_limit = scheduler.run_limit(&history, &spec.objective);
    let mut rng = s3tune_hpo::tuner::suggestion_rng(spec.seed, history.trials.len());
    let next = match spec
        .build_searcher()
        .suggest(&spec.space, &history, &mut rng)?
    {
        s3tune_hpo::Suggestion::Config(c) => Some(c),
        s3tune_hpo::Suggestion::Exhausted => None,
    };
    let shown = serde_json::json!({
        "study": spec.name,
        "kind": session.kind.to_json(),
        "searcher": spec.searcher,
        "scheduler": spec.scheduler,
        "seed": spec.seed,
        "budget": session.budget()?,
        "trials": history.trials.len(),
        "best_trial": best.map(|t| t.id),
        "best_value": best.and_then(s3tune_hpo::Trial::value),
        "run_limit": run_limit,
        "next_config": next,
    });
    if args.json {
        println!("{shown}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("study {} — {}", spec.name, session.kind.describe());
    for key in [
        "searcher",
        "scheduler",
        "seed",
        "budget",
        "trials",
        "best_trial",
        "best_value",
        "run_limit",
        "next_config",
    ] {
        println!("{key}: {}", shown[key]);
    }
    Ok(ExitCode::SUCCESS)
}
