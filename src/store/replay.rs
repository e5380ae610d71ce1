//! Consumed assertion ids, kept until the assertion could no longer be
//! accepted anyway. A restart must not reopen the window, so the ids live
//! in sled; the guard is bounded, and when it is full of unexpired ids it
//! refuses new ones (fail closed) rather than forgetting old ones.
//!
//! A consumed id reaches the disk with the next flush: at the latest with
//! the request's audit event, whose group commit flushes the whole
//! database before the request is answered.

use super::Store;
use crate::trust::{ReplayError, ReplayGuard};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use time::OffsetDateTime;

/// A [`ReplayGuard`] over the `replay` tree.
pub struct SledReplayGuard {
    store: Store,
    max_entries: usize,
    /// Ids in the tree, expired or not: counted at construction, then kept
    /// up to date by inserts and sweeps (sled's own `len` walks the tree).
    entries: AtomicUsize,
    /// One sweep at a time; the others wait for its result.
    sweeping: Mutex<()>,
    /// The second of the last sweep that left the guard full: until the
    /// clock moves on, another sweep could not free anything, and a burst
    /// of new ids must not turn into a walk of the tree each.
    full_at: AtomicI64,
}

impl std::fmt::Debug for SledReplayGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledReplayGuard")
            .field("max_entries", &self.max_entries)
            .field("entries", &self.entries.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl SledReplayGuard {
    pub(super) fn new(store: Store, max_entries: usize) -> Self {
        let entries = store.replay_tree().len();
        SledReplayGuard {
            store,
            max_entries,
            entries: AtomicUsize::new(entries),
            sweeping: Mutex::new(()),
            full_at: AtomicI64::new(i64::MIN),
        }
    }

    /// Ids currently stored, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.entries.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every id whose time has passed; returns how many.
    pub fn sweep(&self, now: OffsetDateTime) -> Result<usize, ReplayError> {
        let _one = self.sweeping.lock().unwrap_or_else(|p| p.into_inner());
        let tree = self.store.replay_tree();
        let now = now.unix_timestamp();
        let mut removed = 0;
        for item in tree.iter() {
            let (key, value) = item.map_err(unavailable)?;
            if decode(&value).is_some_and(|until| until > now) {
                continue;
            }
            // Only if unchanged: a concurrent consume may have renewed it.
            if tree.compare_and_swap(&key, Some(&value), None as Option<&[u8]>).map_err(unavailable)?.is_ok() {
                removed += 1;
                self.entries.fetch_sub(1, Ordering::AcqRel);
            }
        }
        Ok(removed)
    }

    /// Makes room for one more id, sweeping if the bound is reached.
    fn reserve(&self, now: OffsetDateTime) -> Result<(), ReplayError> {
        if self.len() < self.max_entries {
            return Ok(());
        }
        let full = || ReplayError::Unavailable(format!("replay store holds {} unexpired ids", self.max_entries));
        let second = now.unix_timestamp();
        if self.full_at.load(Ordering::Acquire) >= second {
            return Err(full());
        }
        self.sweep(now)?;
        if self.len() < self.max_entries {
            Ok(())
        } else {
            self.full_at.fetch_max(second, Ordering::AcqRel);
            Err(full())
        }
    }
}

impl ReplayGuard for SledReplayGuard {
    fn consume(&self, key: [u8; 32], remember_until: OffsetDateTime, now: OffsetDateTime) -> Result<(), ReplayError> {
        let tree = self.store.replay_tree();
        let until = remember_until.unix_timestamp().to_be_bytes();
        loop {
            let current = tree.get(key).map_err(unavailable)?;
            match &current {
                // An unreadable value is treated as unexpired: fail closed.
                Some(v) if decode(v).is_none_or(|t| t > now.unix_timestamp()) => return Err(ReplayError::Replayed),
                Some(_) => {}
                None => self.reserve(now)?,
            }
            match tree.compare_and_swap(key, current.as_ref(), Some(&until[..])).map_err(unavailable)? {
                Ok(()) => {
                    if current.is_none() {
                        self.entries.fetch_add(1, Ordering::AcqRel);
                    }
                    return Ok(());
                }
                // Someone else wrote this key in between: look again.
                Err(_) => continue,
            }
        }
    }
}

fn decode(v: &[u8]) -> Option<i64> {
    Some(i64::from_be_bytes(v.try_into().ok()?))
}

fn unavailable(e: sled::Error) -> ReplayError {
    ReplayError::Unavailable(format!("replay store: {e}"))
}
