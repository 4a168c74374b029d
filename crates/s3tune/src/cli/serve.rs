//! The flags of `serve`: where to listen, what to hold, and the emulated network.

use std::path::PathBuf;

use clap::Args;

use super::whole;

/// `s3tune serve`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    s3tune serve --network s3-like --object data/big.bin=3GiB\n  \
    s3tune serve --objects 'data/shard-{00000..00999}.tar=64MiB'\n  \
    s3tune serve --objects 'data/img/{00000..19999}.jpg=lognormal(100KiB,0.5)'\n  \
    s3tune serve --listen 127.0.0.1:0 --json --data-dir /tmp/s3data\n  \
    s3tune serve --network faulty --network-seed 7 --link-bandwidth 500MB/s")]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (a name such as localhost, or an IP address);
    /// 127.0.0.1:0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:9000", value_name = "HOST:PORT")]
    pub listen: String,

    /// Network profile: unlimited, s3-like, s3-scaled (S3 scaled down 8x, what `tune`
    /// runs on by default), faulty, or a TOML file.
    #[arg(long, default_value = "unlimited", value_name = "NAME|FILE")]
    pub network: String,

    /// Keep buckets and objects in DIR (kept across restarts) instead of in memory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Create a synthetic object, e.g. data/big.bin=3GiB, or a dataset: a numbered range
    /// in the key and a size or a distribution, e.g.
    /// 'data/img/{00000..19999}.jpg=lognormal(100KiB,0.5)' or uniform(1KiB,1MiB)
    /// (repeatable; no memory or disk for the bytes).
    #[arg(
        long = "object",
        visible_alias = "objects",
        value_name = "BUCKET/KEY=SIZE"
    )]
    pub objects: Vec<String>,

    /// Access key clients must sign with.
    #[arg(long, default_value = s3tune_emulator::DEFAULT_ACCESS_KEY)]
    pub access_key: String,

    /// Secret key clients must sign with.
    #[arg(long, default_value = s3tune_emulator::DEFAULT_SECRET_KEY)]
    pub secret_key: String,

    /// Region reported to clients.
    #[arg(long, default_value = s3tune_emulator::DEFAULT_REGION)]
    pub region: String,

    /// Extra domain for virtual-host-style requests (BUCKET.DOMAIN), besides localhost.
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,

    /// Print the endpoint and credentials as one JSON line on stdout when ready.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub overrides: NetworkOverrides,
}

/// Per-field overrides of the network profile (each replaces the profile's value).
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Network profile overrides")]
pub struct NetworkOverrides {
    /// Median first-byte latency, e.g. 30ms.
    #[arg(long, value_name = "DURATION")]
    pub first_byte_latency: Option<String>,
    /// Log-normal sigma of the first-byte latency (0 = constant).
    #[arg(long, value_name = "SIGMA", allow_negative_numbers = true)]
    pub first_byte_jitter: Option<f64>,
    /// Bandwidth per TCP connection, e.g. 88MB/s, or "unlimited".
    #[arg(long, value_name = "RATE")]
    pub connection_bandwidth: Option<String>,
    /// Bandwidth of the shared link, e.g. 1250MB/s, or "unlimited".
    #[arg(long, value_name = "RATE")]
    pub link_bandwidth: Option<String>,
    /// GET/HEAD requests per second before 503 SlowDown.
    #[arg(long, value_name = "PER_SEC", allow_negative_numbers = true)]
    pub get_rate_limit: Option<f64>,
    /// PUT/POST/DELETE requests per second before 503 SlowDown.
    #[arg(long, value_name = "PER_SEC", allow_negative_numbers = true)]
    pub put_rate_limit: Option<f64>,
    /// Concurrent requests before 503 SlowDown.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u32>)]
    pub max_concurrent_requests: Option<u32>,
    /// Probability of an injected 503 SlowDown per request.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub slowdown_probability: Option<f64>,
    /// Probability of an injected 500 InternalError per request.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub internal_error_probability: Option<f64>,
    /// Probability that a response body is cut off mid-way.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub reset_probability: Option<f64>,
    /// Seed of latency and fault draws, to replay a run.
    #[arg(long, value_name = "SEED", allow_negative_numbers = true, value_parser = whole::<u64>)]
    pub network_seed: Option<u64>,
}
