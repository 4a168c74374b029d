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

/// A space that cannot be used, or a configuration that does not fit it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SpaceError {
    /// The space has no parameter to tune.
    #[error("the search space is empty: give at least one parameter")]
    Empty,
    /// `low > high`.
    #[error("parameter `{0}`: low bound above high bound")]
    Inverted(String),
    /// A log scale with a bound ≤ 0.
    #[error("parameter `{0}`: a log scale needs bounds above 0")]
    NonPositiveLog(String),
    /// A bound that is NaN or infinite.
    #[error("parameter `{0}`: bounds must be finite numbers")]
    NonFinite(String),
    /// An empty list of choices.
    #[error("parameter `{0}`: the list of values is empty")]
    EmptyChoices(String),
    /// A malformed description.
    #[error("parameter `{name}`: {reason}")]
    Syntax {
        /// The parameter.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A configuration without a value for a parameter, or with a value outside it.
    #[error("configuration: parameter `{name}` {reason}")]
    BadConfig {
        /// The parameter.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The description as a whole is not a table of parameters (or not TOML/JSON).
    #[error("{0}")]
    Malformed(String),
    /// An error in a description's text, and where: line and column (1-based) of the
    /// parser's complaint, or of the parameter at fault.
    #[error("line {line}, column {column}: {error}")]
    At {
        /// The line.
        line: usize,
        /// The column.
        column: usize,
        /// What is wrong there.
        error: Box<SpaceError>,
    },
}

impl SpaceError {
    /// The parameter at fault, if one is.
    #[must_use]
    pub fn param(&self) -> Option<&str> {
        match self {
            SpaceError::Inverted(n)
            | SpaceError::NonPositiveLog(n)
            | SpaceError::NonFinite(n)
            | SpaceError::EmptyChoices(n)
            | SpaceError::Syntax { name: n, .. }
            | SpaceError::BadConfig { name: n, .. } => Some(n),
            SpaceError::At { error, .. } => error.param(),
            SpaceError::Empty | SpaceError::Malformed(_) => None,
        }
    }

    /// Where parameter `param` is set in a description's `text`: 1-based line and column.
    #[must_use]
    pub fn position_of(text: &str, param: &str) -> Option<(usize, usize)> {
        key_offset(text, param).map(|o| line_col(text, o))
    }

    /// This error placed at byte `offset` of `text`, or where its parameter is set.
    fn placed(self, text: &str, offset: Option<usize>) -> Self {
        let offset = offset.or_else(|| self.param().and_then(|p| key_offset(text, p)));
        match offset {
            Some(o) => {
                let (line, column) = line_col(text, o);
                SpaceError::At {
                    line,
                    column,
                    error: Box::new(self),
                }
            }
            None => self,
        }
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

    /// Parses the TOML description (see the module docs). Errors say where in `text`
    /// ([`SpaceError::At`]).
    pub fn from_toml(text: &str) -> Result<Self, SpaceError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            SpaceError::Malformed(e.message().to_owned()).placed(text, e.span().map(|s| s.start))
        })?;
        let json =
            serde_json::to_value(&table).map_err(|e| SpaceError::Malformed(e.to_string()))?;
        Self::from_value(&json).map_err(|e| e.placed(text, None))
    }

    /// Parses the same description written as JSON:
    /// `{"max_concurrency": {"int": [1, 256], "scale": "log"}, "bucket": "data"}`.
    pub fn from_json(text: &str) -> Result<Self, SpaceError> {
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            let reason = e.to_string();
            let reason = reason
                .rsplit_once(" at line ")
                .map_or(reason.as_str(), |(r, _)| r);
            SpaceError::At {
                line: e.line(),
                column: e.column().max(1),
                error: Box::new(SpaceError::Malformed(reason.to_owned())),
            }
        })?;
        Self::from_value(&json).map_err(|e| e.placed(text, None))
    }

    fn from_value(json: &serde_json::Value) -> Result<Self, SpaceError> {
        let obj = json.as_object().ok_or_else(|| {
            SpaceError::Malformed("a space is a table of parameters, one per line".to_owned())
        })?;
        let mut params = Vec::new();
        for (name, v) in obj {
            params.push((name.clone(), parse_domain(name, v)?));
        }
        Self::new(params)
    }

    /// The description this space parses from (`from_json(&to_json().to_string())`
    /// gives the same space): how stores keep it.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        let scale = |s: &Scale| match s {
            Scale::Linear => "linear",
            Scale::Log => "log",
        };
        let obj = self
            .params
            .iter()
            .map(|(name, d)| {
                let v = match d {
                    Domain::Int {
                        low,
                        high,
                        scale: s,
                    } => {
                        serde_json::json!({"int": [low, high], "scale": scale(s)})
                    }
                    Domain::Float {
                        low,
                        high,
                        scale: s,
                    } => {
                        serde_json::json!({"float": [low, high], "scale": scale(s)})
                    }
                    Domain::Ordinal(v) => serde_json::json!({ "ordinal": v }),
                    Domain::Categorical(v) => serde_json::json!({ "choice": v }),
                    Domain::Fixed(v) => serde_json::json!(v),
                };
                (name.clone(), v)
            })
            .collect();
        serde_json::Value::Object(obj)
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

fn syntax(name: &str, reason: &str) -> SpaceError {
    SpaceError::Syntax {
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
}

fn values(name: &str, v: &serde_json::Value) -> Result<Vec<Value>, SpaceError> {
    serde_json::from_value(v.clone())
        .map_err(|_| syntax(name, "expects a list of numbers, booleans or strings"))
}

/// One parameter's description: `{ int = [lo, hi], scale = "log" }`, `{ float = ... }`,
/// `{ ordinal = [...] }`, `{ choice = [...] }`, or a plain value (fixed).
fn parse_domain(name: &str, v: &serde_json::Value) -> Result<Domain, SpaceError> {
    let Some(obj) = v.as_object() else {
        return serde_json::from_value(v.clone())
            .map(Domain::Fixed)
            .map_err(|_| syntax(name, "a fixed value must be a number, boolean or string"));
    };
    let scale = match obj.get("scale").map(|s| s.as_str()) {
        None | Some(Some("linear")) => Scale::Linear,
        Some(Some("log")) => Scale::Log,
        _ => return Err(syntax(name, "scale must be \"linear\" or \"log\"")),
    };
    let known = ["int", "float", "ordinal", "choice", "scale"];
    if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(syntax(
            name,
            &format!("unknown key `{k}` (use int, float, ordinal or choice)"),
        ));
    }
    let bounds = |key: &str| -> Result<(f64, f64), SpaceError> {
        match obj[key].as_array().map(Vec::as_slice) {
            Some([a, b]) => match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => Ok((a, b)),
                _ => Err(syntax(name, &format!("`{key}` bounds must be numbers"))),
            },
            _ => Err(syntax(name, &format!("`{key}` takes [low, high]"))),
        }
    };
    if obj.contains_key("int") {
        let (lo, hi) = bounds("int")?;
        if lo.fract() != 0.0 || hi.fract() != 0.0 {
            return Err(syntax(name, "`int` bounds must be whole numbers"));
        }
        return Ok(Domain::Int {
            low: lo as i64,
            high: hi as i64,
            scale,
        });
    }
    if obj.contains_key("float") {
        let (low, high) = bounds("float")?;
        return Ok(Domain::Float { low, high, scale });
    }
    if let Some(v) = obj.get("ordinal") {
        return Ok(Domain::Ordinal(values(name, v)?));
    }
    if let Some(v) = obj.get("choice") {
        return Ok(Domain::Categorical(values(name, v)?));
    }
    Err(syntax(name, "needs one of int, float, ordinal or choice"))
}
