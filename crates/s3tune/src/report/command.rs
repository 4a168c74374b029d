//! The outputs of a study of a script (`s3tune tune --command …`): the summary table,
//! `summary.json`, `best.json`, `trials.csv` and the plot — rebuilt from the store alone,
//! like a download study's.

use std::path::Path;

use super::{plot, rfc3339, status_name};
use crate::study::CommandSettings;
use anyhow::Context;
use s3tune_hpo::{Mode, Status, Store, Study, TrialRecord};

/// A script study's trials, ready to report.
pub struct CommandSummary {
    study: Study,
    settings: CommandSettings,
    rows: Vec<TrialRecord>,
    best: Option<usize>,
    elapsed_seconds: f64,
}

impl CommandSummary {
    /// Reads the script study `study`, with its `settings`.
    pub fn load(
        store: &dyn Store,
        study: Study,
        settings: CommandSettings,
    ) -> anyhow::Result<Self> {
        let rows = store.trials(&study)?;
        let best = super::best_trial(&rows, &study.spec.objective);
        let elapsed_seconds = super::elapsed(&study, rows.iter());
        Ok(Self {
            study,
            settings,
            rows,
            best,
            elapsed_seconds,
        })
    }

    fn count(&self, status: Status) -> usize {
        self.rows
            .iter()
            .filter(|r| r.trial.status == status)
            .count()
    }

    /// Writes the files into `dir` and returns the table for stdout.
    pub fn write(&self, dir: &Path) -> anyhow::Result<String> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let put = |name: &str, text: &str| -> anyhow::Result<()> {
            let tmp = dir.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, text).with_context(|| format!("writing {name}"))?;
            std::fs::rename(&tmp, dir.join(name)).with_context(|| format!("writing {name}"))
        };
        let spec = &self.study.spec;
        let best = self.best.map(|b| &self.rows[b]);
        let summary = serde_json::json!({
            "study": spec.name,
            "command": self.settings.command,
            "metric": spec.objective.metric,
            "mode": spec.objective.mode,
            "best_value": best.and_then(|b| b.trial.value()),
            "best_trial": best.map(|b| b.trial.id),
            "best_config": best.map(|b| &b.trial.config),
            "trials": self.rows.len(),
            "completed": self.count(Status::Completed),
            "stopped": self.count(Status::Stopped),
            "failed": self.count(Status::Failed),
            "elapsed_seconds": self.elapsed_seconds,
        });
        put(
            "summary.json",
            &format!("{}\n", serde_json::to_string_pretty(&summary)?),
        )?;
        if let Some(b) = best {
            put(
                "best.json",
                &format!("{}\n", serde_json::to_string_pretty(&b.trial.config)?),
            )?;
        }
        put("trials.csv", &self.csv()?)?;
        plot::draw(&self.plot(), dir)?;
        Ok(self.table(dir))
    }

    fn csv(&self) -> anyhow::Result<String> {
        let params: Vec<&str> = self.study.spec.space.params().map(|(k, _)| k).collect();
        let steps = self
            .rows
            .iter()
            .map(|r| r.trial.reports.len())
            .max()
            .unwrap_or(0);
        let metric = &self.study.spec.objective.metric;
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = vec!["trial".into(), "status".into()];
        header.extend(params.iter().map(|p| (*p).to_owned()));
        header.extend((1..=steps).map(|s| format!("{metric}_{s}")));
        header.extend(["value", "start", "end", "error", "worker"].map(str::to_owned));
        w.write_record(&header)?;
        for r in &self.rows {
            let mut rec = vec![r.trial.id.to_string(), status_name(r.trial.status).into()];
            rec.extend(params.iter().map(|p| {
                r.trial
                    .config
                    .get(*p)
                    .map_or(String::new(), ToString::to_string)
            }));
            rec.extend((0..steps).map(|i| {
                r.trial
                    .reports
                    .get(i)
                    .filter(|v| v.is_finite())
                    .map_or(String::new(), ToString::to_string)
            }));
            rec.push(r.trial.value().map_or(String::new(), |v| v.to_string()));
            rec.push(rfc3339(r.started));
            rec.push(r.finished.map_or(String::new(), rfc3339));
            rec.push(r.error.clone().unwrap_or_default());
            rec.push(r.worker.clone());
            w.write_record(&rec)?;
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }

    fn plot(&self) -> plot::Plot {
        let dots = self
            .rows
            .iter()
            .filter_map(|r| {
                let at = r.finished?.duration_since(self.study.created).ok()?;
                Some((
                    at.as_secs_f64() / 60.0,
                    r.trial.value()?,
                    r.trial.status == Status::Completed,
                ))
            })
            .collect();
        let objective = &self.study.spec.objective;
        plot::Plot {
            title: format!(
                "s3tune: `{}`, study {}",
                self.settings.command, self.study.spec.name
            ),
            y_desc: format!("{} (last report of each trial)", objective.metric),
            dots,
            baseline: None,
            minimize: objective.mode == Mode::Min,
        }
    }

    fn table(&self, dir: &Path) -> String {
        let spec = &self.study.spec;
        let mut out = format!(
            "study {}: {} trials ({} completed, {} stopped early, {} failed) in {} — `{}`\n",
            spec.name,
            self.rows.len(),
            self.count(Status::Completed),
            self.count(Status::Stopped),
            self.count(Status::Failed),
            humantime::format_duration(std::time::Duration::from_secs(
                self.elapsed_seconds.round() as u64
            )),
            self.settings.command
        );
        match self.best.map(|b| &self.rows[b]) {
            Some(b) => {
                let config: Vec<String> = b
                    .trial
                    .config
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                out.push_str(&format!(
                    "best ({} {}): trial {}, {} = {}  {}\n",
                    spec.objective.metric,
                    if spec.objective.mode == Mode::Min {
                        "min"
                    } else {
                        "max"
                    },
                    b.trial.id,
                    spec.objective.metric,
                    b.trial.value().unwrap_or(f64::NAN),
                    config.join(" ")
                ));
            }
            None => out.push_str("no trial has a result yet\n"),
        }
        out.push_str(&format!(
            "outputs: {} (summary.json{} trials.csv best_over_time.png/.svg; trials/trial-N/std.out, std.err)\n",
            dir.display(),
            if self.best.is_some() { " best.json" } else { "" }
        ));
        out
    }
}
