//! The `hengqin.bridge.v1.Bridge` handlers: authenticate the partner from
//! its connection, hand the call to the [`Gateway`], record it, and turn a
//! refusal into a status through [`rejection_to_status`].

use super::gateway::{DomainStatusView, Gateway, TranslateInput, TranslateOutput, VerifyOutput};
use super::metrics::{CallRecord, Metrics, NO_PURPOSE, OTHER_PURPOSE, UNKNOWN_PARTNER};
use super::pb::{self, bridge_server::Bridge};
use super::peer::PartnerPeer;
use super::status::rejection_to_status;
use crate::model::{PartnerId, Reason, Rejection};
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tonic::{Request, Response, Status};

pub(crate) struct BridgeService {
    gateway: Arc<dyn Gateway>,
    metrics: Arc<Metrics>,
}

impl BridgeService {
    pub(crate) fn new(gateway: Arc<dyn Gateway>, metrics: Arc<Metrics>) -> Self {
        BridgeService { gateway, metrics }
    }

    /// The first admission check of DESIGN §7: which known partner holds
    /// this connection. Every failure is `UNKNOWN_PARTNER`.
    fn authenticate<T>(&self, request: &Request<T>) -> Result<PartnerId, Rejection> {
        let unknown = |detail: &str| Rejection::new(Reason::UnknownPartner, detail);
        let peer = request
            .extensions()
            .get::<PartnerPeer>()
            .ok_or_else(|| unknown("the connection carries no client certificate"))?;
        let partner = peer.named.clone().ok_or_else(|| unknown("the client certificate names no partner"))?;
        if !self.gateway.known_partner(&partner) {
            return Err(unknown("the client certificate names no partner of the loaded policies"));
        }
        if !self.gateway.partner_key_allowed(&partner, &peer.spki_sha256) {
            return Err(unknown("the client key is not one the partner's policy pins"));
        }
        Ok(partner)
    }

    fn answer<T, M>(
        &self,
        method: &'static str,
        partner: &str,
        purpose: &str,
        started: Instant,
        result: Result<T, Rejection>,
        to_message: impl FnOnce(T) -> M,
    ) -> Result<Response<M>, Status> {
        self.metrics.call(CallRecord {
            method,
            partner,
            purpose,
            refused: result.as_ref().err().map(|r| r.reason),
            elapsed: started.elapsed(),
        });
        result.map(|v| Response::new(to_message(v))).map_err(|r| rejection_to_status(&r))
    }
}

fn partner_label(auth: &Result<PartnerId, Rejection>) -> &str {
    auth.as_ref().map_or(UNKNOWN_PARTNER, PartnerId::as_str)
}

#[tonic::async_trait]
impl Bridge for BridgeService {
    async fn translate(
        &self,
        request: Request<pb::TranslateRequest>,
    ) -> Result<Response<pb::TranslateResponse>, Status> {
        let started = Instant::now();
        let auth = self.authenticate(&request);
        let req = request.into_inner();
        let purpose = if self.gateway.known_purpose(&req.purpose) { req.purpose.clone() } else { OTHER_PURPOSE.into() };
        let result = match &auth {
            Err(r) => Err(r.clone()),
            Ok(partner) => {
                let input = TranslateInput {
                    assertion: req.assertion,
                    purpose: req.purpose,
                    output_format: req.output_format,
                    nonce: req.nonce,
                    request_id: req.request_id,
                };
                // Run to completion even if the caller goes away or the
                // deadline passes: a consumed `jti` must reach the audit.
                let (gateway, partner) = (self.gateway.clone(), partner.clone());
                tokio::spawn(async move { gateway.translate(partner, input).await })
                    .await
                    .unwrap_or_else(|_| Err(Rejection::new(Reason::Internal, "the request task failed")))
            }
        };
        self.answer("Translate", partner_label(&auth), &purpose, started, result, translate_response)
    }

    async fn verify_licence(
        &self,
        request: Request<pb::VerifyLicenceRequest>,
    ) -> Result<Response<pb::VerifyLicenceResponse>, Status> {
        let started = Instant::now();
        let auth = self.authenticate(&request);
        let req = request.into_inner();
        let result = match &auth {
            Err(r) => Err(r.clone()),
            Ok(_) => self.gateway.verify_licence(req.licence, req.content_type).await,
        };
        self.answer("VerifyLicence", partner_label(&auth), NO_PURPOSE, started, result, verify_response)
    }

    async fn get_trust_status(
        &self,
        request: Request<pb::GetTrustStatusRequest>,
    ) -> Result<Response<pb::GetTrustStatusResponse>, Status> {
        let started = Instant::now();
        let auth = self.authenticate(&request);
        let result = auth.as_ref().map(|_| self.gateway.trust_status()).map_err(Clone::clone);
        self.answer("GetTrustStatus", partner_label(&auth), NO_PURPOSE, started, result, |domains| {
            pb::GetTrustStatusResponse { domains: domains.iter().map(domain_status).collect() }
        })
    }
}

fn translate_response(o: TranslateOutput) -> pb::TranslateResponse {
    pb::TranslateResponse {
        licence: o.licence,
        content_type: o.content_type,
        licence_id: o.licence_id,
        released: o.released,
        policy_digest: o.policy_digest,
    }
}

fn verify_response(o: VerifyOutput) -> pb::VerifyLicenceResponse {
    pb::VerifyLicenceResponse {
        signature_valid: o.signature_valid,
        identifier_valid: o.identifier_valid,
        signer_trusted: o.signer_trusted,
        licence_id: o.licence_id,
        signed_at: o.signed_at,
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn domain_status(d: &DomainStatusView) -> pb::DomainStatus {
    let mut out = pb::DomainStatus {
        id: d.id.as_str().to_owned(),
        fresh: d.fresh,
        last_error: d.last_error.clone().unwrap_or_default(),
        ..Default::default()
    };
    if let Some(l) = &d.list {
        out.sequence = l.sequence;
        out.issued_at = rfc3339(l.issued_at);
        out.next_update = rfc3339(l.next_update);
        out.expires = rfc3339(l.expires);
        out.age_seconds = l.age.as_secs();
        out.entries = u32::try_from(l.entries).unwrap_or(u32::MAX);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TrustDomainId;
    use crate::service::gateway::ListView;
    use time::macros::datetime;

    #[test]
    fn domain_status_renders_times_and_absence() {
        let view = DomainStatusView {
            id: TrustDomainId::Mo,
            list: Some(ListView {
                sequence: 42,
                issued_at: datetime!(2026-05-01 00:00 UTC),
                next_update: datetime!(2026-05-01 01:00 UTC),
                expires: datetime!(2026-05-08 00:00 UTC),
                age: std::time::Duration::from_secs(90),
                entries: 3,
            }),
            fresh: true,
            last_error: None,
        };
        let s = domain_status(&view);
        assert_eq!(s.id, "MO");
        assert_eq!(s.sequence, 42);
        assert_eq!(s.issued_at, "2026-05-01T00:00:00Z");
        assert_eq!(s.expires, "2026-05-08T00:00:00Z");
        assert_eq!((s.age_seconds, s.entries, s.fresh), (90, 3, true));
        assert_eq!(s.last_error, "");

        let none = DomainStatusView { id: TrustDomainId::CnGd, list: None, fresh: false, last_error: Some("x".into()) };
        let s = domain_status(&none);
        assert_eq!((s.id.as_str(), s.sequence, s.issued_at.as_str(), s.last_error.as_str()), ("CN-GD", 0, "", "x"));
    }
}
