//! Admission on the real node (DESIGN §8): rate and quota refusals carry
//! `RetryInfo`, the daily quota survives a restart, a partner hammering at
//! ten times its limit does not starve another, `/metrics` on the admin
//! listener shows all of it, and the in-flight cap comes after the
//! partner's own limits.
//!
//! Limits come from a copy of the shipped policies with some partners'
//! `[partner.X.limits]` changed. Outcomes are counted, never timed: a
//! partner sending ten times its burst at once cannot all be admitted,
//! and one sending fewer requests than its burst cannot be refused, however
//! slow the machine.

use crate::node::{Client, DOMAIN, Limits, TestNode, request};
use hengqin_bridge::app::Node;
use hengqin_bridge::config::{Config, ServerConfig};
use hengqin_bridge::dev::mint::Flow;
use hengqin_bridge::limits::{quota_day, until_next_quota_day};
use hengqin_bridge::model::{PartnerId, Reason};
use hengqin_bridge::service::pb::{TranslateRequest, TranslateResponse};
use hengqin_bridge::service::{Gateway, TranslateInput};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tonic::{Code, Status};
use tonic_types::StatusExt;

const SOCIAL_SECURITY: &str = "social-security";
/// Rate 1/s, burst 1.
const TRICKLE: &str = "zs-ss-window";
/// A daily quota of 3.
const RATIONED: &str = "sz-ss-counter";
/// Rate 2/s, burst 2: the partner that hammers.
const NOISY: &str = "dg-ss-window";
/// Shipped limits (rate 10/s, burst 20): the partner that must still be served.
const QUIET: &str = "hq-ss-window";

const QUOTA: u32 = 3;

fn limits() -> [(&'static str, Limits); 3] {
    let roomy = 100_000;
    [
        (TRICKLE, Limits { rate_per_second: 1, burst: 1, daily_quota: roomy }),
        (RATIONED, Limits { rate_per_second: 100, burst: 100, daily_quota: QUOTA }),
        (NOISY, Limits { rate_per_second: 2, burst: 2, daily_quota: roomy }),
    ]
}

/// A valid social-security request about a subject of its own.
fn social_security(n: &TestNode) -> TranslateRequest {
    request(SOCIAL_SECURITY, "", n.mint(&n.fresh(Flow::SocialSecurity)))
}

/// Sends every request at once on clones of `client`.
async fn all_at_once(client: &Client, reqs: Vec<TranslateRequest>) -> Vec<Result<TranslateResponse, Status>> {
    let mut calls = JoinSet::new();
    for req in reqs {
        let mut c = client.clone();
        calls.spawn(async move { c.translate(req).await.map(tonic::Response::into_inner) });
    }
    calls.join_all().await
}

/// `None` for an answer, the reason code for a refusal.
fn reason(r: &Result<TranslateResponse, Status>) -> Option<String> {
    r.as_ref().err().map(|s| s.get_details_error_info().map_or_else(|| format!("no ErrorInfo: {s:?}"), |i| i.reason))
}

/// A limit refusal as DESIGN §7 has it: RESOURCE_EXHAUSTED, the reason in
/// ErrorInfo, and when to retry. Returns the retry delay.
fn limit_refusal(s: &Status, expected: &str) -> Duration {
    assert_eq!(s.code(), Code::ResourceExhausted, "{s:?}");
    let info = s.get_details_error_info().expect("ErrorInfo");
    assert_eq!((info.reason.as_str(), info.domain.as_str()), (expected, DOMAIN));
    let retry = s.get_details_retry_info().expect("RetryInfo on a limit");
    let delay = retry.retry_delay.expect("a retry delay");
    assert!(delay > Duration::ZERO, "{s:?}");
    delay
}

/// The value of the exposition line `series` (name and labels exactly).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn translations(partner: &str, decision: &str, reason: &str) -> String {
    format!(
        r#"hengqin_bridge_requests_total{{method="Translate",partner="{partner}",purpose="{SOCIAL_SECURITY}",decision="{decision}",reason="{reason}"}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_and_quota_refusals_carry_retry_info_and_the_quota_survives_a_restart() {
    let mut n = TestNode::with_limits(&limits());
    n.start().await;

    // Ten at once against a burst of one.
    let trickle = n.client(TRICKLE).await;
    let outcomes = all_at_once(&trickle, (0..10).map(|_| social_security(&n)).collect()).await;
    let admitted = outcomes.iter().filter(|r| r.is_ok()).count();
    assert!(admitted >= 1, "the first request fits the burst: {outcomes:?}");
    assert!(admitted < outcomes.len(), "ten at once against a burst of one are not all admitted");
    for s in outcomes.iter().filter_map(|r| r.as_ref().err()) {
        let delay = limit_refusal(s, "RATE_LIMITED");
        assert!(delay <= Duration::from_secs(1), "at 1/s the next slot is at most a second away: {delay:?}");
    }

    // The quota: three answered, the fourth refused until midnight UTC+8.
    let start = OffsetDateTime::now_utc();
    let mut rationed = n.client(RATIONED).await;
    for i in 0..QUOTA {
        let answer = rationed.translate(social_security(&n)).await;
        assert!(answer.is_ok(), "request {i} is within the quota: {answer:?}");
    }
    let refused = rationed.translate(social_security(&n)).await.expect_err("the fourth is over the quota");
    let after = OffsetDateTime::now_utc();
    if quota_day(start) != quota_day(after) {
        println!("midnight UTC+8 passed during the test: the quota day changed, nothing more to check");
        return;
    }
    let delay = limit_refusal(&refused, "QUOTA_EXHAUSTED");
    assert!(
        until_next_quota_day(after) <= delay && delay <= until_next_quota_day(start),
        "{delay:?} is the time to the next midnight UTC+8"
    );

    // A restart does not hand out a fresh day.
    n.restart().await;
    let refused = n.client(RATIONED).await.translate(social_security(&n)).await;
    if quota_day(start) != quota_day(OffsetDateTime::now_utc()) {
        println!("midnight UTC+8 passed during the restart: nothing more to check");
        return;
    }
    limit_refusal(refused.as_ref().expect_err("still over the quota after a restart"), "QUOTA_EXHAUSTED");
    let (_, metrics) = n.admin_get("/metrics").await;
    assert_eq!(sample(&metrics, r#"hengqin_bridge_limiter_rejections_total{reason="QUOTA_EXHAUSTED"}"#), Some(1.0));
    assert_eq!(sample(&metrics, &translations(RATIONED, "refused", "QUOTA_EXHAUSTED")), Some(1.0));
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_at_ten_times_its_limit_does_not_starve_another_and_metrics_show_it() {
    const WAVE: usize = 20;
    const QUIET_REQUESTS: usize = 10;
    let mut n = TestNode::with_limits(&limits());
    n.start().await;
    let n = Arc::new(n);

    // The noisy partner sends waves of ten times its burst, one after the
    // other, until the quiet partner is done.
    let quiet_done = Arc::new(AtomicBool::new(false));
    let (first_wave, hammering) = tokio::sync::oneshot::channel();
    let noisy = {
        let (n, quiet_done) = (n.clone(), quiet_done.clone());
        tokio::spawn(async move {
            let client = n.client(NOISY).await;
            let mut outcomes = Vec::new();
            let mut first_wave = Some(first_wave);
            while !quiet_done.load(Ordering::SeqCst) || outcomes.is_empty() {
                let wave = all_at_once(&client, (0..WAVE).map(|_| social_security(&n)).collect()).await;
                outcomes.extend(wave.iter().map(reason));
                if let Some(tx) = first_wave.take() {
                    let _ = tx.send(());
                }
            }
            outcomes
        })
    };
    hammering.await.unwrap();

    let mut quiet = n.client(QUIET).await;
    let mut quiet_outcomes = Vec::new();
    for _ in 0..QUIET_REQUESTS {
        quiet_outcomes.push(reason(&quiet.translate(social_security(&n)).await.map(tonic::Response::into_inner)));
    }
    quiet_done.store(true, Ordering::SeqCst);
    let noisy_outcomes = noisy.await.unwrap();

    assert_eq!(quiet_outcomes, vec![None; QUIET_REQUESTS], "every request of the quiet partner is answered");
    let noisy_ok = noisy_outcomes.iter().filter(|o| o.is_none()).count();
    let noisy_limited = noisy_outcomes.iter().filter(|o| o.as_deref() == Some("RATE_LIMITED")).count();
    assert_eq!(noisy_ok + noisy_limited, noisy_outcomes.len(), "answered or rate-limited: {noisy_outcomes:?}");
    assert!(noisy_limited > 0 && noisy_ok > 0, "{noisy_ok} answered, {noisy_limited} refused");
    println!(
        "noisy: {} sent, {noisy_ok} answered, {noisy_limited} rate-limited; quiet: {QUIET_REQUESTS} answered",
        noisy_outcomes.len()
    );

    // One policy refusal, so that a reason other than the limiter's shows.
    let suspended = n.fresh(Flow::SocialSecurity).set("entitlements.fss.status", json!("suspended"));
    let refusal = quiet.translate(request(SOCIAL_SECURITY, "", n.mint(&suspended))).await.unwrap_err();
    assert_eq!(refusal.get_details_error_info().unwrap().reason, "NOT_ELIGIBLE");

    assert_eq!(n.admin_get("/healthz").await, (200, "ok\n".to_owned()));
    assert_eq!(n.admin_get("/readyz").await, (200, "ready\n".to_owned()));
    let (status, metrics) = n.admin_get("/metrics").await;
    assert_eq!(status, 200);
    let count = |series: &str| sample(&metrics, series).unwrap_or_else(|| panic!("no {series} in\n{metrics}"));
    assert_eq!(count(&translations(QUIET, "ok", "")), QUIET_REQUESTS as f64);
    assert_eq!(count(&translations(QUIET, "refused", "NOT_ELIGIBLE")), 1.0);
    assert_eq!(count(&translations(NOISY, "ok", "")), noisy_ok as f64);
    assert_eq!(count(&translations(NOISY, "refused", "RATE_LIMITED")), noisy_limited as f64);
    assert_eq!(count(r#"hengqin_bridge_limiter_rejections_total{reason="RATE_LIMITED"}"#), noisy_limited as f64);
    assert_eq!(count(r#"hengqin_bridge_trust_fresh{domain="MO"}"#), 1.0);
    assert_eq!(count(r#"hengqin_bridge_trust_fresh{domain="CN-GD"}"#), 1.0);
    assert_eq!(count("hengqin_bridge_ready"), 1.0);
    assert!(metrics.contains(r#"hengqin_bridge_request_duration_seconds_count{method="Translate"}"#));
    for name in ["陳大文", "陈大文", "CHAN TAI MAN"] {
        assert!(!metrics.contains(name), "{name} in the metrics");
    }

    let mut n = Arc::into_inner(n).expect("no other handle on the node is left");
    n.stop().await;
}

/// DESIGN §7 puts the in-flight cap after the partner's own limits: a
/// partner over its quota is told `QUOTA_EXHAUSTED` even while the node is
/// full, and only requests within their partner's limits are shed with
/// `OVERLOADED`. Run on the node itself (what the gRPC handler calls) so
/// that a request can be held in flight: polled once, it is parked inside
/// the node with its place taken until it is polled again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_limits_come_before_the_in_flight_cap() {
    let n = TestNode::with_limits(&limits());
    let config = Config::load(&n.pki.config_path(), |_| None).unwrap();
    let server = ServerConfig { max_in_flight: 1, ..config.server.clone().unwrap() };
    let node = Node::open(&config, &server, OffsetDateTime::now_utc()).unwrap();
    let input = || {
        let r = social_security(&n);
        TranslateInput { assertion: r.assertion, purpose: r.purpose, ..TranslateInput::default() }
    };
    let (rationed, quiet) = (PartnerId::parse(RATIONED).unwrap(), PartnerId::parse(QUIET).unwrap());
    let start = OffsetDateTime::now_utc();
    for _ in 0..QUOTA {
        node.translate(rationed.clone(), input()).await.unwrap();
    }

    let mut held = node.translate(quiet.clone(), input());
    tokio::select! {
        biased;
        r = &mut held => panic!("answered within one poll, nothing was held in flight: {r:?}"),
        () = std::future::ready(()) => {}
    }
    let over_quota = node.translate(rationed, input()).await.unwrap_err();
    let shed = node.translate(quiet.clone(), input()).await.unwrap_err();
    held.await.expect("the held request is answered once polled again");
    node.translate(quiet, input()).await.expect("its place is free again");

    if quota_day(start) != quota_day(OffsetDateTime::now_utc()) {
        println!("midnight UTC+8 passed during the test: the quota day changed, nothing to check");
        return;
    }
    assert_eq!(over_quota.reason, Reason::QuotaExhausted, "{over_quota}");
    assert_eq!(shed.reason, Reason::Overloaded, "{shed}");
}
