//! The live display of a tuning run on stderr: trials done, the best so far against the
//! baseline, the running trial's configuration and its download's progress. On a
//! terminal it is a two-line progress bar; elsewhere (CI logs, pipes) one line per trial.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use s3tune_hpo::{Config, Decision, Event, History, Objective, Status, Trial};

use crate::experiment::{ProgressSlot, knobs};

/// Output on stderr that keeps out of the bar's way.
#[derive(Clone)]
pub struct Display {
    bar: Option<ProgressBar>,
}

impl Display {
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix}\n{msg} {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}",
                )
                .expect("valid template"),
            );
            bar
        });
        Self { bar }
    }

    /// Removes the bar (before the results are printed).
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// A line of information.
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// What is happening now (the bar's message; printed when there is no bar).
    pub fn status(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(text.to_owned()),
            None if !text.is_empty() => eprintln!("{text}"),
            None => {}
        }
    }

    /// Follows a tuning run of a study with `objective`, moving `bytes` per transfer.
    pub fn start(
        &self,
        objective: Objective,
        baseline: Option<Config>,
        baseline_name: &'static str,
        bytes: u64,
        slot: ProgressSlot,
    ) -> Live {
        let ticker = self.bar.clone().map(|bar| {
            tokio::spawn(async move {
                loop {
                    if let Some(p) = slot.lock().expect("progress slot").clone() {
                        bar.set_length(p.total());
                        bar.set_position(p.done());
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        });
        Live {
            display: self.clone(),
            state: Mutex::new(State {
                objective,
                baseline,
                baseline_name,
                baseline_value: None,
                done: 0,
                seen: History::default(),
                started: Instant::now(),
            }),
            bytes,
            ticker,
        }
    }
}

struct State {
    objective: Objective,
    baseline: Option<Config>,
    /// What the baseline is, for the headline: `boto3's defaults`.
    baseline_name: &'static str,
    baseline_value: Option<f64>,
    done: usize,
    /// The trials this run has seen: the best among them by the study's one rule.
    seen: History,
    started: Instant,
}

impl State {
    fn trial(&mut self, id: u64) -> Option<&mut Trial> {
        self.seen.trials.iter_mut().find(|t| t.id == id)
    }

    fn best(&self) -> Option<(u64, f64)> {
        let t = self.seen.best(&self.objective)?;
        Some((t.id, t.value()?))
    }
}

/// The display of one tuning run.
pub struct Live {
    display: Display,
    state: Mutex<State>,
    bytes: u64,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

fn describe(config: &Config) -> String {
    config
        .iter()
        .map(|(k, v)| format!("{k}={}", knobs::show(k, v)))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Live {
    fn headline(&self, s: &State) -> String {
        let best = match (s.best(), s.baseline_value) {
            (Some((id, v)), Some(b)) => format!(
                "best {v:.3} s ({:.0} MB/s, trial {id}) = {:.2}x {} ({b:.3} s)",
                self.bytes as f64 / v / 1e6,
                b / v,
                s.baseline_name
            ),
            (Some((id, v)), None) => format!("best {v:.3} s (trial {id})"),
            _ => "no result yet".into(),
        };
        format!(
            "[{}] {} trials done · {best}",
            humantime::format_duration(Duration::from_secs(s.started.elapsed().as_secs())),
            s.done
        )
    }

    pub fn event(&self, event: &Event) {
        let mut s = self.state.lock().expect("display state");
        match event {
            Event::Started(r) => {
                s.seen.trials.push(r.trial.clone());
                self.display.status(&format!(
                    "trial {}: {}",
                    r.trial.id,
                    describe(&r.trial.config)
                ));
            }
            Event::Report {
                trial,
                step,
                value,
                decision,
            } => {
                let config = s.trial(*trial).map(|t| {
                    t.reports.push(*value);
                    describe(&t.config)
                });
                if let Some(bar) = &self.display.bar {
                    let cut = if *decision == Decision::Stop {
                        " — stopped early by ASHA"
                    } else {
                        ""
                    };
                    bar.set_message(format!(
                        "trial {trial}: run {step} mean {value:.3} s{cut}; {}",
                        config.unwrap_or_default()
                    ));
                }
            }
            Event::Finished {
                trial,
                status,
                error,
            } => {
                s.done += 1;
                let (value, config) = match s.trial(*trial) {
                    Some(t) => {
                        t.status = *status;
                        (t.reports.last().copied(), t.config.clone())
                    }
                    None => (None, Config::default()),
                };
                if let (Some(v), Status::Completed | Status::Stopped) = (value, status)
                    && s.baseline.as_ref() == Some(&config)
                    && s.baseline_value.is_none()
                {
                    s.baseline_value = Some(v);
                }
                let outcome = match (status, value) {
                    (Status::Completed, Some(v)) => {
                        format!("{v:.3} s ({:.0} MB/s)", self.bytes as f64 / v / 1e6)
                    }
                    (Status::Stopped, Some(v)) => format!(
                        "stopped after a {v:.3} s run ({})",
                        error.as_deref().unwrap_or("")
                    ),
                    (Status::Failed, _) => format!("failed: {}", error.as_deref().unwrap_or("")),
                    _ => format!("{status:?}: {}", error.as_deref().unwrap_or("")).to_lowercase(),
                };
                self.display.line(&format!(
                    "trial {trial:>3} {outcome:<40} {}",
                    describe(&config)
                ));
                if let Some(bar) = &self.display.bar {
                    bar.set_prefix(self.headline(&s));
                }
            }
            Event::Lost(trials) => self.display.line(&lost_line(trials)),
        }
    }

    pub fn finish(self) {
        if let Some(t) = &self.ticker {
            t.abort();
        }
        let s = self.state.lock().expect("display state");
        let line = self.headline(&s);
        if let Some(bar) = &self.display.bar {
            bar.set_prefix(line);
            bar.set_message("");
        }
    }
}

/// What a display says of trials found lost (their worker gone).
pub fn lost_line(trials: &[u64]) -> String {
    let list: Vec<String> = trials.iter().map(u64::to_string).collect();
    format!(
        "trial{} {} lost: {} worker is gone; {} configuration may be tried again",
        if trials.len() == 1 { "" } else { "s" },
        list.join(", "),
        if trials.len() == 1 { "its" } else { "their" },
        if trials.len() == 1 { "its" } else { "their" },
    )
}
