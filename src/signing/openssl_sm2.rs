//! SM2 through OpenSSL 3.0, with the distinguishing ID set explicitly.
//!
//! OpenSSL 3.0 computes Z_A over an **empty** ID unless told otherwise, for
//! message signatures and for certificate signatures alike, while GM/T 0009
//! and GM/T 0015 use `1234567812345678`. The `openssl` crate does not wrap
//! the three calls that set the ID (`EVP_PKEY_CTX_set1_id`, `X509_sign_ctx`,
//! `X509_set0_distinguishing_id`), so they are declared here; this is the
//! crate's one module allowed `unsafe`, and every block says why it holds.
//!
//! Key types matter as much as the ID: an EC key on the SM2 curve signs
//! ECDSA-with-SM3, not SM2. Every entry point here insists on an SM2 key
//! (OpenSSL key manager "SM2") on the SM2 curve, converting an EC key on
//! that curve where it takes ownership and rejecting it where it only
//! borrows. `PKeyRef::id` cannot be used for the check: OpenSSL 3.0 decodes
//! a key on the SM2 curve (PKCS#8, SEC1 or SubjectPublicKeyInfo) straight
//! into an SM2 key, but one that reports id -1 (`EVP_PKEY_KEYMGMT`), not
//! `EVP_PKEY_SM2`; only generated keys report `EVP_PKEY_SM2`.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_int, c_void};
use std::mem::ManuallyDrop;
use std::sync::Mutex;

use foreign_types::{ForeignType, ForeignTypeRef};
use openssl::asn1::{Asn1Object, Asn1OctetString, Asn1OctetStringRef};
use openssl::error::ErrorStack;
use openssl::hash::{MessageDigest, hash};
use openssl::md::Md;
use openssl::md_ctx::{MdCtx, MdCtxRef};
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private, Public};
use openssl::pkey_ctx::{PkeyCtx, PkeyCtxRef};
use openssl::x509::{X509, X509Ref};

use super::{SM2_WITH_SM3_OID, SigningError};

mod ffi {
    use std::ffi::{c_int, c_void};

    use openssl_sys::{ASN1_OCTET_STRING, EVP_MD_CTX, EVP_PKEY_CTX, X509};

    // Declarations from OpenSSL 3.0's <openssl/x509.h> and <openssl/evp.h>
    // that openssl-sys does not carry.
    unsafe extern "C" {
        pub fn EVP_PKEY_CTX_set1_id(ctx: *mut EVP_PKEY_CTX, id: *const c_void, len: c_int) -> c_int;
        pub fn X509_sign_ctx(x: *mut X509, ctx: *mut EVP_MD_CTX) -> c_int;
        pub fn X509_set0_distinguishing_id(x: *mut X509, d_id: *mut ASN1_OCTET_STRING);
        pub fn X509_get0_distinguishing_id(x: *mut X509) -> *mut ASN1_OCTET_STRING;
    }
}

/// Serialises [`set_distinguishing_id`]: the read-then-write of a
/// certificate's ID must not interleave with another writer.
static DISTINGUISHING_ID_WRITE: Mutex<()> = Mutex::new(());

fn key_err(what: &str, e: impl std::fmt::Display) -> SigningError {
    SigningError::Key(format!("{what}: {e}"))
}

fn sign_err(what: &str, e: impl std::fmt::Display) -> SigningError {
    SigningError::Sign(format!("{what}: {e}"))
}

/// SM3 of `data`.
pub fn sm3(data: &[u8]) -> [u8; 32] {
    let digest =
        hash(MessageDigest::sm3(), data).expect("the linked OpenSSL provides SM3 (checked by the signing tests)");
    let mut out = [0u8; 32];
    out.copy_from_slice(&digest);
    out
}

/// A fresh SM2 key (`EVP_PKEY_SM2`, curve SM2). Unlike `PKey::ec_gen("SM2")`,
/// which makes an EC key that signs ECDSA.
pub fn generate_key() -> Result<PKey<Private>, SigningError> {
    let generate = || -> Result<PKey<Private>, ErrorStack> {
        let mut ctx = PkeyCtx::new_id(Id::SM2)?;
        ctx.keygen_init()?;
        ctx.set_ec_paramgen_curve_nid(Nid::SM2)?;
        ctx.keygen()
    };
    let key = generate().map_err(|e| key_err("generating an SM2 key", e))?;
    require_sm2(&key)?;
    Ok(key)
}

/// Loads a PEM private key (PKCS#8, or SEC1 `EC PRIVATE KEY`) and returns it
/// as an SM2 key. OpenSSL 3.0 already decodes a key on the SM2 curve as an
/// SM2 key (the file cannot say "EC" or "SM2": both are `id-ecPublicKey`
/// with the SM2 curve); an EC-typed key would be converted, a key on any
/// other curve or of any other type is rejected. Encrypted keys are refused
/// without prompting.
pub fn private_key_from_pem(pem: &[u8]) -> Result<PKey<Private>, SigningError> {
    let key = PKey::private_key_from_pem_callback(pem, |_| Err(ErrorStack::get()))
        .map_err(|e| key_err("reading the private key PEM", e))?;
    into_sm2_private(key)
}

/// The public key of `cert`, checked to be SM2 on the SM2 curve.
pub fn public_key_of(cert: &X509Ref) -> Result<Sm2PublicKey, SigningError> {
    let key = cert.public_key().map_err(|e| key_err("reading the certificate's public key", e))?;
    Sm2PublicKey::new(key)
}

/// A public key checked once, when it is made, to be an SM2 key on the SM2
/// curve, with its point. Like [`Sm2PrivateKey`], it exists so that the
/// check (an encoding through OpenSSL 3.0's encoders, ≈ 0.16 ms) is not
/// repeated for every signature a key verifies.
pub struct Sm2PublicKey {
    key: PKey<Public>,
    /// `04 ‖ x ‖ y`.
    point: Vec<u8>,
}

impl Sm2PublicKey {
    /// Takes ownership of `key`; an EC key on the SM2 curve is converted to
    /// SM2, any other key is rejected.
    pub fn new(key: PKey<Public>) -> Result<Self, SigningError> {
        let not_sm2 = || SigningError::Key("not an SM2 key".into());
        let point = sm2_curve_point(&key);
        let key = match point {
            _ if is_a(&key, c"SM2") => key,
            Some(_) if is_a(&key, c"EC") => {
                // An EC key on the SM2 curve: re-decoding its DER yields SM2.
                let der = key.public_key_to_der().map_err(|e| key_err("re-encoding an EC key on the SM2 curve", e))?;
                let key = PKey::public_key_from_der(&der)
                    .map_err(|e| key_err("re-decoding an EC key on the SM2 curve", e))?;
                if !is_a(&key, c"SM2") {
                    return Err(not_sm2());
                }
                key
            }
            _ => return Err(not_sm2()),
        };
        let point = point.ok_or_else(|| SigningError::Key("SM2 key is not on the SM2 curve".into()))?;
        Ok(Sm2PublicKey { key, point })
    }

    pub fn as_pkey(&self) -> &PKeyRef<Public> {
        &self.key
    }

    /// The uncompressed point `04 ‖ x ‖ y` (65 bytes).
    pub fn point(&self) -> &[u8] {
        &self.point
    }

    /// [`verify`] without checking the key again.
    pub fn verify(&self, id: &[u8], msg: &[u8], sig_der: &[u8]) -> Result<bool, SigningError> {
        verify_sm2_key(&self.key, id, msg, sig_der)
    }
}

/// DER of an SM2 `SubjectPublicKeyInfo` up to the point: `id-ecPublicKey`
/// with the SM2 curve (1.2.156.10197.1.301), then a 66-byte BIT STRING
/// holding the uncompressed point.
const SM2_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf,
    0x55, 0x01, 0x82, 0x2d, 0x03, 0x42, 0x00,
];

/// The uncompressed point `04‖x‖y` of a key on the SM2 curve (whatever its
/// OpenSSL key type), read from its `SubjectPublicKeyInfo`.
fn sm2_curve_point<T: HasPublic>(key: &PKeyRef<T>) -> Option<Vec<u8>> {
    let spki = key.public_key_to_der().ok()?;
    let point = spki.strip_prefix(&SM2_SPKI_PREFIX[..])?;
    (point.len() == 65 && point[0] == 0x04).then(|| point.to_vec())
}

fn is_a<T>(key: &PKeyRef<T>, name: &CStr) -> bool {
    // SAFETY: `key` is a live EVP_PKEY and `name` a NUL-terminated string,
    // both only read for the duration of the call.
    unsafe { openssl_sys::EVP_PKEY_is_a(key.as_ptr(), name.as_ptr()) == 1 }
}

/// An SM2 key in OpenSSL's sense (its key manager is "SM2", so it signs and
/// verifies SM2, not ECDSA) on the SM2 curve. `PKeyRef::id` cannot tell:
/// a decoded SM2 key reports -1 (`EVP_PKEY_KEYMGMT`).
fn require_sm2<T: HasPublic>(key: &PKeyRef<T>) -> Result<(), SigningError> {
    if !is_a(key, c"SM2") {
        return Err(SigningError::Key("not an SM2 key".into()));
    }
    if sm2_curve_point(key).is_none() {
        return Err(SigningError::Key("SM2 key is not on the SM2 curve".into()));
    }
    Ok(())
}

/// An EC key (ECDSA) whose curve is SM2: re-decoding its DER yields an SM2 key.
fn is_ec_on_sm2_curve<T: HasPublic>(key: &PKeyRef<T>) -> bool {
    is_a(key, c"EC") && !is_a(key, c"SM2") && sm2_curve_point(key).is_some()
}

/// Takes ownership of a private key and returns it as an SM2 key; an EC key
/// on the SM2 curve is re-decoded as SM2, anything else is rejected.
fn into_sm2_private(key: PKey<Private>) -> Result<PKey<Private>, SigningError> {
    let key = if is_ec_on_sm2_curve(&key) {
        let der = key.private_key_to_pkcs8().map_err(|e| key_err("re-encoding an EC key on the SM2 curve", e))?;
        PKey::private_key_from_pkcs8(&der).map_err(|e| key_err("re-decoding an EC key on the SM2 curve", e))?
    } else {
        key
    };
    require_sm2(&key)?;
    Ok(key)
}

/// Sets the SM2 ID on a signing or verifying context, before any data is
/// digested (Z_A is computed at the first update).
fn set_id<T>(pctx: &mut PkeyCtxRef<T>, id: &[u8]) -> Result<(), ErrorStack> {
    let len = c_int::try_from(id.len()).map_err(|_| ErrorStack::get())?;
    // SAFETY: `pctx` is a live EVP_PKEY_CTX, borrowed mutably for the call.
    // `id` points to `len` readable bytes (or is a dangling non-null pointer
    // with `len == 0`, which OpenSSL does not read); OpenSSL copies them
    // (`set1`) and keeps no pointer into `id`.
    let rc = unsafe { ffi::EVP_PKEY_CTX_set1_id(pctx.as_ptr(), id.as_ptr().cast::<c_void>(), len) };
    if rc > 0 { Ok(()) } else { Err(ErrorStack::get()) }
}

/// A digest-sign context for SM2 with SM3 and `id`.
fn sign_context(key: &PKeyRef<Private>, id: &[u8]) -> Result<MdCtx, ErrorStack> {
    let mut ctx = MdCtx::new()?;
    let pctx = ctx.digest_sign_init(Some(Md::sm3()), key)?;
    set_id(pctx, id)?;
    Ok(ctx)
}

/// SM2 with SM3 over `msg`, Z_A over `id`; the signature is DER
/// `SEQUENCE { r, s }`. The key is checked on every call (it is only
/// borrowed); a key signed with many times belongs in an [`Sm2PrivateKey`].
pub fn sign(key: &PKeyRef<Private>, id: &[u8], msg: &[u8]) -> Result<Vec<u8>, SigningError> {
    require_sm2(key)?;
    sign_sm2_key(key, id, msg)
}

/// [`sign`] on a key already known to be SM2 on the SM2 curve.
fn sign_sm2_key(key: &PKeyRef<Private>, id: &[u8], msg: &[u8]) -> Result<Vec<u8>, SigningError> {
    let run = || -> Result<Vec<u8>, ErrorStack> {
        let mut ctx = sign_context(key, id)?;
        ctx.digest_sign_update(msg)?;
        let mut sig = Vec::new();
        ctx.digest_sign_final_to_vec(&mut sig)?;
        Ok(sig)
    };
    run().map_err(|e| sign_err("SM2 signing", e))
}

/// A private key checked once, when it is made, to be an SM2 key on the
/// SM2 curve. The check encodes the public key through OpenSSL 3.0's
/// encoders (≈ 0.16 ms, as long as a tenth of a whole translation), so a
/// key that signs every licence is checked here and not per signature.
pub struct Sm2PrivateKey(PKey<Private>);

impl Sm2PrivateKey {
    /// Takes ownership of `key`; an EC key on the SM2 curve is converted to
    /// SM2, any other key is rejected.
    pub fn new(key: PKey<Private>) -> Result<Self, SigningError> {
        into_sm2_private(key).map(Self)
    }

    pub fn as_pkey(&self) -> &PKeyRef<Private> {
        &self.0
    }

    /// SM2 with SM3 over `msg`, Z_A over `id`, DER `SEQUENCE { r, s }`.
    pub fn sign(&self, id: &[u8], msg: &[u8]) -> Result<Vec<u8>, SigningError> {
        sign_sm2_key(&self.0, id, msg)
    }
}

/// Checks an SM2-with-SM3 DER signature over `msg` with Z_A over `id`.
/// `Ok(false)` for any signature that does not verify (malformed included);
/// `Err` only when the key is not a usable SM2 key.
pub fn verify<T: HasPublic>(key: &PKeyRef<T>, id: &[u8], msg: &[u8], sig_der: &[u8]) -> Result<bool, SigningError> {
    require_sm2(key)?;
    verify_sm2_key(key, id, msg, sig_der)
}

/// [`verify`] on a key already known to be SM2 on the SM2 curve.
fn verify_sm2_key<T: HasPublic>(key: &PKeyRef<T>, id: &[u8], msg: &[u8], sig_der: &[u8]) -> Result<bool, SigningError> {
    let mut ctx = MdCtx::new().map_err(|e| key_err("SM2 verification context", e))?;
    let pctx = ctx.digest_verify_init(Some(Md::sm3()), key).map_err(|e| key_err("SM2 verification context", e))?;
    set_id(pctx, id).map_err(|e| key_err("setting the SM2 ID", e))?;
    let verified = ctx.digest_verify_update(msg).and_then(|()| ctx.digest_verify_final(sig_der));
    Ok(verified.unwrap_or(false))
}

/// (Re)signs `cert` with SM2-with-SM3 (OID 1.2.156.10197.1.501) under
/// `issuer_key`, Z_A over `id`. Both algorithm fields are set from the
/// signing context and the TBS part is re-encoded; the result is a freshly
/// decoded certificate whose DER is the signed one.
///
/// A certificate that is already signed is copied first, so the object
/// given (which `X509::clone` shares) is not changed. An unsigned one cannot
/// be encoded, hence not copied, and is signed in place: do not hand in an
/// unsigned certificate that a clone on another thread is reading.
pub fn sign_certificate(cert: X509, issuer_key: &PKeyRef<Private>, id: &[u8]) -> Result<X509, SigningError> {
    require_sm2(issuer_key)?;
    let cert = match cert.to_der() {
        Ok(der) => X509::from_der(&der).map_err(|e| sign_err("copying the certificate", e))?,
        Err(_unsigned) => cert,
    };
    let ctx = sign_context(issuer_key, id).map_err(|e| sign_err("certificate signing", e))?;
    sign_x509(&cert, &ctx).map_err(|e| sign_err("certificate signing", e))?;
    // A fresh decode, so that every cached field of the object matches the
    // new encoding.
    let der = cert.to_der().map_err(|e| sign_err("encoding the signed certificate", e))?;
    X509::from_der(&der).map_err(|e| sign_err("decoding the signed certificate", e))
}

fn sign_x509(cert: &X509, ctx: &MdCtxRef) -> Result<(), ErrorStack> {
    // SAFETY: `cert` is a live X509 owned by `sign_certificate`: either a
    // private copy or an unsigned certificate moved in, which by the
    // documented contract no other thread reads while X509_sign_ctx rewrites
    // its algorithm and signature fields. `ctx` is a live EVP_MD_CTX
    // initialised for signing with an SM2 key; OpenSSL uses it only for the
    // duration of the call and takes no ownership.
    let rc = unsafe { ffi::X509_sign_ctx(cert.as_ptr(), ctx.as_ptr()) };
    if rc > 0 { Ok(()) } else { Err(ErrorStack::get()) }
}

fn is_sm2_with_sm3(cert: &X509Ref) -> Result<bool, SigningError> {
    let expected = Asn1Object::from_str(SM2_WITH_SM3_OID).map_err(|e| key_err("SM2-with-SM3 OID", e))?.nid();
    if expected == Nid::UNDEF {
        return Err(SigningError::Key("the linked OpenSSL does not know SM2-with-SM3".into()));
    }
    Ok(cert.signature_algorithm().object().nid() == expected)
}

/// Checks `cert`'s SM2-with-SM3 signature under `issuer_key` with Z_A over
/// `id`. `Ok(false)` for a certificate not signed SM2-with-SM3 or whose
/// signature does not verify; `Err` when the key is not a usable SM2 key.
/// `cert` itself is not changed: the check runs on a private copy.
pub fn verify_certificate(cert: &X509Ref, issuer_key: &PKeyRef<Public>, id: &[u8]) -> Result<bool, SigningError> {
    require_sm2(issuer_key)?;
    if !is_sm2_with_sm3(cert)? {
        return Ok(false);
    }
    let der = cert.to_der().map_err(|e| key_err("encoding the certificate", e))?;
    let copy = X509::from_der(&der).map_err(|e| key_err("decoding the certificate", e))?;
    let octets = Asn1OctetString::new_from_bytes(id).map_err(|e| key_err("encoding the SM2 ID", e))?;
    // SAFETY: `copy` was decoded just above and is owned here alone, so no
    // other reader can see its ID change, and it has no ID yet to be freed.
    // X509_set0_distinguishing_id takes ownership of `octets` (released from
    // Rust through `ManuallyDrop`, so OpenSSL frees it once, with `copy`).
    unsafe { ffi::X509_set0_distinguishing_id(copy.as_ptr(), ManuallyDrop::new(octets).as_ptr()) };
    Ok(copy.verify(issuer_key).unwrap_or(false))
}

/// Makes OpenSSL check this SM2 certificate's own signature (the issuer's
/// signature over it, e.g. in `X509StoreContext::verify_cert`) with Z_A over
/// `id`. The ID belongs to the certificate being checked, not its issuer.
///
/// Set it once, right after the certificate is decoded and before it is
/// shared: the ID is stored in the OpenSSL object, which other holders and
/// threads see. Setting the same ID again is a no-op; replacing a different
/// ID is refused, so that an ID another thread may be reading is never
/// freed.
pub fn set_distinguishing_id(cert: &X509Ref, id: &[u8]) -> Result<(), SigningError> {
    let _writer = DISTINGUISHING_ID_WRITE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // SAFETY: `cert` is a live X509; the getter returns a borrowed pointer
    // (or null) that stays valid while `cert` lives and no writer replaces
    // it. Writers are serialised by the lock held above, and none frees an
    // existing ID (see below).
    let current = unsafe { ffi::X509_get0_distinguishing_id(cert.as_ptr()) };
    if !current.is_null() {
        // SAFETY: non-null, owned by `cert`, valid for this borrow (see above).
        let current = unsafe { Asn1OctetStringRef::from_ptr(current) };
        if current.as_slice() == id {
            return Ok(());
        }
        return Err(SigningError::Key("certificate already carries a different SM2 ID".into()));
    }
    let octets = Asn1OctetString::new_from_bytes(id).map_err(|e| key_err("encoding the SM2 ID", e))?;
    // SAFETY: `cert` is a live X509 with no ID yet, so nothing is freed.
    // Ownership of `octets` passes to `cert` (released from Rust
    // through `ManuallyDrop`); OpenSSL frees it with the certificate.
    unsafe { ffi::X509_set0_distinguishing_id(cert.as_ptr(), ManuallyDrop::new(octets).as_ptr()) };
    Ok(())
}
