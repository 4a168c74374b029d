//! Command-line syntax. Only this module knows clap; commands turn these raw values into
//! the libraries' configuration types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod compare;
mod limits;
mod serve;
mod transfer;

pub use compare::CompareArgs;
pub use limits::{LimitArgs, OBJECTIVES, show as show_limit};
pub use serve::{NetworkOverrides, ServeArgs};
pub use transfer::{ConnectArgs, GetArgs, KnobArgs, PutArgs, TransferArgs};

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
    /// Find the fastest download (or, with --upload, upload) settings for an object (by
    /// default on the embedded emulator, with no cloud account).
    Tune(Box<TuneArgs>),
    /// Which client, with which settings, is fastest here: each installed client (s3tune,
    /// boto3, the AWS CLI, the AWS CRT, rclone) measured at its defaults and the
    /// no-search rules, tuned for an equal share of the budget, then raced.
    Compare(Box<CompareArgs>),
    /// Render a study's summary, CSV, exports and plot from its storage.
    Report(ReportArgs),
    /// Join a study in a shared storage and run its trials until its budget is spent
    /// (start one on each machine, or several on one).
    Worker(WorkerArgs),
    /// Create a study for workers, without running trials.
    #[command(subcommand)]
    Study(StudyCommand),
    /// Watch the studies of a storage in a web browser, live: best over time, the trials,
    /// parallel coordinates, the Pareto front, the workers.
    #[command(after_help = "Examples:\n  \
        s3tune dashboard --storage sqlite:s3tune-results/nightly/study.db\n  \
        s3tune dashboard --storage postgres://s3tune@db:5432/studies --listen 127.0.0.1:8090\n  \
        s3tune tune --dashboard                       # the running study's page, its address printed first")]
    Dashboard(DashboardArgs),
}

/// `s3tune dashboard`.
#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Where the studies are: postgres://… or sqlite:PATH.
    #[arg(long, value_name = "URL")]
    pub storage: String,
    /// Address to serve the page on, HOST:PORT (port 0 picks a free one); anything but a
    /// loopback address lets others read every study in the storage.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub listen: String,
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
    /// Show how a study searches, as every process that opens it builds it: its searcher,
    /// scheduler and budget, its best trial, the cut-off of the next run, and the
    /// configuration the searcher would propose next.
    #[command(after_help = "Examples:\n  \
        s3tune study show nightly --storage postgres://s3tune@db:5432/studies\n  \
        s3tune study show tune-20261125-101500 --storage sqlite:s3tune-results/tune-20261125-101500/study.db --json")]
    Show(StudyShowArgs),
    /// List the studies in a storage: their trials, budgets and best results.
    #[command(after_help = "Examples:\n  \
        s3tune study list --storage postgres://s3tune@db:5432/studies\n  \
        s3tune study list --storage sqlite:s3tune-results/nightly/study.db --json")]
    List(StudyListArgs),
}

/// `s3tune study show`.
#[derive(Debug, Args)]
pub struct StudyShowArgs {
    /// The study's name.
    pub study: String,
    /// Where the study is: postgres://… or sqlite:PATH.
    #[arg(long, value_name = "URL")]
    pub storage: String,
    /// One JSON object instead of lines of text.
    #[arg(long)]
    pub json: bool,
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
    s3tune tune --upload                          # uploads: a synthetic file to the embedded emulator\n  \
    s3tune tune --upload model.bin s3://models/scratch/ --region us-west-2\n  \
    s3tune tune --dataset small                   # 2,000 objects of 256 KiB, down, on the emulator\n  \
    s3tune tune s3://data/train/ --sample 500     # a prefix: 500 of its objects in each run\n  \
    s3tune tune --study nightly --trials 40       # run again to resume, or raise --trials to go on")]
pub struct TuneArgs {
    /// The object to tune for, as s3://BUCKET/KEY (with --upload: s3://BUCKET/PREFIX/,
    /// under which each trial's objects are written and deleted); none: the embedded
    /// emulator with S3's network shape.
    pub target: Option<String>,
    /// Tune uploads instead of downloads: of FILE, or with no FILE of a synthetic file
    /// of --object-size (made in --dest-dir) to the embedded emulator.
    #[arg(long, value_name = "FILE")]
    pub upload: Option<Option<PathBuf>>,
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
    /// Tune a dataset's download on the embedded emulator (no target only): small
    /// (2,000 × 256 KiB), large (64 × 64 MiB), images (20,000 around 100 KiB), or
    /// KEY=SIZE as `serve --objects` takes it without the bucket. A target ending in / is
    /// a dataset too: every object under that prefix.
    #[arg(long, value_name = "NAME|SPEC")]
    pub dataset: Option<String>,
    /// With a dataset: move only N of its objects in each run, the same N every time
    /// (chosen by a fixed seed), so that a trial stays short [default: all].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u64>)]
    pub sample: Option<u64>,
    /// Time for the trials (the confirmation race comes after), e.g. 90s, 10m.
    #[arg(long, value_name = "DURATION")]
    pub budget: Option<String>,
    /// Stop when the study has this many trials (a resumed study counts its old ones).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u64>)]
    pub trials: Option<u64>,
    /// Transfers per trial; the metric is their mean time [default: 3, 2 for a dataset, or
    /// the study's].
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
    /// Start a new study from earlier ones of the same shape (workload, client, knobs):
    /// their best configurations are tried first, and their trials teach BO's model.
    #[arg(long, value_name = "STUDY[,STUDY…]")]
    pub warm_start: Option<String>,
    /// Where the --warm-start studies are stored [default: this study's storage].
    #[arg(long, value_name = "URL")]
    pub warm_storage: Option<String>,
    /// The study's name (default: tune-DATE-TIME); an existing study is resumed.
    #[arg(long, value_name = "NAME")]
    pub study: Option<String>,
    /// Serve the study's live page while it runs (see `s3tune dashboard`), on HOST:PORT
    /// if given [default: 127.0.0.1:8080]; its address is printed as the study starts.
    #[arg(long, value_name = "HOST:PORT", num_args = 0..=1, require_equals = true, default_missing_value = "127.0.0.1:8080")]
    pub dashboard: Option<String>,
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
    /// Who moves the bytes, with its own knobs: s3tune's engine; boto3's download_file /
    /// upload_file (the bundled examples/boto3_download.py, the seed's experiment, and
    /// boto3_upload.py); the AWS CLI (`aws s3 cp` on PATH); the AWS CRT (awscrt, by the
    /// bundled examples/crt_transfer.py); rclone (on PATH). [default: s3tune, or the
    /// study's]
    #[arg(long, value_enum)]
    pub client: Option<ClientName>,
    /// The Python that runs the bundled boto3 and CRT scripts.
    #[arg(long, default_value = "python3", value_name = "PATH")]
    pub python: String,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub script: ScriptArgs,
}

/// The S3 client being tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientName {
    /// s3tune's own engine.
    S3tune,
    /// boto3's download_file and upload_file.
    Boto3,
    /// The AWS CLI (`aws s3 cp`), its settings in a config file of each run's own.
    Awscli,
    /// The AWS Common Runtime's S3 client (awscrt.s3.S3Client).
    Crt,
    /// rclone (`rclone copyto` / `copy`), its flags.
    Rclone,
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
    /// With several objectives: write the exports for this trial of the Pareto front
    /// instead of its knee.
    #[arg(long, value_name = "TRIAL", value_parser = whole::<u64>, allow_negative_numbers = true)]
    pub pick: Option<u64>,
}

pub(crate) fn size(s: &str) -> Result<u64, String> {
    s3tune_transfer::parse_size(s)
}

/// A whole number, said in words when it is not one (without this, clap takes `-1` for
/// a flag it does not know).
pub(crate) fn whole<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))
}

pub(crate) fn rate(s: &str) -> Result<u64, String> {
    s3tune_transfer::parse_rate(s)
}
