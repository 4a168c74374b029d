//! A trial's process group: started under a guard that kills it when the tuner dies,
//! and killed by the tuner however the trial ends.

use std::path::Path;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Child;

/// Becomes the trial (`exec "$@"`: the same process, its exit status and signals its
/// own, its signal dispositions the defaults) after starting a watcher in the same
/// process group that kills the group when its stdin — a pipe from the tuner, never
/// written — reaches its end: the tuner is gone. The trial gets `/dev/null` as stdin,
/// and no copy of the pipe; the watcher holds none of the trial's output, so the
/// trial's stdout ends when the trial does.
pub const GUARD: &str = r#"exec 3<&0
{ while read -r _; do :; done; kill -KILL 0; } <&3 >/dev/null 2>&1 &
exec "$@" 3<&- </dev/null
"#;

/// Whether `program` can be started: a path that is an executable file, or a name found
/// as one on `path` (the trial's `PATH`). Said as the OS would have said it, since the
/// guard's shell starts it.
pub fn startable(program: &str, path: Option<&std::ffi::OsStr>) -> Result<(), std::io::Error> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).and_then(|m| {
            if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                Ok(())
            } else {
                Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
            }
        })
    };
    if program.contains('/') {
        return executable(Path::new(program));
    }
    let path = path.map_or_else(|| std::env::var_os("PATH").unwrap_or_default(), Into::into);
    if std::env::split_paths(&path).any(|dir| executable(&dir.join(program)).is_ok()) {
        Ok(())
    } else {
        Err(std::io::Error::from(std::io::ErrorKind::NotFound))
    }
}

/// The trial's process and its group, killed when dropped — the only way to clean up
/// when the tuner drops the trial's future mid-await (a spent budget, Ctrl-C).
pub struct Group {
    /// The process (the group's leader).
    pub child: Child,
    pgid: Option<Pid>,
    _lifeline: Option<tokio::process::ChildStdin>,
}

impl Group {
    /// Starts `program` with `args` under [`GUARD`] in a process group of its own, as
    /// `configure` sets the command up (environment, stdout, stderr; not stdin, which is
    /// the guard's lifeline): whatever way the caller ends — returns, is dropped, or is
    /// killed with SIGKILL — the whole group dies with it.
    pub fn spawn(
        program: &str,
        args: &[String],
        configure: impl FnOnce(&mut tokio::process::Command),
    ) -> std::io::Result<Self> {
        let mut command = tokio::process::Command::new("/bin/sh");
        command
            .args(["-c", GUARD, "s3tune-guard", program])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .process_group(0);
        configure(&mut command);
        let mut child = command.spawn()?;
        let lifeline = child.stdin.take();
        Ok(Self::new(child, lifeline))
    }

    pub(super) fn new(child: Child, lifeline: Option<tokio::process::ChildStdin>) -> Self {
        // The child leads its own group (`process_group(0)`): the group id is its pid.
        let pgid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw);
        Self {
            child,
            pgid,
            _lifeline: lifeline,
        }
    }

    /// Sends SIGKILL to every process of the group. The group outlives its leader as
    /// long as any member lives, so its id cannot have been reused meanwhile.
    pub fn kill(&self) {
        if let Some(pgid) = self.pgid {
            // ESRCH: nothing left to kill.
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }

    /// Kills the group and waits for the leader (SIGKILL cannot be ignored, so this is
    /// quick), so that no zombie of the trial is left when it has ended.
    pub async fn kill_and_reap(&mut self) {
        self.kill();
        let _ = self.child.wait().await;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
        // Reaps it now if it is already dead; otherwise tokio reaps the dropped child
        // in the background.
        let _ = self.child.try_wait();
    }
}
