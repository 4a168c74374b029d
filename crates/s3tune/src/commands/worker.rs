//! `s3tune worker`: joins a study in a shared store and runs its trials — the study's
//! transfer or its script, as the study says — until the study's budget is spent, this
//! worker's own `--budget` runs out, or Ctrl-C.
//!
//! Workers have no coordinator: each claims from the store (seeing every other worker's
//! running trials), writes heartbeats while its trials run, and marks lost the trials of
//! workers that died, whose slots it then claims again. A worker whose study's trial
//! budget is taken up by others' running trials waits for them before it leaves, so a
//! study finishes its budget while any worker is alive. Every worker builds the study's
//! searcher and scheduler from the store alone, so all decide alike.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use s3tune_hpo::{Budget, Status, StopReason};

use super::client::Timeouts;
use super::display::Display;
use super::tune::{self, script};
use super::{Stop, exit};
use crate::cli::WorkerArgs;
use crate::experiment::ProgressSlot;
use crate::study::run::{self, Plan, Ran};
use crate::study::session::Session;
use crate::study::target::{self, Place, Request, RunnerArgs};
use crate::study::{StudyKind, TransferSettings, Workload};

pub async fn run(args: WorkerArgs, stop: Stop) -> anyhow::Result<ExitCode> {
    if args.workers == 0 {
        bail!("--workers must be at least 1");
    }
    let own_budget = args
        .budget
        .as_deref()
        .map(|t| super::duration("--budget", t))
        .transpose()?;
    let session = Session::join(&args.storage, &args.study)?;
    let budget = session.budget()?;
    let beat = args
        .heartbeat_timeout
        .as_deref()
        .map(|t| tune::heartbeat_timeout(Some(t)))
        .transpose()?;
    let limits = budget.limits(own_budget);
    if limits.budget == Some(Duration::ZERO) {
        eprintln!(
            "s3tune: study {}'s time budget is spent; nothing to do",
            session.name()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("s3tune-results").join(session.name()));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let plan = Plan {
        worker: args
            .name
            .clone()
            .unwrap_or_else(s3tune_hpo::worker::this_process),
        parallel: args.workers,
        limits,
        heartbeat_timeout: beat,
    };
    eprintln!(
        "worker {} joins study {} in {}: {}",
        plan.worker,
        session.name(),
        session.store.location(),
        describe_budget(&budget, own_budget)
    );
    let ran = match session.kind.clone() {
        StudyKind::Command(_) => {
            let backend = script::backend(&session, &out)?;
            let metric = session.study.spec.objective.metric.clone();
            run::run(&session, &plan, backend, &stop, script::printer(&metric)).await?
        }
        StudyKind::Transfer(settings) => {
            if args.workers != 1 {
                bail!(
                    "--workers runs several script trials at once; a transfer study's trials run one at a time per worker (start more workers)"
                );
            }
            transfer(&args, &session, &settings, &plan, &out, &stop).await?
        }
    };
    report(&session, &plan.worker, &budget, &ran)
}

/// The worker's closing lines, and its exit code.
fn report(session: &Session, me: &str, budget: &Budget, ran: &Ran) -> anyhow::Result<ExitCode> {
    let trials = session.store.trials(&session.study)?;
    let mine: Vec<_> = trials.iter().filter(|t| t.worker == me).collect();
    let count = |s: Status| mine.iter().filter(|t| t.trial.status == s).count();
    // Lost trials do not count towards the budget.
    let counted = trials.iter().filter(|t| !t.lost).count();
    eprintln!(
        "worker {me}: {} — ran {} trials ({} completed, {} stopped, {} failed); the study has {}{} trials",
        match ran.why {
            StopReason::Trials => "the study's trial budget is spent",
            StopReason::Budget => "the time budget is spent",
            StopReason::Exhausted => "the space is exhausted",
            StopReason::Interrupted => "interrupted",
            StopReason::Failing => "too many failures in a row",
            StopReason::Infeasible => "no trial keeps the study's limits",
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
        session.name(),
        session.again()
    );
    if ran.why == StopReason::Interrupted {
        return Ok(ExitCode::from(exit::INTERRUPTED));
    }
    if let Some(line) = ran.outcome.none_succeeded() {
        eprintln!("s3tune: {line}");
        return Ok(ExitCode::from(exit::NO_TRIAL_SUCCEEDED));
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_budget(budget: &Budget, own: Option<Duration>) -> String {
    let mut parts = Vec::new();
    if let Some(t) = budget.trials {
        parts.push(format!("until the study has {}", run::trials(t)));
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

/// A transfer study's trials from this machine: its own emulator like the study's, or
/// the study's bucket.
async fn transfer(
    args: &WorkerArgs,
    session: &Session,
    settings: &TransferSettings,
    plan: &Plan,
    out: &Path,
    stop: &Stop,
) -> anyhow::Result<Ran> {
    let place = Place::of_stored(settings)?;
    if matches!(place, Place::Emulator { .. } | Place::Dataset { .. })
        && args.s3.endpoint_url.is_some()
    {
        bail!(
            "study `{}` tunes the embedded emulator; --endpoint-url does not apply",
            session.name()
        );
    }
    let dest = tune::dest_dir(args.dest_dir.as_deref())?;
    let source = settings.source.as_deref().map(Path::new);
    let request = Request {
        workload: settings.workload,
        place,
        source,
        study: session.name(),
        s3: &args.s3,
        timeouts: Timeouts::from_args(&args.s3)?,
        dest: &dest,
        sample: settings.dataset.as_ref().and_then(|d| d.sample),
    };
    let opened = target::open(request, stop).await?;
    if opened.size != settings.object_bytes {
        bail!(
            "{} is {} bytes here, not the study's {}: it changed, or this is another endpoint",
            opened.url,
            opened.size,
            settings.object_bytes
        );
    }
    if settings.workload == Workload::Download {
        tune::check_room(&dest, opened.size, false)?;
    }
    let slot = ProgressSlot::default();
    let runner_args = RunnerArgs {
        python: &args.python,
        s3: &args.s3,
        dest: &dest,
        out,
    };
    let runner = opened.runner(settings, &runner_args, &slot)?;
    let display = Display::new();
    let live = display.start(
        session.study.spec.objective.clone(),
        settings.baseline.clone(),
        settings.baseline_name(),
        settings.object_bytes,
        slot,
    );
    let ran = run::run(session, plan, runner, stop, |e| live.event(e)).await;
    live.finish();
    display.clear();
    // Other workers may still run: only this worker's own trials' keys are swept (a
    // dropped trial's cleanup may not have finished); the study's creator sweeps the rest.
    let mine: Vec<u64> = session
        .store
        .trials(&session.study)?
        .iter()
        .filter(|t| t.worker == plan.worker)
        .map(|t| t.trial.id)
        .collect();
    opened.sweep_trials(&mine).await;
    drop(opened);
    ran
}
