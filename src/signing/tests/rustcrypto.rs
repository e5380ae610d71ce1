//! `RustCryptoSm2Signer` (the `sm2` crate) against OpenSSL, both ways, on
//! every test run: its signatures must verify with OpenSSL under the
//! default ID (and only under it), OpenSSL's must verify with it, and it
//! must accept and refuse the same key files as the OpenSSL signer.

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::super::openssl_sm2::{self, public_key_of, verify};
use super::super::rustcrypto_sm2;
use super::super::{OpensslSm2Signer, RustCryptoSm2Signer, SM2_DEFAULT_ID, SM2_DEFAULT_ID_TEXT, Signer, SignerBackend};
use super::{cert_builder, self_signed_pem, sm2_key};

/// Message lengths around SM3's 64-byte blocks (Z_A takes the first 32
/// bytes of the first block), the empty message, and random ones.
fn messages() -> Vec<Vec<u8>> {
    let mut lengths = vec![0, 1, 31, 32, 33, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 2_300, 9_000];
    let mut random = [0u8; 2 * 48];
    openssl::rand::rand_bytes(&mut random).unwrap();
    lengths.extend(random.chunks(2).map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])) % 4_096));
    lengths
        .into_iter()
        .map(|len| {
            let mut msg = vec![0u8; len];
            if len > 0 {
                openssl::rand::rand_bytes(&mut msg).unwrap();
            }
            msg
        })
        .collect()
}

struct Keys {
    key: PKey<Private>,
    cert: X509,
    fast: RustCryptoSm2Signer,
    reference: OpensslSm2Signer,
}

fn keys() -> Keys {
    let key = sm2_key();
    let cert_pem = self_signed_pem(&key);
    let key_pem = key.private_key_to_pem_pkcs8().unwrap();
    Keys {
        cert: X509::from_pem(&cert_pem).unwrap(),
        fast: RustCryptoSm2Signer::from_pem(&cert_pem, &key_pem).unwrap(),
        reference: OpensslSm2Signer::from_pem(&cert_pem, &key_pem).unwrap(),
        key,
    }
}

#[test]
fn openssl_verifies_every_rustcrypto_signature_under_the_default_id_only() {
    let k = keys();
    let public = public_key_of(&k.cert).unwrap();
    for msg in messages() {
        let sig = k.fast.sign(&msg).unwrap();
        assert!(verify(public.as_pkey(), SM2_DEFAULT_ID, &msg, &sig).unwrap(), "length {}", msg.len());
        assert!(
            !verify(public.as_pkey(), b"", &msg, &sig).unwrap(),
            "length {}: verified under the empty ID",
            msg.len()
        );
        let mut other = msg.clone();
        other.push(0);
        assert!(!verify(public.as_pkey(), SM2_DEFAULT_ID, &other, &sig).unwrap(), "length {}", msg.len());
    }
}

#[test]
fn rustcrypto_nonces_are_hedged_and_keys_sign_alike_across_many_keys() {
    // Hedged RFC 6979: the same message signed twice gives two signatures,
    // both valid. Across fresh keys (each with its own precomputed
    // (1 + d)⁻¹ and Z_A), every signature verifies with OpenSSL.
    let k = keys();
    let public = public_key_of(&k.cert).unwrap();
    let (a, b) = (k.fast.sign(b"record").unwrap(), k.fast.sign(b"record").unwrap());
    assert_ne!(a, b, "two signatures of one message are equal: the nonce is not hedged");
    for sig in [a, b] {
        assert!(verify(public.as_pkey(), SM2_DEFAULT_ID, b"record", &sig).unwrap());
    }
    for _ in 0..16 {
        let k = keys();
        let sig = k.fast.sign(b"record").unwrap();
        assert!(verify(public_key_of(&k.cert).unwrap().as_pkey(), SM2_DEFAULT_ID, b"record", &sig).unwrap());
    }
}

#[test]
fn rustcrypto_verifies_every_openssl_signature_under_the_default_id_only() {
    let k = keys();
    let point = k.fast.public_key_uncompressed();
    for msg in messages() {
        let sig = k.reference.sign(&msg).unwrap();
        assert!(rustcrypto_sm2::verify(point, SM2_DEFAULT_ID_TEXT, &msg, &sig).unwrap(), "length {}", msg.len());
        assert!(!rustcrypto_sm2::verify(point, "", &msg, &sig).unwrap(), "length {}", msg.len());
        // The other way round inside one library too: a borrowed-key signature.
        let sig = openssl_sm2::sign(&k.key, SM2_DEFAULT_ID, &msg).unwrap();
        assert!(rustcrypto_sm2::verify(point, SM2_DEFAULT_ID_TEXT, &msg, &sig).unwrap(), "length {}", msg.len());
    }
}

#[test]
fn signatures_are_minimal_der_and_not_repeated() {
    let k = keys();
    let a = k.fast.sign(b"record").unwrap();
    let b = k.fast.sign(b"record").unwrap();
    assert_ne!(a, b, "hedged nonces: two signatures of one message differ");
    for sig in [a, b] {
        let parsed = openssl::ecdsa::EcdsaSig::from_der(&sig).unwrap();
        assert_eq!(parsed.to_der().unwrap(), sig, "DER SEQUENCE {{r, s}} as OpenSSL writes it");
    }
}

#[test]
fn malformed_signatures_are_false_not_errors() {
    let k = keys();
    let point = k.fast.public_key_uncompressed();
    let mut sig = k.fast.sign(b"record").unwrap();
    assert!(!rustcrypto_sm2::verify(point, SM2_DEFAULT_ID_TEXT, b"record", &[]).unwrap());
    assert!(!rustcrypto_sm2::verify(point, SM2_DEFAULT_ID_TEXT, b"record", &[0x30, 0x00]).unwrap());
    sig.push(0);
    assert!(!rustcrypto_sm2::verify(point, SM2_DEFAULT_ID_TEXT, b"record", &sig).unwrap());
    assert!(rustcrypto_sm2::verify(&point[..64], SM2_DEFAULT_ID_TEXT, b"record", &sig).is_err());
}

#[test]
fn both_backends_expose_the_same_certificate_and_point() {
    let k = keys();
    assert_eq!(k.fast.certificate_der(), k.reference.certificate_der());
    assert_eq!(k.fast.certificate_der(), k.cert.to_der().unwrap());
    assert_eq!(k.fast.public_key_uncompressed(), k.reference.public_key_uncompressed());
}

#[test]
fn rustcrypto_signer_refuses_what_the_openssl_signer_refuses() {
    let cert_pem = self_signed_pem(&sm2_key());
    let other = sm2_key().private_key_to_pem_pkcs8().unwrap();
    let err = RustCryptoSm2Signer::from_pem(&cert_pem, &other).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");

    let p256 = PKey::ec_gen("prime256v1").unwrap();
    let p256_pem = p256.private_key_to_pem_pkcs8().unwrap();
    let err = RustCryptoSm2Signer::from_pem(&cert_pem, &p256_pem).unwrap_err();
    assert!(err.to_string().contains("not an SM2 key"), "{err}");
    let mut builder = cert_builder("P-256", 10, &p256, None, false);
    builder.sign(&p256, openssl::hash::MessageDigest::sha256()).unwrap();
    let err = RustCryptoSm2Signer::from_pem(&builder.build().to_pem().unwrap(), &p256_pem).unwrap_err();
    assert!(err.to_string().contains("not an SM2 key"), "{err}");

    let encrypted =
        sm2_key().private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"secret").unwrap();
    assert!(RustCryptoSm2Signer::from_pem(&cert_pem, &encrypted).is_err());
}

#[test]
fn rustcrypto_signer_takes_an_ec_key_on_the_sm2_curve_as_sm2() {
    let ec = PKey::ec_gen("SM2").unwrap();
    let sm2 = openssl_sm2::private_key_from_pem(&ec.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let cert = X509::from_pem(&self_signed_pem(&sm2)).unwrap();
    let signer = RustCryptoSm2Signer::new(&cert, ec).unwrap();
    let sig = signer.sign(b"m").unwrap();
    assert!(verify(public_key_of(&cert).unwrap().as_pkey(), SM2_DEFAULT_ID, b"m", &sig).unwrap());
}

#[test]
fn rustcrypto_signer_debug_does_not_print_the_key() {
    let k = keys();
    let shown = format!("{:?} {:#?}", k.fast, k.fast);
    assert!(shown.contains("public_point"));
    let der = k.key.private_key_to_pkcs8().unwrap();
    let at = der.windows(5).position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20]).unwrap() + 5;
    assert!(!shown.contains(&hex::encode(&der[at..at + 32])), "{shown}");
}

#[test]
fn backend_names_round_trip_and_openssl_is_the_default() {
    assert_eq!(SignerBackend::default(), SignerBackend::OpenSsl);
    for backend in SignerBackend::ALL {
        assert_eq!(SignerBackend::parse(backend.as_str()), Some(backend));
    }
    assert_eq!(SignerBackend::parse("OpenSSL"), None);
    assert_eq!(SignerBackend::parse("efficient-sm2"), None);

    let key = sm2_key();
    let cert_pem = self_signed_pem(&key);
    let key_pem = key.private_key_to_pem_pkcs8().unwrap();
    let public = public_key_of(&X509::from_pem(&cert_pem).unwrap()).unwrap();
    for backend in SignerBackend::ALL {
        let signer = backend.signer_from_pem(&cert_pem, &key_pem).unwrap();
        let sig = signer.sign(b"licence").unwrap();
        assert!(verify(public.as_pkey(), SM2_DEFAULT_ID, b"licence", &sig).unwrap(), "{backend:?}");
    }
}
