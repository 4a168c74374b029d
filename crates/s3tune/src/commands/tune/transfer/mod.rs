//! `s3tune tune` of a transfer — one object down, or one file up — on the embedded
//! emulator or a bucket, by s3tune's engine or boto3: glue from the flags to
//! [`study::run`](crate::study::run), then the race and the reports ([`finish`]).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use s3tune_hpo::Budget;

pub(crate) mod define;
mod finish;
pub(crate) mod many;
mod place;
mod warm;

use super::inputs::{budget, check_room, dest_dir, heartbeat_timeout, study_name};
use crate::cli::TuneArgs;
use crate::commands::client::Timeouts;
use crate::commands::display::Display;
use crate::commands::{Stop, exit, storage};
use crate::experiment::Runner;
use crate::experiment::{Job, ProgressSlot, emulated};
use crate::study::rules::{self, Climbed};
use crate::study::run::{self, Plan, Ran};
use crate::study::session::{Found, Session};
use crate::study::target::{self, Opened, Request, RunnerArgs};
use crate::study::{StudyKind, TransferSettings, Workload};

/// Flags that belong to scripts, refused here.
pub(crate) fn check_flags(args: &TuneArgs) -> anyhow::Result<()> {
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
    if args.repeats == Some(0) {
        bail!("--repeats must be at least 1");
    }
    if args.trials == Some(0) {
        bail!("--trials must be at least 1");
    }
    if args.object_size == Some(0) {
        bail!("--object-size must be more than 0 bytes");
    }
    if args.target.is_none() && args.s3.endpoint_url.is_some() {
        bail!("--endpoint-url needs an s3://BUCKET/KEY to tune");
    }
    Ok(())
}

/// `tune` of a transfer, or `study create` of one when `create_only`.
pub async fn run(args: TuneArgs, create_only: bool, stop: Stop) -> anyhow::Result<ExitCode> {
    // Everything that can be checked without the network, first.
    check_flags(&args)?;
    let time = budget(&args, create_only)?;
    let beat = heartbeat_timeout(args.heartbeat_timeout.as_deref())?;
    Timeouts::from_args(&args.s3)?;
    let name = study_name(&args)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("s3tune-results").join(&name));
    let dest = dest_dir(args.dest_dir.as_deref())?;
    let location = storage::parse(args.storage.as_deref(), &out)?;
    // A store that is not there yet is made only once the target is found: bad input
    // leaves no empty one behind.
    let found = Found::look(&location, &name)?;
    let defined = define::define(&args, &name, &found, &location)?;
    let opened = open_target(&args, &defined, &name, &dest, create_only, &stop).await?;
    defined.check_opened(&name, &opened, found.kind())?;
    let display = Display::new();
    let slot = ProgressSlot::default();
    let runner_args = RunnerArgs {
        python: &args.python,
        s3: &args.s3,
        dest: &dest,
        out: &out,
    };
    let making = Making {
        name: &name,
        opened: &opened,
        runner_args: &runner_args,
        slot: &slot,
        display: &display,
        create_only,
        budget: Budget::new(args.trials, time, beat),
    };
    let Some(session) = making.make(defined, found, location, &stop).await? else {
        eprintln!("s3tune: interrupted before the first trial");
        return Ok(ExitCode::from(exit::INTERRUPTED));
    };
    if create_only {
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let StudyKind::Transfer(settings) = session.kind.clone() else {
        unreachable!("a transfer study was opened");
    };
    if !announce(&display, &session, &settings, &opened, &dest, &stop).await? {
        eprintln!("s3tune: interrupted before the first trial");
        return Ok(ExitCode::from(exit::INTERRUPTED));
    }
    let dashboard = crate::dashboard::for_study(args.dashboard.as_deref(), &session).await?;
    if let Some(d) = &dashboard {
        display.line(&format!("dashboard: {}", d.study_url(session.name())));
    }
    let runner = opened.runner(&settings, &runner_args, &slot)?;
    opened.sweep(&session).await?;
    let limits = session.budget()?.limits(time);
    let ran = run_trials(&session, &settings, &runner, limits, &display, &slot, &stop).await?;
    let end = finish::End {
        args: &args,
        session: &session,
        opened,
        runner,
        display,
        out: &out,
    };
    end.finish(ran, &stop).await
}

/// Runs the study's trials from this process, one at a time, until `limits` or Ctrl-C,
/// with the live display.
pub(crate) async fn run_trials(
    session: &Session,
    settings: &TransferSettings,
    runner: &Runner,
    limits: s3tune_hpo::Limits,
    display: &Display,
    slot: &ProgressSlot,
    stop: &Stop,
) -> anyhow::Result<Ran> {
    let plan = Plan {
        worker: s3tune_hpo::worker::this_process(),
        parallel: 1,
        limits,
        heartbeat_timeout: None,
    };
    let live = display.start(
        session.study.spec.objective.clone(),
        settings.baseline.clone(),
        settings.baseline_name(),
        settings.object_bytes,
        slot.clone(),
    );
    let ran = run::run(session, &plan, runner.clone(), stop, |e| live.event(e)).await;
    live.finish();
    ran
}

/// What making (or resuming) a transfer study on an open target needs.
pub(crate) struct Making<'a> {
    /// The study's name.
    pub name: &'a str,
    /// The target.
    pub opened: &'a Opened,
    /// How its runner is built.
    pub runner_args: &'a RunnerArgs<'a>,
    /// The transfer under way, for the display.
    pub slot: &'a ProgressSlot,
    /// Where lines go.
    pub display: &'a Display,
    /// Only create it (`study create`): the rules needing measurement are left out.
    pub create_only: bool,
    /// Its budget, saved with it.
    pub budget: Budget,
}

impl Making<'_> {
    /// Makes the study `defined` describes (a new one with its no-search rules, CRT's
    /// formula and — measured now, unless only creating — AzCopy's climb) or resumes it,
    /// and saves its budget; `None` when interrupted.
    pub async fn make(
        &self,
        mut defined: define::Defined,
        found: Found,
        location: storage::Location,
        stop: &Stop,
    ) -> anyhow::Result<Option<Session>> {
        if defined.fresh && defined.baseline.is_some() {
            let settings = defined.settings(self.opened);
            let mut rules = vec![rules::crt_rule(&settings, &defined.space)];
            if !self.create_only {
                let out = self.runner_args.out;
                std::fs::create_dir_all(out)
                    .with_context(|| format!("creating {}", out.display()))?;
                let runner = self.opened.runner(&settings, self.runner_args, self.slot)?;
                let space = &defined.space;
                match rules::climb_rule(&settings, space, &runner, self.display, stop).await {
                    Climbed::Rule(climb) => rules.push(climb),
                    Climbed::Failed => {}
                    Climbed::Interrupted => return Ok(None),
                }
            }
            defined.add_rules(rules);
        }
        let session = found.open(location, &defined.spec(self.name, self.opened))?;
        session.save_budget(&self.budget, self.create_only)?;
        Ok(Some(session))
    }
}

/// Opens the target `defined` names, after checking that `dest` has room for what the
/// study writes there.
pub(crate) async fn open_target(
    args: &TuneArgs,
    defined: &define::Defined,
    name: &str,
    dest: &Path,
    create_only: bool,
    stop: &Stop,
) -> anyhow::Result<Opened> {
    if !create_only
        && defined.workload == Workload::Upload
        && defined.source.is_none()
        && let target::Place::Emulator { size, .. } = &defined.place
    {
        check_room(dest, *size, true)?;
    }
    let request = Request {
        workload: defined.workload,
        place: defined.place.clone(),
        source: defined.source.as_deref(),
        study: name,
        s3: &args.s3,
        timeouts: Timeouts::from_args(&args.s3)?,
        dest,
        sample: defined.many.as_ref().and_then(|m| m.sample),
    };
    let opened = target::open(request, stop).await?;
    if !create_only && defined.workload == Workload::Download {
        check_room(dest, opened.size, false)?;
    }
    Ok(opened)
}

/// The lines before the first trial: the emulator's network and this machine's ceiling
/// (recorded with the study), the study, its budget. `false` when interrupted.
pub(crate) async fn announce(
    display: &Display,
    session: &Session,
    settings: &TransferSettings,
    opened: &Opened,
    dest: &Path,
    stop: &Stop,
) -> anyhow::Result<bool> {
    if let Some(e) = &settings.emulated {
        let what = match &settings.dataset {
            None => format!(
                "a {} synthetic object",
                bytesize::ByteSize(settings.object_bytes).display().iec()
            ),
            Some(d) => format!(
                "a synthetic dataset ({})",
                crate::report::dataset::describe(d, settings.object_bytes)
            ),
        };
        display.line(&format!(
            "s3tune: no target given, so tuning the {} of {what} on the embedded emulator — {}",
            settings.verb(),
            e.description
        ));
        let Some(ceiling) = ceiling(settings, opened, dest, stop).await? else {
            return Ok(false);
        };
        session.store.put_note(
            &session.study,
            "machine",
            &serde_json::json!({ "ceiling_bytes_per_sec": ceiling }),
        )?;
        let what = match settings.workload {
            Workload::Download => {
                format!("moves {:.0} MB/s into {}", ceiling / 1e6, dest.display())
            }
            Workload::Upload => format!("uploads {:.0} MB/s into the emulator", ceiling / 1e6),
        };
        match e.link_bytes_per_sec {
            Some(link) => {
                display.line(&format!(
                    "emulated link {:.0} MB/s; this machine {what} with no emulated network",
                    link / 1e6
                ));
                if ceiling < 2.0 * link {
                    tracing::warn!(
                        "the machine's ceiling is less than twice the emulated link: results will measure the machine too"
                    );
                }
            }
            None => display.line(&format!(
                "no link limit: this machine's ceiling ({what}) is the limit"
            )),
        }
    }
    let budget = session.budget()?;
    let per = match settings.repeats {
        1 => format!("1 {}", settings.verb()),
        n => format!("{n} {}s", settings.verb()),
    };
    let limit = match (budget.time_left(), budget.trials) {
        (Some(b), Some(t)) => format!(
            "{} or {}",
            humantime::format_duration(secs(b)),
            run::trials(t)
        ),
        (Some(b), None) => humantime::format_duration(secs(b)).to_string(),
        (None, Some(t)) => run::trials(t),
        (None, None) => "none".into(),
    };
    display.line(&format!(
        "study {} in {}; {per} per trial; budget {limit}",
        session.name(),
        session.store.location()
    ));
    Ok(true)
}

/// What this machine moves of the study's workload with no emulated network, in bytes
/// per second; `None` when interrupted.
async fn ceiling(
    settings: &TransferSettings,
    opened: &Opened,
    dest: &Path,
    stop: &Stop,
) -> anyhow::Result<Option<f64>> {
    let measured = match &opened.job {
        Job::Download(_) => {
            stop.or_stop(emulated::machine_ceiling(dest, settings.object_bytes))
                .await
        }
        Job::Upload(t) => stop.or_stop(emulated::upload_ceiling(t)).await,
        Job::UploadMany(d) => stop.or_stop(emulated::dataset_upload_ceiling(d)).await,
        Job::DownloadMany(d) => {
            let text = settings.dataset.as_ref().and_then(|d| d.spec.clone());
            let (spec, _) = crate::study::dataset::spec(text.as_deref().unwrap_or_default())?;
            stop.or_stop(emulated::dataset_ceiling(spec, d, dest)).await
        }
    };
    match measured {
        Ok(c) => c.map(Some),
        Err(_) => Ok(None),
    }
}

/// A duration to the whole second (for people).
fn secs(d: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_secs(d.as_secs_f64().round() as u64)
}
