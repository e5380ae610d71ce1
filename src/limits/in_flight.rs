//! The global cap on requests in flight. Past it the bridge sheds at once
//! with `OVERLOADED` instead of queueing: a queue in front of SM2 signing
//! only turns overload into timeouts for everyone.
//!
//! A counter, not a semaphore: nothing ever waits for a permit, so the only
//! state is how many are out.

use crate::model::{Reason, Rejection};
use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The cap, shared by every handler (clones share the count).
#[derive(Clone)]
pub struct InFlight {
    count: Arc<Count>,
}

struct Count {
    current: AtomicUsize,
    capacity: usize,
}

/// One request in flight; dropping it frees its place.
#[must_use = "the place is freed as soon as the permit is dropped"]
pub struct InFlightPermit {
    count: Arc<Count>,
}

impl InFlight {
    pub fn new(capacity: NonZeroUsize) -> Self {
        InFlight { count: Arc::new(Count { current: AtomicUsize::new(0), capacity: capacity.get() }) }
    }

    /// Takes a place if one is free; never waits.
    pub fn try_acquire(&self) -> Result<InFlightPermit, Rejection> {
        let capacity = self.count.capacity;
        self.count
            .current
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < capacity).then_some(n + 1))
            .map(|_| InFlightPermit { count: Arc::clone(&self.count) })
            .map_err(|_| Rejection::new(Reason::Overloaded, "too many requests in flight"))
    }

    /// Requests in flight now (a gauge).
    pub fn in_flight(&self) -> usize {
        self.count.current.load(Ordering::Acquire)
    }

    pub fn capacity(&self) -> usize {
        self.count.capacity
    }
}

impl Drop for InFlightPermit {
    fn drop(&mut self) {
        self.count.current.fetch_sub(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for InFlight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight").field("in_flight", &self.in_flight()).field("capacity", &self.capacity()).finish()
    }
}

impl fmt::Debug for InFlightPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InFlightPermit")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(n: usize) -> InFlight {
        InFlight::new(NonZeroUsize::new(n).unwrap())
    }

    #[test]
    fn sheds_past_the_cap_and_a_drop_frees_one() {
        let limit = cap(3);
        let mut held: Vec<InFlightPermit> = (0..3).map(|_| limit.try_acquire().unwrap()).collect();
        assert_eq!(limit.in_flight(), 3);
        let refused = limit.try_acquire().unwrap_err();
        assert_eq!(refused.reason, Reason::Overloaded);
        assert_eq!(refused.retry_after, None);
        assert_eq!(limit.in_flight(), 3, "a refusal takes no place");

        held.pop();
        assert_eq!(limit.in_flight(), 2);
        held.push(limit.try_acquire().unwrap());
        assert!(limit.try_acquire().is_err());

        held.clear();
        assert_eq!(limit.in_flight(), 0);
    }

    #[test]
    fn clones_share_the_count() {
        let limit = cap(1);
        let other = limit.clone();
        let permit = limit.try_acquire().unwrap();
        assert_eq!(other.in_flight(), 1);
        assert!(other.try_acquire().is_err());
        drop(permit);
        assert!(other.try_acquire().is_ok());
    }

    #[test]
    fn never_more_than_the_cap_across_threads() {
        let limit = cap(5);
        let held: Vec<InFlightPermit> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..8)
                .map(|_| s.spawn(|| (0..100).filter_map(|_| limit.try_acquire().ok()).collect::<Vec<_>>()))
                .collect();
            workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
        });
        assert_eq!(held.len(), 5);
        assert_eq!(limit.in_flight(), 5);
        drop(held);
        assert_eq!(limit.in_flight(), 0);
    }
}
