//! Daily quotas per partner (DESIGN §8): a counter per partner and calendar
//! day in UTC+8 (Macau and Guangdong time), in sled so a restart does not
//! hand a partner a fresh day.
//!
//! Per node: with several replicas each counts on its own, so a partner
//! can draw up to its quota once per node until the counters move to shared
//! state (DESIGN §11). Size the quota with the number of nodes in mind.
//!
//! A charge is one atomic read-modify-write of the partner's counter for
//! the day; refused charges do not count. The counter reaches the disk with
//! the next flush, at the latest with the request's audit event.

use super::Store;
use crate::model::{Reason, Rejection};
use crate::policy::UTC8;
use std::cell::Cell;
use time::{Date, OffsetDateTime, Time};

/// The calendar day in UTC+8 at `now`: the day a quota is counted on.
pub fn day_utc8(now: OffsetDateTime) -> Date {
    now.to_offset(UTC8).date()
}

/// The start of `day` in UTC+8, or `None` past the end of the calendar.
fn midnight_utc8(day: Date) -> Option<OffsetDateTime> {
    Some(day.with_time(Time::MIDNIGHT).assume_offset(UTC8))
}

/// A charge the partner's quota for the day could not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("daily quota of {limit} used up until {resets_at}")]
pub struct QuotaExceeded {
    pub limit: u64,
    /// Midnight UTC+8 at the end of the charged day.
    pub resets_at: OffsetDateTime,
}

impl QuotaExceeded {
    /// How long until the quota resets, from `now` (zero if past).
    pub fn retry_after(&self, now: OffsetDateTime) -> std::time::Duration {
        (self.resets_at - now).try_into().unwrap_or_default()
    }

    /// The refusal the edge returns: `QUOTA_EXHAUSTED` with Retry-After.
    pub fn rejection(&self, now: OffsetDateTime) -> Rejection {
        Rejection::new(Reason::QuotaExhausted, "the partner's daily quota is used up")
            .with_retry_after(self.retry_after(now))
    }
}

/// Why a charge failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    #[error(transparent)]
    Exceeded(QuotaExceeded),
    /// The counter could not be read or written; the request is refused.
    #[error("quota store unavailable: {0}")]
    Unavailable(String),
}

/// The `quota` tree.
#[derive(Debug, Clone)]
pub struct DailyQuotas {
    store: Store,
}

/// `YYYY-MM-DD`: fixed width, so keys sort by day and a day is a prefix.
fn day_prefix(day: Date) -> [u8; 10] {
    let text = format!("{:04}-{:02}-{:02}", day.year(), day.month() as u8, day.day());
    let mut out = [0u8; 10];
    out.copy_from_slice(&text.as_bytes()[..10]);
    out
}

fn key(partner: &str, day: Date) -> Vec<u8> {
    let mut k = day_prefix(day).to_vec();
    k.extend_from_slice(partner.as_bytes());
    k
}

fn decode(v: &[u8]) -> u64 {
    v.try_into().map(u64::from_be_bytes).unwrap_or(u64::MAX)
}

fn unavailable(e: sled::Error) -> QuotaError {
    QuotaError::Unavailable(format!("quota store: {e}"))
}

impl DailyQuotas {
    pub(super) fn new(store: Store) -> Self {
        DailyQuotas { store }
    }

    /// Counts one request of `partner` on `day` (see [`day_utc8`]) if
    /// fewer than `limit` were counted; returns the count after it.
    pub fn charge_daily(&self, partner: &str, day: Date, limit: u64) -> Result<u64, QuotaError> {
        let exceeded = || {
            let resets_at =
                day.next_day().and_then(midnight_utc8).unwrap_or(OffsetDateTime::new_utc(Date::MAX, Time::MAX));
            QuotaError::Exceeded(QuotaExceeded { limit, resets_at })
        };
        let used = Cell::new(None);
        // The closure may run more than once under contention; the last
        // run is the one that was written.
        self.store
            .quota_tree()
            .update_and_fetch(key(partner, day), |old| {
                // An unreadable counter reads as full: fail closed.
                let count = old.map_or(0, decode);
                if count >= limit {
                    used.set(None);
                    old.map(<[u8]>::to_vec)
                } else {
                    used.set(Some(count + 1));
                    Some((count + 1).to_be_bytes().to_vec())
                }
            })
            .map_err(unavailable)?;
        used.get().ok_or_else(exceeded)
    }

    /// The count of `partner` on `day` so far.
    pub fn used(&self, partner: &str, day: Date) -> Result<u64, QuotaError> {
        Ok(self.store.quota_tree().get(key(partner, day)).map_err(unavailable)?.map_or(0, |v| decode(&v)))
    }

    /// Removes the counters of days before `keep_from`; returns how many.
    /// Keeping the day before today as well costs little and leaves a
    /// partner's count readable across midnight.
    pub fn sweep_before(&self, keep_from: Date) -> Result<usize, QuotaError> {
        let tree = self.store.quota_tree();
        let mut removed = 0;
        for item in tree.range(..day_prefix(keep_from)) {
            let (k, _) = item.map_err(unavailable)?;
            if tree.remove(k).map_err(unavailable)?.is_some() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}
