//! `TransferConfig`: boto3's eight knobs, with boto3's names, defaults and meaning, so a
//! configuration tuned here can be pasted into `boto3.s3.transfer.TransferConfig(...)`;
//! and the two timeouts of every request, with botocore's names.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod file;
mod units;

pub use file::FileError;
pub use units::{parse_duration, parse_rate, parse_size};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// S3's smallest upload part (all but the last).
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// S3's largest upload part.
pub const MAX_PART_SIZE: u64 = 5 * GIB;
/// S3's largest number of parts in one multipart upload.
pub const MAX_PARTS: u64 = 10_000;
/// Largest `max_concurrency` accepted (more only exhausts sockets).
pub const MAX_CONCURRENCY: usize = 1024;

/// How an S3 transfer is carried out; boto3's `TransferConfig`.
///
/// | knob | default | meaning |
/// |---|---|---|
/// | `multipart_threshold` | 8 MiB | objects this size or larger go in parts |
/// | `max_concurrency` | 10 | requests in flight (1 when `use_threads` is false) |
/// | `multipart_chunksize` | 8 MiB | size of each ranged GET / uploaded part |
/// | `num_download_attempts` | 5 | attempts per part when its body breaks mid-stream |
/// | `max_io_queue` | 100 | pieces read but not yet written |
/// | `io_chunksize` | 256 KiB | size of each piece read from a response body |
/// | `use_threads` | true | false: one request at a time |
/// | `max_bandwidth` | none | bytes/s cap over the whole transfer |
///
/// and, from botocore's `Config` rather than boto3's `TransferConfig` (so not among the
/// knobs a study tunes, nor in [`TransferConfig::to_boto3`]):
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `connect_timeout` | 5 s | longest wait for a connection (TCP and TLS) |
/// | `read_timeout` | 5 s | longest silence: no byte sent or received while a request waits |
///
/// boto3 waits 60 s for each. S3 itself answers in a fraction of a second and streams
/// without pauses, so five seconds of silence is a fault (a dead proxy, a lost route);
/// the attempt fails, and the client's retries try again on a fresh connection. An
/// endpoint that has never answered gets two attempts (see the `timeout` module), so a
/// silent one is reported in about ten seconds, not five minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransferConfig {
    /// Objects of at least this many bytes are transferred in parts.
    #[serde(with = "units::size")]
    pub multipart_threshold: u64,
    /// Requests in flight at once.
    pub max_concurrency: usize,
    /// Bytes per ranged GET or uploaded part.
    #[serde(with = "units::size")]
    pub multipart_chunksize: u64,
    /// Attempts per part when a response body breaks mid-stream (socket errors, resets).
    pub num_download_attempts: u32,
    /// Pieces (of `io_chunksize`) read but not yet written, at most.
    pub max_io_queue: usize,
    /// Bytes per read from a response body, and per queued piece.
    #[serde(with = "units::size")]
    pub io_chunksize: u64,
    /// False: one request at a time.
    pub use_threads: bool,
    /// Bytes per second over the whole transfer, if capped.
    #[serde(with = "units::rate")]
    pub max_bandwidth: Option<u64>,
    /// Longest wait for a connection to be made (botocore's `connect_timeout`).
    #[serde(with = "units::seconds", skip_serializing_if = "is_default_timeout")]
    pub connect_timeout: Duration,
    /// Longest silence while a request waits (botocore's `read_timeout`): no byte of its
    /// body taken, no byte of the answer come.
    #[serde(with = "units::seconds", skip_serializing_if = "is_default_timeout")]
    pub read_timeout: Duration,
    /// Objects open at once in a recursive transfer; unset, `max_concurrency`, so that
    /// every request may be a different small object, as in the AWS CLI. Not a boto3
    /// knob: boto3 has no recursive transfer, and the CLI bounds only requests. The
    /// requests of all open objects share `max_concurrency` (see `Transfer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_objects: Option<usize>,
}

/// The default of both timeouts.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest timeout accepted.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_default_timeout(d: &Duration) -> bool {
    *d == DEFAULT_TIMEOUT
}

impl Default for TransferConfig {
    fn default() -> Self {
        Self {
            multipart_threshold: 8 * MIB,
            max_concurrency: 10,
            multipart_chunksize: 8 * MIB,
            num_download_attempts: 5,
            max_io_queue: 100,
            io_chunksize: 256 * KIB,
            use_threads: true,
            max_bandwidth: None,
            connect_timeout: DEFAULT_TIMEOUT,
            read_timeout: DEFAULT_TIMEOUT,
            max_objects: None,
        }
    }
}

/// A knob out of range; says which, and what the limit is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{knob} = {value} is out of range: {limit}")]
pub struct ConfigError {
    /// The knob's name, as in boto3.
    pub knob: &'static str,
    /// The value given.
    pub value: String,
    /// The rule it breaks.
    pub limit: &'static str,
}

impl TransferConfig {
    /// Checks every knob against boto3's and S3's limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |knob, value: &dyn fmt::Display, limit| {
            Err(ConfigError {
                knob,
                value: value.to_string(),
                limit,
            })
        };
        if self.multipart_threshold == 0 {
            return err("multipart_threshold", &0, "must be at least 1 byte");
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.max_concurrency) {
            return err(
                "max_concurrency",
                &self.max_concurrency,
                "must be 1 to 1024",
            );
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.multipart_chunksize) {
            return err(
                "multipart_chunksize",
                &bytesize::ByteSize(self.multipart_chunksize),
                "S3 parts are 5 MiB to 5 GiB",
            );
        }
        if self.num_download_attempts == 0 {
            return err("num_download_attempts", &0, "must be at least 1");
        }
        if self.max_io_queue == 0 {
            return err("max_io_queue", &0, "must be at least 1");
        }
        if !(1..=MAX_PART_SIZE).contains(&self.io_chunksize) {
            return err(
                "io_chunksize",
                &bytesize::ByteSize(self.io_chunksize),
                "must be 1 byte to 5 GiB",
            );
        }
        if let Some(n) = self.max_objects
            && !(1..=MAX_CONCURRENCY).contains(&n)
        {
            return err("max_objects", &n, "must be 1 to 1024");
        }
        if self.max_bandwidth == Some(0) {
            return err("max_bandwidth", &0, "must be at least 1 byte/s (or unset)");
        }
        for (knob, d) in [
            ("connect_timeout", self.connect_timeout),
            ("read_timeout", self.read_timeout),
        ] {
            if d.is_zero() || d > MAX_TIMEOUT {
                return err(
                    knob,
                    &humantime::format_duration(d),
                    "must be more than 0 and at most 1h",
                );
            }
        }
        Ok(())
    }

    /// Requests in flight, after `use_threads`.
    #[must_use]
    pub fn concurrency(&self) -> usize {
        if self.use_threads {
            self.max_concurrency
        } else {
            1
        }
    }

    /// Objects open at once in a recursive transfer, after `use_threads`.
    #[must_use]
    pub fn objects_in_flight(&self) -> usize {
        if self.use_threads {
            self.max_objects.unwrap_or(self.max_concurrency)
        } else {
            1
        }
    }

    /// The part size for an object of `size` bytes: `multipart_chunksize`, doubled until
    /// the object fits in S3's 10,000 parts (as boto3 does).
    #[must_use]
    pub fn part_size_for(&self, size: u64) -> u64 {
        let mut part = self.multipart_chunksize;
        while size.div_ceil(part) > MAX_PARTS {
            part *= 2;
        }
        part
    }

    /// boto3 spelling, ready to paste: `TransferConfig(multipart_threshold=..., ...)`.
    #[must_use]
    pub fn to_boto3(&self) -> String {
        format!(
            "TransferConfig(multipart_threshold={}, max_concurrency={}, multipart_chunksize={}, \
             num_download_attempts={}, max_io_queue={}, io_chunksize={}, use_threads={}, max_bandwidth={})",
            self.multipart_threshold,
            self.max_concurrency,
            self.multipart_chunksize,
            self.num_download_attempts,
            self.max_io_queue,
            self.io_chunksize,
            if self.use_threads { "True" } else { "False" },
            self.max_bandwidth
                .map_or_else(|| "None".to_owned(), |b| b.to_string()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_boto3s() {
        let c = TransferConfig::default();
        assert_eq!(
            (
                c.multipart_threshold,
                c.max_concurrency,
                c.multipart_chunksize,
                c.num_download_attempts
            ),
            (8 * MIB, 10, 8 * MIB, 5)
        );
        assert_eq!(
            (
                c.max_io_queue,
                c.io_chunksize,
                c.use_threads,
                c.max_bandwidth
            ),
            (100, 256 * KIB, true, None)
        );
        c.validate().unwrap();
    }

    #[test]
    fn limits_name_the_knob_and_rule() {
        let e = TransferConfig {
            max_concurrency: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.knob, "max_concurrency");
        let e = TransferConfig {
            multipart_chunksize: MIB,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("5 MiB to 5 GiB"), "{e}");
        let e = TransferConfig {
            multipart_chunksize: 6 * GIB,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.knob, "multipart_chunksize");
        for bad in [
            TransferConfig {
                num_download_attempts: 0,
                ..Default::default()
            },
            TransferConfig {
                max_io_queue: 0,
                ..Default::default()
            },
            TransferConfig {
                io_chunksize: 0,
                ..Default::default()
            },
            TransferConfig {
                max_bandwidth: Some(0),
                ..Default::default()
            },
            TransferConfig {
                multipart_threshold: 0,
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn part_size_doubles_past_10000_parts() {
        let c = TransferConfig::default();
        assert_eq!(c.part_size_for(80_000 * MIB), 8 * MIB);
        assert_eq!(c.part_size_for(80_000 * MIB + 1), 16 * MIB);
        assert_eq!(c.part_size_for(0), 8 * MIB);
    }

    #[test]
    fn toml_and_json_take_human_sizes() {
        let c: TransferConfig = toml::from_str(
            "max_concurrency = 32\nmultipart_chunksize = \"16MiB\"\nio_chunksize = 65536\nmax_bandwidth = \"50MB/s\"",
        )
        .unwrap();
        assert_eq!(
            (c.max_concurrency, c.multipart_chunksize, c.io_chunksize),
            (32, 16 * MIB, 65536)
        );
        assert_eq!(c.max_bandwidth, Some(50_000_000));
        assert_eq!(c.max_io_queue, 100, "unset knobs keep boto3's defaults");
        let j: TransferConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(j, c);
        assert!(toml::from_str::<TransferConfig>("max_concurrenci = 3").is_err());
        assert!(toml::from_str::<TransferConfig>("io_chunksize = \"big\"").is_err());
    }

    #[test]
    fn boto3_spelling() {
        let s = TransferConfig::default().to_boto3();
        assert!(
            s.starts_with("TransferConfig(multipart_threshold=8388608, max_concurrency=10"),
            "{s}"
        );
        assert!(s.ends_with("use_threads=True, max_bandwidth=None)"), "{s}");
    }
}
