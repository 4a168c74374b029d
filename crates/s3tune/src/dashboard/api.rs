//! What the page reads: the storage's studies (the `study list` columns) and one study in
//! full — its trials with their configurations, runs, costs and workers, the best trial,
//! the Pareto front and the workers' heartbeats — as JSON built from the store alone, so
//! the page shows what any process reading the storage would.

use std::collections::BTreeMap;
use std::time::SystemTime;

use s3tune_hpo::{Domain, History, Scale, Status, Store, TrialRecord, pareto};
use serde_json::{Value, json};

/// Milliseconds since the Unix epoch, as the page's clock reads them.
fn ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Every study of the store, one `study list` row each.
pub fn studies(store: &dyn Store) -> anyhow::Result<Value> {
    let mut rows = Vec::new();
    for name in store.studies()? {
        if let Some(study) = store.study(&name)? {
            rows.push(crate::commands::study_row(store, &study)?);
        }
    }
    Ok(json!({ "storage": store.location(), "studies": rows }))
}

/// Study `name` in full; `None` when the store has no such study.
pub fn study(store: &dyn Store, name: &str) -> anyhow::Result<Option<Value>> {
    let Some(study) = store.study(name)? else {
        return Ok(None);
    };
    let records = store.trials(&study)?;
    let objective = &study.spec.objective;
    let history = History {
        trials: records
            .iter()
            .filter(|r| !r.lost)
            .map(|r| r.trial.clone())
            .collect(),
    };
    let best = history.best(objective).map(|t| t.id);
    let front: Vec<u64> = if objective.also_minimize.is_empty() {
        Vec::new()
    } else {
        pareto::front(&history, objective)
            .iter()
            .map(|t| t.id)
            .collect()
    };
    let params: Vec<Value> = study
        .spec
        .space
        .params()
        .map(|(name, d)| {
            let (kind, log) = match d {
                Domain::Int { scale, .. } => ("int", *scale == Scale::Log),
                Domain::Float { scale, .. } => ("float", *scale == Scale::Log),
                Domain::Ordinal(_) => ("ordinal", false),
                Domain::Categorical(_) => ("categorical", false),
                Domain::Fixed(_) => ("fixed", false),
            };
            json!({ "name": name, "kind": kind, "log": log })
        })
        .collect();
    let compare = store
        .notes(&study)?
        .remove(crate::commands::compare::NOTE)
        .unwrap_or(Value::Null);
    let trials: Vec<Value> = records
        .iter()
        .map(|r| trial(r, objective.feasible(&r.trial)))
        .collect();
    Ok(Some(json!({
        "name": study.spec.name,
        "created": ms(study.created),
        "metric": objective.metric,
        "mode": objective.mode,
        "also_minimize": objective.also_minimize,
        "limits": objective.constraints,
        "settings": study.spec.settings,
        "params": params,
        "best": best,
        "front": front,
        "workers": workers(&records),
        "compare": compare,
        "trials": trials,
    })))
}

/// The exports of trial `trial` of transfer study `name` (`best.toml`, `boto3.py`, …, as
/// `tune` writes them for the best): `None` when there is no such study or trial, or it
/// tunes a script (which has no exports).
pub fn exports(store: &dyn Store, name: &str, trial: u64) -> anyhow::Result<Option<Value>> {
    let Some(study) = store.study(name)? else {
        return Ok(None);
    };
    if !matches!(
        crate::study::StudyKind::of(&study)?,
        crate::study::StudyKind::Transfer(_)
    ) {
        return Ok(None);
    }
    let summary = crate::report::Summary::load(store, name)?;
    let Some(row) = summary.rows.iter().position(|r| r.record.trial.id == trial) else {
        return Ok(None);
    };
    let files = crate::report::files::export_texts(&summary, row)?;
    Ok(Some(Value::Array(
        files
            .into_iter()
            .map(|(file, text)| json!({ "file": file, "text": text }))
            .collect(),
    )))
}

/// One trial as the page shows it.
fn trial(r: &TrialRecord, feasible: bool) -> Value {
    let t = &r.trial;
    json!({
        "id": t.id,
        "status": status(r),
        "config": t.config,
        "reports": t.reports,
        "metrics": t.metrics,
        "value": t.value(),
        "feasible": feasible,
        "error": r.error,
        "worker": r.worker,
        "started": ms(r.started),
        "heartbeat": ms(r.heartbeat),
        "finished": r.finished.map(ms),
    })
}

/// The trial's state in the words of the table (`lost`: its worker died).
fn status(r: &TrialRecord) -> &'static str {
    if r.lost {
        return "lost";
    }
    match r.trial.status {
        Status::Pending => "running",
        Status::Completed => "completed",
        Status::Stopped => "stopped",
        Status::Failed => "failed",
    }
}

/// Each worker that ran a trial: how many, how many now, its last heartbeat, and how many
/// of its trials were lost.
fn workers(records: &[TrialRecord]) -> Vec<Value> {
    #[derive(Default)]
    struct W {
        trials: usize,
        running: usize,
        lost: usize,
        last: u64,
    }
    let mut by: BTreeMap<&str, W> = BTreeMap::new();
    for r in records {
        let w = by.entry(r.worker.as_str()).or_default();
        w.trials += 1;
        w.running += usize::from(r.trial.status == Status::Pending && !r.lost);
        w.lost += usize::from(r.lost);
        w.last = w.last.max(ms(r.heartbeat)).max(r.finished.map_or(0, ms));
    }
    by.into_iter()
        .map(|(name, w)| {
            json!({
                "worker": name,
                "trials": w.trials,
                "running": w.running,
                "lost": w.lost,
                "last_seen": w.last,
            })
        })
        .collect()
}
