//! The hostile-input corpus (`tests/hostile/*.toml`, described in
//! `tests/hostile_support/mod.rs`) against the real node over gRPC and
//! mutual TLS: every input is refused with its exact `ErrorInfo` reason
//! and gRPC code, within a deadline; no status message, log line or audit
//! record carries personal data; and the node still serves a good request
//! afterwards and shuts down cleanly.
//!
//! The limits of the partners the corpus uses most are raised in a copy of
//! the policies (a rate refusal must never decide a case), and every input
//! is about a data subject of its own.

mod hostile_support;
mod node;

use hengqin_bridge::dev::mint::Flow;
use hengqin_bridge::dev::pki::SignerKind;
use hengqin_bridge::service::pb::TranslateRequest;
use hostile_support::{Case, forge};
use node::{Client, DOMAIN, Limits, TestNode, request};
use std::collections::HashMap;
use std::time::Duration;
use tonic::Code;
use tonic_types::StatusExt;

const CLINIC: &str = "hq-clinic-0001";
/// The corpus must keep at least this many inputs in this many classes.
const MIN_INPUTS: usize = 200;
const MIN_CLASSES: usize = 20;
/// A call that takes longer has hung (a guard, not a speed requirement).
const CALL_GUARD: Duration = Duration::from_secs(20);

fn capture_logs() -> node::Captured {
    let captured = node::Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .without_time()
        .try_init()
        .expect("the only subscriber of this test binary");
    captured
}

/// Clients of the node, one per partner, made on first use.
#[derive(Default)]
struct Clients(HashMap<String, Client>);

impl Clients {
    async fn get(&mut self, n: &TestNode, partner: &str) -> &mut Client {
        if !self.0.contains_key(partner) {
            let c = n.client(partner).await;
            self.0.insert(partner.to_owned(), c);
        }
        self.0.get_mut(partner).unwrap()
    }
}

fn code_named(name: &str) -> Code {
    match name {
        "InvalidArgument" => Code::InvalidArgument,
        "PermissionDenied" => Code::PermissionDenied,
        "Unauthenticated" => Code::Unauthenticated,
        "ResourceExhausted" => Code::ResourceExhausted,
        "Unavailable" => Code::Unavailable,
        "Internal" => Code::Internal,
        other => panic!("unknown gRPC code {other:?}"),
    }
}

fn flow_of(case: &Case) -> Flow {
    Flow::parse(case.flow.as_deref().unwrap_or("health-voucher")).expect("a known flow")
}

/// The request a case sends; `purpose` overrides the case's (a setting-up call's own).
fn translate_request(case: &Case, purpose: Option<&str>, assertion: String) -> TranslateRequest {
    let purpose = purpose.or(case.purpose.as_deref()).unwrap_or(flow_of(case).purpose_id());
    let mut req = request(purpose, case.format.as_deref().unwrap_or(""), assertion);
    req.nonce = case.request_nonce.clone().unwrap_or_default();
    req.request_id = case.request_id.clone().unwrap_or_default();
    req
}

/// Personal data a case put into its assertion (the `person` values it set).
fn case_personal_data(case: &Case) -> Vec<String> {
    case.set
        .iter()
        .filter(|(k, _)| k.starts_with("person."))
        .filter_map(|(_, v)| v.as_str())
        .filter(|s| s.chars().count() >= 6)
        .map(str::to_owned)
        .collect()
}

/// Runs one case; every way it differs from its expectation is returned.
async fn run(n: &TestNode, clients: &mut Clients, class: &str, case: &Case, sent: &mut Vec<String>) -> Vec<String> {
    let name = format!("{class}/{}", case.name);
    let partner = case.partner.as_deref().unwrap_or(CLINIC);
    let assertion = forge::assertion(n, case);
    let mut wrong = Vec::new();
    for p in &case.prime {
        let jws = if p.remint { forge::assertion(n, case) } else { assertion.clone() };
        sent.push(jws.clone());
        let mut req = translate_request(case, p.purpose.as_deref(), jws);
        req.request_id = p.request_id.clone().unwrap_or_default();
        let client = clients.get(n, p.partner.as_deref().unwrap_or(partner)).await;
        match tokio::time::timeout(CALL_GUARD, client.translate(req)).await {
            Err(_) => wrong.push(format!("{name}: a setting-up call hung")),
            Ok(Ok(_)) => wrong.push(format!("{name}: a setting-up call was answered with a licence")),
            Ok(Err(_)) => {}
        }
    }
    sent.push(assertion.clone());
    let req = translate_request(case, None, assertion);
    let client = clients.get(n, partner).await;
    let status = match tokio::time::timeout(CALL_GUARD, client.translate(req)).await {
        Err(_) => return vec![format!("{name}: no answer within {CALL_GUARD:?}")],
        Ok(Ok(r)) => return vec![format!("{name}: ACCEPTED, licence {}", r.into_inner().licence_id)],
        Ok(Err(s)) => s,
    };
    let mut check = |ok: bool, what: String| {
        if !ok {
            wrong.push(format!("{name}: {what} (status {:?}: {})", status.code(), status.message()));
        }
    };
    let code = code_named(&case.code);
    check(status.code() == code, format!("code, expected {code:?}"));
    match status.get_details_error_info() {
        None => check(false, "no ErrorInfo".into()),
        Some(info) => {
            check(info.reason == case.reason, format!("reason {}, expected {}", info.reason, case.reason));
            check(info.domain == DOMAIN, format!("domain {}", info.domain));
            let clause = info.metadata.get("clause");
            check(clause == case.clause.as_ref(), format!("clause {clause:?}, expected {:?}", case.clause));
        }
    }
    check(status.get_details_retry_info().is_none(), "RetryInfo on a refusal that is no limit".into());
    for p in n.personal_data().into_iter().chain(case_personal_data(case)) {
        check(!status.message().contains(&p), format!("personal data {p:?} in the message"));
    }
    wrong
}

/// Whatever of `texts` appears in `haystack`.
/// The texts that occur in `haystack` as whole tokens: a value standing
/// inside a longer run of letters and digits (a document number inside a
/// hex digest, by chance) is not a leak.
fn leaked<'a>(haystack: &str, texts: impl IntoIterator<Item = &'a String>) -> Vec<&'a String> {
    let alnum_at = |i: usize, before: bool| {
        let c = if before { haystack[..i].chars().next_back() } else { haystack[i..].chars().next() };
        c.is_some_and(|c| c.is_ascii_alphanumeric())
    };
    texts
        .into_iter()
        .filter(|t| {
            haystack.match_indices(t.as_str()).any(|(i, m)| !alnum_at(i, true) && !alnum_at(i + m.len(), false))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hostile_corpus_is_refused_with_its_exact_codes() {
    let logs = capture_logs();
    let classes = hostile_support::load();
    let inputs: usize = classes.iter().map(|c| c.cases.len()).sum();

    let generous = Limits { rate_per_second: 1000, burst: 1000, daily_quota: 100_000 };
    let mut n = TestNode::with_limits(&[(CLINIC, generous), ("hq-ss-window", generous), ("gz-insurer-0001", generous)]);
    for kind in [SignerKind::Revoked, SignerKind::Rsa2048] {
        n.pki.revoke_signer(kind).unwrap();
    }
    n.start().await;

    let started = std::time::Instant::now();
    let mut clients = Clients::default();
    let mut wrong = Vec::new();
    let mut sent = Vec::new();
    let mut personal = Vec::new();
    for class in &classes {
        for case in &class.cases {
            wrong.extend(run(&n, &mut clients, &class.class, case, &mut sent).await);
            personal.extend(case_personal_data(case));
        }
    }
    let elapsed = started.elapsed();

    // Still alive and still deciding: a good request is answered.
    let good = n.mint(&n.fresh(Flow::HealthVoucher));
    let control = clients.get(&n, CLINIC).await.translate(request("health-voucher", "", good)).await;
    assert!(control.is_ok(), "after the corpus a good request is refused: {control:?}");
    drop(clients);
    n.stop().await;

    personal.extend(n.personal_data());
    // The payload segment of every assertion sent (claims in base64url):
    // a log or record holding an assertion would show one.
    let payloads: Vec<String> = sent
        .iter()
        .filter_map(|jws| jws.split('.').nth(1))
        .filter(|p| p.len() >= 64)
        .map(|p| p.chars().skip(8).take(56).collect())
        .collect();

    let mut export = Vec::new();
    hengqin_bridge::audit::export(&n.store(), &mut export).unwrap();
    let export = String::from_utf8(export).unwrap();
    let events: Vec<serde_json::Value> = export
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "event")
        .collect();
    let permits = events.iter().filter(|e| e["decision"] == "permit").count();
    let logs = String::from_utf8_lossy(&logs.bytes()).into_owned();
    assert!(logs.contains("serving"), "the node's own log lines were captured");
    let mut leaks = |what: &str, found: Vec<&String>| {
        if !found.is_empty() {
            wrong.push(format!("{what}: {found:?}"));
        }
    };
    leaks("personal data in the audit export", leaked(&export, &personal));
    leaks("an assertion in the audit export", leaked(&export, &payloads));
    leaks("personal data in the node's logs", leaked(&logs, &personal));
    leaks("an assertion in the node's logs", leaked(&logs, &payloads));
    if permits != 1 {
        wrong.push(format!("{permits} licences in the audit chain; only the control request may have one"));
    }

    println!(
        "hostile corpus: {inputs} inputs in {} classes ({} calls, {} audited, {:.1} s)",
        classes.len(),
        sent.len(),
        events.len(),
        elapsed.as_secs_f64()
    );
    for c in &classes {
        println!("  {:<28} {:>3}  {}", c.class, c.cases.len(), c.file);
    }
    assert!(wrong.is_empty(), "{} problems over {inputs} inputs:\n{}", wrong.len(), wrong.join("\n"));
    assert!(inputs >= MIN_INPUTS && classes.len() >= MIN_CLASSES, "{inputs} inputs in {} classes", classes.len());
}
