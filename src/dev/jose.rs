//! Compact JWS signing for the test PKI: trust lists (`ES256`, `SM2SM3`)
//! and assertions (`ES256`, `PS256`, `RS256`). ECDSA and SM2 signatures are
//! written raw `r‖s` (RFC 7518 §3.4), as the profiles require.

use super::pki::PkiError;
use super::pki::is_sm2;
use crate::signing::{SM2_DEFAULT_ID, ecdsa_der_to_raw, openssl_sm2};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKeyRef, Private};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer};
use openssl::x509::X509Ref;
use serde_json::Value;

/// A JWS signature algorithm this module can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    /// ECDSA P-256 with SHA-256, raw `r‖s`.
    Es256,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32.
    Ps256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// SM2 with SM3 and the default ID `1234567812345678`, raw `r‖s`.
    Sm2Sm3,
}

impl SigAlg {
    /// The JOSE `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            SigAlg::Es256 => "ES256",
            SigAlg::Ps256 => "PS256",
            SigAlg::Rs256 => "RS256",
            SigAlg::Sm2Sm3 => "SM2SM3",
        }
    }

    pub fn parse(name: &str) -> Option<SigAlg> {
        [SigAlg::Es256, SigAlg::Ps256, SigAlg::Rs256, SigAlg::Sm2Sm3].into_iter().find(|a| a.name() == name)
    }

    /// The algorithm a key signs with when nothing else is asked for.
    pub fn default_for(key: &PKeyRef<Private>) -> Result<SigAlg, PkiError> {
        if is_sm2(key) {
            return Ok(SigAlg::Sm2Sm3);
        }
        match key.id() {
            Id::EC if key.bits() == 256 => Ok(SigAlg::Es256),
            Id::RSA => Ok(SigAlg::Ps256),
            other => Err(PkiError::Invalid(format!("no jws algorithm for key type {other:?}"))),
        }
    }

    /// Whether `key` can make this algorithm's signatures.
    pub fn fits(self, key: &PKeyRef<Private>) -> bool {
        SigAlg::default_for(key).is_ok_and(|own| self.made_by(own))
    }

    /// Whether a key whose own algorithm is `own` can make this one's
    /// signatures (an RSA key makes PS256 and RS256).
    pub fn made_by(self, own: SigAlg) -> bool {
        own == self || (own == SigAlg::Ps256 && self == SigAlg::Rs256)
    }
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Standard base64 with padding: the alphabet of `x5c` and of list entries.
pub(crate) fn b64std(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The `x5c` value for a chain, leaf first.
pub(crate) fn x5c(chain: &[&X509Ref]) -> Result<Value, PkiError> {
    let mut out = Vec::with_capacity(chain.len());
    for c in chain {
        out.push(Value::String(b64std(&c.to_der()?)));
    }
    Ok(Value::Array(out))
}

/// Signs `header.payload` with `alg` and returns the compact serialization.
pub(crate) fn compact(header: &Value, payload: &[u8], alg: SigAlg, key: &PKeyRef<Private>) -> Result<String, PkiError> {
    check_fits(alg, key)?;
    compact_fitting(header, payload, alg, key)
}

/// [`compact`] with a key already known to fit `alg` (checking costs an
/// encoding of the public key, more than an ES256 signature).
pub(crate) fn compact_fitting(
    header: &Value,
    payload: &[u8],
    alg: SigAlg,
    key: &PKeyRef<Private>,
) -> Result<String, PkiError> {
    let input = format!("{}.{}", b64url(&serde_json::to_vec(header)?), b64url(payload));
    let sig = sign(alg, key, input.as_bytes())?;
    Ok(format!("{input}.{}", b64url(&sig)))
}

fn check_fits(alg: SigAlg, key: &PKeyRef<Private>) -> Result<(), PkiError> {
    if alg.fits(key) {
        Ok(())
    } else {
        Err(PkiError::Invalid(format!("a {:?} key cannot sign {}", key.id(), alg.name())))
    }
}

/// A JWS signature over `input` by a key that fits `alg`.
fn sign(alg: SigAlg, key: &PKeyRef<Private>, input: &[u8]) -> Result<Vec<u8>, PkiError> {
    match alg {
        SigAlg::Es256 => {
            let mut s = Signer::new(MessageDigest::sha256(), key)?;
            let der = s.sign_oneshot_to_vec(input)?;
            Ok(ecdsa_der_to_raw(&der, 32)?)
        }
        SigAlg::Ps256 => {
            let mut s = Signer::new(MessageDigest::sha256(), key)?;
            s.set_rsa_padding(Padding::PKCS1_PSS)?;
            s.set_rsa_pss_saltlen(RsaPssSaltlen::custom(32))?;
            s.set_rsa_mgf1_md(MessageDigest::sha256())?;
            Ok(s.sign_oneshot_to_vec(input)?)
        }
        SigAlg::Rs256 => {
            let mut s = Signer::new(MessageDigest::sha256(), key)?;
            s.set_rsa_padding(Padding::PKCS1)?;
            Ok(s.sign_oneshot_to_vec(input)?)
        }
        SigAlg::Sm2Sm3 => {
            let der = openssl_sm2::sign(key, SM2_DEFAULT_ID, input)?;
            Ok(ecdsa_der_to_raw(&der, 32)?)
        }
    }
}
