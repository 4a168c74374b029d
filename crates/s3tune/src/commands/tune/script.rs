//! `s3tune tune --command …`: tuning any script that speaks Syne Tune's entry-point
//! protocol, with the same searchers, store, resume and reports as a transfer. Its
//! backend and its one line per trial are shared with `s3tune worker`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail};
use s3tune_hpo::backend::SubprocessBackend;
use s3tune_hpo::{
    Asha, Budget, Event, Mode, Objective, SchedulerSpec, SearcherSpec, Space, Status, StopReason,
    StudySpec,
};

use super::inputs::{budget, heartbeat_timeout, study_name};
use super::resume;
use crate::cli::{ModeName, SchedulerName, SearcherName, TuneArgs};
use crate::commands::{Stop, exit, files, storage};
use crate::study::run::{self, Plan};
use crate::study::session::{Found, Session};
use crate::study::{CommandSettings, StudyKind};

/// The space from `--space FILE` (`s3tune-hpo` syntax, TOML or JSON), each `--param`
/// replacing or adding its parameter.
fn space(path: Option<&Path>, params: &[String]) -> anyhow::Result<Space> {
    if path.is_none() && params.is_empty() {
        bail!(
            "--command needs a space: --param NAME=LOW..HIGH (repeatable), --space FILE (TOML or JSON), or both"
        );
    }
    let mut all: std::collections::BTreeMap<String, s3tune_hpo::Domain> = match path {
        Some(p) => files::space(p)?
            .0
            .params()
            .map(|(k, d)| (k.to_owned(), d.clone()))
            .collect(),
        None => Default::default(),
    };
    for p in params {
        let (k, d) = s3tune_hpo::space::parse_param(p).map_err(|e| anyhow!("--param {e}"))?;
        all.insert(k, d);
    }
    Space::new(all).map_err(|e| anyhow!("search space: {e}"))
}

/// The flags that shape a transfer, refused here; the script's own, checked.
fn check_flags(args: &TuneArgs) -> anyhow::Result<String> {
    let command = args.script.command.clone().unwrap_or_default();
    if command.trim().is_empty() {
        bail!("--command is empty: give the command that runs one trial");
    }
    if args.target.is_some() || args.no_baseline || args.upload.is_some() {
        bail!("--command tunes a script: an s3:// target, --upload and --no-baseline do not apply");
    }
    for (set, flag) in [
        (args.repeats.is_some(), "--repeats"),
        (args.network.is_some(), "--network"),
        (args.object_size.is_some(), "--object-size"),
        (args.client.is_some(), "--client"),
    ] {
        if set {
            bail!("{flag} shapes a transfer; it does not apply to --command");
        }
    }
    if args.script.workers == 0 {
        bail!("--workers must be at least 1");
    }
    if args.trials == Some(0) {
        bail!("--trials must be at least 1");
    }
    Ok(command)
}

/// The objective `--metric` and `--mode` name.
fn objective(args: &TuneArgs) -> anyhow::Result<Objective> {
    if args.limits.any() || args.limits.objective.is_some() {
        bail!(
            "--objective, --max-memory, --max-cpu, --max-requests and --max-cost are about a transfer's measured costs; a --command script's study has only the metric it reports"
        );
    }
    let metric = args
        .script
        .metric
        .clone()
        .ok_or_else(|| anyhow!("--command needs --metric NAME (what the script reports)"))?;
    if metric.starts_with("st_") {
        bail!("--metric {metric}: names starting st_ are Syne Tune's own");
    }
    Ok(Objective::new(
        metric,
        match args.script.mode {
            ModeName::Min => Mode::Min,
            ModeName::Max => Mode::Max,
        },
    ))
}

/// The searcher and scheduler of a new script study.
fn specs(
    searcher: SearcherName,
    scheduler: SchedulerName,
    max_steps: Option<usize>,
) -> anyhow::Result<(SearcherSpec, SchedulerSpec)> {
    let searcher = match searcher {
        SearcherName::Bo => SearcherSpec::Bo {
            prior: Vec::new(),
            initial_points: 10,
            points_to_evaluate: Vec::new(),
        },
        SearcherName::Random => SearcherSpec::Random {
            points_to_evaluate: Vec::new(),
        },
        SearcherName::Grid => SearcherSpec::Grid {
            resolution: 5,
            points_to_evaluate: Vec::new(),
        },
    };
    let scheduler = match (scheduler, max_steps) {
        (SchedulerName::Asha, Some(max)) => {
            Asha::new(1, max, 3.0).map_err(|e| anyhow!("--max-steps {max}: {e}"))?;
            SchedulerSpec::Asha {
                min_resource: 1,
                max_resource: max,
                eta: 3.0,
                cut_off: None,
            }
        }
        (SchedulerName::Asha, None) => {
            bail!("--scheduler asha needs --max-steps N: the most reports a trial makes")
        }
        (SchedulerName::Fifo, _) => SchedulerSpec::Fifo { cut_off: None },
    };
    Ok((searcher, scheduler))
}

/// The definition of script study `name`, checked against the stored one.
fn define(args: &TuneArgs, name: &str, found: &Found, command: &str) -> anyhow::Result<StudySpec> {
    match found.kind() {
        Some(StudyKind::Command(o)) if o.command != command => bail!(
            "study `{name}` was made for the command `{}`; use another --study name for `{command}`",
            o.command
        ),
        Some(k @ StudyKind::Transfer(_)) => bail!(
            "study `{name}` tunes {}, not a script; use another --study name",
            k.describe()
        ),
        _ => {}
    }
    let stored_steps = found.spec().and_then(|s| match s.scheduler {
        SchedulerSpec::Asha { max_resource, .. } => Some(max_resource),
        SchedulerSpec::Fifo { .. } => None,
    });
    if let (Some(given), Some(stored)) = (args.script.max_steps, stored_steps) {
        resume::fixed(name, "--max-steps", Some(given), Some(stored), 0)?;
    }
    let search = resume::search(name, args, found.spec(), SchedulerName::Fifo, |s, sch| {
        specs(s, sch, args.script.max_steps)
    })?;
    Ok(StudySpec {
        name: name.to_owned(),
        space: space(args.space.as_deref(), &args.params)?,
        objective: objective(args)?,
        searcher: search.searcher,
        scheduler: search.scheduler,
        seed: search.seed,
        settings: StudyKind::Command(CommandSettings {
            command: command.to_owned(),
        })
        .to_json(),
    })
}

/// The trial timeout from now on: the flag's (`given`), else the study's; a change says
/// so.
fn trial_timeout(
    given: Option<Duration>,
    session: &Session,
    fresh: bool,
) -> anyhow::Result<Option<Duration>> {
    let before = if fresh {
        None
    } else {
        session.budget()?.trial_timeout()
    };
    if !fresh && given.is_some() && given != before {
        eprintln!(
            "study {}: --trial-timeout {} applies from now on (it was {})",
            session.name(),
            humantime::format_duration(given.unwrap_or_default()),
            before.map_or_else(
                || "none".to_owned(),
                |b| humantime::format_duration(b).to_string()
            )
        );
    }
    Ok(given.or(before))
}

/// `tune --command`, or `study create --command` when `create_only`.
pub async fn run(args: TuneArgs, stop: Stop, create_only: bool) -> anyhow::Result<ExitCode> {
    let command = check_flags(&args)?;
    let given_timeout = args
        .script
        .trial_timeout
        .as_deref()
        .map(|t| crate::commands::duration("--trial-timeout", t))
        .transpose()?;
    let time = budget(&args, create_only)?;
    let beat = heartbeat_timeout(args.heartbeat_timeout.as_deref())?;
    let name = study_name(&args)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("s3tune-results").join(&name));
    let location = storage::parse(args.storage.as_deref(), &out)?;
    let found = Found::look(&location, &name)?;
    let fresh = found.study.is_none();
    let spec = define(&args, &name, &found, &command)?;
    let session = found.open(location, &spec)?;
    let mut budget_of_study = Budget::new(args.trials, time, beat);
    budget_of_study.trial_timeout_ms =
        trial_timeout(given_timeout, &session, fresh)?.map(|t| t.as_millis() as u64);
    session.save_budget(&budget_of_study, create_only)?;
    if create_only {
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::create_dir_all(&out).map_err(|e| anyhow!("creating {}: {e}", out.display()))?;
    let dashboard = crate::dashboard::for_study(args.dashboard.as_deref(), &session).await?;
    if let Some(d) = &dashboard {
        eprintln!("dashboard: {}", d.study_url(session.name()));
    }
    let objective = &session.study.spec.objective;
    eprintln!(
        "study {name} in {}: `{command}`, {} {}, {} worker(s)",
        session.store.location(),
        if objective.mode == Mode::Min {
            "minimizing"
        } else {
            "maximizing"
        },
        objective.metric,
        args.script.workers
    );
    let plan = Plan {
        worker: s3tune_hpo::worker::this_process(),
        parallel: args.script.workers,
        limits: session.budget()?.limits(time),
        heartbeat_timeout: None,
    };
    let backend = backend(&session, &out)?;
    let ran = run::run(&session, &plan, backend, &stop, printer(&objective.metric)).await?;
    print!(
        "{}",
        crate::report::render(session.store.as_ref(), &name, &out, None)?
    );
    if ran.why == StopReason::Interrupted {
        eprintln!(
            "s3tune: interrupted; the study is saved — resume with the same command and --study {name} --storage {}",
            session.again()
        );
        return Ok(ExitCode::from(exit::INTERRUPTED));
    }
    if let Some(line) = ran.outcome.none_succeeded() {
        eprintln!("s3tune: {line}");
        return Ok(ExitCode::from(exit::NO_TRIAL_SUCCEEDED));
    }
    if ran.why == StopReason::Failing {
        bail!("{}", ran.outcome.failing_line());
    }
    Ok(ExitCode::SUCCESS)
}

/// The backend of a script study, as stored: its command through sh (so it is written
/// as in a shell; the trial's arguments follow), its trial timeout, folders in `out`.
pub fn backend(session: &Session, out: &Path) -> anyhow::Result<SubprocessBackend> {
    let StudyKind::Command(settings) = &session.kind else {
        bail!("study `{}` is not a script study", session.name());
    };
    Ok(SubprocessBackend {
        command: vec![
            "/bin/sh".into(),
            "-c".into(),
            format!("{} \"$@\"", settings.command),
            "s3tune-trial".into(),
        ],
        metric: session.study.spec.objective.metric.clone(),
        trials_dir: PathBuf::from(out).join("trials"),
        timeout: session.budget()?.trial_timeout(),
        env: Vec::new(),
        cut_runs: false,
    })
}

/// One line on stderr as each script trial ends.
pub fn printer(metric: &str) -> impl FnMut(&Event) + use<> {
    let metric = metric.to_owned();
    let mut last: std::collections::HashMap<u64, f64> = std::collections::HashMap::new();
    move |event| match event {
        Event::Report { trial, value, .. } => {
            last.insert(*trial, *value);
        }
        Event::Finished {
            trial,
            status,
            error,
        } => {
            let why = error.as_deref().unwrap_or_default();
            let outcome = match (status, last.get(trial)) {
                (Status::Completed, Some(v)) => format!("{metric} = {v}"),
                (Status::Stopped, Some(v)) => format!("stopped at {metric} = {v} ({why})"),
                (Status::Stopped, None) => format!("stopped before its first report ({why})"),
                _ => format!("failed: {why}"),
            };
            eprintln!("trial {trial:>3} {outcome}");
        }
        Event::Lost(trials) => eprintln!("{}", crate::commands::display::lost_line(trials)),
        Event::Started(_) => {}
    }
}
