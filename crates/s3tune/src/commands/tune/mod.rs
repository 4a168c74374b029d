//! `s3tune tune`: the main job. Sets up the target (the embedded emulator, or a bucket),
//! the study in its store, the searcher and scheduler; runs the tuner with a live
//! display; races the best against boto3's defaults; renders the reports.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use s3tune_hpo::{Limits, Mode, Objective, Status, StopReason, Study, StudySpec};

mod inputs;
pub mod plan;
mod race;
mod resume;
mod runner;
pub mod script;
mod target;
mod trials;

pub(crate) use inputs::{budget, check_room, dest_dir, heartbeat_timeout, study_name};
pub(crate) use trials::{download_trials, make_runner};

use race::race;

use super::client::Timeouts;
use super::display::Display;
use super::s3url::S3Url;
use super::{Stop, storage};
use crate::cli::{ClientName, TuneArgs};
use crate::experiment::{ProgressSlot, emulated, knobs};
use crate::report::{Race, Settings, Summary};
use plan::StudyBudget;

/// Downloads per trial, unless `--repeats` says otherwise.
const DEFAULT_REPEATS: usize = 3;

fn objective() -> Objective {
    Objective {
        metric: "seconds".into(),
        mode: Mode::Min,
    }
}

/// The settings of `study`, a download study, if there is one; a script study is an
/// error.
fn stored_settings(study: Option<&Study>) -> anyhow::Result<Option<Settings>> {
    let Some(study) = study else {
        return Ok(None);
    };
    let name = &study.spec.name;
    if crate::report::command::CommandSettings::of(study).is_some() {
        bail!(
            "study `{name}` tunes a script (--command), not a download; use another --study name"
        );
    }
    let settings = serde_json::from_value(study.spec.settings.clone())
        .with_context(|| format!("study `{name}` is not a download study this s3tune can read"))?;
    Ok(Some(settings))
}

/// `tune`, or `study create` when `create_only` (the study and its budget are written,
/// no trial is run).
pub async fn run(args: TuneArgs, create_only: bool, stop: Stop) -> anyhow::Result<ExitCode> {
    if args.script.command.is_some() {
        return script::run(args, stop, create_only).await;
    }
    for (set, flag) in [
        (args.script.metric.is_some(), "--metric"),
        (args.script.workers != 1, "--workers"),
        (args.script.trial_timeout.is_some(), "--trial-timeout"),
        (args.script.max_steps.is_some(), "--max-steps"),
    ] {
        if set {
            bail!("{flag} goes with --command (tuning a script)");
        }
    }
    // Everything that can be checked without the network, first.
    if args.repeats == Some(0) {
        bail!("--repeats must be at least 1");
    }
    if args.trials == Some(0) {
        bail!("--trials must be at least 1");
    }
    if args.object_size == Some(0) {
        bail!("--object-size must be more than 0 bytes");
    }
    let budget = budget(&args, create_only)?;
    let beat_timeout = heartbeat_timeout(args.heartbeat_timeout.as_deref())?;
    let timeouts = Timeouts::from_args(&args.s3)?;
    let space = knobs::build_space(args.space.as_deref(), &args.params)?;
    let name = study_name(&args)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("s3tune-results").join(&name));
    let dest = dest_dir(args.dest_dir.as_deref())?;
    let location = storage::parse(args.storage.as_deref(), &out)?;
    if args.target.is_some() && (args.network.is_some() || args.object_size.is_some()) {
        bail!(
            "--network and --object-size shape the embedded emulator; they do not apply to an s3:// target"
        );
    }
    let target_url = args
        .target
        .as_deref()
        .map(S3Url::parse_object)
        .transpose()?;
    if target_url.is_none() && args.s3.endpoint_url.is_some() {
        bail!("--endpoint-url needs an s3://BUCKET/KEY to tune");
    }

    // A resumed study keeps what defines it (see `resume`). A store that is not there
    // yet is made only once the target is found: bad input leaves no empty one behind.
    let existing = storage::open_existing(&location)?;
    let old = match &existing {
        Some(store) => store.study(&name)?,
        None => None,
    };
    let stored = stored_settings(old.as_ref())?;
    let old_spec = old.map(|s| s.spec);
    let client = resume::fixed(
        &name,
        "--client",
        args.client,
        stored.as_ref().map(|s| client_of(&s.client)),
        ClientName::S3tune,
    )?;
    if client == ClientName::Boto3 {
        runner::probe(&args.python)?;
    }
    let repeats = resume::fixed(
        &name,
        "--repeats",
        args.repeats,
        stored.as_ref().map(|s| s.repeats),
        DEFAULT_REPEATS,
    )?;
    let no_baseline = match &stored {
        Some(s) if args.no_baseline && s.baseline.is_some() => bail!(
            "study `{name}` starts from boto3's defaults, and a study keeps what defines it: drop --no-baseline to resume it, or give another --study name"
        ),
        Some(s) => s.baseline.is_none(),
        None => args.no_baseline,
    };
    let baseline = if no_baseline {
        None
    } else {
        Some(knobs::baseline(&space)?)
    };
    let search = resume::search(&name, &args, old_spec.as_ref(), "asha")?;

    // The target: a bucket, or the embedded emulator.
    let found = target::find(
        &args,
        target_url.as_ref(),
        &name,
        stored.as_ref(),
        timeouts,
        &stop,
    )
    .await?;
    let (target, server, emulated, network) =
        (found.target, found.server, found.emulated, found.network);
    if !create_only {
        check_room(&dest, target.size)?;
    }

    let settings = Settings {
        target: target.url(),
        object_bytes: target.size,
        repeats,
        client: client_key(client).into(),
        baseline: baseline.clone(),
        emulated: emulated.clone(),
        network,
    };
    let spec = StudySpec {
        name: name.clone(),
        space,
        objective: objective(),
        searcher: search.searcher,
        scheduler: search.scheduler,
        seed: search.seed,
        settings: serde_json::to_value(&settings)?,
    };
    let store = match existing {
        Some(store) => store,
        None => storage::open_at(&location)?,
    };
    let study = store.open_or_create(&spec)?;
    let stored: Settings = serde_json::from_value(study.spec.settings.clone())
        .with_context(|| format!("study `{name}` is not a download study"))?;
    let budget_of_study = StudyBudget::new(args.trials, budget, beat_timeout);
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

    let display = Display::new();
    if let Some(e) = &emulated {
        display.line(&format!(
            "s3tune: no target given, so tuning a {} synthetic object on the embedded emulator — {}",
            bytesize::ByteSize(target.size).display().iec(),
            e.description
        ));
        let Ok(ceiling) = stop
            .or_stop(emulated::machine_ceiling(&dest, target.size))
            .await
        else {
            eprintln!("s3tune: interrupted before the first trial");
            return Ok(ExitCode::from(super::exit::INTERRUPTED));
        };
        let ceiling = ceiling?;
        store.put_note(
            &study,
            "machine",
            &serde_json::json!({ "ceiling_bytes_per_sec": ceiling }),
        )?;
        match e.link_bytes_per_sec {
            Some(link) => {
                display.line(&format!(
                    "emulated link {:.0} MB/s; this machine moves {:.0} MB/s into {} with no emulated network",
                    link / 1e6,
                    ceiling / 1e6,
                    dest.display()
                ));
                if ceiling < 2.0 * link {
                    tracing::warn!(
                        "the machine's ceiling is less than twice the emulated link: results will measure the machine too"
                    );
                }
            }
            None => display.line(&format!(
                "no link limit: this machine's ceiling, {:.0} MB/s into {}, is the limit",
                ceiling / 1e6,
                dest.display()
            )),
        }
    }
    display.line(&format!(
        "study {name} in {}; {} per trial; budget {}",
        store.location(),
        if stored.repeats == 1 {
            "1 download".to_owned()
        } else {
            format!("{} downloads", stored.repeats)
        },
        match (budget, args.trials) {
            (Some(b), Some(t)) =>
                format!("{} or {}", humantime::format_duration(b), plan::trials(t)),
            (Some(b), None) => humantime::format_duration(b).to_string(),
            (None, Some(t)) => plan::trials(t),
            (None, None) => "none".into(),
        }
    ));

    let slot = ProgressSlot::default();
    let runner = Arc::new(make_runner(
        store.as_ref(),
        &study,
        &stored,
        &target,
        server.as_ref(),
        &args.s3,
        &args.python,
        &dest,
        &out,
        &slot,
    )?);
    let limits = Limits {
        max_trials: args.trials,
        budget,
        max_failures_in_a_row: Some(plan::MAX_FAILURES_IN_A_ROW),
    };
    let me = s3tune_hpo::worker::this_process();
    let mark = plan::RunOutcome::mark(store.as_ref(), &study)?;
    let why = download_trials(
        &store,
        &study,
        &me,
        &runner,
        &slot,
        &limits,
        beat_timeout,
        &stop,
        &display,
    )
    .await?;
    let outcome = plan::RunOutcome::of(&store.trials(&study)?, &me, mark);

    let mut code = ExitCode::SUCCESS;
    match why {
        StopReason::Interrupted => code = ExitCode::from(super::exit::INTERRUPTED),
        StopReason::Failing if outcome.none_succeeded().is_none() => {
            display.clear();
            let summary = Summary::load(store.as_ref(), &name)?;
            summary.write(&out)?;
            bail!(
                "{} trials in a row failed, so tuning stopped; the last error: {}",
                plan::MAX_FAILURES_IN_A_ROW,
                outcome.last_error.as_deref().unwrap_or_default()
            );
        }
        StopReason::Exhausted => display.line("every configuration of the space has been tried"),
        StopReason::Failing | StopReason::Trials | StopReason::Budget => {}
    }
    if let Some(line) = outcome
        .none_succeeded()
        .filter(|_| why != StopReason::Interrupted)
    {
        display.clear();
        drop(server);
        let summary = Summary::load(store.as_ref(), &name)?;
        summary.write(&out)?;
        eprintln!("s3tune: {line}");
        return Ok(ExitCode::from(super::exit::NO_TRIAL_SUCCEEDED));
    }

    if code == ExitCode::SUCCESS && args.confirm > 0 {
        let summary = Summary::load(store.as_ref(), &name)?;
        if let (Some(b), Some(x)) = (summary.baseline, summary.best)
            && b != x
        {
            let base_cfg = &summary.rows[b].record.trial.config;
            let best = &summary.rows[x].record.trial;
            match race(
                &runner,
                base_cfg,
                &best.config,
                args.confirm,
                &stop,
                &display,
            )
            .await
            {
                Ok(Some((baseline, best_runs))) => {
                    let race = Race {
                        best_trial: best.id,
                        baseline,
                        best: best_runs,
                    };
                    store.put_note(&study, "race", &serde_json::to_value(&race)?)?;
                }
                Ok(None) => code = ExitCode::from(super::exit::INTERRUPTED),
                Err(e) => tracing::warn!("the confirmation race failed: {e}"),
            }
        }
    }
    display.clear();
    drop(server);
    let summary = Summary::load(store.as_ref(), &name)?;
    let table = summary.write(&out)?;
    print!("{table}");
    if summary.baseline.is_none() && baseline.is_some() {
        let reason = store
            .trials(&study)?
            .iter()
            .find(|t| {
                Some(&t.trial.config) == baseline.as_ref() && t.trial.status == Status::Failed
            })
            .and_then(|t| t.error.clone());
        if let Some(reason) = reason {
            bail!("the baseline (boto3's defaults) failed: {reason}");
        }
    }
    if code != ExitCode::SUCCESS {
        eprintln!(
            "s3tune: interrupted; the study is saved — resume with: s3tune tune{} --study {name} --storage {again}",
            args.target
                .as_deref()
                .map_or(String::new(), |t| format!(" {t}")),
        );
    }
    Ok(code)
}

/// How a client is named in a study's settings.
fn client_key(c: ClientName) -> &'static str {
    match c {
        ClientName::S3tune => "s3tune",
        ClientName::Boto3 => "boto3",
    }
}

/// The client a study's settings name.
fn client_of(key: &str) -> ClientName {
    match key {
        "boto3" => ClientName::Boto3,
        _ => ClientName::S3tune,
    }
}
