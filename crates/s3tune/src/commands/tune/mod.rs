//! `s3tune tune`: the main job. Sets up the target (the embedded emulator, or a bucket),
//! the study in its store, the searcher and scheduler; runs the tuner with a live
//! display; races the best against boto3's defaults; renders the reports.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use s3tune_hpo::{Limits, Mode, Objective, Status, StopReason, Store, Study, StudySpec, Tuner};

pub mod plan;
mod race;
mod resume;
mod runner;
pub mod script;

use race::race;
use runner::{Boto3, Boto3Target, Runner};

use super::client::Timeouts;
use super::display::Display;
use super::s3url::S3Url;
use super::{Stop, storage};
use crate::cli::{ClientName, ConnectArgs, TuneArgs};
use crate::experiment::{Experiment, ProgressSlot, Target, emulated, knobs};
use crate::report::{EmulatedNetwork, Race, Settings, Summary};
use plan::StudyBudget;

/// The default time for trials: with the race and set-up, the main job takes about two
/// minutes.
const DEFAULT_BUDGET: Duration = Duration::from_secs(90);
/// Downloads per trial, unless `--repeats` says otherwise.
const DEFAULT_REPEATS: usize = 3;

/// `--heartbeat-timeout`, or the default.
pub(super) fn heartbeat_timeout(text: Option<&str>) -> anyhow::Result<Duration> {
    let Some(text) = text else {
        return Ok(plan::HEARTBEAT_TIMEOUT);
    };
    let d = super::duration("--heartbeat-timeout", text)?;
    if d < Duration::from_millis(300) {
        bail!("--heartbeat-timeout {text}: at least 300ms, or live workers are taken for lost");
    }
    Ok(d)
}

/// `--budget`; by default 90 s for a run of `tune` with no `--trials`, and none for a
/// study created for workers (they run until its trials are done, or Ctrl-C).
pub(super) fn budget(args: &TuneArgs, create_only: bool) -> anyhow::Result<Option<Duration>> {
    match &args.budget {
        Some(text) => Ok(Some(super::duration("--budget", text)?)),
        None if args.trials.is_some() || create_only => Ok(None),
        None => Ok(Some(DEFAULT_BUDGET)),
    }
}

pub(super) fn study_name(args: &TuneArgs) -> anyhow::Result<String> {
    let name = match &args.study {
        Some(n) => n.clone(),
        None => {
            let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
            // 2026-11-25T10:15:00Z → tune-20261125-101500
            let digits: String = now.chars().filter(char::is_ascii_digit).collect();
            format!("tune-{}-{}", &digits[..8], &digits[8..14])
        }
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        bail!("--study `{name}`: use letters, digits, '-', '_' and '.'");
    }
    Ok(name)
}

/// The AWS settings a boto3 subprocess needs to reach the same bucket as we do.
fn aws_env(s3: &ConnectArgs) -> Vec<(String, String)> {
    let mut env = Vec::new();
    if let Some(r) = &s3.region {
        env.push(("AWS_DEFAULT_REGION".to_owned(), r.clone()));
    }
    if let Some(p) = &s3.profile {
        env.push(("AWS_PROFILE".to_owned(), p.clone()));
    }
    env
}

fn objective() -> Objective {
    Objective {
        metric: "seconds".into(),
        mode: Mode::Min,
    }
}

/// The destination folder: it must exist, be a folder and take a file — found now, not
/// after three failed trials — and what killed runs left in it is swept.
pub(super) fn dest_dir(dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
    if !dir.is_dir() {
        bail!(
            "--dest-dir {}: not an existing folder; create it or choose another",
            dir.display()
        );
    }
    let probe = dir.join(format!(".s3tune-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| {
        anyhow!(
            "--dest-dir {}: cannot write there ({}); choose another",
            dir.display(),
            s3tune_transfer::error::io_reason(&e)
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    for p in s3tune_transfer::sweep(&dir) {
        tracing::info!("removed {}, a copy left by a killed s3tune", p.display());
    }
    Ok(dir)
}

/// Each trial writes one copy of the object at a time into `dir`: there must be room
/// for it.
pub(super) fn check_room(dir: &Path, size: u64) -> anyhow::Result<()> {
    let Ok(fs) = nix::sys::statvfs::statvfs(dir) else {
        return Ok(());
    };
    let free = fs.blocks_available() * fs.fragment_size();
    if free < size {
        bail!(
            "--dest-dir {}: {} free, but each download writes a {} copy there; free some space or choose another",
            dir.display(),
            bytesize::ByteSize(free).display().iec(),
            bytesize::ByteSize(size).display().iec()
        );
    }
    Ok(())
}

/// The settings of the download study `name`, if the store has one; a script study of
/// that name is an error.
fn stored_settings(store: &dyn Store, name: &str) -> anyhow::Result<Option<Settings>> {
    let Some(study) = store.study(name)? else {
        return Ok(None);
    };
    if crate::report::command::CommandSettings::of(&study).is_some() {
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
    let (stored, old_spec) = match &existing {
        Some(store) => (
            stored_settings(store.as_ref(), &name)?,
            store.study(&name)?.map(|s| s.spec),
        ),
        None => (None, None),
    };
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
    let (target, server, emulated, network) = match &target_url {
        Some(url) => {
            if let Some(s) = &stored
                && s.target != url.to_string()
            {
                bail!(
                    "study `{name}` tuned {}, not {url}; use another --study name",
                    s.target
                );
            }
            let client = stop.or_stop(super::client::s3_client(&args.s3)).await??;
            let target = stop
                .or_stop(Target::discover(client, &url.bucket, &url.key, timeouts))
                .await?
                .with_context(|| format!("looking up {url}"))?;
            if let Some(s) = &stored
                && s.object_bytes != target.size
            {
                bail!(
                    "{url} is {} bytes now, but study `{name}` tuned it at {}: the object changed, so the study's results do not carry over; use another --study name",
                    target.size,
                    s.object_bytes
                );
            }
            (target, None, None, None)
        }
        None => {
            let stored_network = stored.as_ref().and_then(|s| s.network.clone());
            if stored.is_some() && stored_network.is_none() {
                bail!(
                    "study `{name}` tuned {}; give it as the target to resume it",
                    stored.as_ref().map_or("", |s| s.target.as_str())
                );
            }
            let network_name = resume::fixed(
                &name,
                "--network",
                args.network.clone(),
                stored_network,
                "s3-scaled".to_owned(),
            )?;
            let size = resume::fixed(
                &name,
                "--object-size",
                args.object_size.map(resume::Size),
                stored.as_ref().map(|s| resume::Size(s.object_bytes)),
                resume::Size(emulated::OBJECT_SIZE),
            )?
            .0;
            let (profile, description) = emulated::network(&network_name)?;
            let link = profile.link_bandwidth.map(|r| r.0);
            // Started to learn the object as a client sees it; `study create` stops it
            // again at once (each worker of the study starts its own).
            let e = stop.or_stop(emulated::start(profile, size)).await??;
            let network = EmulatedNetwork {
                description,
                link_bytes_per_sec: link,
                scale: (network_name == "s3-scaled").then_some(emulated::SCALE),
            };
            (e.target.clone(), Some(e), Some(network), Some(network_name))
        }
    };
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
    let outcome = plan::RunOutcome::of(store.as_ref(), &study, &me, mark)?;

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

/// Who downloads in a trial of `study`, as its settings say: s3tune's engine, or boto3.
#[allow(clippy::too_many_arguments)]
pub(super) fn make_runner(
    store: &dyn Store,
    study: &Study,
    settings: &Settings,
    target: &Target,
    server: Option<&emulated::Emulated>,
    s3: &ConnectArgs,
    python: &str,
    dest: &Path,
    out: &Path,
    slot: &ProgressSlot,
) -> anyhow::Result<Runner> {
    // The best full trial so far (of earlier runs too): runs slower than a few times it
    // are cut off.
    let best_so_far = store
        .trials(study)?
        .iter()
        .filter(|t| t.trial.status == Status::Completed)
        .filter_map(|t| t.trial.value())
        .fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.min(v))));
    Ok(match settings.client.as_str() {
        "boto3" => {
            let (endpoint, env) = match server {
                Some(s) => (Some(s.endpoint()), s.client_env()),
                None => (s3.endpoint_url.clone(), aws_env(s3)),
            };
            Runner::Boto3(Boto3::new(
                python,
                &study.spec.space,
                Boto3Target {
                    endpoint,
                    bucket: &target.bucket,
                    key: &target.key,
                    env,
                },
                settings.repeats,
                dest,
                out,
            )?)
        }
        _ => Runner::Engine(Experiment {
            target: Arc::new(target.clone()),
            repeats: settings.repeats,
            dest_dir: dest.to_path_buf(),
            slot: slot.clone(),
            best: Arc::new(std::sync::Mutex::new(best_so_far)),
        }),
    })
}

/// Runs trials of a download study from this process until `limits` or `stop`, with the
/// live display; `tune` and `worker` share it.
#[allow(clippy::too_many_arguments)]
pub(super) async fn download_trials(
    store: &Arc<dyn Store>,
    study: &Study,
    worker: &str,
    runner: &Arc<Runner>,
    slot: &ProgressSlot,
    limits: &Limits,
    heartbeat_timeout: Duration,
    stop: &Stop,
    display: &Display,
) -> anyhow::Result<StopReason> {
    let settings: Settings = serde_json::from_value(study.spec.settings.clone())
        .with_context(|| format!("study `{}` is not a download study", study.spec.name))?;
    let tuner = Tuner {
        store: Arc::clone(store),
        study: study.clone(),
        // Downloads are expensive and the default space has 4 dimensions: the model takes
        // over after the baseline and 4 random points (the library's default of 10 suits
        // cheap benchmark functions).
        searcher: plan::searcher(
            study,
            settings.baseline.clone().into_iter().collect(),
            Some(5),
        )?,
        scheduler: plan::scheduler(study, Some(settings.repeats))?,
        worker: worker.to_owned(),
        heartbeat: plan::heartbeat_every(heartbeat_timeout),
        heartbeat_timeout: Some(heartbeat_timeout),
    };
    let live = display.start(
        settings.baseline.clone(),
        settings.object_bytes,
        slot.clone(),
    );
    let why = tuner
        .run(
            limits,
            |ctx| {
                let runner = Arc::clone(runner);
                async move { runner.trial(ctx).await }
            },
            stop.wait(),
            |event| live.event(event),
        )
        .await?;
    live.finish();
    Ok(why)
}
