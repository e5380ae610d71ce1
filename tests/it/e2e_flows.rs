//! The three flows of DESIGN's callers end to end, with the shipped
//! policies: each partner translates over gRPC + mutual TLS in every
//! output format its policy allows, gets exactly the claims its purpose
//! releases (in the forms the policy names, nothing else of the person),
//! and `Bridge.VerifyLicence` accepts the licence — and refuses it once
//! a byte of it changed.

use crate::node::{TestNode, request};
use hengqin_bridge::dev::mint::Flow;
use hengqin_bridge::service::pb::{GetTrustStatusRequest, VerifyLicenceRequest};
use serde_json::{Value, json};

const GBT: &str = "application/vnd.gbt36903+json";
const GD: &str = "application/vnd.gd-license-app+json";

/// One flow as a partner runs it, and what its policy lets through.
struct FlowCase {
    partner: &'static str,
    flow: Flow,
    /// The requested format; empty asks for the default.
    format: &'static str,
    content_type: &'static str,
    /// The partner's policy requires a nonce bound to its session.
    nonce: bool,
    /// `provenance.released` as claim → form, written from `policies/`.
    released: &'static [(&'static str, &'static str)],
    /// Whether the full BIR number may appear in the licence.
    full_bir: bool,
    /// Values of the minted assertion that the purpose does not release.
    absent: &'static [&'static str],
}

const VOUCHER_RELEASE: &[(&str, &str)] = &[
    ("person.name_zh_hant", "full"),
    ("person.name_latin", "full"),
    ("person.bir_number", "masked"),
    ("entitlements.health_voucher.eligible", "full"),
    ("entitlements.health_voucher.scheme_year", "full"),
];

const SOCIAL_SECURITY_RELEASE: &[(&str, &str)] = &[
    ("person.name_zh_hant", "full"),
    ("person.name_latin", "full"),
    ("person.bir_number", "full"),
    ("person.sex", "full"),
    ("person.birth_date", "full"),
    ("entitlements.fss.beneficiary_number", "full"),
    ("entitlements.fss.status", "full"),
];

const KYC_RELEASE: &[(&str, &str)] = &[
    ("person.name_zh_hant", "full"),
    ("person.name_latin", "full"),
    ("person.mtp_number", "full"),
    ("person.sex", "full"),
    ("person.birth_date", "full"),
];

/// The members that carry the signature, in either format: base64 that
/// says nothing about the person.
const SIGNATURE_MEMBERS: &[&str] = &["signature", "algorithm", "s_sign_cert", "s_sign_data", "public_key"];

/// The first telegraph code, and the residence permit number's first 14
/// characters: never released.
const TELEGRAPH_CODE: &str = "7115";
const RESIDENCE_PERMIT: &str = "82000019800517";

fn flows() -> Vec<FlowCase> {
    let voucher = |partner, format, content_type, nonce| FlowCase {
        partner,
        flow: Flow::HealthVoucher,
        format,
        content_type,
        nonce,
        released: VOUCHER_RELEASE,
        full_bir: false,
        absent: &["1980-05-17", "19800517", TELEGRAPH_CODE],
    };
    let social_security = |format, content_type| FlowCase {
        partner: "hq-ss-window",
        flow: Flow::SocialSecurity,
        format,
        content_type,
        nonce: false,
        released: SOCIAL_SECURITY_RELEASE,
        full_bir: true,
        absent: &[TELEGRAPH_CODE],
    };
    let kyc = |format, content_type| FlowCase {
        partner: "gz-insurer-0001",
        flow: Flow::RealNameKyc,
        format,
        content_type,
        nonce: true,
        released: KYC_RELEASE,
        full_bir: false,
        absent: &[TELEGRAPH_CODE, RESIDENCE_PERMIT],
    };
    vec![
        voucher("hq-clinic-0001", "", GBT, false),
        voucher("hq-clinic-0001", "gbt36903+json", GBT, false),
        voucher("hq-hospital-0001", "gd-license-app+json", GD, true),
        social_security("gbt36903+json", GBT),
        social_security("gd-license-app+json", GD),
        kyc("gbt36903+json", GBT),
        kyc("gd-license-app+json", GD),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_in_every_allowed_format_verifies() {
    let mut n = TestNode::started().await;
    for f in flows() {
        let what = format!("{} {} {:?}", f.partner, f.flow.purpose_id(), f.format);
        let mut client = n.client(f.partner).await;
        let mut opts = n.fresh(f.flow);
        let bir =
            opts.sets.iter().find(|(path, _)| path == "person.bir_number").unwrap().1.as_str().unwrap().to_owned();
        if f.nonce {
            opts = opts.set("nonce", json!("session-42"));
        }
        let mut req = request(f.flow.purpose_id(), f.format, n.mint(&opts));
        if f.nonce {
            req.nonce = "session-42".into();
        }
        let answer = client.translate(req).await.unwrap_or_else(|s| panic!("{what}: {s:?}")).into_inner();

        assert_eq!(answer.content_type, f.content_type, "{what}");
        assert!(answer.licence_id.starts_with("1.2.156.3005.2."), "{what}: {}", answer.licence_id);
        let mut released = answer.released.clone();
        released.sort();
        let mut expected: Vec<String> = f.released.iter().map(|(c, _)| (*c).to_owned()).collect();
        expected.sort();
        assert_eq!(released, expected, "{what}: released");

        let licence: Value = serde_json::from_slice(&answer.licence).unwrap();
        let provenance = &licence["provenance"];
        let forms: Vec<(String, String)> = provenance["released"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: no provenance.released"))
            .iter()
            .map(|r| (r["claim"].as_str().unwrap().to_owned(), r["form"].as_str().unwrap().to_owned()))
            .collect();
        let mut want: Vec<(String, String)> =
            f.released.iter().map(|(c, m)| ((*c).to_owned(), (*m).to_owned())).collect();
        let mut got = forms.clone();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{what}: forms");
        assert_eq!(provenance["purpose"], f.flow.purpose_id(), "{what}");
        assert_eq!(provenance["policy_digest"], answer.policy_digest.as_str(), "{what}");
        assert_eq!(answer.policy_digest.len(), 64, "{what}");

        let mut unsigned = licence.clone();
        for member in SIGNATURE_MEMBERS {
            unsigned.as_object_mut().unwrap().remove(*member);
        }
        let content = unsigned.to_string();
        assert_eq!(content.contains(&bir), f.full_bir, "{what}: the full BIR number");
        for value in f.absent {
            assert!(!content.contains(value), "{what}: {value:?} is not released but is in the licence");
        }

        let verified = client
            .verify_licence(VerifyLicenceRequest {
                licence: answer.licence.clone(),
                content_type: answer.content_type.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            verified.signature_valid && verified.identifier_valid && verified.signer_trusted,
            "{what}: {verified:?}"
        );
        assert_eq!(verified.licence_id, answer.licence_id, "{what}");
        assert_eq!(verified.signed_at, provenance["signed_at"].as_str().unwrap(), "{what}");

        let text = String::from_utf8(answer.licence.clone()).unwrap();
        let tampered = text.replacen("陈大文", "陈小文", 1);
        assert_ne!(tampered, text, "{what}: the holder's name is in the licence");
        let verdict = client
            .verify_licence(VerifyLicenceRequest { licence: tampered.into_bytes(), content_type: answer.content_type })
            .await
            .unwrap()
            .into_inner();
        assert!(!verdict.signature_valid, "{what}: a changed licence still verifies");
    }

    let status = n.client("hq-clinic-0001").await.get_trust_status(GetTrustStatusRequest {}).await.unwrap();
    let domains: Vec<(String, bool)> = status.into_inner().domains.into_iter().map(|d| (d.id, d.fresh)).collect();
    assert_eq!(domains, [("MO".to_owned(), true), ("CN-GD".to_owned(), true)]);
    n.stop().await;
}
