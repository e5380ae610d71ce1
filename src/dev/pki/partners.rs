//! Partner client certificates: P-256 (rustls cannot do SM2), clientAuth,
//! the URI SAN that names the partner, issued by the partner CA of the
//! CN-GD list. Bad variants exist for the handshake tests.

use super::certs::{self, CertTemplate, IssuerRef, KeyKind, San, Usage};
use super::generate::{CA_DAYS, CN_ORG, LEAF_DAYS};
use super::signers::Revocation;
use super::{Pki, PkiError, files, layout};
use crate::model::{PARTNER_URI_PREFIX, PartnerId, TrustDomainId};
use std::path::PathBuf;
use time::Duration;

/// Which client certificate to issue for a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientCertKind {
    /// `partners/<id>/client.pem`: valid, under the partner CA.
    #[default]
    Valid,
    /// `client-expired.pem`: under the partner CA, notAfter a day before `now`.
    Expired,
    /// `client-untrusted.pem`: under a CA that no list carries.
    UntrustedCa,
}

/// The files of a partner's client certificate.
#[derive(Debug, Clone)]
pub struct PartnerFiles {
    /// PEM: the client certificate.
    pub cert: PathBuf,
    /// PKCS#8 PEM key.
    pub key: PathBuf,
    /// Upper-case hex serial.
    pub serial_hex: String,
}

impl Pki {
    /// Issues `partners/<id>/client.pem` + `client.key`.
    pub fn issue_partner(&self, id: &PartnerId) -> Result<PartnerFiles, PkiError> {
        self.issue_partner_cert(id, ClientCertKind::Valid)
    }

    /// Issues a client certificate of the given kind for `id`.
    pub fn issue_partner_cert(&self, id: &PartnerId, kind: ClientCertKind) -> Result<PartnerFiles, PkiError> {
        let now = self.now;
        let base = CertTemplate::new(id.as_str(), CN_ORG, "CN", Usage::TlsClient)
            .san(San::Uri(format!("{PARTNER_URI_PREFIX}{id}")));
        let (template, stem) = match kind {
            ClientCertKind::Valid => (base.valid_around(now, LEAF_DAYS), "client"),
            ClientCertKind::Expired => {
                (base.valid_between(now - Duration::days(LEAF_DAYS + 1), now - Duration::days(1)), "client-expired")
            }
            ClientCertKind::UntrustedCa => (base.valid_around(now, LEAF_DAYS), "client-untrusted"),
        };
        let (ca, ca_key) = match kind {
            ClientCertKind::UntrustedCa => {
                let key = certs::generate_key(KeyKind::P256)?;
                let t = CertTemplate::new("Untrusted Partner CA", CN_ORG, "CN", Usage::Ca).valid_around(now, CA_DAYS);
                (certs::issue(&t, &key, None)?, key)
            }
            _ => (
                files::read_cert(&self.path(layout::CN_PARTNER_CA))?,
                files::read_key(&self.path(layout::CN_PARTNER_CA_KEY))?,
            ),
        };
        let key = certs::generate_key(KeyKind::P256)?;
        let cert = certs::issue(&template, &key, Some(IssuerRef { cert: &ca, key: &ca_key }))?;
        let dir = self.path(layout::partner_dir(id));
        let out = PartnerFiles {
            cert: dir.join(format!("{stem}.pem")),
            key: dir.join(format!("{stem}.key")),
            serial_hex: certs::serial_hex(&cert)?,
        };
        files::write_key(&out.key, &key)?;
        files::write_cert(&out.cert, &cert)?;
        Ok(out)
    }

    /// Revokes a partner's `client.pem` on the partner CA's CRL and
    /// republishes the CN-GD list (sequence + 1).
    pub fn revoke_partner(&self, id: &PartnerId) -> Result<Revocation, PkiError> {
        let cert = files::read_cert(&self.path(layout::partner_client_cert(id)))?;
        self.revoke_serial(TrustDomainId::CnGd, &cert.serial_number().to_bn()?.to_vec())
    }
}
