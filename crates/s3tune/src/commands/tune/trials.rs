//! Running a download study's trials from this process — who downloads (s3tune's
//! engine or boto3, as the study says), the searcher and scheduler the study names, the
//! live display: what `tune` and `worker` share.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use s3tune_hpo::{Limits, Status, StopReason, Store, Study, Tuner};

use super::plan;
use super::runner::{Boto3, Boto3Target, Runner};
use crate::cli::ConnectArgs;
use crate::commands::Stop;
use crate::commands::display::Display;
use crate::experiment::{Experiment, ProgressSlot, Target, emulated};
use crate::report::Settings;

/// The AWS settings a boto3 subprocess needs to reach the same bucket as we do.
fn aws_env(s3: &ConnectArgs) -> Vec<(String, String)> {
    let mut env = Vec::new();
    if let Some(r) = &s3.region {
        env.push(("AWS_DEFAULT_REGION".to_owned(), r.clone()));
    }
    if let Some(p) = &s3.profile {
        env.push(("AWS_PROFILE".to_owned(), p.clone()));
    }
    env
}

/// Who downloads in a trial of `study`, as its settings say: s3tune's engine, or boto3.
#[allow(clippy::too_many_arguments)]
pub(crate) fn make_runner(
    store: &dyn Store,
    study: &Study,
    settings: &Settings,
    target: &Target,
    server: Option<&emulated::Emulated>,
    s3: &ConnectArgs,
    python: &str,
    dest: &Path,
    out: &Path,
    slot: &ProgressSlot,
) -> anyhow::Result<Runner> {
    // The best full trial so far (of earlier runs too): runs slower than a few times it
    // are cut off.
    let best_so_far = store
        .trials(study)?
        .iter()
        .filter(|t| t.trial.status == Status::Completed)
        .filter_map(|t| t.trial.value())
        .fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.min(v))));
    Ok(match settings.client.as_str() {
        "boto3" => {
            let (endpoint, env) = match server {
                Some(s) => (Some(s.endpoint()), s.client_env()),
                None => (s3.endpoint_url.clone(), aws_env(s3)),
            };
            Runner::Boto3(Boto3::new(
                python,
                &study.spec.space,
                Boto3Target {
                    endpoint,
                    bucket: &target.bucket,
                    key: &target.key,
                    env,
                },
                settings.repeats,
                dest,
                out,
            )?)
        }
        _ => Runner::Engine(Experiment {
            target: Arc::new(target.clone()),
            repeats: settings.repeats,
            dest_dir: dest.to_path_buf(),
            slot: slot.clone(),
            best: Arc::new(std::sync::Mutex::new(best_so_far)),
        }),
    })
}

/// Runs trials of a download study from this process until `limits` or `stop`, with the
/// live display; `tune` and `worker` share it.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn download_trials(
    store: &Arc<dyn Store>,
    study: &Study,
    worker: &str,
    runner: &Arc<Runner>,
    slot: &ProgressSlot,
    limits: &Limits,
    heartbeat_timeout: Duration,
    stop: &Stop,
    display: &Display,
) -> anyhow::Result<StopReason> {
    let settings: Settings = serde_json::from_value(study.spec.settings.clone())
        .with_context(|| format!("study `{}` is not a download study", study.spec.name))?;
    let tuner = Tuner {
        store: Arc::clone(store),
        study: study.clone(),
        // Downloads are expensive and the default space has 4 dimensions: the model takes
        // over after the baseline and 4 random points (the library's default of 10 suits
        // cheap benchmark functions).
        searcher: plan::searcher(
            study,
            settings.baseline.clone().into_iter().collect(),
            Some(5),
        )?,
        scheduler: plan::scheduler(study, Some(settings.repeats))?,
        worker: worker.to_owned(),
        heartbeat: plan::heartbeat_every(heartbeat_timeout),
        heartbeat_timeout: Some(heartbeat_timeout),
    };
    let live = display.start(
        settings.baseline.clone(),
        settings.object_bytes,
        slot.clone(),
    );
    let why = tuner
        .run(
            limits,
            |ctx| {
                let runner = Arc::clone(runner);
                async move { runner.trial(ctx).await }
            },
            stop.wait(),
            |event| live.event(event),
        )
        .await?;
    live.finish();
    Ok(why)
}
