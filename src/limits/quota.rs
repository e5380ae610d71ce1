//! Daily quotas per partner, counted in calendar days of UTC+8: Macau and
//! the mainland share the offset, so the quota day is the day the partner's
//! own users see, and it turns over at their midnight.
//!
//! [`QuotaLedger`] is the seam between admission and the place the counts
//! live. [`MemoryQuotaLedger`] keeps them in memory (tests, and a node that
//! may lose its counts on restart); the sled ledger in `store/` keeps them
//! across restarts. Either way the counts are per node until the nodes share
//! state (DESIGN §11).

use crate::model::PartnerId;
use crate::policy::UTC8;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use time::{Date, OffsetDateTime, Time};

/// Where the daily counts are kept.
pub trait QuotaLedger: Send + Sync {
    /// Counts one request of `partner` on the quota day of `now` if fewer
    /// than `limit` were counted that day. Otherwise counts nothing and
    /// returns the time until the next quota day begins (00:00 UTC+8).
    fn charge(&self, partner: &PartnerId, now: OffsetDateTime, limit: u64) -> Result<(), Duration>;
}

/// The quota day `now` falls on: its calendar date in UTC+8.
pub fn quota_day(now: OffsetDateTime) -> Date {
    now.to_offset(UTC8).date()
}

/// The time from `now` to the start of the next quota day (00:00 UTC+8).
pub fn until_next_quota_day(now: OffsetDateTime) -> Duration {
    let Some(next) = quota_day(now).next_day() else {
        return Duration::ZERO;
    };
    let midnight = next.with_time(Time::MIDNIGHT).assume_offset(UTC8);
    Duration::try_from(midnight - now).unwrap_or(Duration::ZERO)
}

/// Counts in memory, one entry per partner that was ever charged: lost on
/// restart.
#[derive(Debug, Default)]
pub struct MemoryQuotaLedger {
    counts: Mutex<HashMap<PartnerId, DayCount>>,
}

#[derive(Debug, Clone, Copy)]
struct DayCount {
    day: Date,
    used: u64,
}

impl MemoryQuotaLedger {
    pub fn new() -> Self {
        Self::default()
    }

    /// What `partner` used on the quota day of `now`.
    pub fn used(&self, partner: &PartnerId, now: OffsetDateTime) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(partner).filter(|c| c.day == quota_day(now)).map_or(0, |c| c.used)
    }
}

impl QuotaLedger for MemoryQuotaLedger {
    fn charge(&self, partner: &PartnerId, now: OffsetDateTime, limit: u64) -> Result<(), Duration> {
        let today = quota_day(now);
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(partner.clone()).or_insert(DayCount { day: today, used: 0 });
        if count.day != today {
            *count = DayCount { day: today, used: 0 };
        }
        if count.used >= limit {
            return Err(until_next_quota_day(now));
        }
        count.used += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn partner(id: &str) -> PartnerId {
        PartnerId::parse(id).unwrap()
    }

    #[test]
    fn quota_day_is_the_utc8_date() {
        assert_eq!(quota_day(datetime!(2026-03-15 15:59:59 UTC)), date!(2026 - 03 - 15));
        assert_eq!(quota_day(datetime!(2026-03-15 16:00:00 UTC)), date!(2026 - 03 - 16));
        assert_eq!(quota_day(datetime!(2026-03-16 00:00:00 +8)), date!(2026 - 03 - 16));
    }

    #[test]
    fn time_to_next_quota_day() {
        assert_eq!(until_next_quota_day(datetime!(2026-03-15 23:59:59 +8)), Duration::from_secs(1));
        assert_eq!(until_next_quota_day(datetime!(2026-03-15 15:59:59 UTC)), Duration::from_secs(1));
        assert_eq!(until_next_quota_day(datetime!(2026-03-16 00:00:00 +8)), Duration::from_secs(86_400));
        assert_eq!(until_next_quota_day(datetime!(2026-03-15 10:00:00 +8)), Duration::from_secs(14 * 3600));
        assert_eq!(
            until_next_quota_day(datetime!(2026-03-15 23:59:59.25 +8)),
            Duration::from_millis(750),
            "sub-second precision is kept"
        );
    }

    #[test]
    fn refuses_past_the_limit_and_counts_no_refusal() {
        let ledger = MemoryQuotaLedger::new();
        let p = partner("hq-clinic-0001");
        let now = datetime!(2026-03-15 10:00 +8);
        for _ in 0..3 {
            assert_eq!(ledger.charge(&p, now, 3), Ok(()));
        }
        assert_eq!(ledger.charge(&p, now, 3), Err(Duration::from_secs(14 * 3600)));
        assert_eq!(ledger.charge(&p, now, 3), Err(Duration::from_secs(14 * 3600)));
        assert_eq!(ledger.used(&p, now), 3);
    }

    #[test]
    fn partners_are_counted_apart() {
        let ledger = MemoryQuotaLedger::new();
        let now = datetime!(2026-03-15 10:00 +8);
        assert_eq!(ledger.charge(&partner("hq-clinic-0001"), now, 1), Ok(()));
        assert!(ledger.charge(&partner("hq-clinic-0001"), now, 1).is_err());
        assert_eq!(ledger.charge(&partner("hq-ss-window"), now, 1), Ok(()));
    }

    #[test]
    fn a_new_day_starts_at_midnight_utc8() {
        let ledger = MemoryQuotaLedger::new();
        let p = partner("hq-clinic-0001");
        let last_second = datetime!(2026-03-15 23:59:59 +8);
        assert_eq!(ledger.charge(&p, last_second, 1), Ok(()));
        assert_eq!(ledger.charge(&p, last_second, 1), Err(Duration::from_secs(1)));
        // 16:00 UTC is midnight in Macau, whatever offset `now` comes in.
        let midnight = datetime!(2026-03-15 16:00:00 UTC);
        assert_eq!(ledger.used(&p, midnight), 0);
        assert_eq!(ledger.charge(&p, midnight, 1), Ok(()));
        assert_eq!(ledger.charge(&p, midnight, 1), Err(Duration::from_secs(86_400)));
    }
}
