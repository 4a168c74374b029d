//! The AWS Common Runtime's S3 client (`awscrt.s3.S3Client`, what boto3[crt], the AWS
//! CLI v2's `crt` transfer client and Mountpoint run on): its constructor's arguments,
//! given to the bundled `examples/crt_transfer.py`, and its exports, those arguments as
//! Python and the AWS CLI v2 settings that choose the CRT.
//!
//! CRT sizes itself from a throughput target: [`connections`] from the target,
//! [`memory_limit`] from the target, and a download's part size from both
//! ([`download_part`]). Those rules are written here once; they give the client's own
//! defaults (the first trial) and CRT's formula, the no-search baseline every client is
//! raced against.

use s3tune_hpo::{Config, Value};
use s3tune_transfer::Direction::{self, Download as D, Upload as U};

use super::{Default, Kind, KnobDef, Sizing};
use crate::experiment::external::{Invocation, Move, Setup, Timing};

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

/// CRT's default throughput target, Gb/s.
pub const DEFAULT_TARGET_GBPS: f64 = 10.0;
/// What CRT assumes one connection carries, Gb/s.
const GBPS_PER_CONNECTION: f64 = 0.4;
/// CRT never plans fewer connections than this.
const MIN_CONNECTIONS: u64 = 10;
/// Download parts are a multiple of this, at least one.
const PART_STEP: u64 = 8 << 20;
/// An upload's part unless set: 8 MiB.
const UPLOAD_PART: u64 = 8 << 20;

/// `awscrt.s3.S3Client`'s arguments that change a transfer's speed.
pub static KNOBS: [KnobDef; 5] = [
    KnobDef {
        name: "throughput_target_gbps",
        kind: Kind::Real,
        reads: &[D, U],
        searched: &[D, U],
        searched_many: &[D, U],
        many_only: false,
        range: (1.0, 100.0),
        limits: (0.1, 10_000.0),
        default: Default::Is(DEFAULT_TARGET_GBPS),
        help: "the throughput CRT sizes its connections for",
    },
    KnobDef {
        name: "part_size",
        kind: Kind::Size,
        reads: &[D, U],
        searched: &[D, U],
        searched_many: &[D, U],
        many_only: false,
        range: (256.0 * 1024.0, 256.0 * MIB),
        limits: (64.0 * 1024.0, 5.0 * GIB),
        default: Default::Derived,
        help: "size of each ranged GET or uploaded part",
    },
    KnobDef {
        name: "memory_limit",
        kind: Kind::Size,
        reads: &[D, U],
        searched: &[],
        searched_many: &[],
        many_only: false,
        range: (GIB, 16.0 * GIB),
        limits: (GIB, 1024.0 * GIB),
        default: Default::Derived,
        help: "memory CRT may buffer parts in",
    },
    KnobDef {
        name: "max_active_connections_override",
        kind: Kind::Count,
        reads: &[D, U],
        searched: &[],
        searched_many: &[],
        many_only: false,
        range: (1.0, 256.0),
        limits: (1.0, 10_000.0),
        default: Default::Derived,
        help: "a cap on connections, below what the target plans",
    },
    KnobDef {
        name: "multipart_upload_threshold",
        kind: Kind::Size,
        reads: &[U],
        searched: &[],
        searched_many: &[],
        many_only: false,
        range: (5.0 * MIB, GIB),
        limits: (MIB, 5.0 * GIB),
        default: Default::Derived,
        help: "files this size or larger upload in parts",
    },
];

/// The connections CRT plans for `target_gbps`: ⌈target / 0.4 Gb/s⌉, at least 10.
pub fn connections(target_gbps: f64) -> u64 {
    ((target_gbps / GBPS_PER_CONNECTION).ceil() as u64).max(MIN_CONNECTIONS)
}

/// The memory CRT allows itself for `target_gbps`: 2 GiB below 25 Gb/s, then 4, 8, 16
/// and 24 GiB from 25, 75, 100 and 200 Gb/s.
pub fn memory_limit(target_gbps: f64) -> u64 {
    let gib = match target_gbps {
        t if t >= 200.0 => 24,
        t if t >= 100.0 => 16,
        t if t >= 75.0 => 8,
        t if t >= 25.0 => 4,
        _ => 2,
    };
    gib << 30
}

/// A download's part when CRT chooses it: a third of the memory per connection, rounded
/// up to a multiple of 8 MiB, from 8 MiB to 5 GiB (so 32 MiB at 10 Gb/s; CRT also caps
/// it at the object's stored part size, which the emulator's one-part objects never
/// reach).
pub fn download_part(target_gbps: f64, memory: u64) -> u64 {
    let raw = memory / connections(target_gbps) / 3;
    raw.div_ceil(PART_STEP)
        .saturating_mul(PART_STEP)
        .clamp(PART_STEP, 5 << 30)
}

/// The part CRT uses in `direction` with its defaults.
pub fn default_part(direction: Direction, target_gbps: f64) -> u64 {
    match direction {
        Direction::Download => download_part(target_gbps, memory_limit(target_gbps)),
        Direction::Upload => UPLOAD_PART,
    }
}

/// The values CRT works out for itself with its default target.
pub fn derived_defaults(direction: Direction) -> Config {
    let t = DEFAULT_TARGET_GBPS;
    let part = default_part(direction, t) as i64;
    [
        ("part_size", part),
        ("memory_limit", memory_limit(t) as i64),
        ("max_active_connections_override", connections(t) as i64),
        ("multipart_upload_threshold", part),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Value::Int(v)))
    .collect()
}

/// A rule's sizing in CRT's arguments.
pub fn sized(s: &Sizing) -> Vec<(&'static str, Option<f64>)> {
    let part = s.part.map(|p| p as f64);
    vec![
        ("throughput_target_gbps", Some(s.target_gbps)),
        ("part_size", part),
        ("memory_limit", Some(s.memory as f64)),
        (
            "max_active_connections_override",
            Some(s.connections as f64),
        ),
        ("multipart_upload_threshold", part),
    ]
}

/// `config` as the script's arguments (`--part_size 8388608 …`), for a transfer in
/// `direction`. A value equal to what CRT derives for itself from the target (its part
/// size, memory limit, connections) is left out, so that CRT derives it: the first trial
/// — CRT's defaults — then runs as CRT does unconfigured, which differs from the same
/// part size given explicitly (CRT's own choice starts with a smaller first request).
fn arguments(config: &Config, direction: Direction) -> Vec<String> {
    let target = match config.get("throughput_target_gbps") {
        Some(Value::Float(t)) => *t,
        _ => DEFAULT_TARGET_GBPS,
    };
    let part = default_part(direction, target) as i64;
    let derived = |name: &str| match name {
        "part_size" | "multipart_upload_threshold" => Some(part),
        "memory_limit" => Some(memory_limit(target) as i64),
        "max_active_connections_override" => Some(connections(target) as i64),
        _ => None,
    };
    let mut out = Vec::new();
    for k in &KNOBS {
        let Some(v) = config.get(k.name) else {
            continue;
        };
        if matches!(v, Value::Int(i) if Some(*i) == derived(k.name)) {
            continue;
        }
        out.push(format!("--{}", k.name));
        out.push(match v {
            Value::Float(x) => format!("{x}"),
            other => other.to_string(),
        });
    }
    out
}

/// One run of the bundled CRT script.
pub fn invocation(setup: &Setup, what: &Move<'_>, config: &Config) -> Invocation {
    let mut args = vec![setup.script("crt_transfer.py")];
    if let Some(ep) = &setup.endpoint {
        args.extend(["--endpoint-url".to_owned(), ep.clone()]);
    }
    if let Some(r) = &setup.region {
        args.extend(["--region".to_owned(), r.clone()]);
    }
    let mut files = Vec::new();
    match what {
        Move::Download { bucket, key, dest } => args.extend([
            "download".to_owned(),
            bucket.to_string(),
            key.to_string(),
            dest.display().to_string(),
        ]),
        Move::Upload {
            source,
            bucket,
            key,
        } => args.extend([
            "upload".to_owned(),
            source.display().to_string(),
            bucket.to_string(),
            key.to_string(),
        ]),
        Move::DownloadMany {
            bucket,
            prefix,
            keys,
            dest,
        } => {
            args.extend([
                "download-many".to_owned(),
                bucket.to_string(),
                prefix.to_string(),
                dest.display().to_string(),
            ]);
            if let Some(keys) = keys {
                let list = setup.run_dir.join("keys");
                let text: String = keys.iter().map(|k| format!("{k}\n")).collect();
                args.extend(["--keys".to_owned(), list.display().to_string()]);
                files.push((list, text));
            }
        }
        Move::UploadMany {
            source,
            bucket,
            prefix,
        } => args.extend([
            "upload-many".to_owned(),
            source.display().to_string(),
            bucket.to_string(),
            prefix.to_string(),
        ]),
    }
    let direction = match what {
        Move::Download { .. } | Move::DownloadMany { .. } => Direction::Download,
        Move::Upload { .. } | Move::UploadMany { .. } => Direction::Upload,
    };
    args.extend(arguments(config, direction));
    Invocation {
        unset: Vec::new(),
        program: setup.python.clone(),
        args,
        env: setup.env.clone(),
        files,
        timing: Timing::Reported,
    }
}

/// The export `crt.py`: the arguments as Python, for `S3Client(**S3_CLIENT_KWARGS)`.
pub fn kwargs_export(config: &Config, origin: &str) -> String {
    let mut out = format!(
        "{origin}# Use it with: awscrt.s3.S3Client(region=..., signing_config=..., **S3_CLIENT_KWARGS)\nS3_CLIENT_KWARGS = {{\n"
    );
    for k in &KNOBS {
        if let Some(v) = config.get(k.name) {
            let value = match v {
                Value::Float(x) => format!("{x}"),
                other => other.to_string(),
            };
            let note = match (k.kind, v) {
                (Kind::Size, Value::Int(i)) => format!(
                    "  # {}: {}",
                    bytesize::ByteSize(*i as u64).display().iec(),
                    k.help
                ),
                _ => format!("  # {}", k.help),
            };
            out.push_str(&format!("    \"{}\": {value},{note}\n", k.name));
        }
    }
    out.push_str("}\n");
    out
}

/// The export `aws-cli.ini`: the AWS CLI v2's settings that make it copy with CRT at
/// this target and part size (the CLI has no setting for the others: named in a comment).
pub fn cli_export(config: &Config, origin: &str) -> String {
    let mut out = format!(
        "{origin}# For the AWS CLI v2 (its CRT transfer client): AWS_CONFIG_FILE=aws-cli.ini aws s3 cp ...\n"
    );
    let mut missing = Vec::new();
    let mut s3 = String::from("  preferred_transfer_client = crt\n");
    for (name, v) in config {
        match (name.as_str(), v) {
            ("throughput_target_gbps", Value::Float(x)) => {
                s3.push_str(&format!("  target_bandwidth = {x}Gb/s\n"));
            }
            ("part_size", Value::Int(i)) => {
                s3.push_str(&format!("  multipart_chunksize = {i}\n"));
            }
            ("multipart_upload_threshold", Value::Int(i)) => {
                s3.push_str(&format!("  multipart_threshold = {i}\n"));
            }
            (other, v) => missing.push(format!("{other} = {v}")),
        }
    }
    if !missing.is_empty() {
        out.push_str(&format!(
            "# Not settable in the CLI's config: {}\n",
            missing.join(", ")
        ));
    }
    out.push_str(&format!("[default]\ns3 =\n{s3}"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crts_rules_give_what_crt_itself_computed() {
        // Read off awscrt 0.38's debug log: 25 connections at 10 Gb/s and a 32 MiB part
        // (2 GiB / 25 / 3 = 27.3 MiB, rounded up to 8 MiB steps); 48 MiB with a 3 GiB
        // limit; 104 MiB at 2 Gb/s (10 connections) and 3 GiB.
        assert_eq!(connections(10.0), 25);
        assert_eq!(connections(2.0), 10);
        assert_eq!(download_part(10.0, 2 << 30), 32 << 20);
        assert_eq!(download_part(10.0, 3 << 30), 48 << 20);
        assert_eq!(download_part(2.0, 3 << 30), 104 << 20);
        assert_eq!(memory_limit(10.0), 2 << 30);
        assert_eq!(memory_limit(100.0), 16 << 30);
        let d = derived_defaults(Direction::Download);
        assert_eq!(d["part_size"], Value::Int(32 << 20));
    }

    #[test]
    fn what_crt_derives_itself_is_left_to_it() {
        let defaults = derived_defaults(Direction::Download);
        let mut config = defaults.clone();
        config.insert("throughput_target_gbps".into(), Value::Float(10.0));
        assert_eq!(
            arguments(&config, Direction::Download),
            ["--throughput_target_gbps", "10"]
        );
        config.insert("part_size".into(), Value::Int(8 << 20));
        assert_eq!(
            arguments(&config, Direction::Download),
            ["--throughput_target_gbps", "10", "--part_size", "8388608"]
        );
    }

    #[test]
    fn the_exports_hold_every_argument() {
        let config: Config = [
            ("throughput_target_gbps".to_owned(), Value::Float(12.5)),
            ("part_size".to_owned(), Value::Int(8 << 20)),
            ("memory_limit".to_owned(), Value::Int(2 << 30)),
        ]
        .into();
        let py = kwargs_export(&config, "");
        assert!(py.contains("\"throughput_target_gbps\": 12.5,"), "{py}");
        assert!(
            py.contains("\"part_size\": 8388608,  # 8.0 MiB: size of"),
            "{py}"
        );
        let ini = cli_export(&config, "");
        assert!(ini.contains("target_bandwidth = 12.5Gb/s"), "{ini}");
        assert!(ini.contains("memory_limit = 2147483648"), "{ini}");
    }
}
