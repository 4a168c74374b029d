//! Random search: configurations drawn uniformly (on each parameter's scale).

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

use super::{SearchError, Searcher, Suggestion, next_point, seen};
use crate::history::History;
use crate::space::{Config, Space, config_hash};

/// Enumerate spaces up to this size to find what is left; sample larger ones.
const ENUMERATE_UP_TO: u128 = 100_000;

/// Uniform random search, after `points_to_evaluate`.
#[derive(Debug, Clone, Default)]
pub struct RandomSearcher {
    /// Configurations to try first, in order.
    pub points_to_evaluate: Vec<Config>,
}

impl Searcher for RandomSearcher {
    fn suggest(
        &self,
        space: &Space,
        history: &History,
        rng: &mut StdRng,
    ) -> Result<Suggestion, SearchError> {
        let seen = seen(history);
        if let Some(p) = next_point(space, &self.points_to_evaluate, history)? {
            return Ok(Suggestion::Config(p));
        }
        // Draw; a repeat is possible only in a discrete space, where drawing again
        // usually finds a new point quickly.
        for _ in 0..64 {
            let c = space.sample(rng);
            if !seen.contains(&config_hash(&c)) {
                return Ok(Suggestion::Config(c));
            }
        }
        // Crowded: list what is left, if the space is small enough to.
        match space.cardinality() {
            Some(n) if n <= ENUMERATE_UP_TO => {
                let left: Vec<Config> = crate::searcher::grid::product(space, usize::MAX)
                    .into_iter()
                    .filter(|c| !seen.contains(&config_hash(c)))
                    .collect();
                Ok(left
                    .choose(rng)
                    .cloned()
                    .map_or(Suggestion::Exhausted, Suggestion::Config))
            }
            _ => Ok(Suggestion::Config(space.sample(rng))),
        }
    }
}
