//! The node's Prometheus metrics, registered once and passed by handle.
//!
//! Labels name partners, purposes, decisions, reasons, trust domains and
//! methods — never people, assertions or records. Partner and purpose
//! labels only ever take values the loaded policies know (`unknown` and
//! `other` otherwise), so no caller can grow the label sets.

use super::gateway::DomainStatusView;
use crate::audit::AuditStats;
use crate::model::Reason;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// The partner label of a caller that names no known partner.
pub const UNKNOWN_PARTNER: &str = "unknown";
/// The purpose label of a purpose the policies do not know.
pub const OTHER_PURPOSE: &str = "other";
/// The purpose label of calls that carry no purpose.
pub const NO_PURPOSE: &str = "";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    partner: String,
    purpose: String,
    decision: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DomainLabels {
    domain: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// How a TLS handshake ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeOutcome {
    Accepted,
    Failed,
    TimedOut,
}

/// One answered call, as the metrics see it.
#[derive(Debug, Clone, Copy)]
pub struct CallRecord<'a> {
    /// The gRPC method, e.g. `Translate`.
    pub method: &'static str,
    /// A known partner id, or [`UNKNOWN_PARTNER`].
    pub partner: &'a str,
    /// A known purpose id, [`OTHER_PURPOSE`] or [`NO_PURPOSE`].
    pub purpose: &'a str,
    /// `None` when the call was answered, else why it was refused.
    pub refused: Option<Reason>,
    pub elapsed: Duration,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric of the node. Build it once, add other modules' metrics
/// through [`Metrics::registry_mut`] before sharing it, then pass
/// `Arc<Metrics>` around.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<MethodLabels>,
    limiter_rejections: Family<ReasonLabels, Counter>,
    handshakes: Family<OutcomeLabels, Counter>,
    reloads: Family<OutcomeLabels, Counter>,
    trust_fresh: Family<DomainLabels, Gauge>,
    trust_age: Family<DomainLabels, Gauge>,
    trust_sequence: Family<DomainLabels, Gauge>,
    ready: Gauge,
    audit_events: Counter,
    audit_flushes: Counter,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let m = Metrics {
            registry: Registry::with_prefix("hengqin_bridge"),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            limiter_rejections: Family::default(),
            handshakes: Family::default(),
            reloads: Family::default(),
            trust_fresh: Family::default(),
            trust_age: Family::default(),
            trust_sequence: Family::default(),
            ready: Gauge::default(),
            audit_events: Counter::default(),
            audit_flushes: Counter::default(),
        };
        m.register_own()
    }

    fn register_own(mut self) -> Metrics {
        let r = &mut self.registry;
        r.register(
            "requests",
            "gRPC calls by method, partner, purpose, decision (ok/refused) and reason",
            self.requests.clone(),
        );
        r.register("request_duration_seconds", "gRPC call latency by method", self.latency.clone());
        r.register(
            "limiter_rejections",
            "calls refused by admission (RATE_LIMITED, QUOTA_EXHAUSTED, OVERLOADED)",
            self.limiter_rejections.clone(),
        );
        r.register("tls_handshakes", "partner TLS handshakes by outcome", self.handshakes.clone());
        r.register("reloads", "policy/mapping/trust-list/key reloads by outcome", self.reloads.clone());
        r.register("trust_fresh", "1 when the trust domain's list is usable", self.trust_fresh.clone());
        r.register("trust_age_seconds", "seconds since the domain's list was issued", self.trust_age.clone());
        r.register("trust_sequence", "sequence of the domain's accepted list", self.trust_sequence.clone());
        r.register("audit_events", "audit events made durable since start", self.audit_events.clone());
        r.register(
            "audit_flushes",
            "audit group commits (store flushes) since start; events ÷ flushes is the mean batch",
            self.audit_flushes.clone(),
        );
        r.register("ready", "1 when the node serves (health and /readyz)", self.ready.clone());
        self
    }

    /// For other modules' metrics (store, audit, limits): register them
    /// here before the handle is shared.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Records one answered or refused call.
    pub fn call(&self, c: CallRecord<'_>) {
        let labels = RequestLabels {
            method: c.method,
            partner: c.partner.to_owned(),
            purpose: c.purpose.to_owned(),
            decision: if c.refused.is_some() { "refused" } else { "ok" },
            reason: c.refused.map_or("", Reason::code),
        };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&MethodLabels { method: c.method }).observe(c.elapsed.as_secs_f64());
        if let Some(r @ (Reason::RateLimited | Reason::QuotaExhausted | Reason::Overloaded)) = c.refused {
            self.limiter_rejections.get_or_create(&ReasonLabels { reason: r.code() }).inc();
        }
    }

    pub fn handshake(&self, outcome: HandshakeOutcome) {
        let outcome = match outcome {
            HandshakeOutcome::Accepted => "accepted",
            HandshakeOutcome::Failed => "failed",
            HandshakeOutcome::TimedOut => "timed_out",
        };
        self.handshakes.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Counts one reload attempt: `installed` or refused (old set kept).
    pub fn reload(&self, installed: bool) {
        let outcome = if installed { "installed" } else { "refused" };
        self.reloads.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Sets the trust and readiness gauges (done at every scrape).
    pub fn observe_trust(&self, domains: &[DomainStatusView], ready: bool) {
        for d in domains {
            let labels = DomainLabels { domain: d.id.as_str() };
            self.trust_fresh.get_or_create(&labels).set(i64::from(d.fresh));
            let (age, sequence) =
                d.list.as_ref().map_or((0, 0), |l| (l.age.as_secs() as i64, l.sequence.min(i64::MAX as u64) as i64));
            self.trust_age.get_or_create(&labels).set(age);
            self.trust_sequence.get_or_create(&labels).set(sequence);
        }
        self.ready.set(i64::from(ready));
    }

    /// Sets the audit counters from the writer's own (done at every scrape).
    pub fn observe_audit(&self, stats: &AuditStats) {
        self.audit_events.inner().store(stats.events, std::sync::atomic::Ordering::Relaxed);
        self.audit_flushes.inner().store(stats.flushes, std::sync::atomic::Ordering::Relaxed);
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TrustDomainId;

    #[test]
    fn exposes_calls_limits_and_trust() {
        let m = Metrics::new();
        let ok = CallRecord {
            method: "Translate",
            partner: "hq-clinic-0001",
            purpose: "health-voucher",
            refused: None,
            elapsed: Duration::from_millis(3),
        };
        m.call(ok);
        m.call(CallRecord { refused: Some(Reason::RateLimited), ..ok });
        m.call(CallRecord { refused: Some(Reason::Replayed), ..ok });
        m.handshake(HandshakeOutcome::Failed);
        m.reload(false);
        m.observe_audit(&AuditStats { events: 7, flushes: 3, ..AuditStats::default() });
        m.observe_trust(
            &[DomainStatusView { id: TrustDomainId::CnGd, list: None, fresh: false, last_error: None }],
            false,
        );
        let text = m.encode();
        for line in [
            r#"hengqin_bridge_requests_total{method="Translate",partner="hq-clinic-0001",purpose="health-voucher",decision="ok",reason=""} 1"#,
            r#"hengqin_bridge_requests_total{method="Translate",partner="hq-clinic-0001",purpose="health-voucher",decision="refused",reason="RATE_LIMITED"} 1"#,
            r#"hengqin_bridge_limiter_rejections_total{reason="RATE_LIMITED"} 1"#,
            r#"hengqin_bridge_request_duration_seconds_count{method="Translate"} 3"#,
            r#"hengqin_bridge_tls_handshakes_total{outcome="failed"} 1"#,
            r#"hengqin_bridge_reloads_total{outcome="refused"} 1"#,
            r#"hengqin_bridge_trust_fresh{domain="CN-GD"} 0"#,
            "hengqin_bridge_ready 0",
            "hengqin_bridge_audit_events_total 7",
            "hengqin_bridge_audit_flushes_total 3",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(!text.contains(r#"limiter_rejections_total{reason="REPLAYED"}"#));
    }
}
