//! JWS compact framing: three base64url segments, two JSON objects.
//!
//! Base64url is the RFC 7515 flavour exactly: URL-safe alphabet, no `=`
//! padding, no whitespace, and the unused low bits of the last character
//! must be zero (so each byte string has one spelling and the
//! `source_sha256` of an assertion names one payload).

use super::IntakeError::{self, Malformed};
use super::json::{self, JsonError, Object};
use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Base64url without padding, canonical trailing bits (RFC 7515 §2).
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(false).with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// The three segments of a compact JWS, decoded.
pub(super) struct Segments {
    /// The JOSE header's members.
    pub header: Object,
    /// The payload bytes: UTF-8, one JSON object, strict.
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
    /// `header '.' payload` as received.
    pub signing_input: Vec<u8>,
}

/// Splits and decodes a compact JWS. The caller has bounded its size.
pub(super) fn split(compact: &[u8]) -> Result<Segments, IntakeError> {
    let mut parts = compact.split(|&b| b == b'.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Malformed("a compact JWS has exactly three segments"));
    };
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err(Malformed("empty JWS segment"));
    }
    let header = decode(h, "header is not base64url without padding")?;
    let payload = decode(p, "payload is not base64url without padding")?;
    let signature = decode(s, "signature is not base64url without padding")?;

    let header_text = std::str::from_utf8(&header).map_err(|_| Malformed("header is not UTF-8"))?;
    let header = json::read_object(header_text).map_err(|e| Malformed(header_message(e)))?;
    check_payload(&payload)?;

    Ok(Segments { header, payload, signature, signing_input: compact[..h.len() + 1 + p.len()].to_vec() })
}

/// Reads the payload as strict JSON. Used here for framing and again by
/// [`super::parse_claims`], which may be handed bytes from elsewhere.
pub(super) fn read_payload(payload: &[u8]) -> Result<Object, IntakeError> {
    let text = std::str::from_utf8(payload).map_err(|_| Malformed("payload is not UTF-8"))?;
    json::read_object(text).map_err(|e| Malformed(payload_message(e)))
}

fn check_payload(payload: &[u8]) -> Result<(), IntakeError> {
    read_payload(payload).map(drop)
}

fn decode(segment: &[u8], message: &'static str) -> Result<Vec<u8>, IntakeError> {
    BASE64URL.decode(segment).map_err(|_| Malformed(message))
}

fn header_message(e: JsonError) -> &'static str {
    match e {
        JsonError::Syntax => "header is not valid JSON",
        JsonError::DuplicateName => "duplicate member name in header",
        JsonError::TooDeep => "header nesting is too deep",
        JsonError::NotAnObject => "header is not a JSON object",
    }
}

fn payload_message(e: JsonError) -> &'static str {
    match e {
        JsonError::Syntax => "payload is not valid JSON",
        JsonError::DuplicateName => "duplicate member name in payload",
        JsonError::TooDeep => "payload nesting is too deep",
        JsonError::NotAnObject => "payload is not a JSON object",
    }
}
