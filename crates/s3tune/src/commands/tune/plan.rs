//! What every process working on a study builds from the study as stored — its searcher,
//! its scheduler, its budget — so that `tune`, a resumed `tune` and every `worker` on
//! every machine decide alike.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail};
use s3tune_hpo::{
    Asha, BoSearcher, Config, Fifo, GridSearcher, RandomSearcher, Scheduler, Searcher, Store, Study,
};
use serde::{Deserialize, Serialize};

/// The note a study's budget is kept in.
const BUDGET_NOTE: &str = "budget";

/// How often a running trial's heartbeat is written, for a heartbeat timeout.
pub fn heartbeat_every(timeout: Duration) -> Duration {
    (timeout / 6).clamp(Duration::from_millis(50), Duration::from_secs(5))
}

/// The default heartbeat timeout: a worker silent this long is taken for lost.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(30);

/// `n trials`, or `1 trial`.
pub fn trials(n: u64) -> String {
    if n == 1 {
        "1 trial".to_owned()
    } else {
        format!("{n} trials")
    }
}

/// A run gives up after this many trials in a row failed, for every kind of study:
/// something is wrong with the setup (a full disk, revoked credentials, a broken
/// script), not with the configurations, and going on would only repeat it.
pub const MAX_FAILURES_IN_A_ROW: usize = 3;

/// What this process's run of a study came to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOutcome {
    /// Trials this run ran (to an end).
    pub ran: usize,
    /// Of those, trials with a result (completed, or stopped early with one).
    pub succeeded: usize,
    /// Of those, trials that failed.
    pub failed: usize,
    /// The last error of a trial that failed.
    pub last_error: Option<String>,
}

impl RunOutcome {
    /// Of a study's `trials`, those `worker` ran with numbers above `after` (the
    /// study's last trial before the run began).
    pub fn of(trials: &[s3tune_hpo::TrialRecord], worker: &str, after: u64) -> Self {
        use s3tune_hpo::Status;
        let mut out = Self::default();
        for t in trials {
            if t.worker != worker || t.trial.id <= after || t.trial.status == Status::Pending {
                continue;
            }
            out.ran += 1;
            if t.trial.status == Status::Failed {
                out.failed += 1;
                out.last_error.clone_from(&t.error);
            } else if t.trial.value().is_some() {
                out.succeeded += 1;
            }
        }
        out
    }

    /// The last trial number of `study` so far (0 when it has none).
    pub fn mark(store: &dyn Store, study: &Study) -> anyhow::Result<u64> {
        Ok(store.trials(study)?.last().map_or(0, |t| t.trial.id))
    }

    /// When the run made trials and none succeeded: the line that says so. The exit code
    /// is then `exit::NO_TRIAL_SUCCEEDED` (unless the run was interrupted).
    pub fn none_succeeded(&self) -> Option<String> {
        if self.ran == 0 || self.succeeded > 0 {
            return None;
        }
        let what = match (self.ran, self.failed) {
            (1, 1) => "the one trial failed".to_owned(),
            (n, f) if n == f => format!("all {n} trials failed"),
            (1, 0) => "the one trial was stopped before its first result".to_owned(),
            (n, f) => format!(
                "{f} of {n} trials failed, the others were stopped before their first result"
            ),
        };
        Some(format!(
            "no trial succeeded: {what}{}",
            self.last_error
                .as_deref()
                .map_or(String::new(), |e| format!("; the last error: {e}"))
        ))
    }
}

/// A study's budget, as its creator set it; workers that join stop when it is spent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StudyBudget {
    /// The study ends with this many trials (lost ones do not count).
    pub trials: Option<u64>,
    /// No trial is claimed after this time (milliseconds since the Unix epoch).
    pub until_ms: Option<i64>,
    /// A running trial whose heartbeat is older than this is taken for lost.
    pub heartbeat_timeout_ms: Option<u64>,
    /// A script trial running longer than this is killed and failed (`--trial-timeout`;
    /// a run's flag applies from then on, for every worker).
    #[serde(default)]
    pub trial_timeout_ms: Option<u64>,
}

impl StudyBudget {
    /// A budget of `trials`, and of `time` from now.
    pub fn new(trials: Option<u64>, time: Option<Duration>, heartbeat_timeout: Duration) -> Self {
        let until = time.map(|t| SystemTime::now() + t);
        Self {
            trials,
            until_ms: until.map(|u| {
                u.duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64)
            }),
            heartbeat_timeout_ms: Some(heartbeat_timeout.as_millis() as u64),
            trial_timeout_ms: None,
        }
    }

    /// The study's trial timeout, if it has one.
    pub fn trial_timeout(&self) -> Option<Duration> {
        self.trial_timeout_ms.map(Duration::from_millis)
    }

    /// The study's budget (none when it was never set).
    pub fn load(store: &dyn Store, study: &Study) -> anyhow::Result<Self> {
        Ok(match store.notes(study)?.remove(BUDGET_NOTE) {
            Some(v) => serde_json::from_value(v).map_err(|e| {
                anyhow!("study `{}`: its budget is unreadable: {e}", study.spec.name)
            })?,
            None => Self::default(),
        })
    }

    /// Records this as the study's budget.
    pub fn save(&self, store: &dyn Store, study: &Study) -> anyhow::Result<()> {
        store.put_note(study, BUDGET_NOTE, &serde_json::to_value(self)?)?;
        Ok(())
    }

    /// The time left until the deadline (zero when it has passed), if there is one.
    pub fn time_left(&self) -> Option<Duration> {
        self.until_ms.map(|ms| {
            let until = SystemTime::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
            until
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        })
    }

    /// The study's heartbeat timeout, else the default.
    pub fn heartbeat_timeout(&self) -> Duration {
        self.heartbeat_timeout_ms
            .map_or(HEARTBEAT_TIMEOUT, Duration::from_millis)
    }
}

/// Records `budget` as the study's; when only creating the study, says how to start its
/// workers. Returns what to write after `--storage` to reach the store again.
pub fn save_budget(
    store: &dyn Store,
    study: &Study,
    location: &crate::commands::storage::Location,
    budget: &StudyBudget,
    create_only: bool,
) -> anyhow::Result<String> {
    budget.save(store, study)?;
    let again = location.flag(store);
    if create_only {
        let name = &study.spec.name;
        println!("study {name} created in {}", store.location());
        println!("start workers with: s3tune worker --storage {again} --study {name}");
    }
    Ok(again)
}

/// The searcher the study names, starting from `points` (e.g. boto3's defaults).
/// `initial_points` overrides BO's random start.
pub fn searcher(
    study: &Study,
    points: Vec<Config>,
    initial_points: Option<usize>,
) -> anyhow::Result<Arc<dyn Searcher>> {
    Ok(match study.spec.searcher.as_str() {
        "bo" => {
            let mut s = BoSearcher::new(study.spec.objective.clone());
            s.points_to_evaluate = points;
            if let Some(n) = initial_points {
                s.initial_points = n;
            }
            Arc::new(s)
        }
        "random" => Arc::new(RandomSearcher {
            points_to_evaluate: points,
        }),
        "grid" => Arc::new(GridSearcher {
            resolution: 5,
            seed: study.spec.seed,
            points_to_evaluate: points,
        }),
        other => bail!(
            "study `{}` uses the searcher `{other}`, which this s3tune does not know",
            study.spec.name
        ),
    })
}

/// The scheduler the study names: ASHA with rungs at 1, 3, 9… reports up to `max_steps`
/// (η = 3), or FIFO.
pub fn scheduler(study: &Study, max_steps: Option<usize>) -> anyhow::Result<Arc<dyn Scheduler>> {
    Ok(match (study.spec.scheduler.as_str(), max_steps) {
        ("asha", Some(max)) if max >= 2 => {
            Arc::new(Asha::new(1, max, 3.0).map_err(|e| anyhow!("ASHA up to {max} steps: {e}"))?)
        }
        ("asha" | "fifo", _) => Arc::new(Fifo),
        (other, _) => bail!(
            "study `{}` uses the scheduler `{other}`, which this s3tune does not know",
            study.spec.name
        ),
    })
}
