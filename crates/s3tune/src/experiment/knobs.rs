//! The search space of a download: boto3's `TransferConfig` knobs as parameters.
//!
//! The default space is the seed's four knobs over the ranges of S3's documentation and
//! the fastest clients (docs/s3-facts.md), all on log scales: what matters is the ratio
//! between two settings, not their difference. `--param` and `--space` change it, with
//! any of the eight knobs; sizes may be written as `8MiB`.

use anyhow::{anyhow, bail};
use s3tune_hpo::{Config, Domain, Scale, Space, Value};
use s3tune_transfer::TransferConfig;

const KIB: i64 = 1024;
const MIB: i64 = 1024 * 1024;

/// The knobs a space may name, as boto3 spells them.
pub const KNOBS: [&str; 8] = [
    "multipart_threshold",
    "max_concurrency",
    "multipart_chunksize",
    "num_download_attempts",
    "max_io_queue",
    "io_chunksize",
    "use_threads",
    "max_bandwidth",
];

/// Knobs measured in bytes (written with units in `--param` and the exports).
pub fn is_size(knob: &str) -> bool {
    matches!(
        knob,
        "multipart_threshold" | "multipart_chunksize" | "io_chunksize"
    )
}

fn log_int(low: i64, high: i64) -> Domain {
    Domain::Int {
        low,
        high,
        scale: Scale::Log,
    }
}

/// The seed's four knobs over the reference ranges.
pub fn default_space() -> Space {
    Space::new([
        ("max_concurrency".to_owned(), log_int(1, 256)),
        (
            "multipart_chunksize".to_owned(),
            log_int(5 * MIB, 256 * MIB),
        ),
        ("max_io_queue".to_owned(), log_int(1, 1000)),
        ("io_chunksize".to_owned(), log_int(64 * KIB, 16 * MIB)),
    ])
    .expect("the default space is valid")
}

/// A knob's value written by a user: a size (`8MiB`), a rate (`50MB/s`), a boolean, or
/// a whole number.
fn parse_value(knob: &str, text: &str) -> anyhow::Result<Value> {
    let text = text.trim();
    let bad = |e: String| anyhow!("--param {knob}: `{text}`: {e}");
    Ok(match knob {
        "use_threads" => match text.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => bail!("--param use_threads: `{text}` is not true or false"),
        },
        "max_bandwidth" => Value::Int(
            i64::try_from(s3tune_transfer::parse_rate(text).map_err(bad)?)
                .map_err(|e| bad(e.to_string()))?,
        ),
        k if is_size(k) => Value::Int(
            i64::try_from(s3tune_transfer::parse_size(text).map_err(bad)?)
                .map_err(|e| bad(e.to_string()))?,
        ),
        _ => Value::Int(
            text.parse()
                .map_err(|_| bad("expects a whole number".into()))?,
        ),
    })
}

/// One `--param`: `NAME=LOW..HIGH[:log]` (a range), `NAME=A,B,C` (an ordered list), or
/// `NAME=VALUE` (fixed).
pub fn parse_param(spec: &str) -> anyhow::Result<(String, Domain)> {
    let (name, rest) = spec.split_once('=').ok_or_else(|| {
        anyhow!("--param `{spec}`: write NAME=LOW..HIGH[:log], NAME=A,B,C or NAME=VALUE")
    })?;
    let name = name.trim();
    if !KNOBS.contains(&name) {
        bail!(
            "--param `{spec}`: unknown knob `{name}`; the knobs are {}",
            KNOBS.join(", ")
        );
    }
    let (body, scale) = match rest.rsplit_once(':') {
        Some((b, "log")) => (b, Scale::Log),
        Some((b, "linear")) => (b, Scale::Linear),
        Some((_, other)) => bail!("--param `{spec}`: unknown scale `{other}` (log or linear)"),
        None => (rest, Scale::Linear),
    };
    if let Some((lo, hi)) = body.split_once("..") {
        let (Value::Int(low), Value::Int(high)) = (parse_value(name, lo)?, parse_value(name, hi)?)
        else {
            bail!("--param `{spec}`: a range needs numbers");
        };
        return Ok((name.to_owned(), Domain::Int { low, high, scale }));
    }
    let values = body
        .split(',')
        .map(|v| parse_value(name, v))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(match <[Value; 1]>::try_from(values) {
        Ok([one]) => (name.to_owned(), Domain::Fixed(one)),
        Err(values) if name == "use_threads" => (name.to_owned(), Domain::Categorical(values)),
        Err(values) => (name.to_owned(), Domain::Ordinal(values)),
    })
}

/// The space from `--space FILE` (TOML or JSON; numbers in bytes) or the default, with
/// each `--param` replacing or adding its knob; checked against S3's limits.
pub fn build_space(file: Option<&std::path::Path>, params: &[String]) -> anyhow::Result<Space> {
    let (base, text) = match file {
        None => (default_space(), None),
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
        let (k, d) = parse_param(p)?;
        all.insert(k, d);
    }
    let space = Space::new(all).map_err(|e| anyhow!("search space: {e}"))?;
    if let Err((knob, message)) = check(&space) {
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

/// Every parameter is a knob, and the extremes of each range are valid settings (a
/// chunk size under S3's 5 MiB minimum is refused here, not in the middle of a run).
/// An error names the knob and says what is wrong with it.
fn check(space: &Space) -> Result<(), (String, String)> {
    for (name, domain) in space.params() {
        let fail = |m: String| Err((name.to_owned(), m));
        if !KNOBS.contains(&name) {
            return fail(format!(
                "unknown knob `{name}`; the knobs are {}",
                KNOBS.join(", ")
            ));
        }
        let extremes = match domain {
            Domain::Int { low, high, .. } => vec![Value::Int(*low), Value::Int(*high)],
            Domain::Float { .. } => return fail(format!("`{name}` takes whole numbers")),
            Domain::Ordinal(v) | Domain::Categorical(v) => v.clone(),
            Domain::Fixed(v) => vec![v.clone()],
        };
        for v in extremes {
            let mut c = TransferConfig::default();
            if let Err(e) = set(&mut c, name, &v) {
                return fail(e.to_string());
            }
            if let Err(e) = c.validate() {
                return fail(e.to_string());
            }
        }
    }
    Ok(())
}

/// Sets one knob of `c` from a parameter value.
fn set(c: &mut TransferConfig, knob: &str, v: &Value) -> anyhow::Result<()> {
    let int = || -> anyhow::Result<u64> {
        match v {
            Value::Int(i) if *i >= 0 => Ok(*i as u64),
            _ => bail!("`{knob}` = {v} is not a non-negative whole number"),
        }
    };
    match knob {
        "multipart_threshold" => c.multipart_threshold = int()?,
        "max_concurrency" => c.max_concurrency = int()? as usize,
        "multipart_chunksize" => c.multipart_chunksize = int()?,
        "num_download_attempts" => {
            c.num_download_attempts = u32::try_from(int()?).unwrap_or(u32::MAX);
        }
        "max_io_queue" => c.max_io_queue = int()? as usize,
        "io_chunksize" => c.io_chunksize = int()?,
        "use_threads" => match v {
            Value::Bool(b) => c.use_threads = *b,
            _ => bail!("`use_threads` = {v} is not true or false"),
        },
        "max_bandwidth" => c.max_bandwidth = Some(int()?).filter(|b| *b > 0),
        _ => bail!("unknown knob `{knob}`"),
    }
    Ok(())
}

/// The engine's configuration for a trial: boto3's defaults, with the trial's knobs.
pub fn transfer_config(config: &Config) -> anyhow::Result<TransferConfig> {
    let mut c = TransferConfig::default();
    for (k, v) in config {
        set(&mut c, k, v)?;
    }
    c.validate()?;
    Ok(c)
}

/// boto3's defaults for the knobs of `space` (the baseline trial, as the seed's
/// `points_to_evaluate`); knobs fixed by the space keep their fixed value.
pub fn baseline(space: &Space) -> anyhow::Result<Config> {
    let d = TransferConfig::default();
    let config: Config = space
        .params()
        .map(|(k, domain)| {
            let v = match (domain, k) {
                (Domain::Fixed(v), _) => v.clone(),
                (_, "multipart_threshold") => Value::Int(d.multipart_threshold as i64),
                (_, "max_concurrency") => Value::Int(d.max_concurrency as i64),
                (_, "multipart_chunksize") => Value::Int(d.multipart_chunksize as i64),
                (_, "num_download_attempts") => Value::Int(i64::from(d.num_download_attempts)),
                (_, "max_io_queue") => Value::Int(d.max_io_queue as i64),
                (_, "io_chunksize") => Value::Int(d.io_chunksize as i64),
                (_, "use_threads") => Value::Bool(d.use_threads),
                _ => Value::Int(0),
            };
            (k.to_owned(), v)
        })
        .collect();
    space.encode(&config).map_err(|e| {
        anyhow!(
            "boto3's defaults are outside the search space ({e}); widen it or pass --no-baseline"
        )
    })?;
    Ok(config)
}

/// A knob's value for people: sizes as `8 MiB`.
pub fn show(knob: &str, v: &Value) -> String {
    match v {
        Value::Int(i) if is_size(knob) => bytesize::ByteSize(*i as u64).display().iec().to_string(),
        Value::Int(i) if knob == "max_bandwidth" && *i > 0 => {
            format!("{}/s", bytesize::ByteSize(*i as u64).display().si())
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_ranges_lists_and_fixed_values_with_units() {
        assert_eq!(
            parse_param("multipart_chunksize=5MiB..64MiB:log").unwrap(),
            (
                "multipart_chunksize".into(),
                Domain::Int {
                    low: 5 * MIB,
                    high: 64 * MIB,
                    scale: Scale::Log
                }
            )
        );
        assert_eq!(
            parse_param("max_concurrency=4,8,16").unwrap().1,
            Domain::Ordinal(vec![Value::Int(4), Value::Int(8), Value::Int(16)])
        );
        assert_eq!(
            parse_param("use_threads=true").unwrap().1,
            Domain::Fixed(Value::Bool(true))
        );
        for bad in [
            "max_concurrency",
            "speed=1..2",
            "max_concurrency=1..x",
            "max_concurrency=1..8:cubic",
        ] {
            assert!(parse_param(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn spaces_outside_s3s_limits_are_refused_up_front() {
        let err = build_space(None, &["multipart_chunksize=1MiB..64MiB".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("multipart_chunksize"), "{err}");
        let err = build_space(None, &["max_concurrency=64..8".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("low bound above high"), "{err}");
    }

    #[test]
    fn the_baseline_is_boto3s_defaults_and_maps_back_to_them() {
        let space = default_space();
        let b = baseline(&space).unwrap();
        assert_eq!(transfer_config(&b).unwrap(), TransferConfig::default());
        let narrow = build_space(None, &["max_concurrency=16..64".into()]).unwrap();
        assert!(
            baseline(&narrow)
                .unwrap_err()
                .to_string()
                .contains("--no-baseline")
        );
    }
}
