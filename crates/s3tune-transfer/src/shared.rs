//! What every transfer run on one [`crate::Transfer`] shares: the progress counters, the
//! `max_bandwidth` bucket and the budget of requests in flight.
//!
//! The budget is boto3's meaning of `max_concurrency` (s3transfer's
//! `max_request_concurrency`, the AWS CLI's `max_concurrent_requests`): requests in
//! flight across *every* transfer a transfer manager runs at once, not per object. A
//! recursive transfer of a thousand small objects therefore has `max_concurrency` GETs
//! in flight, however many objects are open; one large object's parts and many small
//! objects draw on the same slots. A request holds its slot from the moment it is sent
//! until its body is read or its upload answered.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::bandwidth::Limiter;
use crate::config::TransferConfig;
use crate::stats::Progress;

/// A request's place in the budget; dropping it frees the place.
pub(crate) type Slot = OwnedSemaphorePermit;

/// Shared by the transfers of one [`crate::Transfer`].
#[derive(Debug)]
pub(crate) struct Shared {
    /// Bytes and attempts so far.
    pub progress: Arc<Progress>,
    /// `max_bandwidth` over everything in flight, if capped.
    pub limiter: Option<Limiter>,
    budget: Arc<Semaphore>,
}

impl Shared {
    /// Sized by `config`: `max_concurrency` slots (one without `use_threads`).
    pub fn new(config: &TransferConfig, progress: Arc<Progress>) -> Self {
        Self {
            progress,
            limiter: config.max_bandwidth.map(Limiter::new),
            budget: Arc::new(Semaphore::new(config.concurrency().max(1))),
        }
    }

    /// Waits for a free place among the requests in flight.
    pub async fn slot(&self) -> Slot {
        Arc::clone(&self.budget)
            .acquire_owned()
            .await
            .expect("the request budget is never closed")
    }
}
