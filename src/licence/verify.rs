//! Checking a licence someone hands back: its signature, its identifier's
//! check character and, given anchors, its signer's chain to a
//! `bridge-signer-ca` of the `CN-GD` trust list.

use super::gbt36903::SIGNATURE_MEMBER;
use super::jcs;
use crate::model::{LicenceId, OutputFormat};
use crate::signing::{SM2_DEFAULT_ID, SM2_WITH_SM3_OID, openssl_sm2};
use crate::trust::{Anchors, verify_signer_certificate};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::x509::X509;
use serde_json::Value;
use time::OffsetDateTime;

/// Largest licence document accepted for verification.
pub const MAX_LICENCE_BYTES: usize = 256 * 1024;

/// What verification found. Each check is reported on its own so an
/// operator sees every problem at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub format: OutputFormat,
    pub licence_id: String,
    pub signed_at: String,
    pub signature_valid: bool,
    pub identifier_valid: bool,
    /// `None` when no anchors were given to check the signer against.
    pub signer_trusted: Option<bool>,
    /// Human-readable problems (no personal data).
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// Every check that ran passed.
    pub fn is_valid(&self) -> bool {
        self.signature_valid && self.identifier_valid && self.signer_trusted != Some(false)
    }
}

/// Why a document could not be checked at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("licence is over {MAX_LICENCE_BYTES} bytes")]
    TooLarge,
    #[error("licence is not a JSON object")]
    NotJson,
    #[error("not a licence of a known format")]
    UnknownFormat,
}

/// Verifies a licence document at `now`.
pub fn verify(bytes: &[u8], anchors: Option<&Anchors>, now: OffsetDateTime) -> Result<VerifyReport, VerifyError> {
    if bytes.len() > MAX_LICENCE_BYTES {
        return Err(VerifyError::TooLarge);
    }
    let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(bytes) else {
        return Err(VerifyError::NotJson);
    };
    if !doc.contains_key("certificate_identifier") {
        return Err(VerifyError::UnknownFormat);
    }
    let mut problems = Vec::new();
    let text =
        |doc: &serde_json::Map<String, Value>, k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let licence_id = text(&doc, "certificate_identifier");
    let signed_at =
        doc.get("provenance").and_then(|p| p.get("signed_at")).and_then(Value::as_str).unwrap_or("").to_owned();
    let identifier_valid = LicenceId::parse(&licence_id).is_ok();
    if !identifier_valid {
        problems.push("identifier check character or structure is wrong".to_owned());
    }
    let signature = doc.remove(SIGNATURE_MEMBER);
    let mut signer_der = None;
    let signature_valid = match signature.as_ref().and_then(Value::as_object) {
        None => {
            problems.push("no signature member".to_owned());
            false
        }
        Some(sig) => {
            let field = |k: &str| sig.get(k).and_then(Value::as_str).unwrap_or("");
            let cert = STANDARD.decode(field("certificate")).ok();
            let value = STANDARD.decode(field("value")).ok();
            signer_der = cert.clone();
            if field("algorithm") != SM2_WITH_SM3_OID {
                problems.push("signature algorithm is not SM2 with SM3".to_owned());
                false
            } else if field("user_id").as_bytes() != SM2_DEFAULT_ID {
                problems.push("signature user_id is not the GM/T 0009 default".to_owned());
                false
            } else {
                match (cert.and_then(|c| X509::from_der(&c).ok()), value, jcs::canonicalize(&Value::Object(doc))) {
                    (Some(cert), Some(value), Ok(canonical)) => {
                        let ok = openssl_sm2::public_key_of(&cert)
                            .and_then(|k| openssl_sm2::verify(&k, SM2_DEFAULT_ID, &canonical, &value))
                            .unwrap_or(false);
                        if !ok {
                            problems.push("signature does not verify over the canonical record".to_owned());
                        }
                        ok
                    }
                    _ => {
                        problems.push("signature certificate or value does not decode".to_owned());
                        false
                    }
                }
            }
        }
    };
    let signer_trusted = anchors.map(|a| match signer_der.as_deref().map(|d| verify_signer_certificate(a, d, now)) {
        Some(Ok(())) => true,
        Some(Err(e)) => {
            problems.push(format!("signer certificate: {e}"));
            false
        }
        None => false,
    });
    Ok(VerifyReport {
        format: OutputFormat::Gbt36903Json,
        licence_id,
        signed_at,
        signature_valid,
        identifier_valid,
        signer_trusted,
        problems,
    })
}
