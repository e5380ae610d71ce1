//! Trust lists (DESIGN §3): a JWS over JSON, signed by a pinned list signer.
//!
//! A list is accepted only when its signer's certificate hash is pinned,
//! its signature verifies, its payload is well-formed, its `sequence` is not
//! below the last accepted one (an equal sequence must carry identical
//! content) and it has not expired. Anything else is refused whole.

use super::sig;
use crate::model::TrustDomainId;
use crate::signing::{SM2_DEFAULT_ID, openssl_sm2};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::x509::{X509, X509Crl};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Largest accepted trust list, in bytes.
pub const MAX_LIST_BYTES: usize = 4 * 1024 * 1024;
/// Most entries a list may carry.
pub const MAX_ENTRIES: usize = 1024;
const TYP: &str = "trust-list+jwt";

/// What an entry's certificate is trusted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    EidAssertionIssuer,
    PartnerClientCa,
    BridgeSignerCa,
}

/// One trust anchor of a list.
#[derive(Debug, Clone)]
pub struct TrustEntry {
    pub id: String,
    pub role: Role,
    /// The `iss` values this anchor may vouch for.
    pub issuers: Vec<String>,
    pub certificate: X509,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// A CRL carried in a list (shared, immutable).
#[derive(Clone)]
pub struct Crl(pub std::sync::Arc<X509Crl>);

impl std::fmt::Debug for Crl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Crl")
    }
}

/// An accepted trust list.
#[derive(Debug, Clone)]
pub struct TrustList {
    pub domain: TrustDomainId,
    pub sequence: u64,
    pub issued_at: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub expires: OffsetDateTime,
    pub entries: Vec<TrustEntry>,
    pub crls: Vec<Crl>,
    /// Lower-case hex SHA-256 of the payload: same sequence ⇒ same digest.
    pub content_sha256: String,
    /// Lower-case hex SHA-256 of the signer certificate that signed it.
    pub signer_pin: String,
}

impl TrustList {
    /// The list is usable at `now` (strictly before `expires`).
    pub fn is_current(&self, now: OffsetDateTime) -> bool {
        now < self.expires
    }
}

/// Why a list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("trust list is not a well-formed JWS: {0}")]
    Malformed(&'static str),
    #[error("trust list payload: {0}")]
    Payload(String),
    #[error("trust list signer is not pinned")]
    UnpinnedSigner,
    #[error("trust list signature does not verify")]
    BadSignature,
    #[error("trust list is for domain {found}, expected {expected}")]
    WrongDomain { expected: &'static str, found: String },
    #[error("trust list sequence {found} is below the accepted {accepted}")]
    Rollback { accepted: u64, found: u64 },
    #[error("trust list sequence {0} reused with different content")]
    SequenceReused(u64),
    #[error("trust list expired")]
    Expired,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderDto {
    alg: String,
    typ: String,
    x5c: Vec<String>,
    #[serde(default)]
    kid: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadDto {
    domain: String,
    sequence: u64,
    issued_at: String,
    next_update: String,
    expires: String,
    entries: Vec<EntryDto>,
    #[serde(default)]
    crls: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDto {
    id: String,
    role: Role,
    #[serde(default)]
    issuers: Vec<String>,
    certificate: String,
    not_before: String,
    not_after: String,
}

/// Verifies and parses a trust list for `domain`.
///
/// `pins` are lower-case hex SHA-256 digests of accepted signer
/// certificates; `previous` is the last accepted list of the domain.
pub fn accept(
    jws: &[u8],
    domain: TrustDomainId,
    pins: &[String],
    previous: Option<&TrustList>,
    now: OffsetDateTime,
) -> Result<TrustList, ListError> {
    let list = verify(jws, domain, pins)?;
    if let Some(prev) = previous {
        if list.sequence < prev.sequence {
            return Err(ListError::Rollback { accepted: prev.sequence, found: list.sequence });
        }
        if list.sequence == prev.sequence && list.content_sha256 != prev.content_sha256 {
            return Err(ListError::SequenceReused(list.sequence));
        }
    }
    if !list.is_current(now) {
        return Err(ListError::Expired);
    }
    Ok(list)
}

/// Checks a list's signer pin, signature and payload, but not its
/// sequence or expiry: for a list already held (a cache, a file at
/// start-up), whose staleness the anchors then enforce per request.
pub fn verify(jws: &[u8], domain: TrustDomainId, pins: &[String]) -> Result<TrustList, ListError> {
    if jws.len() > MAX_LIST_BYTES {
        return Err(ListError::Malformed("over the size limit"));
    }
    let text = std::str::from_utf8(jws).map_err(|_| ListError::Malformed("not ASCII"))?.trim_end();
    let mut parts = text.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(ListError::Malformed("not three segments"));
    };
    let b64url = |seg: &str| URL_SAFE_NO_PAD.decode(seg).map_err(|_| ListError::Malformed("bad base64url"));
    let header: HeaderDto =
        serde_json::from_slice(&b64url(h)?).map_err(|_| ListError::Malformed("header is not the expected JSON"))?;
    let _ = header.kid;
    if header.typ != TYP {
        return Err(ListError::Malformed("typ is not trust-list+jwt"));
    }
    let [signer_b64] = header.x5c.as_slice() else {
        return Err(ListError::Malformed("x5c must hold exactly the signer certificate"));
    };
    let signer_der = STANDARD.decode(signer_b64).map_err(|_| ListError::Malformed("x5c is not base64"))?;
    let signer_pin = hex::encode(openssl::sha::sha256(&signer_der));
    if !pins.iter().any(|p| p.eq_ignore_ascii_case(&signer_pin)) {
        return Err(ListError::UnpinnedSigner);
    }
    let signer = X509::from_der(&signer_der).map_err(|_| ListError::Malformed("x5c is not a certificate"))?;
    let signature = b64url(s)?;
    let signing_input = &text.as_bytes()[..h.len() + 1 + p.len()];
    let ok = match header.alg.as_str() {
        "ES256" => sig::verify_es256(&signer, signing_input, &signature),
        "SM2SM3" => sig::verify_sm2sm3_raw(&signer, signing_input, &signature),
        _ => return Err(ListError::Malformed("alg is not ES256 or SM2SM3")),
    };
    if !ok {
        return Err(ListError::BadSignature);
    }

    let payload_bytes = b64url(p)?;
    let payload: PayloadDto =
        serde_json::from_slice(&payload_bytes).map_err(|e| ListError::Payload(format!("line {}: {e}", e.line())))?;
    if payload.domain != domain.as_str() {
        return Err(ListError::WrongDomain { expected: domain.as_str(), found: payload.domain });
    }
    compile(payload, domain, hex::encode(openssl::sha::sha256(&payload_bytes)), signer_pin)
}

fn compile(
    p: PayloadDto,
    domain: TrustDomainId,
    content_sha256: String,
    signer_pin: String,
) -> Result<TrustList, ListError> {
    let time = |field: &str, v: &str| {
        OffsetDateTime::parse(v, &Rfc3339).map_err(|_| ListError::Payload(format!("{field} is not RFC 3339")))
    };
    if p.entries.len() > MAX_ENTRIES {
        return Err(ListError::Payload("too many entries".into()));
    }
    let mut entries = Vec::with_capacity(p.entries.len());
    for e in p.entries {
        let der = STANDARD
            .decode(&e.certificate)
            .map_err(|_| ListError::Payload(format!("entry {}: certificate is not base64", e.id)))?;
        let certificate = X509::from_der(&der)
            .map_err(|_| ListError::Payload(format!("entry {}: certificate does not parse", e.id)))?;
        if e.role == Role::BridgeSignerCa {
            // Set once, before the certificate is shared: SM2 certificate
            // signatures are checked with the GM/T 0009 default ID.
            openssl_sm2::set_distinguishing_id(&certificate, SM2_DEFAULT_ID)
                .map_err(|err| ListError::Payload(format!("entry {}: {err}", e.id)))?;
        }
        let allowed = match domain {
            TrustDomainId::Mo => e.role == Role::EidAssertionIssuer,
            TrustDomainId::CnGd => matches!(e.role, Role::PartnerClientCa | Role::BridgeSignerCa),
        };
        if !allowed {
            return Err(ListError::Payload(format!("entry {}: role not allowed in domain {domain}", e.id)));
        }
        if e.role == Role::EidAssertionIssuer && e.issuers.is_empty() {
            return Err(ListError::Payload(format!("entry {}: no issuers", e.id)));
        }
        entries.push(TrustEntry {
            not_before: time("not_before", &e.not_before)?,
            not_after: time("not_after", &e.not_after)?,
            id: e.id,
            role: e.role,
            issuers: e.issuers,
            certificate,
        });
    }
    let mut crls = Vec::with_capacity(p.crls.len());
    for c in &p.crls {
        let der = STANDARD.decode(c).map_err(|_| ListError::Payload("crl is not base64".into()))?;
        let crl = X509Crl::from_der(&der).map_err(|_| ListError::Payload("crl does not parse".into()))?;
        crls.push(Crl(std::sync::Arc::new(crl)));
    }
    Ok(TrustList {
        domain,
        sequence: p.sequence,
        issued_at: time("issued_at", &p.issued_at)?,
        next_update: time("next_update", &p.next_update)?,
        expires: time("expires", &p.expires)?,
        entries,
        crls,
        content_sha256,
        signer_pin,
    })
}
