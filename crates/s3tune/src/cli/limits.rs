//! `--max-memory`, `--max-cpu`, `--max-requests`, `--max-cost`: limits a transfer
//! study's trials must keep to count. Each becomes a constraint on a measured cost
//! (`experiment::costs`), judged on a trial's costliest run. And `--objective`: costs
//! minimized beside the seconds.

use clap::Args;
use s3tune_hpo::Constraint;

use crate::experiment::costs::{CORES, COST, CPU, MEMORY, Prices, REQUESTS};

/// What `--objective` takes, and the measure each stands for.
pub const OBJECTIVES: [(&str, &str); 5] = [
    ("seconds", "seconds"),
    ("memory", MEMORY),
    ("cpu", CPU),
    ("requests", REQUESTS),
    ("cost", COST),
];

/// Limits a trial must keep.
#[derive(Debug, Args, Default, Clone)]
#[command(
    next_help_heading = "Limits (a trial over one is infeasible: kept and shown, never the best, never exported)"
)]
pub struct LimitArgs {
    /// Peak resident memory of the process that moves the bytes, e.g. 512MiB (s3tune's
    /// own process for its engine; the client's process for the others).
    #[arg(long, value_name = "SIZE", value_parser = super::size, allow_negative_numbers = true)]
    pub max_memory: Option<u64>,
    /// CPU cores busy on average during a transfer (its CPU seconds over its seconds),
    /// e.g. 1.5.
    #[arg(long, value_name = "CORES", value_parser = positive, allow_negative_numbers = true)]
    pub max_cpu: Option<f64>,
    /// Requests per transfer (counted by the embedded emulator for a client run as a
    /// program; s3tune's engine counts its own anywhere).
    #[arg(long, value_name = "N", value_parser = super::whole::<u64>, allow_negative_numbers = true)]
    pub max_requests: Option<u64>,
    /// The requests' price per transfer in US dollars, at the study's --prices, e.g.
    /// 0.0001.
    #[arg(long, value_name = "USD", value_parser = positive, allow_negative_numbers = true)]
    pub max_cost: Option<f64>,
    /// What requests cost, US dollars per 1,000: PUT (also COPY, POST and LIST) and GET
    /// (also HEAD), e.g. 0.0055,0.00044 for a dearer region; kept by the study [default:
    /// S3 Standard's list prices in us-east-1, 0.005,0.0004]
    #[arg(long, value_name = "PUT,GET", value_parser = prices, allow_negative_numbers = true)]
    pub prices: Option<Prices>,
    /// What is minimized: seconds, and with it any of memory, cpu (seconds), requests,
    /// cost, e.g. seconds,memory. With more than seconds the study keeps the Pareto front
    /// of the trials (none better in every respect), its best is the front's knee, and
    /// `report --pick N` exports another point of it [default: seconds].
    #[arg(long, value_name = "LIST", value_parser = objectives)]
    pub objective: Option<Objectives>,
}

/// The measures `--objective` minimizes beside the seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objectives(pub Vec<String>);

/// `seconds,memory` → the measures beside the seconds (`memory_bytes`).
fn objectives(s: &str) -> Result<Objectives, String> {
    let names: Vec<&str> = s.split(',').map(str::trim).collect();
    if names.first() != Some(&"seconds") {
        return Err(format!(
            "`{s}` does not start with seconds: the time is always minimized (e.g. seconds,memory)"
        ));
    }
    let mut also = Vec::new();
    for n in &names[1..] {
        let Some((_, metric)) = OBJECTIVES.iter().skip(1).find(|(k, _)| k == n) else {
            let known: Vec<&str> = OBJECTIVES.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "unknown objective `{n}`: choose from {}",
                known.join(", ")
            ));
        };
        if also.contains(&(*metric).to_owned()) {
            return Err(format!("objective `{n}` is given twice"));
        }
        also.push((*metric).to_owned());
    }
    Ok(Objectives(also))
}

impl LimitArgs {
    /// The measures minimized beside the seconds.
    pub fn also_minimize(&self) -> Vec<String> {
        self.objective.clone().map(|o| o.0).unwrap_or_default()
    }

    /// Whether any limit was given.
    pub fn any(&self) -> bool {
        self.max_memory.is_some()
            || self.max_cpu.is_some()
            || self.max_requests.is_some()
            || self.max_cost.is_some()
    }

    /// The limits as the study stores them.
    pub fn constraints(&self) -> Vec<Constraint> {
        let limit = |metric: &str, max: f64| Constraint {
            metric: metric.to_owned(),
            max,
        };
        [
            self.max_memory.map(|m| limit(MEMORY, m as f64)),
            self.max_cpu.map(|c| limit(CORES, c)),
            self.max_requests.map(|r| limit(REQUESTS, r as f64)),
            self.max_cost.map(|c| limit(COST, c)),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// A limit as a user reads it: `--max-memory 512.0 MiB`.
pub fn show(c: &Constraint) -> String {
    match c.metric.as_str() {
        MEMORY => format!(
            "--max-memory {}",
            bytesize::ByteSize(c.max as u64).display().iec()
        ),
        CORES => format!("--max-cpu {}", c.max),
        REQUESTS => format!("--max-requests {}", c.max),
        COST => format!("--max-cost {}", c.max),
        other => format!("{other} ≤ {}", c.max),
    }
}

/// `PUT,GET`: dollars per 1,000 requests of each kind, neither negative.
fn prices(s: &str) -> Result<Prices, String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let [put, get] = parts.as_slice() else {
        return Err(format!(
            "`{s}` is not PUT,GET: two prices per 1,000 requests, e.g. 0.005,0.0004"
        ));
    };
    let price = |v: &str| match v.parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
        _ => Err(format!(
            "`{v}` in `{s}` is not a price: dollars per 1,000 requests, 0 or more"
        )),
    };
    Ok(Prices {
        put_per_1000: price(put)?,
        get_per_1000: price(get)?,
    })
}

/// A number above zero.
fn positive(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a number above zero")),
    }
}
