//! Raw `r‖s` ↔ DER `SEQUENCE { r, s }`.

use proptest::prelude::*;

use super::super::openssl_sm2::sign;
use super::super::{SM2_DEFAULT_ID, ecdsa_der_to_raw, ecdsa_raw_to_der};
use super::sm2_key;

fn scalar(prefix: &[u8], fill: u8) -> Vec<u8> {
    let mut v = prefix.to_vec();
    v.resize(32, fill);
    v
}

#[test]
fn small_scalars_encode_minimally() {
    let mut raw = vec![0u8; 64];
    raw[31] = 1;
    raw[63] = 2;
    let der = ecdsa_raw_to_der(&raw).unwrap();
    assert_eq!(der, [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]);
    assert_eq!(ecdsa_der_to_raw(&der, 32).unwrap(), raw);
}

#[test]
fn leading_zero_scalars_round_trip() {
    // r with two leading zero bytes, s with the high bit set (DER adds a 0x00).
    let r = scalar(&[0x00, 0x00, 0x7f], 0x11);
    let s = scalar(&[0x80], 0x22);
    let raw = [r.clone(), s.clone()].concat();
    let der = ecdsa_raw_to_der(&raw).unwrap();
    // r: 30 bytes, s: 33 bytes (0x00 pad).
    assert_eq!(der[..4], [0x30, 2 + 30 + 2 + 33, 0x02, 30]);
    assert_eq!(der[4 + 30..4 + 30 + 3], [0x02, 33, 0x00]);
    assert_eq!(ecdsa_der_to_raw(&der, 32).unwrap(), raw);
}

#[test]
fn real_sm2_signatures_round_trip() {
    let key = sm2_key();
    for i in 0..32u8 {
        let der = sign(&key, SM2_DEFAULT_ID, &[i]).unwrap();
        let raw = ecdsa_der_to_raw(&der, 32).unwrap();
        assert_eq!(raw.len(), 64);
        assert_eq!(ecdsa_raw_to_der(&raw).unwrap(), der);
    }
}

#[test]
fn p521_width_round_trips() {
    let raw = [scalar(&[0x01], 0xff), vec![0xaa; 34]].concat(); // 66 + 66 after padding below
    let mut r = vec![0u8; 66];
    r[34..].copy_from_slice(&raw[..32]);
    let mut s = vec![0u8; 66];
    s[..34].copy_from_slice(&raw[32..]);
    let raw = [r, s].concat();
    let der = ecdsa_raw_to_der(&raw).unwrap();
    assert_eq!(ecdsa_der_to_raw(&der, 66).unwrap(), raw);
}

#[test]
fn malformed_raw_values_are_rejected() {
    assert!(ecdsa_raw_to_der(&[]).is_err());
    assert!(ecdsa_raw_to_der(&[1; 63]).is_err());
    assert!(ecdsa_raw_to_der(&[1; 134]).is_err());
    assert!(ecdsa_raw_to_der(&[[0u8; 32], [1u8; 32]].concat()).is_err());
    assert!(ecdsa_raw_to_der(&[[1u8; 32], [0u8; 32]].concat()).is_err());
}

#[test]
fn malformed_der_values_are_rejected() {
    let der = ecdsa_raw_to_der(&[[0x11u8; 32], [0x22u8; 32]].concat()).unwrap();
    // Trailing bytes.
    assert!(ecdsa_der_to_raw(&[der.clone(), vec![0]].concat(), 32).is_err());
    // Truncated.
    assert!(ecdsa_der_to_raw(&der[..der.len() - 1], 32).is_err());
    // Scalars wider than the requested width.
    assert!(ecdsa_der_to_raw(&der, 31).is_err());
    // Non-minimal integer (an extra leading zero).
    assert!(ecdsa_der_to_raw(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01], 32).is_err());
    // Negative and zero scalars.
    assert!(ecdsa_der_to_raw(&[0x30, 0x06, 0x02, 0x01, 0xff, 0x02, 0x01, 0x01], 32).is_err());
    assert!(ecdsa_der_to_raw(&[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01], 32).is_err());
    // Not a sequence, unsupported widths.
    assert!(ecdsa_der_to_raw(&[0x02, 0x01, 0x01], 32).is_err());
    assert!(ecdsa_der_to_raw(&der, 0).is_err());
    assert!(ecdsa_der_to_raw(&der, 67).is_err());
}

proptest! {
    #[test]
    fn any_nonzero_raw_pair_round_trips(
        r in proptest::collection::vec(any::<u8>(), 32),
        s in proptest::collection::vec(any::<u8>(), 32),
        r_zeros in 0usize..32,
        s_zeros in 0usize..32,
    ) {
        let mut r = r;
        let mut s = s;
        r[..r_zeros].fill(0);
        s[..s_zeros].fill(0);
        r[31] |= 1;
        s[31] |= 1;
        let raw = [r, s].concat();
        let der = ecdsa_raw_to_der(&raw).unwrap();
        prop_assert_eq!(ecdsa_der_to_raw(&der, 32).unwrap(), raw);
    }
}
