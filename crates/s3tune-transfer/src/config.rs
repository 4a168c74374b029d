//! `TransferConfig`: boto3's eight knobs, with boto3's names, defaults and meaning, so a
//! configuration tuned here can be pasted into `boto3.s3.transfer.TransferConfig(...)`;
//! and the two timeouts of every request, with botocore's names.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
    #[serde(with = "size")]
    pub multipart_threshold: u64,
    /// Requests in flight at once.
    pub max_concurrency: usize,
    /// Bytes per ranged GET or uploaded part.
    #[serde(with = "size")]
    pub multipart_chunksize: u64,
    /// Attempts per part when a response body breaks mid-stream (socket errors, resets).
    pub num_download_attempts: u32,
    /// Pieces (of `io_chunksize`) read but not yet written, at most.
    pub max_io_queue: usize,
    /// Bytes per read from a response body, and per queued piece.
    #[serde(with = "size")]
    pub io_chunksize: u64,
    /// False: one request at a time.
    pub use_threads: bool,
    /// Bytes per second over the whole transfer, if capped.
    #[serde(with = "rate")]
    pub max_bandwidth: Option<u64>,
    /// Longest wait for a connection to be made (botocore's `connect_timeout`).
    #[serde(with = "seconds", skip_serializing_if = "is_default_timeout")]
    pub connect_timeout: Duration,
    /// Longest silence while a request waits (botocore's `read_timeout`): no byte of its
    /// body taken, no byte of the answer come.
    #[serde(with = "seconds", skip_serializing_if = "is_default_timeout")]
    pub read_timeout: Duration,
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

/// What is wrong with a configuration file, and where: the line and column when the
/// parser or the field's place in the text tells, and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{reason}", position(*.line, *.column), .field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct FileError {
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// The knob (or setting) at fault.
    pub field: Option<String>,
    /// What is wrong.
    pub reason: String,
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        _ => String::new(),
    }
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Where `key` is set in a TOML or JSON text: its `key =` or `"key":` (at a line's
/// start, or after `{` or `,`), or its `[key]` table header.
fn key_offset(text: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(key).map(|i| i + from) {
        from = i + key.len();
        let quoted = text[..i].ends_with('"') && text[from..].starts_with('"');
        let (start, end) = if quoted { (i - 1, from + 1) } else { (i, from) };
        let before = text[..start].trim_end_matches([' ', '\t']);
        let after = text[end..].trim_start_matches([' ', '\t']);
        let header = before.ends_with('[') && after.starts_with(']');
        let opens = before.is_empty() || before.ends_with(['\n', '{', ',']);
        if header || (opens && after.starts_with(['=', ':'])) {
            return Some(if header { before.len() - 1 } else { start });
        }
    }
    None
}

impl FileError {
    fn new(text: &str, offset: Option<usize>, field: Option<String>, reason: String) -> Self {
        let offset = offset.or_else(|| field.as_deref().and_then(|f| key_offset(text, f)));
        let (line, column) = offset.map(|o| line_col(text, o)).unzip();
        Self {
            line,
            column,
            field,
            reason,
        }
    }

    fn checked(text: &str, c: TransferConfig) -> Result<TransferConfig, Self> {
        c.validate().map_err(|e| {
            Self::new(
                text,
                None,
                Some(e.knob.to_owned()),
                format!("{} is out of range: {}", e.value, e.limit),
            )
        })?;
        Ok(c)
    }
}

/// The field a deserializer's path names (`.` is the whole document).
fn field_of(path: &serde_path_to_error::Path) -> Option<String> {
    let p = path.to_string();
    (p != "." && !p.is_empty()).then_some(p)
}

impl TransferConfig {
    /// A configuration written as TOML (`max_concurrency = 32`, `multipart_chunksize =
    /// "16MiB"`, `read_timeout = "10s"`), checked; knobs left out keep boto3's defaults.
    pub fn from_toml(text: &str) -> Result<Self, FileError> {
        let de = toml::Deserializer::parse(text).map_err(|e| {
            FileError::new(
                text,
                e.span().map(|s| s.start),
                None,
                e.message().to_owned(),
            )
        })?;
        let c: Self = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = field_of(e.path());
            let inner = e.inner();
            FileError::new(
                text,
                inner.span().map(|s| s.start),
                field,
                inner.message().to_owned(),
            )
        })?;
        FileError::checked(text, c)
    }

    /// The same, written as JSON.
    pub fn from_json(text: &str) -> Result<Self, FileError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let c: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = field_of(e.path());
            let inner = e.inner();
            let reason = inner.to_string();
            // serde_json ends its message with the position, which goes in front instead.
            let reason = reason
                .rsplit_once(" at line ")
                .map_or(reason.as_str(), |(r, _)| r)
                .to_owned();
            FileError {
                line: (inner.line() > 0).then_some(inner.line()),
                column: (inner.line() > 0).then_some(inner.column().max(1)),
                field,
                reason,
            }
        })?;
        FileError::checked(text, c)
    }
}

/// Parses `8MiB`, `8MB`, `8388608`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    t.parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|_| format!("`{text}` is not a size: use e.g. 8388608, 8MB or 8MiB"))
}

/// Parses `50MB/s`, `50MiB/s`, `50MB` or a plain number of bytes/s.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let body = t.strip_suffix("/s").unwrap_or(t);
    parse_size(body).map_err(|_| format!("`{text}` is not a rate: use e.g. 50MB/s or 52428800"))
}

/// A size or rate as a file may write it: a whole number of bytes, or a string such as
/// `8MiB` (`50MB/s` for a rate). Anything else is refused with what was found, so the
/// message names the mistake (serde's untagged enums only say that nothing matched).
struct SizeVisitor {
    rate: bool,
}

impl<'de> serde::de::Visitor<'de> for SizeVisitor {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rate {
            f.write_str("a rate in bytes per second, such as 52428800 or \"50MB/s\"")
        } else {
            f.write_str("a size in bytes, such as 8388608 or \"8MiB\"")
        }
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        u64::try_from(v).map(Some).map_err(|_| {
            E::custom(format!(
                "{v} is negative: expected {}",
                if self.rate {
                    "a rate such as \"50MB/s\""
                } else {
                    "a size such as \"8MiB\""
                }
            ))
        })
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Err(E::custom(format!(
            "{v} is not a whole number of bytes: write e.g. 8388608 or \"8MiB\""
        )))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if self.rate {
            if v == "none" || v == "unlimited" {
                return Ok(None);
            }
            parse_rate(v).map(Some).map_err(E::custom)
        } else {
            parse_size(v).map(Some).map_err(E::custom)
        }
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Serde for sizes: a number of bytes or a string such as `8MiB`.
mod size {
    use super::*;

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(*v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(SizeVisitor { rate: false })?
            .ok_or_else(|| serde::de::Error::custom("expected a size such as \"8MiB\""))
    }
}

/// Serde for an optional rate: absent/null, bytes/s, or a string such as `50MB/s`.
mod rate {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(n) => s.serialize_some(n),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_option(SizeVisitor { rate: true })
    }
}

/// Serde for timeouts: a string such as `5s` or `500ms`, or a number of seconds (as
/// botocore writes them).
mod seconds {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*v).to_string())
    }

    struct V;

    impl serde::de::Visitor<'_> for V {
        type Value = Duration;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration such as \"5s\" or \"500ms\", or a number of seconds")
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_secs(v))
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
            u64::try_from(v).map(Duration::from_secs).map_err(|_| {
                E::custom(format!(
                    "{v} is negative: expected a duration such as \"5s\""
                ))
            })
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Duration, E> {
            Duration::try_from_secs_f64(v)
                .map_err(|_| E::custom(format!("{v} is not a duration: write e.g. \"5s\"")))
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
            parse_duration(v).map_err(E::custom)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(V)
    }
}

/// Parses `5s`, `500ms`, `1m 30s` (humantime's syntax), in words when it is not one.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|_| format!("`{text}` is not a duration: write e.g. 90s, 500ms, 10m or 1h"))
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
    fn file_errors_say_where_and_which_field() {
        let e = TransferConfig::from_toml("max_concurrency = 4\nmultipart_chunksize = -5\n")
            .unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(23)), "{e}");
        assert_eq!(e.field.as_deref(), Some("multipart_chunksize"));
        assert!(e.to_string().contains("negative"), "{e}");
        let e = TransferConfig::from_toml("max_concurrency = 4\n\nmax_io_queue = 0\n").unwrap_err();
        assert_eq!(
            (e.line, e.column, e.field.as_deref()),
            (Some(3), Some(1), Some("max_io_queue")),
            "{e}"
        );
        let e = TransferConfig::from_toml("max_concurrency = [").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
        let e = TransferConfig::from_toml("read_timeout = \"soon\"").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("read_timeout"), "{e}");
        let e = TransferConfig::from_json("{\n  \"max_concurrency\": \"many\"\n}").unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(2), Some("max_concurrency")),
            "{e}"
        );
        assert!(!e.to_string().contains(" at line "), "{e}");
        let c = TransferConfig::from_toml("read_timeout = \"10s\"\nconnect_timeout = 2").unwrap();
        assert_eq!(
            (c.read_timeout, c.connect_timeout),
            (Duration::from_secs(10), Duration::from_secs(2))
        );
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
