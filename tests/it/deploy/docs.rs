//! `deploy/README.md` is the operators' reference: every refusal code a
//! partner can get and every metric the node exports is explained there.

use super::read;
use hengqin_bridge::model::{Reason, TrustDomainId};
use hengqin_bridge::service::{CallRecord, DomainStatusView, HandshakeOutcome, Metrics};
use std::time::Duration;

#[test]
fn every_reason_code_is_explained() {
    let readme = read("deploy/README.md");
    for reason in Reason::ALL {
        // A row of the refusal table: `| `CODE` | … |`.
        let row = format!("| `{}` |", reason.code());
        assert!(readme.contains(&row), "deploy/README.md has no row for {}", reason.code());
    }
}

#[test]
fn every_metric_is_explained() {
    let readme = read("deploy/README.md");
    // Every family, with one sample each (empty ones are not exposed).
    let metrics = Metrics::new();
    let call = CallRecord {
        method: "Translate",
        partner: "hq-clinic-0001",
        purpose: "health-voucher",
        refused: Some(Reason::RateLimited),
        elapsed: Duration::from_millis(2),
    };
    metrics.call(call);
    metrics.handshake(HandshakeOutcome::Accepted);
    metrics.reload(true);
    metrics
        .observe_trust(&[DomainStatusView { id: TrustDomainId::Mo, list: None, fresh: false, last_error: None }], true);
    let exposition = metrics.encode();
    let mut seen = 0;
    for line in exposition.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else { continue };
        let (name, kind) = rest.split_once(' ').unwrap();
        let sample = if kind == "counter" { format!("{name}_total") } else { name.to_owned() };
        assert!(readme.contains(&format!("`{sample}")), "deploy/README.md does not explain {sample}");
        seen += 1;
    }
    assert!(seen >= 9, "{exposition}");
}
