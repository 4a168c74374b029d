//! `s3tune tune --command …`: tuning any script that speaks Syne Tune's entry-point
//! protocol, with the same searchers, store, resume and reports as a download.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use s3tune_hpo::backend::SubprocessBackend;
use s3tune_hpo::{
    Asha, BoSearcher, Event, Fifo, GridSearcher, Limits, Mode, Objective, RandomSearcher,
    Scheduler, Searcher, Space, Status, StopReason, StudySpec, Tuner,
};

use super::race::Stop;
use super::{budget, study_name};
use crate::cli::{ModeName, SchedulerName, SearcherName, TuneArgs};
use crate::commands::storage;
use crate::report::command::CommandSettings;

/// The space file (`s3tune-hpo` syntax, TOML or JSON).
fn space(path: Option<&Path>) -> anyhow::Result<Space> {
    let path = path.ok_or_else(|| anyhow!("--command needs --space FILE (TOML or JSON)"))?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--space {}", path.display()))?;
    let parsed = if path.extension().is_some_and(|e| e == "json") {
        Space::from_json(&text)
    } else {
        Space::from_toml(&text)
    };
    parsed.with_context(|| format!("--space {}", path.display()))
}

fn searcher(name: SearcherName, objective: &Objective, seed: u64) -> Arc<dyn Searcher> {
    match name {
        SearcherName::Bo => Arc::new(BoSearcher::new(objective.clone())),
        SearcherName::Random => Arc::new(RandomSearcher::default()),
        SearcherName::Grid => Arc::new(GridSearcher {
            resolution: 5,
            seed,
            points_to_evaluate: Vec::new(),
        }),
    }
}

fn scheduler(args: &TuneArgs) -> anyhow::Result<Arc<dyn Scheduler>> {
    Ok(match (args.scheduler, args.script.max_steps) {
        (Some(SchedulerName::Asha), Some(max)) => {
            Arc::new(Asha::new(1, max, 3.0).map_err(|e| anyhow!("--max-steps {max}: {e}"))?)
        }
        (Some(SchedulerName::Asha), None) => {
            bail!("--scheduler asha needs --max-steps N: the most reports a trial makes")
        }
        _ => Arc::new(Fifo),
    })
}

pub async fn run(args: TuneArgs, stop: Stop) -> anyhow::Result<ExitCode> {
    let command = args.script.command.clone().unwrap_or_default();
    if command.trim().is_empty() {
        bail!("--command is empty: give the command that runs one trial");
    }
    if args.target.is_some() || !args.params.is_empty() || args.no_baseline {
        bail!("--command tunes a script: an s3:// target, --param and --no-baseline do not apply");
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
        .map(|t| {
            humantime::parse_duration(t)
                .map_err(|e| anyhow!("--trial-timeout `{t}`: {e} (write e.g. 30s, 10m)"))
        })
        .transpose()?;
    let budget = budget(&args)?;
    let space = space(args.space.as_deref())?;
    let scheduler = scheduler(&args)?;
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
    storage::path(args.storage.as_deref(), &out)?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let store = storage::open(args.storage.as_deref(), &out)?;
    let settings = CommandSettings {
        kind: "command".into(),
        command: command.clone(),
    };
    let spec = StudySpec {
        name: name.clone(),
        space,
        objective: objective.clone(),
        searcher: format!("{:?}", args.searcher).to_lowercase(),
        scheduler: if args.script.max_steps.is_some() {
            "asha"
        } else {
            "fifo"
        }
        .into(),
        seed: args.seed,
        settings: serde_json::to_value(&settings)?,
    };
    let study = store.open_or_create(&spec)?;
    let stored: Option<CommandSettings> = serde_json::from_value(study.spec.settings.clone()).ok();
    if stored.as_ref().map(|s| s.command.as_str()) != Some(command.as_str()) {
        bail!(
            "study `{name}` was made for another command or a download; use another --study name"
        );
    }
    store.fail_stale(&study, Duration::ZERO, "the tuner stopped while it ran")?;

    // Through sh, so the command is written as in a shell; the trial's arguments follow.
    let backend = Arc::new(SubprocessBackend {
        command: vec![
            "/bin/sh".into(),
            "-c".into(),
            format!("{command} \"$@\""),
            "s3tune-trial".into(),
        ],
        metric: metric.clone(),
        trials_dir: out.join("trials"),
        timeout,
        env: Vec::new(),
    });
    let tuner = Tuner {
        store: Arc::clone(&store),
        study: study.clone(),
        searcher: searcher(args.searcher, &objective, args.seed),
        scheduler,
        worker: format!("s3tune-{}", std::process::id()),
        heartbeat: Duration::from_secs(5),
        heartbeat_timeout: Some(Duration::from_secs(30)),
    };
    let limits = Limits {
        max_trials: args.trials,
        budget,
        max_failures_in_a_row: None,
    };
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
    let mut last: std::collections::HashMap<u64, f64> = std::collections::HashMap::new();
    let why = tuner
        .run_parallel(
            args.script.workers,
            &limits,
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
                        _ => format!("failed: {}", error.as_deref().unwrap_or_default()),
                    };
                    eprintln!("trial {trial:>3} {outcome}");
                }
                Event::Lost(trials) => eprintln!("{}", crate::commands::display::lost_line(trials)),
                Event::Started(_) => {}
            },
        )
        .await?;
    print!("{}", crate::report::render(store.as_ref(), &name, &out)?);
    if why == StopReason::Interrupted {
        eprintln!(
            "s3tune: interrupted; the study is saved — resume with the same command and --study {name} --storage sqlite:{}",
            store.location()
        );
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}
