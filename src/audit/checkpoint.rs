//! Signed checkpoints. The hash chain shows that no event was changed
//! after the next one was written, but anyone with the store could rewrite
//! the whole chain and recompute every hash; a checkpoint, signed with the
//! bridge's SM2 key, pins the chain head at a sequence number so that a
//! rewrite up to it shows.
//!
//! The signature covers the RFC 8785 bytes of `{kind, seq, hash,
//! signed_at}`, with `kind` = `"checkpoint"` so a checkpoint signature can
//! never pass for a licence signature over the same key. The signer
//! certificate (DER, base64) travels with each checkpoint: the verifier
//! checks the signature against it, and separately whether it trusts it.

use super::AuditError;
use crate::licence::jcs;
use crate::signing::{SM2_DEFAULT_ID, Signer, openssl_sm2};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A signed statement that event `seq` has hash `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub kind: CheckpointKind,
    pub seq: u64,
    pub hash: String,
    /// RFC 3339, UTC.
    pub signed_at: String,
    /// SM2-with-SM3 under the default ID, DER, base64.
    pub signature: String,
    /// The signer certificate, DER, base64.
    pub certificate: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointKind {
    Checkpoint,
}

/// Why a checkpoint does not stand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointFault {
    #[error("the signer certificate does not decode")]
    Certificate,
    #[error("the signature does not verify against the certificate stored with it")]
    Signature,
    #[error("the signer is not trusted: {0}")]
    Untrusted(String),
}

fn signed_bytes(seq: u64, hash: &str, signed_at: &str) -> Result<Vec<u8>, AuditError> {
    let value = json!({ "kind": "checkpoint", "seq": seq, "hash": hash, "signed_at": signed_at });
    jcs::canonicalize(&value).map_err(|e| AuditError::Encoding(e.to_string()))
}

impl Checkpoint {
    /// Signs `(seq, hash)` at `now`.
    pub fn sign(signer: &dyn Signer, seq: u64, hash: &str, now: OffsetDateTime) -> Result<Checkpoint, AuditError> {
        let signed_at = now
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .ok_or_else(|| AuditError::Encoding("checkpoint time".into()))?;
        let signature =
            signer.sign(&signed_bytes(seq, hash, &signed_at)?).map_err(|e| AuditError::Signing(e.to_string()))?;
        Ok(Checkpoint {
            kind: CheckpointKind::Checkpoint,
            seq,
            hash: hash.to_owned(),
            signed_at,
            signature: B64.encode(signature),
            certificate: B64.encode(signer.certificate_der()),
        })
    }

    /// The signer certificate, DER.
    pub fn certificate_der(&self) -> Option<Vec<u8>> {
        B64.decode(&self.certificate).ok()
    }

    /// Checks the signature against the stored certificate, then asks
    /// `trust` whether that certificate may sign checkpoints.
    pub fn verify(&self, trust: &dyn Fn(&[u8]) -> Result<(), String>) -> Result<(), CheckpointFault> {
        let der = self.certificate_der().ok_or(CheckpointFault::Certificate)?;
        let cert = openssl::x509::X509::from_der(&der).map_err(|_| CheckpointFault::Certificate)?;
        let key = openssl_sm2::public_key_of(&cert).map_err(|_| CheckpointFault::Certificate)?;
        let signature = B64.decode(&self.signature).map_err(|_| CheckpointFault::Signature)?;
        let msg = signed_bytes(self.seq, &self.hash, &self.signed_at).map_err(|_| CheckpointFault::Signature)?;
        if !key.verify(SM2_DEFAULT_ID, &msg, &signature).unwrap_or(false) {
            return Err(CheckpointFault::Signature);
        }
        trust(&der).map_err(CheckpointFault::Untrusted)
    }
}
