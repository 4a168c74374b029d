//! Grid search: every combination of a few values per parameter, in a shuffled order.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::{SearchError, Searcher, Suggestion, next_point, seen};
use crate::history::History;
use crate::space::{Config, Domain, Space, Value, config_hash};

/// Grid search after `points_to_evaluate`. The order is a shuffle fixed by `seed`, so the
/// next point depends only on the history: any process resumes where another left off.
#[derive(Debug, Clone)]
pub struct GridSearcher {
    /// Points per continuous parameter (integers with fewer values get all of them).
    pub resolution: usize,
    /// Seed of the shuffle.
    pub seed: u64,
    /// Configurations to try first, in order.
    pub points_to_evaluate: Vec<Config>,
}

impl Default for GridSearcher {
    fn default() -> Self {
        Self {
            resolution: 5,
            seed: 0,
            points_to_evaluate: Vec::new(),
        }
    }
}

/// Up to `resolution` values spread evenly (on the domain's scale) over `d`.
pub(crate) fn values_of(d: &Domain, resolution: usize) -> Vec<Value> {
    let r = resolution.max(1);
    let even = |n: usize| -> Vec<f64> {
        if n == 1 {
            vec![0.5]
        } else {
            (0..n).map(|i| i as f64 / (n - 1) as f64).collect()
        }
    };
    match d {
        Domain::Int { low, high, .. } => {
            let count = (high - low + 1) as u128;
            if count <= r as u128 {
                return (*low..=*high).map(Value::Int).collect();
            }
            let mut v: Vec<Value> = even(r).into_iter().map(|u| d.decode(&[u])).collect();
            v.dedup();
            v
        }
        Domain::Float { low, high, .. } if low == high => vec![Value::Float(*low)],
        Domain::Float { .. } => even(r).into_iter().map(|u| d.decode(&[u])).collect(),
        Domain::Ordinal(v) | Domain::Categorical(v) => v.clone(),
        Domain::Fixed(v) => vec![v.clone()],
    }
}

/// Every combination of up to `resolution` values per parameter (callers bound the size).
pub(crate) fn product(space: &Space, resolution: usize) -> Vec<Config> {
    let mut out = vec![Config::new()];
    for (name, d) in space.params() {
        let values = values_of(d, resolution);
        out = out
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.insert(name.to_owned(), v.clone());
                    c
                })
            })
            .collect();
    }
    out
}

impl GridSearcher {
    /// The grid, in its shuffled order.
    pub fn grid(&self, space: &Space) -> Result<Vec<Config>, SearchError> {
        let size = space
            .params()
            .try_fold(1u128, |acc, (_, d)| {
                acc.checked_mul(values_of(d, self.resolution).len() as u128)
            })
            .unwrap_or(u128::MAX);
        if size > 1_000_000 {
            return Err(SearchError::GridTooLarge(size));
        }
        let mut out = product(space, self.resolution);
        out.shuffle(&mut StdRng::seed_from_u64(self.seed));
        Ok(out)
    }
}

impl Searcher for GridSearcher {
    fn suggest(
        &self,
        space: &Space,
        history: &History,
        _rng: &mut StdRng,
    ) -> Result<Suggestion, SearchError> {
        let seen = seen(history);
        if let Some(p) = next_point(space, &self.points_to_evaluate, history)? {
            return Ok(Suggestion::Config(p));
        }
        Ok(self
            .grid(space)?
            .into_iter()
            .find(|c| !seen.contains(&config_hash(c)))
            .map_or(Suggestion::Exhausted, Suggestion::Config))
    }
}
