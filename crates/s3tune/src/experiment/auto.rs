//! The best rules that size a transfer without a search, which tuning has to beat to be
//! worth it: CRT's formula and AzCopy's hill climb on concurrency.
//!
//! - **CRT's formula** (aws-c-s3): for a throughput target, ⌈target / 0.4 Gb/s⌉
//!   connections (at least 10), a memory limit by the target, and a download part of a
//!   third of the memory per connection (see `clients::crt`). It needs no measurement:
//!   only the target, which on the emulator is the link the network imitates (S3's
//!   bandwidths before the scaling, since connections scale with them) and elsewhere
//!   CRT's default, 10 Gb/s.
//! - **AzCopy's climb** (`azcopy bench`'s concurrency tuner): 16 connections, then ×4
//!   while a step's throughput grows by at least 75 % of linear (×2 from 256 on); after a
//!   step that does not, back to the last good value with the multiplier shrunk to
//!   1 + (m − 1)/5, until it falls below 1.2. One transfer measures each step; parts are
//!   AzCopy's 8 MiB blocks.
//!
//! Each rule becomes a configuration of the client measured ([`Sizing`] through the
//! client's own knobs): a point every study starts from, and a contender in the race.

use std::future::Future;

use s3tune_transfer::Direction;

use super::clients::{Sizing, crt};

/// AzCopy's block size, the part every step of the climb uses.
pub const CLIMB_PART: u64 = 8 << 20;
/// Where the climb starts.
const CLIMB_START: f64 = 16.0;
/// A step must gain this share of linear growth to count.
const FUDGE: f64 = 0.75;
/// The climb stops once its multiplier is below this.
const MIN_MULTIPLIER: f64 = 1.19;

/// CRT's formula for `target_gbps`, for transfers in `direction` of objects up to
/// `largest` bytes (an upload's part grows to fit S3's 10,000 parts).
pub fn crt_formula(target_gbps: f64, direction: Direction, largest: u64) -> Sizing {
    let memory = crt::memory_limit(target_gbps);
    let part = match direction {
        Direction::Download => crt::download_part(target_gbps, memory),
        Direction::Upload => {
            crt::default_part(direction, target_gbps).max(largest.div_ceil(10_000))
        }
    };
    Sizing {
        connections: crt::connections(target_gbps),
        part: Some(part),
        target_gbps,
        memory,
    }
}

/// The sizing of a climb's step at `connections`: AzCopy's blocks, and (for CRT) a
/// target that plans at least as many connections.
pub fn climb_step(connections: u64) -> Sizing {
    let target_gbps = connections as f64 * 0.4;
    Sizing {
        connections,
        part: Some(CLIMB_PART),
        target_gbps,
        memory: crt::memory_limit(target_gbps),
    }
}

/// What the climb measured and chose.
#[derive(Debug, Clone, PartialEq)]
pub struct Climb {
    /// Each step: connections, and the seconds its transfer took.
    pub steps: Vec<(u64, f64)>,
    /// The connections it settled on.
    pub connections: u64,
}

impl Climb {
    /// `16 → 64 → 16 → 25`.
    pub fn path(&self) -> String {
        self.steps
            .iter()
            .map(|(c, _)| c.to_string())
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

/// AzCopy's climb, up to `max` connections, with `seconds(c)` timing one transfer at
/// `c` connections (throughput is its inverse: the bytes are the same at every step).
pub async fn climb<F, Fut, E>(max: u64, mut seconds: F) -> Result<Climb, E>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<f64, E>>,
{
    let max = max.max(1) as f64;
    let mut steps = Vec::new();
    let mut measure = async |c: f64, steps: &mut Vec<(u64, f64)>| -> Result<f64, E> {
        let c = c.round() as u64;
        let s = seconds(c).await?;
        steps.push((c, s));
        Ok(1.0 / s)
    };
    let mut multiplier = 4.0f64;
    let mut concurrency = CLIMB_START.min(max);
    let mut last = measure(concurrency, &mut steps).await?;
    loop {
        let next = (concurrency * multiplier).min(max);
        if next.round() <= concurrency.round() {
            break;
        }
        let desired = last * (1.0 + (multiplier - 1.0) * FUDGE);
        let speed = measure(next, &mut steps).await?;
        if speed > desired {
            concurrency = next;
            last = speed;
            if multiplier > 2.0 && concurrency >= 255.0 {
                multiplier = 2.0;
            }
        } else {
            multiplier = 1.0 + (multiplier - 1.0) / 5.0;
            if multiplier < MIN_MULTIPLIER {
                break;
            }
            last = measure(concurrency, &mut steps).await?;
        }
    }
    Ok(Climb {
        steps,
        connections: concurrency.round() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link that saturates at `knee` connections.
    async fn run(knee: f64, max: u64) -> Climb {
        climb(
            max,
            |c| async move { Ok::<f64, ()>(1.0 / (c as f64).min(knee)) },
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn the_climb_takes_fourfold_steps_while_they_pay_and_settles_below_the_first_that_does_not()
     {
        // Saturated at 16 already: 64 gains nothing, back to 16 (re-measured), 25.6 gains
        // nothing, the multiplier falls below 1.2: 16.
        let flat = run(10.0, 256).await;
        assert_eq!(flat.connections, 16);
        assert_eq!(flat.path(), "16 → 64 → 16 → 26");
        // Linear up to 200: 16 → 64 pays (4×), 256 does not (200/64 < 3.25), back to 64;
        // ×1.6 = 102 pays (1.6 > 1.45), then ×1.6 = 164 pays, then 262 → capped at 256,
        // gains 200/164 = 1.22 < 1.45: back to 164, multiplier 1.12: stop.
        let steep = run(200.0, 256).await;
        assert_eq!(steep.connections, 164);
        assert_eq!(steep.steps.first(), Some(&(16, 1.0 / 16.0)));
    }

    #[test]
    fn crts_formula_at_10_gbps_is_25_connections_and_32_mib_parts() {
        let s = crt_formula(10.0, Direction::Download, 128 << 20);
        assert_eq!((s.connections, s.part), (25, Some(32 << 20)));
        let up = crt_formula(10.0, Direction::Upload, 200 << 30);
        assert_eq!(up.part, Some((200u64 << 30).div_ceil(10_000)));
    }
}
