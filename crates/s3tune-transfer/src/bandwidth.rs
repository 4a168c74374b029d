//! `max_bandwidth`: one token bucket over the whole transfer, as boto3's leaky bucket.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Paces bytes to `rate` per second across all of a transfer's tasks.
///
/// Each reader takes the tokens for the piece it just read and sleeps off any debt before
/// reading on; debt (rather than refusal) keeps the long-run rate exact whatever the
/// piece size and timer resolution. The bucket holds at most 50 ms of tokens so that a
/// pause cannot be followed by a burst far above the cap.
#[derive(Debug)]
pub(crate) struct Limiter {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl Limiter {
    pub fn new(rate: u64) -> Self {
        let rate = rate as f64;
        Self {
            rate,
            burst: rate * 0.05,
            state: Mutex::new((0.0, Instant::now())),
        }
    }

    /// Takes `n` bytes' worth of tokens and waits until they are paid for.
    pub async fn take(&self, n: u64) {
        let wait = {
            let mut s = self.state.lock().expect("limiter lock poisoned");
            let now = Instant::now();
            let refill = now.saturating_duration_since(s.1).as_secs_f64() * self.rate;
            s.0 = (s.0 + refill).min(self.burst) - n as f64;
            s.1 = now;
            if s.0 >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-s.0 / self.rate)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}
