//! Rows as both stores read them, before their JSON fields are parsed: one parser, so
//! SQLite and PostgreSQL studies read back the same.

use super::{StoreError, Study, StudySpec, TrialRecord, from_ms, parse_status};
use crate::history::{Metrics, Objective, Trial};
use crate::space::{Config, Space};

/// A study row.
pub(crate) struct RawStudy {
    pub id: i64,
    pub name: String,
    pub space: String,
    pub objective: String,
    pub searcher: String,
    pub scheduler: String,
    pub seed: i64,
    pub settings: String,
    pub created_ms: i64,
}

impl RawStudy {
    pub(crate) fn parse(self) -> Result<Study, StoreError> {
        let corrupt = |what: &str, reason: String| StoreError::Corrupt {
            study: self.name.clone(),
            what: what.into(),
            reason,
        };
        let space = Space::from_json(&self.space).map_err(|e| corrupt("space", e.to_string()))?;
        let objective: Objective = serde_json::from_str(&self.objective)
            .map_err(|e| corrupt("objective", e.to_string()))?;
        let settings =
            serde_json::from_str(&self.settings).map_err(|e| corrupt("settings", e.to_string()))?;
        let spec_of = |what: &str, text: &str| {
            if !text.starts_with('{') {
                return Err(corrupt(
                    what,
                    format!("`{text}` is how an earlier s3tune stored it; start a new study"),
                ));
            }
            Ok(text.to_owned())
        };
        let searcher = serde_json::from_str(&spec_of("searcher", &self.searcher)?)
            .map_err(|e| corrupt("searcher", e.to_string()))?;
        let scheduler = serde_json::from_str(&spec_of("scheduler", &self.scheduler)?)
            .map_err(|e| corrupt("scheduler", e.to_string()))?;
        Ok(Study {
            id: self.id,
            spec: StudySpec {
                name: self.name,
                space,
                objective,
                searcher,
                scheduler,
                // Stored as the same 64 bits, signed.
                seed: self.seed as u64,
                settings,
            },
            created: from_ms(self.created_ms),
        })
    }
}

/// A trial row.
pub(crate) struct RawTrial {
    pub number: i64,
    pub config: String,
    pub status: String,
    pub reports: String,
    pub metrics: String,
    pub error: Option<String>,
    pub worker: String,
    pub started_ms: i64,
    pub heartbeat_ms: i64,
    pub finished_ms: Option<i64>,
    pub lost: bool,
}

impl RawTrial {
    pub(crate) fn parse(self, study: &str) -> Result<TrialRecord, StoreError> {
        let corrupt = |what: &str, reason: String| StoreError::Corrupt {
            study: study.to_owned(),
            what: format!("trial {} {what}", self.number),
            reason,
        };
        let config: Config =
            serde_json::from_str(&self.config).map_err(|e| corrupt("config", e.to_string()))?;
        let reports = parse_reports(&self.reports).map_err(|e| corrupt("reports", e))?;
        let metrics =
            parse_metrics(&self.metrics).map_err(|e| corrupt("metrics", e.to_string()))?;
        let status = parse_status(&self.status)
            .ok_or_else(|| corrupt("status", format!("unknown status `{}`", self.status)))?;
        Ok(TrialRecord {
            trial: Trial {
                id: self.number as u64,
                config,
                status,
                reports,
                metrics,
            },
            error: self.error,
            worker: self.worker,
            started: from_ms(self.started_ms),
            heartbeat: from_ms(self.heartbeat_ms),
            finished: self.finished_ms.map(from_ms),
            lost: self.lost,
        })
    }
}

/// A trial's reports as stored: a JSON array in which a non-finite value is `null`
/// (JSON has no NaN).
pub(crate) fn parse_reports(text: &str) -> Result<Vec<f64>, String> {
    let values: Vec<Option<f64>> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// `reports` with `value` appended, as stored.
pub(crate) fn append_report(reports: &[f64], value: f64) -> String {
    let values: Vec<Option<f64>> = reports
        .iter()
        .chain([&value])
        .map(|v| v.is_finite().then_some(*v))
        .collect();
    serde_json::to_string(&values).expect("reports serialize")
}

/// A trial's measures per report as stored: a JSON array of objects (a non-finite value
/// is left out of its object).
pub(crate) fn parse_metrics(text: &str) -> Result<Vec<Metrics>, serde_json::Error> {
    serde_json::from_str(text)
}

/// A running trial's stored reports and measures (`reports`, `measured`, as read from
/// its row) with the step `value`, `step` appended, as both stores write them back.
pub(crate) fn next_step(
    study: &Study,
    trial: u64,
    reports: &str,
    measured: &str,
    value: f64,
    step: &Metrics,
) -> Result<(String, String), StoreError> {
    let corrupt = |what: &str, reason: String| StoreError::Corrupt {
        study: study.spec.name.clone(),
        what: format!("trial {trial} {what}"),
        reason,
    };
    let values = parse_reports(reports).map_err(|r| corrupt("reports", r))?;
    let measured = parse_metrics(measured).map_err(|e| corrupt("metrics", e.to_string()))?;
    Ok(append_step(&values, &measured, value, step))
}

/// A trial's reports and measures with one more step appended, as stored. A step that
/// measured nothing is stored as `{}` only when an earlier or this step measured
/// something, so both arrays stay aligned and a trial that measures nothing keeps `[]`.
fn append_step(
    reports: &[f64],
    metrics: &[Metrics],
    value: f64,
    step: &Metrics,
) -> (String, String) {
    let reports_text = append_report(reports, value);
    let mut all = metrics.to_vec();
    if !(all.is_empty() && step.is_empty()) {
        all.resize(reports.len(), Metrics::new());
        all.push(
            step.iter()
                .filter(|(_, v)| v.is_finite())
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        );
    }
    let metrics_text = serde_json::to_string(&all).expect("metrics serialize");
    (reports_text, metrics_text)
}

/// A configuration as stored, with its hash.
pub(crate) fn config_text(config: &Config) -> (String, String) {
    (
        serde_json::to_string(config).expect("configurations serialize"),
        format!("{:016x}", crate::space::config_hash(config)),
    )
}

/// The number the next trial of a study gets: one more than any trial's, lost ones too.
pub(crate) fn next_number(records: &[TrialRecord]) -> u64 {
    records.iter().map(|r| r.trial.id).max().unwrap_or(0) + 1
}

/// The history the searcher decides from, of a study's trials: lost trials say nothing
/// about their configuration and are left out.
pub(crate) fn history_of(records: &[TrialRecord]) -> crate::history::History {
    crate::history::History {
        trials: records
            .iter()
            .filter(|r| !r.lost)
            .map(|r| r.trial.clone())
            .collect(),
    }
}

/// A new trial record as a claim returns it.
pub(crate) fn claimed(
    number: u64,
    config: Config,
    worker: &str,
    now: std::time::SystemTime,
) -> TrialRecord {
    TrialRecord {
        trial: Trial {
            id: number,
            config,
            status: crate::history::Status::Pending,
            reports: Vec::new(),
            metrics: Vec::new(),
        },
        error: None,
        worker: worker.to_owned(),
        started: now,
        heartbeat: now,
        finished: None,
        lost: false,
    }
}
