//! What one transfer cost besides its time, for every client alike: the peak memory and
//! CPU seconds of the process that moved the bytes ([`super::usage`]), the requests it
//! made by the kind S3 prices them by, and their price.
//!
//! Each run's costs are stored with its report (the hpo crate's `Metrics`, names below);
//! a trial's cost is its costliest run's (`Trial::metric`), so a limit holds for every
//! run of a feasible trial.

use s3tune_hpo::Metrics;
use serde::{Deserialize, Serialize};

/// Peak resident memory of the transfer's process, bytes.
pub const MEMORY: &str = "memory_bytes";
/// The engine's own peak of bytes held in memory (pieces in flight and the write queue).
pub const BUFFERED: &str = "buffered_bytes";
/// The engine's process's RSS as the run started: the baseline its peak grew from.
pub const START_RSS: &str = "start_rss_bytes";
/// User plus system CPU seconds.
pub const CPU: &str = "cpu_seconds";
/// CPU seconds per second of the transfer: cores busy on average.
pub const CORES: &str = "cores";
/// Requests, all kinds.
pub const REQUESTS: &str = "requests";
/// The requests' price, US dollars.
pub const COST: &str = "cost_usd";

/// Requests by the kind S3 prices them by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requests {
    /// GetObject.
    pub get: u64,
    /// HeadObject.
    pub head: u64,
    /// LIST requests.
    pub list: u64,
    /// PutObject, UploadPart, CopyObject.
    pub put: u64,
    /// CreateMultipartUpload, CompleteMultipartUpload.
    pub post: u64,
    /// DELETE and the rest (free).
    pub other: u64,
}

impl Requests {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.get + self.head + self.list + self.put + self.post + self.other
    }

    /// Their price at `prices`.
    pub fn cost(&self, prices: &Prices) -> f64 {
        let per = |n: u64, per_1000: f64| n as f64 * per_1000 / 1000.0;
        per(self.put + self.post + self.list, prices.put_per_1000)
            + per(self.get + self.head, prices.get_per_1000)
    }

    /// The counts the emulator keeps.
    pub fn from_server(c: &s3tune_emulator::RequestCounts) -> Self {
        Self {
            get: c.get,
            head: c.head,
            list: c.list,
            put: c.put,
            post: c.post,
            other: c.other,
        }
    }

    /// The counts the engine keeps of one object's transfer.
    pub fn from_engine(c: &s3tune_transfer::RequestCounts) -> Self {
        Self {
            get: c.get,
            head: c.head,
            put: c.put,
            post: c.post,
            ..Self::default()
        }
    }
}

/// Request prices, US dollars per 1,000. S3 Standard's list prices in us-east-1:
/// PUT, COPY, POST and LIST $0.005; GET, HEAD and the rest $0.0004; DELETE free.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// PUT, COPY, POST, LIST.
    pub put_per_1000: f64,
    /// GET, HEAD.
    pub get_per_1000: f64,
}

impl std::fmt::Display for Prices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "${} per 1,000 PUT and ${} per 1,000 GET",
            self.put_per_1000, self.get_per_1000
        )
    }
}

impl Default for Prices {
    fn default() -> Self {
        Self {
            put_per_1000: 0.005,
            get_per_1000: 0.0004,
        }
    }
}

/// What one run cost besides its time; `None`: not known for this client and target.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Costs {
    /// Peak RSS of the process that moved the bytes.
    pub memory_bytes: Option<u64>,
    /// The engine's own peak of bytes held in memory.
    pub buffered_bytes: Option<u64>,
    /// The engine's process's RSS as the run started.
    pub start_rss_bytes: Option<u64>,
    /// Its CPU seconds.
    pub cpu_seconds: Option<f64>,
    /// Its requests.
    pub requests: Option<Requests>,
}

/// One timed, checked transfer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ran {
    /// Its seconds.
    pub seconds: f64,
    /// Its costs.
    pub costs: Costs,
}

/// How one transfer ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Run {
    /// It finished and its bytes were checked.
    Whole(Ran),
    /// It passed its run's limit and was ended there: what it had used by then (less
    /// than a whole run would), so that a limit still judges a trial cut short.
    Cut(Costs),
}

impl Ran {
    /// Its costs as stored with its report.
    pub fn metrics(&self, prices: &Prices) -> Metrics {
        let c = &self.costs;
        let mut m = Metrics::new();
        if let Some(v) = c.memory_bytes {
            m.insert(MEMORY.into(), v as f64);
        }
        if let Some(v) = c.buffered_bytes {
            m.insert(BUFFERED.into(), v as f64);
        }
        if let Some(v) = c.start_rss_bytes {
            m.insert(START_RSS.into(), v as f64);
        }
        if let Some(v) = c.cpu_seconds {
            m.insert(CPU.into(), v);
            if self.seconds > 0.0 {
                m.insert(CORES.into(), v / self.seconds);
            }
        }
        if let Some(r) = &c.requests {
            m.insert(REQUESTS.into(), r.total() as f64);
            m.insert(COST.into(), r.cost(prices));
            for (kind, n) in [
                ("get", r.get),
                ("head", r.head),
                ("list", r.list),
                ("put", r.put),
                ("post", r.post),
            ] {
                if n > 0 {
                    m.insert(format!("{REQUESTS}_{kind}"), n as f64);
                }
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_cost_what_s3_lists_per_thousand() {
        let r = Requests {
            get: 2000,
            head: 1000,
            put: 100,
            post: 2,
            list: 8,
            other: 50,
        };
        let cost = r.cost(&Prices::default());
        // 3,000 × $0.0004/1000 + 110 × $0.005/1000; DELETEs are free.
        assert!((cost - (0.0012 + 0.00055)).abs() < 1e-12, "{cost}");
        let ran = Ran {
            seconds: 2.0,
            costs: Costs {
                cpu_seconds: Some(3.0),
                requests: Some(r),
                ..Costs::default()
            },
        };
        let m = ran.metrics(&Prices::default());
        assert_eq!(m[CORES], 1.5);
        assert_eq!(m[REQUESTS], 3160.0);
        assert_eq!(m["requests_put"], 100.0);
        assert!(!m.contains_key(MEMORY));
    }
}
