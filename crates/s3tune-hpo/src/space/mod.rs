//! Search spaces: named parameters, each with a domain; configurations; and the encoding
//! of configurations to the unit cube that model-based searchers work in.
//!
//! A space is written in TOML (or JSON) as one entry per parameter:
//!
//! ```toml
//! max_concurrency = { int = [1, 256], scale = "log" }
//! learning_rate = { float = [1e-4, 1e-1], scale = "log" }
//! multipart_chunksize = { ordinal = [5242880, 8388608, 16777216] }
//! optimizer = { choice = ["adam", "sgd"] }
//! bucket = "my-bucket"            # a fixed value, passed along unchanged
//! ```

use std::collections::BTreeMap;
use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

mod error;
mod param;
mod text;

pub use error::SpaceError;
pub use param::parse_param;

/// A parameter's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A whole number.
    Int(i64),
    /// A real number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
}

impl fmt::Display for Value {
    /// As Syne Tune passes values on a command line: `8`, `0.001`, `True`, `adam`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Value::Str(s) => f.write_str(s),
        }
    }
}

/// A configuration: a value for every parameter of a space.
pub type Config = BTreeMap<String, Value>;

/// Linear or logarithmic scale of a numeric domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// Uniform in the value.
    #[default]
    Linear,
    /// Uniform in the logarithm of the value (both bounds must be positive).
    Log,
}

/// The values a parameter may take.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    /// Whole numbers `low..=high`.
    Int {
        /// Smallest value.
        low: i64,
        /// Largest value.
        high: i64,
        /// Scale.
        scale: Scale,
    },
    /// Reals in `[low, high]`.
    Float {
        /// Smallest value.
        low: f64,
        /// Largest value.
        high: f64,
        /// Scale.
        scale: Scale,
    },
    /// An ordered list (e.g. powers of two); neighbours are similar.
    Ordinal(Vec<Value>),
    /// An unordered list of choices.
    Categorical(Vec<Value>),
    /// One value, always.
    Fixed(Value),
}

impl Domain {
    fn validate(&self, name: &str) -> Result<(), SpaceError> {
        let n = || name.to_owned();
        match self {
            Domain::Int { low, high, scale } => {
                if low > high {
                    return Err(SpaceError::Inverted(n()));
                }
                if *scale == Scale::Log && *low <= 0 {
                    return Err(SpaceError::NonPositiveLog(n()));
                }
            }
            Domain::Float { low, high, scale } => {
                if !low.is_finite() || !high.is_finite() {
                    return Err(SpaceError::NonFinite(n()));
                }
                if low > high {
                    return Err(SpaceError::Inverted(n()));
                }
                if *scale == Scale::Log && *low <= 0.0 {
                    return Err(SpaceError::NonPositiveLog(n()));
                }
            }
            Domain::Ordinal(v) | Domain::Categorical(v) if v.is_empty() => {
                return Err(SpaceError::EmptyChoices(n()));
            }
            _ => {}
        }
        Ok(())
    }

    /// Dimensions in the unit-cube encoding (one-hot for categorical).
    #[must_use]
    pub fn dims(&self) -> usize {
        match self {
            Domain::Fixed(_) => 0,
            Domain::Categorical(v) => v.len(),
            _ => 1,
        }
    }

    /// How many values the domain holds (`None`: infinitely many).
    #[must_use]
    pub fn cardinality(&self) -> Option<u128> {
        match self {
            Domain::Int { low, high, .. } => {
                Some((i128::from(*high) - i128::from(*low) + 1) as u128)
            }
            Domain::Float { low, high, .. } => (low == high).then_some(1),
            Domain::Ordinal(v) | Domain::Categorical(v) => Some(v.len() as u128),
            Domain::Fixed(_) => Some(1),
        }
    }

    fn to_unit(v: f64, low: f64, high: f64, scale: Scale) -> f64 {
        if high == low {
            return 0.5;
        }
        let (v, low, high) = match scale {
            Scale::Linear => (v, low, high),
            Scale::Log => (v.ln(), low.ln(), high.ln()),
        };
        ((v - low) / (high - low)).clamp(0.0, 1.0)
    }

    fn from_unit(u: f64, low: f64, high: f64, scale: Scale) -> f64 {
        let u = u.clamp(0.0, 1.0);
        match scale {
            Scale::Linear => low + u * (high - low),
            Scale::Log => (low.ln() + u * (high.ln() - low.ln()))
                .exp()
                .clamp(low, high),
        }
    }

    /// The value at unit-cube coordinates `u` (`dims()` of them); integers and ordinals
    /// are rounded, so a model sees exactly what will run.
    #[must_use]
    pub fn decode(&self, u: &[f64]) -> Value {
        match self {
            Domain::Int { low, high, scale } => {
                let x = Self::from_unit(u[0], *low as f64, *high as f64, *scale);
                Value::Int((x.round() as i64).clamp(*low, *high))
            }
            Domain::Float { low, high, scale } => {
                Value::Float(Self::from_unit(u[0], *low, *high, *scale))
            }
            Domain::Ordinal(v) => {
                let i = (u[0].clamp(0.0, 1.0) * (v.len() - 1) as f64).round() as usize;
                v[i.min(v.len() - 1)].clone()
            }
            Domain::Categorical(v) => {
                let best = u
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                v[best].clone()
            }
            Domain::Fixed(v) => v.clone(),
        }
    }

    /// Unit-cube coordinates of `value`, appended to `out`.
    fn encode(&self, name: &str, value: &Value, out: &mut Vec<f64>) -> Result<(), SpaceError> {
        let bad = |reason: String| SpaceError::BadConfig {
            name: name.to_owned(),
            reason,
        };
        match (self, value) {
            (Domain::Int { low, high, scale }, Value::Int(i)) => {
                if i < low || i > high {
                    return Err(bad(format!("= {i} is outside {low}..={high}")));
                }
                out.push(Self::to_unit(*i as f64, *low as f64, *high as f64, *scale));
            }
            (Domain::Float { low, high, scale }, Value::Float(x)) => {
                if !(x >= low && x <= high) {
                    return Err(bad(format!("= {x} is outside [{low}, {high}]")));
                }
                out.push(Self::to_unit(*x, *low, *high, *scale));
            }
            (Domain::Float { low, high, scale }, Value::Int(i)) => {
                let x = *i as f64;
                if !(x >= *low && x <= *high) {
                    return Err(bad(format!("= {x} is outside [{low}, {high}]")));
                }
                out.push(Self::to_unit(x, *low, *high, *scale));
            }
            (Domain::Ordinal(v), x) => {
                let i = v
                    .iter()
                    .position(|c| c == x)
                    .ok_or_else(|| bad(format!("= {x} is not one of the values")))?;
                out.push(if v.len() == 1 {
                    0.5
                } else {
                    i as f64 / (v.len() - 1) as f64
                });
            }
            (Domain::Categorical(v), x) => {
                let i = v
                    .iter()
                    .position(|c| c == x)
                    .ok_or_else(|| bad(format!("= {x} is not one of the choices")))?;
                out.extend((0..v.len()).map(|j| if j == i { 1.0 } else { 0.0 }));
            }
            (Domain::Fixed(f), x) => {
                if f != x {
                    return Err(bad(format!("= {x} differs from the fixed value {f}")));
                }
            }
            (_, x) => return Err(bad(format!("= {x} has the wrong type"))),
        }
        Ok(())
    }

    /// A value drawn uniformly (on the domain's scale).
    pub fn sample(&self, rng: &mut impl Rng) -> Value {
        let u: Vec<f64> = match self {
            Domain::Categorical(v) => {
                let i = rng.random_range(0..v.len());
                (0..v.len())
                    .map(|j| if j == i { 1.0 } else { 0.0 })
                    .collect()
            }
            Domain::Int {
                low,
                high,
                scale: Scale::Linear,
            } => return Value::Int(rng.random_range(*low..=*high)),
            Domain::Ordinal(v) => return v[rng.random_range(0..v.len())].clone(),
            Domain::Int { low, high, .. } => {
                // Log-uniform over the continuous range, rounded: every integer reachable.
                let lo = (*low as f64 - 0.5).max(0.5);
                let hi = *high as f64 + 0.5;
                let x = (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp();
                return Value::Int((x.round() as i64).clamp(*low, *high));
            }
            _ => vec![rng.random::<f64>(); self.dims()],
        };
        self.decode(&u)
    }
}

/// Named parameters and their domains, in name order (which fixes the encoding).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Space {
    params: BTreeMap<String, Domain>,
}

impl Space {
    /// A space of the given parameters, checked.
    pub fn new(params: impl IntoIterator<Item = (String, Domain)>) -> Result<Self, SpaceError> {
        let params: BTreeMap<_, _> = params.into_iter().collect();
        for (name, d) in &params {
            d.validate(name)?;
        }
        if params.values().all(|d| matches!(d, Domain::Fixed(_))) {
            return Err(SpaceError::Empty);
        }
        Ok(Self { params })
    }

    /// The parameters, in encoding order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &Domain)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Dimensions of the unit-cube encoding.
    #[must_use]
    pub fn dims(&self) -> usize {
        self.params.values().map(Domain::dims).sum()
    }

    /// Number of distinct configurations (`None`: infinitely many, or too many to count).
    #[must_use]
    pub fn cardinality(&self) -> Option<u128> {
        self.params.values().try_fold(1u128, |acc, d| {
            d.cardinality().and_then(|c| acc.checked_mul(c))
        })
    }

    /// A configuration drawn at random.
    pub fn sample(&self, rng: &mut impl Rng) -> Config {
        self.params
            .iter()
            .map(|(k, d)| (k.clone(), d.sample(rng)))
            .collect()
    }

    /// The configuration at unit-cube point `x` (`dims()` coordinates).
    #[must_use]
    pub fn decode(&self, x: &[f64]) -> Config {
        let mut at = 0;
        self.params
            .iter()
            .map(|(k, d)| {
                let v = d.decode(&x[at..at + d.dims()]);
                at += d.dims();
                (k.clone(), v)
            })
            .collect()
    }

    /// The unit-cube point of `config`, checking that it fits the space.
    pub fn encode(&self, config: &Config) -> Result<Vec<f64>, SpaceError> {
        let mut out = Vec::with_capacity(self.dims());
        for (name, d) in &self.params {
            let v = config.get(name).ok_or_else(|| SpaceError::BadConfig {
                name: name.clone(),
                reason: "is missing".into(),
            })?;
            d.encode(name, v, &mut out)?;
        }
        if let Some(extra) = config.keys().find(|k| !self.params.contains_key(*k)) {
            return Err(SpaceError::BadConfig {
                name: extra.clone(),
                reason: "is not in the space".into(),
            });
        }
        Ok(out)
    }
}

/// A stable 64-bit hash of a configuration (FNV-1a over its canonical JSON), the same in
/// every process and version of Rust: the key that tells configurations apart in a study.
#[must_use]
pub fn config_hash(config: &Config) -> u64 {
    let text = serde_json::to_string(config).expect("configurations serialize");
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
