//! A token bucket that is safe to share between tasks and never held across `.await`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tokens (bytes or requests) refilled at `rate` per second up to `burst`.
///
/// Bandwidth shaping uses [`TokenBucket::reserve`]: the caller takes the tokens it needs
/// at once, going into debt if need be, and waits out the debt before sending. The debt
/// makes the long-run rate exact however coarse the timer is: oversleeping by a
/// millisecond only leaves tokens for the next piece (as long as `burst` covers a few
/// milliseconds of traffic). Callers that share one bucket are served in the order they
/// reserved, which keeps a shared link fair between connections.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A bucket refilled at `rate` tokens/s, holding at most `burst`, starting full.
    #[must_use]
    pub fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            state: Mutex::new(State {
                tokens: burst,
                last: Instant::now(),
            }),
        }
    }

    /// A bucket for shaping `rate` bytes/s sent in pieces of up to `piece` bytes.
    #[must_use]
    pub fn for_bandwidth(rate: f64, piece: usize) -> Self {
        // Room for two pieces or 5 ms of traffic, whichever is more (see the type's docs).
        Self::new(rate, (2.0 * piece as f64).max(rate * 0.005))
    }

    /// The refill rate in tokens per second.
    #[must_use]
    pub fn rate(&self) -> f64 {
        self.rate
    }

    fn refill(&self, state: &mut State, now: Instant) {
        let elapsed = now.saturating_duration_since(state.last).as_secs_f64();
        state.tokens = (state.tokens + elapsed * self.rate).min(self.burst);
        if now > state.last {
            state.last = now;
        }
    }

    /// Takes `n` tokens now and returns how long the caller must wait before using them.
    pub fn reserve(&self, n: u64, now: Instant) -> Duration {
        let mut s = self.state.lock().expect("token bucket lock poisoned");
        self.refill(&mut s, now);
        s.tokens -= n as f64;
        if s.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-s.tokens / self.rate)
        }
    }

    /// Takes one token if there is one; never goes into debt (admission control).
    pub fn try_take(&self, now: Instant) -> bool {
        let mut s = self.state.lock().expect("token bucket lock poisoned");
        self.refill(&mut s, now);
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_paces_at_rate() {
        let b = TokenBucket::new(1000.0, 0.0);
        let t0 = Instant::now();
        // 500 tokens from an empty bucket: half a second of debt.
        let w = b.reserve(500, t0);
        assert!((w.as_secs_f64() - 0.5).abs() < 1e-6, "{w:?}");
        // 250 ms later the debt is 250 tokens; another 250 makes it 500 again.
        let w = b.reserve(250, t0 + Duration::from_millis(250));
        assert!((w.as_secs_f64() - 0.5).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn burst_caps_savings() {
        let b = TokenBucket::new(1000.0, 100.0);
        let t0 = Instant::now();
        // After a long idle time only `burst` tokens are there.
        assert_eq!(b.reserve(100, t0 + Duration::from_secs(10)), Duration::ZERO);
        assert!(b.reserve(100, t0 + Duration::from_secs(10)) > Duration::ZERO);
    }

    #[test]
    fn try_take_admits_up_to_rate() {
        let b = TokenBucket::new(10.0, 10.0);
        let t0 = Instant::now();
        let admitted = (0..20).filter(|_| b.try_take(t0)).count();
        assert_eq!(admitted, 10);
        assert!(b.try_take(t0 + Duration::from_millis(150)));
    }
}
