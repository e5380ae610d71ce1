//! Test certificates and compact-JWS builders.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};
use serde_json::{Value, json};
use std::sync::OnceLock;

/// Self-signed certificates, DER, one per key kind the tests need.
pub struct Certs {
    pub p256: Vec<u8>,
    pub p384: Vec<u8>,
    pub rsa2048: Vec<u8>,
    pub rsa1024: Vec<u8>,
}

pub fn certs() -> &'static Certs {
    static CERTS: OnceLock<Certs> = OnceLock::new();
    CERTS.get_or_init(|| Certs {
        p256: self_signed(&ec_key(Nid::X9_62_PRIME256V1)),
        p384: self_signed(&ec_key(Nid::SECP384R1)),
        rsa2048: self_signed(&rsa_key(2048)),
        rsa1024: self_signed(&rsa_key(1024)),
    })
}

fn ec_key(curve: Nid) -> PKey<Private> {
    let group = EcGroup::from_curve_name(curve).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn rsa_key(bits: u32) -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap()
}

fn self_signed(key: &PKey<Private>) -> Vec<u8> {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "intake test signer").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(1_700_000_000).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::from_unix(1_900_000_000).unwrap()).unwrap();
    b.sign(key, MessageDigest::sha256()).unwrap();
    b.build().to_der().unwrap()
}

pub fn std_b64(der: &[u8]) -> String {
    STANDARD.encode(der)
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A header of the profile for `alg` with `x5c = [leaf]`.
pub fn header(alg: &str, leaf: &[u8]) -> Value {
    json!({ "alg": alg, "typ": "mo-eid+jwt", "x5c": [std_b64(leaf)] })
}

/// The default ES256 header: P-256 leaf.
pub fn es256_header() -> Value {
    header("ES256", &certs().p256)
}

/// `b64url(header) . b64url(payload) . b64url(signature)` from raw bytes.
pub fn compact_raw(header: &[u8], payload: &[u8], signature: &[u8]) -> String {
    format!("{}.{}.{}", b64url(header), b64url(payload), b64url(signature))
}

/// A compact JWS with a JSON header, a JSON payload and a signature of
/// `sig_len` bytes.
pub fn compact(header: &Value, payload: &str, sig_len: usize) -> String {
    compact_raw(header.to_string().as_bytes(), payload.as_bytes(), &vec![0x5a; sig_len])
}

/// A well-formed ES256 assertion (framing and header only).
pub fn es256() -> String {
    compact(&es256_header(), "{}", 64)
}
