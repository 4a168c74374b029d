//! Searchers propose configurations as a function of the history and a random stream:
//! `points_to_evaluate` first (e.g. boto3's defaults), then their own choices, never a
//! configuration already in the history when the space is discrete.

mod grid;
mod random;

use std::collections::HashSet;

use rand::rngs::StdRng;

pub use grid::GridSearcher;
pub use random::RandomSearcher;

use crate::history::{History, Status};
use crate::space::{Config, Space, SpaceError, config_hash};

/// What a searcher proposes.
#[derive(Debug, Clone, PartialEq)]
pub enum Suggestion {
    /// Try this next.
    Config(Config),
    /// Every configuration of the (discrete) space has been tried.
    Exhausted,
}

/// Why a searcher cannot propose.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// The space or a point to evaluate is invalid.
    #[error(transparent)]
    Space(#[from] SpaceError),
    /// A grid too large to enumerate.
    #[error(
        "the grid has {0} points, more than the 1,000,000 a grid search enumerates; lower the resolution"
    )]
    GridTooLarge(u128),
}

/// Proposes the next configuration to try.
pub trait Searcher: Send + Sync {
    /// The next configuration given the `history` (completed, failed and pending trials).
    fn suggest(
        &self,
        space: &Space,
        history: &History,
        rng: &mut StdRng,
    ) -> Result<Suggestion, SearchError>;
}

/// Hashes of every configuration in the history.
pub(crate) fn seen(history: &History) -> HashSet<u64> {
    history
        .trials
        .iter()
        .map(|t| config_hash(&t.config))
        .collect()
}

/// The first of `points` not yet tried, checked against the space. A point whose trials
/// all ended without a result (failed, or stopped before reporting — e.g. interrupted)
/// is tried again, up to [`POINT_ATTEMPTS`] times: the baseline must be measured.
pub(crate) fn next_point(
    space: &Space,
    points: &[Config],
    history: &History,
) -> Result<Option<Config>, SearchError> {
    for p in points {
        space.encode(p)?;
        let hash = config_hash(p);
        let mine = || {
            history
                .trials
                .iter()
                .filter(|t| config_hash(&t.config) == hash)
        };
        let settled = mine().any(|t| t.status == Status::Pending || t.value().is_some());
        if !settled && mine().count() < POINT_ATTEMPTS {
            return Ok(Some(p.clone()));
        }
    }
    Ok(None)
}

/// How often a point to evaluate is tried before it is given up.
pub const POINT_ATTEMPTS: usize = 2;
