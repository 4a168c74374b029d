//! The CPU time of the server's own threads, so that a client running in the same
//! process (s3tune's engine against the embedded emulator) can be charged its own CPU
//! only: the process's CPU less the server's.
//!
//! A thread's time is read from `/proc` (user and system ticks, 1/100 s — Linux reports
//! `USER_HZ`, 100, to user space): for a live thread from its task's `stat`, and for a
//! thread that ends from its own `stat` as it stops, kept in a sum.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Ticks per second in `/proc`'s figures.
const USER_HZ: f64 = 100.0;

/// The CPU time of the threads of one runtime.
#[derive(Debug, Default)]
pub struct ThreadCpu {
    live: Mutex<BTreeSet<u32>>,
    ended_ticks: AtomicU64,
}

impl ThreadCpu {
    /// To be called on each of the runtime's threads as it starts.
    pub fn started(&self) {
        if let Some(tid) = this_thread() {
            self.live.lock().expect("thread set").insert(tid);
        }
    }

    /// To be called on each of the runtime's threads as it stops.
    pub fn stopped(&self) {
        let Some(tid) = this_thread() else { return };
        let ticks = ticks("thread-self").unwrap_or(0);
        self.ended_ticks.fetch_add(ticks, Ordering::Relaxed);
        self.live.lock().expect("thread set").remove(&tid);
    }

    /// Seconds of CPU (user and system) the threads have used so far; `None` where
    /// `/proc` cannot tell.
    #[must_use]
    pub fn seconds(&self) -> Option<f64> {
        let live: Vec<u32> = self
            .live
            .lock()
            .expect("thread set")
            .iter()
            .copied()
            .collect();
        let mut total = self.ended_ticks.load(Ordering::Relaxed);
        for tid in live {
            // A thread that ended since the set was read has been added to the sum.
            total += ticks(&format!("self/task/{tid}")).unwrap_or(0);
        }
        std::fs::metadata("/proc/thread-self")
            .is_ok()
            .then(|| total as f64 / USER_HZ)
    }
}

/// This thread's id.
fn this_thread() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// User plus system ticks of `/proc/{task}/stat` (fields 14 and 15, counted after the
/// command name, which may hold spaces and ends at the last `)`).
fn ticks(task: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{task}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_is_charged_its_time_live_and_after_it_ends() {
        let cpu = std::sync::Arc::new(ThreadCpu::default());
        let before = cpu.seconds().expect("Linux /proc");
        let (c, (tx, rx)) = (std::sync::Arc::clone(&cpu), std::sync::mpsc::channel());
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            c.started();
            let start = std::time::Instant::now();
            let mut x = 0u64;
            while start.elapsed() < std::time::Duration::from_millis(300) {
                x = x.wrapping_mul(31).wrapping_add(7);
            }
            tx.send(x).unwrap();
            done_rx.recv().unwrap();
            c.stopped();
        });
        rx.recv().unwrap();
        let live = cpu.seconds().unwrap() - before;
        done_tx.send(()).unwrap();
        t.join().unwrap();
        let ended = cpu.seconds().unwrap() - before;
        // 0.3 s of spinning, on a machine that may be busy with other tests.
        assert!((0.05..=0.5).contains(&live), "live thread: {live}");
        assert!((live - ended).abs() < 0.05, "{live} then {ended}");
    }
}
