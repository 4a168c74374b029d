//! What a transfer used of the machine: the peak resident memory and the CPU seconds of
//! the process that moved the bytes.
//!
//! - A client run as a program is started under s3tune itself ([`CHILD_ENTRY`]), which
//!   runs it, waits for it and reads `getrusage(RUSAGE_CHILDREN)`: the kernel's own
//!   figures for that program and every process it waited for — its peak RSS (the
//!   largest of them) and its user and system time. Exact, and untouched by other
//!   trials running beside it.
//! - s3tune's engine runs in s3tune's process: the peak RSS is the process's over the
//!   run (its high-water mark reset as the run starts, `/proc/self/clear_refs`), and the
//!   CPU seconds are the process's over the run, less those of the embedded emulator's
//!   threads when it serves in the same process — a program client is not charged the
//!   server's work either. Both include other trials in the same process, so a limit on
//!   them needs one trial at a time there (the default).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use nix::sys::resource::{UsageWho, getrusage};
use s3tune_emulator::cpu::ThreadCpu;

/// The first argument that makes s3tune measure a program for a trial instead of
/// running a command: `s3tune __measure-child OUT PROGRAM ARGS…` (not for users).
pub const CHILD_ENTRY: &str = "__measure-child";

/// What one process used.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// Peak resident set size, bytes.
    pub max_rss_bytes: u64,
    /// User plus system CPU seconds.
    pub cpu_seconds: f64,
    /// The signal that killed the program, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

/// Runs as [`CHILD_ENTRY`] when s3tune was started so: the program's exit code (128 +
/// the signal that killed it), its usage written to OUT. `None`: an ordinary command.
pub fn child_main() -> Option<ExitCode> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_none_or(|a| a != CHILD_ENTRY) {
        return None;
    }
    let [_, out, program, rest @ ..] = args.as_slice() else {
        eprintln!("s3tune: error: {CHILD_ENTRY} needs OUT PROGRAM [ARGS…]");
        return Some(ExitCode::from(2));
    };
    let mut child = match std::process::Command::new(program).args(rest).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "s3tune: error: cannot start {}: {e}",
                program.to_string_lossy()
            );
            return Some(ExitCode::from(127));
        }
    };
    // Who to end when the run is cut, so that this measure is still written.
    let _ = std::fs::write(pid_path(Path::new(out)), child.id().to_string());
    let status = match child.wait() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("s3tune: error: cannot wait for the measured program: {e}");
            return Some(ExitCode::from(1));
        }
    };
    use std::os::unix::process::ExitStatusExt;
    if let Some(mut usage) = children() {
        usage.signal = status.signal();
        let text = serde_json::to_string(&usage).expect("usage serializes");
        if let Err(e) = std::fs::write(out, text) {
            eprintln!(
                "s3tune: error: cannot write {}: {e}",
                Path::new(out).display()
            );
        }
    }
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    Some(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// The usage of this process's children that have been waited for.
fn children() -> Option<Usage> {
    let r = getrusage(UsageWho::RUSAGE_CHILDREN).ok()?;
    Some(Usage {
        // Linux gives ru_maxrss in KiB.
        max_rss_bytes: u64::try_from(r.max_rss()).unwrap_or(0) * 1024,
        cpu_seconds: seconds(r.user_time()) + seconds(r.system_time()),
        signal: None,
    })
}

fn seconds(t: nix::sys::time::TimeVal) -> f64 {
    t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6
}

/// The program and arguments that run `program args` measured, the usage written to
/// `out` (read it back with [`read`]).
pub fn wrapped(
    program: &str,
    args: &[String],
    out: &Path,
) -> std::io::Result<(String, Vec<String>)> {
    let me = std::env::current_exe()?;
    let mut all = vec![
        CHILD_ENTRY.to_owned(),
        out.display().to_string(),
        program.to_owned(),
    ];
    all.extend(args.iter().cloned());
    Ok((me.display().to_string(), all))
}

/// Where the measuring parent writing to `out` keeps its program's process id.
fn pid_path(out: &Path) -> std::path::PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".pid");
    name.into()
}

/// Ends the program measured into `out` (SIGKILL) while its measuring parent lives on to
/// write what it used: a run cut at its limit is still measured. False when the program
/// is not known (not started yet, or already gone).
pub fn end_measured(out: &Path) -> bool {
    use nix::sys::signal::{Signal, kill};
    let Some(pid) = std::fs::read_to_string(pid_path(out))
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
    else {
        return false;
    };
    kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL).is_ok()
}

/// The usage a measured run wrote to `out`, if it did.
pub fn read(out: &Path) -> Option<Usage> {
    serde_json::from_str(&std::fs::read_to_string(out).ok()?).ok()
}

/// Measures runs of s3tune's engine in this process; knows the embedded emulator's
/// threads when it serves in the same process.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    server: Option<Arc<ThreadCpu>>,
}

impl Meter {
    /// A meter that leaves out `server`'s threads' CPU.
    pub fn new(server: Option<Arc<ThreadCpu>>) -> Self {
        Self { server }
    }

    /// Starts measuring a run.
    pub fn start(&self) -> InProcess {
        InProcess::start(self.server.as_ref())
    }
}

/// A run of s3tune's engine being measured in this process.
pub struct InProcess {
    cpu: f64,
    server: Option<(Arc<ThreadCpu>, f64)>,
    peak_reset: bool,
    start_rss: Option<u64>,
}

impl InProcess {
    /// Starts measuring: resets the process's peak RSS; `server`: the embedded
    /// emulator's threads, whose CPU is not the engine's.
    pub fn start(server: Option<&Arc<ThreadCpu>>) -> Self {
        // "5" resets the peak RSS to the current RSS (Linux ≥ 4.0).
        let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        Self {
            start_rss: status_kib("VmRSS:").map(|k| k * 1024),
            cpu: own_cpu(),
            server: server.and_then(|s| Some((Arc::clone(s), s.seconds()?))),
            peak_reset,
        }
    }

    /// What the process used since [`InProcess::start`], as a run's costs with
    /// `buffered` (the engine's own peak) and `requests`; the peak RSS is `None` when it
    /// could not be reset (it would be the process's lifetime peak).
    pub fn costs(
        &self,
        buffered: Option<u64>,
        requests: super::costs::Requests,
    ) -> super::costs::Costs {
        let (memory, cpu) = self.finish();
        super::costs::Costs {
            memory_bytes: memory,
            buffered_bytes: buffered,
            start_rss_bytes: self.start_rss,
            cpu_seconds: Some(cpu),
            requests: Some(requests),
        }
    }

    /// What the process used since [`InProcess::start`], for a run cut at its limit
    /// (its requests and buffers are not known then).
    pub fn cut(&self) -> super::costs::Costs {
        let (memory, cpu) = self.finish();
        super::costs::Costs {
            memory_bytes: memory,
            start_rss_bytes: self.start_rss,
            cpu_seconds: Some(cpu),
            ..Default::default()
        }
    }

    /// The peak RSS and CPU seconds since [`InProcess::start`].
    pub fn finish(&self) -> (Option<u64>, f64) {
        let server = self
            .server
            .as_ref()
            .and_then(|(s, at)| Some(s.seconds()? - at))
            .unwrap_or(0.0);
        let cpu = (own_cpu() - self.cpu - server).max(0.0);
        let peak = self.peak_reset.then(peak_rss).flatten();
        (peak, cpu)
    }
}

/// This process's CPU seconds so far.
fn own_cpu() -> f64 {
    getrusage(UsageWho::RUSAGE_SELF)
        .map_or(0.0, |r| seconds(r.user_time()) + seconds(r.system_time()))
}

/// The process's peak RSS since it was last reset (`VmHWM`), bytes.
pub fn peak_rss() -> Option<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}

/// The figure of `field` in `/proc/self/status`, KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
