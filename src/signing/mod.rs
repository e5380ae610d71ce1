//! Signing keys and SM2/SM3. The only module that holds the bridge's
//! private signing key; `openssl_sm2` is the crate's one `unsafe` module.
//! Two backends sign licences behind [`Signer`], from the same key files:
//! OpenSSL (the default) and the RustCrypto `sm2` crate (faster, unaudited;
//! README "SM2 signing backend").

mod ecdsa_encoding;
pub mod openssl_sm2;
pub mod rustcrypto_sm2;
mod sm2_signer;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use ecdsa_encoding::{ecdsa_der_to_raw, ecdsa_raw_to_der};
pub use rustcrypto_sm2::RustCryptoSm2Signer;
pub use sm2_signer::OpensslSm2Signer;

/// GM/T 0009 default distinguishing ID, as text (the `sm2` crate's form).
pub const SM2_DEFAULT_ID_TEXT: &str = "1234567812345678";
/// GM/T 0009 default distinguishing ID.
pub const SM2_DEFAULT_ID: &[u8] = SM2_DEFAULT_ID_TEXT.as_bytes();
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

/// Which implementation signs licences (`[signer] backend` in the config).
/// Both read the same key and certificate files, and each verifies the
/// other's signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignerBackend {
    /// OpenSSL 3.0: the reference implementation, and the default.
    #[default]
    OpenSsl,
    /// The RustCrypto `sm2` crate: several times faster, not audited.
    RustCrypto,
}

impl SignerBackend {
    /// Every backend, in the order the config documents them.
    pub const ALL: [SignerBackend; 2] = [SignerBackend::OpenSsl, SignerBackend::RustCrypto];

    /// The backend a config value names.
    pub fn parse(name: &str) -> Option<SignerBackend> {
        Self::ALL.into_iter().find(|b| b.as_str() == name)
    }

    /// The config value naming this backend.
    pub fn as_str(self) -> &'static str {
        match self {
            SignerBackend::OpenSsl => "openssl",
            SignerBackend::RustCrypto => "rustcrypto",
        }
    }

    /// A signer on this backend from a PEM certificate and its PEM key.
    pub fn signer_from_pem(self, cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<dyn Signer>, SigningError> {
        Ok(match self {
            SignerBackend::OpenSsl => Arc::new(OpensslSm2Signer::from_pem(cert_pem, key_pem)?),
            SignerBackend::RustCrypto => Arc::new(RustCryptoSm2Signer::from_pem(cert_pem, key_pem)?),
        })
    }
}
