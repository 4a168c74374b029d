//! The end of a tuning run: the confirmation race.

use s3tune_hpo::Config;
use s3tune_hpo::backend::TrialError;

use crate::commands::Stop;
use crate::commands::display::Display;
use crate::experiment::Runner;

/// Best and baseline, interleaved (`B X`, then `X B`, …, so neither always goes first),
/// `n` runs each. `None` when interrupted.
pub async fn race(
    runner: &Runner,
    baseline: &Config,
    best: &Config,
    n: usize,
    stop: &Stop,
    display: &Display,
    baseline_name: &str,
) -> Result<Option<(Vec<f64>, Vec<f64>)>, TrialError> {
    let (mut b, mut x) = (Vec::new(), Vec::new());
    for i in 0..n {
        display.status(&format!(
            "confirming: best against {baseline_name}, pair {}/{n}",
            i + 1
        ));
        let order = if i % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for is_best in order {
            let (cfg, out) = if is_best {
                (best, &mut x)
            } else {
                (baseline, &mut b)
            };
            let tag = format!("race-{i}-{}", u8::from(is_best));
            tokio::select! {
                r = runner.once(cfg, &tag) => out.push(r?),
                () = stop.wait() => return Ok(None),
            }
        }
    }
    display.status("");
    Ok(Some((b, x)))
}
