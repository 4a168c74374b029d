//! What a study tunes, as it is stored with the study: a tagged enum, read once when the
//! study is opened. A transfer study is a *workload* (what moves: one object down, one
//! object up) times a *client* (who moves it: s3tune's engine, boto3); a command study
//! tunes any script that speaks Syne Tune's protocol.

use anyhow::anyhow;
use s3tune_hpo::{Config, Study};
use serde::{Deserialize, Serialize};

/// A study's kind and the settings that define it (fixed at creation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StudyKind {
    /// An S3 transfer (boxed: it is by far the larger).
    Transfer(Box<TransferSettings>),
    /// A script (`tune --command`).
    Command(CommandSettings),
}

impl StudyKind {
    /// The kind `study` stores; an error names the study when it is none this s3tune
    /// reads (made by another version).
    pub fn of(study: &Study) -> anyhow::Result<Self> {
        serde_json::from_value(study.spec.settings.clone()).map_err(|e| {
            anyhow!(
                "study `{}` was made by another version of s3tune ({e}); start a new study",
                study.spec.name
            )
        })
    }

    /// As stored.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("study kinds serialize")
    }

    /// What it is, for messages: `a download`, `a script (--command)`.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Transfer(t) => match (t.workload, t.dataset.is_some()) {
                (Workload::Download, false) => "a download",
                (Workload::Upload, false) => "an upload",
                (Workload::Download, true) => "a dataset's download",
                (Workload::Upload, true) => "a dataset's upload",
            },
            Self::Command(_) => "a script (--command)",
        }
    }
}

/// What a transfer study moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// One object, from S3 to a local file.
    Download,
    /// One file, from the machine to S3.
    Upload,
}

/// Who moves the bytes in a transfer study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Client {
    /// s3tune's engine, in process.
    S3tune,
    /// boto3's `download_file` / `upload_file`, through the bundled scripts.
    Boto3,
    /// The AWS CLI's `aws s3 cp`.
    Awscli,
    /// The AWS Common Runtime's `S3Client`, through the bundled script.
    Crt,
    /// rclone's `copyto` / `copy`.
    Rclone,
}

impl Client {
    /// Its name, as `--client` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::S3tune => "s3tune",
            Self::Boto3 => "boto3",
            Self::Awscli => "awscli",
            Self::Crt => "crt",
            Self::Rclone => "rclone",
        }
    }

    /// For the reports: `s3tune's engine`, `boto3's download_file`, `aws s3 cp`.
    pub fn label(self, workload: Workload) -> String {
        match (self, workload) {
            (Self::S3tune, _) => "s3tune's engine".to_owned(),
            (Self::Boto3, Workload::Download) => "boto3's download_file".to_owned(),
            (Self::Boto3, Workload::Upload) => "boto3's upload_file".to_owned(),
            (Self::Awscli, _) => "the AWS CLI (aws s3 cp)".to_owned(),
            (Self::Crt, _) => "the AWS CRT (awscrt.s3.S3Client)".to_owned(),
            (Self::Rclone, _) => "rclone".to_owned(),
        }
    }
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a transfer study keeps (fixed at creation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferSettings {
    /// What moves.
    pub workload: Workload,
    /// Who moves it.
    pub client: Client,
    /// Download: `s3://bucket/key`. Upload: `s3://bucket/prefix/`, under which each
    /// trial writes (and deletes) its objects.
    pub target: String,
    /// The object's (or source file's) size.
    pub object_bytes: u64,
    /// Transfers per trial.
    pub repeats: usize,
    /// boto3's defaults for the space, when the study has a baseline.
    pub baseline: Option<Config>,
    /// The emulated network, when the target is the embedded emulator.
    pub emulated: Option<EmulatedNetwork>,
    /// The embedded emulator's `--network` (a name or a file), so that workers joining
    /// the study start the same one.
    #[serde(default)]
    pub network: Option<String>,
    /// Upload: the source file (or a dataset's directory) as given (none: a synthetic
    /// one made for each run).
    #[serde(default)]
    pub source: Option<String>,
    /// Many objects (a prefix, a directory) rather than one: then `object_bytes` is the
    /// bytes of all that one transfer moves.
    #[serde(default)]
    pub dataset: Option<Box<DatasetSettings>>,
    /// The no-search rules (CRT's formula, AzCopy's climb) as this client's settings.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// The earlier studies it started from (`--warm-start`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warm_start: Vec<WarmStart>,
    /// What its requests cost (`--prices`; S3 Standard's list prices before there were).
    #[serde(default)]
    pub prices: crate::experiment::costs::Prices,
}

/// An earlier study a new one started from, as the new one stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmStart {
    /// Its name.
    pub study: String,
    /// Its trials with a result.
    pub trials: usize,
    /// After how many of them it was within 5 % of its best.
    pub near_best_after: usize,
}

impl WarmStart {
    /// After how many trials with a result `values` (in trial order, smaller better)
    /// came within 5 % of their best: how soon a study got there.
    pub fn near_best_after(values: &[f64]) -> usize {
        let best = values.iter().copied().fold(f64::INFINITY, f64::min);
        values
            .iter()
            .position(|v| *v <= best * 1.05)
            .map_or(values.len(), |i| i + 1)
    }
}

#[cfg(test)]
mod warm_tests {
    use super::WarmStart;

    #[test]
    fn near_best_counts_trials_to_within_five_percent() {
        assert_eq!(WarmStart::near_best_after(&[10.0, 5.0, 2.06, 2.0]), 3);
        assert_eq!(WarmStart::near_best_after(&[2.0, 9.0]), 1);
        assert_eq!(WarmStart::near_best_after(&[]), 0);
    }
}

/// A dataset study: what each transfer moves, and the second baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSettings {
    /// Objects each transfer moves.
    pub objects: u64,
    /// Objects under the prefix (or files under the directory), of which `objects` are
    /// a sample when fewer.
    pub listed: u64,
    /// `--sample N`: a reproducible choice of N objects.
    pub sample: Option<u64>,
    /// The embedded emulator's `--dataset` (a name or a spec), so that every process
    /// that opens the study makes the same one.
    pub spec: Option<String>,
    /// boto3's defaults as a default Python thread pool of its calls would move the set
    /// (objects at once, requests at once), tried second.
    pub boto3_pool: Option<Config>,
    /// The pool's workers.
    pub pool_workers: usize,
}

impl TransferSettings {
    /// What one transfer is called: `download`, `upload`.
    pub fn verb(&self) -> &'static str {
        match self.workload {
            Workload::Download => "download",
            Workload::Upload => "upload",
        }
    }

    /// What the baseline is, for people: the client's own defaults — boto3's for the
    /// engine and boto3 with one object; for the engine with a dataset the AWS CLI's (10
    /// requests at once over every object, 8 MiB parts), which the same values mean
    /// there and which is what moves most datasets.
    pub fn baseline_name(&self) -> &'static str {
        match self.client {
            Client::S3tune if self.dataset.is_some() => "the AWS CLI's defaults",
            Client::S3tune | Client::Boto3 => "boto3's defaults",
            Client::Awscli => "the AWS CLI's defaults",
            Client::Crt => "CRT's defaults",
            Client::Rclone => "rclone's defaults",
        }
    }

    /// The baseline's short name, for tables: `boto3`, `aws cli`.
    pub fn baseline_short(&self) -> &'static str {
        match self.client {
            Client::S3tune if self.dataset.is_some() => "aws cli",
            Client::S3tune | Client::Boto3 => "boto3",
            Client::Awscli => "aws cli",
            Client::Crt => "crt",
            Client::Rclone => "rclone",
        }
    }
}

/// A configuration sized by a rule that needs no search, run as a starting point and
/// raced against the best (its speedup says whether tuning was worth it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Its short name: `crt` (CRT's formula), `climb` (AzCopy's hill climb).
    pub name: String,
    /// What it is and what it chose, for people.
    pub label: String,
    /// The configuration.
    pub config: Config,
}

/// The embedded emulator's network, as the study ran against it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmulatedNetwork {
    /// What it imitates, for people.
    pub description: String,
    /// The shared link's capacity, bytes per second (`None`: no limit).
    pub link_bytes_per_sec: Option<f64>,
    /// S3's bandwidths divided by this, for the default network.
    pub scale: Option<f64>,
    /// GET requests a second per prefix before 503 SlowDown (`None`: no limit).
    #[serde(default)]
    pub get_rate: Option<f64>,
    /// PUT requests a second per prefix before 503 SlowDown (`None`: no limit).
    #[serde(default)]
    pub put_rate: Option<f64>,
}

impl EmulatedNetwork {
    /// The network `profile`, described by `description`, started as `--network name`.
    pub fn of(profile: &s3tune_emulator::NetworkProfile, description: String, name: &str) -> Self {
        Self {
            description,
            link_bytes_per_sec: profile.link_bandwidth.map(|r| r.0),
            scale: (name == "s3-scaled").then_some(crate::experiment::emulated::SCALE),
            get_rate: profile.get_rate_limit,
            put_rate: profile.put_rate_limit,
        }
    }
}

/// What a script study keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandSettings {
    /// The command as the user wrote it.
    pub command: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_reads_back_with_its_tag() {
        let k = StudyKind::Command(CommandSettings {
            command: "python3 train.py".into(),
        });
        let v = k.to_json();
        assert_eq!(v["kind"], "command");
        assert_eq!(serde_json::from_value::<StudyKind>(v).unwrap(), k);
        let t = StudyKind::Transfer(Box::new(TransferSettings {
            workload: Workload::Upload,
            client: Client::Boto3,
            target: "s3://b/p/".into(),
            object_bytes: 5,
            repeats: 3,
            baseline: None,
            emulated: None,
            network: None,
            source: None,
            dataset: None,
            rules: Vec::new(),
            warm_start: Vec::new(),
            prices: Default::default(),
        }));
        let v = t.to_json();
        assert_eq!(
            (v["kind"].as_str(), v["workload"].as_str()),
            (Some("transfer"), Some("upload"))
        );
        assert_eq!(v["client"], "boto3");
        assert_eq!(serde_json::from_value::<StudyKind>(v).unwrap(), t);
        // The first version's settings had no tag: not read as anything.
        let old = serde_json::json!({"target": "s3://b/k", "object_bytes": 1, "repeats": 3});
        assert!(serde_json::from_value::<StudyKind>(old).is_err());
    }
}
