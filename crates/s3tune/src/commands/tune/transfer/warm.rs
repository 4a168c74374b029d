//! `--warm-start STUDY[,STUDY…]`: a new study starts from earlier studies of the same
//! shape (the same workload, client and knobs) — same storage, or `--warm-storage URL`.
//!
//! Two things carry over, both stored with the new study so every worker builds the same
//! search: each earlier study's best three configurations are tried first (after the
//! baseline), and every completed trial of theirs becomes an observation BO's model
//! learns from (standardized apart from the new study's own: another day's network moves
//! the level of the times, not their shape). Why data rather than a narrowed space
//! (Syne Tune's bounding box) or only the best points (its zero-shot): the data keep the
//! whole space open when today's optimum moved, and the model's first proposals are
//! already informed. How soon each earlier (cold) study came within 5 % of its best is
//! kept too, for the report to compare.

use anyhow::{Context, bail};
use s3tune_hpo::spec::Observation;
use s3tune_hpo::{Config, History, Space, Status};

use crate::cli::TuneArgs;
use crate::commands::storage;
use crate::study::{Client, StudyKind, WarmStart, Workload};

/// Best configurations of each earlier study tried first.
const BEST_FIRST: usize = 3;

/// What the earlier studies give a new one.
#[derive(Debug, Default)]
pub struct Warm {
    /// Configurations to try first.
    pub points: Vec<Config>,
    /// Observations for the model.
    pub prior: Vec<Observation>,
    /// The studies, for the report.
    pub from: Vec<WarmStart>,
}

/// Reads the studies `--warm-start` names, checking each is of this shape.
pub fn load(
    args: &TuneArgs,
    here: &storage::Location,
    space: &Space,
    client: Client,
    workload: Workload,
    many: bool,
) -> anyhow::Result<Warm> {
    let Some(names) = &args.warm_start else {
        return Ok(Warm::default());
    };
    let location = match &args.warm_storage {
        Some(url) => storage::parse(Some(url), std::path::Path::new("."))?,
        None => here.clone(),
    };
    let store = storage::open_read_only(&location)
        .with_context(|| "opening the --warm-start studies' storage".to_owned())?;
    let mut warm = Warm::default();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(study) = store.study(name)? else {
            bail!(
                "--warm-start: no study named `{name}` in {} (name another storage with --warm-storage URL)",
                store.location()
            );
        };
        let StudyKind::Transfer(s) = StudyKind::of(&study)? else {
            bail!("--warm-start: study `{name}` tunes a script, not a transfer");
        };
        let theirs: Vec<&str> = study.spec.space.params().map(|(k, _)| k).collect();
        let ours: Vec<&str> = space.params().map(|(k, _)| k).collect();
        let shape = |client: Client, workload: Workload, many: bool, knobs: &[&str]| {
            format!(
                "{} {} of {} over {}",
                client.title(),
                if workload == Workload::Upload {
                    "uploads"
                } else {
                    "downloads"
                },
                if many { "a dataset" } else { "one object" },
                knobs.join(", ")
            )
        };
        if s.client != client
            || s.workload != workload
            || s.dataset.is_some() != many
            || theirs != ours
        {
            bail!(
                "--warm-start: study `{name}` tunes {}, this one {}: a warm start needs a study of the same shape",
                shape(s.client, s.workload, s.dataset.is_some(), &theirs),
                shape(client, workload, many, &ours)
            );
        }
        let history: History = store.history(&study)?;
        let mut done: Vec<(&Config, f64)> = history
            .trials
            .iter()
            .filter(|t| t.status == Status::Completed)
            .filter(|t| study.spec.objective.feasible(t))
            .filter_map(|t| Some((&t.config, t.value()?)))
            .filter(|(c, _)| space.encode(c).is_ok())
            .collect();
        if done.is_empty() {
            bail!(
                "--warm-start: study `{name}` has no completed trial in this search space to start from"
            );
        }
        let in_order: Vec<f64> = done.iter().map(|(_, v)| *v).collect();
        warm.from.push(WarmStart {
            study: name.to_owned(),
            trials: in_order.len(),
            near_best_after: WarmStart::near_best_after(&in_order),
        });
        warm.prior.extend(done.iter().map(|(c, v)| Observation {
            config: (*c).clone(),
            value: *v,
        }));
        done.sort_by(|a, b| a.1.total_cmp(&b.1));
        for (c, _) in done {
            if warm.points.len() >= BEST_FIRST * warm.from.len() {
                break;
            }
            if !warm.points.contains(c) {
                warm.points.push(c.clone());
            }
        }
    }
    Ok(warm)
}
