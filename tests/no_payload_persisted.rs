//! Nothing about a person outlives the request (DESIGN §9: nothing stores
//! the assertion or the licence payload; §7: no personal data in logs).
//!
//! Traffic for every flow and format the shipped partners have — the
//! clinic's health voucher, the hospital's in the Guangdong format, the
//! social-security window in both formats, the insurer's real-name check in
//! both, a safe retry, and refusals — goes through the real node while every
//! log line it writes (JSON, as `--log-format json` writes them, at every
//! level of the bridge's own code) is kept. Then the node is stopped and
//! the raw bytes of every file under its directory (the sled store with its
//! logs and snapshots, config, keys), the audit export and the log lines
//! are searched for the subjects' names in both scripts and romanised, their
//! BIR, MTP, residence-permit and social-security numbers and birth date,
//! the assertions and the licence signatures. None may be found.

mod node;

use hengqin_bridge::dev::mint::{Flow, MintOptions};
use hengqin_bridge::model::gb11643_check;
use node::{TestNode, request};
use serde_json::json;
use std::path::Path;
use tonic_types::StatusExt;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

/// The node's logs as `--log-format json` formats them; the bridge's own
/// events at every level, other crates' at the level the binary logs.
fn capture_logs() -> node::Captured {
    let captured = node::Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish()
        .with(Targets::new().with_target("hengqin_bridge", tracing::Level::TRACE).with_default(tracing::Level::INFO));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");
    captured
}

/// What a partner sent and got back.
#[derive(Default)]
struct Traffic {
    /// Every assertion sent.
    assertions: Vec<String>,
    /// The signature value of every licence received.
    signatures: Vec<String>,
    licence_ids: Vec<String>,
}

impl Traffic {
    fn mint(&mut self, node: &TestNode, opts: &MintOptions) -> String {
        let jws = node.mint(opts);
        self.assertions.push(jws.clone());
        jws
    }

    /// One translation that must succeed.
    async fn translate(&mut self, node: &TestNode, partner: &str, flow: Flow, format: &str, nonce: Option<&str>) {
        let mut opts = node.fresh(flow);
        if let Some(n) = nonce {
            opts = opts.set("nonce", json!(n));
        }
        let mut req = request(flow.purpose_id(), format, self.mint(node, &opts));
        req.nonce = nonce.unwrap_or_default().to_owned();
        req.request_id = format!("req-{}", self.licence_ids.len());
        let mut client = node.client(partner).await;
        let answer = client.translate(req.clone()).await.unwrap_or_else(|s| panic!("{partner}: {s:?}")).into_inner();
        // A safe retry: the same answer again, from memory.
        let again = client.translate(req).await.unwrap_or_else(|s| panic!("{partner} retry: {s:?}")).into_inner();
        assert_eq!(again.licence, answer.licence);
        let licence: serde_json::Value = serde_json::from_slice(&answer.licence).unwrap();
        let signature = licence["signature"]["value"].as_str().or(licence["s_sign_data"].as_str()).unwrap();
        self.signatures.push(signature.to_owned());
        self.licence_ids.push(answer.licence_id);
    }

    /// One assertion sent by `partner` that must be refused with `code`.
    async fn refused(&mut self, node: &TestNode, partner: &str, purpose: &str, jws: String, code: &str) {
        let mut client = node.client(partner).await;
        let status = client.translate(request(purpose, "", jws)).await.expect_err(code);
        assert_eq!(status.get_details_error_info().unwrap().reason, code);
    }
}

/// Every value about a person the assertions carried, in the forms a
/// record, a log or a store could hold them.
fn personal_values(node: &TestNode) -> Vec<String> {
    let mut values = node.personal_data();
    let permit_body = "82000019800517001";
    values.push(format!("{permit_body}{}", gb11643_check(permit_body).unwrap()));
    values.push(permit_body.to_owned());
    values.push("19800517".to_owned());
    for name in ["陳大文", "陈大文"] {
        values.push(name.chars().map(|c| format!("\\u{:04x}", c as u32)).collect());
    }
    values
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn find(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_personal_data_in_the_store_the_audit_export_or_the_logs() {
    let logs = capture_logs();
    let mut node = TestNode::new();
    node.start().await;
    let mut traffic = Traffic::default();

    const GBT: &str = "gbt36903+json";
    const GD: &str = "gd-license-app+json";
    traffic.translate(&node, "hq-clinic-0001", Flow::HealthVoucher, GBT, None).await;
    traffic.translate(&node, "hq-hospital-0001", Flow::HealthVoucher, GD, Some("ward-7")).await;
    traffic.translate(&node, "hq-ss-window", Flow::SocialSecurity, GBT, None).await;
    traffic.translate(&node, "hq-ss-window", Flow::SocialSecurity, GD, None).await;
    traffic.translate(&node, "gz-insurer-0001", Flow::RealNameKyc, GBT, Some("gz-session-1")).await;
    traffic.translate(&node, "gz-insurer-0001", Flow::RealNameKyc, GD, Some("gz-session-2")).await;

    let cancelled = node.fresh(Flow::SocialSecurity).set("eid_status", json!("cancelled"));
    let jws = traffic.mint(&node, &cancelled);
    traffic.refused(&node, "hq-ss-window", "social-security", jws, "EID_NOT_ACTIVE").await;
    let non_permanent = node.fresh(Flow::HealthVoucher).set("person.bir_type", json!("BIRNP"));
    let jws = traffic.mint(&node, &non_permanent);
    traffic.refused(&node, "hq-clinic-0001", "health-voucher", jws, "NOT_ELIGIBLE").await;
    let without_nonce = traffic.mint(&node, &node.fresh(Flow::RealNameKyc));
    traffic.refused(&node, "gz-insurer-0001", "real-name-kyc", without_nonce, "NONCE_MISMATCH").await;
    // The clinic's assertion again, without the request id that made its retry safe.
    let first = traffic.assertions[0].clone();
    traffic.refused(&node, "hq-clinic-0001", "health-voucher", first, "REPLAYED").await;
    node.stop().await;

    let mut export = Vec::new();
    let summary = hengqin_bridge::audit::export(&node.store(), &mut export).unwrap();
    assert_eq!(summary.events, 6 + 4, "six translations and four refusals decided; retries answered from memory");
    let logs = logs.bytes();

    // Not vacuous: the places searched hold what they should.
    let export_text = String::from_utf8(export.clone()).unwrap();
    for id in &traffic.licence_ids {
        assert!(export_text.contains(id.as_str()), "the audit names licence {id}");
    }
    let log_text = String::from_utf8(logs.clone()).unwrap();
    assert!(log_text.contains("\"serving\""), "the node's logs were captured:\n{log_text}");
    for line in log_text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
    let mut files = Vec::new();
    files_under(node.pki.dir(), &mut files);
    let store_files: Vec<_> = files.iter().filter(|f| f.starts_with(node.pki.path("state"))).collect();
    assert!(store_files.len() >= 2, "the sled store is there: {files:?}");
    let raw_store: Vec<u8> = store_files.iter().flat_map(|f| std::fs::read(f).unwrap()).collect();
    assert!(find(&raw_store, &traffic.licence_ids[0]), "the raw store bytes show the audit events");

    let mut forbidden = personal_values(&node);
    forbidden.extend(traffic.assertions.iter().map(|jws| jws.split('.').nth(1).unwrap()[..40].to_owned()));
    forbidden.extend(traffic.signatures.iter().map(|s| s[..40].to_owned()));
    let mut places: Vec<(String, Vec<u8>)> =
        files.iter().map(|f| (f.display().to_string(), std::fs::read(f).unwrap())).collect();
    places.push(("the audit export".into(), export));
    places.push(("the node's logs".into(), logs.clone()));
    for (place, bytes) in &places {
        for value in &forbidden {
            assert!(!find(bytes, value), "{value:?} found in {place}");
        }
    }
    // No JWS of any kind (assertion or trust list) in a log line.
    assert!(!find(&logs, "eyJ"), "a JWS in the logs:\n{log_text}");
}
