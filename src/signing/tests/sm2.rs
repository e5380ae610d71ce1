//! SM3, SM2 message signatures and key types, in-process.

use openssl::pkey::PKey;

use super::super::SM2_DEFAULT_ID;
use super::super::openssl_sm2::{generate_key, private_key_from_pem, sign, sm3, verify};
use super::sm2_key;

#[test]
fn sm3_abc_matches_the_standard_vector() {
    assert_eq!(hex::encode(sm3(b"abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

#[test]
fn sign_verify_round_trip_under_the_default_id() {
    let key = sm2_key();
    let sig = sign(&key, SM2_DEFAULT_ID, b"record").unwrap();
    assert!(verify(&key, SM2_DEFAULT_ID, b"record", &sig).unwrap());
}

#[test]
fn verification_with_another_id_fails() {
    let key = sm2_key();
    let sig = sign(&key, SM2_DEFAULT_ID, b"record").unwrap();
    assert!(!verify(&key, b"", b"record", &sig).unwrap());
    assert!(!verify(&key, b"1234567812345679", b"record", &sig).unwrap());
    let sig_empty_id = sign(&key, b"", b"record").unwrap();
    assert!(verify(&key, b"", b"record", &sig_empty_id).unwrap());
    assert!(!verify(&key, SM2_DEFAULT_ID, b"record", &sig_empty_id).unwrap());
}

#[test]
fn verification_of_another_message_or_key_fails() {
    let key = sm2_key();
    let sig = sign(&key, SM2_DEFAULT_ID, b"record").unwrap();
    assert!(!verify(&key, SM2_DEFAULT_ID, b"recorD", &sig).unwrap());
    assert!(!verify(&sm2_key(), SM2_DEFAULT_ID, b"record", &sig).unwrap());
}

#[test]
fn malformed_signatures_are_false_not_errors() {
    let key = sm2_key();
    let mut sig = sign(&key, SM2_DEFAULT_ID, b"record").unwrap();
    assert!(!verify(&key, SM2_DEFAULT_ID, b"record", &[]).unwrap());
    assert!(!verify(&key, SM2_DEFAULT_ID, b"record", &[0x30, 0x00]).unwrap());
    sig.push(0);
    assert!(!verify(&key, SM2_DEFAULT_ID, b"record", &sig).unwrap());
}

#[test]
fn signatures_are_der_sequences_of_two_integers() {
    let sig = sign(&sm2_key(), SM2_DEFAULT_ID, b"record").unwrap();
    let parsed = openssl::ecdsa::EcdsaSig::from_der(&sig).unwrap();
    assert_eq!(parsed.to_der().unwrap(), sig);
    assert!(parsed.r().num_bytes() <= 32 && parsed.s().num_bytes() <= 32);
}

#[test]
fn generated_keys_are_sm2_not_ec() {
    let key = generate_key().unwrap();
    assert!(!key.is_a(openssl::pkey::KeyType::EC), "an SM2 key, not an EC key that signs ECDSA");
}

#[test]
fn an_ec_key_on_the_sm2_curve_is_refused_where_it_is_only_borrowed() {
    // `PKey::ec_gen("SM2")` makes an EC key: it would sign ECDSA-with-SM3.
    let ec = PKey::ec_gen("SM2").unwrap();
    let err = sign(&ec, SM2_DEFAULT_ID, b"record").unwrap_err();
    assert!(err.to_string().contains("not an SM2 key"), "{err}");
    let err = verify(&ec, SM2_DEFAULT_ID, b"record", &[]).unwrap_err();
    assert!(err.to_string().contains("not an SM2 key"), "{err}");
}

#[test]
fn non_sm2_keys_are_errors() {
    let p256 = PKey::ec_gen("prime256v1").unwrap();
    assert!(sign(&p256, SM2_DEFAULT_ID, b"m").is_err());
    assert!(verify(&p256, SM2_DEFAULT_ID, b"m", &[]).is_err());
    let pem = p256.private_key_to_pem_pkcs8().unwrap();
    let err = private_key_from_pem(&pem).unwrap_err();
    assert!(err.to_string().contains("not an SM2 key"), "{err}");
}

#[test]
fn a_pem_key_on_the_sm2_curve_loads_as_sm2() {
    // Whether written from an SM2 key or from an EC key on the SM2 curve, the
    // PKCS#8 bytes are the same and OpenSSL decodes an SM2 key.
    for key in [sm2_key(), PKey::ec_gen("SM2").unwrap()] {
        let pem = key.private_key_to_pem_pkcs8().unwrap();
        let loaded = private_key_from_pem(&pem).unwrap();
        assert!(!loaded.is_a(openssl::pkey::KeyType::EC));
        let sig = sign(&loaded, SM2_DEFAULT_ID, b"m").unwrap();
        assert!(verify(&loaded, SM2_DEFAULT_ID, b"m", &sig).unwrap());
    }
}

#[test]
fn encrypted_pem_keys_are_refused_without_a_prompt() {
    let pem = sm2_key().private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"secret").unwrap();
    assert!(private_key_from_pem(&pem).is_err());
}
