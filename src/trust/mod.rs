//! Trust anchors, chains, revocation and the assertion's signature and
//! claim checks → [`Verified`].
//!
//! [`verify`] runs the trust part of DESIGN §7's fixed order: chain (build,
//! anchor, validity, key usage, revocation) → signature → claim syntax →
//! `iss` bound to the anchor → time (`nbf`, `exp`, max age) → `aud` →
//! `nonce` → replay (the `jti` is consumed here) → `eid_status`.

mod anchors;
pub mod list;
mod replay;
mod sig;
mod verified;

pub use anchors::{Anchors, CHAIN_CACHE_CAPACITY, CachedChains, DomainTrust, MAX_CHAIN, ValidChain};
pub use list::{ListError, Role, TrustEntry, TrustList};
pub use replay::{MemoryReplayGuard, ReplayError, ReplayGuard};
pub use verified::Verified;

use crate::intake::{EidStatus, IntakeError, Presented, parse_claims};
use crate::model::{Reason, TrustDomainId};
use time::{Duration, OffsetDateTime};

/// Why trust refused an assertion. Messages carry no claim values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("trust domain {0} has no current trust list")]
    Stale(TrustDomainId),
    #[error("revocation status unknown")]
    RevocationUnknown,
    #[error("untrusted chain: {0}")]
    UntrustedChain(String),
    #[error("certificate revoked")]
    CertRevoked,
    #[error("signature does not verify")]
    BadSignature,
    #[error(transparent)]
    Claims(#[from] IntakeError),
    #[error("issuer is not bound to the anchor")]
    IssuerNotTrusted,
    #[error("assertion not yet valid")]
    NotYetValid,
    #[error("assertion expired")]
    Expired,
    #[error("assertion lifetime exceeds the maximum age")]
    TooOld,
    #[error("audience is not this gateway")]
    WrongAudience,
    #[error("nonce missing or different")]
    NonceMismatch,
    #[error("assertion already used")]
    Replayed,
    #[error("eID is not active")]
    EidNotActive,
    #[error("internal: {0}")]
    Internal(String),
}

impl TrustError {
    pub fn reason(&self) -> Reason {
        match self {
            TrustError::Stale(_) => Reason::TrustStale,
            TrustError::RevocationUnknown => Reason::RevocationUnknown,
            TrustError::UntrustedChain(_) => Reason::UntrustedChain,
            TrustError::CertRevoked => Reason::CertRevoked,
            TrustError::BadSignature => Reason::BadSignature,
            TrustError::Claims(e) => e.reason(),
            TrustError::IssuerNotTrusted => Reason::IssuerNotTrusted,
            TrustError::NotYetValid => Reason::AssertionNotYetValid,
            TrustError::Expired => Reason::AssertionExpired,
            TrustError::TooOld => Reason::AssertionTooOld,
            TrustError::WrongAudience => Reason::WrongAudience,
            TrustError::NonceMismatch => Reason::NonceMismatch,
            TrustError::Replayed => Reason::Replayed,
            TrustError::EidNotActive => Reason::EidNotActive,
            TrustError::Internal(_) => Reason::Internal,
        }
    }
}

/// What the request and the policies expect of the assertion.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    /// Config `gateway.id`: the only accepted `aud`.
    pub gateway_id: &'a str,
    pub clock_skew: Duration,
    pub max_assertion_age: Duration,
    /// The partner's policy requires a nonce.
    pub nonce_required: bool,
    /// The nonce the partner sent with the request (empty = none).
    pub request_nonce: Option<&'a str>,
}

/// Verifies a presented assertion at `now`.
pub fn verify(
    presented: Presented,
    anchors: &Anchors,
    expect: &Expectations<'_>,
    replay: &dyn ReplayGuard,
    now: OffsetDateTime,
) -> Result<Verified, TrustError> {
    let chain = anchors.validate_chain(TrustDomainId::Mo, Role::EidAssertionIssuer, &presented.header.x5c, now)?;
    if !sig::verify_jws(presented.header.alg, &chain.leaf_key, &presented.signing_input, &presented.signature) {
        return Err(TrustError::BadSignature);
    }
    let claims = parse_claims(&presented.payload)?;
    if !chain.issuers.contains(&claims.iss) {
        return Err(TrustError::IssuerNotTrusted);
    }

    let t = now.unix_timestamp();
    let skew = expect.clock_skew.whole_seconds();
    if claims.iat > t + skew || claims.nbf.is_some_and(|nbf| nbf > t + skew) {
        return Err(TrustError::NotYetValid);
    }
    if claims.exp <= t - skew {
        return Err(TrustError::Expired);
    }
    if claims.exp - claims.iat > expect.max_assertion_age.whole_seconds() {
        return Err(TrustError::TooOld);
    }
    if claims.aud != expect.gateway_id {
        return Err(TrustError::WrongAudience);
    }
    check_nonce(claims.nonce.as_deref(), expect)?;

    let remember_until = OffsetDateTime::from_unix_timestamp(claims.exp.saturating_add(skew))
        .map_err(|_| TrustError::Internal("exp out of range".into()))?;
    replay.consume(replay_key(&claims.iss, &claims.jti), remember_until, now).map_err(|e| match e {
        ReplayError::Replayed => TrustError::Replayed,
        ReplayError::Unavailable(m) => TrustError::Internal(m),
    })?;
    if claims.eid_status != EidStatus::Active {
        return Err(TrustError::EidNotActive);
    }
    Ok(Verified { claims, anchor_id: chain.entry_id, source_sha256: presented.source_sha256 })
}

/// A nonce the partner requires must be in the assertion and equal to the
/// request's; a nonce the partner sent must be matched even when not
/// required.
fn check_nonce(claim: Option<&str>, expect: &Expectations<'_>) -> Result<(), TrustError> {
    let request = expect.request_nonce.filter(|n| !n.is_empty());
    match (claim, request) {
        (Some(c), Some(r)) if c == r => Ok(()),
        (_, Some(_)) => Err(TrustError::NonceMismatch),
        (_, None) if expect.nonce_required => Err(TrustError::NonceMismatch),
        (_, None) => Ok(()),
    }
}

/// The replay key of an assertion: SHA-256 over `iss ‖ 0x00 ‖ jti`.
pub fn replay_key(iss: &str, jti: &str) -> [u8; 32] {
    let mut h = openssl::sha::Sha256::new();
    h.update(iss.as_bytes());
    h.update(&[0]);
    h.update(jti.as_bytes());
    h.finish()
}

/// Checks a licence signer certificate chain to a `bridge-signer-ca` entry
/// of `CN-GD` (SM2 certificates, default ID).
pub fn verify_signer_certificate(anchors: &Anchors, cert_der: &[u8], now: OffsetDateTime) -> Result<(), TrustError> {
    anchors.validate_chain(TrustDomainId::CnGd, Role::BridgeSignerCa, &[cert_der.to_vec()], now).map(|_| ())
}
