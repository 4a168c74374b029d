//! `s3tune compare`: which client, with which settings, is fastest here. One workload
//! (an object or a dataset, down or up), every client asked for (by default every one
//! installed), each a study of its own in one store: its defaults, CRT's formula and
//! AzCopy's climb first, then tuned for an equal share of `--budget`; then one
//! interleaved race of every client's best with the slowest defaults, and a table,
//! `compare.json` and a bar plot ([`render`]).

mod render;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use s3tune_hpo::{Budget, Limits, StopReason};

use super::display::Display;
use super::tune::race::race;
use super::tune::transfer::define::{self, client_of};
use super::tune::transfer::{Making, announce, check_flags, open_target, run_trials};
use super::tune::{dest_dir, stamped};
use super::{Stop, exit, storage};
use crate::cli::{CompareArgs, ScriptArgs, TuneArgs};
use crate::experiment::{ProgressSlot, Runner, external};
use crate::report::Summary;
use crate::study::session::Found;
use crate::study::target::{Opened, RunnerArgs};
use crate::study::{Client, StudyKind};

/// The note under which each client's study keeps the comparison's `compare.json`.
pub const NOTE: &str = "compare";

/// One client's part of a comparison.
pub struct Entry {
    /// The client.
    pub client: Client,
    /// Who runs it (for the race).
    pub runner: Runner,
    /// Its study, as it ended.
    pub summary: Summary,
}

/// What a comparison came to.
pub struct Outcome {
    /// Every client measured.
    pub entries: Vec<Entry>,
    /// Clients left out, and why.
    pub skipped: LeftOut,
    /// The race: the reference (slowest defaults) first, then each entry's best (by
    /// index into `entries`).
    pub race: Option<Race>,
    /// The machine's ceiling without the emulated network, bytes/s.
    pub ceiling: Option<f64>,
    /// The budget each client had.
    pub share: std::time::Duration,
    /// From the start to the end of the race.
    pub elapsed: std::time::Duration,
}

/// The final race.
pub struct Race {
    /// The entry whose defaults were slowest: every speedup is over those.
    pub reference: usize,
    /// Seconds of the reference's defaults in each round.
    pub reference_runs: Vec<f64>,
    /// Each entry's best's seconds in each round (`None`: it had no best).
    pub best_runs: Vec<Option<Vec<f64>>>,
}

/// Clients left out of a comparison, each with why.
type LeftOut = Vec<(Client, String)>;

/// The clients asked for that are installed; with none asked for, every installed one,
/// the others named (with how to install them) as skipped. A client asked for by name
/// that is missing is an error.
fn clients(args: &CompareArgs) -> anyhow::Result<(Vec<Client>, LeftOut)> {
    let asked: Vec<Client> = args.clients.iter().map(|c| client_of(*c)).collect();
    let named = !asked.is_empty();
    let wanted = if named { asked } else { Client::ALL.to_vec() };
    let (mut ok, mut skipped) = (Vec::new(), Vec::new());
    for c in wanted {
        if ok.contains(&c) {
            continue;
        }
        match external::probe(c, &args.python) {
            Ok(_) => ok.push(c),
            Err(e) if named => return Err(e),
            Err(e) => skipped.push((c, e.to_string())),
        }
    }
    if ok.is_empty() {
        anyhow::bail!(
            "no client to compare is installed: {}",
            skipped
                .iter()
                .map(|(_, why)| why.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok((ok, skipped))
}

/// The `tune` flags of `client`'s study `study` in a comparison.
fn tune_args(args: &CompareArgs, client: Client, study: &str, storage: &str) -> TuneArgs {
    TuneArgs {
        limits: crate::cli::LimitArgs::default(),
        warm_start: None,
        warm_storage: None,
        dashboard: None,
        target: args.target.clone(),
        upload: args.upload.clone(),
        s3: args.s3.clone(),
        network: args.network.clone(),
        object_size: args.object_size,
        dataset: args.dataset.clone(),
        sample: args.sample,
        budget: None,
        trials: None,
        repeats: Some(args.repeats),
        searcher: None,
        scheduler: None,
        seed: args.seed,
        study: Some(study.to_owned()),
        storage: Some(storage.to_owned()),
        heartbeat_timeout: None,
        out: None,
        dest_dir: args.dest_dir.clone(),
        space: None,
        params: Vec::new(),
        no_baseline: false,
        confirm: 0,
        client: Some(match client {
            Client::S3tune => crate::cli::ClientName::S3tune,
            Client::Boto3 => crate::cli::ClientName::Boto3,
            Client::Awscli => crate::cli::ClientName::Awscli,
            Client::Crt => crate::cli::ClientName::Crt,
            Client::Rclone => crate::cli::ClientName::Rclone,
        }),
        python: args.python.clone(),
        script: ScriptArgs {
            workers: 1,
            ..ScriptArgs::default()
        },
    }
}

/// `s3tune compare`.
pub async fn run(args: CompareArgs, stop: Stop) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let budget = super::duration("--budget", &args.budget)?;
    if args.repeats == 0 {
        anyhow::bail!("--repeats must be at least 1");
    }
    let name = stamped("compare");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("s3tune-results").join(&name));
    let dest = dest_dir(args.dest_dir.as_deref())?;
    let (clients, skipped) = clients(&args)?;
    let storage_flag = format!("sqlite:{}", out.join("compare.db").display());
    let location = storage::parse(Some(&storage_flag), &out)?;
    let share = budget / clients.len() as u32;
    let display = Display::new();
    for (c, why) in &skipped {
        display.line(&format!("compare: leaving out {}: {why}", c.title()));
    }
    let mut entries = Vec::new();
    let mut opened: Option<Opened> = None;
    let mut ceiling = None;
    let mut first_session = None;
    let mut interrupted = false;
    for client in clients {
        let study = format!("{name}-{}", client.name());
        let targs = tune_args(&args, client, &study, &storage_flag);
        check_flags(&targs)?;
        let found = Found::look(&location, &study)?;
        let defined = define::define(&targs, &study, &found, &location)?;
        if opened.is_none() {
            opened = Some(open_target(&targs, &defined, &study, &dest, false, &stop).await?);
        }
        let target = opened.as_ref().expect("opened above");
        let client_out = out.join(client.name());
        std::fs::create_dir_all(&client_out)
            .with_context(|| format!("creating {}", client_out.display()))?;
        let slot = ProgressSlot::default();
        let runner_args = RunnerArgs {
            python: &args.python,
            s3: &args.s3,
            dest: &dest,
            out: &client_out,
        };
        display.line(&format!(
            "compare: {} — its defaults, CRT's formula, AzCopy's climb, then {} of tuning",
            client.title(),
            humantime::format_duration(std::time::Duration::from_secs(share.as_secs()))
        ));
        let making = Making {
            name: &study,
            opened: target,
            runner_args: &runner_args,
            slot: &slot,
            display: &display,
            create_only: false,
            // The study has no deadline of its own: its first trials (the defaults and
            // the rules) run whatever they take, then `share` of search.
            budget: Budget::new(None, None, s3tune_hpo::spec::HEARTBEAT_TIMEOUT),
        };
        let Some(session) = making.make(defined, found, location.clone(), &stop).await? else {
            interrupted = true;
            break;
        };
        let StudyKind::Transfer(settings) = session.kind.clone() else {
            unreachable!("a transfer study was made");
        };
        if entries.is_empty() {
            if !announce(&display, &session, &settings, target, &dest, &stop).await? {
                interrupted = true;
                break;
            }
            ceiling = Summary::load(session.store.as_ref(), &study)?.machine_bytes_per_sec;
        }
        let runner = target.runner(&settings, &runner_args, &slot)?;
        target.sweep(&session).await?;
        let points = session.study.spec.searcher.points_to_evaluate().len() as u64;
        let first = Limits {
            max_trials: Some(points),
            budget: None,
            max_failures_in_a_row: Some(s3tune_hpo::spec::MAX_FAILURES_IN_A_ROW),
            max_infeasible: None,
        };
        let mut ran =
            run_trials(&session, &settings, &runner, first, &display, &slot, &stop).await?;
        if ran.why != StopReason::Interrupted && ran.why != StopReason::Failing {
            let search = session.budget()?.limits(Some(share));
            ran = run_trials(&session, &settings, &runner, search, &display, &slot, &stop).await?;
        }
        let summary = Summary::load(session.store.as_ref(), &study)?;
        summary.write(&client_out)?;
        entries.push(Entry {
            client,
            runner,
            summary,
        });
        if first_session.is_none() {
            first_session = Some(session);
        }
        if ran.why == StopReason::Interrupted {
            interrupted = true;
            break;
        }
    }
    let mut race_result = None;
    if !interrupted && args.rounds > 0 {
        match final_race(&entries, args.rounds, &stop, &display).await {
            Ok(Some(r)) => race_result = Some(r),
            Ok(None) => interrupted = true,
            Err(e) => tracing::warn!("the race failed: {e}"),
        }
    }
    // What the race's uploads left (each run sweeps its own keys as it ends; this is
    // the last word, before the emulator stops).
    if let (Some(target), Some(session)) = (opened.as_ref(), first_session.as_ref())
        && let Err(e) = target.sweep(session).await
    {
        tracing::warn!("{e}");
    }
    display.clear();
    let outcome = Outcome {
        entries,
        skipped,
        race: race_result,
        ceiling,
        share,
        elapsed: started.elapsed(),
    };
    let written = render::write(&outcome, &out)?;
    // Each client's study keeps the comparison it was part of: `s3tune dashboard
    // --storage sqlite:OUT/compare.db` draws it from the store alone.
    if let Some(session) = first_session.as_ref() {
        for e in &outcome.entries {
            session
                .store
                .put_note(&e.summary.study, NOTE, &written.json)?;
        }
    }
    print!("{}", written.table);
    drop(opened);
    if interrupted {
        eprintln!(
            "s3tune: interrupted; what was measured is in {}",
            out.display()
        );
        return Ok(ExitCode::from(exit::INTERRUPTED));
    }
    Ok(ExitCode::SUCCESS)
}

/// Every client's best and the slowest defaults, interleaved; `None` when interrupted.
async fn final_race(
    entries: &[Entry],
    rounds: usize,
    stop: &Stop,
    display: &Display,
) -> anyhow::Result<Option<Race>> {
    let reference = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((i, e.summary.rows[e.summary.baseline?].mean?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
        .context("no client's defaults have a result to compare with")?;
    let r = &entries[reference];
    let base = &r.summary.rows[r.summary.baseline.expect("chosen for it")]
        .record
        .trial
        .config;
    let mut contenders = vec![(&r.runner, base)];
    let mut slots = Vec::new();
    for e in entries {
        match e.summary.best {
            Some(b) => {
                slots.push(Some(contenders.len()));
                contenders.push((&e.runner, &e.summary.rows[b].record.trial.config));
            }
            None => slots.push(None),
        }
    }
    let what = format!(
        "every client's best against {}",
        entries[reference].summary.settings.baseline_name()
    );
    let Some(mut runs) = race(&contenders, rounds, stop, display, &what).await? else {
        return Ok(None);
    };
    let best_runs = slots
        .iter()
        .map(|s| s.map(|i| std::mem::take(&mut runs[i])))
        .collect();
    Ok(Some(Race {
        reference,
        reference_runs: std::mem::take(&mut runs[0]),
        best_runs,
    }))
}
