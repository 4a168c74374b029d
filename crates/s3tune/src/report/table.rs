//! The summary table a transfer study prints: the baseline, the no-search rules and the
//! best, each with its runs; the speedups with their intervals; where the outputs are.

use std::path::Path;

use s3tune_hpo::Status;

use super::{Row, Summary, dataset, files, stats};
use crate::experiment::knobs;

/// The emulated network and this machine's ceiling (bytes/s) without it, one line.
pub fn network_line(e: &crate::study::EmulatedNetwork, ceiling: Option<f64>) -> String {
    format!(
        "network: {} — link {}{}\n",
        e.description,
        e.link_bytes_per_sec
            .map_or("unlimited".into(), |l| format!("{:.0} MB/s", l / 1e6)),
        ceiling.map_or(String::new(), |m| format!(
            "; this machine's ceiling without it {:.0} MB/s",
            m / 1e6
        )),
    )
}

impl Summary {
    /// The summary for people.
    pub fn table(&self, dir: &Path) -> String {
        use std::fmt::Write;
        let s = &self.settings;
        let mut out = String::new();
        let done = self
            .rows
            .iter()
            .filter(|r| r.record.trial.status != Status::Pending)
            .count();
        let _ = writeln!(
            out,
            "study {}: {} trials ({} finished) in {} — {} ({}), measured with {}",
            self.study.spec.name,
            self.rows.len(),
            done,
            humantime::format_duration(std::time::Duration::from_secs(
                self.elapsed_seconds.round() as u64
            )),
            s.target,
            bytesize::ByteSize(s.object_bytes).display().iec(),
            s.client.label(s.workload),
        );
        if let Some(e) = &s.emulated {
            out.push_str(&network_line(e, self.machine_bytes_per_sec));
        }
        let objective = &self.study.spec.objective;
        if !objective.constraints.is_empty() {
            let measured: Vec<_> = self
                .rows
                .iter()
                .filter(|r| r.mean.is_some())
                .map(|r| &r.record.trial)
                .collect();
            let over = measured.iter().filter(|t| !objective.feasible(t)).count();
            let limits: Vec<String> = objective
                .constraints
                .iter()
                .map(crate::cli::show_limit)
                .collect();
            let _ = writeln!(
                out,
                "limits: {} — {over} of {} trials with results went over (never the best)",
                limits.join(" "),
                measured.len()
            );
        }
        for w in &s.warm_start {
            let _ = writeln!(
                out,
                "warm start from `{}`, which came within 5 % of its best after {} of its {} trials; this study after {}",
                w.study,
                w.near_best_after,
                w.trials,
                self.near_best_after()
            );
        }
        self.rows_lines(&mut out);
        self.front_lines(&mut out);
        self.headline_lines(&mut out);
        let _ = writeln!(
            out,
            "outputs: {} (summary.json{} trials.csv best_over_time.png/.svg{})",
            dir.display(),
            if self.best.is_some() {
                files::exports(s.client)
                    .iter()
                    .fold(String::new(), |a, f| a + " " + f)
            } else {
                String::new()
            },
            if self.study.spec.objective.also_minimize.is_empty() {
                ""
            } else {
                " pareto.png/.svg"
            }
        );
        out
    }

    /// The baseline's and the best's lines.
    fn rows_lines(&self, out: &mut String) {
        use std::fmt::Write;
        let s = &self.settings;
        let names: Vec<&str> = self.study.spec.space.params().map(|(k, _)| k).collect();
        let mut line = |label: &str, row: &Row| {
            let knobs: Vec<String> = names
                .iter()
                .map(|k| {
                    let v = row.record.trial.config.get(*k);
                    format!("{k}={}", v.map_or("?".into(), |v| knobs::show(k, v)))
                })
                .collect();
            let (lo, med, hi) = stats::min_median_max(&row.repeats).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {label:<22} {:>7.3} s  {:>7.1} MB/s  (runs min/median/max {lo:.3}/{med:.3}/{hi:.3})  {}",
                row.mean.unwrap_or(f64::NAN),
                row.mbps(s.object_bytes).unwrap_or(f64::NAN),
                knobs.join(" ")
            );
            if let Some(c) = super::costs::line(&row.record.trial) {
                let feasible = if self.study.spec.objective.feasible(&row.record.trial) {
                    ""
                } else {
                    "  — over a limit"
                };
                let _ = writeln!(out, "  {:<22} costs: {c}{feasible}", "");
            }
        };
        if let Some(b) = self.baseline {
            line(&format!("baseline ({})", s.baseline_short()), &self.rows[b]);
        }
        for rule in &s.rules {
            if let Some(r) = self
                .rows
                .iter()
                .find(|r| r.record.trial.config == rule.config && r.mean.is_some())
            {
                line(&format!("rule: {}", rule.name), r);
            }
        }
        let mut extra = String::new();
        dataset::lines(self, &mut extra, &mut line);
        if let Some(b) = self.best {
            line(
                &format!("best (trial {})", self.rows[b].record.trial.id),
                &self.rows[b],
            );
        }
        out.push_str(&extra);
    }

    /// The speedup's lines.
    fn headline_lines(&self, out: &mut String) {
        use std::fmt::Write;
        let s = &self.settings;
        match self.headline() {
            Some(h) => {
                let _ = write!(
                    out,
                    "speedup {:.2}× over {} ({:.0} % less time)",
                    h.speedup,
                    s.baseline_name(),
                    (1.0 - 1.0 / h.speedup) * 100.0
                );
                match h.ci95 {
                    Some((lo, hi)) => {
                        let _ = writeln!(
                            out,
                            ", 95 % interval [{lo:.2}, {hi:.2}] from {} interleaved runs each{}",
                            h.runs,
                            if lo <= 1.0 {
                                " — the interval includes no gain: the difference is noise"
                            } else {
                                ""
                            }
                        );
                    }
                    None => {
                        let _ = writeln!(out, " (trial means; no confirmation race)");
                    }
                }
                for (r, rule) in self.rule_speedups().iter().zip(&s.rules) {
                    let Some(p) = r.speedup else { continue };
                    let same = if s.baseline.as_ref() == Some(&rule.config) {
                        format!(" (the same settings as {})", s.baseline_name())
                    } else {
                        String::new()
                    };
                    let _ = write!(out, "  over {}{same}: {p:.2}×", r.label);
                    let _ = match r.ci95 {
                        Some((lo, hi)) if lo <= 1.0 => writeln!(
                            out,
                            " [{lo:.2}, {hi:.2}] — the interval includes no gain: the difference is noise"
                        ),
                        Some((lo, hi)) => writeln!(out, " [{lo:.2}, {hi:.2}]"),
                        None if p == 1.0 => writeln!(out, " (the best is this rule's setting)"),
                        None => writeln!(out, " (trial means; not raced)"),
                    };
                }
                if let Some(link) = s.emulated.as_ref().and_then(|e| e.link_bytes_per_sec)
                    && s.dataset.is_none()
                {
                    let _ = writeln!(
                        out,
                        "best uses {:.0} % of the emulated link",
                        s.object_bytes as f64 / h.best_seconds / link * 100.0
                    );
                }
            }
            None if s.baseline.is_none() => {
                let _ = writeln!(out, "no baseline (--no-baseline): no speedup measured");
            }
            None => {
                let _ = writeln!(
                    out,
                    "no speedup yet: the baseline or the best has no result"
                );
            }
        }
    }
}
