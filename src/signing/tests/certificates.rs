//! SM2 certificates: issuing with the ID on the signing context, checking
//! with it directly, through `X509StoreContext`, and with `openssl verify`.

use std::fs;

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509, X509StoreContext, X509VerifyResult};

use super::super::openssl_sm2::{public_key_of, set_distinguishing_id, sign_certificate, verify_certificate};
use super::super::{SM2_DEFAULT_ID, SM2_WITH_SM3_OID};
use super::{INSIDE_VALIDITY, cert_builder, openssl, sm2_key, unsigned_cert};

/// A self-signed SM2 CA and a leaf it issued, both signed with `id`.
fn ca_and_leaf(id: &[u8]) -> (X509, X509) {
    let ca_key = sm2_key();
    let ca = sign_certificate(unsigned_cert("Test SM2 Root", 1, &ca_key, None, true), &ca_key, id).unwrap();
    let leaf_key = sm2_key();
    let leaf = sign_certificate(unsigned_cert("Test SM2 Signer", 2, &leaf_key, Some(&ca), false), &ca_key, id).unwrap();
    (ca, leaf)
}

/// Fresh objects decoded from DER, carrying no distinguishing ID yet.
fn redecode(cert: &X509) -> X509 {
    X509::from_der(&cert.to_der().unwrap()).unwrap()
}

/// Verifies `leaf` against a store holding only `ca`, at `at`.
fn chain_verifies(ca: &X509, leaf: &X509, at: i64) -> (bool, X509VerifyResult) {
    let mut store = X509StoreBuilder::new().unwrap();
    store.add_cert(ca.clone()).unwrap();
    let mut param = X509VerifyParam::new().unwrap();
    param.set_time(at);
    store.set_param(&param).unwrap();
    let store = store.build();
    let mut ctx = X509StoreContext::new().unwrap();
    let chain = Stack::new().unwrap();
    ctx.init(&store, leaf, &chain, |c| Ok((c.verify_cert()?, c.error()))).unwrap()
}

#[test]
fn issued_certificates_carry_sm2_with_sm3_and_the_new_signature() {
    let (ca, leaf) = ca_and_leaf(SM2_DEFAULT_ID);
    for cert in [&ca, &leaf] {
        let alg = cert.signature_algorithm().object();
        assert_eq!(format!("{alg:?}"), "SM2-with-SM3");
        assert_eq!(openssl::asn1::Asn1Object::from_str(SM2_WITH_SM3_OID).unwrap().nid(), alg.nid());
        // The DER is the certificate as signed: it decodes to the same bytes.
        assert_eq!(redecode(cert).to_der().unwrap(), cert.to_der().unwrap());
    }
}

#[test]
fn verify_certificate_needs_the_id_it_was_signed_with() {
    let (ca, leaf) = ca_and_leaf(SM2_DEFAULT_ID);
    let ca_public = public_key_of(&ca).unwrap();
    assert!(verify_certificate(&leaf, ca_public.as_pkey(), SM2_DEFAULT_ID).unwrap());
    assert!(verify_certificate(&ca, ca_public.as_pkey(), SM2_DEFAULT_ID).unwrap());
    assert!(!verify_certificate(&leaf, ca_public.as_pkey(), b"").unwrap());
    // Someone else's key does not verify it either.
    let other = public_key_of(&ca_and_leaf(SM2_DEFAULT_ID).0).unwrap();
    assert!(!verify_certificate(&leaf, other.as_pkey(), SM2_DEFAULT_ID).unwrap());

    let (ca_empty, leaf_empty) = ca_and_leaf(b"");
    let ca_empty_public = public_key_of(&ca_empty).unwrap();
    assert!(verify_certificate(&leaf_empty, ca_empty_public.as_pkey(), b"").unwrap());
    assert!(!verify_certificate(&leaf_empty, ca_empty_public.as_pkey(), SM2_DEFAULT_ID).unwrap());
}

#[test]
fn a_certificate_signed_otherwise_is_resigned_sm2() {
    let ca_key = sm2_key();
    let p256 = PKey::ec_gen("prime256v1").unwrap();
    let mut builder = cert_builder("Re-signed", 7, &ca_key, None, true);
    builder.sign(&p256, MessageDigest::sha256()).unwrap();
    let ecdsa_signed = builder.build();
    assert_eq!(format!("{:?}", ecdsa_signed.signature_algorithm().object()), "ecdsa-with-SHA256");

    let ca_public = public_key_of(&ecdsa_signed).unwrap();
    assert!(!verify_certificate(&ecdsa_signed, ca_public.as_pkey(), SM2_DEFAULT_ID).unwrap());
    let shared = ecdsa_signed.clone();
    let before = shared.to_der().unwrap();
    let resigned = sign_certificate(ecdsa_signed, &ca_key, SM2_DEFAULT_ID).unwrap();
    assert_eq!(format!("{:?}", resigned.signature_algorithm().object()), "SM2-with-SM3");
    assert!(verify_certificate(&resigned, ca_public.as_pkey(), SM2_DEFAULT_ID).unwrap());
    assert!(verify_certificate(&redecode(&resigned), ca_public.as_pkey(), SM2_DEFAULT_ID).unwrap());
    // The object handed in (shared by its clone) was not changed.
    assert_eq!(shared.to_der().unwrap(), before);
    assert_eq!(format!("{:?}", shared.signature_algorithm().object()), "ecdsa-with-SHA256");
}

#[test]
fn non_sm2_keys_are_errors_for_certificates() {
    let p256 = PKey::ec_gen("prime256v1").unwrap();
    let cert = unsigned_cert("P-256", 3, &p256, None, true);
    assert!(sign_certificate(cert, &p256, SM2_DEFAULT_ID).is_err());
    let ecdsa_key = PKey::ec_gen("SM2").unwrap();
    let cert = unsigned_cert("EC on SM2 curve", 4, &ecdsa_key, None, true);
    assert!(sign_certificate(cert, &ecdsa_key, SM2_DEFAULT_ID).is_err());

    let (_, leaf) = ca_and_leaf(SM2_DEFAULT_ID);
    let p256_public = PKey::public_key_from_der(&p256.public_key_to_der().unwrap()).unwrap();
    assert!(verify_certificate(&leaf, &p256_public, SM2_DEFAULT_ID).is_err());

    let mut builder = cert_builder("P-256", 5, &p256, None, true);
    builder.sign(&p256, MessageDigest::sha256()).unwrap();
    assert!(public_key_of(&builder.build()).is_err());
}

#[test]
fn public_key_of_an_sm2_certificate_is_an_sm2_key() {
    let (ca, leaf) = ca_and_leaf(SM2_DEFAULT_ID);
    let key = public_key_of(&leaf).unwrap();
    assert!(!key.as_pkey().is_a(openssl::pkey::KeyType::EC));
    assert!(public_key_of(&ca).is_ok());
}

#[test]
fn store_verification_uses_the_id_set_on_the_certificate_being_checked() {
    let (ca, leaf) = ca_and_leaf(SM2_DEFAULT_ID);

    // Nothing set: OpenSSL checks the leaf's signature with the empty ID.
    let (ok, err) = chain_verifies(&redecode(&ca), &redecode(&leaf), INSIDE_VALIDITY);
    assert!(!ok);
    assert_eq!(err.as_raw(), openssl_sys::X509_V_ERR_CERT_SIGNATURE_FAILURE, "{}", err.error_string());

    // Set on the issuer only: still the empty ID for the leaf's signature.
    let ca_with_id = redecode(&ca);
    set_distinguishing_id(&ca_with_id, SM2_DEFAULT_ID).unwrap();
    let (ok, err) = chain_verifies(&ca_with_id, &redecode(&leaf), INSIDE_VALIDITY);
    assert!(!ok);
    assert_eq!(err.as_raw(), openssl_sys::X509_V_ERR_CERT_SIGNATURE_FAILURE, "{}", err.error_string());

    // Set on the leaf (the child): its signature verifies.
    let leaf_with_id = redecode(&leaf);
    set_distinguishing_id(&leaf_with_id, SM2_DEFAULT_ID).unwrap();
    let (ok, err) = chain_verifies(&redecode(&ca), &leaf_with_id, INSIDE_VALIDITY);
    assert!(ok, "{}", err.error_string());

    // Set on both, the ordinary case.
    let (ok, err) = chain_verifies(&ca_with_id, &leaf_with_id, INSIDE_VALIDITY);
    assert!(ok, "{}", err.error_string());

    // The store really uses the given time: after notAfter the chain fails.
    let (ok, err) = chain_verifies(&ca_with_id, &leaf_with_id, 2_556_144_000); // 2051-01-01
    assert!(!ok);
    assert_eq!(err.as_raw(), openssl_sys::X509_V_ERR_CERT_HAS_EXPIRED, "{}", err.error_string());
}

#[test]
fn set_distinguishing_id_is_set_once() {
    let (_, leaf) = ca_and_leaf(SM2_DEFAULT_ID);
    let leaf = redecode(&leaf);
    set_distinguishing_id(&leaf, SM2_DEFAULT_ID).unwrap();
    set_distinguishing_id(&leaf, SM2_DEFAULT_ID).unwrap();
    let err = set_distinguishing_id(&leaf, b"").unwrap_err();
    assert!(err.to_string().contains("different SM2 ID"), "{err}");
}

#[test]
fn verify_certificate_leaves_the_certificate_untouched() {
    let (ca, leaf) = ca_and_leaf(SM2_DEFAULT_ID);
    let leaf = redecode(&leaf);
    let ca_public = public_key_of(&ca).unwrap();
    assert!(verify_certificate(&leaf, ca_public.as_pkey(), SM2_DEFAULT_ID).unwrap());
    // No ID was left on `leaf`: the store still checks it with the empty ID,
    // and an ID can still be set on it.
    assert!(!chain_verifies(&redecode(&ca), &leaf, INSIDE_VALIDITY).0);
    set_distinguishing_id(&leaf, SM2_DEFAULT_ID).unwrap();
    assert!(chain_verifies(&redecode(&ca), &leaf, INSIDE_VALIDITY).0);
}

#[test]
fn cli_verifies_issued_certificates_with_the_default_id_only() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, leaf) = ca_and_leaf(SM2_DEFAULT_ID);
    fs::write(dir.path().join("ca.pem"), ca.to_pem().unwrap()).unwrap();
    fs::write(dir.path().join("leaf.pem"), leaf.to_pem().unwrap()).unwrap();

    let run = openssl(dir.path(), &["verify", "-vfyopt", "distid:1234567812345678", "-CAfile", "ca.pem", "leaf.pem"]);
    assert!(run.output.contains("leaf.pem: OK"), "{}", run.output);
    assert!(run.success);

    let run = openssl(dir.path(), &["verify", "-CAfile", "ca.pem", "leaf.pem"]);
    assert!(!run.output.contains("leaf.pem: OK"), "{}", run.output);
    assert!(run.output.contains("certificate signature failure"), "{}", run.output);
    assert!(!run.success);
}

#[test]
fn cli_agrees_on_certificates_issued_with_the_empty_id() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, leaf) = ca_and_leaf(b"");
    fs::write(dir.path().join("ca.pem"), ca.to_pem().unwrap()).unwrap();
    fs::write(dir.path().join("leaf.pem"), leaf.to_pem().unwrap()).unwrap();
    let run = openssl(dir.path(), &["verify", "-CAfile", "ca.pem", "leaf.pem"]);
    assert!(run.output.contains("leaf.pem: OK"), "{}", run.output);
    let run = openssl(dir.path(), &["verify", "-vfyopt", "distid:1234567812345678", "-CAfile", "ca.pem", "leaf.pem"]);
    assert!(run.output.contains("certificate signature failure"), "{}", run.output);
}
