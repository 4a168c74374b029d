//! A resumed study keeps what defines it.
//!
//! Each defining flag (the searcher, the scheduler, the seed, the network, the object's
//! size, the repeats, the client, the baseline, the command…) is the flag's value for a
//! new study and the study's own when it is resumed; a flag that would change it is
//! refused, saying which — never ignored. Flags that set how this run goes (the budget,
//! `--trials`, the heartbeat and trial timeouts, the race) apply, and a changed trial
//! timeout says so.

use std::fmt;

use anyhow::bail;
use s3tune_hpo::{SchedulerSpec, SearcherSpec, StudySpec};

use crate::cli::{SchedulerName, SearcherName, TuneArgs};

/// The value of a defining flag: `given` for a new study, `stored` for a resumed one
/// (which `given`, when it is there, must match), else `default`.
pub fn fixed<T: PartialEq + fmt::Display>(
    study: &str,
    flag: &str,
    given: Option<T>,
    stored: Option<T>,
    default: T,
) -> anyhow::Result<T> {
    match (given, stored) {
        (Some(g), Some(s)) if g != s => bail!(
            "study `{study}` was made with {flag} {s}, and a study keeps what defines it: drop {flag} {g} to resume it, or give another --study name"
        ),
        (Some(g), _) => Ok(g),
        (None, Some(s)) => Ok(s),
        (None, None) => Ok(default),
    }
}

/// How a study searches: its searcher, scheduler and seed.
pub struct Search {
    /// The searcher and its settings.
    pub searcher: SearcherSpec,
    /// The scheduler and its settings.
    pub scheduler: SchedulerSpec,
    /// The searcher's seed.
    pub seed: u64,
}

/// The search of study `study`: a resumed one's own (`old`), which the flags must
/// match; for a new one, what `make` builds from the flags' names (`default_scheduler`
/// when no --scheduler is given).
pub fn search(
    study: &str,
    args: &TuneArgs,
    old: Option<&StudySpec>,
    default_scheduler: SchedulerName,
    make: impl FnOnce(SearcherName, SchedulerName) -> anyhow::Result<(SearcherSpec, SchedulerSpec)>,
) -> anyhow::Result<Search> {
    let name = |v: &dyn fmt::Debug| format!("{v:?}").to_lowercase();
    let searcher = fixed(
        study,
        "--searcher",
        args.searcher.map(|s| name(&s)),
        old.map(|s| s.searcher.name().to_owned()),
        "bo".to_owned(),
    )?;
    let scheduler = fixed(
        study,
        "--scheduler",
        args.scheduler.map(|s| name(&s)),
        old.map(|s| s.scheduler.name().to_owned()),
        name(&default_scheduler),
    )?;
    let seed = fixed(study, "--seed", args.seed, old.map(|s| s.seed), 0)?;
    if let Some(old) = old {
        return Ok(Search {
            searcher: old.searcher.clone(),
            scheduler: old.scheduler.clone(),
            seed,
        });
    }
    let searcher = match searcher.as_str() {
        "random" => SearcherName::Random,
        "grid" => SearcherName::Grid,
        _ => SearcherName::Bo,
    };
    let scheduler = if scheduler == "asha" {
        SchedulerName::Asha
    } else {
        SchedulerName::Fifo
    };
    let (searcher, scheduler) = make(searcher, scheduler)?;
    Ok(Search {
        searcher,
        scheduler,
        seed,
    })
}

/// A size in bytes, shown as it can be written back as a flag (`32MiB`, `1000000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        match [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
            .into_iter()
            .find(|(unit, _)| n >= *unit && n.is_multiple_of(*unit))
        {
            Some((unit, name)) => write!(f, "{}{name}", n / unit),
            None => write!(f, "{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_study_keeps_its_own_and_refuses_a_change() {
        assert_eq!(fixed("s", "--seed", None, None, 0).unwrap(), 0);
        assert_eq!(fixed("s", "--seed", Some(3), None, 0).unwrap(), 3);
        assert_eq!(fixed("s", "--seed", None, Some(4), 0).unwrap(), 4);
        assert_eq!(fixed("s", "--seed", Some(4), Some(4), 0).unwrap(), 4);
        let e = fixed(
            "s",
            "--object-size",
            Some(Size(128 << 20)),
            Some(Size(32 << 20)),
            Size(0),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("made with --object-size 32MiB"), "{e}");
        assert!(e.contains("drop --object-size 128MiB"), "{e}");
    }
}
