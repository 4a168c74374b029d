//! The search space of a transfer: boto3's `TransferConfig` knobs (the registry in
//! `s3tune_transfer::knobs`) as parameters.
//!
//! A download's default space is the seed's four knobs, an upload's the three that
//! s3transfer's `upload_file` reads and that matter (threshold, part size, concurrency),
//! over the registry's ranges (S3's documentation and the fastest clients,
//! docs/s3-facts.md). `--param` and `--space` change it, with any knob boto3 reads for
//! that direction; sizes may be written as `8MiB`.

use anyhow::{anyhow, bail};
use s3tune_hpo::{Config, Domain, Scale, Space, Value};
use s3tune_transfer::knobs::{self, KNOBS, Knob, KnobKind, KnobValue};
use s3tune_transfer::{Direction, TransferConfig};

/// The knob called `name`, or an error listing them.
fn known(name: &str) -> Result<&'static Knob, String> {
    knobs::knob(name)
        .ok_or_else(|| format!("unknown knob `{name}`; the knobs are {}", knobs::names()))
}

/// Knobs measured in bytes (written with units in `--param` and the exports).
pub fn is_size(knob: &str) -> bool {
    knobs::knob(knob).is_some_and(|k| k.kind == KnobKind::Size)
}

/// The default space of transfers in `direction`, of one object or of `many` (a
/// dataset): the knobs that matter most (the seed's four for one download; the two levels
/// of concurrency and the part rules for a dataset), over the registry's ranges, all on
/// log scales — what matters is the ratio between two settings, not their difference.
pub fn default_space(direction: Direction, many: bool) -> Space {
    Space::new(
        KNOBS
            .iter()
            .filter(|k| k.searched(direction, many))
            .map(|k| {
                let (low, high) = k.range;
                (
                    k.name.to_owned(),
                    Domain::Int {
                        low: low as i64,
                        high: high as i64,
                        scale: Scale::Log,
                    },
                )
            }),
    )
    .expect("the default spaces are valid")
}

/// A knob's value written by a user: a size (`8MiB`), a rate (`50MB/s`), a boolean, or
/// a whole number.
fn parse_value(knob: &Knob, text: &str) -> anyhow::Result<Value> {
    let text = text.trim();
    let name = knob.name;
    let bad = |e: String| anyhow!("--param {name}: `{text}`: {e}");
    let int = |v: u64| -> anyhow::Result<Value> {
        Ok(Value::Int(
            i64::try_from(v).map_err(|e| bad(e.to_string()))?,
        ))
    };
    match knob.kind {
        KnobKind::Bool => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => bail!("--param {name}: `{text}` is not true or false"),
        },
        KnobKind::Rate => int(s3tune_transfer::parse_rate(text).map_err(bad)?),
        KnobKind::Size => int(s3tune_transfer::parse_size(text).map_err(bad)?),
        KnobKind::Count => Ok(Value::Int(
            text.parse()
                .map_err(|_| bad("expects a whole number".into()))?,
        )),
    }
}

/// One `--param`: `NAME=LOW..HIGH[:log]` (a range), `NAME=A,B,C` (an ordered list), or
/// `NAME=VALUE` (fixed).
pub fn parse_param(spec: &str) -> anyhow::Result<(String, Domain)> {
    let (name, rest) = spec.split_once('=').ok_or_else(|| {
        anyhow!("--param `{spec}`: write NAME=LOW..HIGH[:log], NAME=A,B,C or NAME=VALUE")
    })?;
    let name = name.trim();
    let knob = known(name).map_err(|e| anyhow!("--param `{spec}`: {e}"))?;
    let (body, scale) = match rest.rsplit_once(':') {
        Some((b, "log")) => (b, Scale::Log),
        Some((b, "linear")) => (b, Scale::Linear),
        Some((_, other)) => bail!("--param `{spec}`: unknown scale `{other}` (log or linear)"),
        None => (rest, Scale::Linear),
    };
    if let Some((lo, hi)) = body.split_once("..") {
        let (Value::Int(low), Value::Int(high)) = (parse_value(knob, lo)?, parse_value(knob, hi)?)
        else {
            bail!("--param `{spec}`: a range needs numbers");
        };
        return Ok((name.to_owned(), Domain::Int { low, high, scale }));
    }
    let values = body
        .split(',')
        .map(|v| parse_value(knob, v))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(match <[Value; 1]>::try_from(values) {
        Ok([one]) => (name.to_owned(), Domain::Fixed(one)),
        Err(values) if knob.kind == KnobKind::Bool => {
            (name.to_owned(), Domain::Categorical(values))
        }
        Err(values) => (name.to_owned(), Domain::Ordinal(values)),
    })
}

/// The space of transfers in `direction` from `--space FILE` (TOML or JSON; numbers in
/// bytes) or the default, with each `--param` replacing or adding its knob; checked
/// against S3's limits and against what boto3 reads for such transfers.
pub fn build_space(
    file: Option<&std::path::Path>,
    params: &[String],
    direction: Direction,
    many: bool,
) -> anyhow::Result<Space> {
    let (base, text) = match file {
        None => (default_space(direction, many), None),
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
    if let Err((knob, message)) = check(&space, direction, many) {
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
fn check(space: &Space, direction: Direction, many: bool) -> Result<(), (String, String)> {
    for (name, domain) in space.params() {
        let fail = |m: String| Err((name.to_owned(), m));
        let knob = known(name).map_err(|m| (name.to_owned(), m))?;
        if knob.many_only && !many {
            return fail(format!(
                "`{name}` changes only transfers of many objects (a dataset: a prefix ending in /, or --dataset); leave it out"
            ));
        }
        if !knob.reads(direction) {
            return Err((
                name.to_owned(),
                format!(
                    "`{name}` does not change {}s (boto3 reads it only for {}s); leave it out",
                    verb(direction),
                    verb(if direction == Direction::Upload {
                        Direction::Download
                    } else {
                        Direction::Upload
                    })
                ),
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
            if let Err(e) = set(&mut c, knob, &v) {
                return fail(e);
            }
            if let Err(e) = c.validate() {
                return fail(e.to_string());
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
        set(&mut c, known(k).map_err(|e| anyhow!(e))?, v).map_err(|e| anyhow!(e))?;
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
            let v = match (domain, knobs::knob(k).map(|k| k.get(&d))) {
                (Domain::Fixed(v), _) => v.clone(),
                (_, Some(KnobValue::Bool(b))) => Value::Bool(b),
                (_, Some(KnobValue::Int(i))) => Value::Int(i as i64),
                (_, None) => Value::Int(0),
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

/// Workers of a Python `ThreadPoolExecutor()` on this machine, as it picks them
/// (`min(32, os.cpu_count() + 4)`): the pool a boto3 user maps `download_file` over.
pub fn python_pool_workers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    (cpus + 4).min(32)
}

/// A dataset's second baseline: boto3's defaults as a default thread pool of
/// `download_file` (or `upload_file`) calls moves it — `workers` objects at once, each
/// call with its own 10 threads, so up to 10 × `workers` requests. `None` when the space
/// cannot hold it (a narrowed range), which the caller says.
pub fn boto3_pool(space: &Space, workers: usize) -> Option<Config> {
    let mut config = baseline(space).ok()?;
    let d = TransferConfig::default();
    for (name, v) in [
        ("max_objects", workers),
        ("max_concurrency", d.max_concurrency * workers),
    ] {
        match space.params().find(|(k, _)| *k == name) {
            Some((_, Domain::Fixed(_))) | None => {}
            Some(_) => {
                config.insert(name.to_owned(), Value::Int(v as i64));
            }
        }
    }
    space.encode(&config).ok()?;
    Some(config)
}

/// A knob's value for people: sizes as `8 MiB`.
pub fn show(knob: &str, v: &Value) -> String {
    match v {
        Value::Int(i) if is_size(knob) => bytesize::ByteSize(*i as u64).display().iec().to_string(),
        Value::Int(i) if knobs::knob(knob).is_some_and(|k| k.kind == KnobKind::Rate) && *i > 0 => {
            format!("{}/s", bytesize::ByteSize(*i as u64).display().si())
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: i64 = 1 << 20;

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
        let err = build_space(
            None,
            &["multipart_chunksize=1MiB..64MiB".into()],
            Direction::Download,
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("multipart_chunksize"), "{err}");
        let err = build_space(
            None,
            &["max_concurrency=64..8".into()],
            Direction::Download,
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("low bound above high"), "{err}");
    }

    #[test]
    fn a_dataset_searches_both_levels_and_one_object_refuses_max_objects() {
        let many = default_space(Direction::Download, true);
        let names: Vec<&str> = many.params().map(|(k, _)| k).collect();
        for k in ["max_objects", "max_concurrency", "multipart_chunksize"] {
            assert!(names.contains(&k), "{k} in {names:?}");
        }
        let err = build_space(
            None,
            &["max_objects=1..64".into()],
            Direction::Download,
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("many objects"), "{err}");
        // The AWS CLI's defaults (10 requests, 8 MiB parts) and boto3's in a pool.
        let cli = transfer_config(&baseline(&many).unwrap()).unwrap();
        assert_eq!(
            (
                cli.objects_in_flight(),
                cli.concurrency(),
                cli.multipart_chunksize
            ),
            (10, 10, 8 << 20)
        );
        let pool = transfer_config(&boto3_pool(&many, 6).unwrap()).unwrap();
        assert_eq!((pool.objects_in_flight(), pool.concurrency()), (6, 60));
    }

    #[test]
    fn the_baseline_is_boto3s_defaults_and_maps_back_to_them() {
        let space = default_space(Direction::Download, false);
        let b = baseline(&space).unwrap();
        assert_eq!(transfer_config(&b).unwrap(), TransferConfig::default());
        let narrow = build_space(
            None,
            &["max_concurrency=16..64".into()],
            Direction::Download,
            false,
        )
        .unwrap();
        assert!(
            baseline(&narrow)
                .unwrap_err()
                .to_string()
                .contains("--no-baseline")
        );
    }
}
