//! What a comparison shows: the table on stdout, `compare.json`, and the bar plot
//! (`compare.svg`, `.png`), all from the clients' stored studies and the race.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use plotters::style::RGBColor;

use super::{Entry, Outcome};
use crate::experiment::knobs;
use crate::report::bars::{Bar, Bars, Series};
use crate::report::{Row, stats};

/// One client's figures.
struct Line<'a> {
    entry: &'a Entry,
    /// Its defaults' trial.
    defaults: Option<&'a Row>,
    /// The faster rule's trial, and its name.
    auto: Option<(&'a Row, &'a str)>,
    /// The best's seconds: the race's runs, else its trial's runs.
    tuned_runs: Vec<f64>,
    /// Its speedup over the reference, with the interval, from the race.
    speedup: Option<(f64, f64, f64)>,
}

fn lines<'a>(o: &'a Outcome) -> Vec<Line<'a>> {
    o.entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let s = &entry.summary;
            let defaults = s.baseline.map(|b| &s.rows[b]);
            let auto = s
                .settings
                .rules
                .iter()
                .filter_map(|rule| {
                    let row = s
                        .rows
                        .iter()
                        .find(|r| r.record.trial.config == rule.config && r.mean.is_some())?;
                    Some((row, rule.name.as_str()))
                })
                .min_by(|a, b| {
                    a.0.mean
                        .unwrap_or(f64::MAX)
                        .total_cmp(&b.0.mean.unwrap_or(f64::MAX))
                });
            let raced = o
                .race
                .as_ref()
                .and_then(|r| r.best_runs.get(i).cloned().flatten().map(|runs| (r, runs)));
            let (tuned_runs, speedup) = match raced {
                Some((r, runs)) => {
                    let speedup = stats::paired_speedup(&r.reference_runs, &runs);
                    (runs, speedup)
                }
                None => (
                    s.best
                        .map(|b| s.rows[b].repeats.clone())
                        .unwrap_or_default(),
                    None,
                ),
            };
            Line {
                entry,
                defaults,
                auto,
                tuned_runs,
                speedup,
            }
        })
        .collect()
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// What a comparison wrote: the table for stdout, and `compare.json`'s document (which
/// the clients' studies keep as their note `compare`, for the dashboard).
pub struct Written {
    pub table: String,
    pub json: serde_json::Value,
}

/// Writes `compare.json` and the plot into `dir`.
pub fn write(o: &Outcome, dir: &Path) -> anyhow::Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let lines = lines(o);
    let json = json(o, &lines);
    let path = dir.join("compare.json");
    let tmp = dir.join(".compare.json.tmp");
    std::fs::write(&tmp, format!("{}\n", serde_json::to_string_pretty(&json)?))
        .with_context(|| format!("writing {}", path.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    if !lines.is_empty() {
        crate::report::bars::draw(&bars(o, &lines), dir, "compare")?;
    }
    Ok(Written {
        table: table(o, &lines, dir),
        json,
    })
}

/// What the comparison moved, in a few words.
fn what(o: &Outcome) -> String {
    let Some(first) = o.entries.first() else {
        return "nothing".into();
    };
    let s = &first.summary.settings;
    format!(
        "the {} of {} ({})",
        s.verb(),
        s.target,
        bytesize::ByteSize(s.object_bytes).display().iec()
    )
}

fn reference_name(o: &Outcome) -> Option<String> {
    let r = o.race.as_ref()?;
    Some(
        o.entries[r.reference]
            .summary
            .settings
            .baseline_name()
            .to_owned(),
    )
}

fn bytes(o: &Outcome) -> u64 {
    o.entries
        .first()
        .map_or(0, |e| e.summary.settings.object_bytes)
}

fn table(o: &Outcome, lines: &[Line<'_>], dir: &Path) -> String {
    let mut out = String::new();
    let b = bytes(o) as f64;
    let _ = writeln!(
        out,
        "compare: {} — {} clients, {} of tuning each, in {}",
        what(o),
        o.entries.len(),
        humantime::format_duration(std::time::Duration::from_secs(o.share.as_secs())),
        humantime::format_duration(std::time::Duration::from_secs(o.elapsed.as_secs()))
    );
    if let Some(e) = o
        .entries
        .first()
        .and_then(|e| e.summary.settings.emulated.as_ref())
    {
        out.push_str(&crate::report::network_line(e, o.ceiling));
    }
    let reference = reference_name(o);
    if let Some(r) = &reference {
        let _ = writeln!(
            out,
            "speedup: tuned over {r} (the slowest defaults), 95 % interval from the race"
        );
    }
    let _ = writeln!(
        out,
        "{:<7} {:>17}  {:>25}  {:>17}  {:<21} best configuration",
        "client", "defaults", "auto (best rule)", "tuned", "speedup"
    );
    let secs = |v: Option<f64>| match v {
        Some(s) => format!("{s:.3} s {:>4.0} MB/s", b / s / 1e6),
        None => "—".into(),
    };
    for l in lines {
        let auto = match l.auto {
            Some((row, name)) => format!("{} ({name})", secs(row.mean)),
            None => "—".into(),
        };
        let speedup = match l.speedup {
            Some((p, lo, hi)) => format!("{p:.2}× [{lo:.2}, {hi:.2}]"),
            None => "—".into(),
        };
        let s = &l.entry.summary;
        let config = s.best.map_or("no result".into(), |i| {
            s.rows[i]
                .record
                .trial
                .config
                .iter()
                .map(|(k, v)| format!("{k}={}", knobs::show(k, v)))
                .collect::<Vec<_>>()
                .join(" ")
        });
        let _ = writeln!(
            out,
            "{:<7} {:>17}  {:>25}  {:>17}  {:<21} {config}",
            l.entry.client.name(),
            secs(l.defaults.and_then(|r| r.mean)),
            auto,
            secs(mean(&l.tuned_runs)),
            speedup,
        );
    }
    if let Some(fastest) = lines
        .iter()
        .filter_map(|l| Some((l, mean(&l.tuned_runs)?)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
    {
        let _ = writeln!(
            out,
            "fastest here: {}, tuned ({:.0} MB/s{})",
            fastest.0.entry.client.title(),
            b / fastest.1 / 1e6,
            o.entries
                .first()
                .and_then(|e| e.summary.settings.emulated.as_ref())
                .and_then(|e| e.link_bytes_per_sec)
                .map_or(String::new(), |l| format!(
                    ", {:.0} % of the emulated link",
                    b / fastest.1 / l * 100.0
                ))
        );
    }
    for (c, why) in &o.skipped {
        let _ = writeln!(out, "left out: {}: {why}", c.name());
    }
    let _ = writeln!(
        out,
        "outputs: {} (compare.json compare.svg/.png; per client CLIENT/: summary.json, trials.csv, its exports)",
        dir.display()
    );
    out
}

fn json(o: &Outcome, lines: &[Line<'_>]) -> serde_json::Value {
    let b = bytes(o) as f64;
    let row = |r: Option<&Row>| {
        r.map(|r| {
            serde_json::json!({
                "trial": r.record.trial.id,
                "config": r.record.trial.config,
                "seconds": r.mean,
                "runs": r.repeats,
                "mbps": r.mean.map(|m| b / m / 1e6),
            })
        })
    };
    let clients: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            let s = &l.entry.summary;
            let best = s.best.map(|i| &s.rows[i]);
            serde_json::json!({
                "client": l.entry.client.name(),
                "study": s.study.spec.name,
                "defaults": row(l.defaults),
                "rules": s.settings.rules.iter().map(|rule| {
                    let r = s.rows.iter().find(|r| r.record.trial.config == rule.config && r.mean.is_some());
                    serde_json::json!({
                        "name": rule.name,
                        "label": rule.label,
                        "config": rule.config,
                        "seconds": r.and_then(|r| r.mean),
                    })
                }).collect::<Vec<_>>(),
                "auto": l.auto.map(|(r, name)| serde_json::json!({
                    "rule": name, "seconds": r.mean, "runs": r.repeats, "config": r.record.trial.config,
                })),
                "tuned": best.map(|r| serde_json::json!({
                    "trial": r.record.trial.id,
                    "config": r.record.trial.config,
                    "trial_seconds": r.mean,
                    "race_runs": o.race.as_ref().map(|_| &l.tuned_runs),
                    "seconds": mean(&l.tuned_runs),
                    "mbps": mean(&l.tuned_runs).map(|m| b / m / 1e6),
                })),
                "trials": s.rows.len(),
                "speedup_over_reference": l.speedup.map(|s| s.0),
                "speedup_ci95": l.speedup.map(|s| [s.1, s.2]),
            })
        })
        .collect();
    let first = o.entries.first().map(|e| &e.summary.settings);
    serde_json::json!({
        "workload": first.map(|s| s.workload),
        "target": first.map(|s| &s.target),
        "object_bytes": first.map(|s| s.object_bytes),
        "network": first.and_then(|s| s.emulated.as_ref()).map(|e| &e.description),
        "link_mbps": first.and_then(|s| s.emulated.as_ref()).and_then(|e| e.link_bytes_per_sec).map(|l| l / 1e6),
        "machine_ceiling_mbps": o.ceiling.map(|c| c / 1e6),
        "budget_seconds_per_client": o.share.as_secs_f64(),
        "elapsed_seconds": o.elapsed.as_secs_f64(),
        "reference": o.race.as_ref().map(|r| serde_json::json!({
            "client": o.entries[r.reference].client.name(),
            "what": reference_name(o),
            "runs": r.reference_runs,
        })),
        "clients": clients,
        "left_out": o.skipped.iter().map(|(c, why)| serde_json::json!({"client": c.name(), "reason": why})).collect::<Vec<_>>(),
    })
}

fn bars(o: &Outcome, lines: &[Line<'_>]) -> Bars {
    let b = bytes(o) as f64;
    let mbps = |s: f64| b / s / 1e6;
    let whisker = |runs: &[f64]| {
        stats::min_median_max(runs)
            .filter(|_| runs.len() > 1)
            .map(|(lo, _, hi)| (mbps(hi), mbps(lo)))
    };
    let bar = |secs: Option<f64>, runs: &[f64]| {
        Some(Bar {
            value: mbps(secs?),
            range: whisker(runs),
        })
    };
    let series = |label: &str, color: RGBColor, f: &dyn Fn(&Line<'_>) -> Option<Bar>| Series {
        label: label.to_owned(),
        color,
        values: lines.iter().map(f).collect(),
    };
    let first = o.entries.first().map(|e| &e.summary.settings);
    Bars {
        title: format!("s3tune compare: {}", what(o)),
        y_desc: "MB/s (whiskers: the runs' range)".into(),
        groups: lines
            .iter()
            .map(|l| l.entry.client.name().to_owned())
            .collect(),
        series: vec![
            series("defaults", RGBColor(150, 150, 150), &|l| {
                bar(l.defaults?.mean, &l.defaults?.repeats)
            }),
            series("best no-search rule", RGBColor(255, 127, 14), &|l| {
                bar(l.auto?.0.mean, &l.auto?.0.repeats)
            }),
            series("tuned (race)", RGBColor(31, 119, 180), &|l| {
                bar(mean(&l.tuned_runs), &l.tuned_runs)
            }),
        ],
        line: first
            .and_then(|s| s.emulated.as_ref())
            .and_then(|e| e.link_bytes_per_sec)
            .map(|l| (l / 1e6, "emulated link".to_owned())),
    }
}
