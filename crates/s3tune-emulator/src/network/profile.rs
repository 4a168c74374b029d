//! `NetworkProfile`: what the emulated network between client and S3 looks like.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::units::{Rate, duration_text};

/// The shape of the emulated network, applied per request and per TCP connection.
///
/// Every field is optional in a TOML file: fields left out keep the value of the profile
/// the file is applied on top of (`unlimited` when loaded alone). Defaults state "no
/// shaping", so that a profile only describes what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkProfile {
    /// Median delay before each response's first byte (S3's request latency).
    #[serde(with = "duration_text")]
    pub first_byte_latency: Duration,
    /// Spread of that delay: the sigma of a log-normal distribution around the median
    /// (0 = constant; 0.5 puts the 99th percentile at about 3.2× the median).
    pub first_byte_jitter: f64,
    /// Bandwidth of one TCP connection, in each direction (S3 serves ~88 MB/s per request).
    pub connection_bandwidth: Option<Rate>,
    /// Bandwidth of the link shared by all connections, in each direction (the
    /// instance's NIC: 1250 MB/s for 10 Gb/s).
    pub link_bandwidth: Option<Rate>,
    /// GET/HEAD requests per second above which the server answers `503 SlowDown`
    /// (S3 sustains at least 5,500 per prefix).
    pub get_rate_limit: Option<f64>,
    /// PUT/POST/DELETE requests per second above which the server answers `503 SlowDown`
    /// (S3 sustains at least 3,500 per prefix).
    pub put_rate_limit: Option<f64>,
    /// Requests served at once above which the server answers `503 SlowDown`.
    pub max_concurrent_requests: Option<u32>,
    /// Probability that a request is answered `503 SlowDown` regardless of load.
    pub slowdown_probability: f64,
    /// Probability that a request is answered `500 InternalError`.
    pub internal_error_probability: f64,
    /// Probability that a response body is cut off, the connection dropped, after a
    /// uniformly random fraction of its bytes.
    pub reset_probability: f64,
    /// Seed of the fault and latency draws, so that a faulty run can be replayed.
    pub seed: u64,
}

impl Default for NetworkProfile {
    fn default() -> Self {
        Self::unlimited()
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

/// The names accepted by [`NetworkProfile::named`].
pub const PROFILE_NAMES: [&str; 3] = ["unlimited", "s3-like", "faulty"];

impl NetworkProfile {
    /// No shaping at all: the server runs as fast as the machine allows.
    #[must_use]
    pub fn unlimited() -> Self {
        Self {
            first_byte_latency: Duration::ZERO,
            first_byte_jitter: 0.0,
            connection_bandwidth: None,
            link_bandwidth: None,
            get_rate_limit: None,
            put_rate_limit: None,
            max_concurrent_requests: None,
            slowdown_probability: 0.0,
            internal_error_probability: 0.0,
            reset_probability: 0.0,
            seed: 0,
        }
    }

    /// S3's published figures: 88 MB/s per connection, a 10 Gb/s link (1250 MB/s),
    /// 30 ms median first-byte latency with jitter, throttling past 5,500 GET/s and
    /// 3,500 PUT/s.
    #[must_use]
    pub fn s3_like() -> Self {
        Self {
            first_byte_latency: Duration::from_millis(30),
            first_byte_jitter: 0.3,
            connection_bandwidth: Some(Rate(88e6)),
            link_bandwidth: Some(Rate(1250e6)),
            get_rate_limit: Some(5500.0),
            put_rate_limit: Some(3500.0),
            ..Self::unlimited()
        }
    }

    /// `s3-like` plus 2 % `503 SlowDown` and 5 % mid-body connection resets.
    #[must_use]
    pub fn faulty() -> Self {
        Self {
            slowdown_probability: 0.02,
            reset_probability: 0.05,
            ..Self::s3_like()
        }
    }

    /// The profile called `name` (one of [`PROFILE_NAMES`]).
    pub fn named(name: &str) -> Result<Self, ConfigError> {
        match name {
            "unlimited" => Ok(Self::unlimited()),
            "s3-like" => Ok(Self::s3_like()),
            "faulty" => Ok(Self::faulty()),
            _ => Err(ConfigError::UnknownProfile(name.to_owned())),
        }
    }

    /// A profile name, or the path of a TOML file (anything ending in `.toml` or naming
    /// an existing file). A file may say `base = "s3-like"` to start from a named profile.
    pub fn from_name_or_file(arg: &str) -> Result<Self, ConfigError> {
        let path = Path::new(arg);
        if arg.ends_with(".toml") || path.is_file() {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::ProfileFile {
                path: arg.to_owned(),
                reason: e.to_string(),
            })?;
            Self::from_toml(&text).map_err(|reason| ConfigError::ProfileFile {
                path: arg.to_owned(),
                reason,
            })
        } else {
            Self::named(arg)
        }
    }

    /// Parses a TOML profile; fields left out come from `base` (default `unlimited`).
    /// An error says where: `line L, column C: field: what is wrong`.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let at = |offset: Option<usize>, field: Option<&str>, reason: &str| {
            let offset = offset.or_else(|| field.and_then(|f| key_offset(text, f)));
            let place = offset.map_or_else(String::new, |o| {
                let (l, c) = line_col(text, o);
                format!("line {l}, column {c}: ")
            });
            let field = field.map_or_else(String::new, |f| format!("{f}: "));
            format!("{place}{field}{reason}")
        };
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| at(e.span().map(|s| s.start), None, e.message()))?;
        let base = match table.remove("base") {
            None => Self::unlimited(),
            Some(toml::Value::String(name)) => {
                Self::named(&name).map_err(|e| at(None, Some("base"), &e.to_string()))?
            }
            Some(other) => {
                return Err(at(
                    None,
                    Some("base"),
                    &format!("must be a profile name, not {other}"),
                ));
            }
        };
        // Overlay the file's fields on the base, field by field, through serde.
        let mut merged = toml::Table::try_from(&base).map_err(|e| e.to_string())?;
        for (k, v) in table {
            merged.insert(k, v);
        }
        let profile: Self =
            serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|e| {
                let path = e.path().to_string();
                let field = (path != ".").then_some(path);
                let message = e.inner().message().to_owned();
                // An unknown field is named in the message; find its line by it.
                let named = message
                    .strip_prefix("unknown field `")
                    .and_then(|m| m.split('`').next())
                    .map(str::to_owned);
                at(None, field.as_deref().or(named.as_deref()), &message)
            })?;
        profile.validate().map_err(|e| match e {
            ConfigError::OutOfRange { field, reason } => at(None, Some(field), &reason),
            other => other.to_string(),
        })?;
        Ok(profile)
    }

    /// Checks that every field is in range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad =
            |field: &'static str, reason: String| Err(ConfigError::OutOfRange { field, reason });
        if self.first_byte_latency > Duration::from_secs(60) {
            return bad("first_byte_latency", "must be at most 60s".into());
        }
        if !(0.0..=3.0).contains(&self.first_byte_jitter) {
            return bad(
                "first_byte_jitter",
                format!("{} is not in 0..=3", self.first_byte_jitter),
            );
        }
        for (field, rate) in [
            ("connection_bandwidth", self.connection_bandwidth),
            ("link_bandwidth", self.link_bandwidth),
        ] {
            if let Some(r) = rate
                && !(r.0 >= 1000.0 && r.0.is_finite())
            {
                return bad(field, format!("{r} is below 1KB/s"));
            }
        }
        for (field, limit) in [
            ("get_rate_limit", self.get_rate_limit),
            ("put_rate_limit", self.put_rate_limit),
        ] {
            if let Some(l) = limit
                && !(l >= 1.0 && l.is_finite())
            {
                return bad(field, format!("{l} requests/s is below 1"));
            }
        }
        if self.max_concurrent_requests == Some(0) {
            return bad("max_concurrent_requests", "must be at least 1".into());
        }
        for (field, p) in [
            ("slowdown_probability", self.slowdown_probability),
            (
                "internal_error_probability",
                self.internal_error_probability,
            ),
            ("reset_probability", self.reset_probability),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return bad(field, format!("{p} is not a probability in 0..=1"));
            }
        }
        Ok(())
    }

    /// One line for people: what this profile emulates.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.first_byte_latency.is_zero() {
            parts.push(format!(
                "first byte {:?} median (log-normal sigma {})",
                self.first_byte_latency, self.first_byte_jitter
            ));
        }
        if let Some(r) = self.connection_bandwidth {
            parts.push(format!("{r} per connection"));
        }
        if let Some(r) = self.link_bandwidth {
            parts.push(format!("{r} shared link"));
        }
        if let Some(g) = self.get_rate_limit {
            parts.push(format!("SlowDown past {g} GET/s per prefix"));
        }
        if let Some(p) = self.put_rate_limit {
            parts.push(format!("SlowDown past {p} PUT/s per prefix"));
        }
        if let Some(c) = self.max_concurrent_requests {
            parts.push(format!("SlowDown past {c} concurrent requests"));
        }
        if self.slowdown_probability > 0.0 {
            parts.push(format!(
                "{:.1}% injected 503",
                self.slowdown_probability * 100.0
            ));
        }
        if self.internal_error_probability > 0.0 {
            parts.push(format!(
                "{:.1}% injected 500",
                self.internal_error_probability * 100.0
            ));
        }
        if self.reset_probability > 0.0 {
            parts.push(format!(
                "{:.1}% bodies reset",
                self.reset_probability * 100.0
            ));
        }
        if parts.is_empty() {
            "no shaping".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_profiles_are_valid() {
        for name in PROFILE_NAMES {
            NetworkProfile::named(name).unwrap().validate().unwrap();
        }
        assert!(matches!(
            NetworkProfile::named("fast"),
            Err(ConfigError::UnknownProfile(_))
        ));
    }

    #[test]
    fn toml_overlays_base() {
        let p = NetworkProfile::from_toml(
            "base = \"s3-like\"\nlink_bandwidth = \"500MB/s\"\nfirst_byte_latency = \"10ms\"",
        )
        .unwrap();
        assert_eq!(p.link_bandwidth, Some(Rate(500e6)));
        assert_eq!(p.first_byte_latency, Duration::from_millis(10));
        assert_eq!(p.connection_bandwidth, Some(Rate(88e6)));
    }

    #[test]
    fn toml_errors_name_the_problem() {
        let e = NetworkProfile::from_toml("reset_probability = 2.0").unwrap_err();
        assert!(e.contains("reset_probability"), "{e}");
        let e = NetworkProfile::from_toml("bandwidth = \"1MB/s\"").unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
        let e = NetworkProfile::from_toml("link_bandwidth = \"fast\"").unwrap_err();
        assert!(e.contains("not a rate"), "{e}");
        assert!(NetworkProfile::from_toml("[[[").is_err());
    }

    #[test]
    fn toml_errors_say_where() {
        let e = NetworkProfile::from_toml("base = \"s3-like\"\n\n  reset_probability = 2.0")
            .unwrap_err();
        assert!(
            e.starts_with("line 3, column 3: reset_probability: "),
            "{e}"
        );
        let e =
            NetworkProfile::from_toml("base = \"s3-like\"\nlink_bandwidth = \"fast\"").unwrap_err();
        assert!(e.starts_with("line 2, column 1: link_bandwidth: "), "{e}");
        let e = NetworkProfile::from_toml("seed = 1\nbandwidth = 3").unwrap_err();
        assert!(
            e.starts_with("line 2, column 1: bandwidth: unknown field"),
            "{e}"
        );
        let e = NetworkProfile::from_toml("seed = [").unwrap_err();
        assert!(e.starts_with("line 1, column"), "{e}");
    }
}
