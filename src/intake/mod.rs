//! Wire → [`Presented`]: the `mo-eid+jwt` profile's framing and header rules
//! (DESIGN §2). No trust decisions here: nothing is verified, only shaped.
//!
//! Order inside intake follows DESIGN §7: size → framing (segments,
//! base64url, JSON, duplicate names, nesting) → header (`alg`, `typ`,
//! `crit`, `x5c` shape and the leaf's key type against `alg`). Claim syntax
//! is checked later, after the signature, by [`parse_claims`].
//!
//! Decoding the `x5c` certificates costs more than the rest of intake
//! together; [`parse_with`] skips it for a chain the trust anchors have
//! already decoded and validated ([`DecodedChains`]).
//!
//! | file | what it checks |
//! |---|---|
//! | `framing.rs` | three segments, base64url, UTF-8, strict JSON objects |
//! | `json.rs` | the strict JSON reader: no duplicate names, nesting ≤ [`MAX_JSON_DEPTH`], no recursion |
//! | `header.rs` | `alg`, `typ`, `crit`, `x5c`, `kid`; leaf key type against `alg` |
//! | `claims.rs` | the claim types |
//! | `claim_syntax.rs` | JSON → [`Claims`]: types, ranges, lengths, document formats |

mod claim_syntax;
mod claims;
mod framing;
mod header;
mod json;
#[cfg(test)]
mod tests;

pub use claim_syntax::{
    MAX_AUD_CHARS, MAX_BENEFICIARY_NUMBER_CHARS, MAX_BIR_CHARS, MAX_CONSENT_ID_CHARS, MAX_CONSENT_PURPOSES,
    MAX_ISS_CHARS, MAX_JTI_CHARS, MAX_NAME_LATIN_CHARS, MAX_NAME_ZH_HANT_CHARS, MAX_NONCE_CHARS, MAX_NUMERIC_DATE,
    MAX_PURPOSE_CHARS, MAX_TELEGRAPH_CODES, SCHEME_YEARS,
};
pub use claims::*;
pub use header::{
    DecodedChains, ES256_SIGNATURE_BYTES, LeafKey, MAX_KID_CHARS, MIN_RSA_BITS, NoDecodedChains, decode_certificate,
};

use crate::model::Reason;

/// Largest accepted compact JWS, in bytes.
pub const MAX_ASSERTION_BYTES: usize = 16 * 1024;
/// Deepest accepted JSON nesting (objects and arrays).
pub const MAX_JSON_DEPTH: usize = 16;
/// Most certificates accepted in `x5c`.
pub const MAX_X5C: usize = 4;
/// The only accepted `typ`.
pub const TYP: &str = "mo-eid+jwt";

/// The signature algorithms of the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// ECDSA P-256 SHA-256, raw `r‖s` (64 bytes).
    Es256,
    /// RSASSA-PSS SHA-256, MGF1-SHA-256, salt 32, RSA ≥ 2048.
    Ps256,
    /// RSASSA-PKCS1-v1_5 SHA-256, RSA ≥ 2048.
    Rs256,
}

/// The JOSE header, shape-checked.
#[derive(Debug, Clone)]
pub struct Header {
    pub alg: Alg,
    pub kid: Option<String>,
    /// DER certificates, leaf first, 1..=MAX_X5C entries, each exactly one
    /// certificate ([`decode_certificate`]).
    pub x5c: Vec<Vec<u8>>,
}

/// An assertion that passed framing and header checks.
#[derive(Debug, Clone)]
pub struct Presented {
    pub header: Header,
    /// `BASE64URL(header) '.' BASE64URL(payload)`: what the signature covers.
    pub signing_input: Vec<u8>,
    /// The decoded payload: valid JSON, no duplicate names, depth ≤ 16.
    pub payload: Vec<u8>,
    /// The decoded signature bytes.
    pub signature: Vec<u8>,
    /// Lower-case hex SHA-256 of the compact JWS's ASCII bytes.
    pub source_sha256: String,
}

/// Why intake refused an assertion. Messages never carry claim values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    #[error("assertion is over {MAX_ASSERTION_BYTES} bytes")]
    TooLarge,
    #[error("malformed assertion: {0}")]
    Malformed(&'static str),
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(&'static str),
}

impl IntakeError {
    pub fn reason(&self) -> Reason {
        match self {
            IntakeError::TooLarge => Reason::AssertionTooLarge,
            IntakeError::Malformed(_) => Reason::MalformedAssertion,
            IntakeError::UnsupportedAlgorithm(_) => Reason::UnsupportedAlgorithm,
        }
    }
}

/// Parses a compact JWS (surrounding ASCII whitespace is not accepted; the
/// CLI trims a trailing newline before calling). Every `x5c` certificate
/// is decoded; see [`parse_with`].
pub fn parse(compact: &[u8]) -> Result<Presented, IntakeError> {
    parse_with(compact, &NoDecodedChains)
}

/// [`parse`], taking the certificates of a chain that `known` decoded
/// before as they are (the request path passes the validated-chain cache).
/// The outcome is the same as [`parse`]'s for every input: only chains
/// that passed the same checks are known.
pub fn parse_with(compact: &[u8], known: &dyn DecodedChains) -> Result<Presented, IntakeError> {
    if compact.len() > MAX_ASSERTION_BYTES {
        return Err(IntakeError::TooLarge);
    }
    let segments = framing::split(compact)?;
    let header = header::check(&segments.header, known)?;
    header::check_signature_length(header.alg, &segments.signature)?;
    Ok(Presented {
        header,
        signing_input: segments.signing_input,
        payload: segments.payload,
        signature: segments.signature,
        source_sha256: hex::encode(openssl::sha::sha256(compact)),
    })
}

/// Parses the verified payload into [`Claims`] (claim syntax, DESIGN §2).
///
/// The payload is read again with the same strict JSON rules as in
/// [`parse`], so bytes that did not come through `parse` get no leeway.
pub fn parse_claims(payload: &[u8]) -> Result<Claims, IntakeError> {
    if payload.len() > MAX_ASSERTION_BYTES {
        return Err(IntakeError::TooLarge);
    }
    claim_syntax::read(&framing::read_payload(payload)?)
}
