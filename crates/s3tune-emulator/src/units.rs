//! Human-friendly sizes and rates (`512MiB`, `88MB/s`, `1250000000`), as users type them
//! on the command line and in TOML files.

use std::fmt;
use std::str::FromStr;

use bytesize::ByteSize;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Parses a size such as `3GiB`, `512MiB`, `8MB` or `1000000` (plain bytes).
///
/// Decimal units (`MB`) are powers of 1000 and binary units (`MiB`) powers of 1024, as in
/// S3's and the AWS CLI's documentation.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty size".into());
    }
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    t.parse::<ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|_| format!("`{text}` is not a size: use e.g. 1000000, 8MB, 512MiB or 3GiB"))
}

/// A data rate in bytes per second.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(pub f64);

impl Rate {
    /// Bytes per second.
    #[must_use]
    pub fn bytes_per_sec(self) -> f64 {
        self.0
    }
}

impl FromStr for Rate {
    type Err = String;

    /// Accepts `88MB/s`, `1.25GB/s`, `500MiB/s`, `88MB` or a plain number of bytes/s.
    fn from_str(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let body = t.strip_suffix("/s").unwrap_or(t).trim();
        let err = || format!("`{text}` is not a rate: use e.g. 88MB/s, 1.25GB/s or 500MiB/s");
        if let Ok(n) = body.parse::<f64>() {
            return if n.is_finite() {
                Ok(Rate(n))
            } else {
                Err(err())
            };
        }
        // bytesize does not take fractions with units everywhere; split number and unit.
        let split = body
            .find(|c: char| c.is_ascii_alphabetic())
            .ok_or_else(err)?;
        let (num, unit) = body.split_at(split);
        let num: f64 = num.trim().parse().map_err(|_| err())?;
        let scale = match unit.trim() {
            "B" => 1.0,
            "KB" | "kB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "KiB" => 1024.0,
            "MiB" => 1024.0 * 1024.0,
            "GiB" => 1024.0 * 1024.0 * 1024.0,
            _ => return Err(err()),
        };
        Ok(Rate(num * scale))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v >= 1e9 {
            write!(f, "{:.3}GB/s", v / 1e9)
        } else if v >= 1e6 {
            write!(f, "{:.1}MB/s", v / 1e6)
        } else if v >= 1e3 {
            write!(f, "{:.1}KB/s", v / 1e3)
        } else {
            write!(f, "{v:.0}B/s")
        }
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(Rate(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// Serde for `Duration` fields written as `30ms`, `1.5s` (humantime).
pub mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the duration as humantime text.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    /// Reads humantime text such as `30ms`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|_| {
            serde::de::Error::custom(format!("`{text}` is not a duration: use e.g. 30ms or 1.5s"))
        })
    }
}

/// An I/O error in words, without Rust's `(os error N)` suffix.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_owned(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1000000").unwrap(), 1_000_000);
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("3GiB").unwrap(), 3 << 30);
        assert_eq!(parse_size("8MB").unwrap(), 8_000_000);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!("88MB/s".parse::<Rate>().unwrap(), Rate(88e6));
        assert_eq!("1.25GB/s".parse::<Rate>().unwrap(), Rate(1.25e9));
        assert_eq!("500MiB/s".parse::<Rate>().unwrap(), Rate(500.0 * 1048576.0));
        assert_eq!("1000".parse::<Rate>().unwrap(), Rate(1000.0));
        assert!("fast".parse::<Rate>().is_err());
        assert!("10XB/s".parse::<Rate>().is_err());
    }
}
