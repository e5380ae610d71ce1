//! Admission under a fake clock: every time is exact, nothing sleeps.
//!
//! Shipped partners: `hq-clinic-0001` 20/s burst 40, 5000 a day, one
//! purpose (`health-voucher`); `hq-ss-window` 10/s burst 20, 3000 a day
//! (`social-security`); `gz-insurer-0001` 10/s burst 20 (`real-name-kyc`).

use super::*;
use crate::model::{PartnerId, Reason, Rejection};
use crate::pipeline::SubjectGate;
use crate::policy::PolicySet;
use crate::policy::fixtures::{NOW, copy_of, edit, repo_dir, show};
use governor::clock::FakeRelativeClock;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use time::macros::datetime;

const CLINIC: &str = "hq-clinic-0001";
const WINDOW: &str = "hq-ss-window";
const VOUCHER: &str = "health-voucher";
const SOCIAL: &str = "social-security";

fn load(dir: &Path) -> PolicySet {
    crate::snapshot::load_rules(dir, &repo_dir("mappings")).unwrap_or_else(|e| panic!("{}", show(&e))).0
}

fn shipped() -> PolicySet {
    load(&repo_dir("policies"))
}

/// The shipped policies with the clinic also allowed `social-security`.
fn two_purpose_clinic() -> PolicySet {
    let dir = copy_of("policies");
    edit(dir.path(), "hengqin.toml", |s| {
        s.replacen(r#"purposes = ["health-voucher"]"#, r#"purposes = ["health-voucher", "social-security"]"#, 1)
    });
    let set = load(dir.path());
    assert_eq!(set.partner(&id(CLINIC)).unwrap().purposes.len(), 2);
    set
}

fn id(partner: &str) -> PartnerId {
    PartnerId::parse(partner).unwrap()
}

struct Rig {
    admission: Admission<FakeRelativeClock>,
    clock: FakeRelativeClock,
    ledger: Arc<MemoryQuotaLedger>,
}

fn rig(policies: &PolicySet) -> Rig {
    rig_with(policies, AdmissionSettings::default())
}

fn rig_with(policies: &PolicySet, settings: AdmissionSettings) -> Rig {
    let clock = FakeRelativeClock::default();
    let ledger = Arc::new(MemoryQuotaLedger::new());
    let admission = Admission::new(policies, settings, ledger.clone(), clock.clone());
    Rig { admission, clock, ledger }
}

impl Rig {
    fn rate(&self, partner: &str, purpose: &str) -> Result<(), Rejection> {
        self.admission.check_partner(&id(partner), purpose)
    }

    fn subject(&self, partner: &str, subject: &str) -> Result<(), Rejection> {
        self.admission.admit(&id(partner), subject, NOW)
    }

    /// Sends `n` and asserts every one is admitted.
    fn admit_n(&self, n: usize, partner: &str, purpose: &str) {
        for i in 0..n {
            self.rate(partner, purpose).unwrap_or_else(|r| panic!("request {i} of {n}: {r}"));
        }
    }

    fn advance_ms(&self, ms: u64) {
        self.clock.advance(Duration::from_millis(ms));
    }
}

/// A refusal with its code and exact retry-after.
fn refused(result: Result<(), Rejection>, reason: Reason, retry_after: Duration) -> Rejection {
    let r = result.expect_err("expected a refusal");
    assert_eq!((r.reason, r.retry_after), (reason, Some(retry_after)), "{r}");
    r
}

#[test]
fn partner_burst_then_refusal_with_retry_after() {
    let rig = rig(&shipped());
    rig.admit_n(40, CLINIC, VOUCHER);
    refused(rig.rate(CLINIC, VOUCHER), Reason::RateLimited, Duration::from_millis(50));
    refused(rig.rate(CLINIC, VOUCHER), Reason::RateLimited, Duration::from_millis(50));
}

#[test]
fn refills_as_the_clock_advances() {
    let rig = rig(&shipped());
    rig.admit_n(40, CLINIC, VOUCHER);
    rig.advance_ms(49);
    refused(rig.rate(CLINIC, VOUCHER), Reason::RateLimited, Duration::from_millis(1));
    rig.advance_ms(1);
    rig.admit_n(1, CLINIC, VOUCHER);
    refused(rig.rate(CLINIC, VOUCHER), Reason::RateLimited, Duration::from_millis(50));
    rig.advance_ms(1000);
    rig.admit_n(20, CLINIC, VOUCHER);
    refused(rig.rate(CLINIC, VOUCHER), Reason::RateLimited, Duration::from_millis(50));
    rig.advance_ms(60_000);
    rig.admit_n(40, CLINIC, VOUCHER);
    assert!(rig.rate(CLINIC, VOUCHER).is_err(), "the burst does not grow past 40 with idle time");
}

#[test]
fn purposes_are_limited_apart() {
    // Two purposes: each gets half the clinic's 20/s, burst 40.
    let rig = rig(&two_purpose_clinic());
    rig.admit_n(20, CLINIC, VOUCHER);
    for _ in 0..10 {
        let r = refused(rig.rate(CLINIC, VOUCHER), Reason::RateLimited, Duration::from_millis(100));
        assert_eq!(r.detail, "purpose rate limit");
    }
    // The refusals above spent none of the partner's budget.
    rig.admit_n(20, CLINIC, SOCIAL);
    refused(rig.rate(CLINIC, SOCIAL), Reason::RateLimited, Duration::from_millis(100));
    rig.advance_ms(100);
    rig.admit_n(1, CLINIC, VOUCHER);
    rig.admit_n(1, CLINIC, SOCIAL);
}

#[test]
fn one_purpose_partner_gets_its_whole_rate() {
    let rig = rig(&shipped());
    rig.admit_n(40, CLINIC, VOUCHER);
    let r = refused(rig.rate(CLINIC, VOUCHER), Reason::RateLimited, Duration::from_millis(50));
    assert_eq!(r.detail, "purpose rate limit", "purpose and partner limits coincide; the purpose is checked first");
}

#[test]
fn purposes_not_allowed_share_one_small_bucket() {
    let rig = rig(&shipped());
    for purpose in ["social-security", "no-such-purpose", "", "real-name-kyc", "x".repeat(300).as_str()] {
        rig.admit_n(1, CLINIC, purpose);
    }
    let r = refused(rig.rate(CLINIC, "another-one"), Reason::RateLimited, Duration::from_secs(1));
    assert_eq!(r.detail, "rate limit for purposes not allowed");
    rig.admit_n(35, CLINIC, VOUCHER);
    // 5 stray requests spent partner budget too: 35 + 5 = 40.
    refused(rig.rate(CLINIC, VOUCHER), Reason::RateLimited, Duration::from_millis(50));
}

#[test]
fn noisy_partner_does_not_starve_a_quiet_one() {
    // 10 simulated seconds in 5 ms steps: the clinic (20/s) sends 200/s,
    // ten times its rate; the window (10/s) sends 10/s, its full rate.
    let rig = rig(&shipped());
    let (mut noisy_ok, mut noisy_refused, mut quiet_ok) = (0, 0, 0);
    for step in 0..2000 {
        match rig.rate(CLINIC, VOUCHER) {
            Ok(()) => noisy_ok += 1,
            Err(r) => {
                assert_eq!(r.reason, Reason::RateLimited);
                assert!(r.retry_after.is_some_and(|d| d <= Duration::from_millis(50)));
                noisy_refused += 1;
            }
        }
        if step % 20 == 0 {
            rig.rate(WINDOW, SOCIAL).unwrap_or_else(|r| panic!("quiet partner refused at step {step}: {r}"));
            quiet_ok += 1;
        }
        rig.advance_ms(5);
    }
    assert_eq!(quiet_ok, 100);
    // Burst 40, then one every 50 ms over the 9.995 s after the first.
    assert_eq!(noisy_ok, 40 + 200 - 1);
    assert_eq!(noisy_refused, 2000 - noisy_ok);
}

#[test]
fn unknown_partner_is_refused_never_unlimited() {
    let rig = rig(&shipped());
    let stranger = id("mo-unknown-0001");
    let reasons = [
        rig.admission.check_partner(&stranger, VOUCHER),
        rig.admission.check_quota(&stranger, NOW),
        rig.admission.check_request(&stranger, VOUCHER, NOW),
        rig.admission.admit(&stranger, "subject", NOW),
    ];
    for r in reasons {
        assert_eq!(r.unwrap_err().reason, Reason::UnknownPartner);
    }
    assert_eq!(rig.ledger.used(&stranger, NOW), 0);
    assert_eq!(rig.admission.subject_keys(), 0);
}

#[test]
fn subject_burst_then_retry_after() {
    let rig = rig(&shipped());
    for _ in 0..3 {
        rig.subject(CLINIC, "resident-a").unwrap();
    }
    let r = refused(rig.subject(CLINIC, "resident-a"), Reason::RateLimited, Duration::from_secs(10));
    assert_eq!(r.detail, "rate limit for one data subject");
    rig.subject(CLINIC, "resident-b").expect("another subject is not affected");
    rig.advance_ms(9_999);
    refused(rig.subject(CLINIC, "resident-a"), Reason::RateLimited, Duration::from_millis(1));
    rig.advance_ms(1);
    rig.subject(CLINIC, "resident-a").expect("refilled after 10 s");
}

#[test]
fn subject_limit_is_keyed_per_partner() {
    let rig = rig(&shipped());
    for _ in 0..3 {
        rig.subject(CLINIC, "resident-a").unwrap();
    }
    assert!(rig.subject(CLINIC, "resident-a").is_err());
    for _ in 0..3 {
        rig.subject(WINDOW, "resident-a").expect("the same subject at another partner has its own limit");
    }
    refused(rig.subject(WINDOW, "resident-a"), Reason::RateLimited, Duration::from_secs(10));
    assert_eq!(rig.admission.subject_keys_of(&id(CLINIC)), 1);
    assert_eq!(rig.admission.subject_keys_of(&id(WINDOW)), 1);
}

#[test]
fn subject_limit_follows_settings() {
    let settings = AdmissionSettings {
        subject_per_minute: std::num::NonZeroU32::new(1).unwrap(),
        subject_burst: std::num::NonZeroU32::new(1).unwrap(),
        ..AdmissionSettings::default()
    };
    let rig = rig_with(&shipped(), settings);
    rig.subject(CLINIC, "resident-a").unwrap();
    refused(rig.subject(CLINIC, "resident-a"), Reason::RateLimited, Duration::from_secs(60));
}

#[test]
fn quota_exhausts_at_daily_quota_and_resets_at_midnight_utc8() {
    let rig = rig(&shipped());
    let clinic = id(CLINIC);
    let last_second = datetime!(2026-03-15 23:59:59 +8);
    for i in 0..5000 {
        rig.admission.check_quota(&clinic, last_second).unwrap_or_else(|r| panic!("request {i}: {r}"));
    }
    let r = refused(rig.admission.check_quota(&clinic, last_second), Reason::QuotaExhausted, Duration::from_secs(1));
    assert_eq!(r.detail, "daily quota used up");
    assert_eq!(rig.ledger.used(&clinic, last_second), 5000, "refusals are not counted");

    let midnight = datetime!(2026-03-16 00:00:00 +8);
    rig.admission.check_quota(&clinic, midnight).expect("a new quota day");
    assert_eq!(rig.ledger.used(&clinic, midnight), 1);
    rig.admission.check_quota(&id(WINDOW), last_second).expect("quotas are per partner");
}

#[test]
fn quota_retry_after_is_the_time_to_next_midnight() {
    let rig = rig(&shipped());
    let window = id(WINDOW);
    for _ in 0..3000 {
        rig.admission.check_quota(&window, NOW).unwrap();
    }
    refused(rig.admission.check_quota(&window, NOW), Reason::QuotaExhausted, Duration::from_secs(14 * 3600));
}

#[test]
fn check_request_checks_rate_before_quota_and_charges_only_admitted_requests() {
    let rig = rig(&shipped());
    let clinic = id(CLINIC);
    for _ in 0..45 {
        let _ = rig.admission.check_request(&clinic, VOUCHER, NOW);
    }
    assert_eq!(rig.ledger.used(&clinic, NOW), 40, "rate-limited requests use no quota");
    for _ in 40..5000 {
        rig.ledger.charge(&clinic, NOW, 5000).unwrap();
    }
    let r = rig.admission.check_request(&clinic, VOUCHER, NOW).unwrap_err();
    assert_eq!(r.reason, Reason::RateLimited, "both exhausted: the rate is reported");
    rig.advance_ms(50);
    let r = rig.admission.check_request(&clinic, VOUCHER, NOW).unwrap_err();
    assert_eq!(r.reason, Reason::QuotaExhausted);
}

#[test]
fn housekeeping_drops_stale_subjects() {
    let rig = rig(&shipped());
    for i in 0..100 {
        rig.subject(CLINIC, &format!("resident-{i}")).unwrap();
    }
    for _ in 0..2 {
        rig.subject(CLINIC, "resident-0").unwrap();
    }
    assert_eq!(rig.admission.subject_keys(), 100);
    rig.admission.housekeeping();
    assert_eq!(rig.admission.subject_keys(), 100, "nothing is stale yet");

    // One request: stale 20 s later (its 10 s interval, plus one more).
    rig.advance_ms(20_000);
    rig.admission.housekeeping();
    assert_eq!(rig.admission.subject_keys(), 1, "only the subject with a full burst is left");

    // A full burst: stale 40 s after it.
    rig.advance_ms(20_000);
    rig.admission.housekeeping();
    assert_eq!(rig.admission.subject_keys(), 0);
    for _ in 0..3 {
        rig.subject(CLINIC, "resident-0").expect("a dropped subject starts fresh");
    }
}

#[test]
fn subject_table_is_capped_per_partner() {
    let settings = AdmissionSettings { max_subjects_per_partner: 4, ..AdmissionSettings::default() };
    let rig = rig_with(&shipped(), settings);
    for i in 0..4 {
        rig.subject(CLINIC, &format!("resident-{i}")).unwrap();
    }
    let r = refused(rig.subject(CLINIC, "resident-4"), Reason::RateLimited, Duration::from_secs(40));
    assert_eq!(r.detail, "too many data subjects for this partner");
    assert_eq!(rig.admission.subject_keys_of(&id(CLINIC)), 4);
    rig.subject(WINDOW, "resident-4").expect("another partner has its own table");

    rig.admission.housekeeping();
    assert!(rig.subject(CLINIC, "resident-4").is_err(), "live entries are kept");
    rig.advance_ms(20_000);
    rig.admission.housekeeping();
    rig.subject(CLINIC, "resident-4").expect("room after housekeeping");
}

#[test]
fn reload_keeps_state_unless_the_partner_changed() {
    let rig = rig(&shipped());
    rig.admit_n(40, CLINIC, VOUCHER);
    rig.admit_n(20, WINDOW, SOCIAL);
    for _ in 0..3 {
        rig.subject(CLINIC, "resident-a").unwrap();
    }
    rig.admission.check_quota(&id(CLINIC), NOW).unwrap();

    let same = rig.admission.reloaded(&shipped());
    assert!(same.check_partner(&id(CLINIC), VOUCHER).is_err(), "a reload grants no fresh burst");
    assert!(same.admit(&id(CLINIC), "resident-a", NOW).is_err(), "subjects are kept");

    let dir = copy_of("policies");
    edit(dir.path(), "hengqin.toml", |s| {
        s.replacen("rate_per_second = 20\nburst = 40", "rate_per_second = 5\nburst = 5", 1)
    });
    edit(dir.path(), "guangzhou.toml", |s| s.replace("gz-insurer-0001", "gz-insurer-0002"));
    let changed = rig.admission.reloaded(&load(dir.path()));
    for _ in 0..5 {
        changed.check_partner(&id(CLINIC), VOUCHER).expect("new limits, new state");
    }
    refused(changed.check_partner(&id(CLINIC), VOUCHER), Reason::RateLimited, Duration::from_millis(200));
    assert!(changed.check_partner(&id(WINDOW), SOCIAL).is_err(), "an unchanged partner keeps its state");
    assert!(changed.admit(&id(CLINIC), "resident-a", NOW).is_err(), "subjects survive a limit change");
    assert_eq!(
        changed.check_partner(&id("gz-insurer-0001"), "real-name-kyc").unwrap_err().reason,
        Reason::UnknownPartner
    );
    changed.check_partner(&id("gz-insurer-0002"), "real-name-kyc").expect("a new partner");
    assert_eq!(rig.ledger.used(&id(CLINIC), NOW), 1);
    changed.check_quota(&id(CLINIC), NOW).unwrap();
    assert_eq!(rig.ledger.used(&id(CLINIC), NOW), 2, "the ledger is shared across reloads");
}

#[test]
fn admission_is_a_shareable_subject_gate() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Admission>();
    shareable::<Admission<FakeRelativeClock>>();
    shareable::<InFlight>();
    let rig = rig(&shipped());
    let gate: &dyn SubjectGate = &rig.admission;
    gate.admit(&id(CLINIC), "resident-a", NOW).unwrap();
    assert!(format!("{:?}", rig.admission).contains(CLINIC));
}
