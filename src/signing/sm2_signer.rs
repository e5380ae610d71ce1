//! The bridge's licence signer on OpenSSL: one SM2 key and the certificate
//! that names it, checked to belong together when the signer is built, so a
//! record can never carry a certificate its signature does not match.
//! The key's type is checked there too, once: not again per signature.

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::openssl_sm2::{self, Sm2PrivateKey};
use super::{SM2_DEFAULT_ID, Signer, SigningError};

pub struct OpensslSm2Signer {
    key: Sm2PrivateKey,
    certificate_der: Vec<u8>,
    public_point: Vec<u8>,
}

impl OpensslSm2Signer {
    /// Builds a signer from a certificate and its private key. The key must
    /// be SM2 (an EC key on the SM2 curve is converted) and must match the
    /// certificate's public key.
    pub fn new(cert: X509, key: PKey<Private>) -> Result<Self, SigningError> {
        let key = Sm2PrivateKey::new(key)?;
        let cert_key = openssl_sm2::public_key_of(&cert)?;
        if !cert_key.as_pkey().public_eq(key.as_pkey()) {
            return Err(SigningError::Key("private key does not match the certificate's public key".into()));
        }
        let public_point = cert_key.point().to_vec();
        let certificate_der =
            cert.to_der().map_err(|e| SigningError::Key(format!("encoding the signer certificate: {e}")))?;
        Ok(Self { key, certificate_der, public_point })
    }

    /// Builds a signer from a PEM certificate and a PEM private key.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, SigningError> {
        let cert = X509::from_pem(cert_pem)
            .map_err(|e| SigningError::Key(format!("reading the signer certificate PEM: {e}")))?;
        let key = openssl_sm2::private_key_from_pem(key_pem)?;
        Self::new(cert, key)
    }
}

impl std::fmt::Debug for OpensslSm2Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpensslSm2Signer")
            .field("public_point", &hex::encode(&self.public_point))
            .finish_non_exhaustive()
    }
}

impl Signer for OpensslSm2Signer {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SigningError> {
        self.key.sign(SM2_DEFAULT_ID, msg)
    }

    fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    fn public_key_uncompressed(&self) -> &[u8] {
        &self.public_point
    }
}
