//! A trial of a transfer study: the transfer `repeats` times with one configuration,
//! the running mean of the seconds reported after each (one fidelity step per run, so
//! ASHA can stop a poor configuration after one), and a run that passes the study's
//! cut-off — the scheduler's limit, a function of the study's history, so every worker
//! cuts at the same point — ended there: finishing it would only confirm that it is slow.

use std::future::Future;
use std::time::Duration;

use s3tune_hpo::backend::TrialError;
use s3tune_hpo::{Decision, TrialContext};

use super::costs::{Prices, Ran, Run};

/// Runs `once` (one transfer, whole or cut at the limit it was given — the limit bounds
/// the transfer, not the check after it) up to `repeats` times for `ctx`, its requests
/// priced at `prices`.
pub async fn run_repeats<F, Fut>(
    ctx: &TrialContext,
    repeats: usize,
    prices: &Prices,
    mut once: F,
) -> Result<(), TrialError>
where
    F: FnMut(usize, Option<Duration>) -> Fut,
    Fut: Future<Output = Result<Run, TrialError>>,
{
    let mut total = 0.0;
    for r in 1..=repeats {
        let limit = ctx.run_limit();
        let ran = once(r, limit.map(|l| Duration::from_secs_f64(l.clamp(0.0, 1e9)))).await?;
        let (ran, cut) = match ran {
            Run::Whole(ran) => (ran, false),
            // Reported at the limit it passed, with what it had used by then.
            Run::Cut(costs) => (
                Ran {
                    seconds: limit.unwrap_or_default(),
                    costs,
                },
                true,
            ),
        };
        let seconds = ran.seconds;
        total += seconds;
        let decision = ctx
            .report_measured(total / r as f64, ran.metrics(prices))
            .await?;
        if cut {
            ctx.give_up(s3tune_hpo::CutOff::reason(r, seconds));
            return Ok(());
        }
        if decision == Decision::Stop {
            return Ok(());
        }
    }
    Ok(())
}

/// Each repeat's seconds from the running means a trial reported.
pub fn repeats_of(means: &[f64]) -> Vec<f64> {
    means
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let before = if i == 0 { 0.0 } else { means[i - 1] * i as f64 };
            m * (i + 1) as f64 - before
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_come_back_from_running_means() {
        let got = repeats_of(&[2.0, 3.0, 4.0]);
        let want = [2.0, 4.0, 6.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
    }
}
