use super::{fresh, openssl_cli, read_cert, verify_chain};
use crate::config::dto::ConfigFile;
use crate::dev::pki::{GATEWAY_ID, Pki, layout};
use crate::model::{PARTNER_URI_PREFIX, PartnerId, TrustDomainId, Uscc};
use openssl::pkey::PKey;
use openssl::x509::X509PurposeId;

fn expected_files(pki: &Pki) -> Vec<std::path::PathBuf> {
    let mut rels: Vec<std::path::PathBuf> = [
        layout::CONFIG,
        layout::MO_ROOT,
        layout::MO_ISSUING_CA,
        layout::MO_ASSERTION_SIGNER,
        layout::MO_ASSERTION_SIGNER_KEY,
        layout::MO_TRUST_LIST,
        layout::MO_LIST_SIGNER,
        layout::MO_LIST_SIGNER_KEY,
        layout::CN_BRIDGE_CA,
        layout::CN_BRIDGE_SIGNER,
        layout::CN_BRIDGE_SIGNER_KEY,
        layout::CN_PARTNER_CA,
        layout::CN_TRUST_LIST,
        layout::CN_LIST_SIGNER,
        layout::CN_LIST_SIGNER_KEY,
        layout::SERVER_CERT,
        layout::SERVER_KEY,
        layout::SERVER_CA,
        layout::PSEUDONYM_KEY,
        // Kept for issuing and revoking later.
        layout::MO_ROOT_KEY,
        layout::MO_ISSUING_CA_KEY,
        layout::MO_ISSUING_CA_CRL,
        layout::CN_BRIDGE_CA_KEY,
        layout::CN_PARTNER_CA_KEY,
        layout::CN_PARTNER_CA_CRL,
    ]
    .iter()
    .map(Into::into)
    .collect();
    for p in ["hq-clinic-0001", "hq-ss-window", "gz-insurer-0001"] {
        let id = PartnerId::parse(p).unwrap();
        rels.push(layout::partner_client_cert(&id));
        rels.push(layout::partner_client_key(&id));
    }
    rels.into_iter().map(|r| pki.path(r)).collect()
}

#[test]
fn generated_layout_is_complete_and_keys_are_pkcs8_pem() {
    let (_dir, pki) = fresh();
    for path in expected_files(&pki) {
        assert!(path.is_file(), "{} missing", path.display());
    }
    let mut keys = 0;
    for entry in walk(pki.dir()) {
        if entry.extension().is_some_and(|e| e == "key") && !entry.ends_with(layout::PSEUDONYM_KEY) {
            let pem = std::fs::read_to_string(&entry).unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{} is not PKCS#8 PEM", entry.display());
            PKey::private_key_from_pem(pem.as_bytes()).unwrap();
            keys += 1;
        }
    }
    assert!(keys >= 12, "{keys} keys");
    let seed = std::fs::read_to_string(pki.path(layout::PSEUDONYM_KEY)).unwrap();
    let seed = seed.trim_end();
    assert_eq!(seed.len(), 64);
    assert_eq!(hex::decode(seed).unwrap().len(), 32);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn bridge_toml_deserializes_into_config_file() {
    let (_dir, pki) = fresh();
    let text = std::fs::read_to_string(pki.config_path()).unwrap();
    let cfg: ConfigFile = toml::from_str(&text).unwrap();
    assert_eq!(cfg.gateway.id.get_ref(), GATEWAY_ID);
    assert_eq!(pki.gateway_id(), GATEWAY_ID);
    assert_eq!(cfg.issuer.area_code.get_ref(), "440400");
    for code in [cfg.issuer.uscc.get_ref(), cfg.issuer.defining_body_uscc.get_ref()] {
        assert!(Uscc::parse(code).is_ok(), "{code} is check-valid");
        assert_eq!(&code[8..10], "MA", "{code} is an obvious test code");
    }
    assert!(std::path::Path::new(&cfg.paths.policies).is_absolute());
    assert!(cfg.paths.mappings.ends_with("mappings"));
    assert!(pki.path(&cfg.signer.certificate).is_file());
    assert!(pki.path(&cfg.signer.key).is_file());
    assert!(pki.path(&cfg.pseudonym.key).is_file());
    assert_eq!(cfg.trust.keys().map(String::as_str).collect::<Vec<_>>(), ["CN-GD", "MO"]);
    let mo = &cfg.trust["MO"];
    assert_eq!(mo.source.get_ref(), "file:mo/trust-list.jws");
    assert!(mo.require_revocation);
    assert_eq!(*mo.signer_pins.get_ref(), [pki.list_signer_pin(TrustDomainId::Mo).unwrap()]);
    let cn = &cfg.trust["CN-GD"];
    assert_eq!(cn.source.get_ref(), "file:cn-gd/trust-list.jws");
    assert!(!cn.require_revocation);
    assert_eq!(*cn.signer_pins.get_ref(), [pki.list_signer_pin(TrustDomainId::CnGd).unwrap()]);
    assert_eq!(cn.signer_pins.get_ref()[0].len(), 64);
}

#[test]
fn set_signer_pins_keeps_the_config_loadable() {
    let (_dir, pki) = fresh();
    let next = pki.add_next_list_signer(TrustDomainId::Mo).unwrap();
    let current = pki.list_signer_pin(TrustDomainId::Mo).unwrap();
    assert_ne!(next, current);
    pki.set_signer_pins(TrustDomainId::Mo, &[current.clone(), next.clone()]).unwrap();
    let cfg: ConfigFile = toml::from_str(&std::fs::read_to_string(pki.config_path()).unwrap()).unwrap();
    assert_eq!(*cfg.trust["MO"].signer_pins.get_ref(), [current, next]);
    assert_eq!(cfg.issuer.name, crate::dev::pki::TEST_ISSUER_NAME);
}

#[test]
fn open_reads_back_a_generated_pki() {
    let (dir, pki) = fresh();
    let opened = Pki::open(dir.path()).unwrap();
    assert_eq!(opened.gateway_id(), pki.gateway_id());
    assert_eq!(opened.dir(), pki.dir());
    assert_eq!(opened.published_sequence(TrustDomainId::Mo).unwrap(), 1);
    assert_eq!(opened.published_sequence(TrustDomainId::CnGd).unwrap(), 1);
    assert!(Pki::open(tempfile::tempdir().unwrap().path()).is_err());
}

#[test]
fn openssl_cli_verifies_the_assertion_signer_chain() {
    let (_dir, pki) = fresh();
    let (ok, out) = openssl_cli(
        pki.dir(),
        &["verify", "-CAfile", "mo/root.pem", "-untrusted", "mo/issuing-ca.pem", "mo/assertion-signer.pem"],
    );
    assert!(ok && out.contains("mo/assertion-signer.pem: OK"), "{out}");
}

#[test]
fn openssl_cli_verifies_the_sm2_bridge_signer_under_the_default_id() {
    let (_dir, pki) = fresh();
    let args =
        ["verify", "-vfyopt", "distid:1234567812345678", "-CAfile", "cn-gd/bridge-ca.pem", "cn-gd/bridge-signer.pem"];
    let (ok, out) = openssl_cli(pki.dir(), &args);
    assert!(ok && out.contains("cn-gd/bridge-signer.pem: OK"), "{out}");
    // The ID is really in the signature: OpenSSL's default (empty) ID fails.
    let (ok, out) = openssl_cli(pki.dir(), &["verify", "-CAfile", "cn-gd/bridge-ca.pem", "cn-gd/bridge-signer.pem"]);
    assert!(!ok, "{out}");
    let (ok, out) = openssl_cli(pki.dir(), &["x509", "-in", "cn-gd/bridge-signer.pem", "-noout", "-text"]);
    assert!(ok && out.contains("SM2-with-SM3"), "{out}");
}

#[test]
fn partner_certificates_name_the_partner_for_client_auth() {
    let (_dir, pki) = fresh();
    let ca = read_cert(&pki, layout::CN_PARTNER_CA);
    for p in ["hq-clinic-0001", "hq-ss-window", "gz-insurer-0001"] {
        let id = PartnerId::parse(p).unwrap();
        let cert = read_cert(&pki, layout::partner_client_cert(&id));
        let uris: Vec<String> =
            cert.subject_alt_names().unwrap().iter().filter_map(|n| n.uri().map(str::to_owned)).collect();
        assert_eq!(uris, [format!("{PARTNER_URI_PREFIX}{p}")]);
        verify_chain(&[&ca], std::slice::from_ref(&cert), Some(X509PurposeId::SSL_CLIENT)).unwrap();
        assert!(verify_chain(&[&ca], std::slice::from_ref(&cert), Some(X509PurposeId::SSL_SERVER)).is_err());
        let key =
            PKey::private_key_from_pem(&std::fs::read(pki.path(layout::partner_client_key(&id))).unwrap()).unwrap();
        assert!(cert.public_key().unwrap().public_eq(&key));
        assert_eq!(key.id(), openssl::pkey::Id::EC);
    }
}

#[test]
fn server_certificate_serves_localhost() {
    let (_dir, pki) = fresh();
    let (ok, out) = openssl_cli(
        pki.dir(),
        &[
            "verify",
            "-CAfile",
            "server/ca.pem",
            "-purpose",
            "sslserver",
            "-verify_hostname",
            "localhost",
            "server/server.pem",
        ],
    );
    assert!(ok && out.contains("OK"), "{out}");
    let (ok, out) =
        openssl_cli(pki.dir(), &["verify", "-CAfile", "server/ca.pem", "-verify_ip", "127.0.0.1", "server/server.pem"]);
    assert!(ok && out.contains("OK"), "{out}");
}

#[test]
fn every_partner_of_the_shipped_policies_gets_a_certificate() {
    let policies = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let set = crate::policy::load_dir(&policies).unwrap_or_else(|e| panic!("{e:?}"));
    let mut in_policies: Vec<&str> = set.partners().map(|p| p.id.as_str()).collect();
    let mut shipped = crate::dev::pki::SHIPPED_PARTNERS.to_vec();
    in_policies.sort_unstable();
    shipped.sort_unstable();
    assert_eq!(shipped, in_policies);
}

#[test]
fn extra_partner_certificates() {
    use crate::dev::pki::ClientCertKind;
    let (_dir, pki) = fresh();
    let ca = read_cert(&pki, layout::CN_PARTNER_CA);
    let id = PartnerId::parse("zh-bank-0001").unwrap();
    let valid = pki.issue_partner(&id).unwrap();
    let expired = pki.issue_partner_cert(&id, ClientCertKind::Expired).unwrap();
    let untrusted = pki.issue_partner_cert(&id, ClientCertKind::UntrustedCa).unwrap();
    let load = |p: &std::path::Path| openssl::x509::X509::from_pem(&std::fs::read(p).unwrap()).unwrap();
    verify_chain(&[&ca], &[load(&valid.cert)], Some(X509PurposeId::SSL_CLIENT)).unwrap();
    assert_eq!(
        verify_chain(&[&ca], &[load(&expired.cert)], None).unwrap_err().as_raw(),
        openssl_sys::X509_V_ERR_CERT_HAS_EXPIRED
    );
    assert!(verify_chain(&[&ca], &[load(&untrusted.cert)], None).is_err());
}

#[test]
fn regenerating_a_directory_drops_what_chained_to_the_old_cas() {
    let (dir, pki) = fresh();
    pki.signer(crate::dev::pki::SignerKind::Expired).unwrap();
    pki.add_next_list_signer(TrustDomainId::Mo).unwrap();
    let mut opts = crate::dev::pki::PkiOptions::new(time::OffsetDateTime::now_utc());
    opts.partners.truncate(1);
    let again = crate::dev::pki::generate(dir.path(), &opts).unwrap();
    assert!(!again.path("mo/test-signers").exists());
    assert!(!again.path("mo/list-signer-next.pem").exists());
    assert!(!again.path(layout::partner_dir(&PartnerId::parse("gz-insurer-0001").unwrap())).exists());
    let anchor = read_cert(&again, layout::MO_ISSUING_CA);
    verify_chain(&[&anchor], &again.signer(crate::dev::pki::SignerKind::Default).unwrap().chain, None).unwrap();
    verify_chain(&[&anchor], &again.signer(crate::dev::pki::SignerKind::Revoked).unwrap().chain, None).unwrap();
}
