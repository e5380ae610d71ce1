//! Both output formats end to end: a Guangzhou insurer's real-name
//! registration (LoA high, travel permit, nonce bound to its session) is
//! translated in each format with the shipped policies and mappings, and
//! each record verifies with signer trust; the license-app signature also
//! verifies with the `openssl` CLI (a missing CLI fails the test).

use std::path::Path;
use std::process::Command;

use crate::support::Env;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hengqin_bridge::dev::mint::{Flow, MintOptions};
use hengqin_bridge::licence::{self, SignedLicence, jcs};
use hengqin_bridge::model::{OutputFormat, Reason};
use hengqin_bridge::pipeline::TranslateRequest;
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use serde_json::{Map, Value, json};

const INSURER: &str = "gz-insurer-0001";
const KYC: &str = "real-name-kyc";
const SESSION: &str = "gz-insurer-session-7f3a";
const GD_SIGNATURE_MEMBERS: [&str; 4] = ["algorithm", "s_sign_cert", "s_sign_data", "public_key"];

/// A fresh real-name assertion bound to the insurer's session, translated
/// in `format`.
fn translate(env: &Env, format: OutputFormat) -> SignedLicence {
    let jws = env.mint(&MintOptions::new(Flow::RealNameKyc, env.now).set("nonce", json!(SESSION)));
    let req = TranslateRequest {
        partner: INSURER,
        purpose: KYC,
        format: format.as_str(),
        nonce: SESSION,
        assertion: jws.as_bytes(),
    };
    env.process(&req).unwrap_or_else(|r| panic!("{format:?}: {r}"))
}

fn object(bytes: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice(bytes).unwrap() {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn the_insurer_gets_each_format_and_each_verifies_with_signer_trust() {
    let env = Env::new();
    for format in OutputFormat::ALL {
        let lic = translate(&env, *format);
        assert_eq!(lic.format, *format);
        let report = licence::verify(&lic.bytes, Some(&env.snap.anchors), env.now).unwrap();
        assert!(report.is_valid() && report.problems.is_empty(), "{format:?}: {report:?}");
        assert_eq!(report.signer_trusted, Some(true));
        assert_eq!(report.format, *format);
        assert_eq!(report.licence_id, lic.id.as_str());
    }
}

#[test]
fn the_license_app_record_uses_the_sinks_codes_and_names() {
    let env = Env::new();
    let gbt = object(&translate(&env, OutputFormat::Gbt36903Json).bytes);
    let gd = object(&translate(&env, OutputFormat::GdLicenseAppJson).bytes);

    // The same holder in both: the travel permit, GB/T 36903 type 516,
    // which the license-app record carries as the sink table's code for 516.
    assert_eq!(gbt["certificate_holder_type"], "516");
    assert_eq!(gbt["certificate_holder_code"], "M12345678");
    let table = env.snap.mappings.table("holder-id-type-gd-license-app").expect("shipped table");
    assert_eq!(gd["holder_identity_type"], table.code_for("516").expect("516 is translated"));
    assert_eq!(gd["holder_identity_num"], "M12345678");
    assert_eq!(gd["holder_name"], gbt["certificate_holder_name"]);

    assert_eq!(gd["license_type"], gbt["certificate_type_code"]);
    assert_eq!(gd["remark"], gbt["certificate_copy_cause"]);
    assert_eq!((&gd["division_code"], &gd["division"]), (&json!("440400"), &json!("珠海市")));
    assert_eq!((&gd["license_status"], &gd["trust_level"]), (&json!("ISSUED"), &json!("A")));
    for date in ["issue_date", "begin_date", "expiry_date"] {
        let text = gd[date].as_str().unwrap();
        let shape = text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b' ',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
        assert!(text.len() == 19 && shape, "{date}: {text}");
    }
    let keys: Vec<&str> = gd["data_fields"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["CSRQ", "CYRMC", "CYRMCFT", "GAJMLWNDTXZHM", "LDWXM", "XB"]);
    assert_eq!(gd["data_fields"]["CSRQ"], "1980-05-17");
    assert_eq!(gd["provenance"]["purpose"], KYC);
    assert_eq!(gd["provenance"]["mapping"], "mo-real-name-kyc@1");
}

#[test]
fn a_format_the_policy_does_not_allow_is_refused() {
    let env = Env::new();
    let jws = env.mint(&MintOptions::new(Flow::HealthVoucher, env.now));
    let req = TranslateRequest { format: OutputFormat::GdLicenseAppJson.as_str(), ..env.request(&jws) };
    assert_eq!(env.refuse(&req), Reason::FormatNotAllowed);
}

/// What one `openssl` run printed.
struct CliRun {
    stdout: String,
    stderr: String,
}

fn openssl(dir: &Path, args: &[&str]) -> CliRun {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("the `openssl` CLI is required by this test and could not be run: {e}"));
    CliRun {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// PEM of the SM2 public key the record states (`public_key`, 65 bytes).
fn public_key_pem(point_b64: &str) -> Vec<u8> {
    let point = STANDARD.decode(point_b64).unwrap();
    assert_eq!((point.len(), point[0]), (65, 0x04));
    let group = EcGroup::from_curve_name(Nid::SM2).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let point = EcPoint::from_bytes(&group, &point, &mut ctx).unwrap();
    let key = EcKey::from_public_key(&group, &point).unwrap();
    PKey::from_ec_key(key).unwrap().public_key_to_pem().unwrap()
}

#[test]
fn openssl_cli_verifies_the_license_app_signature_with_the_default_id_only() {
    let env = Env::new();
    let lic = translate(&env, OutputFormat::GdLicenseAppJson);
    let mut doc = object(&lic.bytes);
    assert_eq!(doc["algorithm"], "SM3withSM2");
    let signature = STANDARD.decode(doc["s_sign_data"].as_str().unwrap()).unwrap();
    let pem = public_key_pem(doc["public_key"].as_str().unwrap());
    for member in GD_SIGNATURE_MEMBERS {
        doc.remove(member).unwrap_or_else(|| panic!("{member} missing"));
    }
    let canonical = jcs::canonicalize(&Value::Object(doc)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data"), &canonical).unwrap();
    std::fs::write(dir.path().join("sig.der"), &signature).unwrap();
    std::fs::write(dir.path().join("pub.pem"), &pem).unwrap();

    let verify = |distid: &str| {
        openssl(dir.path(), &["dgst", "-sm3", "-verify", "pub.pem", "-sigopt", distid, "-signature", "sig.der", "data"])
    };
    let run = verify("distid:1234567812345678");
    assert_eq!(run.stdout.trim(), "Verified OK", "{}{}", run.stdout, run.stderr);
    let run = verify("distid:");
    assert!(run.stdout.contains("Verification failure"), "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("Verified OK"));

    // The signed bytes are the document without its four signature members:
    // with any one of them left in, the CLI refuses the signature.
    let mut with_cert = object(&lic.bytes);
    for member in ["algorithm", "s_sign_data", "public_key"] {
        with_cert.remove(member);
    }
    std::fs::write(dir.path().join("data"), jcs::canonicalize(&Value::Object(with_cert)).unwrap()).unwrap();
    let run = verify("distid:1234567812345678");
    assert!(run.stdout.contains("Verification failure"), "{}{}", run.stdout, run.stderr);
}
