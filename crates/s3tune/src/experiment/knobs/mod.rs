//! The search space of a transfer: the knobs of the client measured (boto3's
//! `TransferConfig` for s3tune's engine and boto3; the AWS CLI's, CRT's and rclone's own,
//! `experiment::clients`) as parameters.
//!
//! A download's default space for the engine is the seed's four knobs, an upload's the
//! three that s3transfer's `upload_file` reads and that matter (threshold, part size,
//! concurrency); each other client's is what its table marks searched. All over the
//! tables' ranges (S3's documentation and the fastest clients, docs/s3-facts.md), on log
//! scales. `--param` and `--space` change it, with any knob the client reads for that
//! direction; sizes may be written as `8MiB`.

use anyhow::{anyhow, bail};
use s3tune_hpo::{Config, Domain, Scale, Space, Value};
use s3tune_transfer::knobs::{self, Knob, KnobValue};
use s3tune_transfer::{Direction, TransferConfig};

use super::clients::{Kind, KnobDef, show_value};
use crate::study::Client;

/// The default space of `client`'s transfers in `direction`, of one object or of
/// `many` (a dataset): the knobs that matter most, over the tables' ranges, all on log
/// scales — what matters is the ratio between two settings, not their difference.
pub fn default_space(client: Client, direction: Direction, many: bool) -> Space {
    Space::new(
        client
            .knobs()
            .iter()
            .filter(|k| k.searched(direction, many))
            .map(|k| {
                let (low, high) = k.range;
                let domain = match k.kind {
                    Kind::Real => Domain::Float {
                        low,
                        high,
                        scale: Scale::Log,
                    },
                    _ => Domain::Int {
                        low: low as i64,
                        high: high as i64,
                        scale: Scale::Log,
                    },
                };
                (k.name.to_owned(), domain)
            }),
    )
    .expect("the default spaces are valid")
}

/// A knob's value written by a user: a size (`8MiB`), a rate (`50MB/s`), a boolean, a
/// whole number, or (CRT's target) a real number.
fn parse_value(knob: &KnobDef, text: &str) -> anyhow::Result<Value> {
    let text = text.trim();
    let name = knob.name;
    let bad = |e: String| anyhow!("--param {name}: `{text}`: {e}");
    let int = |v: u64| -> anyhow::Result<Value> {
        Ok(Value::Int(
            i64::try_from(v).map_err(|e| bad(e.to_string()))?,
        ))
    };
    match knob.kind {
        Kind::Bool => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => bail!("--param {name}: `{text}` is not true or false"),
        },
        Kind::Rate => int(s3tune_transfer::parse_rate(text).map_err(bad)?),
        Kind::Size => int(s3tune_transfer::parse_size(text).map_err(bad)?),
        Kind::Count => Ok(Value::Int(
            text.parse()
                .map_err(|_| bad("expects a whole number".into()))?,
        )),
        Kind::Real => Ok(Value::Float(
            text.parse().map_err(|_| bad("expects a number".into()))?,
        )),
    }
}

/// One `--param` of `client`'s knobs: `NAME=LOW..HIGH[:log]` (a range), `NAME=A,B,C`
/// (an ordered list), or `NAME=VALUE` (fixed).
pub fn parse_param(client: Client, spec: &str) -> anyhow::Result<(String, Domain)> {
    let (name, rest) = spec.split_once('=').ok_or_else(|| {
        anyhow!("--param `{spec}`: write NAME=LOW..HIGH[:log], NAME=A,B,C or NAME=VALUE")
    })?;
    let name = name.trim();
    let knob = client
        .knob(name)
        .map_err(|e| anyhow!("--param `{spec}`: {e}"))?;
    let (body, scale) = match rest.rsplit_once(':') {
        Some((b, "log")) => (b, Scale::Log),
        Some((b, "linear")) => (b, Scale::Linear),
        Some((_, other)) => bail!("--param `{spec}`: unknown scale `{other}` (log or linear)"),
        None => (rest, Scale::Linear),
    };
    if let Some((lo, hi)) = body.split_once("..") {
        return Ok((
            name.to_owned(),
            match (parse_value(knob, lo)?, parse_value(knob, hi)?) {
                (Value::Int(low), Value::Int(high)) => Domain::Int { low, high, scale },
                (Value::Float(low), Value::Float(high)) => Domain::Float { low, high, scale },
                _ => bail!("--param `{spec}`: a range needs numbers"),
            },
        ));
    }
    let values = body
        .split(',')
        .map(|v| parse_value(knob, v))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(match <[Value; 1]>::try_from(values) {
        Ok([one]) => (name.to_owned(), Domain::Fixed(one)),
        Err(values) if knob.kind == Kind::Bool => (name.to_owned(), Domain::Categorical(values)),
        Err(values) => (name.to_owned(), Domain::Ordinal(values)),
    })
}

/// The space of `client`'s transfers in `direction` from `--space FILE` (TOML or JSON;
/// numbers in bytes) or the default, with each `--param` replacing or adding its knob;
/// checked against the client's limits and against what it reads for such transfers.
pub fn build_space(
    client: Client,
    file: Option<&std::path::Path>,
    params: &[String],
    direction: Direction,
    many: bool,
) -> anyhow::Result<Space> {
    let (base, text) = match file {
        None => (default_space(client, direction, many), None),
        Some(path) => {
            let (space, text) = crate::commands::files::space(path)?;
            (space, Some(text))
        }
    };
    let mut all: std::collections::BTreeMap<String, Domain> = base
        .params()
        .map(|(k, d)| (k.to_owned(), d.clone()))
        .collect();
    for p in params {
        let (k, d) = parse_param(client, p)?;
        all.insert(k, d);
    }
    let space = Space::new(all).map_err(|e| anyhow!("search space: {e}"))?;
    if let Err((knob, message)) = check(client, &space, direction, many) {
        // A knob the file set is named where it sets it; one a --param set, as such.
        return Err(match (file, text) {
            (Some(path), Some(text))
                if !params.iter().any(|p| p.starts_with(&format!("{knob}="))) =>
            {
                crate::commands::files::space_error(path, &text, &knob, &message)
            }
            _ => anyhow!("search space: {message}"),
        });
    }
    Ok(space)
}

/// Every parameter is a knob of `client`, and the extremes of each range are valid
/// settings (a chunk size under S3's 5 MiB minimum is refused here, not in the middle of
/// a run). An error names the knob and says what is wrong with it.
fn check(
    client: Client,
    space: &Space,
    direction: Direction,
    many: bool,
) -> Result<(), (String, String)> {
    for (name, domain) in space.params() {
        let fail = |m: String| Err((name.to_owned(), m));
        let knob = client.knob(name).map_err(|m| (name.to_owned(), m))?;
        if knob.many_only && !many {
            return fail(format!(
                "`{name}` changes only transfers of many objects (a dataset: a prefix ending in /, or --dataset); leave it out"
            ));
        }
        if !knob.reads(direction) {
            return fail(format!(
                "`{name}` does not change {}s ({} reads it only for {}s); leave it out",
                verb(direction),
                client.title(),
                verb(if direction == Direction::Upload {
                    Direction::Download
                } else {
                    Direction::Upload
                })
            ));
        }
        let extremes = match domain {
            Domain::Int { low, high, .. } => vec![Value::Int(*low), Value::Int(*high)],
            Domain::Float { low, high, .. } if knob.kind == Kind::Real => {
                vec![Value::Float(*low), Value::Float(*high)]
            }
            Domain::Float { .. } => return fail(format!("`{name}` takes whole numbers")),
            Domain::Ordinal(v) | Domain::Categorical(v) => v.clone(),
            Domain::Fixed(v) => vec![v.clone()],
        };
        for v in extremes {
            if client.uses_transfer_config() {
                let mut c = TransferConfig::default();
                let engine = knobs::knob(name).expect("the engine's table is the registry");
                if let Err(e) = set(&mut c, engine, &v) {
                    return fail(e);
                }
                if let Err(e) = c.validate() {
                    return fail(e.to_string());
                }
            } else if let Err(e) = client.check_value(knob, &v) {
                return fail(e);
            }
        }
    }
    Ok(())
}

/// `download` or `upload`.
fn verb(direction: Direction) -> &'static str {
    match direction {
        Direction::Download => "download",
        Direction::Upload => "upload",
    }
}

/// Sets one knob of `c` from a parameter value.
fn set(c: &mut TransferConfig, knob: &Knob, v: &Value) -> Result<(), String> {
    let value = match v {
        Value::Int(i) if *i >= 0 => KnobValue::Int(*i as u64),
        Value::Bool(b) => KnobValue::Bool(*b),
        _ => {
            return Err(format!(
                "`{}` = {v} is not a non-negative whole number",
                knob.name
            ));
        }
    };
    knob.set(c, value)
}

/// The engine's configuration for a trial: boto3's defaults, with the trial's knobs.
pub fn transfer_config(config: &Config) -> anyhow::Result<TransferConfig> {
    let mut c = TransferConfig::default();
    for (k, v) in config {
        let knob = knobs::knob(k)
            .ok_or_else(|| anyhow!("unknown knob `{k}`; the knobs are {}", knobs::names()))?;
        set(&mut c, knob, v).map_err(|e| anyhow!(e))?;
    }
    c.validate()?;
    Ok(c)
}

/// `client`'s defaults for the knobs of `space` (the baseline trial, as the seed's
/// `points_to_evaluate`); knobs fixed by the space keep their fixed value.
pub fn baseline(client: Client, space: &Space, direction: Direction) -> anyhow::Result<Config> {
    let config = client.defaults(space, direction);
    space.encode(&config).map_err(|e| {
        anyhow!(
            "{}'s defaults are outside the search space ({e}); widen it or pass --no-baseline",
            client.title()
        )
    })?;
    Ok(config)
}

/// A knob's value for people: sizes as `8 MiB`, by whichever client's table names the
/// knob (a name means the same kind of value in every table that has it).
pub fn show(knob: &str, v: &Value) -> String {
    Client::ALL
        .iter()
        .find_map(|c| c.knob(knob).ok())
        .map_or_else(|| v.to_string(), |k| show_value(k, v))
}

#[cfg(test)]
mod tests;
