//! The end of a tuning run: the confirmation race.

use s3tune_hpo::Config;
use s3tune_hpo::backend::TrialError;

use crate::commands::Stop;
use crate::commands::display::Display;
use crate::experiment::Runner;

/// `contenders` (a configuration, and the client that runs it) run in rounds, `n` runs
/// each: every round one run of each, starting one further along each round (`A B C`,
/// `B C A`, …), so that each pair of contenders shares the machine's and the network's
/// mood of the moment and none always goes first. Each contender's seconds, in order;
/// `None` when interrupted.
pub async fn race(
    contenders: &[(&Runner, &Config)],
    n: usize,
    stop: &Stop,
    display: &Display,
    what: &str,
) -> Result<Option<Vec<Vec<f64>>>, TrialError> {
    let k = contenders.len();
    let mut runs = vec![Vec::with_capacity(n); k];
    for round in 0..n {
        display.status(&format!("confirming: {what}, round {}/{n}", round + 1));
        for j in 0..k {
            let c = (round + j) % k;
            let tag = format!("race-{round}-{c}");
            tokio::select! {
                r = contenders[c].0.once(contenders[c].1, &tag) => runs[c].push(r?),
                () = stop.wait() => return Ok(None),
            }
        }
    }
    display.status("");
    Ok(Some(runs))
}
