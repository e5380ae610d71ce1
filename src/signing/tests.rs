use super::SM2_DEFAULT_ID;
use super::openssl_sm2::{generate_key, sign, sm3, verify};

#[test]
fn sm3_abc_matches_the_standard_vector() {
    assert_eq!(hex::encode(sm3(b"abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

#[test]
fn sign_verify_round_trip_under_the_default_id() {
    let key = generate_key().unwrap();
    let sig = sign(&key, SM2_DEFAULT_ID, b"record").unwrap();
    assert!(verify(&key, SM2_DEFAULT_ID, b"record", &sig).unwrap());
    assert!(!verify(&key, b"", b"record", &sig).unwrap());
    assert!(!verify(&key, SM2_DEFAULT_ID, b"recorD", &sig).unwrap());
}
