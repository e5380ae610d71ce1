//! The sled store: replay ids, daily quotas and the anchor cache, each
//! across a reopen, and the store's refusal to be opened twice.

use hengqin_bridge::model::{Reason, TrustDomainId};
use hengqin_bridge::store::{QuotaError, Store, StoreError, day_utc8};
use hengqin_bridge::trust::{ReplayError, ReplayGuard};
use std::path::Path;
use std::time::Duration as StdDuration;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

use crate::raw_sled;

const T0: OffsetDateTime = datetime!(2025-06-01 10:00:00 +08:00);

fn key(n: u8) -> [u8; 32] {
    [n; 32]
}

fn store(dir: &Path) -> Store {
    Store::open(&dir.join("state")).unwrap()
}

#[test]
fn replay_consumes_once_and_forgets_after_expiry() {
    let tmp = tempfile::tempdir().unwrap();
    let guard = store(tmp.path()).replay_guard(100);
    let until = T0 + Duration::minutes(5);
    assert_eq!(guard.consume(key(1), until, T0), Ok(()));
    assert_eq!(guard.consume(key(1), until, T0), Err(ReplayError::Replayed));
    assert_eq!(guard.consume(key(1), until, until - Duration::seconds(1)), Err(ReplayError::Replayed));
    // At `remember_until` the assertion is no longer acceptable anyway.
    assert_eq!(guard.consume(key(1), until + Duration::minutes(5), until), Ok(()));
    assert_eq!(guard.consume(key(1), until + Duration::minutes(5), until), Err(ReplayError::Replayed));
    assert_eq!(guard.len(), 1);
}

#[test]
fn replay_sweep_removes_only_expired_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let guard = store(tmp.path()).replay_guard(100);
    guard.consume(key(1), T0 + Duration::minutes(1), T0).unwrap();
    guard.consume(key(2), T0 + Duration::minutes(10), T0).unwrap();
    guard.consume(key(3), T0 + Duration::minutes(2), T0).unwrap();
    assert_eq!(guard.sweep(T0).unwrap(), 0);
    assert_eq!(guard.sweep(T0 + Duration::minutes(5)).unwrap(), 2);
    assert_eq!(guard.len(), 1);
    assert_eq!(
        guard.consume(key(2), T0 + Duration::minutes(20), T0 + Duration::minutes(5)),
        Err(ReplayError::Replayed)
    );
    assert_eq!(guard.sweep(T0 + Duration::minutes(10)).unwrap(), 1);
    assert!(guard.is_empty());
}

#[test]
fn replay_is_bounded_and_fails_closed_when_full() {
    let tmp = tempfile::tempdir().unwrap();
    let guard = store(tmp.path()).replay_guard(2);
    let until = T0 + Duration::minutes(5);
    guard.consume(key(1), until, T0).unwrap();
    guard.consume(key(2), until, T0).unwrap();
    assert!(matches!(guard.consume(key(3), until, T0), Err(ReplayError::Unavailable(_))));
    assert!(matches!(guard.consume(key(3), until, T0 + Duration::seconds(1)), Err(ReplayError::Unavailable(_))));
    // A consumed id is still recognised while full.
    assert_eq!(guard.consume(key(1), until, T0), Err(ReplayError::Replayed));
    // Once the old ids expire, the sweep on the way in makes room.
    let later = until + Duration::seconds(1);
    assert_eq!(guard.consume(key(3), later + Duration::minutes(5), later), Ok(()));
    assert_eq!(guard.len(), 1);
}

#[test]
fn replay_survives_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let until = T0 + Duration::minutes(5);
    {
        let s = store(tmp.path());
        let guard = s.replay_guard(100);
        guard.consume(key(7), until, T0).unwrap();
        guard.consume(key(8), T0 + Duration::seconds(1), T0).unwrap();
        s.flush().unwrap();
    }
    let guard = store(tmp.path()).replay_guard(100);
    assert_eq!(guard.len(), 2, "the entry count is read back");
    assert_eq!(guard.consume(key(7), until, T0 + Duration::minutes(1)), Err(ReplayError::Replayed));
    assert_eq!(guard.sweep(T0 + Duration::minutes(1)).unwrap(), 1);
}

#[test]
fn replay_lets_exactly_one_of_many_threads_consume_an_id() {
    let tmp = tempfile::tempdir().unwrap();
    let guard = store(tmp.path()).replay_guard(1000);
    let until = T0 + Duration::minutes(5);
    for round in 0..20u8 {
        let wins: usize = std::thread::scope(|s| {
            let handles: Vec<_> =
                (0..8).map(|_| s.spawn(|| guard.consume(key(round), until, T0).is_ok() as usize)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(wins, 1, "round {round}");
    }
    assert_eq!(guard.len(), 20);
}

#[test]
fn quota_never_exceeds_the_limit_under_concurrent_charges() {
    let tmp = tempfile::tempdir().unwrap();
    let quotas = store(tmp.path()).quotas();
    let day = day_utc8(T0);
    let granted: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    (0..40).filter_map(|_| quotas.charge_daily("hq-clinic-0001", day, 100).ok()).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = granted.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=100).collect::<Vec<_>>(), "each count handed out once, none past the limit");
    assert_eq!(quotas.used("hq-clinic-0001", day).unwrap(), 100);
    assert_eq!(quotas.used("gz-insurer-0001", day).unwrap(), 0);
}

#[test]
fn quota_day_rolls_over_at_midnight_utc8() {
    let tmp = tempfile::tempdir().unwrap();
    let quotas = store(tmp.path()).quotas();
    let before = datetime!(2025-03-01 23:59:59 +08:00);
    let after = datetime!(2025-03-02 00:00:00 +08:00);
    // The same instants in UTC: still 1 March there.
    assert_eq!(day_utc8(datetime!(2025-03-01 15:59:59 UTC)), date!(2025 - 03 - 01));
    assert_eq!(day_utc8(datetime!(2025-03-01 16:00:00 UTC)), date!(2025 - 03 - 02));
    assert_eq!(day_utc8(before), date!(2025 - 03 - 01));
    assert_eq!(day_utc8(after), date!(2025 - 03 - 02));

    assert_eq!(quotas.charge_daily("hq-clinic-0001", day_utc8(before), 1), Ok(1));
    let Err(QuotaError::Exceeded(e)) = quotas.charge_daily("hq-clinic-0001", day_utc8(before), 1) else {
        panic!("the second charge of the day must be refused")
    };
    assert_eq!(e.resets_at, after);
    assert_eq!(e.retry_after(before), StdDuration::from_secs(1));
    let rejection = e.rejection(before);
    assert_eq!(rejection.reason, Reason::QuotaExhausted);
    assert_eq!(rejection.retry_after, Some(StdDuration::from_secs(1)));
    assert_eq!(quotas.charge_daily("hq-clinic-0001", day_utc8(after), 1), Ok(1));
    assert_eq!(quotas.used("hq-clinic-0001", day_utc8(before)).unwrap(), 1, "refusals are not counted");
}

#[test]
fn quota_survives_reopen_and_old_days_are_swept() {
    let tmp = tempfile::tempdir().unwrap();
    let today = day_utc8(T0);
    {
        let s = store(tmp.path());
        let q = s.quotas();
        for _ in 0..3 {
            q.charge_daily("hq-clinic-0001", today, 10).unwrap();
        }
        q.charge_daily("hq-clinic-0001", today - Duration::days(1), 10).unwrap();
        q.charge_daily("hq-clinic-0001", today - Duration::days(2), 10).unwrap();
        q.charge_daily("hq-ss-window", today - Duration::days(30), 10).unwrap();
        s.flush().unwrap();
    }
    let q = store(tmp.path()).quotas();
    assert_eq!(q.used("hq-clinic-0001", today).unwrap(), 3);
    assert_eq!(q.charge_daily("hq-clinic-0001", today, 10), Ok(4));
    assert_eq!(q.sweep_before(today - Duration::days(1)).unwrap(), 2);
    assert_eq!(q.used("hq-clinic-0001", today - Duration::days(1)).unwrap(), 1);
    assert_eq!(q.used("hq-clinic-0001", today - Duration::days(2)).unwrap(), 0);
    assert_eq!(q.used("hq-clinic-0001", today).unwrap(), 4);
}

#[test]
fn anchors_keep_the_last_list_of_each_domain_across_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let anchors = store(tmp.path()).anchors();
        assert_eq!(anchors.load_list(TrustDomainId::Mo).unwrap(), None);
        anchors.save_list(TrustDomainId::Mo, b"mo-list-1").unwrap();
        anchors.save_list(TrustDomainId::Mo, b"mo-list-2").unwrap();
        anchors.save_list(TrustDomainId::CnGd, b"cn-list-1").unwrap();
    }
    let anchors = store(tmp.path()).anchors();
    assert_eq!(anchors.load_list(TrustDomainId::Mo).unwrap().as_deref(), Some(&b"mo-list-2"[..]));
    assert_eq!(anchors.load_list(TrustDomainId::CnGd).unwrap().as_deref(), Some(&b"cn-list-1"[..]));
}

#[test]
fn a_store_in_use_is_refused_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let first = Store::open(&dir).unwrap();
    let err = Store::open(&dir).unwrap_err();
    assert!(matches!(err, StoreError::InUse(_)), "{err:?}");
    assert_eq!(err.to_string(), format!("the store at {} is in use by a running server", dir.display()));
    // Users of the store keep it open (and locked) after the handle goes.
    let guard = first.replay_guard(10);
    drop(first);
    assert!(matches!(Store::open(&dir), Err(StoreError::InUse(_))));
    drop(guard);
    Store::open(&dir).unwrap();
}

#[test]
fn reading_commands_do_not_create_a_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nowhere");
    assert!(matches!(Store::open_existing(&dir), Err(StoreError::Missing(_))));
    assert!(!dir.exists());
    drop(Store::open(&dir).unwrap());
    Store::open_existing(&dir).unwrap();
}

#[test]
fn a_store_of_another_layout_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    drop(Store::open(&dir).unwrap());
    {
        let db = raw_sled::open(&dir);
        db.open_tree("meta").unwrap().insert("format", "hengqin-bridge-store/99").unwrap();
        db.flush().unwrap();
    }
    let err = Store::open(&dir).unwrap_err();
    assert!(matches!(err, StoreError::Format { .. }), "{err:?}");
    assert!(err.to_string().contains("hengqin-bridge-store/99"));
}
