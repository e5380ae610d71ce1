//! JWS signature checks: ES256 (raw `r‖s`), PS256, RS256, and the
//! trust-list profile's `SM2SM3` (raw `r‖s`, SM3, default SM2 ID).
//! Any failure, malformed or wrong, is simply "does not verify".

use crate::intake::Alg;
use crate::signing::{SM2_DEFAULT_ID, ecdsa_raw_to_der, openssl_sm2};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKeyRef, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};
use openssl::x509::X509Ref;

/// Verifies an assertion signature with the leaf's key.
pub fn verify_jws(alg: Alg, key: &PKeyRef<Public>, input: &[u8], signature: &[u8]) -> bool {
    match alg {
        Alg::Es256 => verify_es256_key(key, input, signature),
        Alg::Ps256 => verify_rsa(key, input, signature, true),
        Alg::Rs256 => verify_rsa(key, input, signature, false),
    }
}

pub fn verify_es256(cert: &X509Ref, input: &[u8], signature: &[u8]) -> bool {
    cert.public_key().is_ok_and(|k| verify_es256_key(&k, input, signature))
}

fn verify_es256_key(key: &PKeyRef<Public>, input: &[u8], signature: &[u8]) -> bool {
    if signature.len() != 64 {
        return false;
    }
    let Ok(der) = ecdsa_raw_to_der(signature) else { return false };
    Verifier::new(MessageDigest::sha256(), key).and_then(|mut v| v.verify_oneshot(&der, input)).unwrap_or(false)
}

fn verify_rsa(key: &PKeyRef<Public>, input: &[u8], signature: &[u8], pss: bool) -> bool {
    let run = || -> Result<bool, openssl::error::ErrorStack> {
        let mut v = Verifier::new(MessageDigest::sha256(), key)?;
        if pss {
            v.set_rsa_padding(Padding::PKCS1_PSS)?;
            v.set_rsa_mgf1_md(MessageDigest::sha256())?;
            v.set_rsa_pss_saltlen(RsaPssSaltlen::custom(32))?;
        } else {
            v.set_rsa_padding(Padding::PKCS1)?;
        }
        v.verify_oneshot(signature, input)
    };
    run().unwrap_or(false)
}

pub fn verify_sm2sm3_raw(cert: &X509Ref, input: &[u8], signature: &[u8]) -> bool {
    if signature.len() != 64 {
        return false;
    }
    let Ok(der) = ecdsa_raw_to_der(signature) else { return false };
    let Ok(key) = openssl_sm2::public_key_of(cert) else { return false };
    key.verify(SM2_DEFAULT_ID, input, &der).unwrap_or(false)
}
