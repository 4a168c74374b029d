//! What a transfer costs, as s3tune measures it: the engine's memory stays within its
//! bound whatever the object's size, and its requests are the parts it fetched.

mod common;

use std::path::Path;

use common::{ok, run};
use s3tune_hpo::Store;

/// Every run's measures of every trial of the one study in `db`, with its configuration.
pub fn runs(db: &Path) -> Vec<(s3tune_hpo::Config, s3tune_hpo::Metrics)> {
    let store = s3tune_hpo::SqliteStore::open(db).unwrap();
    let name = store.studies().unwrap().pop().unwrap();
    let study = store.study(&name).unwrap().unwrap();
    store
        .trials(&study)
        .unwrap()
        .into_iter()
        .flat_map(|r| {
            let config = r.trial.config.clone();
            r.trial
                .metrics
                .into_iter()
                .map(move |m| (config.clone(), m))
        })
        .collect()
}

fn knob(c: &s3tune_hpo::Config, k: &str) -> u64 {
    match &c[k] {
        s3tune_hpo::Value::Int(i) => *i as u64,
        s3tune_hpo::Value::Float(f) => *f as u64,
        v => panic!("{k} = {v}"),
    }
}

#[test]
fn the_engine_holds_no_more_than_its_bound_and_asks_once_per_part() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let size: u64 = 256 << 20;
    let args = [
        "tune",
        "--object-size",
        "256MiB",
        "--param",
        "multipart_chunksize=8MiB,16MiB",
        "--param",
        "max_concurrency=2..6",
        "--param",
        "max_io_queue=2..8",
        "--param",
        "io_chunksize=1MiB",
        "--trials",
        "4",
        "--repeats",
        "2",
        "--confirm",
        "0",
        "--no-baseline",
        "--out",
        out.to_str().unwrap(),
        "--dest-dir",
        home.path().to_str().unwrap(),
    ];
    let stdout = ok(&run(home.path(), &[], &args));
    assert!(stdout.contains("costs: peak"), "{stdout}");
    let runs = runs(&out.join("study.db"));
    assert!(runs.len() >= 4, "{runs:?}");
    for (c, m) in &runs {
        let chunk = knob(c, "io_chunksize");
        let part = knob(c, "multipart_chunksize");
        // boto3's bound on what a download holds: the pieces being read and the queue.
        let bound = (knob(c, "max_concurrency") + knob(c, "max_io_queue")) * chunk;
        let buffered = m["buffered_bytes"] as u64;
        assert!(
            buffered > 0 && buffered <= bound,
            "{c:?}: {buffered} > {bound}"
        );
        // The process grew by no more than that, plus what any run allocates whatever
        // its settings (the HTTP client's buffers, the allocator's arenas) — far less
        // than the 256 MiB object, which a copy held in memory would add.
        let grew = m["memory_bytes"] - m["start_rss_bytes"];
        assert!(
            grew <= (bound + (48 << 20)) as f64,
            "{c:?}: grew {} MiB over a bound of {} MiB",
            grew / 1048576.0,
            bound >> 20
        );
        assert_eq!(
            m["requests_get"] as u64,
            size.div_ceil(part),
            "{c:?}: {m:?}"
        );
        assert_eq!(m["requests"], m["requests_get"], "{m:?}");
        assert!(m["cpu_seconds"] > 0.0 && m["cores"] > 0.0, "{m:?}");
    }
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    for col in [
        "memory_bytes",
        "cpu_seconds",
        "requests_get",
        "cost_usd",
        "feasible",
    ] {
        assert!(header.split(',').any(|h| h == col), "{col} not in {header}");
    }
}
