use super::{Jws, decode_jws, fresh, read_cert, x5c};
use crate::dev::pki::{CrlChoice, ListSigner, Pki, TrustListSpec, layout};
use crate::model::{PartnerId, TrustDomainId};
use crate::signing::{SM2_DEFAULT_ID, ecdsa_raw_to_der, openssl_sm2};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::{CrlStatus, X509Crl};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

fn list(pki: &Pki, domain: TrustDomainId) -> Jws {
    decode_jws(&std::fs::read_to_string(pki.path(layout::domain_files(domain).list)).unwrap())
}

fn es256_valid(jws: &Jws) -> bool {
    let key = x5c(&jws.header)[0].public_key().unwrap();
    assert_eq!(jws.signature.len(), 64, "raw r‖s");
    let der = ecdsa_raw_to_der(&jws.signature).unwrap();
    let mut v = Verifier::new(MessageDigest::sha256(), &key).unwrap();
    v.verify_oneshot(&der, &jws.signing_input).unwrap()
}

fn sm2sm3_valid(jws: &Jws) -> bool {
    let key = openssl_sm2::public_key_of(&x5c(&jws.header)[0]).unwrap();
    assert_eq!(jws.signature.len(), 64, "raw r‖s");
    let der = ecdsa_raw_to_der(&jws.signature).unwrap();
    openssl_sm2::verify(key.as_pkey(), SM2_DEFAULT_ID, &jws.signing_input, &der).unwrap()
}

fn pin_of_x5c(jws: &Jws) -> String {
    hex::encode(x5c(&jws.header)[0].digest(MessageDigest::sha256()).unwrap())
}

fn crls(jws: &Jws) -> Vec<X509Crl> {
    jws.payload["crls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| X509Crl::from_der(&STANDARD.decode(c.as_str().unwrap()).unwrap()).unwrap())
        .collect()
}

fn time_of(v: &Value) -> OffsetDateTime {
    let s = v.as_str().unwrap();
    assert!(s.ends_with('Z'), "{s} is UTC with Z");
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
}

#[test]
fn mo_list_is_es256_signed_by_the_pinned_signer() {
    let (_dir, pki) = fresh();
    let jws = list(&pki, TrustDomainId::Mo);
    assert_eq!(jws.header["alg"], "ES256");
    assert_eq!(jws.header["typ"], "trust-list+jwt");
    assert_eq!(jws.header["x5c"].as_array().unwrap().len(), 1);
    assert!(es256_valid(&jws));
    assert_eq!(pin_of_x5c(&jws), pki.list_signer_pin(TrustDomainId::Mo).unwrap());

    let p = &jws.payload;
    assert_eq!(p["domain"], "MO");
    assert_eq!(p["sequence"], 1);
    let issued = time_of(&p["issued_at"]);
    assert_eq!(issued, pki.now());
    assert_eq!(time_of(&p["next_update"]), issued + Duration::hours(1));
    assert_eq!(time_of(&p["expires"]), issued + Duration::days(7));
    let entries = p["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["id"], "dsi-eid-g1");
    assert_eq!(entries[0]["role"], "eid-assertion-issuer");
    assert_eq!(entries[0]["issuers"], serde_json::json!(["https://eid.dsi.gov.mo"]));
    let anchor = STANDARD.decode(entries[0]["certificate"].as_str().unwrap()).unwrap();
    assert_eq!(anchor, read_cert(&pki, layout::MO_ISSUING_CA).to_der().unwrap());
    assert!(time_of(&entries[0]["not_before"]) < pki.now());
    assert!(time_of(&entries[0]["not_after"]) > pki.now() + Duration::days(3000));

    let crls = crls(&jws);
    assert_eq!(crls.len(), 1);
    let crl = &crls[0];
    let ca_key = read_cert(&pki, layout::MO_ISSUING_CA).public_key().unwrap();
    assert!(crl.verify(&ca_key).unwrap());
    assert!(crl.get_revoked().is_none_or(|r| r.is_empty()));
    let next = openssl::asn1::Asn1Time::from_unix((pki.now() + Duration::days(7)).unix_timestamp()).unwrap();
    assert_eq!(crl.next_update().unwrap().compare(&next).unwrap(), std::cmp::Ordering::Equal);
    assert_eq!(crl.to_der().unwrap(), std::fs::read(pki.path(layout::MO_ISSUING_CA_CRL)).unwrap());

    std::fs::write(pki.path("crl.pem"), crl.to_pem().unwrap()).unwrap();
    let (ok, out) = super::openssl_cli(
        pki.dir(),
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            "crl.pem",
            "-partial_chain",
            "-CAfile",
            "mo/issuing-ca.pem",
            "mo/assertion-signer.pem",
        ],
    );
    assert!(ok && out.contains("OK"), "{out}");
}

#[test]
fn cn_gd_list_is_sm2sm3_signed_by_the_pinned_signer() {
    let (_dir, pki) = fresh();
    let jws = list(&pki, TrustDomainId::CnGd);
    assert_eq!(jws.header["alg"], "SM2SM3");
    assert_eq!(jws.header["typ"], "trust-list+jwt");
    assert!(sm2sm3_valid(&jws));
    assert_eq!(pin_of_x5c(&jws), pki.list_signer_pin(TrustDomainId::CnGd).unwrap());
    // Under OpenSSL's empty default ID the same signature fails.
    let key = openssl_sm2::public_key_of(&x5c(&jws.header)[0]).unwrap();
    let der = ecdsa_raw_to_der(&jws.signature).unwrap();
    assert!(!openssl_sm2::verify(key.as_pkey(), b"", &jws.signing_input, &der).unwrap());

    let p = &jws.payload;
    assert_eq!(p["domain"], "CN-GD");
    let entries: Vec<(&str, &str)> = p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["role"].as_str().unwrap()))
        .collect();
    assert_eq!(entries, [("cn-gd-partner-ca", "partner-client-ca"), ("cn-gd-bridge-ca", "bridge-signer-ca")]);
    let crls = crls(&jws);
    assert_eq!(crls.len(), 1);
    assert!(crls[0].verify(&read_cert(&pki, layout::CN_PARTNER_CA).public_key().unwrap()).unwrap());
}

#[test]
fn a_tampered_list_no_longer_verifies() {
    let (_dir, pki) = fresh();
    let mut jws = list(&pki, TrustDomainId::Mo);
    let last = jws.signing_input.len() - 1;
    jws.signing_input[last] ^= 0x01;
    assert!(!es256_valid(&jws));
}

#[test]
fn crl_variants_verify_as_intended() {
    let (_dir, pki) = fresh();
    let ca_key = read_cert(&pki, layout::MO_ISSUING_CA).public_key().unwrap();
    let crl = |choice| X509Crl::from_der(&pki.domain_crl(TrustDomainId::Mo, choice).unwrap().unwrap()).unwrap();
    assert!(crl(CrlChoice::Current).verify(&ca_key).unwrap());
    assert!(!crl(CrlChoice::WrongKey).verify(&ca_key).unwrap());
    let stale = crl(CrlChoice::PastNextUpdate);
    assert!(stale.verify(&ca_key).unwrap());
    let now = openssl::asn1::Asn1Time::from_unix(pki.now().unix_timestamp()).unwrap();
    assert_eq!(stale.next_update().unwrap().compare(&now).unwrap(), std::cmp::Ordering::Less);
    assert!(pki.domain_crl(TrustDomainId::Mo, CrlChoice::Omitted).unwrap().is_none());

    // OpenSSL's chain check agrees on each variant.
    for (choice, expected) in [
        (CrlChoice::Current, ": OK"),
        (CrlChoice::WrongKey, "CRL signature failure"),
        (CrlChoice::PastNextUpdate, "CRL has expired"),
    ] {
        std::fs::write(pki.path("crl.pem"), crl(choice).to_pem().unwrap()).unwrap();
        let (_, out) = super::openssl_cli(
            pki.dir(),
            &[
                "verify",
                "-crl_check",
                "-CRLfile",
                "crl.pem",
                "-partial_chain",
                "-CAfile",
                "mo/issuing-ca.pem",
                "mo/assertion-signer.pem",
            ],
        );
        assert!(out.contains(expected), "{choice:?}: {out}");
    }

    // Published in a list, the wrong-key CRL is the one the list carries.
    let mut spec = pki.next_list_spec(TrustDomainId::Mo).unwrap();
    spec.crl = CrlChoice::WrongKey;
    pki.write_trust_list(TrustDomainId::Mo, &spec).unwrap();
    let jws = list(&pki, TrustDomainId::Mo);
    assert!(es256_valid(&jws));
    assert_eq!(jws.payload["sequence"], 2);
    assert!(!crls(&jws)[0].verify(&ca_key).unwrap());
}

#[test]
fn list_specs_make_stale_rolled_back_and_crl_less_lists() {
    let (_dir, pki) = fresh();
    let now = pki.now();
    let mut spec = TrustListSpec::new(5, now);
    spec.crl = CrlChoice::Omitted;
    pki.write_trust_list(TrustDomainId::Mo, &spec).unwrap();
    let jws = list(&pki, TrustDomainId::Mo);
    assert_eq!(jws.payload["crls"], serde_json::json!([]));
    assert_eq!(pki.published_sequence(TrustDomainId::Mo).unwrap(), 5);

    let mut lower = TrustListSpec::new(4, now);
    lower.out = Some("mo/rolled-back.jws".into());
    let path = pki.write_trust_list(TrustDomainId::Mo, &lower).unwrap();
    assert_eq!(path, pki.path("mo/rolled-back.jws"));
    assert_eq!(decode_jws(&std::fs::read_to_string(&path).unwrap()).payload["sequence"], 4);
    assert_eq!(pki.published_sequence(TrustDomainId::Mo).unwrap(), 5, "the default path is untouched");

    let mut expired = TrustListSpec::new(6, now - Duration::days(10));
    expired.extra_crls.push(pki.domain_crl(TrustDomainId::Mo, CrlChoice::PastNextUpdate).unwrap().unwrap());
    let jws = decode_jws(&pki.trust_list(TrustDomainId::Mo, &expired).unwrap());
    assert!(time_of(&jws.payload["expires"]) < now);
    assert_eq!(crls(&jws).len(), 2);

    let mut no_entries = TrustListSpec::new(7, now);
    no_entries.entries = Some(Vec::new());
    let jws = decode_jws(&pki.trust_list(TrustDomainId::Mo, &no_entries).unwrap());
    assert_eq!(jws.payload["entries"], serde_json::json!([]));
}

#[test]
fn next_and_unpinned_list_signers() {
    let (_dir, pki) = fresh();
    for domain in [TrustDomainId::Mo, TrustDomainId::CnGd] {
        let current = pki.list_signer_pin(domain).unwrap();
        let mut spec = pki.next_list_spec(domain).unwrap();
        spec.signer = ListSigner::Next;
        assert!(pki.trust_list(domain, &spec).is_err(), "no next signer yet");
        let next = pki.add_next_list_signer(domain).unwrap();
        let valid = |j: &Jws| if domain == TrustDomainId::Mo { es256_valid(j) } else { sm2sm3_valid(j) };

        let jws = decode_jws(&pki.trust_list(domain, &spec).unwrap());
        assert!(valid(&jws));
        assert_eq!(pin_of_x5c(&jws), next);

        spec.signer = ListSigner::Unpinned;
        let jws = decode_jws(&pki.trust_list(domain, &spec).unwrap());
        assert!(valid(&jws), "well signed, by a key nobody pinned");
        let pin = pin_of_x5c(&jws);
        assert!(pin != current && pin != next);
    }
}

#[test]
fn revoking_the_assertion_signer_republishes_the_mo_list() {
    let (_dir, pki) = fresh();
    let signer = read_cert(&pki, layout::MO_ASSERTION_SIGNER);
    let rev = pki.revoke_assertion_signer().unwrap();
    assert_eq!(rev.sequence, 2);
    assert_eq!(rev.list, pki.path(layout::MO_TRUST_LIST));
    assert_eq!(rev.serial_hex, signer.serial_number().to_bn().unwrap().to_hex_str().unwrap().to_string());

    let jws = list(&pki, TrustDomainId::Mo);
    assert!(es256_valid(&jws));
    assert_eq!(jws.payload["sequence"], 2);
    let crl = crls(&jws).remove(0);
    assert_eq!(crl.to_der().unwrap(), rev.crl_der);
    assert!(crl.verify(&read_cert(&pki, layout::MO_ISSUING_CA).public_key().unwrap()).unwrap());
    assert!(matches!(crl.get_by_cert(&signer), CrlStatus::Revoked(_)));
    let revoked = crl.get_revoked().unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked.get(0).unwrap().serial_number().to_bn().unwrap(), signer.serial_number().to_bn().unwrap());

    // OpenSSL's own chain check with CRLs sees the revocation.
    std::fs::write(pki.path("crl.pem"), crl.to_pem().unwrap()).unwrap();
    let (ok, out) = super::openssl_cli(
        pki.dir(),
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            "crl.pem",
            "-partial_chain",
            "-CAfile",
            "mo/issuing-ca.pem",
            "mo/assertion-signer.pem",
        ],
    );
    assert!(!ok && out.contains("certificate revoked"), "{out}");

    // Revoking again keeps one entry and still moves the sequence on.
    let again = pki.revoke_assertion_signer().unwrap();
    assert_eq!(again.sequence, 3);
    assert_eq!(X509Crl::from_der(&again.crl_der).unwrap().get_revoked().unwrap().len(), 1);
}

#[test]
fn revoking_a_partner_republishes_the_cn_gd_list() {
    let (_dir, pki) = fresh();
    let id = PartnerId::parse("hq-clinic-0001").unwrap();
    let cert = read_cert(&pki, layout::partner_client_cert(&id));
    let rev = pki.revoke_partner(&id).unwrap();
    assert_eq!(rev.sequence, 2);
    let jws = list(&pki, TrustDomainId::CnGd);
    assert!(sm2sm3_valid(&jws));
    let crl = crls(&jws).remove(0);
    assert!(crl.verify(&read_cert(&pki, layout::CN_PARTNER_CA).public_key().unwrap()).unwrap());
    assert!(matches!(crl.get_by_cert(&cert), CrlStatus::Revoked(_)));
}
