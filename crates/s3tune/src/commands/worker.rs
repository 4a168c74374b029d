//! `s3tune worker`: joins a study in a shared store and runs its trials — the download
//! experiment or the study's script, as the study says — until the study's budget is
//! spent, this worker's own `--budget` runs out, or Ctrl-C.
//!
//! Workers have no coordinator: each claims from the store (seeing every other worker's
//! running trials), writes heartbeats while its trials run, and marks lost the trials of
//! workers that died, whose slots it then claims again. A worker whose study's trial
//! budget is taken up by others' running trials waits for them before it leaves, so a
//! study finishes its budget while any worker is alive.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use s3tune_hpo::{Limits, Status, StopReason, Store, Study};

use super::client::Timeouts;
use super::display::Display;
use super::s3url::S3Url;
use super::tune::plan::{self, RunOutcome, StudyBudget};
use super::tune::{self};
use super::{Stop, exit, storage};
use crate::cli::WorkerArgs;
use crate::experiment::{ProgressSlot, Target, emulated};
use crate::report::Settings;
use crate::report::command::CommandSettings;

pub async fn run(args: WorkerArgs, stop: Stop) -> anyhow::Result<ExitCode> {
    if args.workers == 0 {
        bail!("--workers must be at least 1");
    }
    let own_budget = args
        .budget
        .as_deref()
        .map(|t| super::duration("--budget", t))
        .transpose()?;
    let timeouts = Timeouts::from_args(&args.s3)?;
    let location = storage::parse(Some(&args.storage), Path::new("."))?;
    let store = storage::open_existing(&location)?.ok_or_else(|| {
        anyhow!(
            "--storage {}: no such file; a worker joins a study that exists",
            args.storage
        )
    })?;
    let study = store.study(&args.study)?.ok_or_else(|| {
        let known = store.studies().unwrap_or_default();
        anyhow!(
            "no study named `{}` in {}{}; create it with `s3tune study create --storage {} …` or `s3tune tune --storage {} …`",
            args.study,
            store.location(),
            if known.is_empty() {
                String::new()
            } else {
                format!(" (it has {})", known.join(", "))
            },
            location.flag(store.as_ref()),
            location.flag(store.as_ref()),
        )
    })?;
    let budget = StudyBudget::load(store.as_ref(), &study)?;
    let beat_timeout = match args.heartbeat_timeout.as_deref() {
        Some(t) => tune::heartbeat_timeout(Some(t))?,
        None => budget.heartbeat_timeout(),
    };
    let time = match (budget.time_left(), own_budget) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let limits = Limits {
        max_trials: budget.trials,
        budget: time,
        max_failures_in_a_row: Some(plan::MAX_FAILURES_IN_A_ROW),
    };
    if time == Some(Duration::ZERO) {
        eprintln!(
            "s3tune: study {}'s time budget is spent; nothing to do",
            study.spec.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("s3tune-results").join(&study.spec.name));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let me = args
        .name
        .clone()
        .unwrap_or_else(s3tune_hpo::worker::this_process);
    eprintln!(
        "worker {me} joins study {} in {}: {}",
        study.spec.name,
        store.location(),
        describe_budget(&budget, own_budget)
    );

    let mark = RunOutcome::mark(store.as_ref(), &study)?;
    let why = if CommandSettings::of(&study).is_some() {
        tune::script::work(
            &store,
            &study,
            &me,
            &out,
            args.workers,
            &limits,
            beat_timeout,
            &stop,
        )
        .await?
    } else {
        if args.workers != 1 {
            bail!(
                "--workers runs several script trials at once; a download study's trials run one at a time per worker (start more workers)"
            );
        }
        download(
            &args,
            &store,
            &study,
            &me,
            &out,
            &limits,
            beat_timeout,
            timeouts,
            &stop,
        )
        .await?
    };
    let trials = store.trials(&study)?;
    let mine: Vec<_> = trials.iter().filter(|t| t.worker == me).collect();
    let count = |s: Status| mine.iter().filter(|t| t.trial.status == s).count();
    // Lost trials do not count towards the budget.
    let counted = trials.iter().filter(|t| !t.lost).count();
    eprintln!(
        "worker {me}: {} — ran {} trials ({} completed, {} stopped, {} failed); the study has {}{} trials",
        match why {
            StopReason::Trials => "the study's trial budget is spent",
            StopReason::Budget => "the time budget is spent",
            StopReason::Exhausted => "the space is exhausted",
            StopReason::Interrupted => "interrupted",
            StopReason::Failing => "too many failures in a row",
        },
        mine.len(),
        count(Status::Completed),
        count(Status::Stopped),
        count(Status::Failed),
        counted,
        budget.trials.map_or(String::new(), |t| format!(" of {t}")),
    );
    eprintln!(
        "report: s3tune report {} --storage {}",
        study.spec.name,
        location.flag(store.as_ref())
    );
    if why == StopReason::Interrupted {
        return Ok(ExitCode::from(exit::INTERRUPTED));
    }
    if let Some(line) = RunOutcome::of(&trials, &me, mark).none_succeeded() {
        eprintln!("s3tune: {line}");
        return Ok(ExitCode::from(exit::NO_TRIAL_SUCCEEDED));
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_budget(budget: &StudyBudget, own: Option<Duration>) -> String {
    let mut parts = Vec::new();
    if let Some(t) = budget.trials {
        parts.push(format!("until the study has {}", plan::trials(t)));
    }
    if let Some(left) = budget.time_left() {
        parts.push(format!(
            "for the study's {} left",
            humantime::format_duration(Duration::from_secs(left.as_secs()))
        ));
    }
    if let Some(own) = own {
        parts.push(format!("for at most {}", humantime::format_duration(own)));
    }
    if parts.is_empty() {
        "no budget: until the space is exhausted or Ctrl-C".to_owned()
    } else {
        parts.join(", ")
    }
}

/// A download study's trials from this machine: its own emulator like the study's, or
/// the study's bucket.
#[allow(clippy::too_many_arguments)]
async fn download(
    args: &WorkerArgs,
    store: &std::sync::Arc<dyn Store>,
    study: &Study,
    me: &str,
    out: &Path,
    limits: &Limits,
    beat_timeout: Duration,
    timeouts: Timeouts,
    stop: &Stop,
) -> anyhow::Result<StopReason> {
    let settings: Settings =
        serde_json::from_value(study.spec.settings.clone()).with_context(|| {
            format!(
                "study `{}` is neither a download nor a script study",
                study.spec.name
            )
        })?;
    let dest = tune::dest_dir(args.dest_dir.as_deref())?;
    let (target, server) = match &settings.network {
        Some(network) => {
            if args.s3.endpoint_url.is_some() {
                bail!(
                    "study `{}` tunes the embedded emulator; --endpoint-url does not apply",
                    study.spec.name
                );
            }
            let (profile, _) = emulated::network(network)?;
            let e = stop
                .or_stop(emulated::start(profile, settings.object_bytes))
                .await??;
            (e.target.clone(), Some(e))
        }
        None => {
            let url = S3Url::parse_object(&settings.target)?;
            let client = stop.or_stop(super::client::s3_client(&args.s3)).await??;
            let target = stop
                .or_stop(Target::discover(client, &url.bucket, &url.key, timeouts))
                .await?
                .with_context(|| format!("looking up {url}"))?;
            if target.size != settings.object_bytes {
                bail!(
                    "{url} is {} bytes here, not the study's {}: it changed, or this is another endpoint",
                    target.size,
                    settings.object_bytes
                );
            }
            (target, None)
        }
    };
    tune::check_room(&dest, target.size)?;
    let slot = ProgressSlot::default();
    let runner = std::sync::Arc::new(tune::make_runner(
        store.as_ref(),
        study,
        &settings,
        &target,
        server.as_ref(),
        &args.s3,
        &args.python,
        &dest,
        out,
        &slot,
    )?);
    let display = Display::new();
    let why = tune::download_trials(
        store,
        study,
        me,
        &runner,
        &slot,
        limits,
        beat_timeout,
        stop,
        &display,
    )
    .await?;
    display.clear();
    drop(server);
    Ok(why)
}
