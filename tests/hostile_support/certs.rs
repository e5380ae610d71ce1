//! Signing certificates the test PKI does not make on its own: a leaf
//! with any validity window, key usage, CA flag, key type and issuer
//! (a CA of the PKI, or itself), for the chain classes of the corpus.

use hengqin_bridge::dev::pki::{Pki, layout};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509, X509Builder, X509Name};
use serde::Deserialize;
use time::OffsetDateTime;

/// A leaf certificate to issue for one case (`cert = { … }`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertSpec {
    /// `issuing-ca` (the DSI issuing CA, the MO anchor), `root` (the MO
    /// root, which no list names), `partner-ca` (the CN-GD partner CA), or
    /// `self`.
    pub issuer: String,
    /// `p256` (default), `p384`, `rsa2048`, `ed25519`.
    #[serde(default)]
    pub key: Option<String>,
    /// Seconds from now; default one day ago.
    #[serde(default)]
    pub not_before: Option<i64>,
    /// Seconds from now; default thirty days ahead.
    #[serde(default)]
    pub not_after: Option<i64>,
    /// Key usage bits by their RFC 5280 names; default
    /// `["digitalSignature"]`; empty means no extension at all.
    #[serde(default)]
    pub key_usage: Option<Vec<String>>,
    /// `basicConstraints` CA:TRUE.
    #[serde(default)]
    pub ca: bool,
    /// The subject is copied from this PEM certificate of the PKI (a name
    /// collision); default `CN=Hostile Signer, O=Nobody, C=MO`.
    #[serde(default)]
    pub subject_of: Option<String>,
}

const DAY: i64 = 86_400;

pub fn generate_key(kind: &str) -> PKey<Private> {
    match kind {
        "p256" => {
            PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap())
                .unwrap()
        }
        "p384" => {
            PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::SECP384R1).unwrap()).unwrap()).unwrap()
        }
        "rsa2048" => PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
        "ed25519" => PKey::generate_ed25519().unwrap(),
        other => panic!("unknown key kind {other:?}"),
    }
}

fn read_cert(pki: &Pki, rel: &str) -> X509 {
    X509::from_pem(&std::fs::read(pki.path(rel)).unwrap()).unwrap()
}

fn read_key(pki: &Pki, rel: &str) -> PKey<Private> {
    PKey::private_key_from_pem(&std::fs::read(pki.path(rel)).unwrap()).unwrap()
}

/// Issues the certificate; returns its key and the `x5c` chain (leaf,
/// then the issuer when there is one).
pub fn issue(pki: &Pki, spec: &CertSpec) -> (PKey<Private>, Vec<X509>) {
    let key = generate_key(spec.key.as_deref().unwrap_or("p256"));
    let issuer = match spec.issuer.as_str() {
        "self" => None,
        "issuing-ca" => Some((read_cert(pki, layout::MO_ISSUING_CA), read_key(pki, layout::MO_ISSUING_CA_KEY))),
        "root" => Some((read_cert(pki, layout::MO_ROOT), read_key(pki, layout::MO_ROOT_KEY))),
        "partner-ca" => Some((read_cert(pki, layout::CN_PARTNER_CA), read_key(pki, layout::CN_PARTNER_CA_KEY))),
        other => panic!("unknown issuer {other:?}"),
    };
    let subject = match &spec.subject_of {
        Some(rel) => read_cert(pki, rel).subject_name().to_owned().unwrap(),
        None => {
            let mut n = X509Name::builder().unwrap();
            n.append_entry_by_nid(Nid::COUNTRYNAME, "MO").unwrap();
            n.append_entry_by_nid(Nid::ORGANIZATIONNAME, "Nobody").unwrap();
            n.append_entry_by_nid(Nid::COMMONNAME, "Hostile Signer").unwrap();
            n.build()
        }
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(127, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(serial.to_asn1_integer().unwrap().as_ref()).unwrap();
    b.set_subject_name(&subject).unwrap();
    b.set_issuer_name(issuer.as_ref().map_or(subject.as_ref(), |(c, _)| c.subject_name())).unwrap();
    b.set_pubkey(&key).unwrap();
    let at = |offset: i64| Asn1Time::from_unix(now + offset).unwrap();
    b.set_not_before(&at(spec.not_before.unwrap_or(-DAY))).unwrap();
    b.set_not_after(&at(spec.not_after.unwrap_or(30 * DAY))).unwrap();

    let mut bc = BasicConstraints::new();
    bc.critical();
    if spec.ca {
        bc.ca();
    }
    b.append_extension(bc.build().unwrap()).unwrap();
    let usage = spec.key_usage.clone().unwrap_or_else(|| vec!["digitalSignature".to_owned()]);
    if !usage.is_empty() {
        let mut ku = KeyUsage::new();
        ku.critical();
        for bit in &usage {
            match bit.as_str() {
                "digitalSignature" => ku.digital_signature(),
                "nonRepudiation" => ku.non_repudiation(),
                "keyEncipherment" => ku.key_encipherment(),
                "keyAgreement" => ku.key_agreement(),
                "keyCertSign" => ku.key_cert_sign(),
                "cRLSign" => ku.crl_sign(),
                other => panic!("unknown key usage {other:?}"),
            };
        }
        b.append_extension(ku.build().unwrap()).unwrap();
    }
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None)).unwrap();
    b.append_extension(ski).unwrap();
    if let Some((ca, _)) = &issuer {
        let aki = AuthorityKeyIdentifier::new().keyid(true).build(&b.x509v3_context(Some(ca), None)).unwrap();
        b.append_extension(aki).unwrap();
    }
    let (signing_key, digest) = match &issuer {
        Some((_, k)) => (k, MessageDigest::sha256()),
        None => {
            (&key, if key.id() == openssl::pkey::Id::ED25519 { MessageDigest::null() } else { MessageDigest::sha256() })
        }
    };
    b.sign(signing_key, digest).unwrap();
    let leaf = b.build();
    let mut chain = vec![leaf];
    chain.extend(issuer.map(|(c, _)| c));
    (key, chain)
}
