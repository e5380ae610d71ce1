//! Writing a fresh PKI directory (DESIGN §10 layout).

use super::certs::{self, CertTemplate, IssuerRef, KeyKind, San, Usage};
use super::crl::{self, CrlContent};
use super::trust_list::TrustListSpec;
use super::{Pki, PkiError, PkiOptions, config, files, layout};
use crate::model::TrustDomainId;
use std::path::Path;
use time::{Duration, OffsetDateTime};

/// CAs are valid ten years, leaves one or two.
pub(super) const CA_DAYS: i64 = 3650;
pub(super) const LEAF_DAYS: i64 = 365;
pub(super) const LONG_LEAF_DAYS: i64 = 730;
/// A CRL is good for a week.
pub(super) const CRL_DAYS: i64 = 7;

pub(super) const MO_ORG: &str = "Direcção dos Serviços de Identificação (TEST)";
pub(super) const CN_ORG: &str = "Hengqin Bridge Test PKI";
pub(super) const MO_ROOT_CN: &str = "Macao eID Test Root CA G1";
pub(super) const MO_ISSUING_CA_CN: &str = "DSI eID Issuing CA G1 (TEST)";
pub(super) const MO_SIGNER_CN: &str = "DSI eID Assertion Signer (TEST)";

/// Generates a complete test PKI in `dir` (created if missing; existing
/// files are overwritten).
pub fn generate(dir: &Path, opts: &PkiOptions) -> Result<Pki, PkiError> {
    let dir = std::path::absolute(dir).map_err(files::io_err(dir))?;
    let pki = Pki::new(dir, opts.now, config::GATEWAY_ID.to_owned());
    remove_stale(&pki)?;
    mo(&pki)?;
    cn_gd(&pki)?;
    server(&pki)?;
    for p in &opts.partners {
        pki.issue_partner(p)?;
    }
    let mut seed = [0u8; 32];
    openssl::rand::rand_bytes(&mut seed)?;
    files::write(&pki.path(layout::PSEUDONYM_KEY), format!("{}\n", hex::encode(seed)).as_bytes(), true)?;

    let abs = |p: &Path| std::path::absolute(p).map_err(files::io_err(p));
    let cfg = config::initial(
        &abs(&opts.policies_dir)?,
        &abs(&opts.mappings_dir)?,
        pki.list_signer_pin(TrustDomainId::Mo)?,
        pki.list_signer_pin(TrustDomainId::CnGd)?,
    );
    files::write(&pki.config_path(), config::render(&cfg).as_bytes(), false)?;

    for domain in [TrustDomainId::Mo, TrustDomainId::CnGd] {
        pki.write_trust_list(domain, &TrustListSpec::new(1, pki.now))?;
    }
    Ok(pki)
}

/// What an earlier PKI in the same directory may have left that would
/// chain to its CAs, not the new ones: test signers, next list signers,
/// partner certificates.
fn remove_stale(pki: &Pki) -> Result<(), PkiError> {
    let dirs = [layout::MO_TEST_SIGNERS, layout::PARTNERS];
    for rel in dirs {
        let path = pki.path(rel);
        if path.is_dir() {
            std::fs::remove_dir_all(&path).map_err(files::io_err(&path))?;
        }
    }
    for domain in [TrustDomainId::Mo, TrustDomainId::CnGd] {
        let f = layout::domain_files(domain);
        for rel in [f.next_list_signer, f.next_list_signer_key] {
            let path = pki.path(rel);
            if path.is_file() {
                std::fs::remove_file(&path).map_err(files::io_err(&path))?;
            }
        }
    }
    Ok(())
}

fn mo(pki: &Pki) -> Result<(), PkiError> {
    let now = pki.now;
    let root_key = certs::generate_key(KeyKind::P256)?;
    let root = certs::issue(
        &CertTemplate::new(MO_ROOT_CN, MO_ORG, "MO", Usage::Ca).valid_around(now, CA_DAYS),
        &root_key,
        None,
    )?;
    let ca_key = certs::generate_key(KeyKind::P256)?;
    let ca = certs::issue(
        &CertTemplate::new(MO_ISSUING_CA_CN, MO_ORG, "MO", Usage::Ca).valid_around(now, CA_DAYS),
        &ca_key,
        Some(IssuerRef { cert: &root, key: &root_key }),
    )?;
    let signer_key = certs::generate_key(KeyKind::P256)?;
    let signer = certs::issue(
        &CertTemplate::new(MO_SIGNER_CN, MO_ORG, "MO", Usage::DocumentSigner).valid_around(now, LEAF_DAYS),
        &signer_key,
        Some(IssuerRef { cert: &ca, key: &ca_key }),
    )?;
    files::write_cert(&pki.path(layout::MO_ROOT), &root)?;
    files::write_key(&pki.path(layout::MO_ROOT_KEY), &root_key)?;
    files::write_cert(&pki.path(layout::MO_ISSUING_CA), &ca)?;
    files::write_key(&pki.path(layout::MO_ISSUING_CA_KEY), &ca_key)?;
    files::write_cert(&pki.path(layout::MO_ASSERTION_SIGNER), &signer)?;
    files::write_key(&pki.path(layout::MO_ASSERTION_SIGNER_KEY), &signer_key)?;
    empty_crl(pki, &ca, &ca_key, layout::MO_ISSUING_CA_CRL)?;
    list_signer(pki, TrustDomainId::Mo, false)?;
    Ok(())
}

fn cn_gd(pki: &Pki) -> Result<(), PkiError> {
    let now = pki.now;
    let bridge_ca_key = certs::generate_key(KeyKind::Sm2)?;
    let bridge_ca = certs::issue(
        &CertTemplate::new("Hengqin Bridge SM2 CA (TEST)", CN_ORG, "CN", Usage::Ca).valid_around(now, CA_DAYS),
        &bridge_ca_key,
        None,
    )?;
    let signer_key = certs::generate_key(KeyKind::Sm2)?;
    let signer = certs::issue(
        &CertTemplate::new("Hengqin Bridge Licence Signer (TEST)", CN_ORG, "CN", Usage::DocumentSigner)
            .valid_around(now, LONG_LEAF_DAYS),
        &signer_key,
        Some(IssuerRef { cert: &bridge_ca, key: &bridge_ca_key }),
    )?;
    let partner_ca_key = certs::generate_key(KeyKind::P256)?;
    let partner_ca = certs::issue(
        &CertTemplate::new("GBA Partner Client CA (TEST)", CN_ORG, "CN", Usage::Ca).valid_around(now, CA_DAYS),
        &partner_ca_key,
        None,
    )?;
    files::write_cert(&pki.path(layout::CN_BRIDGE_CA), &bridge_ca)?;
    files::write_key(&pki.path(layout::CN_BRIDGE_CA_KEY), &bridge_ca_key)?;
    files::write_cert(&pki.path(layout::CN_BRIDGE_SIGNER), &signer)?;
    files::write_key(&pki.path(layout::CN_BRIDGE_SIGNER_KEY), &signer_key)?;
    files::write_cert(&pki.path(layout::CN_PARTNER_CA), &partner_ca)?;
    files::write_key(&pki.path(layout::CN_PARTNER_CA_KEY), &partner_ca_key)?;
    empty_crl(pki, &partner_ca, &partner_ca_key, layout::CN_PARTNER_CA_CRL)?;
    list_signer(pki, TrustDomainId::CnGd, false)?;
    Ok(())
}

fn server(pki: &Pki) -> Result<(), PkiError> {
    let now = pki.now;
    let ca_key = certs::generate_key(KeyKind::P256)?;
    let ca = certs::issue(
        &CertTemplate::new("Hengqin Bridge TLS Dev CA", CN_ORG, "CN", Usage::Ca).valid_around(now, CA_DAYS),
        &ca_key,
        None,
    )?;
    let key = certs::generate_key(KeyKind::P256)?;
    let cert = certs::issue(
        &CertTemplate::new("localhost", CN_ORG, "CN", Usage::TlsServer)
            .valid_around(now, LONG_LEAF_DAYS)
            .san(San::Dns("localhost".to_owned()))
            .san(San::Ip("127.0.0.1".to_owned())),
        &key,
        Some(IssuerRef { cert: &ca, key: &ca_key }),
    )?;
    files::write_cert(&pki.path(layout::SERVER_CA), &ca)?;
    files::write_cert(&pki.path(layout::SERVER_CERT), &cert)?;
    files::write_key(&pki.path(layout::SERVER_KEY), &key)?;
    Ok(())
}

fn empty_crl(
    pki: &Pki,
    ca: &openssl::x509::X509Ref,
    key: &openssl::pkey::PKeyRef<openssl::pkey::Private>,
    rel: &str,
) -> Result<(), PkiError> {
    let der = crl::build(
        ca,
        key,
        &CrlContent { revoked: &[], this_update: pki.now, next_update: pki.now + Duration::days(CRL_DAYS), number: 1 },
    )?;
    files::write(&pki.path(rel), &der, false)
}

/// The certificate template and key type of a domain's list signer:
/// self-signed, P-256 for MO, SM2 for CN-GD.
pub(super) fn list_signer_template(domain: TrustDomainId, next: bool, now: OffsetDateTime) -> (CertTemplate, KeyKind) {
    let suffix = if next { " (next)" } else { "" };
    let (kind, cn, org, country) = match domain {
        TrustDomainId::Mo => (KeyKind::P256, format!("Macao Trust List Signer (TEST){suffix}"), MO_ORG, "MO"),
        TrustDomainId::CnGd => (KeyKind::Sm2, format!("Guangdong Trust List Signer (TEST){suffix}"), CN_ORG, "CN"),
    };
    (CertTemplate::new(&cn, org, country, Usage::DocumentSigner).valid_around(now, LONG_LEAF_DAYS), kind)
}

/// Makes a domain's list signer (`next`: the one that will take over) and
/// returns its pin.
pub(super) fn list_signer(pki: &Pki, domain: TrustDomainId, next: bool) -> Result<String, PkiError> {
    let f = layout::domain_files(domain);
    let (template, kind) = list_signer_template(domain, next, pki.now);
    let key = certs::generate_key(kind)?;
    let cert = certs::issue(&template, &key, None)?;
    let (cert_rel, key_rel) =
        if next { (f.next_list_signer, f.next_list_signer_key) } else { (f.list_signer, f.list_signer_key) };
    files::write_cert(&pki.path(cert_rel), &cert)?;
    files::write_key(&pki.path(key_rel), &key)?;
    certs::pin_of(&cert)
}
