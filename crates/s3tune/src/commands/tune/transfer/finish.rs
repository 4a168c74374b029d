//! The end of a transfer tune: what the run came to, the confirmation race of the best
//! against boto3's defaults, the bucket swept, the reports written.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use s3tune_hpo::{Status, StopReason};

use super::super::race::race;
use crate::cli::TuneArgs;
use crate::commands::display::Display;
use crate::commands::{Stop, exit};
use crate::experiment::Runner;
use crate::report::{Race, RuleRuns, Summary};
use crate::study::Rule;
use crate::study::run::Ran;
use crate::study::session::Session;
use crate::study::target::Opened;

/// What the end needs.
pub struct End<'a> {
    /// The flags.
    pub args: &'a TuneArgs,
    /// The study.
    pub session: &'a Session,
    /// The target: swept, then dropped (the emulator stops, a synthetic source goes).
    pub opened: Opened,
    /// Who moved the bytes, for the race.
    pub runner: Runner,
    /// The live display.
    pub display: Display,
    /// The output folder.
    pub out: &'a Path,
}

impl End<'_> {
    /// Races, sweeps, reports; returns the exit code.
    pub async fn finish(self, ran: Ran, stop: &Stop) -> anyhow::Result<ExitCode> {
        let interrupted = ran.why == StopReason::Interrupted;
        if ran.why == StopReason::Exhausted {
            self.display
                .line("every configuration of the space has been tried");
        }
        let failed = ran.outcome.none_succeeded().filter(|_| !interrupted);
        if failed.is_some() || (ran.why == StopReason::Failing && !interrupted) {
            self.close().await?;
            if let Some(line) = failed {
                eprintln!("s3tune: {line}");
                return Ok(ExitCode::from(exit::NO_TRIAL_SUCCEEDED));
            }
            bail!("{}", ran.outcome.failing_line());
        }
        if !interrupted && let Some(line) = self.none_feasible()? {
            self.close().await?;
            bail!("{line}");
        }
        let mut code = if interrupted {
            ExitCode::from(exit::INTERRUPTED)
        } else {
            ExitCode::SUCCESS
        };
        if !interrupted && self.args.confirm > 0 && !self.confirm(stop).await? {
            code = ExitCode::from(exit::INTERRUPTED);
        }
        let table = self.close().await?;
        print!("{table}");
        self.baseline_failed()?;
        if code != ExitCode::SUCCESS {
            eprintln!(
                "s3tune: interrupted; the study is saved — resume with: s3tune tune{}{} --study {} --storage {}",
                match &self.args.upload {
                    None => String::new(),
                    Some(None) => " --upload".to_owned(),
                    Some(Some(p)) => format!(" --upload {}", p.display()),
                },
                self.args
                    .target
                    .as_deref()
                    .map_or(String::new(), |t| format!(" {t}")),
                self.session.name(),
                self.session.again(),
            );
        }
        Ok(code)
    }

    /// The confirmation race of the best against the baseline, recorded with the study;
    /// `false` when interrupted.
    async fn confirm(&self, stop: &Stop) -> anyhow::Result<bool> {
        let (store, study) = (&self.session.store, &self.session.study);
        let summary = Summary::load(store.as_ref(), self.session.name())?;
        let (Some(b), Some(x)) = (summary.baseline, summary.best) else {
            return Ok(true);
        };
        if b == x {
            return Ok(true);
        }
        let base = &summary.rows[b].record.trial.config;
        let best = &summary.rows[x].record.trial;
        let n = self.args.confirm;
        // The rules whose settings differ from both (a rule that is the best, or the
        // baseline, needs no race of its own).
        let rules: Vec<&Rule> = summary
            .settings
            .rules
            .iter()
            .filter(|r| &r.config != base && r.config != best.config)
            .collect();
        let runner = &self.runner;
        let mut contenders = vec![(runner, base), (runner, &best.config)];
        contenders.extend(rules.iter().map(|r| (runner, &r.config)));
        let what = if rules.is_empty() {
            format!("best against {}", summary.settings.baseline_name())
        } else {
            format!(
                "best against {} and the no-search rules",
                summary.settings.baseline_name()
            )
        };
        match race(&contenders, n, stop, &self.display, &what).await {
            Ok(Some(mut runs)) => {
                let rule_runs = runs
                    .split_off(2)
                    .into_iter()
                    .zip(&rules)
                    .map(|(runs, r)| RuleRuns {
                        name: r.name.clone(),
                        runs,
                    })
                    .collect();
                let race = Race {
                    best_trial: best.id,
                    best: runs.pop().unwrap_or_default(),
                    baseline: runs.pop().unwrap_or_default(),
                    rules: rule_runs,
                };
                store.put_note(study, "race", &serde_json::to_value(&race)?)?;
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => {
                tracing::warn!("the confirmation race failed: {e}");
                Ok(true)
            }
        }
    }

    /// Clears the display, sweeps what the study wrote, stops the emulator, and writes
    /// the reports; returns the table.
    async fn close(&self) -> anyhow::Result<String> {
        self.display.clear();
        if let Err(e) = self.opened.sweep(self.session).await {
            tracing::warn!("{e}");
        }
        let summary = Summary::load(self.session.store.as_ref(), self.session.name())?;
        summary.write(self.out)
    }

    /// When the study has limits, trials with results, and not one kept the limits: what
    /// to say (each limit with the least any trial used). Such a study has no best, so
    /// nothing to race or export.
    fn none_feasible(&self) -> anyhow::Result<Option<String>> {
        let objective = &self.session.study.spec.objective;
        if objective.constraints.is_empty() {
            return Ok(None);
        }
        let history = self.session.store.history(&self.session.study)?;
        let done: Vec<_> = history
            .trials
            .iter()
            .filter(|t| t.value().is_some())
            .collect();
        if done.is_empty() || done.iter().any(|t| objective.feasible(t)) {
            return Ok(None);
        }
        let least: Vec<String> = objective
            .constraints
            .iter()
            .map(|c| {
                let least = done
                    .iter()
                    .filter_map(|t| t.metric(&c.metric))
                    .reduce(f64::min);
                let shown = match least {
                    None => "never measured for this client and target".to_owned(),
                    Some(v) if c.metric == crate::experiment::costs::MEMORY => format!(
                        "the least any used was {}",
                        bytesize::ByteSize(v as u64).display().iec()
                    ),
                    Some(v) => format!("the least any used was {v:.4}"),
                };
                format!("{}: {shown}", crate::cli::show_limit(c))
            })
            .collect();
        Ok(Some(format!(
            "none of the {} trials with results kept the study's limits ({}); loosen them, or tune with a space that reaches them",
            done.len(),
            least.join("; ")
        )))
    }

    /// An error when the baseline (boto3's defaults) was tried and failed: there is no
    /// speedup to give, and the reason is what the user needs.
    fn baseline_failed(&self) -> anyhow::Result<()> {
        let summary = Summary::load(self.session.store.as_ref(), self.session.name())?;
        let Some(baseline) = summary.settings.baseline.as_ref() else {
            return Ok(());
        };
        if summary.baseline.is_some() {
            return Ok(());
        }
        let reason = summary
            .rows
            .iter()
            .find(|r| &r.record.trial.config == baseline && r.record.trial.status == Status::Failed)
            .and_then(|r| r.record.error.clone());
        match reason {
            Some(reason) => bail!(
                "the baseline ({}) failed: {reason}",
                summary.settings.baseline_name()
            ),
            None => Ok(()),
        }
    }
}
