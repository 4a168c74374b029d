//! The files a study leaves for its users: `summary.json`, `best.toml` (for `s3tune get
//! --config`), `boto3.py`, `aws-cli.ini` and `trials.csv`. Each is written to a temporary
//! name and renamed, so a reader never sees half a file.

use std::path::Path;

use anyhow::Context;
use s3tune_transfer::TransferConfig;

use s3tune_transfer::{KNOBS, KnobKind, KnobValue};

use super::{Summary, rfc3339};
use crate::experiment::clients::{awscli, crt, rclone};
use crate::experiment::knobs;
use crate::study::{Client, Workload};

/// Writes `text` to `dir/name` atomically.
fn put(dir: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", path.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The exports a study of `client` writes, by name (for the table's last line).
pub fn exports(client: Client) -> &'static [&'static str] {
    match client {
        Client::S3tune | Client::Boto3 => &["best.toml", "boto3.py", "aws-cli.ini"],
        Client::Awscli => &["aws-cli.ini"],
        Client::Crt => &["crt.py", "aws-cli.ini"],
        Client::Rclone => &["rclone-flags.txt", "rclone.conf"],
    }
}

pub fn write_all(s: &Summary, dir: &Path) -> anyhow::Result<()> {
    put(dir, "summary.json", &summary_json(s))?;
    put(dir, "trials.csv", &trials_csv(s)?)?;
    let Some(best) = s.best else {
        return Ok(());
    };
    for (name, text) in export_texts(s, best)? {
        put(dir, name, &text)?;
    }
    Ok(())
}

/// The exports of row `row`'s configuration, by file name (the best's are written; the
/// dashboard shows any trial's).
pub fn export_texts(s: &Summary, row: usize) -> anyhow::Result<Vec<(&'static str, String)>> {
    let config = &s.rows[row].record.trial.config;
    let origin = origin(s, row);
    let text = comment("#", &origin);
    Ok(match s.settings.client {
        Client::S3tune | Client::Boto3 => engine_exports(s, config, &origin)?,
        Client::Awscli => vec![("aws-cli.ini", awscli::export(config, &text))],
        Client::Crt => vec![
            ("crt.py", crt::kwargs_export(config, &text)),
            ("aws-cli.ini", crt::cli_export(config, &text)),
        ],
        Client::Rclone => vec![
            ("rclone-flags.txt", rclone::flags_export(config, &text)),
            ("rclone.conf", rclone::conf_export(config, &text)),
        ],
    })
}

/// The exports of boto3's knobs: `best.toml`, `boto3.py` and `aws-cli.ini`, for one
/// object or a dataset.
fn engine_exports(
    s: &Summary,
    best: &s3tune_hpo::Config,
    origin: &[String],
) -> anyhow::Result<Vec<(&'static str, String)>> {
    let config = knobs::transfer_config(best)?;
    let w = s.settings.workload;
    let many = s.settings.dataset.is_some();
    let toml = ("best.toml", best_toml(&config, origin, w, many));
    Ok(if many {
        let text = comment("#", origin);
        let objects = s.settings.dataset.as_ref().map_or(1, |d| d.objects);
        let call = transfer_config_py(&super::dataset::per_call(&config, objects));
        let download = w == Workload::Download;
        vec![
            toml,
            (
                "boto3.py",
                super::dataset::boto3_py(&config, objects, &text, &call, download),
            ),
            ("aws-cli.ini", super::dataset::aws_cli_ini(&config, &text)),
        ]
    } else {
        vec![
            toml,
            ("boto3.py", boto3_py(&config, origin, w)),
            ("aws-cli.ini", aws_cli_ini(&config, origin)),
        ]
    })
}

/// Where row `row`'s configuration comes from, for the exports' first lines (with the
/// speedup when it is the study's best).
fn origin(s: &Summary, row: usize) -> Vec<String> {
    let mut lines = vec![
        format!(
            "Tuned by s3tune, study `{}`, trial {}, measured with {} (the best values for another client can differ).",
            s.study.spec.name,
            s.rows[row].record.trial.id,
            s.settings.client.label(s.settings.workload)
        ),
        format!(
            "Measured on {} ({}){}.",
            s.settings.target,
            bytesize::ByteSize(s.settings.object_bytes).display().iec(),
            s.settings
                .emulated
                .as_ref()
                .map_or(String::new(), |e| format!(
                    " over an emulated network: {}",
                    e.description
                ))
        ),
    ];
    if let Some(h) = s.headline().filter(|_| s.best == Some(row)) {
        lines.push(format!(
            "{:.3} s against {} {:.3} s: {:.2}x{}.",
            h.best_seconds,
            possessive(s.settings.baseline_name()),
            h.baseline_seconds,
            h.speedup,
            h.ci95.map_or(String::new(), |(lo, hi)| format!(
                " (95 % interval {lo:.2}-{hi:.2})"
            ))
        ));
    }
    lines
}

/// `boto3's defaults'`, `the AWS CLI's defaults'`.
fn possessive(name: &str) -> String {
    format!("{name}'")
}

fn summary_json(s: &Summary) -> String {
    let h = s.headline();
    let best = s.best.map(|b| &s.rows[b]);
    let mut v = serde_json::json!({
        "study": s.study.spec.name,
        "target": s.settings.target,
        "client": s.settings.client,
        "workload": s.settings.workload,
        "object_bytes": s.settings.object_bytes,
        "baseline_seconds": h.map(|h| h.baseline_seconds),
        "best_seconds": h.map(|h| h.best_seconds).or(best.and_then(|b| b.mean)),
        "best_mbps": best.and_then(|b| {
            h.map_or(b.mbps(s.settings.object_bytes), |h| {
                Some(s.settings.object_bytes as f64 / h.best_seconds / 1e6)
            })
        }),
        "speedup": h.map(|h| h.speedup),
        "speedup_ci95": h.and_then(|h| h.ci95).map(|(lo, hi)| [lo, hi]),
        "best_trial": best.map(|b| b.record.trial.id),
        "best_config": best.map(|b| &b.record.trial.config),
        "best_costs": best.map(|b| super::costs::json(&b.record.trial)),
        "baseline_costs": s.baseline.map(|b| super::costs::json(&s.rows[b].record.trial)),
        "limits": s.study.spec.objective.constraints,
        "prices": s.settings.prices,
        "warm_start": s.settings.warm_start,
        "near_best_after": s.near_best_after(),
        "trials": s.rows.len(),
        "elapsed_seconds": s.elapsed_seconds,
        "race": s.race,
    });
    if let Some(e) = &s.settings.emulated {
        v["link_mbps"] = serde_json::json!(e.link_bytes_per_sec.map(|l| l / 1e6));
        v["network"] = serde_json::json!(e.description);
    }
    if let Some(m) = s.machine_bytes_per_sec {
        v["machine_ceiling_mbps"] = serde_json::json!(m / 1e6);
    }
    v["baseline"] = serde_json::json!(s.settings.baseline_name());
    v["rules"] = s
        .rule_speedups()
        .iter()
        .zip(&s.settings.rules)
        .map(|(r, rule)| {
            serde_json::json!({
                "name": r.name,
                "label": r.label,
                "config": rule.config,
                "seconds": r.seconds,
                "speedup": r.speedup,
                "speedup_ci95": r.ci95.map(|(lo, hi)| [lo, hi]),
            })
        })
        .collect();
    super::dataset::json(s, &mut v);
    format!(
        "{}\n",
        serde_json::to_string_pretty(&v).expect("JSON serializes")
    )
}

fn comment(prefix: &str, lines: &[String]) -> String {
    lines.iter().map(|l| format!("{prefix} {l}\n")).collect()
}

/// Every knob as TOML `s3tune get --config` and `put --config` read (sizes in bytes,
/// with a note).
fn best_toml(c: &TransferConfig, origin: &[String], workload: Workload, many: bool) -> String {
    let mut out = comment("#", origin);
    out.push_str(match (workload, many) {
        (Workload::Download, false) => {
            "# Use it with: s3tune get --config best.toml s3://BUCKET/KEY DEST\n"
        }
        (Workload::Upload, false) => {
            "# Use it with: s3tune put --config best.toml FILE s3://BUCKET/KEY\n"
        }
        (Workload::Download, true) => {
            "# Use it with: s3tune get --recursive --config best.toml s3://BUCKET/PREFIX/ DIR\n"
        }
        (Workload::Upload, true) => {
            "# Use it with: s3tune put --recursive --config best.toml DIR s3://BUCKET/PREFIX/\n"
        }
    });
    for k in KNOBS.iter().filter(|k| many || !k.many_only) {
        let line = match (k.kind, k.get(c)) {
            (_, KnobValue::Bool(b)) => format!("{} = {b}\n", k.name),
            (KnobKind::Rate, KnobValue::Int(0)) => format!("# {}: none (no cap)\n", k.name),
            (KnobKind::Size, KnobValue::Int(n)) => format!(
                "{} = {n}  # {}\n",
                k.name,
                bytesize::ByteSize(n).display().iec()
            ),
            (_, KnobValue::Int(n)) => format!("{} = {n}\n", k.name),
        };
        out.push_str(&line);
    }
    out
}

/// boto3's `TransferConfig(...)` with every knob, as Python.
fn boto3_py(c: &TransferConfig, origin: &[String], workload: Workload) -> String {
    let mut out = comment("#", origin);
    out.push_str(&format!(
        "from boto3.s3.transfer import TransferConfig\n\nconfig = {}\n\n# e.g. {}\n",
        transfer_config_py(c),
        match workload {
            Workload::Download =>
                "boto3.client(\"s3\").download_file(BUCKET, KEY, FILENAME, Config=config)",
            Workload::Upload =>
                "boto3.client(\"s3\").upload_file(FILENAME, BUCKET, KEY, Config=config)",
        }
    ));
    out
}

/// `TransferConfig(...)` with every boto3 knob of `c`, as Python.
fn transfer_config_py(c: &TransferConfig) -> String {
    let args: Vec<String> = KNOBS
        .iter()
        .filter(|k| !k.many_only)
        .map(|k| {
            let v = match (k.kind, k.get(c)) {
                (_, KnobValue::Bool(true)) => "True".to_owned(),
                (_, KnobValue::Bool(false)) => "False".to_owned(),
                (KnobKind::Rate, KnobValue::Int(0)) => "None".to_owned(),
                (_, KnobValue::Int(n)) => n.to_string(),
            };
            format!("{}={v}", k.name)
        })
        .collect();
    format!("TransferConfig({})", args.join(", "))
}

/// The AWS CLI's `s3` settings. Its knobs differ from boto3's: `max_io_queue` and
/// `num_download_attempts` have no CLI setting, and `max_queue_size` (the CLI's task
/// queue) is not `max_io_queue`.
fn aws_cli_ini(c: &TransferConfig, origin: &[String]) -> String {
    let mut out = comment("#", origin);
    out.push_str("# The `s3` section of ~/.aws/config (sizes in bytes).\n");
    out.push_str(&format!(
        "[default]\ns3 =\n  max_concurrent_requests = {}\n  multipart_threshold = {}\n  multipart_chunksize = {}\n",
        c.max_concurrency, c.multipart_threshold, c.multipart_chunksize
    ));
    out.push_str(&format!(
        "  # io_chunksize is read by AWS CLI v2 only\n  io_chunksize = {}\n",
        c.io_chunksize
    ));
    if let Some(b) = c.max_bandwidth {
        out.push_str(&format!("  max_bandwidth = {b}B/s\n"));
    }
    out.push_str(&format!(
        "# No AWS CLI equivalent: max_io_queue = {} (the CLI's max_queue_size is its task queue, \
         not boto3's io queue), num_download_attempts = {}, use_threads = {}.\n",
        c.max_io_queue,
        c.num_download_attempts,
        if c.use_threads { "True" } else { "False" }
    ));
    out
}

/// One row a trial: number, status, each knob of the space, each repeat's seconds, mean,
/// MB/s, start, end and error.
fn trials_csv(s: &Summary) -> anyhow::Result<String> {
    // boto3's knobs in their usual order, then another client's as its space has them.
    let space = &s.study.spec.space;
    let mut knobs: Vec<&str> = KNOBS
        .iter()
        .map(|k| k.name)
        .filter(|k| space.params().any(|(p, _)| p == *k))
        .collect();
    for (p, _) in space.params() {
        if !knobs.contains(&p) {
            knobs.push(p);
        }
    }
    let repeats = s.settings.repeats.max(1);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec!["trial".into(), "status".into()];
    header.extend(knobs.iter().map(|k| (*k).to_owned()));
    header.extend((1..=repeats).map(|r| format!("repeat_{r}_seconds")));
    header.extend(
        ["mean_seconds", "mbps"]
            .iter()
            .chain(&super::costs::COLUMNS)
            .chain(&["feasible", "start", "end", "error", "worker"])
            .map(|h| (*h).to_owned()),
    );
    w.write_record(&header)?;
    for r in &s.rows {
        let mut rec: Vec<String> = vec![
            r.record.trial.id.to_string(),
            super::status_name(r.record.trial.status).to_owned(),
        ];
        rec.extend(knobs.iter().map(|k| {
            r.record
                .trial
                .config
                .get(*k)
                .map_or(String::new(), |v| v.to_string())
        }));
        rec.extend((0..repeats).map(|i| {
            r.repeats
                .get(i)
                .filter(|v| v.is_finite())
                .map_or(String::new(), |v| format!("{v:.6}"))
        }));
        rec.push(r.mean.map_or(String::new(), |m| format!("{m:.6}")));
        rec.push(
            r.mbps(s.settings.object_bytes)
                .map_or(String::new(), |m| format!("{m:.3}")),
        );
        rec.extend(super::costs::csv_fields(&r.record.trial));
        rec.push(s.study.spec.objective.feasible(&r.record.trial).to_string());
        rec.push(rfc3339(r.record.started));
        rec.push(r.record.finished.map_or(String::new(), rfc3339));
        rec.push(r.record.error.clone().unwrap_or_default());
        rec.push(r.record.worker.clone());
        w.write_record(&rec)?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}
