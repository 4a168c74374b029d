//! One run of a client's process: started in a guarded process group (gone with the
//! run however it ends, even with s3tune killed), its stdout kept for the time it
//! reports, its stderr in the run's folder for the reason of a failure, and ended at the
//! run's limit.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use s3tune_emulator::Stats;
use s3tune_hpo::backend::{Group, REPORT_PREFIX, TrialError, startable, stderr_tail, with_tail};
use tokio::io::AsyncReadExt;

use super::{Invocation, Timing};
use crate::experiment::costs::{Costs, Ran, Requests, Run};
use crate::experiment::usage;

/// A client timed by its own report starts its interpreter first (0.1–0.5 s of Python
/// here) outside the time it reports: its process may run this much past the run's
/// limit before it is cut.
const START_ALLOWANCE: Duration = Duration::from_secs(2);

/// How long a measuring parent may take to write its measure once its program is ended.
const MEASURE_GRACE: Duration = Duration::from_secs(2);

/// Runs `inv` (a run of `client`, for messages) with its files written into `dir`:
/// its seconds as `inv.timing` says, or cut when it ran past `limit`; with its peak
/// memory and CPU seconds (up to the cut), measured by s3tune around it. With `watch`
/// (the embedded emulator's counters), a client timed from start to exit is timed from
/// its first request instead, as one that reports its own time is, and its requests
/// are counted by the server.
pub async fn run(
    inv: &Invocation,
    dir: &Path,
    client: &str,
    limit: Option<Duration>,
    watch: Option<&Stats>,
) -> Result<Run, TrialError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the run's folder {}: {e}", dir.display()))?;
    for (path, text) in &inv.files {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let path = inv
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| std::ffi::OsStr::new(v));
    startable(&inv.program, path)
        .map_err(|e| TrialError::Config(format!("cannot start `{}`: {e}", inv.program)))?;
    // How the client was started, for whoever looks into the run's folder (its
    // environment is not written: it may hold credentials).
    let line: Vec<&str> = std::iter::once(inv.program.as_str())
        .chain(inv.args.iter().map(String::as_str))
        .collect();
    let _ = std::fs::write(dir.join("command"), format!("{}\n", line.join(" ")));
    let usage_path = dir.join("usage.json");
    let _ = std::fs::remove_file(&usage_path);
    let _ = std::fs::remove_file(dir.join("usage.json.pid"));
    let (program, args) = usage::wrapped(&inv.program, &inv.args, &usage_path)
        .map_err(|e| TrialError::Config(format!("cannot find s3tune's own program: {e}")))?;
    let err_path = dir.join("std.err");
    let stderr = std::fs::File::create(&err_path)
        .map_err(|e| format!("cannot write {}: {e}", err_path.display()))?;
    if let Some(w) = watch {
        w.mark();
    }
    let requests_before = watch.map(|w| w.by_class.snapshot());
    let requests = || {
        watch
            .zip(requests_before.as_ref())
            .map(|(w, before)| Requests::from_server(&w.by_class.snapshot().since(before)))
    };
    let start = Instant::now();
    let mut group = Group::spawn(&program, &args, |c| {
        c.stdout(Stdio::piped()).stderr(Stdio::from(stderr));
        for k in &inv.unset {
            c.env_remove(k);
        }
        c.envs(inv.env.iter().map(|(k, v)| (k, v)));
    })
    .map_err(|e| TrialError::Config(format!("cannot start `{}`: {e}", inv.program)))?;
    let mut stdout = group.child.stdout.take().expect("stdout is piped");
    let work = async {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out).await;
        let status = group.child.wait().await;
        (out, status)
    };
    let allowance = match inv.timing {
        Timing::Reported => START_ALLOWANCE,
        Timing::Wall => Duration::ZERO,
    };
    let ended = match limit {
        None => Some(work.await),
        Some(l) => tokio::time::timeout(l + allowance, work).await.ok(),
    };
    let Some((out, status)) = ended else {
        // The program first, so that its measuring parent writes what it used.
        if usage::end_measured(&usage_path) {
            let _ = tokio::time::timeout(MEASURE_GRACE, group.child.wait()).await;
        }
        group.kill_and_reap().await;
        return Ok(Run::Cut(measured(usage::read(&usage_path), requests())));
    };
    let requests = requests();
    let mut wall = start.elapsed().as_secs_f64();
    if let Some(first) = watch.and_then(Stats::first_since_mark)
        && let Ok(since) = SystemTime::now().duration_since(first)
    {
        wall = wall.min(since.as_secs_f64());
    }
    let out = String::from_utf8_lossy(&out);
    let _ = std::fs::write(dir.join("std.out"), out.as_bytes());
    let status = status.map_err(|e| format!("cannot wait for {client}: {e}"))?;
    let used = usage::read(&usage_path);
    if !status.success() {
        use std::os::unix::process::ExitStatusExt;
        // Killed under s3tune's measuring parent, which says by which signal.
        let signal = used.and_then(|u| u.signal).or(status.signal());
        let how = match (status.code().filter(|_| signal.is_none()), signal) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(sig)) => format!("was killed by signal {sig}"),
            (None, None) => "ended abnormally".to_owned(),
        };
        let reason = with_tail(format!("{client} {how}"), &stderr_tail(&err_path));
        return Err(TrialError::Failed(reason));
    }
    let seconds = match inv.timing {
        Timing::Wall => wall,
        Timing::Reported => reported(&out).ok_or_else(|| {
            TrialError::Failed(format!(
                "{client} finished without reporting its time (no `{REPORT_PREFIX} {{\"seconds\": …}}` line)"
            ))
        })?,
    };
    if let Some(l) = limit
        && seconds > l.as_secs_f64()
    {
        // Past the limit within the start-up allowance: cut, as the limit says.
        return Ok(Run::Cut(measured(used, requests)));
    }
    Ok(Run::Whole(Ran {
        seconds,
        costs: measured(used, requests),
    }))
}

/// A program's costs from its measure and the requests the server counted.
fn measured(used: Option<usage::Usage>, requests: Option<Requests>) -> Costs {
    Costs {
        memory_bytes: used.map(|u| u.max_rss_bytes),
        cpu_seconds: used.map(|u| u.cpu_seconds),
        requests,
        ..Costs::default()
    }
}

/// The seconds of the last report line in `out`.
fn reported(out: &str) -> Option<f64> {
    out.lines()
        .filter_map(|l| l.trim_start().strip_prefix(REPORT_PREFIX))
        .filter_map(|json| serde_json::from_str::<serde_json::Value>(json.trim()).ok())
        .filter_map(|v| v.get("seconds").and_then(serde_json::Value::as_f64))
        .rfind(|s| s.is_finite() && *s >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_report_with_seconds_is_the_time() {
        let out = "noise\n[tune-metric]: {\"seconds\": 1.5}\n[tune-metric]: {\"epoch\": 1}\n[tune-metric]: {\"seconds\": 2.25, \"startup\": 0.3}\n";
        assert_eq!(reported(out), Some(2.25));
        assert_eq!(reported("[tune-metric]: {\"seconds\": -1}\n"), None);
        assert_eq!(reported("nothing\n"), None);
    }
}
