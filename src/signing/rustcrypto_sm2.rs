//! The bridge's licence signer on the RustCrypto `sm2` crate: the same key
//! and certificate files as [`super::OpensslSm2Signer`], about five times
//! OpenSSL 3.0's signing rate on this project's machines (BENCHMARKS.md,
//! "SM2 backends").
//!
//! The crate is pure Rust and written to be constant-time (fiat-crypto field
//! arithmetic, constant-time table lookups for `[k]G`), but it has not been
//! independently audited; so it is chosen explicitly
//! (`[signer] backend = "rustcrypto"`), and every test run checks its
//! signatures with OpenSSL and OpenSSL's with it, and a licence it signed
//! with the `openssl` CLI.
//!
//! The key file is read by OpenSSL, exactly as for the default backend (same
//! formats accepted, same SM2-curve check), and handed over as PKCS#8 DER in
//! a buffer that is wiped after use. Nonces are RFC 6979 hedged with 32
//! bytes from the OS: a failing random source alone does not expose the key,
//! and the rare nonce the crate rejects is retried with fresh bytes.

use std::hint::black_box;

use openssl::pkey::{PKey, Private};
use openssl::x509::{X509, X509Ref};
use sm2::dsa::signature::{RandomizedSigner, Verifier};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm2::elliptic_curve::common::getrandom::SysRng;
use sm2::pkcs8::DecodePrivateKey;
use sm2::{PublicKey, SecretKey};
use zeroize::Zeroizing;

use super::openssl_sm2::{self, Sm2PrivateKey};
use super::{SM2_DEFAULT_ID_TEXT, Signer, SigningError};

/// Signing attempts before giving up. One attempt fails with probability
/// ≈ 2⁻³² (a nonce outside `[1, n-1]`, or `r = 0`, `r + k = n`), unless the
/// OS random source fails.
const SIGNING_ATTEMPTS: usize = 4;

pub struct RustCryptoSm2Signer {
    /// Boxed so that the key stays at one address, the one wiped on drop.
    key: Box<SigningKey>,
    certificate_der: Vec<u8>,
    public_point: Vec<u8>,
}

impl RustCryptoSm2Signer {
    /// Builds a signer from a certificate and its private key. The key must
    /// be SM2 (an EC key on the SM2 curve is taken as SM2) and must match the
    /// certificate's public key.
    pub fn new(cert: &X509Ref, key: PKey<Private>) -> Result<Self, SigningError> {
        let key = Sm2PrivateKey::new(key)?;
        let pkcs8 = Zeroizing::new(
            key.as_pkey().private_key_to_pkcs8().map_err(|e| key_err("encoding the SM2 key as PKCS#8", e))?,
        );
        drop(key);
        let secret = SecretKey::from_pkcs8_der(&pkcs8).map_err(|e| key_err("reading the SM2 key (sm2 crate)", e))?;
        let signing = SigningKey::new(SM2_DEFAULT_ID_TEXT, &secret)
            .map_err(|e| key_err("building the SM2 signing key (sm2 crate)", e))?;

        let cert_key = openssl_sm2::public_key_of(cert)?;
        let public_point = openssl_sm2::public_point_uncompressed(&cert_key)?;
        let cert_public = PublicKey::from_sec1_bytes(&public_point)
            .map_err(|e| key_err("reading the certificate's SM2 point (sm2 crate)", e))?;
        if signing.verifying_key().as_affine() != cert_public.as_affine() {
            return Err(SigningError::Key("private key does not match the certificate's public key".into()));
        }
        let certificate_der = cert.to_der().map_err(|e| key_err("encoding the signer certificate", e))?;
        Ok(Self { key: Box::new(signing), certificate_der, public_point })
    }

    /// Builds a signer from a PEM certificate and a PEM private key.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, SigningError> {
        let cert = X509::from_pem(cert_pem).map_err(|e| key_err("reading the signer certificate PEM", e))?;
        let key = openssl_sm2::private_key_from_pem(key_pem)?;
        Self::new(&cert, key)
    }
}

fn key_err(what: &str, e: impl std::fmt::Display) -> SigningError {
    SigningError::Key(format!("{what}: {e}"))
}

impl Signer for RustCryptoSm2Signer {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SigningError> {
        let mut last = None;
        for _ in 0..SIGNING_ATTEMPTS {
            match self.key.try_sign_with_rng(&mut SysRng, msg) {
                Ok(sig) => return Ok(sig.to_der().to_vec()),
                Err(e) => last = Some(e),
            }
        }
        let cause = last.map_or_else(String::new, |e| e.to_string());
        Err(SigningError::Sign(format!("SM2 signing (sm2 crate) failed {SIGNING_ATTEMPTS} times: {cause}")))
    }

    fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    fn public_key_uncompressed(&self) -> &[u8] {
        &self.public_point
    }
}

impl Drop for RustCryptoSm2Signer {
    /// `sm2` 0.14's `SigningKey` does not wipe itself, so the secret scalar
    /// is overwritten in place by the scalar 1 (and the write kept from
    /// being optimised away). The parsed `SecretKey` and the PKCS#8 buffer
    /// it came from wipe themselves; OpenSSL clears its own copy on free.
    fn drop(&mut self) {
        let mut one = [0u8; 32];
        one[31] = 1;
        if let Ok(placeholder) = SigningKey::from_slice(SM2_DEFAULT_ID_TEXT, &one) {
            *self.key = placeholder;
            black_box(&*self.key);
        }
    }
}

impl std::fmt::Debug for RustCryptoSm2Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustCryptoSm2Signer")
            .field("public_point", &hex::encode(&self.public_point))
            .finish_non_exhaustive()
    }
}

/// Checks an SM2-with-SM3 DER signature over `msg` with Z_A over `id`, with
/// the `sm2` crate. `Ok(false)` for any signature that does not verify
/// (malformed included); `Err` when `public_point` is not a point on the
/// SM2 curve (SEC1, uncompressed or compressed).
pub fn verify(public_point: &[u8], id: &str, msg: &[u8], sig_der: &[u8]) -> Result<bool, SigningError> {
    let key =
        VerifyingKey::from_sec1_bytes(id, public_point).map_err(|e| key_err("SM2 public point (sm2 crate)", e))?;
    let Ok(sig) = Signature::from_der(sig_der) else { return Ok(false) };
    Ok(key.verify(msg, &sig).is_ok())
}
