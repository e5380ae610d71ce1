//! Signing keys and SM2/SM3. The only module that holds the bridge's
//! private signing key; `openssl_sm2` is the crate's one `unsafe` module.

mod ecdsa_encoding;
pub mod openssl_sm2;
mod sm2_signer;
#[cfg(test)]
mod tests;

pub use ecdsa_encoding::{ecdsa_der_to_raw, ecdsa_raw_to_der};
pub use sm2_signer::OpensslSm2Signer;

/// GM/T 0009 default distinguishing ID.
pub const SM2_DEFAULT_ID: &[u8] = b"1234567812345678";
/// SM2-with-SM3 signature algorithm OID.
pub const SM2_WITH_SM3_OID: &str = "1.2.156.10197.1.501";

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("signing key: {0}")]
    Key(String),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A licence signer: SM2 with SM3 under the default ID, DER `SEQUENCE{r,s}`.
pub trait Signer: Send + Sync {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SigningError>;
    /// DER of the signer certificate.
    fn certificate_der(&self) -> &[u8];
    /// Uncompressed public point `04‖x‖y` (65 bytes).
    fn public_key_uncompressed(&self) -> &[u8];
}
