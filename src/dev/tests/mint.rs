use super::{decode_jws, fresh, read_cert, x5c};
use crate::dev::mint::{Flow, MintOptions, mint_assertion, parse_set, remove_path, set_path};
use crate::dev::pki::{SignerKind, layout};
use crate::model::{Loa, MtpNumber, ResidencePermitNumber};
use crate::signing::ecdsa_raw_to_der;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime, macros::datetime};

fn es256_ok(key: &PKey<Public>, input: &[u8], raw: &[u8]) -> bool {
    assert_eq!(raw.len(), 64);
    let mut v = Verifier::new(MessageDigest::sha256(), key).unwrap();
    v.verify_oneshot(&ecdsa_raw_to_der(raw).unwrap(), input).unwrap()
}

#[test]
fn minted_es256_assertion_verifies_with_the_leaf_key() {
    let (_dir, pki) = fresh();
    let now = pki.now();
    let compact = mint_assertion(&pki, &MintOptions::new(Flow::HealthVoucher, now)).unwrap();
    assert_eq!(compact.split('.').count(), 3);
    assert!(!compact.contains('=') && !compact.contains('+') && !compact.contains('/'));
    let jws = decode_jws(&compact);
    assert_eq!(jws.header["alg"], "ES256");
    assert_eq!(jws.header["typ"], "mo-eid+jwt");
    let chain = x5c(&jws.header);
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0].to_der().unwrap(), read_cert(&pki, layout::MO_ASSERTION_SIGNER).to_der().unwrap());
    assert_eq!(chain[1].to_der().unwrap(), read_cert(&pki, layout::MO_ISSUING_CA).to_der().unwrap());
    let key = chain[0].public_key().unwrap();
    assert!(es256_ok(&key, &jws.signing_input, &jws.signature));
    let mut tampered = jws.signing_input.clone();
    tampered[10] ^= 1;
    assert!(!es256_ok(&key, &tampered, &jws.signature));

    let c = &jws.payload;
    assert_eq!(c["iss"], "https://eid.dsi.gov.mo");
    assert_eq!(c["aud"], pki.gateway_id());
    assert_eq!(c["iat"], now.unix_timestamp());
    assert_eq!(c["exp"], now.unix_timestamp() + 300);
    assert_eq!(c["jti"].as_str().unwrap().len(), 32);
    assert_eq!(c["acr"], "mo:loa:high");
    assert_eq!(c["eid_status"], "active");
    assert_eq!(c["person"]["name_zh_hant"], "陳大文");
    assert_eq!(c["person"]["bir_number"], "12345678");
    assert_eq!(c["consent"]["purposes"], json!(["health-voucher"]));
    assert_eq!(c["consent"]["given_at"], now.unix_timestamp());
    assert_eq!(c["consent"]["separate"], true);
    assert_eq!(c["entitlements"]["health_voucher"]["eligible"], true);
    assert_eq!(c["entitlements"]["health_voucher"]["balance_mop"], 600);

    let other = decode_jws(&mint_assertion(&pki, &MintOptions::new(Flow::HealthVoucher, now)).unwrap());
    assert_ne!(other.payload["jti"], c["jti"], "fresh jti per assertion");
}

#[test]
fn flows_carry_their_claims() {
    let (_dir, pki) = fresh();
    // 16:30 UTC on 31 Dec is already New Year in Macau (UTC+8).
    let now = datetime!(2025-12-31 16:30 UTC);
    let hv = decode_jws(&mint_assertion(&pki, &MintOptions::new(Flow::HealthVoucher, now)).unwrap()).payload;
    assert_eq!(hv["entitlements"]["health_voucher"]["scheme_year"], 2026);
    assert!(hv["entitlements"].get("fss").is_none());

    let ss = decode_jws(&mint_assertion(&pki, &MintOptions::new(Flow::SocialSecurity, now)).unwrap()).payload;
    assert_eq!(ss["entitlements"]["fss"]["status"], "active");
    assert!(ss["entitlements"]["fss"]["beneficiary_number"].is_string());
    assert_eq!(ss["consent"]["purposes"], json!(["social-security"]));

    let mut opts = MintOptions::new(Flow::RealNameKyc, now);
    opts.loa = Loa::Substantial;
    let kyc = decode_jws(&mint_assertion(&pki, &opts).unwrap()).payload;
    assert_eq!(kyc["acr"], "mo:loa:substantial");
    assert!(MtpNumber::parse(kyc["person"]["mtp_number"].as_str().unwrap()).is_ok());
    assert!(ResidencePermitNumber::parse(kyc["person"]["residence_permit_number"].as_str().unwrap()).is_ok());
    assert!(kyc.get("entitlements").is_none());
}

#[test]
fn overrides_removals_and_header_sets() {
    let (_dir, pki) = fresh();
    let mut opts = MintOptions::new(Flow::SocialSecurity, pki.now())
        .set("person.bir_type", json!("BIRNP"))
        .set("consent.purposes.0", json!("real-name-kyc"))
        .set("extra.deep.claim", json!(1))
        .remove("consent.by_guardian")
        .remove("nbf");
    opts.ttl_seconds = 30;
    opts.header_sets.push(("crit".into(), json!(["exp"])));
    opts.header_sets.push(("kid".into(), json!("k1")));
    opts.header_removals.push("typ".into());
    let jws = decode_jws(&mint_assertion(&pki, &opts).unwrap());
    assert_eq!(jws.payload["person"]["bir_type"], "BIRNP");
    assert_eq!(jws.payload["consent"]["purposes"], json!(["real-name-kyc"]));
    assert_eq!(jws.payload["extra"]["deep"]["claim"], 1);
    assert!(jws.payload["consent"].get("by_guardian").is_none());
    assert_eq!(jws.payload["exp"].as_i64().unwrap() - jws.payload["iat"].as_i64().unwrap(), 30);
    assert_eq!(jws.header["crit"], json!(["exp"]));
    assert_eq!(jws.header["kid"], "k1");
    assert!(jws.header.get("typ").is_none());
    // Still properly signed: hostile content, honest signature.
    assert!(es256_ok(&x5c(&jws.header)[0].public_key().unwrap(), &jws.signing_input, &jws.signature));
}

#[test]
fn rsa_signers_sign_ps256_and_rs256() {
    let (_dir, pki) = fresh();
    let mut opts = MintOptions::new(Flow::RealNameKyc, pki.now());
    opts.signer = SignerKind::Rsa2048;
    let ps = decode_jws(&mint_assertion(&pki, &opts).unwrap());
    assert_eq!(ps.header["alg"], "PS256");
    let key = x5c(&ps.header)[0].public_key().unwrap();
    let mut v = Verifier::new(MessageDigest::sha256(), &key).unwrap();
    v.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
    v.set_rsa_pss_saltlen(RsaPssSaltlen::custom(32)).unwrap();
    v.set_rsa_mgf1_md(MessageDigest::sha256()).unwrap();
    assert!(v.verify_oneshot(&ps.signature, &ps.signing_input).unwrap());

    opts.alg = Some("RS256");
    let rs = decode_jws(&mint_assertion(&pki, &opts).unwrap());
    assert_eq!(rs.header["alg"], "RS256");
    let mut v = Verifier::new(MessageDigest::sha256(), &key).unwrap();
    v.set_rsa_padding(Padding::PKCS1).unwrap();
    assert!(v.verify_oneshot(&rs.signature, &rs.signing_input).unwrap());

    opts.signer = SignerKind::Rsa1024;
    opts.alg = None;
    let small = decode_jws(&mint_assertion(&pki, &opts).unwrap());
    assert_eq!(x5c(&small.header)[0].public_key().unwrap().bits(), 1024);
}

#[test]
fn alg_override_that_the_key_cannot_make_only_changes_the_header() {
    let (_dir, pki) = fresh();
    for alg in ["none", "HS256", "PS256", "ES384"] {
        let mut opts = MintOptions::new(Flow::HealthVoucher, pki.now());
        opts.alg = Some(alg);
        let jws = decode_jws(&mint_assertion(&pki, &opts).unwrap());
        assert_eq!(jws.header["alg"], alg);
        assert!(es256_ok(&x5c(&jws.header)[0].public_key().unwrap(), &jws.signing_input, &jws.signature));
    }
}

#[test]
fn ca_as_leaf_and_revoked_signers() {
    let (_dir, pki) = fresh();
    let mut opts = MintOptions::new(Flow::HealthVoucher, pki.now());
    opts.signer = SignerKind::CaAsLeaf;
    let jws = decode_jws(&mint_assertion(&pki, &opts).unwrap());
    let chain = x5c(&jws.header);
    assert_eq!(chain.len(), 1);
    assert!(es256_ok(&chain[0].public_key().unwrap(), &jws.signing_input, &jws.signature));

    opts.signer = SignerKind::Revoked;
    assert!(mint_assertion(&pki, &opts).is_err(), "not revoked yet");
    pki.revoke_signer(SignerKind::Revoked).unwrap();
    let jws = decode_jws(&mint_assertion(&pki, &opts).unwrap());
    let leaf = &x5c(&jws.header)[0];
    assert_eq!(leaf.to_der().unwrap(), pki.signer(SignerKind::Revoked).unwrap().leaf().to_der().unwrap());
}

#[test]
fn expired_assertions_are_a_matter_of_now_and_ttl() {
    let (_dir, pki) = fresh();
    let mut opts = MintOptions::new(Flow::HealthVoucher, pki.now() - Duration::hours(1));
    opts.ttl_seconds = 60;
    let c = decode_jws(&mint_assertion(&pki, &opts).unwrap()).payload;
    assert!(c["exp"].as_i64().unwrap() < OffsetDateTime::now_utc().unix_timestamp());
}

#[test]
fn parse_set_cases() {
    let p = |s: &str| parse_set(s).unwrap();
    assert_eq!(p("person.sex=F"), ("person.sex".into(), json!("F")));
    assert_eq!(p("iat=12"), ("iat".into(), json!(12)));
    assert_eq!(p("consent.separate=false"), ("consent.separate".into(), json!(false)));
    assert_eq!(p("nonce=null"), ("nonce".into(), Value::Null));
    assert_eq!(p("aud=[\"a\",\"b\"]"), ("aud".into(), json!(["a", "b"])));
    assert_eq!(p("x={\"k\":1}"), ("x".into(), json!({"k": 1})));
    assert_eq!(p("jti=\"12\""), ("jti".into(), json!("12")));
    assert_eq!(p("person.birth_date=1980-05-17"), ("person.birth_date".into(), json!("1980-05-17")));
    assert_eq!(p("person.name_zh_hant=鍾大文"), ("person.name_zh_hant".into(), json!("鍾大文")));
    assert_eq!(p("exp=1.5"), ("exp".into(), json!(1.5)));
    assert_eq!(p("a=b=c"), ("a".into(), json!("b=c")));
    assert_eq!(p("a="), ("a".into(), json!("")));
    assert_eq!(p("a= 1"), ("a".into(), json!(1)));
    assert!(parse_set("no-equals").is_err());
    assert!(parse_set("=1").is_err());
    assert!(parse_set("a..b=1").is_err());
}

#[test]
fn set_and_remove_paths() {
    let mut v = json!({"a": {"b": [1, 2]}, "s": "x"});
    set_path(&mut v, "a.b.1", json!(3)).unwrap();
    set_path(&mut v, "s.t", json!(true)).unwrap();
    set_path(&mut v, "n.m", json!("new")).unwrap();
    assert_eq!(v, json!({"a": {"b": [1, 3]}, "s": {"t": true}, "n": {"m": "new"}}));
    assert!(set_path(&mut v, "a.b.5", json!(0)).is_err());
    assert!(remove_path(&mut v, "a.b.0"));
    assert!(remove_path(&mut v, "n"));
    assert!(!remove_path(&mut v, "n.m"));
    assert!(!remove_path(&mut v, "a.b.9"));
    assert_eq!(v, json!({"a": {"b": [3]}, "s": {"t": true}}));
}

#[test]
fn flow_names() {
    for f in Flow::ALL {
        assert_eq!(Flow::parse(f.purpose_id()), Some(*f));
    }
    assert_eq!(Flow::parse("kyc"), None);
}
