//! The per-subject limit as the pipeline meets it: fresh assertions about
//! one resident, each valid on its own, run through `pipeline::process`
//! with the governor-backed [`Admission`] as the subject gate.

use crate::support::Env;
use governor::clock::FakeRelativeClock;
use hengqin_bridge::dev::mint::{Flow, MintOptions};
use hengqin_bridge::limits::{Admission, AdmissionSettings, MemoryQuotaLedger};
use hengqin_bridge::model::Reason;
use hengqin_bridge::pipeline::process;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn the_fourth_licence_about_one_resident_within_a_minute_is_refused() {
    let env = Env::new();
    let clock = FakeRelativeClock::default();
    let admission = Admission::new(
        &env.snap.policies,
        AdmissionSettings::default(),
        Arc::new(MemoryQuotaLedger::new()),
        clock.clone(),
    );
    let run = |opts: &MintOptions| {
        let jws = env.mint(opts);
        process(&env.request(&jws), &env.snap, &env.replay, &admission, env.now)
    };
    let resident = MintOptions::new(Flow::HealthVoucher, env.now);
    for i in 0..3 {
        run(&resident).unwrap_or_else(|r| panic!("licence {i}: {r}"));
    }
    let refused = run(&resident).expect_err("fourth within the burst");
    assert_eq!((refused.reason, refused.retry_after), (Reason::RateLimited, Some(Duration::from_secs(10))));

    let other = MintOptions::new(Flow::HealthVoucher, env.now).set("person.bir_number", json!("51234567"));
    run(&other).expect("another resident is not affected");

    clock.advance(Duration::from_secs(10));
    run(&resident).expect("one more after the interval");
}
