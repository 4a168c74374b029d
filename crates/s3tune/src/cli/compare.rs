//! `s3tune compare`'s flags.

use std::path::PathBuf;

use clap::Args;

use super::{ClientName, ConnectArgs, size, whole};

/// `s3tune compare`: which client, with which settings, is fastest here.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    s3tune compare                                 # every installed client, the embedded emulator, ~4 minutes\n  \
    s3tune compare --clients awscli,rclone --budget 5m\n  \
    s3tune compare --dataset small                 # 2,000 × 256 KiB objects down\n  \
    s3tune compare --upload --python .venv/bin/python\n  \
    s3tune compare s3://data/big.bin --region eu-west-1 --budget 10m")]
pub struct CompareArgs {
    /// The object (or, ending in /, the prefix) to compare on, as `tune` takes it; none:
    /// the embedded emulator with S3's network shape.
    pub target: Option<String>,
    /// Compare uploads: of FILE (or a folder), or with no FILE of a synthetic file.
    #[arg(long, value_name = "FILE")]
    pub upload: Option<Option<PathBuf>>,
    #[command(flatten)]
    pub s3: ConnectArgs,
    /// The clients, comma-separated: s3tune, boto3, awscli, crt, rclone [default: every
    /// one installed; the others are named with how to install them].
    #[arg(long, value_delimiter = ',', value_enum, value_name = "LIST")]
    pub clients: Vec<ClientName>,
    /// Time for every client's trials together, shared equally, e.g. 2m (the setup and
    /// the race come on top).
    #[arg(long, value_name = "DURATION", default_value = "90s")]
    pub budget: String,
    /// Transfers per trial (each trial's configuration is raced at the end anyway).
    #[arg(long, default_value_t = 1, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>)]
    pub repeats: usize,
    /// Rounds of the final race of every client's best and the slowest defaults (0: none).
    #[arg(long, default_value_t = 3, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>)]
    pub rounds: usize,
    /// The embedded emulator's network (no target only) [default: s3-scaled].
    #[arg(long, value_name = "NAME|FILE")]
    pub network: Option<String>,
    /// Size of the embedded emulator's synthetic object [default: 128MiB].
    #[arg(long, value_name = "SIZE", value_parser = size, allow_negative_numbers = true)]
    pub object_size: Option<u64>,
    /// A dataset on the embedded emulator, as `tune --dataset` takes it.
    #[arg(long, value_name = "NAME|SPEC")]
    pub dataset: Option<String>,
    /// With a dataset: move only N of its objects in each run.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u64>)]
    pub sample: Option<u64>,
    /// Seed of the searchers' random choices.
    #[arg(long, allow_negative_numbers = true, value_parser = whole::<u64>)]
    pub seed: Option<u64>,
    /// Output folder [default: s3tune-results/compare-DATE-TIME].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where downloads are written (each copy is checked, then deleted).
    #[arg(long, value_name = "DIR")]
    pub dest_dir: Option<PathBuf>,
    /// The Python that runs the bundled boto3 and CRT scripts.
    #[arg(long, default_value = "python3", value_name = "PATH")]
    pub python: String,
}
