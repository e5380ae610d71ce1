//! The bridge's licence signer on the RustCrypto `sm2` crate: the same key
//! and certificate files as [`super::OpensslSm2Signer`], about four to five
//! times OpenSSL 3.0's signing rate on this project's machines
//! (BENCHMARKS.md, "SM2 backends").
//!
//! The arithmetic is the crate's, pure Rust and written to be constant-time
//! (fiat-crypto field arithmetic, constant-time table lookups for `[k]G`,
//! constant-time inversion), but it has not been independently audited; so
//! it is chosen explicitly (`[signer] backend = "rustcrypto"`), and every
//! test run checks its signatures with OpenSSL and OpenSSL's with it, and a
//! licence it signed with the `openssl` CLI.
//!
//! The signature equations (GM/T 0003.2 §6.1, A1–A7) are assembled here from
//! the crate's building blocks rather than called through its `SigningKey`,
//! for one reason: `SigningKey` inverts `1 + d` on every signature, a
//! constant-time inversion that is the same for every signature with one key
//! and a fifth of the signing time. Here it is computed once, when the key
//! is loaded, with Z_A (which the crate caches too). Nothing else differs:
//! the nonce comes from the same RFC 6979 HMAC-DRBG over SM3 the crate uses,
//! hedged with 32 bytes of OpenSSL's private DRBG (seeded by the OS), and
//! rejected values are retried.
//!
//! The key file is read by OpenSSL, exactly as for the default backend (same
//! formats accepted, same SM2-curve check), and handed over as PKCS#8 DER in
//! a buffer that is wiped after use.

use std::hint::black_box;

use openssl::pkey::{PKey, Private};
use openssl::x509::{X509, X509Ref};
use primeorder::PrimeCurveParams;
use sm2::dsa::signature::Verifier;
use sm2::dsa::{Signature, VerifyingKey};
use sm2::elliptic_curve::bigint::{ArrayEncoding, U256};
use sm2::elliptic_curve::ff::PrimeField;
use sm2::elliptic_curve::ops::Reduce;
use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::elliptic_curve::{Curve, Group};
use sm2::pkcs8::DecodePrivateKey;
use sm2::{FieldBytes, ProjectivePoint, PublicKey, Scalar, SecretKey, Sm2};
use sm3::{Digest, Sm3};
use zeroize::Zeroizing;

use super::openssl_sm2::{self, Sm2PrivateKey};
use super::{SM2_DEFAULT_ID_TEXT, Signer, SigningError};

/// Signing attempts before giving up. One attempt fails with probability
/// ≈ 2⁻²⁵⁶ (`r = 0`, `r + k = n` or `s = 0`), unless the random source
/// fails.
const SIGNING_ATTEMPTS: usize = 4;

/// What one key needs for every signature.
struct KeyMaterial {
    /// The secret scalar d.
    d: Scalar,
    /// (1 + d)⁻¹ mod n.
    d_plus_1_inv: Scalar,
    /// Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A) with the GM/T 0009 ID.
    z_a: [u8; 32],
}

pub struct RustCryptoSm2Signer {
    /// Boxed so that the secret scalars stay at one address, the one wiped
    /// on drop.
    key: Box<KeyMaterial>,
    certificate_der: Vec<u8>,
    public_point: Vec<u8>,
}

/// Z_A of GM/T 0003.2 §5.5 for `id` and the uncompressed point `04 ‖ x ‖ y`.
fn z_a(id: &str, public_point: &[u8]) -> Result<[u8; 32], SigningError> {
    let bits = u16::try_from(id.len() * 8).map_err(|_| SigningError::Key("SM2 ID longer than 8191 bytes".into()))?;
    let (x, y) = match public_point {
        [0x04, xy @ ..] if xy.len() == 64 => xy.split_at(32),
        _ => return Err(SigningError::Key("SM2 public key is not an uncompressed point".into())),
    };
    let (g_x, g_y) = Sm2::GENERATOR;
    let mut h = Sm3::new();
    h.update(bits.to_be_bytes());
    h.update(id.as_bytes());
    for element in [Sm2::EQUATION_A, Sm2::EQUATION_B, g_x, g_y] {
        h.update(element.to_repr());
    }
    h.update(x);
    h.update(y);
    Ok(h.finalize().into())
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
        let d: Scalar = *secret.to_nonzero_scalar();

        let cert_key = openssl_sm2::public_key_of(cert)?;
        let public_point = cert_key.point().to_vec();
        let cert_public = PublicKey::from_sec1_bytes(&public_point)
            .map_err(|e| key_err("reading the certificate's SM2 point (sm2 crate)", e))?;
        if ProjectivePoint::mul_by_generator(&d).to_affine() != *cert_public.as_affine() {
            return Err(SigningError::Key("private key does not match the certificate's public key".into()));
        }
        // d < n - 1 for a usable SM2 key (GM/T 0003.1 §6.1), so 1 + d ≠ 0.
        let d_plus_1_inv = Option::<Scalar>::from((d + Scalar::ONE).invert())
            .ok_or_else(|| SigningError::Key("SM2 private key is n - 1".into()))?;
        let key = Box::new(KeyMaterial { d, d_plus_1_inv, z_a: z_a(SM2_DEFAULT_ID_TEXT, &public_point)? });
        let certificate_der = cert.to_der().map_err(|e| key_err("encoding the signer certificate", e))?;
        Ok(Self { key, certificate_der, public_point })
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

impl KeyMaterial {
    /// One attempt at GM/T 0003.2 §6.1 A3–A7 for the digest `e`; `None`
    /// when the nonce is rejected (`r = 0`, `r + k = n` or `s = 0`).
    fn sign_digest(&self, e: &Scalar, hedge: &[u8; 32]) -> Option<Signature> {
        // A3: k from RFC 6979 (HMAC-DRBG with SM3 over d and e), hedged.
        let mut k_bytes = Zeroizing::new(FieldBytes::default());
        rfc6979::KGenerator::<Sm3, U256>::new(&self.d.to_repr(), &e.to_repr(), hedge, &Sm2::ORDER)
            .fill_next_k(&mut k_bytes);
        let k = Zeroizing::new(Option::<Scalar>::from(Scalar::from_repr(*k_bytes))?);
        // A4–A5: (x1, y1) = [k]G (fixed-base, constant-time precomputed
        // tables), r = e + x1 mod n.
        let x1 = ProjectivePoint::mul_by_generator(&*k).to_affine().x();
        let r = *e + <Scalar as Reduce<FieldBytes>>::reduce(&x1);
        if bool::from(r.is_zero() | (r + *k).is_zero()) {
            return None;
        }
        // A6: s = (1 + d)⁻¹ (k - r d) mod n.
        let s = self.d_plus_1_inv * (*k - r * self.d);
        Signature::from_scalars(r, s).ok()
    }
}

impl Signer for RustCryptoSm2Signer {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SigningError> {
        // A1–A2: e = SM3(Z_A ‖ M) as an integer mod n.
        let digest = Sm3::new_with_prefix(self.key.z_a).chain_update(msg).finalize();
        let e = <Scalar as Reduce<U256>>::reduce(&U256::from_be_byte_array(digest));
        for _ in 0..SIGNING_ATTEMPTS {
            let mut hedge = Zeroizing::new([0u8; 32]);
            openssl::rand::rand_priv_bytes(&mut *hedge)
                .map_err(|e| SigningError::Sign(format!("random bytes for the nonce: {e}")))?;
            if let Some(sig) = self.key.sign_digest(&e, &hedge) {
                return Ok(sig.to_der().to_vec());
            }
        }
        Err(SigningError::Sign(format!("SM2 signing (sm2 crate) rejected {SIGNING_ATTEMPTS} nonces in a row")))
    }

    fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    fn public_key_uncompressed(&self) -> &[u8] {
        &self.public_point
    }
}

impl Drop for KeyMaterial {
    /// `Scalar` does not wipe itself: both secrets are overwritten in
    /// place (and the writes kept from being optimised away).
    fn drop(&mut self) {
        self.d = Scalar::ZERO;
        self.d_plus_1_inv = Scalar::ZERO;
        black_box(&*self);
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
