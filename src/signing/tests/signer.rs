//! `OpensslSm2Signer`: the key must be SM2 and match the certificate.

use std::fs;

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;

use super::super::openssl_sm2::{public_key_of, verify};
use super::super::{OpensslSm2Signer, SM2_DEFAULT_ID, Signer};
use super::{cert_builder, openssl, self_signed_pem, sm2_key};

#[test]
fn signer_signs_sm2_under_the_default_id_and_exposes_its_certificate() {
    let key = sm2_key();
    let cert_pem = self_signed_pem(&key);
    let signer = OpensslSm2Signer::from_pem(&cert_pem, &key.private_key_to_pem_pkcs8().unwrap()).unwrap();

    let cert = openssl::x509::X509::from_pem(&cert_pem).unwrap();
    assert_eq!(signer.certificate_der(), cert.to_der().unwrap());
    let point = signer.public_key_uncompressed();
    assert_eq!(point.len(), 65);
    assert_eq!(point[0], 0x04);
    let spki = cert.public_key().unwrap().public_key_to_der().unwrap();
    assert!(spki.ends_with(point));

    let sig = signer.sign(b"record").unwrap();
    let public = public_key_of(&cert).unwrap();
    assert!(verify(public.as_pkey(), SM2_DEFAULT_ID, b"record", &sig).unwrap());
    assert!(!verify(public.as_pkey(), b"", b"record", &sig).unwrap());
}

#[test]
fn signer_signature_verifies_with_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let key = sm2_key();
    let cert_pem = self_signed_pem(&key);
    let signer = OpensslSm2Signer::from_pem(&cert_pem, &key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    fs::write(dir.path().join("cert.pem"), &cert_pem).unwrap();
    fs::write(dir.path().join("msg"), b"canonical bytes").unwrap();
    fs::write(dir.path().join("sig.der"), signer.sign(b"canonical bytes").unwrap()).unwrap();
    let run = openssl(dir.path(), &["x509", "-in", "cert.pem", "-pubkey", "-noout", "-out", "pub.pem"]);
    assert!(run.success, "{}", run.output);
    let args =
        ["dgst", "-sm3", "-verify", "pub.pem", "-sigopt", "distid:1234567812345678", "-signature", "sig.der", "msg"];
    let run = openssl(dir.path(), &args);
    assert!(run.output.contains("Verified OK"), "{}", run.output);
}

#[test]
fn signer_rejects_a_key_that_is_not_the_certificates() {
    let cert_pem = self_signed_pem(&sm2_key());
    let other = sm2_key().private_key_to_pem_pkcs8().unwrap();
    let err = OpensslSm2Signer::from_pem(&cert_pem, &other).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
}

#[test]
fn signer_rejects_an_ecdsa_p256_key() {
    let p256 = PKey::ec_gen("prime256v1").unwrap();
    let p256_pem = p256.private_key_to_pem_pkcs8().unwrap();

    // With an SM2 certificate.
    let err = OpensslSm2Signer::from_pem(&self_signed_pem(&sm2_key()), &p256_pem).unwrap_err();
    assert!(err.to_string().contains("not an SM2 key"), "{err}");

    // With its own P-256 certificate.
    let mut builder = cert_builder("P-256", 10, &p256, None, false);
    builder.sign(&p256, MessageDigest::sha256()).unwrap();
    let cert_pem = builder.build().to_pem().unwrap();
    let err = OpensslSm2Signer::from_pem(&cert_pem, &p256_pem).unwrap_err();
    assert!(err.to_string().contains("not an SM2 key"), "{err}");
}

#[test]
fn signer_takes_an_ec_key_on_the_sm2_curve_as_sm2() {
    let ec = PKey::ec_gen("SM2").unwrap();
    let sm2 = super::super::openssl_sm2::private_key_from_pem(&ec.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let cert = openssl::x509::X509::from_pem(&self_signed_pem(&sm2)).unwrap();
    let signer = OpensslSm2Signer::new(cert.clone(), ec).unwrap();
    let sig = signer.sign(b"m").unwrap();
    assert!(verify(public_key_of(&cert).unwrap().as_pkey(), SM2_DEFAULT_ID, b"m", &sig).unwrap());
}

#[test]
fn signer_debug_does_not_print_the_key() {
    let key = sm2_key();
    let signer = OpensslSm2Signer::from_pem(&self_signed_pem(&key), &key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let shown = format!("{signer:?}");
    assert!(shown.contains("public_point"));
    // The private scalar: the 32 bytes after `INTEGER 1, OCTET STRING (32)`
    // in the SEC1 structure inside the PKCS#8 DER.
    let der = key.private_key_to_pkcs8().unwrap();
    let at = der.windows(5).position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20]).unwrap() + 5;
    let secret = hex::encode(&der[at..at + 32]);
    assert!(!shown.contains(&secret), "{shown}");
    assert!(!format!("{signer:#?}").contains(&secret));
}
