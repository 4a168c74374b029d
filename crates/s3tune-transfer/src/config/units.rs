//! How sizes, rates and durations are written — `8MiB`, `50MB/s`, `5s` — in flags and
//! files, and their serde forms.

use std::fmt;
use std::time::Duration;

use serde::{Deserializer, Serializer};

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
pub(super) mod size {
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
pub(super) mod rate {
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
pub(super) mod seconds {
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
