//! The JOSE header of the profile: `alg`, `typ`, `crit`, `x5c`, `kid`.
//!
//! Checked in that order, so a header with several faults always gets the
//! same code. `jku`, `x5u` and `jwk` are never read — nothing is fetched or
//! trusted because an assertion names it — and unknown members are
//! ignored. The key type of the `x5c` leaf must fit `alg`; whether the
//! chain is trusted is `trust`'s business, not intake's.

use super::IntakeError::{self, Malformed, UnsupportedAlgorithm};
use super::json::{Json, Object};
use super::{Alg, Header, MAX_X5C, TYP};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::x509::X509;

/// Longest accepted `kid`, in characters.
pub const MAX_KID_CHARS: usize = 128;
/// Smallest accepted RSA modulus, in bits (PS256, RS256).
pub const MIN_RSA_BITS: u32 = 2048;
/// Length of an ES256 signature: raw `r‖s`, 32 bytes each.
pub const ES256_SIGNATURE_BYTES: usize = 64;

/// Checks the header members and the leaf's key against `alg`.
pub(super) fn check(members: &Object) -> Result<Header, IntakeError> {
    let alg = alg(members)?;
    match members.get("typ") {
        None => return Err(Malformed("header typ is missing")),
        Some(Json::String(t)) if t == TYP => {}
        Some(_) => return Err(Malformed("header typ is not mo-eid+jwt")),
    }
    if members.contains_key("crit") {
        return Err(Malformed("header crit is not accepted"));
    }
    let x5c = x5c(members)?;
    let kid = match members.get("kid") {
        None => None,
        Some(Json::String(k)) if k.chars().count() <= MAX_KID_CHARS => Some(k.clone()),
        Some(_) => return Err(Malformed("header kid is not a string of at most 128 characters")),
    };
    let (leaf, _) = x5c.first().ok_or(Malformed("header x5c is empty"))?;
    check_key(alg, leaf)?;
    Ok(Header { alg, kid, x5c: x5c.into_iter().map(|(_, der)| der).collect() })
}

/// Checks the signature's length for `alg` (its value is `trust`'s).
pub(super) fn check_signature_length(alg: Alg, signature: &[u8]) -> Result<(), IntakeError> {
    match alg {
        Alg::Es256 if signature.len() != ES256_SIGNATURE_BYTES => Err(Malformed("ES256 signature is not 64 bytes")),
        Alg::Ps256 | Alg::Rs256 if signature.is_empty() => Err(Malformed("signature is empty")),
        _ => Ok(()),
    }
}

fn alg(members: &Object) -> Result<Alg, IntakeError> {
    match members.get("alg") {
        None => Err(Malformed("header alg is missing")),
        Some(Json::String(a)) => match a.as_str() {
            "ES256" => Ok(Alg::Es256),
            "PS256" => Ok(Alg::Ps256),
            "RS256" => Ok(Alg::Rs256),
            _ => Err(UnsupportedAlgorithm("alg is not ES256, PS256 or RS256")),
        },
        Some(_) => Err(Malformed("header alg is not a string")),
    }
}

/// `x5c`: 1..=[`MAX_X5C`] strings of standard base64 (RFC 7515 §4.1.6:
/// `+`, `/`, `=` padding; no whitespace), each exactly one DER certificate.
fn x5c(members: &Object) -> Result<Vec<(X509, Vec<u8>)>, IntakeError> {
    let entries = match members.get("x5c") {
        None => return Err(Malformed("header x5c is missing")),
        Some(Json::Array(entries)) => entries,
        Some(_) => return Err(Malformed("header x5c is not an array")),
    };
    if entries.is_empty() {
        return Err(Malformed("header x5c is empty"));
    }
    if entries.len() > MAX_X5C {
        return Err(Malformed("header x5c has more than 4 certificates"));
    }
    entries
        .iter()
        .map(|entry| {
            let Json::String(text) = entry else {
                return Err(Malformed("header x5c entry is not a string"));
            };
            let der = STANDARD.decode(text).map_err(|_| Malformed("header x5c entry is not standard base64"))?;
            let cert = X509::from_der(&der).map_err(|_| Malformed("header x5c entry is not a DER certificate"))?;
            // OpenSSL reads a certificate from the front of the buffer and
            // keeps the bytes it read: anything after it is refused.
            if cert.to_der().ok().as_deref() != Some(der.as_slice()) {
                return Err(Malformed("header x5c entry is not a DER certificate"));
            }
            Ok((cert, der))
        })
        .collect()
}

/// ES256 wants an EC P-256 key; PS256 and RS256 an RSA key of at least
/// [`MIN_RSA_BITS`] (PS256 also takes an RSASSA-PSS key).
fn check_key(alg: Alg, leaf: &X509) -> Result<(), IntakeError> {
    let key = leaf.public_key().map_err(|_| UnsupportedAlgorithm("leaf key type is not supported"))?;
    let fits = match alg {
        Alg::Es256 => key
            .ec_key()
            .ok()
            .is_some_and(|ec| key.id() == Id::EC && ec.group().curve_name() == Some(Nid::X9_62_PRIME256V1)),
        Alg::Ps256 => matches!(key.id(), Id::RSA | Id::RSA_PSS),
        Alg::Rs256 => key.id() == Id::RSA,
    };
    if !fits {
        return Err(UnsupportedAlgorithm("leaf key type does not match alg"));
    }
    if matches!(alg, Alg::Ps256 | Alg::Rs256) && key.bits() < MIN_RSA_BITS {
        return Err(UnsupportedAlgorithm("RSA key is under 2048 bits"));
    }
    Ok(())
}
