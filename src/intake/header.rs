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
use openssl::x509::{X509, X509Ref};

/// Longest accepted `kid`, in characters.
pub const MAX_KID_CHARS: usize = 128;
/// Smallest accepted RSA modulus, in bits (PS256, RS256).
pub const MIN_RSA_BITS: u32 = 2048;
/// Length of an ES256 signature: raw `r‖s`, 32 bytes each.
pub const ES256_SIGNATURE_BYTES: usize = 64;

/// Checks the header members and the leaf's key against `alg`. A chain
/// `known` has decoded before is not decoded again.
pub(super) fn check(members: &Object, known: &dyn DecodedChains) -> Result<Header, IntakeError> {
    let alg = alg(members)?;
    match members.get("typ") {
        None => return Err(Malformed("header typ is missing")),
        Some(Json::String(t)) if t == TYP => {}
        Some(_) => return Err(Malformed("header typ is not mo-eid+jwt")),
    }
    if members.contains_key("crit") {
        return Err(Malformed("header crit is not accepted"));
    }
    let (x5c, leaf) = x5c(members, known)?;
    let kid = match members.get("kid") {
        None => None,
        Some(Json::String(k)) if k.chars().count() <= MAX_KID_CHARS => Some(k.clone()),
        Some(_) => return Err(Malformed("header kid is not a string of at most 128 characters")),
    };
    check_key(alg, leaf)?;
    Ok(Header { alg, kid, x5c })
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
/// `+`, `/`, `=` padding; no whitespace), each exactly one DER certificate
/// ([`decode_certificate`]). Returns the DER bytes and the leaf's key.
///
/// A chain `known` has decoded before is taken as it is; any other is
/// checked entry by entry, so the first bad entry names the fault.
fn x5c(members: &Object, known: &dyn DecodedChains) -> Result<(Vec<Vec<u8>>, LeafKey), IntakeError> {
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
    let base64 = |entry: &Json| match entry {
        Json::String(text) => STANDARD.decode(text).map_err(|_| Malformed("header x5c entry is not standard base64")),
        _ => Err(Malformed("header x5c entry is not a string")),
    };
    if let Ok(ders) = entries.iter().map(base64).collect::<Result<Vec<_>, _>>()
        && let Some(leaf) = known.leaf_key(&ders)
    {
        return Ok((ders, leaf));
    }
    let mut ders = Vec::with_capacity(entries.len());
    let mut leaf = LeafKey::Unreadable;
    for entry in entries {
        let der = base64(entry)?;
        let cert = decode_certificate(&der)?;
        if ders.is_empty() {
            leaf = LeafKey::of(&cert);
        }
        ders.push(der);
    }
    Ok((ders, leaf))
}

/// Decodes one `x5c` entry: exactly one DER certificate, nothing after it.
pub fn decode_certificate(der: &[u8]) -> Result<X509, IntakeError> {
    let cert = X509::from_der(der).map_err(|_| Malformed("header x5c entry is not a DER certificate"))?;
    // OpenSSL reads a certificate from the front of the buffer and keeps
    // the bytes it read: anything after it is refused.
    if cert.to_der().ok().as_deref() != Some(der) {
        return Err(Malformed("header x5c entry is not a DER certificate"));
    }
    Ok(cert)
}

/// The `x5c` leaf's public key, as far as `alg` is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKey {
    /// EC on P-256.
    P256,
    /// RSA, with the modulus size in bits.
    Rsa(u32),
    /// RSASSA-PSS, with the modulus size in bits.
    RsaPss(u32),
    /// Any other key: another curve, SM2, EdDSA…
    Other,
    /// The certificate's key could not be read.
    Unreadable,
}

impl LeafKey {
    /// The type of a certificate's public key.
    pub fn of(leaf: &X509Ref) -> LeafKey {
        let Ok(key) = leaf.public_key() else { return LeafKey::Unreadable };
        match key.id() {
            Id::EC if key.ec_key().ok().is_some_and(|ec| ec.group().curve_name() == Some(Nid::X9_62_PRIME256V1)) => {
                LeafKey::P256
            }
            Id::RSA => LeafKey::Rsa(key.bits()),
            Id::RSA_PSS => LeafKey::RsaPss(key.bits()),
            _ => LeafKey::Other,
        }
    }
}

/// Chains whose certificates were decoded and found to be DER before: the
/// trust anchors' validated-chain cache. Decoding a certificate is the
/// most expensive step of intake (OpenSSL 3.0 decodes the public key
/// through its providers); a chain seen before skips it and only its
/// leaf's key type is checked against `alg`.
pub trait DecodedChains {
    /// The leaf key of `x5c` if exactly these DER bytes passed
    /// [`decode_certificate`] before, every entry of them.
    fn leaf_key(&self, x5c: &[Vec<u8>]) -> Option<LeafKey>;
}

/// No chain is known: every `x5c` is decoded.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoDecodedChains;

impl DecodedChains for NoDecodedChains {
    fn leaf_key(&self, _: &[Vec<u8>]) -> Option<LeafKey> {
        None
    }
}

/// ES256 wants an EC P-256 key; PS256 and RS256 an RSA key of at least
/// [`MIN_RSA_BITS`] (PS256 also takes an RSASSA-PSS key).
fn check_key(alg: Alg, leaf: LeafKey) -> Result<(), IntakeError> {
    let bits = match (alg, leaf) {
        (_, LeafKey::Unreadable) => return Err(UnsupportedAlgorithm("leaf key type is not supported")),
        (Alg::Es256, LeafKey::P256) => return Ok(()),
        (Alg::Ps256, LeafKey::Rsa(bits) | LeafKey::RsaPss(bits)) | (Alg::Rs256, LeafKey::Rsa(bits)) => bits,
        _ => return Err(UnsupportedAlgorithm("leaf key type does not match alg")),
    };
    if bits < MIN_RSA_BITS {
        return Err(UnsupportedAlgorithm("RSA key is under 2048 bits"));
    }
    Ok(())
}
