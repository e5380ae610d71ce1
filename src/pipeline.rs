//! `process()`: one translation, the stages in the fixed order of
//! DESIGN §7, so an input with several faults always gets the same code.
//!
//! admission (partner known) → request fields (purpose, format) → size and
//! framing and header (intake) → chain, signature, claims, issuer, time,
//! audience, nonce, replay, eID status (trust) → per-subject limit →
//! policy → mapping → signing.

use crate::intake;
use crate::licence::{self, IssueInput, SignedLicence, SinkCodes};
use crate::model::{OutputFormat, PartnerId, PurposeId, Reason, Rejection};
use crate::policy::{self, Permitted, Request};
use crate::snapshot::Snapshot;
use crate::trust::{self, Expectations, ReplayGuard, Role};
use time::OffsetDateTime;

/// A translation request as the edge (or the offline CLI) received it.
#[derive(Debug, Clone, Copy)]
pub struct TranslateRequest<'a> {
    /// The partner the transport authenticated (offline: `--partner`).
    pub partner: &'a str,
    pub purpose: &'a str,
    /// Empty means the default, `gbt36903+json`.
    pub format: &'a str,
    /// Empty means none.
    pub nonce: &'a str,
    /// The compact JWS.
    pub assertion: &'a [u8],
}

/// The per-subject limit, checked once the data subject is known. The core
/// defines it; the edge implements it with governor.
pub trait SubjectGate: Send + Sync {
    /// `subject` is a pseudonymous hash of the data subject for this
    /// partner; `Err` carries `RATE_LIMITED`.
    fn admit(&self, partner: &PartnerId, subject: &str, now: OffsetDateTime) -> Result<(), Rejection>;
}

/// A gate that admits every subject (the offline CLI: one request a run).
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenSubjectGate;

impl SubjectGate for OpenSubjectGate {
    fn admit(&self, _: &PartnerId, _: &str, _: OffsetDateTime) -> Result<(), Rejection> {
        Ok(())
    }
}

/// What the audit records of a request besides its outcome, learnt as the
/// stages pass: never personal data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// The partner's jurisdiction, once the partner is known.
    pub jurisdiction: Option<String>,
    /// Lower-case hex SHA-256 of the compact JWS, once it is framed.
    pub source_sha256: Option<String>,
    /// The pseudonymous subject hash, once the assertion is verified.
    pub subject: Option<String>,
}

/// Runs one request through every stage.
pub fn process(
    req: &TranslateRequest<'_>,
    snap: &Snapshot,
    replay: &dyn ReplayGuard,
    subjects: &dyn SubjectGate,
    now: OffsetDateTime,
) -> Result<SignedLicence, Rejection> {
    process_traced(req, snap, replay, subjects, now, &mut Trace::default())
}

/// [`process`], filling `trace` with what the audit needs as the stages
/// pass.
pub fn process_traced(
    req: &TranslateRequest<'_>,
    snap: &Snapshot,
    replay: &dyn ReplayGuard,
    subjects: &dyn SubjectGate,
    now: OffsetDateTime,
    trace: &mut Trace,
) -> Result<SignedLicence, Rejection> {
    let partner_id = PartnerId::parse(req.partner)
        .ok()
        .filter(|p| snap.policies.partner(p).is_some())
        .ok_or_else(|| Rejection::new(Reason::UnknownPartner, "partner is not in the policies"))?;
    let purpose = PurposeId::parse(req.purpose)
        .ok()
        .filter(|p| snap.policies.purpose(p).is_some())
        .ok_or_else(|| Rejection::new(Reason::UnknownPurpose, "purpose is not defined"))?;
    let format = if req.format.is_empty() {
        OutputFormat::Gbt36903Json
    } else {
        OutputFormat::parse(req.format).ok_or_else(|| Rejection::new(Reason::UnknownFormat, "unknown output format"))?
    };

    let partner = snap.policies.partner(&partner_id).ok_or_else(|| Rejection::new(Reason::UnknownPartner, ""))?;
    trace.jurisdiction = Some(partner.jurisdiction.to_string());

    let known = snap.anchors.decoded(Role::EidAssertionIssuer);
    let presented = intake::parse_with(req.assertion, &known).map_err(|e| Rejection::new(e.reason(), e.to_string()))?;
    trace.source_sha256 = Some(presented.source_sha256.clone());

    let rules = snap.policies.source_rules();
    let expect = Expectations {
        gateway_id: &snap.gateway_id,
        clock_skew: rules.clock_skew,
        max_assertion_age: rules.max_assertion_age,
        nonce_required: partner.nonce_required,
        request_nonce: Some(req.nonce),
    };
    let verified = trust::verify(presented, &snap.anchors, &expect, replay, now)
        .map_err(|e| Rejection::new(e.reason(), e.to_string()))?;

    let subject = snap.pseudonym_key.pseudonym(&partner_id, verified.claims().person.bir_number.as_str());
    trace.subject = Some(subject.clone());
    subjects.admit(&partner_id, &subject, now)?;

    let request = Request { partner: partner_id, purpose, format };
    let permitted = policy::permit(verified, &snap.policies, &request, &snap.pseudonym_key, now)?;

    let input = issue_input(&permitted, snap)?;
    licence::issue(input, &snap.issuer, snap.signer.as_ref(), now).map_err(|e| internal("licence", &e))
}

fn internal(what: &str, e: &dyn std::fmt::Display) -> Rejection {
    Rejection::new(Reason::Internal, format!("{what}: {e}"))
}

/// What the licence is issued from: the permitted attributes mapped by the
/// purpose's mapping, with the provenance the snapshot adds. The one place
/// this is assembled (the benchmarks time it through here too).
pub fn issue_input<'a>(permitted: &'a Permitted, snap: &'a Snapshot) -> Result<IssueInput<'a>, Rejection> {
    let format = permitted.format();
    let mapping = snap
        .mappings
        .get(permitted.mapping_id())
        .ok_or_else(|| internal("mapping", &"the purpose's mapping is not loaded"))?;
    let mapped = crate::mapping::map(permitted, mapping).map_err(|e| internal("mapping", &e))?;
    Ok(IssueInput {
        mapped,
        format,
        purpose: permitted.purpose().as_str(),
        copy_cause: permitted.purpose_description(),
        validity: permitted.record_validity(),
        released: permitted.released_claims(),
        source_issuer: permitted.source_issuer(),
        source_sha256: permitted.source_sha256(),
        policy_digest: snap.policies.digest(),
        gateway_id: &snap.gateway_id,
        codes: SinkCodes::for_format(format, |id| snap.mappings.table(id)),
    })
}
