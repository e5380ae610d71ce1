use super::{fresh, openssl_cli, read_cert, verify_chain};
use crate::dev::pki::{SignerKind, layout};
use openssl::pkey::Id;
use openssl_sys as ffi;

#[test]
fn each_signer_kind_fails_chain_validation_for_its_own_reason() {
    let (_dir, pki) = fresh();
    let anchor = read_cert(&pki, layout::MO_ISSUING_CA);
    let check = |kind| verify_chain(&[&anchor], &pki.signer(kind).unwrap().chain, None);

    check(SignerKind::Default).unwrap();
    check(SignerKind::Revoked).unwrap();
    check(SignerKind::Rsa2048).unwrap();
    check(SignerKind::Rsa1024).unwrap();
    check(SignerKind::WrongKeyUsage).unwrap();
    assert_eq!(check(SignerKind::Expired).unwrap_err().as_raw(), ffi::X509_V_ERR_CERT_HAS_EXPIRED);
    assert_eq!(check(SignerKind::NotYetValid).unwrap_err().as_raw(), ffi::X509_V_ERR_CERT_NOT_YET_VALID);
    assert!(check(SignerKind::UntrustedRoot).is_err());
    assert!(check(SignerKind::Impostor).is_err());
}

#[test]
fn signer_kinds_carry_their_defects() {
    let (_dir, pki) = fresh();
    let dsi_ca = read_cert(&pki, layout::MO_ISSUING_CA);

    let ca_as_leaf = pki.signer(SignerKind::CaAsLeaf).unwrap();
    assert_eq!(ca_as_leaf.chain.len(), 1);
    assert_eq!(ca_as_leaf.leaf().to_der().unwrap(), dsi_ca.to_der().unwrap());
    assert!(ca_as_leaf.leaf().public_key().unwrap().public_eq(&ca_as_leaf.key));

    let impostor = pki.signer(SignerKind::Impostor).unwrap();
    let fake_ca = &impostor.chain[1];
    assert_eq!(fake_ca.subject_name().to_der().unwrap(), dsi_ca.subject_name().to_der().unwrap());
    assert!(!fake_ca.public_key().unwrap().public_eq(&dsi_ca.public_key().unwrap()));

    let untrusted = pki.signer(SignerKind::UntrustedRoot).unwrap();
    assert_eq!(untrusted.chain.len(), 2);
    assert_ne!(untrusted.chain[1].subject_name().to_der().unwrap(), dsi_ca.subject_name().to_der().unwrap());

    let rsa = pki.signer(SignerKind::Rsa2048).unwrap();
    assert_eq!((rsa.key.id(), rsa.key.bits()), (Id::RSA, 2048));
    let small = pki.signer(SignerKind::Rsa1024).unwrap();
    assert_eq!((small.key.id(), small.key.bits()), (Id::RSA, 1024));

    pki.signer(SignerKind::WrongKeyUsage).unwrap();
    let (ok, text) = openssl_cli(
        pki.dir(),
        &["x509", "-in", "mo/test-signers/wrong-key-usage.pem", "-noout", "-ext", "keyUsage,basicConstraints"],
    );
    assert!(ok, "{text}");
    assert!(text.contains("Certificate Sign") && !text.contains("Digital Signature"), "{text}");
    assert!(text.contains("CA:FALSE"), "{text}");
}

#[test]
fn test_signers_are_made_once_and_reused() {
    let (dir, pki) = fresh();
    let first = pki.signer(SignerKind::Expired).unwrap();
    let again = crate::dev::pki::Pki::open(dir.path()).unwrap().signer(SignerKind::Expired).unwrap();
    assert_eq!(first.leaf().to_der().unwrap(), again.leaf().to_der().unwrap());
    assert!(first.key.public_eq(&again.key));
    assert!(pki.path("mo/test-signers/expired.pem").is_file());
}

#[test]
fn only_signers_under_the_issuing_ca_can_be_revoked() {
    let (_dir, pki) = fresh();
    for kind in [SignerKind::UntrustedRoot, SignerKind::Impostor, SignerKind::CaAsLeaf] {
        assert!(pki.revoke_signer(kind).is_err(), "{kind:?}");
    }
    assert!(!pki.is_revoked(SignerKind::Revoked).unwrap());
    pki.revoke_signer(SignerKind::Revoked).unwrap();
    assert!(pki.is_revoked(SignerKind::Revoked).unwrap());
    assert!(!pki.is_revoked(SignerKind::Default).unwrap());
}

#[test]
fn signer_kind_names_round_trip() {
    for k in SignerKind::ALL {
        assert_eq!(SignerKind::parse(k.name()), Some(*k));
    }
    assert_eq!(SignerKind::parse("nope"), None);
}
