//! One parameter written on a command line: `NAME=LOW..HIGH[:log|:linear]` (a range: of
//! whole numbers when both bounds are, else of reals), `NAME=A,B,C` (choices: ordered
//! when they are all numbers, else categories), or `NAME=VALUE` (fixed). Values are
//! numbers, `true`/`false`, or text.

use super::{Domain, Scale, SpaceError, Value};

/// A value as written: a whole number, a real, a boolean, or text.
fn value(text: &str) -> Value {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        Value::Int(i)
    } else if let Ok(f) = t.parse::<f64>() {
        Value::Float(f)
    } else if t.eq_ignore_ascii_case("true") {
        Value::Bool(true)
    } else if t.eq_ignore_ascii_case("false") {
        Value::Bool(false)
    } else {
        Value::Str(t.to_owned())
    }
}

/// Parses one `NAME=…` parameter.
pub fn parse_param(spec: &str) -> Result<(String, Domain), SpaceError> {
    let syntax = |name: &str, reason: &str| SpaceError::Syntax {
        name: name.to_owned(),
        reason: format!("`{spec}`: {reason}"),
    };
    let (name, body) = spec
        .split_once('=')
        .ok_or_else(|| syntax(spec, "write NAME=LOW..HIGH[:log], NAME=A,B,C or NAME=VALUE"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(syntax(name, "the parameter has no name"));
    }
    let (range, scale) = match body.rsplit_once(':') {
        Some((b, "log")) => (b, Some(Scale::Log)),
        Some((b, "linear")) => (b, Some(Scale::Linear)),
        _ => (body, None),
    };
    if let Some((lo, hi)) = range.split_once("..") {
        let scale = scale.unwrap_or(Scale::Linear);
        let domain = match (value(lo), value(hi)) {
            (Value::Int(low), Value::Int(high)) => Domain::Int { low, high, scale },
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                let num = |t: &str| t.trim().parse::<f64>().unwrap_or(f64::NAN);
                Domain::Float {
                    low: num(lo),
                    high: num(hi),
                    scale,
                }
            }
            _ => return Err(syntax(name, "a range needs numbers")),
        };
        return Ok((name.to_owned(), domain));
    }
    if scale.is_some() {
        return Err(syntax(name, "a scale goes with a range LOW..HIGH"));
    }
    let values: Vec<Value> = body.split(',').map(value).collect();
    let numeric = values
        .iter()
        .all(|v| matches!(v, Value::Int(_) | Value::Float(_)));
    Ok(match <[Value; 1]>::try_from(values) {
        Ok([one]) => (name.to_owned(), Domain::Fixed(one)),
        Err(values) if numeric => (name.to_owned(), Domain::Ordinal(values)),
        Err(values) => (name.to_owned(), Domain::Categorical(values)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_choices_and_fixed_values_parse_as_written() {
        assert_eq!(
            parse_param("x1=-5.0..10.0").unwrap(),
            (
                "x1".to_owned(),
                Domain::Float {
                    low: -5.0,
                    high: 10.0,
                    scale: Scale::Linear
                }
            )
        );
        assert_eq!(
            parse_param("lr=1e-4..1e-1:log").unwrap().1,
            Domain::Float {
                low: 1e-4,
                high: 1e-1,
                scale: Scale::Log
            }
        );
        assert_eq!(
            parse_param("n=1..64:log").unwrap().1,
            Domain::Int {
                low: 1,
                high: 64,
                scale: Scale::Log
            }
        );
        assert_eq!(
            parse_param("opt=adam,sgd").unwrap().1,
            Domain::Categorical(vec![Value::Str("adam".into()), Value::Str("sgd".into())])
        );
        assert_eq!(
            parse_param("b=8,16,32").unwrap().1,
            Domain::Ordinal(vec![Value::Int(8), Value::Int(16), Value::Int(32)])
        );
        assert_eq!(
            parse_param("bucket=data").unwrap().1,
            Domain::Fixed(Value::Str("data".into()))
        );
        for bad in ["x", "=1..2", "x=a..b", "x=1,2:log"] {
            assert!(parse_param(bad).is_err(), "{bad}");
        }
    }
}
