//! ECDSA-style signature values in both encodings: JOSE (`ES256`, and this
//! profile's `SM2SM3` trust-list signature) carries raw fixed-width `r‖s`,
//! X.509, OpenSSL and the licence records carry DER `SEQUENCE { r, s }`.
//! SM2 values have the same shape, so one pair of conversions serves both.

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;

use super::SigningError;

/// Largest scalar accepted (P-521: 66 bytes).
const MAX_SCALAR_LEN: usize = 66;

fn err(msg: impl Into<String>) -> SigningError {
    SigningError::Sign(msg.into())
}

/// Raw `r‖s` (two equal-width big-endian halves) → DER `SEQUENCE { r, s }`.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, SigningError> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) || raw.len() > 2 * MAX_SCALAR_LEN {
        return Err(err(format!("raw signature of {} bytes is not two equal scalars", raw.len())));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    if r.iter().all(|&b| b == 0) || s.iter().all(|&b| b == 0) {
        return Err(err("raw signature has a zero scalar"));
    }
    let encode = || {
        let sig = EcdsaSig::from_private_components(BigNum::from_slice(r)?, BigNum::from_slice(s)?)?;
        sig.to_der()
    };
    encode().map_err(|e| err(format!("encoding the signature as DER: {e}")))
}

/// DER `SEQUENCE { r, s }` → raw `r‖s`, each scalar left-padded to
/// `scalar_len` bytes. Rejects anything that is not exactly the DER encoding
/// (trailing bytes, non-minimal integers) and scalars wider than
/// `scalar_len`.
pub fn ecdsa_der_to_raw(der: &[u8], scalar_len: usize) -> Result<Vec<u8>, SigningError> {
    if scalar_len == 0 || scalar_len > MAX_SCALAR_LEN {
        return Err(err(format!("unsupported scalar length {scalar_len}")));
    }
    let sig = EcdsaSig::from_der(der).map_err(|e| err(format!("decoding a DER signature: {e}")))?;
    let canonical = sig.to_der().map_err(|e| err(format!("re-encoding a DER signature: {e}")))?;
    if canonical != der {
        return Err(err("signature is not in canonical DER"));
    }
    let (r, s) = (sig.r(), sig.s());
    if r.is_negative() || s.is_negative() || r.num_bits() == 0 || s.num_bits() == 0 {
        return Err(err("signature has a zero or negative scalar"));
    }
    let width = scalar_len as i32;
    if r.num_bytes() > width || s.num_bytes() > width {
        return Err(err(format!("signature scalar wider than {scalar_len} bytes")));
    }
    let mut raw = r.to_vec_padded(width).map_err(|e| err(format!("padding r: {e}")))?;
    raw.extend(s.to_vec_padded(width).map_err(|e| err(format!("padding s: {e}")))?);
    Ok(raw)
}
