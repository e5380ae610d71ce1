//! The seam between the transport and the bridge: what a gRPC call may ask
//! of the node. The edge authenticates the partner and maps refusals; the
//! implementation (wired in `app.rs`) runs admission, the pipeline, the
//! store and the audit. Inputs and outputs mirror the proto messages as
//! plain Rust types so that nothing behind the seam sees tonic.

use crate::model::{PartnerId, Rejection, TrustDomainId};
use std::time::Duration;
use time::OffsetDateTime;

/// `TranslateRequest`, as the partner sent it (fields unchecked: checking
/// them is the pipeline's job, in the fixed order of DESIGN §7).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TranslateInput {
    pub assertion: String,
    pub purpose: String,
    pub output_format: String,
    pub nonce: String,
    pub request_id: String,
}

/// `TranslateResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TranslateOutput {
    pub licence: Vec<u8>,
    pub content_type: String,
    pub licence_id: String,
    pub released: Vec<String>,
    pub policy_digest: String,
}

/// `VerifyLicenceResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyOutput {
    pub signature_valid: bool,
    pub identifier_valid: bool,
    pub signer_trusted: bool,
    pub licence_id: String,
    /// RFC 3339, as written in the record.
    pub signed_at: String,
}

/// One trust domain's state (`DomainStatus`, and the trust gauges of
/// `/metrics`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainStatusView {
    pub id: TrustDomainId,
    /// `None` when no list has ever been accepted for the domain.
    pub list: Option<ListView>,
    /// Usable now: a list is loaded and neither past `expires` nor past the
    /// domain's staleness budget.
    pub fresh: bool,
    /// The last refresh failure; `None` when the last refresh succeeded.
    pub last_error: Option<String>,
}

/// The accepted list of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListView {
    pub sequence: u64,
    pub issued_at: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub expires: OffsetDateTime,
    /// Time since `issued_at`.
    pub age: Duration,
    /// Number of trust anchors.
    pub entries: usize,
}

/// What the node does for a call. Implemented once, in `app.rs`; tests use
/// fakes.
///
/// Every Bridge call reaches these methods only after the partner has been
/// authenticated (mTLS) and found known ([`Gateway::known_partner`]).
/// Refusals are [`Rejection`]s: the edge turns them into a gRPC status in
/// exactly one place ([`super::rejection_to_status`]).
#[tonic::async_trait]
pub trait Gateway: Send + Sync + 'static {
    /// Admission, the pipeline, the audit: a signed licence or a refusal.
    async fn translate(&self, partner: PartnerId, req: TranslateInput) -> Result<TranslateOutput, Rejection>;

    /// Checks a licence this bridge issued.
    async fn verify_licence(&self, licence: Vec<u8>, content_type: String) -> Result<VerifyOutput, Rejection>;

    /// Every configured trust domain, in a stable order.
    fn trust_status(&self) -> Vec<DomainStatusView>;

    /// Serving: every trust domain the partner policies need is fresh and
    /// the policies are loaded. Drives `grpc.health.v1` and `/readyz`.
    fn ready(&self) -> bool;

    /// Fetches every trust list now (admin `POST /trust/refresh`) and
    /// returns once the node has tried (bounded by the fetch timeout).
    async fn refresh_trust(&self) {}

    /// The audit writer's counters (`/metrics`); zero where there is none.
    fn audit_stats(&self) -> crate::audit::AuditStats {
        crate::audit::AuditStats::default()
    }

    /// The partner is one of the loaded policies'.
    fn known_partner(&self, id: &PartnerId) -> bool;

    /// The purpose is one of the loaded policies'. Only known purposes
    /// become metric labels (a label set an anonymous caller could grow
    /// is an unbounded one).
    fn known_purpose(&self, purpose: &str) -> bool;

    /// Whether the partner's client key matches the policy's `spki_sha256`
    /// pins (hex SHA-256 of the SubjectPublicKeyInfo DER), where the policy
    /// has any. Checked on every call after [`Gateway::known_partner`]; a
    /// mismatch is `UNKNOWN_PARTNER`. Without pins every key passes.
    fn partner_key_allowed(&self, _id: &PartnerId, _spki_sha256: &[u8; 32]) -> bool {
        true
    }
}
