//! rclone (`rclone copyto` / `rclone copy` with an `:s3:` remote): its flags, given on
//! each run's command line, and its exports, the flags line and an `rclone.conf` section.
//!
//! The remote is defined by environment variables (`RCLONE_CONFIG_S3TUNE_*`), so no
//! config file of the user's is read or changed. rclone is a Go binary that starts in a
//! few milliseconds: a run is timed from start to exit.

use s3tune_hpo::{Config, Value};
use s3tune_transfer::Direction::{Download as D, Upload as U};

use super::{Default, Kind, KnobDef};
use crate::experiment::external::{Invocation, Move, Setup, Timing};

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

/// The remote's name in the environment and on the command line.
const REMOTE: &str = "s3tune";

/// rclone's flags that change a copy's speed, named as the flags without `--`, with
/// `_` for `-` (`multi_thread_streams` is `--multi-thread-streams`).
pub static KNOBS: [KnobDef; 8] = [
    KnobDef {
        name: "transfers",
        kind: Kind::Count,
        reads: &[D, U],
        searched: &[],
        searched_many: &[D, U],
        many_only: true,
        range: (1.0, 256.0),
        limits: (1.0, 10_000.0),
        default: Default::Is(4.0),
        help: "files copied at once",
    },
    KnobDef {
        name: "checkers",
        kind: Kind::Count,
        reads: &[D, U],
        searched: &[],
        searched_many: &[],
        many_only: true,
        range: (1.0, 256.0),
        limits: (1.0, 10_000.0),
        default: Default::Is(8.0),
        help: "files checked at once (listing and comparing)",
    },
    KnobDef {
        name: "multi_thread_streams",
        kind: Kind::Count,
        reads: &[D],
        searched: &[D],
        searched_many: &[D],
        many_only: false,
        range: (1.0, 64.0),
        limits: (0.0, 10_000.0),
        default: Default::Is(4.0),
        help: "streams (ranged GETs) per large file downloaded",
    },
    KnobDef {
        name: "multi_thread_cutoff",
        kind: Kind::Size,
        reads: &[D],
        searched: &[D],
        searched_many: &[D],
        many_only: false,
        range: (MIB, GIB),
        limits: (0.0, 1024.0 * GIB),
        default: Default::Is(256.0 * MIB),
        help: "files this size or larger download in several streams",
    },
    KnobDef {
        name: "s3_chunk_size",
        kind: Kind::Size,
        reads: &[U],
        searched: &[U],
        searched_many: &[U],
        many_only: false,
        range: (5.0 * MIB, 256.0 * MIB),
        limits: (5.0 * MIB, 5.0 * GIB),
        default: Default::Is(5.0 * MIB),
        help: "size of each uploaded part",
    },
    KnobDef {
        name: "s3_upload_concurrency",
        kind: Kind::Count,
        reads: &[U],
        searched: &[U],
        searched_many: &[U],
        many_only: false,
        range: (1.0, 64.0),
        limits: (1.0, 10_000.0),
        default: Default::Is(4.0),
        help: "parts uploaded at once per file",
    },
    KnobDef {
        name: "s3_upload_cutoff",
        kind: Kind::Size,
        reads: &[U],
        searched: &[U],
        searched_many: &[U],
        many_only: false,
        range: (5.0 * MIB, GIB),
        limits: (0.0, 5.0 * GIB),
        default: Default::Is(200.0 * MIB),
        help: "files this size or larger upload in parts",
    },
    KnobDef {
        name: "buffer_size",
        kind: Kind::Size,
        reads: &[D, U],
        searched: &[],
        searched_many: &[],
        many_only: false,
        range: (MIB, 256.0 * MIB),
        limits: (0.0, 64.0 * GIB),
        default: Default::Is(16.0 * MIB),
        help: "memory read ahead per file",
    },
];

/// A size as rclone reads it exactly (bare numbers are KiB to rclone): `8M`, `5242881B`.
fn size(bytes: i64) -> String {
    const M: i64 = 1 << 20;
    const K: i64 = 1 << 10;
    if bytes > 0 && bytes % M == 0 {
        format!("{}M", bytes / M)
    } else if bytes > 0 && bytes % K == 0 {
        format!("{}K", bytes / K)
    } else {
        format!("{bytes}B")
    }
}

/// `config` as rclone's flags (`--multi-thread-streams 16 …`), in the table's order.
pub fn flags(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for k in &KNOBS {
        let Some(v) = config.get(k.name) else {
            continue;
        };
        out.push(format!("--{}", k.name.replace('_', "-")));
        out.push(match (k.kind, v) {
            (Kind::Size, Value::Int(i)) => size(*i),
            (_, v) => v.to_string(),
        });
    }
    out
}

/// The environment that defines the `s3tune:` remote for `setup`'s S3.
fn remote_env(setup: &Setup) -> Vec<(String, String)> {
    let var = |k: &str| format!("RCLONE_CONFIG_{}_{k}", REMOTE.to_uppercase());
    let mut env = vec![(var("TYPE"), "s3".to_owned())];
    let key = setup.env.iter().find(|(k, _)| k == "AWS_ACCESS_KEY_ID");
    let secret = setup.env.iter().find(|(k, _)| k == "AWS_SECRET_ACCESS_KEY");
    match (&setup.endpoint, key, secret) {
        (Some(ep), Some((_, k)), Some((_, s))) => {
            env.push((var("PROVIDER"), "Other".to_owned()));
            env.push((var("ENDPOINT"), ep.clone()));
            env.push((var("ACCESS_KEY_ID"), k.clone()));
            env.push((var("SECRET_ACCESS_KEY"), s.clone()));
        }
        (endpoint, _, _) => {
            env.push((
                var("PROVIDER"),
                if endpoint.is_some() { "Other" } else { "AWS" }.to_owned(),
            ));
            if let Some(ep) = endpoint {
                env.push((var("ENDPOINT"), ep.clone()));
            }
            env.push((var("ENV_AUTH"), "true".to_owned()));
        }
    }
    if let Some(r) = &setup.region {
        env.push((var("REGION"), r.clone()));
    }
    env
}

/// One `rclone copyto` (one object) or `rclone copy` (a dataset) of `what` with
/// `config`.
pub fn invocation(setup: &Setup, what: &Move<'_>, config: &Config) -> Invocation {
    let remote = |bucket: &str, key: &str| format!("{REMOTE}:{bucket}/{key}");
    let mut args: Vec<String> = match what {
        Move::Download { bucket, key, dest } => vec![
            "copyto".into(),
            remote(bucket, key),
            dest.display().to_string(),
        ],
        Move::Upload {
            source,
            bucket,
            key,
        } => vec![
            "copyto".into(),
            source.display().to_string(),
            remote(bucket, key),
        ],
        Move::DownloadMany {
            bucket,
            prefix,
            dest,
            ..
        } => vec![
            "copy".into(),
            remote(bucket, prefix.trim_end_matches('/')),
            dest.display().to_string(),
        ],
        Move::UploadMany {
            source,
            bucket,
            prefix,
        } => vec![
            "copy".into(),
            source.display().to_string(),
            remote(bucket, prefix.trim_end_matches('/')),
        ],
    };
    let mut files = Vec::new();
    if let Move::DownloadMany {
        prefix,
        keys: Some(keys),
        ..
    } = what
    {
        let list = setup.run_dir.join("files-from");
        let text: String = keys
            .iter()
            .map(|k| format!("{}\n", k.strip_prefix(*prefix).unwrap_or(k)))
            .collect();
        args.extend(["--files-from-raw".to_owned(), list.display().to_string()]);
        files.push((list, text));
    }
    // No config file of the user's: the remote comes from the environment.
    let conf = setup.run_dir.join("rclone.conf");
    files.push((conf.clone(), String::new()));
    args.extend([
        "--config".to_owned(),
        conf.display().to_string(),
        "-q".into(),
    ]);
    args.extend(flags(config));
    let mut env = setup.env.clone();
    env.extend(remote_env(setup));
    Invocation {
        // rclone's AWS SDK refuses a CA bundle given beside its own HTTP transport
        // ("LoadCustomCABundleError"): its TLS uses the system's roots (or --ca-cert).
        unset: vec!["AWS_CA_BUNDLE"],
        program: "rclone".to_owned(),
        args,
        env,
        files,
        timing: Timing::Wall,
    }
}

/// The flags line, as the export `rclone-flags.txt` holds it.
pub fn flags_export(config: &Config, origin: &str) -> String {
    format!(
        "{origin}# Use it with: rclone copy SRC DST $(grep -v '^#' rclone-flags.txt)\n{}\n",
        flags(config).join(" ")
    )
}

/// The export `rclone.conf`: the S3 backend's own options as a remote's section (the
/// others are global flags, which a config file cannot hold: they are in the comment).
pub fn conf_export(config: &Config, origin: &str) -> String {
    let mut out = format!(
        "{origin}# Merge this section into your rclone.conf (rclone config file): the S3\n\
         # backend's options. The global flags go on the command line (rclone-flags.txt)\n\
         # or in the environment (RCLONE_TRANSFERS=...).\n[s3tune]\ntype = s3\nprovider = AWS\nenv_auth = true\n"
    );
    let mut global = Vec::new();
    for k in &KNOBS {
        let Some(v) = config.get(k.name) else {
            continue;
        };
        let value = match (k.kind, v) {
            (Kind::Size, Value::Int(i)) => size(*i),
            (_, v) => v.to_string(),
        };
        match k.name.strip_prefix("s3_") {
            Some(option) => out.push_str(&format!("{option} = {value}\n")),
            None => global.push(format!("--{} {value}", k.name.replace('_', "-"))),
        }
    }
    if !global.is_empty() {
        out.push_str(&format!("# global flags: {}\n", global.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_written_so_rclone_reads_bytes_not_kib() {
        assert_eq!(size(8 << 20), "8M");
        assert_eq!(size(3 << 10), "3K");
        assert_eq!(size(5_242_881), "5242881B");
        let config: Config = [
            ("multi_thread_streams".to_owned(), Value::Int(16)),
            ("multi_thread_cutoff".to_owned(), Value::Int(8 << 20)),
            ("s3_chunk_size".to_owned(), Value::Int(5 << 20)),
        ]
        .into();
        assert_eq!(
            flags(&config).join(" "),
            "--multi-thread-streams 16 --multi-thread-cutoff 8M --s3-chunk-size 5M"
        );
        let conf = conf_export(&config, "");
        assert!(conf.contains("\nchunk_size = 5M\n"), "{conf}");
        assert!(
            conf.contains("# global flags: --multi-thread-streams 16 --multi-thread-cutoff 8M"),
            "{conf}"
        );
    }
}
