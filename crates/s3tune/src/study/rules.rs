//! A new transfer study's no-search baselines: CRT's formula and AzCopy's climb
//! (`experiment::auto`) as the settings of the client it measures, made once when the
//! study is created and stored with it (so every worker and every report has them).

use s3tune_hpo::Space;
use s3tune_transfer::Direction;

use super::{EmulatedNetwork, Rule, TransferSettings, Workload};
use crate::commands::Stop;
use crate::commands::display::Display;
use crate::experiment::auto::{self, CLIMB_PART};
use crate::experiment::clients::crt::DEFAULT_TARGET_GBPS;
use crate::experiment::{Runner, knobs};

/// The throughput the rules plan for: on the emulator the link its network imitates (its
/// link times the scaling, since every bandwidth was divided alike), elsewhere CRT's
/// default target. Gb/s.
pub fn target_gbps(emulated: Option<&EmulatedNetwork>) -> f64 {
    emulated
        .and_then(|e| e.link_bytes_per_sec.map(|l| l * e.scale.unwrap_or(1.0)))
        .map_or(DEFAULT_TARGET_GBPS, |bytes| {
            (bytes * 8.0 / 1e9 * 10.0).round() / 10.0
        })
}

fn direction(s: &TransferSettings) -> Direction {
    match s.workload {
        Workload::Download => Direction::Download,
        Workload::Upload => Direction::Upload,
    }
}

/// CRT's formula for the study `s` of `space`.
pub fn crt_rule(s: &TransferSettings, space: &Space) -> Rule {
    let target = target_gbps(s.emulated.as_ref());
    let sizing = auto::crt_formula(target, direction(s), s.object_bytes);
    let config = s.client.sized(&sizing, space, direction(s));
    Rule {
        name: "crt".into(),
        label: format!(
            "CRT's formula at {target} Gb/s: {} connections, {} parts",
            sizing.connections,
            bytesize::ByteSize(sizing.part.unwrap_or_default())
                .display()
                .iec()
        ),
        config,
    }
}

/// How measuring AzCopy's climb ended.
pub enum Climbed {
    /// It settled: the rule.
    Rule(Rule),
    /// A step failed (the reason was said): the study goes on without the rule.
    Failed,
    /// Ctrl-C.
    Interrupted,
}

/// AzCopy's climb for the study `s` of `space`, measured with `runner`. A step whose
/// transfer fails leaves the rule out, said in one line: the client's trials will show
/// the same failure, with its reason, where it matters.
pub async fn climb_rule(
    s: &TransferSettings,
    space: &Space,
    runner: &Runner,
    display: &Display,
    stop: &Stop,
) -> Climbed {
    let dir = direction(s);
    let mut step = 0;
    let climbed = auto::climb(256, |c| {
        step += 1;
        let config = s.client.sized(&auto::climb_step(c), space, dir);
        let tag = format!("climb-{step}");
        display.status(&format!(
            "auto: AzCopy's climb, step {step}: {c} connections"
        ));
        async move {
            match stop.or_stop(runner.once(&config, &tag)).await {
                Ok(r) => r.map_err(|e| anyhow::anyhow!("AzCopy's climb at {c} connections: {e}")),
                Err(i) => Err(anyhow::Error::new(i)),
            }
        }
    })
    .await;
    display.status("");
    let climbed = match climbed {
        Ok(c) => c,
        Err(e) if e.downcast_ref::<crate::commands::Interrupted>().is_some() => {
            return Climbed::Interrupted;
        }
        Err(e) => {
            display.line(&format!("{e:#}: the climb is left out"));
            return Climbed::Failed;
        }
    };
    let config = s
        .client
        .sized(&auto::climb_step(climbed.connections), space, dir);
    let times: Vec<String> = climbed
        .steps
        .iter()
        .map(|(_, secs)| format!("{secs:.2}"))
        .collect();
    let shown: Vec<String> = config
        .iter()
        .map(|(k, v)| format!("{k}={}", knobs::show(k, v)))
        .collect();
    display.line(&format!(
        "AzCopy's climb: {} connections ({} s): {}",
        climbed.path(),
        times.join(", "),
        shown.join(" ")
    ));
    Climbed::Rule(Rule {
        name: "climb".into(),
        label: format!(
            "AzCopy's climb ({}): {} connections, {} parts",
            climbed.path(),
            climbed.connections,
            bytesize::ByteSize(CLIMB_PART).display().iec()
        ),
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_plan_for_the_link_the_emulator_imitates() {
        let scaled = EmulatedNetwork {
            description: String::new(),
            link_bytes_per_sec: Some(156.25e6),
            scale: Some(8.0),
            get_rate: None,
            put_rate: None,
        };
        assert_eq!(target_gbps(Some(&scaled)), 10.0);
        assert_eq!(target_gbps(None), DEFAULT_TARGET_GBPS);
    }
}
