//! Who runs a trial. A worker's name says which process on which machine it is, so any
//! process on the same machine can tell at once that it is gone (a crashed run, a killed
//! worker) instead of waiting for its heartbeat to go stale.

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// This process as a worker: `HOST:PID:BOOT`, where BOOT tells one boot of the machine
/// from another (so a PID of a previous boot, or of a machine that shares the host name,
/// is not taken for this one's).
#[must_use]
pub fn this_process() -> String {
    format!("{}:{}:{}", host(), std::process::id(), boot())
}

/// Whether `worker` names a process of this machine, this boot, that no longer exists.
/// `false` for anything else: a process of another machine, a name of another form.
#[must_use]
pub fn is_gone(worker: &str) -> bool {
    let mut parts = worker.rsplitn(3, ':');
    let (Some(b), Some(pid), Some(h)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    if h != host() || b != boot() || pid <= 0 || pid as u32 == std::process::id() {
        return false;
    }
    kill(Pid::from_raw(pid), None) == Err(Errno::ESRCH)
}

fn host() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The first 8 characters of the kernel's boot id (Linux), else `-`.
fn boot() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().chars().filter(|c| *c != '-').take(8).collect())
        .filter(|id: &String| !id.is_empty())
        .unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_child_is_gone() {
        assert!(!is_gone(&this_process()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let name = format!("{}:{pid}:{}", host(), boot());
        assert!(is_gone(&name), "{name}");
        // Another machine's, another boot's, or another form: not known to be gone.
        assert!(!is_gone(&format!("elsewhere.example:{pid}:{}", boot())));
        assert!(!is_gone(&format!("{}:{pid}:00000000", host())));
        assert!(!is_gone("s3tune-1234"));
    }
}
