//! Who is at the other end of a connection.
//!
//! The TLS handshake has already proved that the client holds the key of a
//! certificate chaining to a `partner-client-ca` anchor (not expired, not
//! revoked). What remains is reading which partner the certificate names:
//! the URI SAN `urn:hengqin-bridge:partner:<id>`. That is done once per
//! connection, right after the handshake; tonic hands the result to every
//! request of the connection as a request extension.

use crate::model::{PARTNER_URI_PREFIX, PartnerId};
use std::net::SocketAddr;
use x509_parser::extensions::GeneralName;

/// The authenticated client of a connection (tonic `ConnectInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerPeer {
    pub remote: SocketAddr,
    /// The partner the certificate names. `None` when it names none, names
    /// several, or names one with a malformed id: such a client is
    /// authenticated but is nobody the bridge serves (`UNKNOWN_PARTNER`).
    pub named: Option<PartnerId>,
    /// SHA-256 of the leaf's SubjectPublicKeyInfo DER, for the policies'
    /// optional `spki_sha256` pins.
    pub spki_sha256: [u8; 32],
}

impl PartnerPeer {
    /// Reads the partner name and key digest from the leaf certificate.
    /// Fails only when the certificate does not parse, which cannot happen
    /// after a successful handshake.
    pub fn from_leaf(remote: SocketAddr, leaf_der: &[u8]) -> Result<PartnerPeer, PeerError> {
        let (_, cert) = x509_parser::parse_x509_certificate(leaf_der).map_err(|_| PeerError::Unparsable)?;
        let spki_sha256 = openssl::sha::sha256(cert.tbs_certificate.subject_pki.raw);
        let mut named: Vec<&str> = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                if let GeneralName::URI(uri) = name
                    && let Some(id) = uri.strip_prefix(PARTNER_URI_PREFIX)
                    && !named.contains(&id)
                {
                    named.push(id);
                }
            }
        }
        let named = match named.as_slice() {
            [one] => PartnerId::parse(one).ok(),
            _ => None,
        };
        Ok(PartnerPeer { remote, named, spki_sha256 })
    }
}

/// Why a peer could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    #[error("the client presented no certificate")]
    NoCertificate,
    #[error("the client certificate does not parse")]
    Unparsable,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair, SanType};

    fn leaf(uris: &[&str]) -> Vec<u8> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = uris.iter().map(|u| SanType::URI((*u).try_into().unwrap())).collect();
        params.subject_alt_names.push(SanType::DnsName("example.test".try_into().unwrap()));
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn named(uris: &[&str]) -> Option<String> {
        let addr = "127.0.0.1:1".parse().unwrap();
        PartnerPeer::from_leaf(addr, &leaf(uris)).unwrap().named.map(|p| p.to_string())
    }

    #[test]
    fn reads_the_partner_uri() {
        assert_eq!(named(&["urn:hengqin-bridge:partner:hq-clinic-0001"]).as_deref(), Some("hq-clinic-0001"));
        // Repeated, identical: still one partner.
        let same = "urn:hengqin-bridge:partner:gz-insurer-0001";
        assert_eq!(named(&[same, same]).as_deref(), Some("gz-insurer-0001"));
        // Other URIs are ignored.
        assert_eq!(named(&["https://example.test/", same]).as_deref(), Some("gz-insurer-0001"));
    }

    #[test]
    fn names_nobody_when_absent_ambiguous_or_malformed() {
        assert_eq!(named(&[]), None);
        assert_eq!(named(&["urn:hengqin-bridge:partner:a", "urn:hengqin-bridge:partner:b"]), None);
        assert_eq!(named(&["urn:hengqin-bridge:partner:HQ_CLINIC"]), None);
        assert_eq!(named(&["urn:hengqin-bridge:partner:"]), None);
        assert_eq!(named(&["urn:other:partner:hq-clinic-0001"]), None);
    }

    #[test]
    fn garbage_is_an_error() {
        let addr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(PartnerPeer::from_leaf(addr, b"not a certificate"), Err(PeerError::Unparsable));
    }

    #[test]
    fn spki_digest_is_of_the_key() {
        let addr = "127.0.0.1:1".parse().unwrap();
        let der = leaf(&[]);
        let peer = PartnerPeer::from_leaf(addr, &der).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        assert_eq!(peer.spki_sha256, openssl::sha::sha256(cert.tbs_certificate.subject_pki.raw));
    }
}
