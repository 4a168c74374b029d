//! `s3tune tune --command …`: tuning any script that speaks Syne Tune's entry-point
//! protocol, with the same searchers, store, resume and reports as a download. The
//! trials are run by [`work`], which `s3tune worker` shares.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use s3tune_hpo::backend::SubprocessBackend;
use s3tune_hpo::{
    Event, Limits, Mode, Objective, Space, Status, StopReason, Store, Study, StudySpec, Tuner,
};

use super::plan::{self, StudyBudget};
use super::{budget, heartbeat_timeout, resume, study_name};
use crate::cli::{ModeName, SchedulerName, TuneArgs};
use crate::commands::{Stop, exit, files, storage};
use crate::report::command::CommandSettings;

/// The space file (`s3tune-hpo` syntax, TOML or JSON).
fn space(path: Option<&Path>) -> anyhow::Result<Space> {
    let path = path.ok_or_else(|| anyhow!("--command needs --space FILE (TOML or JSON)"))?;
    Ok(files::space(path)?.0)
}

/// `tune --command`, or `study create --command` when `create_only`.
pub async fn run(args: TuneArgs, stop: Stop, create_only: bool) -> anyhow::Result<ExitCode> {
    let command = args.script.command.clone().unwrap_or_default();
    if command.trim().is_empty() {
        bail!("--command is empty: give the command that runs one trial");
    }
    if args.target.is_some() || !args.params.is_empty() || args.no_baseline {
        bail!("--command tunes a script: an s3:// target, --param and --no-baseline do not apply");
    }
    for (set, flag) in [
        (args.repeats.is_some(), "--repeats"),
        (args.network.is_some(), "--network"),
        (args.object_size.is_some(), "--object-size"),
        (args.client.is_some(), "--client"),
    ] {
        if set {
            bail!("{flag} shapes a download; it does not apply to --command");
        }
    }
    let metric = args
        .script
        .metric
        .clone()
        .ok_or_else(|| anyhow!("--command needs --metric NAME (what the script reports)"))?;
    if metric.starts_with("st_") {
        bail!("--metric {metric}: names starting st_ are Syne Tune's own");
    }
    if args.script.workers == 0 {
        bail!("--workers must be at least 1");
    }
    if args.trials == Some(0) {
        bail!("--trials must be at least 1");
    }
    let timeout = args
        .script
        .trial_timeout
        .as_deref()
        .map(|t| crate::commands::duration("--trial-timeout", t))
        .transpose()?;
    let budget = budget(&args, create_only)?;
    let beat_timeout = heartbeat_timeout(args.heartbeat_timeout.as_deref())?;
    let space = space(args.space.as_deref())?;
    let asha = match (args.scheduler, args.script.max_steps) {
        (Some(SchedulerName::Asha), Some(max)) => {
            s3tune_hpo::Asha::new(1, max, 3.0).map_err(|e| anyhow!("--max-steps {max}: {e}"))?;
            true
        }
        (Some(SchedulerName::Asha), None) => {
            bail!("--scheduler asha needs --max-steps N: the most reports a trial makes")
        }
        _ => false,
    };
    let objective = Objective {
        metric: metric.clone(),
        mode: match args.script.mode {
            ModeName::Min => Mode::Min,
            ModeName::Max => Mode::Max,
        },
    };
    let name = study_name(&args)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("s3tune-results").join(&name));
    let location = storage::parse(args.storage.as_deref(), &out)?;
    let store = storage::open_at(&location)?;
    // A resumed study keeps what defines it (see `resume`).
    let old = store.study(&name)?;
    let old_settings = match &old {
        Some(study) => Some(CommandSettings::of(study).ok_or_else(|| {
            anyhow!("study `{name}` tunes a download, not a script; use another --study name")
        })?),
        None => None,
    };
    if let Some(o) = &old_settings
        && o.command != command
    {
        bail!(
            "study `{name}` was made for the command `{}`; use another --study name for `{command}`",
            o.command
        );
    }
    let old_spec = old.as_ref().map(|s| &s.spec);
    let search = resume::search(&name, &args, old_spec, if asha { "asha" } else { "fifo" })?;
    let max_steps = resume::fixed(
        &name,
        "--max-steps",
        args.script.max_steps.filter(|_| asha),
        old_settings.as_ref().and_then(|s| s.max_steps),
        0,
    )?;
    let settings = CommandSettings {
        kind: "command".into(),
        command: command.clone(),
        max_steps: (max_steps > 0).then_some(max_steps),
        trial_timeout_secs: timeout.map(|t| t.as_secs_f64()),
    };
    let spec = StudySpec {
        name: name.clone(),
        space,
        objective: objective.clone(),
        searcher: search.searcher,
        scheduler: search.scheduler,
        seed: search.seed,
        settings: serde_json::to_value(&settings)?,
    };
    let study = store.open_or_create(&spec)?;
    // The trial timeout is how this run goes, not what the study is: a new one applies
    // from now on (for every worker), and says so; none given keeps the study's.
    let before = match &old {
        Some(_) => StudyBudget::load(store.as_ref(), &study)?
            .trial_timeout()
            .or_else(|| {
                old_settings
                    .as_ref()
                    .and_then(|s| s.trial_timeout_secs)
                    .map(Duration::from_secs_f64)
            }),
        None => None,
    };
    let trial_timeout = timeout.or(before);
    if old.is_some() && timeout.is_some() && timeout != before {
        eprintln!(
            "study {name}: --trial-timeout {} applies from now on (it was {})",
            humantime::format_duration(timeout.unwrap_or_default()),
            before.map_or_else(
                || "none".to_owned(),
                |b| humantime::format_duration(b).to_string()
            )
        );
    }
    let mut budget_of_study = StudyBudget::new(args.trials, budget, beat_timeout);
    budget_of_study.trial_timeout_ms = trial_timeout.map(|t| t.as_millis() as u64);
    let again = plan::save_budget(
        store.as_ref(),
        &study,
        &location,
        &budget_of_study,
        create_only,
    )?;
    if create_only {
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    eprintln!(
        "study {name} in {}: `{command}`, {} {metric}, {} worker(s)",
        store.location(),
        if objective.mode == Mode::Min {
            "minimizing"
        } else {
            "maximizing"
        },
        args.script.workers
    );
    let limits = Limits {
        max_trials: args.trials,
        budget,
        max_failures_in_a_row: Some(plan::MAX_FAILURES_IN_A_ROW),
    };
    let me = s3tune_hpo::worker::this_process();
    let mark = plan::RunOutcome::mark(store.as_ref(), &study)?;
    let why = work(
        &store,
        &study,
        &me,
        &out,
        args.script.workers,
        &limits,
        beat_timeout,
        &stop,
    )
    .await?;
    print!("{}", crate::report::render(store.as_ref(), &name, &out)?);
    if why == StopReason::Interrupted {
        eprintln!(
            "s3tune: interrupted; the study is saved — resume with the same command and --study {name} --storage {again}"
        );
        return Ok(ExitCode::from(exit::INTERRUPTED));
    }
    let outcome = plan::RunOutcome::of(&store.trials(&study)?, &me, mark);
    if let Some(line) = outcome.none_succeeded() {
        eprintln!("s3tune: {line}");
        return Ok(ExitCode::from(exit::NO_TRIAL_SUCCEEDED));
    }
    if why == StopReason::Failing {
        bail!(
            "{} trials in a row failed, so tuning stopped; the last error: {}",
            plan::MAX_FAILURES_IN_A_ROW,
            outcome.last_error.as_deref().unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs trials of a script study (as stored) from this process, `workers` at once, one
/// line on stderr as each ends, until `limits` or `stop`.
#[allow(clippy::too_many_arguments)]
pub async fn work(
    store: &Arc<dyn Store>,
    study: &Study,
    worker: &str,
    out: &Path,
    workers: usize,
    limits: &Limits,
    heartbeat_timeout: Duration,
    stop: &Stop,
) -> anyhow::Result<StopReason> {
    let settings = CommandSettings::of(study)
        .ok_or_else(|| anyhow!("study `{}` is not a script study", study.spec.name))?;
    let timeout = StudyBudget::load(store.as_ref(), study)?
        .trial_timeout()
        .or_else(|| settings.trial_timeout_secs.map(Duration::from_secs_f64));
    let metric = study.spec.objective.metric.clone();
    // Through sh, so the command is written as in a shell; the trial's arguments follow.
    let backend = Arc::new(SubprocessBackend {
        command: vec![
            "/bin/sh".into(),
            "-c".into(),
            format!("{} \"$@\"", settings.command),
            "s3tune-trial".into(),
        ],
        metric: metric.clone(),
        trials_dir: PathBuf::from(out).join("trials"),
        timeout,
        env: Vec::new(),
    });
    let tuner = Tuner {
        store: Arc::clone(store),
        study: study.clone(),
        searcher: plan::searcher(study, Vec::new(), None)?,
        scheduler: plan::scheduler(study, settings.max_steps)?,
        worker: worker.to_owned(),
        heartbeat: plan::heartbeat_every(heartbeat_timeout),
        heartbeat_timeout: Some(heartbeat_timeout),
    };
    let mut last: std::collections::HashMap<u64, f64> = std::collections::HashMap::new();
    let why = tuner
        .run_parallel(
            workers,
            limits,
            |ctx| {
                let b = Arc::clone(&backend);
                async move { b.run(ctx).await }
            },
            stop.wait(),
            |event| match event {
                Event::Report { trial, value, .. } => {
                    last.insert(*trial, *value);
                }
                Event::Finished {
                    trial,
                    status,
                    error,
                } => {
                    let outcome = match (status, last.get(trial)) {
                        (Status::Completed, Some(v)) => format!("{metric} = {v}"),
                        (Status::Stopped, Some(v)) => format!(
                            "stopped at {metric} = {v} ({})",
                            error.as_deref().unwrap_or_default()
                        ),
                        (Status::Stopped, None) => format!(
                            "stopped before its first report ({})",
                            error.as_deref().unwrap_or_default()
                        ),
                        _ => format!("failed: {}", error.as_deref().unwrap_or_default()),
                    };
                    eprintln!("trial {trial:>3} {outcome}");
                }
                Event::Lost(trials) => {
                    eprintln!("{}", crate::commands::display::lost_line(trials));
                }
                Event::Started(_) => {}
            },
        )
        .await?;
    Ok(why)
}
