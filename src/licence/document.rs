//! What every format's document shares, so the formats differ only in
//! names and layout: the `provenance` object, times written in UTC+8, and
//! the signature over the canonical bytes of the document without its
//! signature members (DESIGN §6).

use super::record::Provenance;
use super::{CHINA_OFFSET, LicenceError, jcs};
use crate::signing::Signer;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;

/// The `provenance` object, the same in every format.
pub(super) fn provenance(p: &Provenance) -> Result<Value, LicenceError> {
    Ok(json!({
        "source_assertion_sha256": p.source_assertion_sha256,
        "source_issuer": p.source_issuer,
        "policy_digest": p.policy_digest,
        "mapping": p.mapping,
        "gateway_id": p.gateway_id,
        "purpose": p.purpose,
        "released": p.released.iter().map(|r| json!({"claim": r.claim, "form": r.form})).collect::<Vec<_>>(),
        "name_review": p.name_review,
        "signed_at": p.signed_at.to_offset(CHINA_OFFSET).format(&Rfc3339).map_err(date_err)?,
    }))
}

/// `t` written in mainland time (UTC+8).
pub(super) fn local(t: OffsetDateTime, format: &[BorrowedFormatItem<'_>]) -> Result<String, LicenceError> {
    t.to_offset(CHINA_OFFSET).format(format).map_err(date_err)
}

pub(super) fn date_err(e: time::error::Format) -> LicenceError {
    LicenceError::Record(format!("date: {e}"))
}

/// Signs the canonical bytes of `doc`, adds the members `signature_members`
/// builds from the DER signature, and returns the canonical bytes of the
/// whole. A member the rendering already holds is a bug, not overwritten.
pub(super) fn sign(
    mut doc: Map<String, Value>,
    signer: &dyn Signer,
    signature_members: impl FnOnce(&[u8]) -> Vec<(&'static str, Value)>,
) -> Result<Vec<u8>, LicenceError> {
    let canonical = jcs::canonicalize(&Value::Object(doc.clone()))?;
    let signature = signer.sign(&canonical)?;
    for (name, value) in signature_members(&signature) {
        if doc.insert(name.to_owned(), value).is_some() {
            return Err(LicenceError::Record(format!("signature member `{name}` is also a record member")));
        }
    }
    Ok(jcs::canonicalize(&Value::Object(doc))?)
}

/// A document's signature members, taken out of it by its format: what is
/// left is what was signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct DetachedSignature {
    /// DER of the signer certificate, when the member decodes.
    pub certificate: Option<Vec<u8>>,
    /// DER `SEQUENCE{r,s}`, when the member decodes.
    pub value: Option<Vec<u8>>,
    /// The public point the document states beside its certificate, for
    /// formats that carry one (base64 text as found, possibly empty).
    pub stated_public_key: Option<String>,
    /// What is wrong with the members themselves (missing, algorithm, ID).
    pub problems: Vec<String>,
}

/// The string value of `name` in `members`, or `""`.
pub(super) fn text<'a>(members: &'a Map<String, Value>, name: &str) -> &'a str {
    members.get(name).and_then(Value::as_str).unwrap_or("")
}
