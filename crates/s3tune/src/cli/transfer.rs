//! The flags of `get` and `put`, and where S3 is (shared with `tune` and `worker`).

use clap::Args;

use super::{rate, size, whole};

/// `s3tune get`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    s3tune get s3://data/big.bin /tmp/\n  \
    s3tune get s3://data/big.bin - | sha256sum\n  \
    s3tune get s3://data/big.bin big.bin --max-concurrency 32 --multipart-chunksize 16MiB --json\n  \
    s3tune get s3://data/big.bin . --endpoint-url http://127.0.0.1:9000\n  \
    s3tune get --recursive s3://data/shards/ ./shards --max-concurrency 64")]
pub struct GetArgs {
    /// The object, as s3://BUCKET/KEY; with --recursive, a prefix (s3://BUCKET/PREFIX/).
    pub source: String,
    /// A file, a directory (the key's last component is used), or - for standard output;
    /// with --recursive, the directory the keys under the prefix are written into.
    pub dest: std::path::PathBuf,
    #[command(flatten)]
    pub transfer: TransferArgs,
}

/// `s3tune put`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    s3tune put model.bin s3://models/v3/model.bin\n  \
    s3tune put model.bin s3://models/v3/ --max-concurrency 16 --json\n  \
    s3tune put --recursive ./checkpoints s3://models/run-7/")]
pub struct PutArgs {
    /// The file to upload; with --recursive, the directory.
    pub source: std::path::PathBuf,
    /// Where to, as s3://BUCKET/KEY (a key ending in / gets the file's name); with
    /// --recursive, the prefix the directory's files go under.
    pub dest: String,
    #[command(flatten)]
    pub transfer: TransferArgs,
}

/// What `get` and `put` share: where S3 is, how to transfer, what to print.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Every object under the prefix, or every file under the directory, as `aws s3 cp
    /// --recursive` (a prefix is taken as a directory: data is data/).
    #[arg(long, short = 'r')]
    pub recursive: bool,
    /// A TOML or JSON file of TransferConfig knobs; flags below override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub knobs: KnobArgs,
    #[command(flatten)]
    pub s3: ConnectArgs,
    /// Print the transfer's figures as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Where S3 is and who we are, as the AWS CLI spells it.
#[derive(Debug, Args, Default, Clone)]
pub struct ConnectArgs {
    /// S3 endpoint URL (e.g. http://127.0.0.1:9000 for s3tune serve); path-style is used.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS region (default: from the environment or profile, else us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// AWS credential profile (from ~/.aws/config and ~/.aws/credentials); its
    /// credentials win over AWS_ACCESS_KEY_ID and friends, as with the AWS CLI.
    #[arg(long)]
    pub profile: Option<String>,
    /// Longest wait for a connection to S3, e.g. 5s [default: 5s; boto3's is 60s].
    #[arg(long, value_name = "DURATION", visible_alias = "cli-connect-timeout")]
    pub connect_timeout: Option<String>,
    /// Longest silence while a request waits — nothing sent, nothing received — before
    /// the attempt is retried, e.g. 5s [default: 5s; boto3's is 60s].
    #[arg(long, value_name = "DURATION", visible_alias = "cli-read-timeout")]
    pub read_timeout: Option<String>,
}

/// boto3's TransferConfig knobs and the engine's max_objects, one flag each (defaults
/// are boto3's).
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "TransferConfig (boto3's knobs; defaults are boto3's)")]
pub struct KnobArgs {
    /// Objects this size or larger go in parts [default: 8MiB].
    #[arg(long, value_name = "SIZE", value_parser = size, allow_negative_numbers = true)]
    pub multipart_threshold: Option<u64>,
    /// Requests in flight (with --recursive, over all objects: the AWS CLI's
    /// max_concurrent_requests) [default: 10].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>)]
    pub max_concurrency: Option<usize>,
    /// Size of each ranged GET or uploaded part, 5MiB to 5GiB [default: 8MiB].
    #[arg(long, value_name = "SIZE", value_parser = size, allow_negative_numbers = true)]
    pub multipart_chunksize: Option<u64>,
    /// Attempts per part when its body breaks mid-stream [default: 5].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u32>)]
    pub num_download_attempts: Option<u32>,
    /// Pieces read but not yet written, at most [default: 100].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>)]
    pub max_io_queue: Option<usize>,
    /// Size of each read from a response body [default: 256KiB].
    #[arg(long, value_name = "SIZE", value_parser = size, allow_negative_numbers = true)]
    pub io_chunksize: Option<u64>,
    /// false: one request at a time [default: true].
    #[arg(long, value_name = "BOOL")]
    pub use_threads: Option<bool>,
    /// Cap in bytes per second, e.g. 50MB/s [default: none].
    #[arg(long, value_name = "RATE", value_parser = rate, allow_negative_numbers = true)]
    pub max_bandwidth: Option<u64>,
    /// With --recursive: objects open at once; their requests share --max-concurrency
    /// (not a boto3 knob) [default: --max-concurrency].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>)]
    pub max_objects: Option<usize>,
}

#[cfg(test)]
mod tests {
    use clap::Args as _;

    #[test]
    fn every_knob_of_the_registry_has_its_flag_and_no_other() {
        let command = super::KnobArgs::augment_args(clap::Command::new("knobs"));
        let mut flags: Vec<String> = command
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect();
        let mut knobs: Vec<String> = s3tune_transfer::KNOBS
            .iter()
            .map(|k| k.name.to_owned())
            .collect();
        flags.sort();
        knobs.sort();
        assert_eq!(flags, knobs);
    }
}
