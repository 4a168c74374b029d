//! The AWS CLI (`aws s3 cp`): its `s3` settings in `~/.aws/config`, given to each run as
//! a config file of its own (`AWS_CONFIG_FILE`), and its export, that file.
//!
//! A run is `aws s3 cp` as the user runs it. When `aws` is the Python package (v1, or
//! v2 from source), the bundled `examples/awscli_cp.py` runs the CLI's own entry point
//! in that same Python and reports the seconds from the CLI's first request to its end:
//! the interpreter's start-up and the CLI's imports (0.3 s here, the same for every
//! setting) are left out, as the engine's timing starts at its first request. Any other
//! `aws` (v2's bundled binary) is timed from start to exit.

use s3tune_hpo::Config;
use s3tune_transfer::Direction::{Download as D, Upload as U};

use super::{Default, Kind, KnobDef};
use crate::experiment::external::{Invocation, Move, Setup, Timing};

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

/// The CLI's `s3` settings that change a copy's speed.
pub static KNOBS: [KnobDef; 4] = [
    KnobDef {
        name: "max_concurrent_requests",
        kind: Kind::Count,
        reads: &[D, U],
        searched: &[D, U],
        searched_many: &[D, U],
        many_only: false,
        range: (1.0, 256.0),
        limits: (1.0, 10_000.0),
        default: Default::Is(10.0),
        help: "requests in flight, over every file and part",
    },
    KnobDef {
        name: "max_queue_size",
        kind: Kind::Count,
        reads: &[D, U],
        searched: &[],
        searched_many: &[D, U],
        many_only: false,
        range: (100.0, 100_000.0),
        limits: (1.0, 10_000_000.0),
        default: Default::Is(1000.0),
        help: "tasks queued ahead of the requests",
    },
    KnobDef {
        name: "multipart_threshold",
        kind: Kind::Size,
        reads: &[D, U],
        searched: &[U],
        searched_many: &[D, U],
        many_only: false,
        range: (5.0 * MIB, GIB),
        limits: (1.0, 5.0 * 1024.0 * GIB),
        default: Default::Is(8.0 * MIB),
        help: "files this size or larger go in parts",
    },
    KnobDef {
        name: "multipart_chunksize",
        kind: Kind::Size,
        reads: &[D, U],
        searched: &[D, U],
        searched_many: &[D, U],
        many_only: false,
        range: (5.0 * MIB, 256.0 * MIB),
        limits: (5.0 * MIB, 5.0 * GIB),
        default: Default::Is(8.0 * MIB),
        help: "size of each ranged GET or uploaded part",
    },
];

/// The config file's text for `config`: the `s3` section of the default profile (and of
/// `profile`, when one is used), every knob in bytes or a count, as the CLI reads them.
pub fn config_file(config: &Config, region: Option<&str>, profile: Option<&str>) -> String {
    let mut section = String::from("s3 =\n");
    for k in &KNOBS {
        if let Some(v) = config.get(k.name) {
            section.push_str(&format!("  {} = {v}\n", k.name));
        }
    }
    let mut out = String::new();
    let mut heads = vec!["[default]".to_owned()];
    if let Some(p) = profile.filter(|p| *p != "default") {
        heads.push(format!("[profile {p}]"));
    }
    for head in heads {
        out.push_str(&head);
        out.push('\n');
        if let Some(r) = region {
            out.push_str(&format!("region = {r}\n"));
        }
        out.push_str(&section);
        out.push('\n');
    }
    out
}

/// One `aws s3 cp` of `what` with `config`.
pub fn invocation(setup: &Setup, what: &Move<'_>, config: &Config) -> Invocation {
    let (program, mut args, timing) = match &setup.awscli_python {
        Some(python) => (
            python.clone(),
            vec![setup.script("awscli_cp.py")],
            Timing::Reported,
        ),
        None => ("aws".to_owned(), Vec::new(), Timing::Wall),
    };
    if let Some(ep) = &setup.endpoint {
        args.extend(["--endpoint-url".to_owned(), ep.clone()]);
    }
    args.extend(["s3", "cp"].map(str::to_owned));
    match what {
        Move::Download { bucket, key, dest } => {
            args.push(format!("s3://{bucket}/{key}"));
            args.push(dest.display().to_string());
        }
        Move::Upload {
            source,
            bucket,
            key,
        } => {
            args.push(source.display().to_string());
            args.push(format!("s3://{bucket}/{key}"));
        }
        Move::DownloadMany {
            bucket,
            prefix,
            keys,
            dest,
        } => {
            args.push(format!("s3://{bucket}/{prefix}"));
            args.push(dest.display().to_string());
            args.push("--recursive".to_owned());
            if let Some(keys) = keys {
                // A sample: every other key excluded (the CLI applies filters in order).
                args.extend(["--exclude", "*"].map(str::to_owned));
                for k in keys.iter() {
                    let rel = k.strip_prefix(*prefix).unwrap_or(k);
                    args.extend(["--include".to_owned(), glob_literal(rel)]);
                }
            }
        }
        Move::UploadMany {
            source,
            bucket,
            prefix,
        } => {
            args.push(source.display().to_string());
            args.push(format!("s3://{bucket}/{prefix}"));
            args.push("--recursive".to_owned());
        }
    }
    args.extend(["--quiet", "--only-show-errors"].map(str::to_owned));
    let file = setup.run_dir.join("aws-config");
    let text = config_file(config, setup.region.as_deref(), setup.profile.as_deref());
    let mut env = setup.env.clone();
    env.push(("AWS_CONFIG_FILE".to_owned(), file.display().to_string()));
    if let Some(p) = &setup.profile {
        env.push(("AWS_PROFILE".to_owned(), p.clone()));
    }
    Invocation {
        unset: Vec::new(),
        program,
        args,
        env,
        files: vec![(file, text)],
        timing,
    }
}

/// `text` as a glob that matches only itself (the CLI's filters are `fnmatch` patterns).
fn glob_literal(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '*' | '?' | '[' => format!("[{c}]"),
            other => other.to_string(),
        })
        .collect()
}

/// The export: a whole config file the CLI reads as it is (`AWS_CONFIG_FILE`, or the
/// section pasted into `~/.aws/config`).
pub fn export(config: &Config, origin: &str) -> String {
    format!(
        "{origin}# Use it as it is: AWS_CONFIG_FILE=aws-cli.ini aws s3 cp ..., or paste the s3 section\n\
         # into your profile in ~/.aws/config.\n{}",
        config_file(config, None, None)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3tune_hpo::Value;

    #[test]
    fn the_config_file_sets_the_s3_section_of_the_profile_used() {
        let config: Config = [
            ("max_concurrent_requests".to_owned(), Value::Int(40)),
            ("multipart_chunksize".to_owned(), Value::Int(5 << 20)),
        ]
        .into();
        let text = config_file(&config, Some("eu-west-1"), Some("work"));
        assert!(
            text.starts_with(
                "[default]\nregion = eu-west-1\ns3 =\n  max_concurrent_requests = 40\n  multipart_chunksize = 5242880\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("[profile work]\nregion = eu-west-1\ns3 =\n"),
            "{text}"
        );
        assert_eq!(glob_literal("a*b?[c].bin"), "a[*]b[?][[]c].bin");
    }
}
