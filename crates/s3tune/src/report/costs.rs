//! A trial's costs as the outputs show them: the costliest run's peak memory, CPU and
//! requests (what a limit is judged on), in the table, `trials.csv` and `summary.json`.

use s3tune_hpo::Trial;

use crate::experiment::costs::{BUFFERED, CORES, COST, CPU, MEMORY, REQUESTS};

/// The `trials.csv` columns, each a stored metric's name (bytes, seconds, dollars).
pub const COLUMNS: [&str; 11] = [
    MEMORY,
    BUFFERED,
    CPU,
    CORES,
    REQUESTS,
    "requests_get",
    "requests_head",
    "requests_list",
    "requests_put",
    "requests_post",
    COST,
];

/// The trial's value of each of [`COLUMNS`] (empty where not measured).
pub fn csv_fields(t: &Trial) -> Vec<String> {
    COLUMNS
        .iter()
        .map(|c| match t.metric(c) {
            Some(v) if *c == COST => format!("{v:.9}"),
            Some(v) if *c == CPU || *c == CORES => format!("{v:.3}"),
            Some(v) => format!("{v:.0}"),
            None if c.starts_with("requests_") && t.metric(REQUESTS).is_some() => "0".into(),
            None => String::new(),
        })
        .collect()
}

/// The trial's costs as JSON (`null` where not measured).
pub fn json(t: &Trial) -> serde_json::Value {
    COLUMNS
        .iter()
        .map(|c| ((*c).to_owned(), serde_json::json!(t.metric(c))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// One line for people, `None` when the trial measured nothing: "peak 85.0 MiB
/// (engine buffers 1.4 MiB), CPU 0.18 s (0.12 cores), 16 requests ($0.0000064)".
pub fn line(t: &Trial) -> Option<String> {
    let mib = |b: f64| format!("{:.1} MiB", b / (1u64 << 20) as f64);
    let mut parts = Vec::new();
    if let Some(m) = t.metric(MEMORY) {
        let buffered = t
            .metric(BUFFERED)
            .map_or(String::new(), |b| format!(" (engine buffers {})", mib(b)));
        parts.push(format!("peak {}{buffered}", mib(m)));
    }
    if let Some(c) = t.metric(CPU) {
        let cores = t
            .metric(CORES)
            .map_or(String::new(), |x| format!(" ({x:.2} cores)"));
        parts.push(format!("CPU {c:.2} s{cores}"));
    }
    if let Some(r) = t.metric(REQUESTS) {
        let cost = t.metric(COST).unwrap_or_default();
        parts.push(format!("{r:.0} requests (${cost:.7})"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}
