//! A study's results, rebuilt from the store alone: the summary table, `summary.json`,
//! the exports (`best.toml`, `boto3.py`, `aws-cli.ini`), `trials.csv` and the plot.
//!
//! `s3tune tune` renders them when it ends and `s3tune report` at any time — while the
//! study runs too — so nothing here may depend on the process that ran the trials.

pub mod bars;
pub mod command;
mod costs;
pub mod dataset;
pub(crate) mod files;
mod front;
mod front_plot;
mod plot;
pub mod stats;
mod table;

pub use table::network_line;

use std::path::Path;
use std::time::SystemTime;

use anyhow::Context;
use s3tune_hpo::{History, Objective, Status, Store, Study, TrialRecord};
use serde::{Deserialize, Serialize};

use crate::study::{StudyKind, TransferSettings};

/// The confirmation race, as stored in the study's notes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Race {
    /// The trial whose configuration raced the baseline.
    pub best_trial: u64,
    /// Seconds of the baseline's runs, in order.
    pub baseline: Vec<f64>,
    /// Seconds of the best's runs, each in the same round as its baseline run.
    pub best: Vec<f64>,
    /// The no-search rules' runs, in the same rounds (a rule whose settings are the
    /// baseline's or the best's has none).
    #[serde(default)]
    pub rules: Vec<RuleRuns>,
}

/// A rule's runs in the race.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleRuns {
    /// The rule's name (`crt`, `climb`).
    pub name: String,
    /// Seconds of each run.
    pub runs: Vec<f64>,
}

/// How the best compares with a no-search rule.
#[derive(Debug, Clone)]
pub struct RuleSpeedup {
    /// The rule's name.
    pub name: String,
    /// What it is and chose.
    pub label: String,
    /// Its mean seconds (the race's, else its trial's).
    pub seconds: Option<f64>,
    /// Its seconds over the best's (1 when the best is the rule's configuration).
    pub speedup: Option<f64>,
    /// 95 % interval of that, from the race.
    pub ci95: Option<(f64, f64)>,
}

/// One trial for the reports.
#[derive(Debug, Clone)]
pub struct Row {
    /// The stored trial.
    pub record: TrialRecord,
    /// Each download's seconds.
    pub repeats: Vec<f64>,
    /// Mean seconds, if the trial has a usable result.
    pub mean: Option<f64>,
}

impl Row {
    /// MB/s (10⁶ bytes) at the mean.
    pub fn mbps(&self, bytes: u64) -> Option<f64> {
        self.mean.map(|m| bytes as f64 / m / 1e6)
    }
}

/// Everything the outputs are drawn from.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The study.
    pub study: Study,
    /// Its settings.
    pub settings: TransferSettings,
    /// Every trial.
    pub rows: Vec<Row>,
    /// Index of the baseline trial in `rows` (the first with a result).
    pub baseline: Option<usize>,
    /// Index of the best trial: the fastest that ran all its repeats (else any).
    pub best: Option<usize>,
    /// The confirmation race, if one ran.
    pub race: Option<Race>,
    /// The machine's ceiling measured when the study last ran (bytes/s).
    pub machine_bytes_per_sec: Option<f64>,
    /// Seconds from the study's creation to its last finished trial.
    pub elapsed_seconds: f64,
}

/// The position of a study's best trial among `records`, by the one rule of
/// [`History::best`].
pub fn best_trial<'a>(
    records: impl IntoIterator<Item = &'a TrialRecord>,
    objective: &Objective,
) -> Option<usize> {
    let records: Vec<&TrialRecord> = records.into_iter().collect();
    let history = History {
        trials: records
            .iter()
            .filter(|r| !r.lost)
            .map(|r| r.trial.clone())
            .collect(),
    };
    let best = history.best(objective)?.id;
    records.iter().position(|r| r.trial.id == best)
}

impl Summary {
    /// Reads the study `name` from `store`.
    pub fn load(store: &dyn Store, name: &str) -> anyhow::Result<Self> {
        let study = store
            .study(name)?
            .with_context(|| format!("no study `{name}` in {}", store.location()))?;
        let StudyKind::Transfer(settings) = StudyKind::of(&study)? else {
            anyhow::bail!("study `{name}` tunes a script, not a transfer");
        };
        let notes = store.notes(&study)?;
        let rows: Vec<Row> = store
            .trials(&study)?
            .into_iter()
            .map(|record| Row {
                repeats: crate::experiment::repeats_of(&record.trial.reports),
                mean: record.trial.value(),
                record,
            })
            .collect();
        let baseline = settings.baseline.as_ref().and_then(|b| {
            rows.iter()
                .position(|r| &r.record.trial.config == b && r.mean.is_some())
        });
        let best = best_trial(rows.iter().map(|r| &r.record), &study.spec.objective);
        let race: Option<Race> = notes
            .get("race")
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        let machine_bytes_per_sec = notes
            .get("machine")
            .and_then(|v| v["ceiling_bytes_per_sec"].as_f64());
        let elapsed_seconds = elapsed(&study, rows.iter().map(|r| &r.record));
        Ok(Self {
            study,
            settings: *settings,
            rows,
            baseline,
            best,
            race,
            machine_bytes_per_sec,
            elapsed_seconds,
        })
    }

    /// After how many of its completed trials this study came within 5 % of its best
    /// (the measure a warm start is judged by).
    pub fn near_best_after(&self) -> usize {
        let values: Vec<f64> = self
            .rows
            .iter()
            .filter(|r| r.record.trial.status == Status::Completed)
            .filter(|r| self.study.spec.objective.feasible(&r.record.trial))
            .filter_map(|r| r.mean)
            .collect();
        crate::study::WarmStart::near_best_after(&values)
    }

    /// The race counts only if it raced the current best.
    fn current_race(&self) -> Option<&Race> {
        let best = self.best?;
        self.race
            .as_ref()
            .filter(|r| r.best_trial == self.rows[best].record.trial.id)
    }

    /// Baseline and best seconds, speedup and its interval: from the race when one ran
    /// for the current best, else from the trials (no interval).
    pub fn headline(&self) -> Option<Headline> {
        let base = self.rows.get(self.baseline?)?;
        let best = self.rows.get(self.best?)?;
        if let Some(race) = self.current_race()
            && let Some((speedup, lo, hi)) = stats::paired_speedup(&race.baseline, &race.best)
        {
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            return Some(Headline {
                baseline_seconds: mean(&race.baseline),
                best_seconds: mean(&race.best),
                speedup,
                ci95: Some((lo, hi)),
                runs: race.baseline.len(),
            });
        }
        let (b, x) = (base.mean?, best.mean?);
        Some(Headline {
            baseline_seconds: b,
            best_seconds: x,
            speedup: b / x,
            ci95: None,
            runs: 0,
        })
    }

    /// The best against each no-search rule: from the race when it ran them against
    /// the current best, else from the rules' trials.
    pub fn rule_speedups(&self) -> Vec<RuleSpeedup> {
        let best = self.best.map(|b| &self.rows[b]);
        let race = self.current_race();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        self.settings
            .rules
            .iter()
            .map(|rule| {
                let trial = self
                    .rows
                    .iter()
                    .find(|r| r.record.trial.config == rule.config && r.mean.is_some());
                let raced = race.and_then(|r| {
                    let runs = &r.rules.iter().find(|x| x.name == rule.name)?.runs;
                    let (p, lo, hi) = stats::paired_speedup(runs, &r.best)?;
                    Some((mean(runs), p, (lo, hi)))
                });
                let is_best = best.is_some_and(|b| b.record.trial.config == rule.config);
                let is_baseline = self.settings.baseline.as_ref() == Some(&rule.config);
                let (seconds, speedup, ci95) = match (raced, is_best) {
                    (Some((s, p, ci)), _) => (Some(s), Some(p), Some(ci)),
                    (None, true) => (best.and_then(|b| b.mean), Some(1.0), None),
                    (None, false) if is_baseline && self.headline().is_some() => {
                        let h = self.headline().expect("checked");
                        (Some(h.baseline_seconds), Some(h.speedup), h.ci95)
                    }
                    (None, false) => {
                        let s = trial.and_then(|t| t.mean);
                        let x = best.and_then(|b| b.mean);
                        (s, s.zip(x).map(|(s, x)| s / x), None)
                    }
                };
                RuleSpeedup {
                    name: rule.name.clone(),
                    label: rule.label.clone(),
                    seconds,
                    speedup,
                    ci95,
                }
            })
            .collect()
    }

    /// Renders every output file into `dir` and returns the table for stdout.
    pub fn write(&self, dir: &Path) -> anyhow::Result<String> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        files::write_all(self, dir)?;
        plot::draw(&self.plot(), dir)?;
        if let Some(p) = self.front_plot() {
            front_plot::draw(&p, dir)?;
        }
        Ok(self.table(dir))
    }

    /// What `best_over_time` shows.
    fn plot(&self) -> plot::Plot {
        let dots = self
            .rows
            .iter()
            .filter_map(|r| {
                let at = r.record.finished?.duration_since(self.study.created).ok()?;
                Some((
                    at.as_secs_f64() / 60.0,
                    r.mean?,
                    r.record.trial.status == Status::Completed,
                ))
            })
            .collect();
        plot::Plot {
            title: format!(
                "s3tune: {} of {} ({}), study {}",
                self.settings.verb(),
                self.settings.target,
                bytesize::ByteSize(self.settings.object_bytes)
                    .display()
                    .iec(),
                self.study.spec.name
            ),
            y_desc: format!(
                "seconds per {} (mean of the trial's runs)",
                self.settings.verb()
            ),
            dots,
            baseline: self
                .baseline
                .and_then(|b| self.rows[b].mean)
                .map(|b| (b, self.settings.baseline_name().to_owned())),
            minimize: true,
        }
    }
}

/// The result in four numbers.
#[derive(Debug, Clone, Copy)]
pub struct Headline {
    /// Mean seconds of boto3's defaults.
    pub baseline_seconds: f64,
    /// Mean seconds of the best configuration.
    pub best_seconds: f64,
    /// `baseline / best`.
    pub speedup: f64,
    /// 95 % interval of the speedup, when a race measured it.
    pub ci95: Option<(f64, f64)>,
    /// Runs per side in the race.
    pub runs: usize,
}

/// Seconds from the study's creation to its last finished trial.
pub fn elapsed<'a>(study: &Study, trials: impl Iterator<Item = &'a TrialRecord>) -> f64 {
    trials
        .filter_map(|t| t.finished)
        .max()
        .unwrap_or(study.created)
        .duration_since(study.created)
        .unwrap_or_default()
        .as_secs_f64()
}

/// How a status is written in the CSVs (as the store spells it).
pub fn status_name(s: Status) -> &'static str {
    match s {
        Status::Pending => "running",
        Status::Completed => "completed",
        Status::Failed => "failed",
        Status::Stopped => "stopped",
    }
}

/// Renders study `name` of either kind (a transfer, or a script) into `dir`; returns the
/// table for stdout.
/// `pick`: with several objectives, the trial of the front the exports are written for
/// (default: the knee).
pub fn render(
    store: &dyn Store,
    name: &str,
    dir: &Path,
    pick: Option<u64>,
) -> anyhow::Result<String> {
    let study = store
        .study(name)?
        .with_context(|| format!("no study `{name}` in {}", store.location()))?;
    match StudyKind::of(&study)? {
        StudyKind::Command(settings) => {
            if pick.is_some() {
                anyhow::bail!(
                    "study `{name}` tunes a script with one metric: it has no front to --pick from"
                );
            }
            command::CommandSummary::load(store, study, settings)?.write(dir)
        }
        StudyKind::Transfer(_) => {
            let mut summary = Summary::load(store, name)?;
            if let Some(id) = pick {
                summary.pick(id)?;
            }
            summary.write(dir)
        }
    }
}

/// Milliseconds since the epoch as RFC 3339.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}
