//! Command-line syntax. Only this module knows clap; commands turn these raw values into
//! the libraries' configuration types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Find the fastest S3 transfer configuration for your machine, network and object.
#[derive(Debug, Parser)]
#[command(name = "s3tune", version, about, propagate_version = true)]
pub struct Cli {
    /// More logging on stderr (-v: info, each request served; -vv: debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the embedded S3-compatible server with network emulation.
    Serve(ServeArgs),
    /// Download an S3 object to a file, a directory or standard output (-).
    Get(GetArgs),
    /// Upload a file to S3.
    Put(PutArgs),
    /// Find the fastest download settings for an object (by default on the embedded
    /// emulator, with no cloud account).
    Tune(TuneArgs),
    /// Render a study's summary, CSV, exports and plot from its storage.
    Report(ReportArgs),
    /// Join a study in a shared storage and run its trials until its budget is spent
    /// (start one on each machine, or several on one).
    Worker(WorkerArgs),
    /// Create a study for workers, without running trials.
    #[command(subcommand)]
    Study(StudyCommand),
}

/// `s3tune study`.
#[derive(Debug, Subcommand)]
pub enum StudyCommand {
    /// Create (or update the budget of) a study with the arguments `tune` takes, and run
    /// no trial: `s3tune worker` processes run them.
    #[command(after_help = "Examples:\n  \
        s3tune study create --study branin --storage postgres://s3tune@db:5432/studies \\\n      \
            --command 'python3 examples/branin.py' --space branin.toml --metric value --trials 200\n  \
        s3tune study create s3://data/big.bin --study big --trials 60 --storage postgres://s3tune@db/studies")]
    Create(Box<TuneArgs>),
    /// List the studies in a storage: their trials, budgets and best results.
    #[command(after_help = "Examples:\n  \
        s3tune study list --storage postgres://s3tune@db:5432/studies\n  \
        s3tune study list --storage sqlite:s3tune-results/nightly/study.db --json")]
    List(StudyListArgs),
}

/// `s3tune study list`.
#[derive(Debug, Args)]
pub struct StudyListArgs {
    /// Where the studies are: postgres://… or sqlite:PATH.
    #[arg(long, value_name = "URL")]
    pub storage: String,
    /// One JSON object per study, one per line, instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `s3tune worker`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    s3tune worker --storage postgres://s3tune@db.internal:5432/studies --study branin\n  \
    PGPASSWORD=secret s3tune worker --storage postgres://s3tune@db/studies --study big --workers 2\n  \
    s3tune worker --storage 'postgres://s3tune@db.example.com/studies?sslmode=verify-full&sslrootcert=/etc/ssl/rds-ca.pem' --study big\n  \
    s3tune worker --storage sqlite:s3tune-results/nightly/study.db --study nightly")]
pub struct WorkerArgs {
    /// Where the study is: postgres://USER[:PASSWORD]@HOST[:PORT]/DB (the password may
    /// come from PGPASSWORD; TLS as libpq's ?sslmode= and &sslrootcert= say, or
    /// PGSSLMODE and PGSSLROOTCERT), or sqlite:PATH for workers on one machine.
    #[arg(long, value_name = "URL")]
    pub storage: String,
    /// The study to join (made by `s3tune tune --storage URL` or `s3tune study create`).
    #[arg(long, value_name = "NAME")]
    pub study: String,
    /// Trials this worker runs at once.
    #[arg(long, default_value_t = 1, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>)]
    pub workers: usize,
    /// This worker's name in the study [default: HOST:PID:BOOT, which lets workers on the
    /// same machine see at once that it is gone; with a name, only its heartbeat tells].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Stop claiming trials after this long, e.g. 1h (the study's own budget holds too).
    #[arg(long, value_name = "DURATION")]
    pub budget: Option<String>,
    /// A running trial whose heartbeat is older than this is taken for lost and may be
    /// run again [default: the study's, else 30s].
    #[arg(long, value_name = "DURATION")]
    pub heartbeat_timeout: Option<String>,
    /// Folder for the trials' files (script output, the boto3 script) [default:
    /// s3tune-results/STUDY].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where a download study's copies are written (each is checked, then deleted).
    #[arg(long, value_name = "DIR")]
    pub dest_dir: Option<PathBuf>,
    /// The Python that runs boto3, for a study with --client boto3.
    #[arg(long, default_value = "python3", value_name = "PATH")]
    pub python: String,
    #[command(flatten)]
    pub s3: ConnectArgs,
}

/// Which searcher proposes configurations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SearcherName {
    /// Gaussian-process Bayesian optimization.
    Bo,
    /// Uniformly at random.
    Random,
    /// A shuffled grid.
    Grid,
}

/// Which scheduler decides whether a trial runs all its repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchedulerName {
    /// Every trial runs all its repeats.
    Fifo,
    /// Asynchronous successive halving: a trial not in the best third after its first
    /// download stops there.
    Asha,
}

/// `s3tune tune`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    s3tune tune                                   # the main job: the embedded emulator, ~2 minutes\n  \
    s3tune tune --budget 5m --searcher random --seed 3\n  \
    s3tune tune s3://data/train/shard-0001.tar --region eu-west-1 --budget 10m\n  \
    s3tune tune s3://data/big.bin --endpoint-url http://127.0.0.1:9000 --param max_concurrency=1..64:log\n  \
    s3tune tune --study nightly --trials 40       # run again to resume, or raise --trials to go on")]
pub struct TuneArgs {
    /// The object to tune for, as s3://BUCKET/KEY; none: a synthetic object on the
    /// embedded emulator with S3's network shape.
    pub target: Option<String>,
    #[command(flatten)]
    pub s3: ConnectArgs,
    /// The embedded emulator's network (no target only): s3-scaled (S3's shape scaled
    /// down to fit this machine), s3-like, unlimited, faulty, or a TOML profile
    /// [default: s3-scaled, or the study's].
    #[arg(long, value_name = "NAME|FILE")]
    pub network: Option<String>,
    /// Size of the embedded emulator's synthetic object (no target only) [default: 128MiB].
    #[arg(long, value_name = "SIZE", value_parser = size, allow_negative_numbers = true)]
    pub object_size: Option<u64>,
    /// Time for the trials (the confirmation race comes after), e.g. 90s, 10m.
    #[arg(long, value_name = "DURATION")]
    pub budget: Option<String>,
    /// Stop when the study has this many trials (a resumed study counts its old ones).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u64>)]
    pub trials: Option<u64>,
    /// Downloads per trial; the metric is their mean time [default: 3, or the study's].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>)]
    pub repeats: Option<usize>,
    /// The searcher [default: bo, or the study's].
    #[arg(long, value_enum)]
    pub searcher: Option<SearcherName>,
    /// The scheduler [default: asha for downloads, fifo for --command].
    #[arg(long, value_enum)]
    pub scheduler: Option<SchedulerName>,
    /// Seed of the searcher's random choices [default: 0, or the study's].
    #[arg(long, allow_negative_numbers = true, value_parser = whole::<u64>)]
    pub seed: Option<u64>,
    /// The study's name (default: tune-DATE-TIME); an existing study is resumed.
    #[arg(long, value_name = "NAME")]
    pub study: Option<String>,
    /// Where the study is stored: sqlite:PATH (default: study.db in the output folder),
    /// or postgres://USER[:PASSWORD]@HOST[:PORT]/DB to share it with `s3tune worker`s.
    #[arg(long, value_name = "URL")]
    pub storage: Option<String>,
    /// A running trial whose heartbeat is older than this is taken for lost (its worker
    /// died) and may be run again; the study's workers use it too [default: 30s].
    #[arg(long, value_name = "DURATION")]
    pub heartbeat_timeout: Option<String>,
    /// Output folder (default: s3tune-results/STUDY).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where the downloads are written (each copy is checked, then deleted).
    #[arg(long, value_name = "DIR")]
    pub dest_dir: Option<PathBuf>,
    /// The search space as a TOML or JSON file (sizes in bytes).
    #[arg(long, value_name = "FILE")]
    pub space: Option<PathBuf>,
    /// Change one knob's range: NAME=LOW..HIGH[:log], NAME=A,B,C or NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "SPEC")]
    pub params: Vec<String>,
    /// Do not start with boto3's defaults (no baseline, no speedup).
    #[arg(long)]
    pub no_baseline: bool,
    /// Runs of best and baseline, interleaved, in the confirmation race (0: none).
    #[arg(long, default_value_t = 5, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>)]
    pub confirm: usize,
    /// Who downloads: s3tune's engine, or boto3's download_file (the seed's experiment,
    /// run by the bundled examples/boto3_download.py), to tune boto3 itself.
    /// [default: s3tune, or the study's]
    #[arg(long, value_enum)]
    pub client: Option<ClientName>,
    /// The Python that runs boto3 for --client boto3.
    #[arg(long, default_value = "python3", value_name = "PATH")]
    pub python: String,
    #[command(flatten)]
    pub script: ScriptArgs,
}

/// The S3 client being tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientName {
    /// s3tune's own engine.
    S3tune,
    /// boto3's download_file.
    Boto3,
}

impl std::fmt::Display for ClientName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use clap::ValueEnum;
        let v = self.to_possible_value().expect("every client has a name");
        f.write_str(v.get_name())
    }
}

/// Tuning any script that reports like Syne Tune's `Reporter`.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Tuning a script (Syne Tune's entry-point protocol)")]
pub struct ScriptArgs {
    /// Tune this command instead of a download: each trial runs it (through sh) with
    /// `--NAME VALUE` per parameter and `--st_checkpoint_dir DIR`, and reads
    /// `[tune-metric]: {json}` lines from its stdout. Needs --space and --metric.
    #[arg(long, value_name = "CMD")]
    pub command: Option<String>,
    /// The reported metric to optimize.
    #[arg(long, value_name = "NAME")]
    pub metric: Option<String>,
    /// Minimize or maximize the metric.
    #[arg(long, value_enum, default_value_t = ModeName::Min)]
    pub mode: ModeName,
    /// Trials run at once on this machine.
    #[arg(long, default_value_t = 1, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>)]
    pub workers: usize,
    /// A trial running longer than this is killed and failed, e.g. 10m.
    #[arg(long, value_name = "DURATION")]
    pub trial_timeout: Option<String>,
    /// With --scheduler asha: the most reports a trial makes (e.g. its epochs).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>)]
    pub max_steps: Option<usize>,
}

/// Minimize or maximize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ModeName {
    /// Smaller is better.
    #[default]
    Min,
    /// Larger is better.
    Max,
}

/// `s3tune report`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    s3tune report tune-20261125-101500\n  \
    s3tune report nightly --storage sqlite:/data/studies.db --out /tmp/nightly")]
pub struct ReportArgs {
    /// The study's name.
    pub study: String,
    /// Where the study is stored: sqlite:PATH or postgres://… (default:
    /// s3tune-results/STUDY/study.db).
    #[arg(long, value_name = "URL")]
    pub storage: Option<String>,
    /// Output folder (default: s3tune-results/STUDY).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `s3tune get`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    s3tune get s3://data/big.bin /tmp/\n  \
    s3tune get s3://data/big.bin - | sha256sum\n  \
    s3tune get s3://data/big.bin big.bin --max-concurrency 32 --multipart-chunksize 16MiB --json\n  \
    s3tune get s3://data/big.bin . --endpoint-url http://127.0.0.1:9000")]
pub struct GetArgs {
    /// The object, as s3://BUCKET/KEY.
    pub source: String,
    /// A file, a directory (the key's last component is used), or - for standard output.
    pub dest: std::path::PathBuf,
    #[command(flatten)]
    pub transfer: TransferArgs,
}

/// `s3tune put`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    s3tune put model.bin s3://models/v3/model.bin\n  \
    s3tune put model.bin s3://models/v3/ --max-concurrency 16 --json")]
pub struct PutArgs {
    /// The file to upload.
    pub source: std::path::PathBuf,
    /// Where to, as s3://BUCKET/KEY (a key ending in / gets the file's name).
    pub dest: String,
    #[command(flatten)]
    pub transfer: TransferArgs,
}

/// What `get` and `put` share: where S3 is, how to transfer, what to print.
#[derive(Debug, Args)]
pub struct TransferArgs {
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

/// boto3's TransferConfig knobs, one flag each (defaults are boto3's).
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "TransferConfig (boto3's knobs; defaults are boto3's)")]
pub struct KnobArgs {
    /// Objects this size or larger go in parts [default: 8MiB].
    #[arg(long, value_name = "SIZE", value_parser = size, allow_negative_numbers = true)]
    pub multipart_threshold: Option<u64>,
    /// Requests in flight [default: 10].
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
}

fn size(s: &str) -> Result<u64, String> {
    s3tune_transfer::parse_size(s)
}

/// A whole number, said in words when it is not one (without this, clap takes `-1` for
/// a flag it does not know).
fn whole<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))
}

fn rate(s: &str) -> Result<u64, String> {
    s3tune_transfer::parse_rate(s)
}

/// `s3tune serve`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    s3tune serve --network s3-like --object data/big.bin=3GiB\n  \
    s3tune serve --listen 127.0.0.1:0 --json --data-dir /tmp/s3data\n  \
    s3tune serve --network faulty --network-seed 7 --link-bandwidth 500MB/s")]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (a name such as localhost, or an IP address);
    /// 127.0.0.1:0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:9000", value_name = "HOST:PORT")]
    pub listen: String,

    /// Network profile: unlimited, s3-like, faulty, or a TOML file.
    #[arg(long, default_value = "unlimited", value_name = "NAME|FILE")]
    pub network: String,

    /// Keep buckets and objects in DIR (kept across restarts) instead of in memory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Create a synthetic object, e.g. data/big.bin=3GiB (repeatable).
    #[arg(long = "object", value_name = "BUCKET/KEY=SIZE")]
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
