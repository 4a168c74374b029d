//! Spaces as people write them: the TOML (or JSON) description of the module docs, read
//! with the place of any mistake, and written back for stores.

use super::{Domain, Scale, Space, SpaceError, Value};

impl Space {
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
