//! Delivery slots: how many deliveries this process has in flight, per host
//! and in all. A delivery runs only while it holds a [`Slot`]; the worker
//! keeps claiming other jobs meanwhile, so a slow or dead host ties up its
//! own few slots and nothing else.
//!
//! Finished deliveries are also recorded here, in groups ([`DeliverySlots::finish`]):
//! whoever finds no group being written writes every id waiting, so under
//! load one `DELETE` (one commit) records many deliveries, and alone it
//! records one at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::store::{Store, StoreError};

/// Deliveries in flight in one process, all hosts together. Enough to keep
/// hundreds of hosts busy; bounded so a burst cannot open unbounded sockets.
pub const TOTAL_IN_FLIGHT: usize = 64;

/// The in-flight counts of one process.
#[derive(Debug)]
pub struct DeliverySlots {
    /// Deliveries in flight per host; hosts with none are absent.
    per_host: Mutex<HashMap<String, usize>>,
    /// The most deliveries one host may have in flight.
    cap: usize,
    /// Permits for all deliveries in flight ([`TOTAL_IN_FLIGHT`]).
    total: Arc<Semaphore>,
    /// Ids of finished deliveries not yet deleted.
    finished: Mutex<Vec<i64>>,
    /// Held while one group of finished deliveries is being deleted.
    writing: tokio::sync::Mutex<()>,
    /// Hosts whose breaker a delivery of this process tripped, until one
    /// answers again: jobs claimed before the trip read the host again
    /// instead of trusting the claim's (older) view of it.
    tripped: Mutex<std::collections::HashSet<String>>,
}

/// The right to run one delivery to one host; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<DeliverySlots>,
    host: String,
    _total: OwnedSemaphorePermit,
}

impl DeliverySlots {
    /// Slots for at most `per_host` deliveries to one host at a time.
    pub fn new(per_host: usize) -> Arc<DeliverySlots> {
        Arc::new(DeliverySlots {
            per_host: Mutex::new(HashMap::new()),
            cap: per_host.max(1),
            total: Arc::new(Semaphore::new(TOTAL_IN_FLIGHT)),
            finished: Mutex::new(Vec::new()),
            writing: tokio::sync::Mutex::new(()),
            tripped: Mutex::new(std::collections::HashSet::new()),
        })
    }

    /// Records that a delivery here tripped `host`'s breaker (or, with
    /// `false`, that the host answered again).
    pub fn set_tripped(&self, host: &str, tripped: bool) {
        let mut set = self.tripped.lock().unwrap_or_else(|p| p.into_inner());
        if tripped {
            set.insert(host.to_owned());
        } else {
            set.remove(host);
        }
    }

    /// Whether a delivery here tripped `host`'s breaker since it last answered.
    pub fn was_tripped(&self, host: &str) -> bool {
        let set = self.tripped.lock().unwrap_or_else(|p| p.into_inner());
        set.contains(host)
    }

    /// The most deliveries one host may have in flight.
    pub fn cap(&self) -> usize {
        self.cap
    }

    fn counts(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        // The map stays consistent even if a holder panicked: every change is
        // one insert or remove.
        self.per_host.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hosts that have all their slots in use now.
    pub fn busy_hosts(&self) -> Vec<String> {
        self.counts()
            .iter()
            .filter(|(_, n)| **n >= self.cap)
            .map(|(h, _)| h.clone())
            .collect()
    }

    /// A slot for `host`, or None when the host already has `per_host`
    /// deliveries in flight. Waits only for the process-wide limit.
    pub async fn take(self: &Arc<Self>, host: &str) -> Option<Slot> {
        {
            let mut counts = self.counts();
            let n = counts.entry(host.to_owned()).or_insert(0);
            if *n >= self.cap {
                return None;
            }
            *n += 1;
        }
        let slot = |permit| Slot {
            slots: self.clone(),
            host: host.to_owned(),
            _total: permit,
        };
        match self.total.clone().acquire_owned().await {
            Ok(permit) => Some(slot(permit)),
            // The semaphore is never closed; give the host slot back anyway.
            Err(_) => {
                self.give_back(host);
                None
            }
        }
    }

    /// Another slot for `host` if one is free now, at once: for a delivery
    /// job with several inboxes on one host, which already holds one.
    pub fn try_take(self: &Arc<Self>, host: &str) -> Option<Slot> {
        let permit = self.total.clone().try_acquire_owned().ok()?;
        let mut counts = self.counts();
        let n = counts.entry(host.to_owned()).or_insert(0);
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(Slot {
            slots: self.clone(),
            host: host.to_owned(),
            _total: permit,
        })
    }

    /// Deletes the finished delivery `id` from the queue, with whatever
    /// other finished deliveries are waiting: returns once a `DELETE` that
    /// covers `id` has run (or failed: then the job's lease expires and it
    /// runs again, which at-least-once delivery allows).
    pub async fn finish(&self, store: &Store, id: i64) -> Result<(), StoreError> {
        self.finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id);
        let _writing = self.writing.lock().await;
        let ids = std::mem::take(&mut *self.finished.lock().unwrap_or_else(|e| e.into_inner()));
        if ids.is_empty() {
            // A group written while we waited held ours.
            return Ok(());
        }
        store.complete_jobs(&ids).await
    }

    fn give_back(&self, host: &str) {
        let mut counts = self.counts();
        if let Some(n) = counts.get_mut(host) {
            *n -= 1;
            if *n == 0 {
                counts.remove(host);
            }
        }
    }

    /// Waits until no delivery is in flight, or `limit` has passed.
    pub async fn idle(&self, limit: Duration) {
        let all = u32::try_from(TOTAL_IN_FLIGHT).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(limit, self.total.acquire_many(all)).await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.give_back(&self.host);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_host_gets_at_most_its_cap_and_others_are_unaffected() {
        let slots = DeliverySlots::new(2);
        let a1 = slots.take("a.example").await.expect("first");
        let _a2 = slots.take("a.example").await.expect("second");
        assert!(slots.take("a.example").await.is_none(), "over the cap");
        assert_eq!(slots.busy_hosts(), vec!["a.example".to_owned()]);
        let _b = slots.take("b.example").await.expect("another host");
        drop(a1);
        assert!(slots.busy_hosts().is_empty());
        assert!(slots.take("a.example").await.is_some(), "a slot came back");
    }
}
