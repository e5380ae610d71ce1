//! Shared by the audit tests: a throwaway SM2 signer, events that pass
//! the personal-data checks, and a chain written and edited on disk.
#![allow(dead_code)]

use crate::raw_sled;
use hengqin_bridge::audit::{self, AuditEvent, AuditLog, AuditOptions, AuditReason, AuditRecord, Decision};
use hengqin_bridge::dev::pki::{test_defining_body_uscc, test_issuer_uscc};
use hengqin_bridge::model::{LicenceId, Reason, Uscc};
use hengqin_bridge::signing::{OpensslSm2Signer, SM2_DEFAULT_ID, Signer, openssl_sm2};
use hengqin_bridge::store::Store;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::x509::{X509Builder, X509NameBuilder};
use std::path::Path;
use std::sync::Arc;
use time::macros::datetime;

pub fn signer(cn: &str) -> Arc<dyn Signer> {
    let key = openssl_sm2::generate_key().unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(11).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
    b.sign(&key, MessageDigest::sm3()).unwrap();
    let cert = openssl_sm2::sign_certificate(b.build(), &key, SM2_DEFAULT_ID).unwrap();
    Arc::new(OpensslSm2Signer::new(cert, key).unwrap())
}

pub fn licence_id(n: u32) -> String {
    let type_code = format!("{}001", test_defining_body_uscc());
    let issuer = Uscc::parse(&test_issuer_uscc()).unwrap();
    LicenceId::build(&type_code, &issuer, &format!("A{n:08}"), 1).unwrap().as_str().to_owned()
}

pub fn hex64(n: u32) -> String {
    hex::encode(openssl::sha::sha256(&n.to_be_bytes()))
}

pub fn permit(n: u32) -> AuditEvent {
    AuditEvent {
        time: datetime!(2025-06-01 02:00:00 UTC) + time::Duration::seconds(n.into()),
        partner: "hq-clinic-0001".into(),
        purpose: "health-voucher".into(),
        jurisdiction: "hengqin".into(),
        decision: Decision::Permit,
        reasons: vec![],
        released: vec!["person.name_zh_hant".into(), "person.bir_number".into()],
        licence_id: Some(licence_id(n)),
        source_sha256: Some(hex64(n)),
        subject: Some(hex64(n + 1_000_000)),
    }
}

pub fn deny(n: u32) -> AuditEvent {
    AuditEvent {
        time: datetime!(2025-06-01 02:00:00 UTC) + time::Duration::seconds(n.into()),
        partner: "gz-insurer-0001".into(),
        purpose: "health-voucher".into(),
        jurisdiction: String::new(),
        decision: Decision::Deny,
        reasons: vec![AuditReason::new(Reason::PurposeNotAllowed, Some("guangdong.toml#partners.gz-insurer-0001"))],
        released: vec![],
        licence_id: None,
        source_sha256: Some(hex64(n)),
        subject: None,
    }
}

pub fn options(checkpoint_every: u64) -> AuditOptions {
    AuditOptions { checkpoint_every, ..AuditOptions::default() }
}

pub fn any_signer(_: &[u8]) -> Result<(), String> {
    Ok(())
}

/// Writes `n` events through a log and closes it (final checkpoint).
pub fn populate(dir: &Path, n: u32, checkpoint_every: u64) -> Arc<dyn Signer> {
    let s = signer("audit test signer");
    let store = Store::open(dir).unwrap();
    let log = AuditLog::open(&store, s.clone(), options(checkpoint_every)).unwrap();
    for i in 1..=n {
        let e = if i % 3 == 0 { deny(i) } else { permit(i) };
        assert_eq!(log.append_blocking(e).unwrap().seq, u64::from(i));
    }
    log.close().unwrap();
    s
}

/// Edits the stored event `seq` with sled directly, as someone with the
/// directory could.
pub fn edit_event(dir: &Path, seq: u64, edit: impl FnOnce(&mut AuditRecord)) {
    let db = raw_sled::open(dir);
    let tree = db.open_tree("audit").unwrap();
    let key = raw_sled::audit_key(b'e', seq);
    let mut record: AuditRecord = serde_json::from_slice(&tree.get(&key).unwrap().unwrap()).unwrap();
    edit(&mut record);
    tree.insert(key, serde_json::to_vec(&record).unwrap()).unwrap();
    db.flush().unwrap();
}

pub fn remove(dir: &Path, prefix: u8, seq: u64) {
    let db = raw_sled::open(dir);
    let key = raw_sled::audit_key(prefix, seq);
    assert!(db.open_tree("audit").unwrap().remove(key).unwrap().is_some());
    db.flush().unwrap();
}

pub fn verify(dir: &Path) -> audit::AuditReport {
    audit::verify(&Store::open(dir).unwrap(), &any_signer).unwrap()
}
