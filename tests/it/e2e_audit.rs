//! The audit chain across a restart (DESIGN §9): every decision the node
//! answered, permit or denial, is one event; the chain written by the
//! second run continues the first; every licence a partner received is in
//! it; and the final checkpoints are signed by the bridge's own key.
//!
//! What is not a decision leaves no event: a retry with the same request
//! id is answered from the first response.

use crate::node::{Client, TestNode, request};
use hengqin_bridge::audit;
use hengqin_bridge::dev::mint::Flow;
use hengqin_bridge::dev::pki::layout;
use hengqin_bridge::service::pb::TranslateRequest;
use hengqin_bridge::store::Store;
use serde_json::{Value, json};
use tonic_types::StatusExt;

const CLINIC: &str = "hq-clinic-0001";
const SS_WINDOW: &str = "hq-ss-window";
const INSURER: &str = "gz-insurer-0001";

/// What the partners were told.
#[derive(Default)]
struct Answers {
    licences: Vec<String>,
    refusals: Vec<String>,
}

impl Answers {
    /// Sends `req` and records the licence id or the reason code; returns
    /// the licence id.
    async fn send(&mut self, client: &mut Client, req: TranslateRequest) -> Option<String> {
        match client.translate(req).await {
            Ok(r) => {
                let id = r.into_inner().licence_id;
                self.licences.push(id.clone());
                Some(id)
            }
            Err(s) => {
                self.refusals.push(s.get_details_error_info().expect("ErrorInfo").reason);
                None
            }
        }
    }

    fn decisions(&self) -> usize {
        self.licences.len() + self.refusals.len()
    }
}

struct Partners {
    clinic: Client,
    window: Client,
    insurer: Client,
}

impl Partners {
    async fn of(n: &TestNode) -> Partners {
        Partners { clinic: n.client(CLINIC).await, window: n.client(SS_WINDOW).await, insurer: n.client(INSURER).await }
    }
}

fn voucher(jws: String) -> TranslateRequest {
    request("health-voucher", "", jws)
}

fn social_security(jws: String) -> TranslateRequest {
    request("social-security", "", jws)
}

fn kyc(n: &TestNode) -> TranslateRequest {
    let jws = n.mint(&n.fresh(Flow::RealNameKyc).set("nonce", json!("session-9")));
    TranslateRequest { nonce: "session-9".into(), ..request("real-name-kyc", "", jws) }
}

fn fresh(n: &TestNode, flow: Flow) -> String {
    n.mint(&n.fresh(flow))
}

/// The exported chain: one JSON object per event, checkpoints left out.
fn exported_events(store: &Store) -> (Vec<Value>, String) {
    let mut out = Vec::new();
    audit::export(store, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let events =
        text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).filter(|v| v["kind"] == "event").collect();
    (events, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_holds_every_decision_across_a_restart() {
    let mut n = TestNode::started().await;
    let mut told = Answers::default();

    // First run: permits for the three flows, a retry, and three denials.
    let mut p = Partners::of(&n).await;
    let first = fresh(&n, Flow::HealthVoucher);
    let with_id = TranslateRequest { request_id: "visit-1".into(), ..voucher(first.clone()) };
    let licence = told.send(&mut p.clinic, with_id.clone()).await.expect("a licence");
    let retried = p.clinic.translate(with_id).await.unwrap().into_inner();
    assert_eq!(retried.licence_id, licence, "a retry gets the first answer, not a new decision");
    for _ in 0..2 {
        told.send(&mut p.clinic, voucher(fresh(&n, Flow::HealthVoucher))).await.expect("a licence");
        told.send(&mut p.window, social_security(fresh(&n, Flow::SocialSecurity))).await.expect("a licence");
    }
    told.send(&mut p.insurer, kyc(&n)).await.expect("a licence");
    let birnp = n.fresh(Flow::HealthVoucher).set("person.bir_type", json!("BIRNP"));
    assert!(told.send(&mut p.clinic, voucher(n.mint(&birnp))).await.is_none());
    assert!(told.send(&mut p.clinic, voucher(first.clone())).await.is_none(), "replayed");
    assert!(told.send(&mut p.clinic, voucher("garbage".into())).await.is_none());
    let first_run = told.decisions();

    // Second run on the same store: the replay ids survived, the chain goes on.
    n.restart().await;
    let mut p = Partners::of(&n).await;
    for _ in 0..2 {
        told.send(&mut p.clinic, voucher(fresh(&n, Flow::HealthVoucher))).await.expect("a licence");
    }
    told.send(&mut p.window, social_security(fresh(&n, Flow::SocialSecurity))).await.expect("a licence");
    assert!(told.send(&mut p.clinic, voucher(first)).await.is_none(), "replayed after the restart");
    let suspended = n.fresh(Flow::SocialSecurity).set("entitlements.fss.status", json!("suspended"));
    assert!(told.send(&mut p.window, social_security(n.mint(&suspended))).await.is_none());
    n.stop().await;

    let mut reasons = told.refusals.clone();
    reasons.sort();
    assert_eq!(reasons, ["MALFORMED_ASSERTION", "NOT_ELIGIBLE", "NOT_ELIGIBLE", "REPLAYED", "REPLAYED"]);
    let decisions = told.decisions() as u64;

    let store = n.store();
    let bridge_signer = openssl::x509::X509::from_pem(&std::fs::read(n.pki.path(layout::CN_BRIDGE_SIGNER)).unwrap())
        .unwrap()
        .to_der()
        .unwrap();
    let signed_by_the_bridge =
        |der: &[u8]| if der == bridge_signer.as_slice() { Ok(()) } else { Err("not the bridge signer".to_owned()) };
    let report = audit::verify(&store, &signed_by_the_bridge).unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.events, decisions, "one event per decision, permits and denials");
    assert_eq!(report.signed_through, decisions, "the last shutdown signed a checkpoint over the whole chain");
    assert!(report.checkpoints >= 2, "each run ended with a checkpoint: {report:?}");

    let (events, text) = exported_events(&store);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=decisions).collect::<Vec<_>>());
    // The second run's first event links to the first run's last.
    let boundary = first_run;
    assert_eq!(events[boundary]["prev_hash"], events[boundary - 1]["hash"]);

    let mut chained: Vec<&str> = events.iter().filter_map(|e| e["licence_id"].as_str()).collect();
    let mut received: Vec<&str> = told.licences.iter().map(String::as_str).collect();
    chained.sort_unstable();
    received.sort_unstable();
    assert_eq!(chained, received, "every licence a partner received, and no other, is in the chain");
    let mut denied: Vec<&str> =
        events.iter().filter(|e| e["decision"] == "deny").map(|e| e["reasons"][0]["code"].as_str().unwrap()).collect();
    denied.sort_unstable();
    assert_eq!(denied, reasons);
    assert!(events.iter().filter(|e| e["decision"] == "permit").all(|e| e["reasons"] == json!([])));

    for value in n.personal_data() {
        assert!(!text.contains(&value), "{value:?} in the audit export");
    }
}
