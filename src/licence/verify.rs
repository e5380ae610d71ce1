//! Checking a licence someone hands back: its signature, its identifier's
//! check character and, given anchors, its signer's chain to a
//! `bridge-signer-ca` of the `CN-GD` trust list.
//!
//! The format is read from the document's shape: the member holding the
//! identifier (`certificate_identifier` for `gbt36903+json`,
//! `license_code` for `gd-license-app+json`; a document with both or
//! neither is of no known format). The format only says where its
//! signature members are; every check after that is the same for both.

use super::document::DetachedSignature;
use super::{gbt36903, gd_license_app, jcs};
use crate::model::{LicenceId, OutputFormat};
use crate::signing::{SM2_DEFAULT_ID, openssl_sm2};
use crate::trust::{Anchors, verify_signer_certificate};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::x509::X509;
use serde_json::{Map, Value};
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
    /// The signature verifies over the canonical record under the
    /// certificate's key, and the signature members agree with the
    /// certificate (`public_key` in `gd-license-app+json`).
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

/// How one format's document is read back.
struct Shape {
    format: OutputFormat,
    identifier: &'static str,
    take_signature: fn(&mut Map<String, Value>) -> DetachedSignature,
}

const SHAPES: [Shape; 2] = [
    Shape {
        format: OutputFormat::Gbt36903Json,
        identifier: gbt36903::IDENTIFIER_MEMBER,
        take_signature: gbt36903::take_signature,
    },
    Shape {
        format: OutputFormat::GdLicenseAppJson,
        identifier: gd_license_app::IDENTIFIER_MEMBER,
        take_signature: gd_license_app::take_signature,
    },
];

/// Verifies a licence document at `now`.
pub fn verify(bytes: &[u8], anchors: Option<&Anchors>, now: OffsetDateTime) -> Result<VerifyReport, VerifyError> {
    if bytes.len() > MAX_LICENCE_BYTES {
        return Err(VerifyError::TooLarge);
    }
    let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(bytes) else {
        return Err(VerifyError::NotJson);
    };
    let [shape] = SHAPES.iter().filter(|s| doc.contains_key(s.identifier)).collect::<Vec<_>>()[..] else {
        return Err(VerifyError::UnknownFormat);
    };
    let licence_id = doc.get(shape.identifier).and_then(Value::as_str).unwrap_or("").to_owned();
    let signed_at =
        doc.get("provenance").and_then(|p| p.get("signed_at")).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut problems = Vec::new();
    let identifier_valid = LicenceId::parse(&licence_id).is_ok();
    if !identifier_valid {
        problems.push("identifier check character or structure is wrong".to_owned());
    }
    let signature = (shape.take_signature)(&mut doc);
    let signature_valid = check_signature(&signature, &doc, &mut problems);
    let signer_trusted =
        anchors.map(|a| match signature.certificate.as_deref().map(|d| verify_signer_certificate(a, d, now)) {
            Some(Ok(())) => true,
            Some(Err(e)) => {
                problems.push(format!("signer certificate: {e}"));
                false
            }
            None => false,
        });
    Ok(VerifyReport {
        format: shape.format,
        licence_id,
        signed_at,
        signature_valid,
        identifier_valid,
        signer_trusted,
        problems,
    })
}

/// Whether `sig` is a valid signature over `signed` (the document without
/// its signature members) whose members agree with its certificate.
fn check_signature(sig: &DetachedSignature, signed: &Map<String, Value>, problems: &mut Vec<String>) -> bool {
    problems.extend(sig.problems.iter().cloned());
    let key = sig
        .certificate
        .as_deref()
        .and_then(|c| X509::from_der(c).ok())
        .and_then(|c| openssl_sm2::public_key_of(&c).ok());
    let (Some(key), Some(value)) = (key, sig.value.as_deref()) else {
        problems.push("signature certificate or value does not decode".to_owned());
        return false;
    };
    let key_agrees = match &sig.stated_public_key {
        None => true,
        Some(stated) => {
            let agrees = STANDARD.decode(stated).ok().as_deref() == Some(key.point());
            if !agrees {
                problems.push("public_key is not the key of the signature certificate".to_owned());
            }
            agrees
        }
    };
    let verifies = jcs::canonicalize(&Value::Object(signed.clone()))
        .ok()
        .and_then(|canonical| key.verify(SM2_DEFAULT_ID, &canonical, value).ok())
        .unwrap_or(false);
    if !verifies {
        problems.push("signature does not verify over the canonical record".to_owned());
    }
    sig.problems.is_empty() && key_agrees && verifies
}
