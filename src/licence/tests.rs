use super::*;
use crate::model::Uscc;
use crate::signing::{OpensslSm2Signer, SM2_DEFAULT_ID, openssl_sm2};
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::x509::{X509Builder, X509NameBuilder};
use serde_json::Value;
use time::macros::datetime;

pub(super) fn signer() -> OpensslSm2Signer {
    let key = openssl_sm2::generate_key().unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "licence test signer").unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
    b.sign(&key, MessageDigest::sm3()).unwrap();
    let cert = openssl_sm2::sign_certificate(b.build(), &key, SM2_DEFAULT_ID).unwrap();
    OpensslSm2Signer::new(cert, key).unwrap()
}

pub(super) fn issuer() -> IssuingBody {
    IssuingBody {
        name: "测试签发机构".into(),
        uscc: Uscc::parse("91120222MA06DG3067").unwrap(),
        defining_body: Uscc::parse("11100000000013338W").unwrap(),
        area_code: "440400".into(),
    }
}

pub(super) fn mapped() -> MappedRecord {
    MappedRecord {
        licence_name: "澳门医疗券持券人核验证明".into(),
        type_name: "澳门医疗券持券人核验证明".into(),
        type_sequence: "001".into(),
        holders: vec![Holder {
            name: "陈大文".into(),
            code: "1234***(8)".into(),
            code_type: "999".into(),
            code_type_name: "澳门特别行政区居民身份证".into(),
        }],
        surface: vec![
            SurfaceItem {
                name: "姓名".into(),
                value: SurfaceValue::Text("陈大文".into()),
                column_name: "holder_name".into(),
                pinyin_code: Some("CYRMC".into()),
            },
            SurfaceItem {
                name: "出生日期".into(),
                value: SurfaceValue::Date(time::macros::date!(1980 - 05 - 17)),
                column_name: "birth_date".into(),
                pinyin_code: None,
            },
        ],
        name_review: vec![],
        mapping: "mo-health-voucher@1".into(),
    }
}

pub(super) fn input(m: MappedRecord) -> IssueInput<'static> {
    IssueInput {
        mapped: m,
        format: OutputFormat::Gbt36903Json,
        purpose: "health-voucher",
        copy_cause: "澳门医疗券在横琴使用的持券人核验",
        validity: Duration::days(1),
        released: vec![ReleasedClaim { claim: "person.bir_number".into(), form: "masked".into() }],
        source_issuer: "https://eid.dsi.gov.mo",
        source_sha256: "ab",
        policy_digest: "cd",
        gateway_id: "urn:hengqin-bridge:gateway:test",
        codes: SinkCodes::default(),
    }
}

// 2026-11-23 23:30 UTC is 2026-11-24 07:30 in UTC+8: dates follow UTC+8.
pub(super) const NOW: OffsetDateTime = datetime!(2026-11-23 23:30:05.123 UTC);

#[test]
fn renders_the_catalogue_shape_in_utc8() {
    let s = signer();
    let lic = issue(input(mapped()), &issuer(), &s, NOW).unwrap();
    let doc: Value = serde_json::from_slice(&lic.bytes).unwrap();
    assert_eq!(doc["certificate_identifier"], lic.id.as_str());
    assert!(LicenceId::parse(lic.id.as_str()).is_ok());
    assert_eq!(doc["certificate_type_code"], "11100000000013338W001");
    assert_eq!(doc["certificate_issuing_authority_code"], "91120222MA06DG3067");
    assert_eq!(doc["certificate_number"], lic.id.serial());
    assert_eq!(doc["certificate_version"], "001");
    assert_eq!(doc["certificate_issuing_date"], "20261124");
    assert_eq!(doc["certificate_validate_start"], "20261124");
    assert_eq!(doc["certificate_validate_end"], "20261125");
    assert_eq!(doc["certificate_copy_expiring_time"], "20261125073005");
    assert_eq!(doc["certificate_status"], "01");
    assert_eq!(doc["certificate_holder_type"], "999");
    assert_eq!(doc["surface_data"][1]["value"], "19800517");
    assert_eq!(doc["surface_data"][1]["value_type"], "date");
    assert_eq!(doc["provenance"]["signed_at"], "2026-11-24T07:30:05+08:00");
    assert_eq!(doc["provenance"]["released"][0]["form"], "masked");
    assert_eq!(doc["signature"]["algorithm"], "1.2.156.10197.1.501");
    assert_eq!(doc["signature"]["user_id"], "1234567812345678");
    // The document is its own canonical form.
    assert_eq!(jcs::canonicalize(&doc).unwrap(), lic.bytes);
}

#[test]
fn verify_accepts_and_detects_tampering() {
    let s = signer();
    let lic = issue(input(mapped()), &issuer(), &s, NOW).unwrap();
    let report = verify(&lic.bytes, None, NOW).unwrap();
    assert!(report.signature_valid && report.identifier_valid, "{report:?}");
    assert_eq!(report.signer_trusted, None);
    assert_eq!(report.licence_id, lic.id.as_str());

    let tampered = String::from_utf8(lic.bytes.clone()).unwrap().replace("陈大文", "陈小文");
    let report = verify(tampered.as_bytes(), None, NOW).unwrap();
    assert!(!report.signature_valid);
    assert!(!report.is_valid());

    let mut doc: Value = serde_json::from_slice(&lic.bytes).unwrap();
    let id = doc["certificate_identifier"].as_str().unwrap().to_owned();
    let last = if id.ends_with('A') { "B" } else { "A" };
    doc["certificate_identifier"] = Value::String(format!("{}{last}", &id[..id.len() - 1]));
    let report = verify(&serde_json::to_vec(&doc).unwrap(), None, NOW).unwrap();
    assert!(!report.identifier_valid && !report.signature_valid);

    doc["signature"]["user_id"] = Value::String(String::new());
    let report = verify(&serde_json::to_vec(&doc).unwrap(), None, NOW).unwrap();
    assert!(!report.signature_valid);

    assert_eq!(verify(b"[1]", None, NOW), Err(VerifyError::NotJson));
    assert_eq!(verify(b"{\"a\":1}", None, NOW), Err(VerifyError::UnknownFormat));
}

#[test]
fn refuses_records_a_mapping_got_wrong() {
    let s = signer();
    let mut m = mapped();
    m.type_sequence = "01".into();
    assert!(matches!(issue(input(m), &issuer(), &s, NOW), Err(LicenceError::Record(_))));
    let mut m = mapped();
    m.holders.clear();
    assert!(matches!(issue(input(m), &issuer(), &s, NOW), Err(LicenceError::Record(_))));
    let mut i = input(mapped());
    i.copy_cause = "很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由很长的事由";
    assert!(matches!(issue(i, &issuer(), &s, NOW), Err(LicenceError::Record(_))));
}

#[test]
fn serials_differ_between_records() {
    let s = signer();
    let a = issue(input(mapped()), &issuer(), &s, NOW).unwrap();
    let b = issue(input(mapped()), &issuer(), &s, NOW).unwrap();
    assert_ne!(a.id, b.id);
}
