//! The knob registry: boto3's eight `TransferConfig` knobs and the engine's `max_objects`, each once — its name, what
//! kind of value it takes, which transfers boto3 reads it in, its default search range,
//! and how it is read from and written into a [`TransferConfig`]. Search spaces, `--param`,
//! the exports and the checks of every command derive from this table.

use crate::config::{MAX_PART_SIZE, MIN_PART_SIZE, TransferConfig};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// What a knob's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnobKind {
    /// Bytes (written `8MiB`).
    Size,
    /// A count.
    Count,
    /// Bytes per second (written `50MB/s`); 0 or none means no cap.
    Rate,
    /// True or false.
    Bool,
}

/// Which transfers read a knob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// S3 to a file.
    Download,
    /// A file to S3.
    Upload,
}

/// A knob's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnobValue {
    /// A size, count or rate (a rate of 0: no cap).
    Int(u64),
    /// A boolean.
    Bool(bool),
}

/// One knob of boto3's `TransferConfig`.
#[derive(Debug)]
pub struct Knob {
    /// boto3's name.
    pub name: &'static str,
    /// Its value's kind.
    pub kind: KnobKind,
    /// The transfers whose speed it changes, in boto3 (s3transfer) as in this engine.
    pub reads: &'static [Direction],
    /// Searched by default for these transfers, over `range` on a log scale.
    pub searched: &'static [Direction],
    /// Searched by default for recursive transfers (datasets) in these directions: the
    /// two levels (objects in flight, requests in flight) and what decides how each
    /// object splits into parts, which the size distribution makes matter.
    pub searched_many: &'static [Direction],
    /// Read only by recursive transfers (one object has nothing to put in flight beside
    /// it).
    pub many_only: bool,
    /// The default search range: S3's limits and what the fastest clients use.
    pub range: (u64, u64),
    /// What it does, in a few words.
    pub help: &'static str,
    get: fn(&TransferConfig) -> KnobValue,
    set: fn(&mut TransferConfig, u64, bool),
}

use Direction::{Download as D, Upload as U};

/// Every knob: boto3's, in its order, then the engine's own `max_objects`.
pub static KNOBS: [Knob; 9] = [
    Knob {
        name: "multipart_threshold",
        kind: KnobKind::Size,
        reads: &[D, U],
        searched: &[U],
        searched_many: &[D, U],
        many_only: false,
        range: (MIN_PART_SIZE, GIB),
        help: "objects this size or larger go in parts",
        get: |c| KnobValue::Int(c.multipart_threshold),
        set: |c, v, _| c.multipart_threshold = v,
    },
    Knob {
        name: "max_concurrency",
        kind: KnobKind::Count,
        reads: &[D, U],
        searched: &[D, U],
        searched_many: &[D, U],
        many_only: false,
        range: (1, 256),
        help: "requests in flight",
        get: |c| KnobValue::Int(c.max_concurrency as u64),
        set: |c, v, _| c.max_concurrency = usize::try_from(v).unwrap_or(usize::MAX),
    },
    Knob {
        name: "multipart_chunksize",
        kind: KnobKind::Size,
        reads: &[D, U],
        searched: &[D, U],
        searched_many: &[D, U],
        many_only: false,
        range: (MIN_PART_SIZE, 256 * MIB),
        help: "size of each ranged GET or uploaded part",
        get: |c| KnobValue::Int(c.multipart_chunksize),
        set: |c, v, _| c.multipart_chunksize = v,
    },
    Knob {
        name: "num_download_attempts",
        kind: KnobKind::Count,
        reads: &[D],
        searched: &[],
        searched_many: &[],
        many_only: false,
        range: (1, 10),
        help: "attempts per part when its body breaks mid-stream",
        get: |c| KnobValue::Int(u64::from(c.num_download_attempts)),
        set: |c, v, _| c.num_download_attempts = u32::try_from(v).unwrap_or(u32::MAX),
    },
    Knob {
        name: "max_io_queue",
        kind: KnobKind::Count,
        reads: &[D],
        searched: &[D],
        searched_many: &[],
        many_only: false,
        range: (1, 1000),
        help: "pieces read but not yet written",
        get: |c| KnobValue::Int(c.max_io_queue as u64),
        set: |c, v, _| c.max_io_queue = usize::try_from(v).unwrap_or(usize::MAX),
    },
    Knob {
        name: "io_chunksize",
        kind: KnobKind::Size,
        reads: &[D],
        searched: &[D],
        searched_many: &[],
        many_only: false,
        range: (64 * KIB, 16 * MIB),
        help: "size of each read from a response body",
        get: |c| KnobValue::Int(c.io_chunksize),
        set: |c, v, _| c.io_chunksize = v,
    },
    Knob {
        name: "use_threads",
        kind: KnobKind::Bool,
        reads: &[D, U],
        searched: &[],
        searched_many: &[],
        many_only: false,
        range: (0, 1),
        help: "false: one request at a time",
        get: |c| KnobValue::Bool(c.use_threads),
        set: |c, _, b| c.use_threads = b,
    },
    Knob {
        name: "max_bandwidth",
        kind: KnobKind::Rate,
        reads: &[D, U],
        searched: &[],
        searched_many: &[],
        many_only: false,
        range: (0, 0),
        help: "bytes per second over the whole transfer",
        get: |c| KnobValue::Int(c.max_bandwidth.unwrap_or(0)),
        set: |c, v, _| c.max_bandwidth = Some(v).filter(|v| *v > 0),
    },
    Knob {
        name: "max_objects",
        kind: KnobKind::Count,
        reads: &[D, U],
        searched: &[],
        searched_many: &[D, U],
        many_only: true,
        range: (1, 1024),
        help: "objects open at once in a recursive transfer (not boto3's)",
        get: |c| KnobValue::Int(c.max_objects.unwrap_or(c.max_concurrency) as u64),
        set: |c, v, _| c.max_objects = Some(usize::try_from(v).unwrap_or(usize::MAX)),
    },
];

/// The knob called `name`, if there is one.
#[must_use]
pub fn knob(name: &str) -> Option<&'static Knob> {
    KNOBS.iter().find(|k| k.name == name)
}

/// Every knob's name, for messages (`a, b, c`).
#[must_use]
pub fn names() -> String {
    KNOBS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

impl Knob {
    /// Its value in `config`.
    #[must_use]
    pub fn get(&self, config: &TransferConfig) -> KnobValue {
        (self.get)(config)
    }

    /// Sets it in `config` (not checked: see [`TransferConfig::validate`]); a value of
    /// the wrong kind is refused with what it should be.
    pub fn set(&self, config: &mut TransferConfig, value: KnobValue) -> Result<(), String> {
        match (self.kind, value) {
            (KnobKind::Bool, KnobValue::Bool(b)) => (self.set)(config, 0, b),
            (KnobKind::Bool, KnobValue::Int(_)) => {
                return Err(format!("`{}` is true or false", self.name));
            }
            (_, KnobValue::Int(v)) => (self.set)(config, v, false),
            (_, KnobValue::Bool(_)) => {
                return Err(format!("`{}` takes a whole number", self.name));
            }
        }
        Ok(())
    }

    /// Whether boto3 reads it for transfers in `direction`.
    #[must_use]
    pub fn reads(&self, direction: Direction) -> bool {
        self.reads.contains(&direction)
    }

    /// Whether the default space of transfers in `direction` searches it: of one
    /// object, or of many when `many` (a recursive transfer, a dataset).
    #[must_use]
    pub fn searched(&self, direction: Direction, many: bool) -> bool {
        if many {
            self.searched_many.contains(&direction)
        } else {
            self.searched.contains(&direction)
        }
    }
}

/// S3's part limits, for range checks elsewhere: 5 MiB to 5 GiB.
pub const PART_LIMITS: (u64, u64) = (MIN_PART_SIZE, MAX_PART_SIZE);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_knob_reads_back_what_it_sets_and_the_defaults_are_boto3s() {
        let d = TransferConfig::default();
        for k in &KNOBS {
            let mut c = TransferConfig::default();
            let v = match k.kind {
                KnobKind::Bool => KnobValue::Bool(false),
                _ => KnobValue::Int(k.range.1.max(7)),
            };
            k.set(&mut c, v).unwrap();
            assert_eq!(k.get(&c), v, "{}", k.name);
            assert_ne!(c, d, "{} changed nothing", k.name);
        }
        assert_eq!(
            knob("multipart_chunksize").unwrap().get(&d),
            KnobValue::Int(8 * MIB)
        );
        assert!(
            knob("use_threads")
                .unwrap()
                .set(&mut TransferConfig::default(), KnobValue::Int(1))
                .is_err()
        );
        assert!(knob("speed").is_none());
        assert_eq!(KNOBS.len(), names().split(", ").count());
    }
}
