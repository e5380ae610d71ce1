//! CRLs of the ECDSA CAs (the DSI issuing CA, the partner CA), built with
//! rcgen and read back with OpenSSL. The revoked set lives in the CRL file
//! itself: revoking reads it, adds a serial and reissues.

use super::{PkiError, certs};
use openssl::pkey::{PKeyRef, Private};
use openssl::x509::{X509Crl, X509Ref};
use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, RevocationReason, RevokedCertParams, SerialNumber,
};
use time::OffsetDateTime;

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RevokedEntry {
    /// Big-endian magnitude of the serial number.
    pub serial: Vec<u8>,
    pub revoked_at: OffsetDateTime,
}

/// What a CRL says and when.
#[derive(Debug, Clone)]
pub(crate) struct CrlContent<'a> {
    pub revoked: &'a [RevokedEntry],
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub number: u64,
}

/// A DER CRL for `issuer`, signed with `signing_key` (normally the
/// issuer's key; another key makes a CRL whose signature does not verify).
pub(crate) fn build(
    issuer: &X509Ref,
    signing_key: &PKeyRef<Private>,
    content: &CrlContent<'_>,
) -> Result<Vec<u8>, PkiError> {
    // The CRL's authority key identifier must be the CA's subject key
    // identifier, or OpenSSL will not match the CRL to the CA's certificates.
    let ski = issuer
        .subject_key_id()
        .ok_or_else(|| PkiError::Invalid("a crl issuer needs a subject key identifier".to_owned()))?
        .as_slice()
        .to_vec();
    let key = KeyPair::try_from(signing_key.private_key_to_pkcs8()?.as_slice())?;
    let issuer_der = issuer.to_der()?;
    let issuer = Issuer::from_ca_cert_der(&issuer_der.as_slice().into(), key)?;
    let params = CertificateRevocationListParams {
        this_update: content.this_update,
        next_update: content.next_update,
        crl_number: SerialNumber::from(content.number),
        issuing_distribution_point: None,
        revoked_certs: content
            .revoked
            .iter()
            .map(|r| RevokedCertParams {
                serial_number: SerialNumber::from_slice(&r.serial),
                revocation_time: r.revoked_at,
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::PreSpecified(ski),
    };
    Ok(params.signed_by(&issuer)?.der().to_vec())
}

/// The revoked entries of a DER CRL.
pub(crate) fn revoked_entries(der: &[u8]) -> Result<Vec<RevokedEntry>, PkiError> {
    let crl = X509Crl::from_der(der)?;
    let mut out = Vec::new();
    for r in crl.get_revoked().into_iter().flatten() {
        out.push(RevokedEntry {
            serial: r.serial_number().to_bn()?.to_vec(),
            revoked_at: certs::asn1_to_offset(r.revocation_date())?,
        });
    }
    Ok(out)
}
