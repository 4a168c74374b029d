//! The clients a transfer study can measure, and each one's knobs: s3tune's engine and
//! boto3 (boto3's `TransferConfig`, the registry in `s3tune_transfer::knobs`), the AWS CLI
//! (its `s3` settings), the AWS CRT (`awscrt.s3.S3Client`'s arguments) and rclone (its
//! flags).
//!
//! Each client's knobs are one table ([`KnobDef`]): the name the study's space uses (the
//! client's own spelling, so that what a user reads in a report is what they set), what
//! kind of value it takes, the client's default, the values it accepts and the default
//! search range. Spaces, `--param`, the defaults trial, the auto-configured baselines
//! and the exports derive from these tables; how a run of each client is started is in
//! its own file.

pub mod awscli;
pub mod boto3;
pub mod crt;
pub mod rclone;

use std::sync::LazyLock;

use s3tune_hpo::{Config, Domain, Space, Value};
use s3tune_transfer::knobs::{KNOBS, KnobKind, KnobValue};
use s3tune_transfer::{Direction, TransferConfig};

use crate::study::Client;

/// What a knob's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bytes (written `8MiB`).
    Size,
    /// A count.
    Count,
    /// Bytes per second (written `50MB/s`); 0 means no cap.
    Rate,
    /// True or false.
    Bool,
    /// A real number (CRT's target in Gb/s).
    Real,
}

impl From<KnobKind> for Kind {
    fn from(k: KnobKind) -> Self {
        match k {
            KnobKind::Size => Self::Size,
            KnobKind::Count => Self::Count,
            KnobKind::Rate => Self::Rate,
            KnobKind::Bool => Self::Bool,
        }
    }
}

/// A client's default for a knob.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    /// A fixed value.
    Is(f64),
    /// Worked out by the client from its other settings (CRT's part size from its
    /// target and memory limit): the client's file says how, in `defaults`.
    Derived,
}

/// One knob of one client.
#[derive(Debug, Clone)]
pub struct KnobDef {
    /// Its name in a study's space: the client's own spelling.
    pub name: &'static str,
    /// Its value's kind.
    pub kind: Kind,
    /// The transfers whose speed it changes.
    pub reads: &'static [Direction],
    /// Searched by default for one object in these directions.
    pub searched: &'static [Direction],
    /// Searched by default for many objects (a dataset) in these directions.
    pub searched_many: &'static [Direction],
    /// Read only when many objects move.
    pub many_only: bool,
    /// The default search range (log scale).
    pub range: (f64, f64),
    /// The values the client accepts.
    pub limits: (f64, f64),
    /// The client's default.
    pub default: Default,
    /// What it does, in a few words.
    pub help: &'static str,
}

impl KnobDef {
    /// Whether it changes transfers in `direction`.
    pub fn reads(&self, direction: Direction) -> bool {
        self.reads.contains(&direction)
    }

    /// Whether the default space of transfers in `direction` (of many objects when
    /// `many`) searches it.
    pub fn searched(&self, direction: Direction, many: bool) -> bool {
        if many {
            self.searched_many.contains(&direction)
        } else {
            self.searched.contains(&direction)
        }
    }

    /// `value` as this knob's kind of parameter value.
    pub fn value(&self, value: f64) -> Value {
        match self.kind {
            Kind::Real => Value::Float(value),
            Kind::Bool => Value::Bool(value != 0.0),
            _ => Value::Int(value.round() as i64),
        }
    }
}

/// The engine's (and boto3's) knobs, from the transfer registry: boto3's names, kinds,
/// ranges and defaults. Their limits are checked by `TransferConfig::validate`.
static ENGINE: LazyLock<Vec<KnobDef>> = LazyLock::new(|| {
    let d = TransferConfig::default();
    KNOBS
        .iter()
        .map(|k| KnobDef {
            name: k.name,
            kind: k.kind.into(),
            reads: k.reads,
            searched: k.searched,
            searched_many: k.searched_many,
            many_only: k.many_only,
            range: (k.range.0 as f64, k.range.1 as f64),
            limits: (0.0, f64::MAX),
            default: Default::Is(match k.get(&d) {
                KnobValue::Int(i) => i as f64,
                KnobValue::Bool(b) => f64::from(u8::from(b)),
            }),
            help: k.help,
        })
        .collect()
});

impl Client {
    /// Every client, in the order `compare` measures them.
    pub const ALL: [Client; 5] = [
        Client::S3tune,
        Client::Boto3,
        Client::Awscli,
        Client::Crt,
        Client::Rclone,
    ];

    /// Its knobs.
    pub fn knobs(self) -> &'static [KnobDef] {
        match self {
            Self::S3tune | Self::Boto3 => &ENGINE,
            Self::Awscli => &awscli::KNOBS,
            Self::Crt => &crt::KNOBS,
            Self::Rclone => &rclone::KNOBS,
        }
    }

    /// Its knob called `name`, or an error naming the client's knobs.
    pub fn knob(self, name: &str) -> Result<&'static KnobDef, String> {
        self.knobs().iter().find(|k| k.name == name).ok_or_else(|| {
            format!(
                "{} has no knob `{name}`; its knobs are {}",
                self.title(),
                self.knobs()
                    .iter()
                    .map(|k| k.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    /// Whether the engine's `TransferConfig` holds its settings (s3tune, boto3).
    pub fn uses_transfer_config(self) -> bool {
        matches!(self, Self::S3tune | Self::Boto3)
    }

    /// The client's own defaults for the knobs of `space` (the first trial); knobs the
    /// space fixes keep their value. `direction` matters to a client that derives a
    /// default (CRT's part size).
    pub fn defaults(self, space: &Space, direction: Direction) -> Config {
        let derived = match self {
            Self::Crt => crt::derived_defaults(direction),
            _ => Config::new(),
        };
        space
            .params()
            .map(|(name, domain)| {
                let v = match (domain, self.knob(name).map(|k| (k, k.default))) {
                    (Domain::Fixed(v), _) => v.clone(),
                    (_, Ok((k, Default::Is(x)))) => k.value(x),
                    (_, Ok((_, Default::Derived))) => {
                        derived.get(name).cloned().unwrap_or(Value::Int(0))
                    }
                    (_, Err(_)) => Value::Int(0),
                };
                (name.to_owned(), v)
            })
            .collect()
    }

    /// Whether `config`'s values are ones the client accepts (the engine's are checked by
    /// its `TransferConfig`).
    pub fn check_value(self, knob: &KnobDef, v: &Value) -> Result<(), String> {
        let x = match v {
            Value::Int(i) => *i as f64,
            Value::Float(x) => *x,
            Value::Bool(_) if knob.kind == Kind::Bool => return Ok(()),
            other => return Err(format!("`{}` = {other} is not a number", knob.name)),
        };
        if knob.kind != Kind::Real && !matches!(v, Value::Int(_)) {
            return Err(format!("`{}` takes whole numbers", knob.name));
        }
        let (lo, hi) = knob.limits;
        if x < lo || x > hi {
            return Err(format!(
                "`{}` = {} is outside what {} accepts ({} to {})",
                knob.name,
                show_value(knob, v),
                self.title(),
                show_value(knob, &knob.value(lo)),
                show_value(knob, &knob.value(hi)),
            ));
        }
        Ok(())
    }

    /// The client as a sentence's subject: `s3tune's engine`, `the AWS CLI`.
    pub fn title(self) -> &'static str {
        match self {
            Self::S3tune => "s3tune's engine",
            Self::Boto3 => "boto3",
            Self::Awscli => "the AWS CLI",
            Self::Crt => "the AWS CRT",
            Self::Rclone => "rclone",
        }
    }
}

/// A knob's value for people: sizes as `8 MiB`, rates as `50 MB/s`, CRT's target as
/// `10 Gb/s`.
pub fn show_value(knob: &KnobDef, v: &Value) -> String {
    match (knob.kind, v) {
        (Kind::Size, Value::Int(i)) => bytesize::ByteSize(*i as u64).display().iec().to_string(),
        (Kind::Rate, Value::Int(i)) if *i > 0 => {
            format!("{}/s", bytesize::ByteSize(*i as u64).display().si())
        }
        (Kind::Real, Value::Float(x)) => format!("{x:.2}"),
        (_, other) => other.to_string(),
    }
}

/// How a transfer is sized by a rule that needs no search: `connections` requests in
/// flight, parts of `part` bytes (none: the client's own), and for CRT the target and
/// memory limit the rule assumed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizing {
    /// Requests (connections) in flight.
    pub connections: u64,
    /// Part size in bytes; `None` keeps the client's default.
    pub part: Option<u64>,
    /// CRT's throughput target, Gb/s.
    pub target_gbps: f64,
    /// CRT's memory limit, bytes.
    pub memory: u64,
}

impl Client {
    /// `sizing` in this client's knobs, as a point of `space` (each value clamped into
    /// its range; knobs the rule does not set keep the client's defaults).
    pub fn sized(self, sizing: &Sizing, space: &Space, direction: Direction) -> Config {
        let mut config = self.defaults(space, direction);
        let c = sizing.connections as f64;
        let part = sizing.part.map(|p| p as f64);
        let wanted: Vec<(&str, Option<f64>)> = match self {
            Self::S3tune | Self::Boto3 => vec![
                ("max_concurrency", Some(c)),
                ("max_objects", Some(c)),
                ("multipart_chunksize", part),
                ("multipart_threshold", part),
            ],
            Self::Awscli => vec![
                ("max_concurrent_requests", Some(c)),
                ("multipart_chunksize", part),
                ("multipart_threshold", part),
            ],
            Self::Crt => crt::sized(sizing),
            Self::Rclone => vec![
                ("transfers", Some(c)),
                ("multi_thread_streams", Some(c)),
                ("multi_thread_cutoff", part),
                ("s3_upload_concurrency", Some(c)),
                ("s3_chunk_size", part),
                ("s3_upload_cutoff", part),
            ],
        };
        for (name, v) in wanted {
            let (Some(v), Some((_, domain))) = (v, space.params().find(|(k, _)| *k == name)) else {
                continue;
            };
            let Ok(knob) = self.knob(name) else { continue };
            if let Some(v) = clamp(domain, v) {
                config.insert(name.to_owned(), knob.value(v));
            }
        }
        config
    }
}

/// `v` inside `domain`: clamped into a range, the nearest of a list; `None` for a fixed
/// knob (which keeps its value).
fn clamp(domain: &Domain, v: f64) -> Option<f64> {
    let num = |x: &Value| match x {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    match domain {
        Domain::Int { low, high, .. } => Some(v.clamp(*low as f64, *high as f64)),
        Domain::Float { low, high, .. } => Some(v.clamp(*low, *high)),
        Domain::Ordinal(values) | Domain::Categorical(values) => values
            .iter()
            .filter_map(num)
            .min_by(|a, b| (a - v).abs().total_cmp(&(b - v).abs())),
        Domain::Fixed(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clients_defaults_are_inside_its_limits_and_ranges_inside_limits() {
        for client in Client::ALL {
            for k in client.knobs() {
                assert!(k.range.0 <= k.range.1, "{client} {}", k.name);
                assert!(
                    k.limits.0 <= k.range.0 && k.range.1 <= k.limits.1,
                    "{client} {}: range outside limits",
                    k.name
                );
                if let Default::Is(d) = k.default {
                    client.check_value(k, &k.value(d)).unwrap();
                }
                assert!(!k.reads.is_empty(), "{client} {}", k.name);
            }
        }
    }

    #[test]
    fn an_unknown_knob_is_named_with_the_clients_knobs() {
        let err = Client::Rclone.knob("max_concurrency").unwrap_err();
        assert!(
            err.contains("rclone has no knob `max_concurrency`"),
            "{err}"
        );
        assert!(err.contains("multi_thread_streams"), "{err}");
    }
}
