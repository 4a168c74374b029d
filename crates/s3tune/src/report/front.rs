//! A study with several objectives (`--objective seconds,memory`): its Pareto front in
//! the table, the knee marked (the best, which the exports are written for), and
//! `report --pick N` to write them for another point of the front.

use std::fmt::Write;

use s3tune_hpo::{History, pareto};

use super::Summary;
use crate::cli::OBJECTIVES;

impl Summary {
    /// The rows on the Pareto front, fastest first (none with one objective).
    pub(super) fn front_rows(&self) -> Vec<usize> {
        let objective = &self.study.spec.objective;
        if objective.also_minimize.is_empty() {
            return Vec::new();
        }
        let history = History {
            trials: self
                .rows
                .iter()
                .filter(|r| !r.record.lost)
                .map(|r| r.record.trial.clone())
                .collect(),
        };
        let ids: Vec<u64> = pareto::front(&history, objective)
            .iter()
            .map(|t| t.id)
            .collect();
        let mut rows: Vec<usize> = (0..self.rows.len())
            .filter(|&i| ids.contains(&self.rows[i].record.trial.id))
            .collect();
        let value = |i: usize| self.rows[i].record.trial.value().unwrap_or(f64::INFINITY);
        rows.sort_by(|&a, &b| value(a).total_cmp(&value(b)));
        rows
    }

    /// Makes trial `id` of the front the one the outputs are written for.
    pub fn pick(&mut self, id: u64) -> anyhow::Result<()> {
        let name = &self.study.spec.name;
        let front = self.front_rows();
        if front.is_empty() {
            anyhow::bail!(
                "study `{name}` minimizes the seconds alone: it has one best, no front to pick from (tune with --objective seconds,memory for one)"
            );
        }
        let Some(&row) = front.iter().find(|&&i| self.rows[i].record.trial.id == id) else {
            let ids: Vec<String> = front
                .iter()
                .map(|&i| self.rows[i].record.trial.id.to_string())
                .collect();
            anyhow::bail!(
                "trial {id} is not on study `{name}`'s front; its trials are {}",
                ids.join(", ")
            );
        };
        self.best = Some(row);
        Ok(())
    }

    /// What `pareto.svg` shows: every trial with a result and the first other objective,
    /// the front, the best (none with one objective).
    pub(super) fn front_plot(&self) -> Option<super::front_plot::FrontPlot> {
        let front = self.front_rows();
        let objective = &self.study.spec.objective;
        let other = objective.also_minimize.first()?;
        let (scale, y_desc) = match other.as_str() {
            crate::experiment::costs::MEMORY => ((1u64 << 20) as f64, "peak memory (MiB)"),
            crate::experiment::costs::CPU => (1.0, "CPU seconds"),
            crate::experiment::costs::COST => (1.0, "request cost (US dollars)"),
            _ => (1.0, "requests"),
        };
        let point = |i: usize| {
            let r = &self.rows[i];
            Some((r.mean?, r.record.trial.metric(other)? / scale))
        };
        let dots = (0..self.rows.len())
            .filter_map(|i| point(i).map(|(x, y)| (x, y, front.contains(&i))))
            .collect();
        let name = OBJECTIVES
            .iter()
            .find(|(_, m)| m == other)
            .map_or(other.as_str(), |(k, _)| *k);
        Some(super::front_plot::FrontPlot {
            title: format!("{}: seconds against {name}", self.study.spec.name),
            y_desc: y_desc.to_owned(),
            dots,
            best: self.best.and_then(point),
        })
    }

    /// The front's lines: each point's seconds and other objectives, the best marked.
    pub(super) fn front_lines(&self, out: &mut String) {
        let front = self.front_rows();
        if front.is_empty() {
            return;
        }
        let objective = &self.study.spec.objective;
        let names: Vec<&str> = objective
            .also_minimize
            .iter()
            .map(|m| {
                OBJECTIVES
                    .iter()
                    .find(|(_, metric)| metric == m)
                    .map_or(m.as_str(), |(k, _)| *k)
            })
            .collect();
        let _ = writeln!(
            out,
            "Pareto front of seconds, {} ({} trials; none is better in every respect):",
            names.join(", "),
            front.len()
        );
        for &i in &front {
            let t = &self.rows[i].record.trial;
            let others: Vec<String> = objective
                .also_minimize
                .iter()
                .zip(&names)
                .map(|(m, n)| {
                    let v = t.metric(m).unwrap_or(f64::NAN);
                    match *n {
                        "memory" => {
                            format!("memory {}", bytesize::ByteSize(v as u64).display().iec())
                        }
                        "cpu" => format!("cpu {v:.2} s"),
                        "cost" => format!("cost ${v:.7}"),
                        _ => format!("{n} {v:.0}"),
                    }
                })
                .collect();
            let mark = if Some(i) == self.best {
                "  ← best (the knee, or picked): the exports are for this one"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  trial {:>3}  {:>7.3} s  {}{mark}",
                t.id,
                self.rows[i].mean.unwrap_or(f64::NAN),
                others.join("  ")
            );
        }
    }
}
