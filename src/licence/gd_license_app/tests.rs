use super::super::tests::{NOW, input, issuer, mapped, signer};
use super::super::*;
use super::*;
use crate::mapping::CodeEntry;
use crate::signing::{SM2_DEFAULT_ID, openssl_sm2};
use openssl::x509::X509;

/// A holder-type table with codes no sink uses, so a translated value can
/// only have come from the table.
fn holder_types() -> CodeTable {
    let entry = |code: &str, from: &[&str]| CodeEntry {
        code: code.into(),
        name: format!("测试{code}"),
        from: from.iter().map(|f| (*f).to_owned()).collect(),
    };
    CodeTable {
        id: HOLDER_TYPE_TABLE.into(),
        title: "测试".into(),
        standard: "test".into(),
        unconfirmed: true,
        entries: vec![entry("10", &["111"]), entry("97", &["999"]), entry("98", &["516"])],
    }
}

fn areas() -> CodeTable {
    CodeTable {
        id: AREA_TABLE.into(),
        title: "行政区划".into(),
        standard: "GB/T 2260".into(),
        unconfirmed: false,
        entries: vec![CodeEntry { code: "440400".into(), name: "珠海市".into(), from: vec![] }],
    }
}

fn gd_input<'a>(m: MappedRecord, holder_types: &'a CodeTable, areas: &'a CodeTable) -> IssueInput<'a> {
    IssueInput {
        format: OutputFormat::GdLicenseAppJson,
        codes: SinkCodes { holder_types: Some(holder_types), areas: Some(areas) },
        ..input(m)
    }
}

fn issue_gd(m: MappedRecord, signer: &dyn Signer) -> Result<SignedLicence, LicenceError> {
    issue(gd_input(m, &holder_types(), &areas()), &issuer(), signer, NOW)
}

fn doc(bytes: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice(bytes).unwrap() {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn bytes(doc: &Map<String, Value>) -> Vec<u8> {
    serde_json::to_vec(doc).unwrap()
}

#[test]
fn renders_the_license_app_shape_in_utc8() {
    let s = signer();
    let lic = issue_gd(mapped(), &s).unwrap();
    assert_eq!(lic.format, OutputFormat::GdLicenseAppJson);
    let d = doc(&lic.bytes);
    assert_eq!(d["license_code"], lic.id.as_str());
    assert_eq!(d["name"], "澳门医疗券持券人核验证明");
    assert_eq!(d["license_type"], "11100000000013338W001");
    assert_eq!(d["license_item_code"], "11100000000013338W001");
    assert_eq!(d["id_code"], lic.id.serial());
    assert_eq!(d["license_status"], "ISSUED");
    assert_eq!(d["license_status_name"], "已颁发");
    assert_eq!(d["trust_level"], "A");
    assert_eq!(d["holder_name"], "陈大文");
    assert_eq!(d["holder_identity_num"], "1234***(8)");
    assert_eq!(d["issue_org_name"], "测试签发机构");
    assert_eq!(d["issue_org_code"], "91120222MA06DG3067");
    assert_eq!(d["division"], "珠海市");
    assert_eq!(d["division_code"], "440400");
    // 23:30:05 UTC is 07:30:05 the next day in UTC+8; sub-seconds dropped.
    assert_eq!(d["issue_date"], "2026-11-24 07:30:05");
    assert_eq!(d["begin_date"], "2026-11-24 07:30:05");
    assert_eq!(d["expiry_date"], "2026-11-25 07:30:05");
    assert_eq!(d["creation_time"], "2026-11-24 07:30:05");
    assert_eq!(d["issue_time"], "2026-11-24 07:30:05");
    assert_eq!(d["remark"], "澳门医疗券在横琴使用的持券人核验");
    assert_eq!(d["creator"], "urn:hengqin-bridge:gateway:test");
    assert_eq!(d["issuer"], "测试签发机构");
    assert_eq!(d["provenance"]["signed_at"], "2026-11-24T07:30:05+08:00");
    assert_eq!(d["provenance"]["mapping"], "mo-health-voucher@1");
    assert_eq!(d["provenance"]["released"][0]["form"], "masked");
    for absent in ["biz_num", "signature", "certificate_identifier", "surface_data"] {
        assert!(!d.contains_key(absent), "{absent}");
    }
    assert_eq!(d["algorithm"], "SM3withSM2");
    assert_eq!(STANDARD.decode(d["s_sign_cert"].as_str().unwrap()).unwrap(), s.certificate_der());
    let point = STANDARD.decode(d["public_key"].as_str().unwrap()).unwrap();
    assert_eq!(point.len(), 65);
    assert_eq!(point[0], 0x04);
    assert_eq!(point, s.public_key_uncompressed());
    // The document is its own canonical form.
    assert_eq!(jcs::canonicalize(&Value::Object(d)).unwrap(), lic.bytes);
}

#[test]
fn data_fields_are_keyed_by_pinyin_code_else_column_name() {
    let s = signer();
    let mut m = mapped();
    m.surface.push(SurfaceItem {
        name: "余额".into(),
        value: SurfaceValue::Integer(600),
        column_name: "balance_mop".into(),
        pinyin_code: Some("YE".into()),
    });
    m.surface.push(SurfaceItem {
        name: "合资格".into(),
        value: SurfaceValue::Bool(true),
        column_name: "eligible".into(),
        pinyin_code: None,
    });
    let d = doc(&issue_gd(m.clone(), &s).unwrap().bytes);
    assert_eq!(
        d["data_fields"],
        json!({"CYRMC": "陈大文", "birth_date": "1980-05-17", "YE": "600", "eligible": "true"})
    );

    m.surface[3].pinyin_code = Some("CYRMC".into());
    let err = issue_gd(m, &s).unwrap_err();
    assert!(matches!(&err, LicenceError::Record(e) if e.contains("CYRMC")), "{err}");
}

#[test]
fn holder_type_is_translated_through_the_sink_table() {
    let s = signer();
    let mut m = mapped();
    m.holders.push(Holder {
        name: "陈小文".into(),
        code: "H12345678".into(),
        code_type: "516".into(),
        code_type_name: "港澳居民来往内地通行证".into(),
    });
    let d = doc(&issue_gd(m.clone(), &s).unwrap().bytes);
    assert_eq!(d["holder_identity_type"], "97,98");
    assert_eq!(d["holder_name"], "陈大文,陈小文");
    assert_eq!(d["holder_identity_num"], "1234***(8),H12345678");

    // Another table, another code: nothing is fixed in the serializer.
    let mut table = holder_types();
    table.entries[1].code = "96".into();
    let lic = issue(gd_input(m.clone(), &table, &areas()), &issuer(), &s, NOW).unwrap();
    assert_eq!(doc(&lic.bytes)["holder_identity_type"], "96,98");

    // A code type the table does not translate, or no table: no record.
    table.entries.retain(|e| e.code != "98");
    let err = issue(gd_input(m.clone(), &table, &areas()), &issuer(), &s, NOW).unwrap_err();
    assert!(matches!(&err, LicenceError::Record(e) if e.contains("`516`")), "{err}");
    let no_tables = IssueInput { format: OutputFormat::GdLicenseAppJson, codes: SinkCodes::default(), ..input(m) };
    assert!(matches!(issue(no_tables, &issuer(), &s, NOW), Err(LicenceError::Record(_))));
}

#[test]
fn division_is_left_out_when_the_area_has_no_name() {
    let s = signer();
    let mut other = areas();
    other.entries[0].code = "440100".into();
    let lic = issue(gd_input(mapped(), &holder_types(), &other), &issuer(), &s, NOW).unwrap();
    let d = doc(&lic.bytes);
    assert!(!d.contains_key("division"));
    assert_eq!(d["division_code"], "440400");
    let table = holder_types();
    let no_areas = IssueInput {
        codes: SinkCodes { holder_types: Some(&table), areas: None },
        ..gd_input(mapped(), &table, &other)
    };
    assert!(!doc(&issue(no_areas, &issuer(), &s, NOW).unwrap().bytes).contains_key("division"));
}

#[test]
fn the_signature_covers_the_canonical_document_without_its_four_members() {
    let s = signer();
    let lic = issue_gd(mapped(), &s).unwrap();
    let mut d = doc(&lic.bytes);
    let sig = STANDARD.decode(d["s_sign_data"].as_str().unwrap()).unwrap();
    for m in SIGNATURE_MEMBERS {
        assert!(d.remove(m).is_some(), "{m}");
    }
    let canonical = jcs::canonicalize(&Value::Object(d)).unwrap();
    let cert = X509::from_der(s.certificate_der()).unwrap();
    let key = openssl_sm2::public_key_of(&cert).unwrap();
    assert!(openssl_sm2::verify(key.as_pkey(), SM2_DEFAULT_ID, &canonical, &sig).unwrap());
    assert!(!openssl_sm2::verify(key.as_pkey(), b"", &canonical, &sig).unwrap());
}

#[test]
fn verify_accepts_and_detects_tampering() {
    let s = signer();
    let lic = issue_gd(mapped(), &s).unwrap();
    let report = verify(&lic.bytes, None, NOW).unwrap();
    assert!(report.is_valid() && report.problems.is_empty(), "{report:?}");
    assert_eq!(report.format, OutputFormat::GdLicenseAppJson);
    assert_eq!(report.licence_id, lic.id.as_str());
    assert_eq!(report.signed_at, "2026-11-24T07:30:05+08:00");
    assert_eq!(report.signer_trusted, None);

    let tampered = String::from_utf8(lic.bytes.clone()).unwrap().replace("陈大文", "陈小文");
    assert!(!verify(tampered.as_bytes(), None, NOW).unwrap().signature_valid);

    type Edit = fn(&mut Map<String, Value>);
    let edits: [(&str, Edit); 6] = [
        ("data field", |d| d["data_fields"]["CYRMC"] = json!("陈小文")),
        ("holder type", |d| d["holder_identity_type"] = json!("10")),
        ("expiry", |d| d["expiry_date"] = json!("2099-01-01 00:00:00")),
        ("algorithm", |d| d["algorithm"] = json!("SHA256withECDSA")),
        ("no signature value", |d| {
            d.remove("s_sign_data");
        }),
        ("no public key", |d| {
            d.remove("public_key");
        }),
    ];
    for (what, edit) in edits {
        let mut d = doc(&lic.bytes);
        edit(&mut d);
        let report = verify(&bytes(&d), None, NOW).unwrap();
        assert!(!report.signature_valid && !report.is_valid(), "{what}: {report:?}");
        assert!(report.identifier_valid, "{what}");
    }

    let mut d = doc(&lic.bytes);
    let id = d["license_code"].as_str().unwrap().to_owned();
    let last = if id.ends_with('A') { "B" } else { "A" };
    d["license_code"] = json!(format!("{}{last}", &id[..id.len() - 1]));
    let report = verify(&bytes(&d), None, NOW).unwrap();
    assert!(!report.identifier_valid && !report.signature_valid, "{report:?}");
}

#[test]
fn a_public_key_other_than_the_certificates_is_detected() {
    let s = signer();
    let lic = issue_gd(mapped(), &s).unwrap();
    let mut d = doc(&lic.bytes);
    d["public_key"] = json!(STANDARD.encode(signer().public_key_uncompressed()));
    let report = verify(&bytes(&d), None, NOW).unwrap();
    assert!(!report.signature_valid, "{report:?}");
    // The signature itself still verifies: only the stated key is wrong.
    assert_eq!(report.problems, ["public_key is not the key of the signature certificate"]);

    // Certificate and key both swapped for another signer's: the signature
    // no longer verifies.
    let other = signer();
    d["s_sign_cert"] = json!(STANDARD.encode(other.certificate_der()));
    d["public_key"] = json!(STANDARD.encode(other.public_key_uncompressed()));
    let report = verify(&bytes(&d), None, NOW).unwrap();
    assert!(!report.signature_valid);
    assert_eq!(report.problems, ["signature does not verify over the canonical record"]);
}

#[test]
fn the_format_is_read_from_the_identifier_member() {
    let s = signer();
    let gbt = issue(input(mapped()), &issuer(), &s, NOW).unwrap();
    assert_eq!(verify(&gbt.bytes, None, NOW).unwrap().format, OutputFormat::Gbt36903Json);

    let gd = issue_gd(mapped(), &s).unwrap();
    let mut both = doc(&gd.bytes);
    both.insert("certificate_identifier".into(), both["license_code"].clone());
    assert_eq!(verify(&bytes(&both), None, NOW), Err(VerifyError::UnknownFormat));
}
