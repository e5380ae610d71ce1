//! [`Permitted`]: the proof that policy allowed a transfer, carrying the
//! released values with their forms already applied.

use super::evaluate::{Request, evaluate};
use super::forms::{self, Form, PseudonymKey};
use super::set::PolicySet;
use crate::intake::ClaimValue;
use crate::licence::record::ReleasedClaim;
use crate::model::{JurisdictionId, OutputFormat, PartnerId, PurposeId, Reason, Rejection};
use crate::trust::Verified;
use time::{Duration, OffsetDateTime};

/// One released claim, in the form the policy chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// A path of [`crate::intake::RELEASABLE_PATHS`].
    pub claim: String,
    pub form: Form,
    pub value: ClaimValue,
}

/// A verified assertion that policy allowed, reduced to what may cross the
/// border. Only [`crate::policy`] can make one, so a record can never be
/// built from an assertion policy did not see:
///
/// ```compile_fail,E0451
/// use hengqin_bridge::policy::{Permitted, Released};
/// use hengqin_bridge::model::{JurisdictionId, OutputFormat, PartnerId, PurposeId};
/// fn forge(p: PartnerId, j: JurisdictionId, u: PurposeId, released: Vec<Released>) -> Permitted {
///     Permitted {
///         partner: p,
///         jurisdiction: j,
///         purpose: u,
///         format: OutputFormat::Gbt36903Json,
///         purpose_description: String::new(),
///         mapping: String::new(),
///         record_validity: time::Duration::DAY,
///         source_issuer: String::new(),
///         source_sha256: String::new(),
///         policy_digest: String::new(),
///         released,
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Permitted {
    partner: PartnerId,
    jurisdiction: JurisdictionId,
    purpose: PurposeId,
    format: OutputFormat,
    purpose_description: String,
    mapping: String,
    record_validity: Duration,
    source_issuer: String,
    source_sha256: String,
    policy_digest: String,
    released: Vec<Released>,
}

impl Permitted {
    pub fn partner(&self) -> &PartnerId {
        &self.partner
    }

    pub fn jurisdiction(&self) -> &JurisdictionId {
        &self.jurisdiction
    }

    pub fn purpose(&self) -> &PurposeId {
        &self.purpose
    }

    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// The purpose's description: the record's `certificate_copy_cause`.
    pub fn purpose_description(&self) -> &str {
        &self.purpose_description
    }

    /// Id of the mapping that renders this purpose.
    pub fn mapping_id(&self) -> &str {
        &self.mapping
    }

    /// How long the record is valid from its issue.
    pub fn record_validity(&self) -> Duration {
        self.record_validity
    }

    /// The verified `iss` of the source assertion.
    pub fn source_issuer(&self) -> &str {
        &self.source_issuer
    }

    /// Lower-case hex SHA-256 of the source assertion.
    pub fn source_sha256(&self) -> &str {
        &self.source_sha256
    }

    /// Digest of the policy set that decided.
    pub fn policy_digest(&self) -> &str {
        &self.policy_digest
    }

    /// The released values, in the order of `RELEASABLE_PATHS`.
    pub fn released(&self) -> &[Released] {
        &self.released
    }

    /// The released value of one claim path, if it was released.
    pub fn value(&self, claim: &str) -> Option<&Released> {
        self.released.iter().find(|r| r.claim == claim)
    }

    /// `{claim, form}` pairs for the record's provenance and the audit.
    pub fn released_claims(&self) -> Vec<ReleasedClaim> {
        self.released
            .iter()
            .map(|r| ReleasedClaim { claim: r.claim.clone(), form: r.form.as_str().to_owned() })
            .collect()
    }
}

/// Decides and, on Permit, keeps only the purpose's (narrowed) release set
/// with each form applied; every other claim is dropped here. A refusal
/// carries the first reason's code, detail and clause.
pub fn permit(
    verified: Verified,
    set: &PolicySet,
    req: &Request,
    pseudonym_key: &PseudonymKey,
    now: OffsetDateTime,
) -> Result<Permitted, Rejection> {
    let claims = verified.claims();
    let decision = evaluate(claims, set, req, now);
    if let Some(rejection) = decision.rejection() {
        return Err(rejection);
    }
    let fail_closed = || Rejection::new(Reason::Internal, "policy could not be applied");
    let eff = set.effective(&req.partner, &req.purpose).ok_or_else(fail_closed)?;
    let mut released = Vec::new();
    for (path, form) in eff.release.0.iter() {
        let Some(value) = claims.value_at(path) else { continue };
        let value = forms::apply(path, form, value, &req.partner, pseudonym_key).ok_or_else(fail_closed)?;
        released.push(Released { claim: path.to_owned(), form, value });
    }
    Ok(Permitted {
        partner: req.partner.clone(),
        jurisdiction: eff.partner.jurisdiction.clone(),
        purpose: req.purpose.clone(),
        format: req.format,
        purpose_description: eff.purpose.description.clone(),
        mapping: eff.purpose.mapping.clone(),
        record_validity: eff.purpose.record_validity,
        source_issuer: verified.issuer().to_owned(),
        source_sha256: verified.source_sha256().to_owned(),
        policy_digest: set.digest().to_owned(),
        released,
    })
}
