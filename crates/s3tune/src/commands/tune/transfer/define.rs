//! What defines a transfer study, from the flags for a new one and from the store for a
//! resumed one (whose flags must agree): workload, client, repeats, baseline, search,
//! and where its bytes are.

use std::path::PathBuf;

use anyhow::bail;
use s3tune_hpo::{Config, CutOff, Mode, Objective, SchedulerSpec, SearcherSpec, Space, StudySpec};
use s3tune_transfer::Direction;

use super::super::resume::{self, Search};
use super::many::{Many, dataset, is_many};
use super::place::place;
use crate::cli::{ClientName, SchedulerName, SearcherName, TuneArgs};
use crate::experiment::{external, knobs};
use crate::study::session::Found;
use crate::study::target::{Opened, Place};
use crate::study::{Client, Rule, StudyKind, TransferSettings, Workload};

/// Transfers per trial, unless `--repeats` says otherwise.
const DEFAULT_REPEATS: usize = 3;
/// Transfers per trial of a dataset: one run already averages over its many objects
/// (runs of 2,000 small objects differ by ~2 %), so two spare a third of each trial.
const DATASET_REPEATS: usize = 2;

/// A run far slower than the best completed trial is cut off at this many times its
/// mean, and at least this many seconds more (sub-second runs vary too much for a ratio
/// alone).
const CUT_OFF: CutOff = CutOff {
    ratio: 3.0,
    slack: 1.0,
};

/// What a transfer study is.
pub struct Defined {
    /// What moves.
    pub workload: Workload,
    /// Who moves it.
    pub client: Client,
    /// Transfers per trial.
    pub repeats: usize,
    /// boto3's defaults, the first trial.
    pub baseline: Option<Config>,
    /// The knobs searched.
    pub space: Space,
    /// The searcher, scheduler and seed.
    pub search: Search,
    /// Where the bytes are.
    pub place: Place,
    /// An upload's source file (none: a synthetic one on the emulator).
    pub source: Option<PathBuf>,
    /// A dataset's sample and second baseline, when many objects move.
    pub many: Option<Many>,
    /// The no-search rules: a resumed study's as stored; a new study's once measured
    /// ([`Defined::add_rules`]).
    pub rules: Vec<Rule>,
    /// Whether the study is new (its rules are still to be made).
    pub fresh: bool,
    /// The limits a trial must keep to count.
    pub limits: Vec<s3tune_hpo::Constraint>,
    /// Measures minimized beside the seconds.
    pub also_minimize: Vec<String>,
    /// The earlier studies it starts from (a new study's).
    pub warm_start: Vec<crate::study::WarmStart>,
    /// What its requests cost.
    pub prices: crate::experiment::costs::Prices,
}

/// The stored settings of study `name`, if it is a transfer study; an error if it is a
/// script's, or moves the other way.
fn stored<'a>(
    name: &str,
    kind: Option<&'a StudyKind>,
    workload: Workload,
) -> anyhow::Result<Option<&'a TransferSettings>> {
    match kind {
        None => Ok(None),
        Some(StudyKind::Command(_)) => bail!(
            "study `{name}` tunes a script (--command), not a transfer; use another --study name"
        ),
        Some(StudyKind::Transfer(s)) if s.workload != workload => bail!(
            "study `{name}` tunes {}s; {} to resume it, or give another --study name",
            s.verb(),
            if s.workload == Workload::Upload {
                "add --upload"
            } else {
                "drop --upload"
            }
        ),
        Some(StudyKind::Transfer(s)) => Ok(Some(s)),
    }
}

/// The study `args` define, checked against the stored one in `found`.
pub fn define(
    args: &TuneArgs,
    name: &str,
    found: &Found,
    location: &crate::commands::storage::Location,
) -> anyhow::Result<Defined> {
    let workload = if args.upload.is_some() {
        Workload::Upload
    } else {
        Workload::Download
    };
    let stored = stored(name, found.kind(), workload)?;
    let direction = match workload {
        Workload::Download => Direction::Download,
        Workload::Upload => Direction::Upload,
    };
    let many = is_many(args, stored)?;
    // A resumed study keeps its space unless --space or --param give one (which must be
    // the same).
    let client = resume::fixed(
        name,
        "--client",
        args.client.map(client_of),
        stored.map(|s| s.client),
        Client::S3tune,
    )?;
    let space = match found.spec() {
        Some(old) if args.space.is_none() && args.params.is_empty() => old.space.clone(),
        _ => knobs::build_space(client, args.space.as_deref(), &args.params, direction, many)?,
    };
    if client == Client::Boto3 && many {
        bail!(
            "--client boto3 tunes one object; a dataset is tuned with s3tune's engine (--client s3tune), whose boto3.py gives boto3's settings for a thread pool, or with --client awscli, crt or rclone"
        );
    }
    external::probe(client, &args.python)?;
    let repeats = resume::fixed(
        name,
        "--repeats",
        args.repeats,
        stored.map(|s| s.repeats),
        if many {
            DATASET_REPEATS
        } else {
            DEFAULT_REPEATS
        },
    )?;
    let baseline = baseline(args, name, stored, &space, client, direction)?;
    let mut points: Vec<Config> = baseline.clone().into_iter().collect();
    let many = match many {
        false => None,
        true if client != Client::S3tune => Some(dataset(args, name, stored, &space, false)?),
        true => {
            let m = dataset(args, name, stored, &space, true)?;
            points.extend(m.pool.clone());
            Some(m)
        }
    };
    // With several objectives every trial runs all its repeats: ASHA and the cut-off
    // judge the seconds alone, and a slow trial may be the leanest.
    let also_minimize = match found.spec() {
        Some(old) if args.limits.objective.is_none() => old.objective.also_minimize.clone(),
        _ => args.limits.also_minimize(),
    };
    let scheduler = if also_minimize.is_empty() {
        SchedulerName::Asha
    } else {
        SchedulerName::Fifo
    };
    if args.warm_start.is_some() && found.spec().is_some() {
        bail!("study `{name}` exists: --warm-start starts a new study (give another --study name)");
    }
    let warm = super::warm::load(args, location, &space, client, workload, many.is_some())?;
    for p in warm.points {
        if !points.contains(&p) {
            points.push(p);
        }
    }
    let prior = warm.prior;
    let search = resume::search(name, args, found.spec(), scheduler, |s, sch| {
        Ok(specs(s, sch, repeats, points, prior))
    })?;
    let (place, source) = place(args, name, stored, workload)?;
    // A resumed study keeps its limits unless they are given again (the same, or the
    // store refuses the study's new objective).
    let limits = match found.spec() {
        Some(old) if !args.limits.any() => old.objective.constraints.clone(),
        _ => args.limits.constraints(),
    };
    // A program's requests are counted by the embedded emulator only: on a bucket no
    // trial could be shown to keep such a limit, or be placed on such a front.
    let on_bucket = matches!(place, Place::Bucket(_) | Place::Prefix(_));
    let counted =
        |m: &str| m == crate::experiment::costs::REQUESTS || m == crate::experiment::costs::COST;
    if on_bucket
        && client != Client::S3tune
        && (limits.iter().any(|c| counted(&c.metric)) || also_minimize.iter().any(|m| counted(m)))
    {
        bail!(
            "{} on a bucket: its requests are counted only on the embedded emulator; drop --max-requests, --max-cost and those objectives, or tune s3tune's engine (which counts its own)",
            client.title()
        );
    }
    let prices = match (stored, args.limits.prices) {
        (Some(s), Some(p)) if s.prices != p => bail!(
            "study `{name}` prices requests at {}: a study keeps its prices; drop --prices to resume it, or give another --study name",
            s.prices
        ),
        (Some(s), _) => s.prices,
        (None, p) => p.unwrap_or_default(),
    };
    Ok(Defined {
        prices,
        warm_start: warm.from,
        limits,
        also_minimize,
        rules: stored.map(|s| s.rules.clone()).unwrap_or_default(),
        fresh: stored.is_none(),
        workload,
        client,
        repeats,
        baseline,
        space,
        search,
        place,
        source,
        many,
    })
}

/// The searcher and scheduler of a new transfer study.
fn specs(
    searcher: SearcherName,
    scheduler: SchedulerName,
    repeats: usize,
    points_to_evaluate: Vec<Config>,
    prior: Vec<s3tune_hpo::spec::Observation>,
) -> (SearcherSpec, SchedulerSpec) {
    let searcher = match searcher {
        // Transfers are expensive and the default spaces have 3 or 4 dimensions: the
        // model takes over after the baseline and 4 random points (the library's
        // default of 10 suits cheap benchmark functions).
        SearcherName::Bo => SearcherSpec::Bo {
            initial_points: 5,
            points_to_evaluate,
            prior,
        },
        SearcherName::Random => SearcherSpec::Random { points_to_evaluate },
        SearcherName::Grid => SearcherSpec::Grid {
            resolution: 5,
            points_to_evaluate,
        },
    };
    // The engine ends a run where it stands; boto3's script is killed there.
    let cut_off = Some(CUT_OFF);
    let scheduler = match scheduler {
        SchedulerName::Asha if repeats >= 2 => SchedulerSpec::Asha {
            min_resource: 1,
            max_resource: repeats,
            eta: 3.0,
            cut_off,
        },
        _ => SchedulerSpec::Fifo { cut_off },
    };
    (searcher, scheduler)
}

/// The client `--client` names.
pub fn client_of(c: ClientName) -> Client {
    match c {
        ClientName::S3tune => Client::S3tune,
        ClientName::Boto3 => Client::Boto3,
        ClientName::Awscli => Client::Awscli,
        ClientName::Crt => Client::Crt,
        ClientName::Rclone => Client::Rclone,
    }
}

/// The client's defaults for the space, unless `--no-baseline` (which a resumed study
/// must agree with).
fn baseline(
    args: &TuneArgs,
    name: &str,
    stored: Option<&TransferSettings>,
    space: &Space,
    client: Client,
    direction: Direction,
) -> anyhow::Result<Option<Config>> {
    let none = match stored {
        Some(s) if args.no_baseline && s.baseline.is_some() => bail!(
            "study `{name}` starts from {}, and a study keeps what defines it: drop --no-baseline to resume it, or give another --study name",
            s.baseline_name()
        ),
        Some(s) => s.baseline.is_none(),
        None => args.no_baseline,
    };
    if none {
        Ok(None)
    } else {
        Ok(Some(knobs::baseline(client, space, direction)?))
    }
}

impl Defined {
    /// A resumed study's object or source must be the one it was tuned with.
    pub fn check_opened(
        &self,
        name: &str,
        opened: &Opened,
        stored: Option<&StudyKind>,
    ) -> anyhow::Result<()> {
        if let Some(StudyKind::Transfer(s)) = stored
            && s.object_bytes != opened.size
        {
            bail!(
                "{} is {} bytes now, but study `{name}` tuned it at {}: it changed, so the study's results do not carry over; use another --study name",
                opened.url,
                opened.size,
                s.object_bytes
            );
        }
        Ok(())
    }

    /// A new study's no-search rules: each one's configuration is tried after the
    /// baseline, and raced at the end.
    pub fn add_rules(&mut self, rules: Vec<Rule>) {
        let points = self.search.searcher.points_to_evaluate_mut();
        for r in &rules {
            if !points.contains(&r.config) {
                points.push(r.config.clone());
            }
        }
        self.rules = rules;
    }

    /// What the study keeps of itself, on `opened`.
    pub fn settings(&self, opened: &Opened) -> TransferSettings {
        TransferSettings {
            workload: self.workload,
            client: self.client,
            target: opened.url.clone(),
            object_bytes: opened.size,
            repeats: self.repeats,
            baseline: self.baseline.clone(),
            emulated: opened.emulated.clone(),
            network: opened.network.clone(),
            source: self.source.as_ref().map(|p| p.display().to_string()),
            dataset: self.dataset_settings(opened),
            rules: self.rules.clone(),
            warm_start: self.warm_start.clone(),
            prices: self.prices,
        }
    }

    /// The study's definition, as stored.
    pub fn spec(&self, name: &str, opened: &Opened) -> StudySpec {
        let settings = self.settings(opened);
        StudySpec {
            name: name.to_owned(),
            space: self.space.clone(),
            objective: Objective {
                metric: "seconds".into(),
                mode: Mode::Min,
                constraints: self.limits.clone(),
                also_minimize: self.also_minimize.clone(),
            },
            searcher: self.search.searcher.clone(),
            scheduler: self.search.scheduler.clone(),
            seed: self.search.seed,
            settings: StudyKind::Transfer(Box::new(settings)).to_json(),
        }
    }
}
