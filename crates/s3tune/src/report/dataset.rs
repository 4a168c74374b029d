//! What a dataset study's reports add: objects a second beside bytes, how close the best
//! came to what the emulated limits allow (the link, or the request-rate cap, whichever
//! binds), the second baseline (boto3's defaults in a thread pool), and the exports
//! written for many objects — the AWS CLI's `s3` section, and boto3 as a thread pool of
//! calls with a `TransferConfig` each.

use std::fmt::Write;

use s3tune_transfer::TransferConfig;

use super::{Row, Summary};
use crate::study::{DatasetSettings, TransferSettings};

/// The set in a few words: `2000 objects, 500 MiB`, or `a sample of 8 of 64 objects,
/// 512 MiB`.
pub fn describe(d: &DatasetSettings, bytes: u64) -> String {
    let size = bytesize::ByteSize(bytes).display().iec();
    if d.objects < d.listed {
        format!("a sample of {} of {} objects, {size}", d.objects, d.listed)
    } else {
        format!("{} objects, {size}", d.objects)
    }
}

/// The fewest seconds the emulated network allows for one transfer of the set, and what
/// sets it: the link (bytes over its capacity) or the request-rate cap (a request per
/// object, past the one second's burst the cap allows).
pub fn bound(s: &TransferSettings) -> Option<(f64, &'static str)> {
    let d = s.dataset.as_ref()?;
    let e = s.emulated.as_ref()?;
    let link = e.link_bytes_per_sec.map(|l| s.object_bytes as f64 / l);
    let rate = match s.workload {
        crate::study::Workload::Download => e.get_rate,
        crate::study::Workload::Upload => e.put_rate,
    };
    let requests = rate.map(|r| (d.objects as f64 - r).max(0.0) / r);
    match (link, requests) {
        (Some(l), Some(r)) if r > l => Some((r, "the request-rate cap")),
        (Some(l), _) => Some((l, "the link")),
        (None, Some(r)) => Some((r, "the request-rate cap")),
        (None, None) => None,
    }
}

/// Objects a second at the mean of `row`.
fn objects_per_sec(d: &DatasetSettings, row: &Row) -> Option<f64> {
    row.mean.map(|m| d.objects as f64 / m)
}

/// The table's lines for a dataset: the set, the second baseline's row, objects a
/// second, and the share of the emulated limit the best reached.
pub fn lines(s: &Summary, out: &mut String, row_line: &mut dyn FnMut(&str, &Row)) {
    let Some(d) = &s.settings.dataset else {
        return;
    };
    if let Some(pool) = &d.boto3_pool
        && let Some(r) = s
            .rows
            .iter()
            .find(|r| &r.record.trial.config == pool && r.mean.is_some())
    {
        row_line(&format!("boto3 pool ({})", d.pool_workers), r);
    }
    let _ = writeln!(out, "dataset: {}", describe(d, s.settings.object_bytes));
    let Some(best) = s.best.map(|b| &s.rows[b]) else {
        return;
    };
    let seconds = s.headline().map(|h| h.best_seconds).or(best.mean);
    if let Some(ops) = objects_per_sec(d, best) {
        let _ = writeln!(out, "best moves {ops:.0} objects/s");
    }
    if let (Some((limit, what)), Some(x)) = (bound(&s.settings), seconds) {
        let _ = writeln!(
            out,
            "best reaches {:.0} % of what the emulated limits allow ({what}: {limit:.2} s for the set)",
            limit / x * 100.0
        );
    }
}

/// Fields `summary.json` adds for a dataset.
pub fn json(s: &Summary, v: &mut serde_json::Value) {
    let Some(d) = &s.settings.dataset else {
        return;
    };
    v["objects"] = serde_json::json!(d.objects);
    v["listed_objects"] = serde_json::json!(d.listed);
    v["sampled"] = serde_json::json!(d.objects < d.listed);
    let best = s.best.map(|b| &s.rows[b]);
    v["best_objects_per_sec"] = serde_json::json!(best.and_then(|b| objects_per_sec(d, b)));
    if let Some((limit, what)) = bound(&s.settings) {
        v["limit_seconds"] = serde_json::json!(limit);
        v["limit"] = serde_json::json!(what);
    }
    let pool = d.boto3_pool.as_ref().and_then(|p| {
        s.rows
            .iter()
            .find(|r| &r.record.trial.config == p)
            .and_then(|r| r.mean)
    });
    v["boto3_pool_seconds"] = serde_json::json!(pool);
}

/// The AWS CLI's `s3` section for many objects: its one level of concurrency is
/// requests, over all objects; it has no setting for objects in flight.
pub fn aws_cli_ini(c: &TransferConfig, origin: &str) -> String {
    format!(
        "{origin}# The `s3` section of ~/.aws/config (sizes in bytes), for aws s3 cp --recursive and aws s3 sync.\n\
         [default]\ns3 =\n  max_concurrent_requests = {}\n  max_queue_size = {}\n  multipart_threshold = {}\n  multipart_chunksize = {}\n\
         # max_queue_size: the CLI's queue of tasks ahead of its requests, as deep as the\n\
         # 2,000 listed objects s3tune's engine keeps queued, or twice the requests.\n\
         # No AWS CLI equivalent: max_objects = {} (the CLI lets every request be another object).\n",
        c.max_concurrency,
        queue_size(c),
        c.multipart_threshold,
        c.multipart_chunksize,
        c.objects_in_flight(),
    )
}

/// The CLI's task queue for `c`: deep enough that its requests never wait on it.
fn queue_size(c: &TransferConfig) -> usize {
    (2 * c.max_concurrency).max(2000)
}

/// boto3 for many objects: a thread pool of `download_file` calls, as many workers as
/// the tuned objects in flight, each call with its share of the tuned requests, and a
/// connection pool as large as all of them (botocore's default of 10 would cap it).
pub fn boto3_py(
    c: &TransferConfig,
    objects: u64,
    origin: &str,
    tconfig: &str,
    download: bool,
) -> String {
    let workers = pool_workers(c, objects);
    let per = per_call(c, objects).max_concurrency;
    let call = if download {
        "s3.download_file(BUCKET, key, os.path.join(DEST, key[len(PREFIX):]), Config=config)"
    } else {
        "s3.upload_file(os.path.join(SOURCE, key[len(PREFIX):]), BUCKET, key, Config=config)"
    };
    format!(
        "{origin}import os\nfrom concurrent.futures import ThreadPoolExecutor\n\nimport boto3\nimport botocore.config\nfrom boto3.s3.transfer import TransferConfig\n\n\
         # Each call's own requests: the tuned {} shared by {workers} objects at once.\n\
         config = {tconfig}\nWORKERS = {workers}  # objects at once (s3tune's max_objects)\n\n\
         s3 = boto3.client(\"s3\", config=botocore.config.Config(max_pool_connections={}))\n\n\
         def one(key):\n    {call}\n\n\
         # e.g. with the keys of a listing (for downloads, make each file's folder first):\n\
         # with ThreadPoolExecutor(max_workers=WORKERS) as pool:\n#     list(pool.map(one, keys))\n",
        c.concurrency(),
        workers * per,
    )
}

/// The pool's workers: the objects in flight, but no more than the set has (a pool of
/// 1,024 threads for 8 objects would leave each call one request).
fn pool_workers(c: &TransferConfig, objects: u64) -> usize {
    let objects = usize::try_from(objects.max(1)).unwrap_or(usize::MAX);
    c.objects_in_flight().min(objects)
}

/// The configuration of one call of the pool [`boto3_py`] writes: its share of the
/// requests, over the objects that can be in flight at once.
pub fn per_call(c: &TransferConfig, objects: u64) -> TransferConfig {
    TransferConfig {
        max_concurrency: (c.concurrency() / pool_workers(c, objects)).max(1),
        ..c.clone()
    }
}
