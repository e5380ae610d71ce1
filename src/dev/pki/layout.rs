//! Where everything lives inside a PKI directory (DESIGN §10), relative to
//! the directory. Files beyond the design's list are the CA keys and CRLs
//! the generator needs to issue and revoke later, and the test signers made
//! on demand under `mo/test-signers/`.

use crate::model::{PartnerId, TrustDomainId};
use std::path::PathBuf;

pub const CONFIG: &str = "bridge.toml";

pub const MO_ROOT: &str = "mo/root.pem";
pub const MO_ROOT_KEY: &str = "mo/root.key";
pub const MO_ISSUING_CA: &str = "mo/issuing-ca.pem";
pub const MO_ISSUING_CA_KEY: &str = "mo/issuing-ca.key";
/// DER CRL of the DSI issuing CA, as carried in the MO list.
pub const MO_ISSUING_CA_CRL: &str = "mo/issuing-ca.crl";
pub const MO_ASSERTION_SIGNER: &str = "mo/assertion-signer.pem";
pub const MO_ASSERTION_SIGNER_KEY: &str = "mo/assertion-signer.key";
pub const MO_TRUST_LIST: &str = "mo/trust-list.jws";
pub const MO_LIST_SIGNER: &str = "mo/list-signer.pem";
pub const MO_LIST_SIGNER_KEY: &str = "mo/list-signer.key";
pub const MO_TEST_SIGNERS: &str = "mo/test-signers";

pub const CN_BRIDGE_CA: &str = "cn-gd/bridge-ca.pem";
pub const CN_BRIDGE_CA_KEY: &str = "cn-gd/bridge-ca.key";
pub const CN_BRIDGE_SIGNER: &str = "cn-gd/bridge-signer.pem";
pub const CN_BRIDGE_SIGNER_KEY: &str = "cn-gd/bridge-signer.key";
pub const CN_PARTNER_CA: &str = "cn-gd/partner-ca.pem";
pub const CN_PARTNER_CA_KEY: &str = "cn-gd/partner-ca.key";
/// DER CRL of the partner client-certificate CA, as carried in the CN-GD list.
pub const CN_PARTNER_CA_CRL: &str = "cn-gd/partner-ca.crl";
pub const CN_TRUST_LIST: &str = "cn-gd/trust-list.jws";
pub const CN_LIST_SIGNER: &str = "cn-gd/list-signer.pem";
pub const CN_LIST_SIGNER_KEY: &str = "cn-gd/list-signer.key";

pub const SERVER_CERT: &str = "server/server.pem";
pub const SERVER_KEY: &str = "server/server.key";
pub const SERVER_CA: &str = "server/ca.pem";

pub const PSEUDONYM_KEY: &str = "keys/pseudonym.key";

/// One directory per partner below this.
pub const PARTNERS: &str = "partners";

/// The directory of a partner's client certificate and key.
pub fn partner_dir(id: &PartnerId) -> PathBuf {
    PathBuf::from(PARTNERS).join(id.as_str())
}

pub fn partner_client_cert(id: &PartnerId) -> PathBuf {
    partner_dir(id).join("client.pem")
}

pub fn partner_client_key(id: &PartnerId) -> PathBuf {
    partner_dir(id).join("client.key")
}

/// The files that make up one trust domain's list and its signers.
#[derive(Debug, Clone, Copy)]
pub struct DomainFiles {
    pub list: &'static str,
    pub list_signer: &'static str,
    pub list_signer_key: &'static str,
    pub next_list_signer: &'static str,
    pub next_list_signer_key: &'static str,
    /// The CA whose CRL the list carries, its key, and the CRL.
    pub crl_issuer: &'static str,
    pub crl_issuer_key: &'static str,
    pub crl: &'static str,
}

pub fn domain_files(domain: TrustDomainId) -> DomainFiles {
    match domain {
        TrustDomainId::Mo => DomainFiles {
            list: MO_TRUST_LIST,
            list_signer: MO_LIST_SIGNER,
            list_signer_key: MO_LIST_SIGNER_KEY,
            next_list_signer: "mo/list-signer-next.pem",
            next_list_signer_key: "mo/list-signer-next.key",
            crl_issuer: MO_ISSUING_CA,
            crl_issuer_key: MO_ISSUING_CA_KEY,
            crl: MO_ISSUING_CA_CRL,
        },
        TrustDomainId::CnGd => DomainFiles {
            list: CN_TRUST_LIST,
            list_signer: CN_LIST_SIGNER,
            list_signer_key: CN_LIST_SIGNER_KEY,
            next_list_signer: "cn-gd/list-signer-next.pem",
            next_list_signer_key: "cn-gd/list-signer-next.key",
            crl_issuer: CN_PARTNER_CA,
            crl_issuer_key: CN_PARTNER_CA_KEY,
            crl: CN_PARTNER_CA_CRL,
        },
    }
}
