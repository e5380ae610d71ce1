//! Properties of whole translations (STYLE 6), each over assertions minted
//! by the test PKI and run through `pipeline::process` with the shipped
//! policies and mappings:
//!
//! - claims outside the input profile never reach a licence;
//! - a released attribute appears in exactly the form its policy names,
//!   and nothing else of it does;
//! - the canonical bytes of a produced record do not depend on key order
//!   or on how the JSON was spelled;
//! - a matching deny rule refuses whatever else holds.
//!
//! The expected forms and rule conditions are written out here by hand
//! from `policies/`. Everything runs at [`NOW`], so ages and scheme years
//! are fixed.

use crate::support::Env;
use hengqin_bridge::dev::mint::{Flow, MintOptions, remove_path, sample_claims, set_path};
use hengqin_bridge::intake::parse_claims;
use hengqin_bridge::licence::{SignedLicence, jcs};
use hengqin_bridge::model::{Loa, OutputFormat, PartnerId, PurposeId, Reason, Rejection};
use hengqin_bridge::pipeline::TranslateRequest;
use hengqin_bridge::policy::{self, Effect, Request};
use openssl::pkey::PKey;
use openssl::sign::Signer;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use time::OffsetDateTime;
use time::macros::datetime;

/// 2026-03-15 10:00 in Macau.
const NOW: OffsetDateTime = datetime!(2026-03-15 10:00 +8);
/// The SM2 user id every signature carries.
const SM2_USER_ID: &str = "1234567812345678";
const NONCE: &str = "prop-session-0001";

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() })
}

/// A partner the shipped policies serve for a flow, and what they release
/// to it (from `purposes.toml` and the partner's jurisdiction file).
struct Served {
    partner: &'static str,
    flow: Flow,
    loa: Loa,
    nonce: bool,
    release: &'static [(&'static str, &'static str)],
}

const VOUCHER: &[(&str, &str)] = &[
    ("person.bir_number", "masked"),
    ("person.name_zh_hant", "full"),
    ("person.name_latin", "full"),
    ("entitlements.health_voucher.eligible", "full"),
    ("entitlements.health_voucher.scheme_year", "full"),
];
const SOCIAL: &[(&str, &str)] = &[
    ("person.bir_number", "full"),
    ("person.name_zh_hant", "full"),
    ("person.name_latin", "full"),
    ("person.sex", "full"),
    ("person.birth_date", "full"),
    ("entitlements.fss.beneficiary_number", "full"),
    ("entitlements.fss.status", "full"),
];
/// Shenzhen: the BIR only masked.
const SOCIAL_SHENZHEN: &[(&str, &str)] = &[
    ("person.bir_number", "masked"),
    ("person.name_zh_hant", "full"),
    ("person.name_latin", "full"),
    ("person.sex", "full"),
    ("person.birth_date", "full"),
    ("entitlements.fss.beneficiary_number", "full"),
    ("entitlements.fss.status", "full"),
];
/// Dongguan: the FSS number only as a pseudonym.
const SOCIAL_DONGGUAN: &[(&str, &str)] = &[
    ("person.bir_number", "full"),
    ("person.name_zh_hant", "full"),
    ("person.name_latin", "full"),
    ("person.sex", "full"),
    ("person.birth_date", "full"),
    ("entitlements.fss.beneficiary_number", "pseudonym"),
    ("entitlements.fss.status", "full"),
];
const KYC: &[(&str, &str)] = &[
    ("person.name_zh_hant", "full"),
    ("person.name_latin", "full"),
    ("person.mtp_number", "full"),
    ("person.sex", "full"),
    ("person.birth_date", "full"),
];

const SERVED: &[Served] = &[
    Served {
        partner: "hq-clinic-0001",
        flow: Flow::HealthVoucher,
        loa: Loa::Substantial,
        nonce: false,
        release: VOUCHER,
    },
    Served {
        partner: "hq-hospital-0001",
        flow: Flow::HealthVoucher,
        loa: Loa::Substantial,
        nonce: true,
        release: VOUCHER,
    },
    Served {
        partner: "hq-ss-window",
        flow: Flow::SocialSecurity,
        loa: Loa::Substantial,
        nonce: false,
        release: SOCIAL,
    },
    Served {
        partner: "zs-ss-window",
        flow: Flow::SocialSecurity,
        loa: Loa::Substantial,
        nonce: false,
        release: SOCIAL,
    },
    Served {
        partner: "sz-ss-counter",
        flow: Flow::SocialSecurity,
        loa: Loa::High,
        nonce: false,
        release: SOCIAL_SHENZHEN,
    },
    Served {
        partner: "dg-ss-window",
        flow: Flow::SocialSecurity,
        loa: Loa::Substantial,
        nonce: false,
        release: SOCIAL_DONGGUAN,
    },
    Served { partner: "gz-insurer-0001", flow: Flow::RealNameKyc, loa: Loa::High, nonce: true, release: KYC },
    Served { partner: "sz-telecom-0001", flow: Flow::RealNameKyc, loa: Loa::High, nonce: true, release: KYC },
    Served { partner: "fs-bank-0001", flow: Flow::RealNameKyc, loa: Loa::High, nonce: true, release: KYC },
    Served { partner: "fs-insurer-0001", flow: Flow::RealNameKyc, loa: Loa::High, nonce: false, release: KYC },
    Served { partner: "zs-bank-0001", flow: Flow::RealNameKyc, loa: Loa::High, nonce: true, release: KYC },
];

/// Mints the flow's sample assertion with `sets` applied and translates
/// it for the served partner in `gbt36903+json`.
fn translate(env: &Env, served: &Served, sets: &[(String, Value)]) -> Result<SignedLicence, Rejection> {
    let mut opts = MintOptions::new(served.flow, env.now);
    opts.loa = served.loa;
    let nonce = if served.nonce { NONCE } else { "" };
    if served.nonce {
        opts = opts.set("nonce", json!(NONCE));
    }
    for (path, value) in sets {
        opts = opts.set(path, value.clone());
    }
    let jws = env.mint(&opts);
    env.process(&TranslateRequest {
        partner: served.partner,
        purpose: served.flow.purpose_id(),
        format: "gbt36903+json",
        nonce,
        assertion: jws.as_bytes(),
    })
}

fn released_of(lic: &SignedLicence) -> BTreeMap<String, String> {
    let doc: Value = serde_json::from_slice(&lic.bytes).expect("a licence is JSON");
    doc.pointer("/provenance/released")
        .and_then(Value::as_array)
        .expect("provenance.released")
        .iter()
        .map(|r| (r["claim"].as_str().unwrap().to_owned(), r["form"].as_str().unwrap().to_owned()))
        .collect()
}

fn release_table(served: &Served) -> BTreeMap<String, String> {
    served.release.iter().map(|(c, f)| (c.to_string(), f.to_string())).collect()
}

// ---- extra claims ----

/// A string unlikely to occur anywhere by chance (not hex, not a date).
fn marker() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Z][a-z]{4}[A-Z][a-z]{4}[0-9]{3}", "[\u{4e00}-\u{9fa5}]{5,8}"]
}

fn extra_name() -> impl Strategy<Value = String> {
    "x_[a-z]{3,10}"
}

fn extra_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        marker().prop_map(Value::String),
        any::<i32>().prop_map(|i| json!(i)),
        any::<bool>().prop_map(Value::Bool),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(extra_name(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every string in a value, member names included.
fn strings_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings_of(i, out)),
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                strings_of(v, out);
            }
        }
        _ => {}
    }
}

#[test]
fn extra_claims_never_reach_a_licence() {
    let env = Env::at(NOW);
    let parents = ["", "person", "entitlements", "consent", "entitlements.health_voucher", "entitlements.fss"];
    let extras = prop::collection::vec((0..parents.len(), extra_name(), extra_value()), 1..6);
    runner(48)
        .run(&(0..SERVED.len(), extras), |(i, extras)| {
            let served = &SERVED[i];
            let mut sets = Vec::new();
            let mut needles = Vec::new();
            for (parent, name, value) in extras {
                // An extra member inside an entitlement the flow lacks would
                // make an incomplete entitlement, which is a syntax error.
                let parent = match parents[parent] {
                    "entitlements.health_voucher" if served.flow != Flow::HealthVoucher => "entitlements",
                    "entitlements.fss" if served.flow != Flow::SocialSecurity => "entitlements",
                    p => p,
                };
                let path = if parent.is_empty() { name.clone() } else { format!("{parent}.{name}") };
                needles.push(name);
                strings_of(&value, &mut needles);
                sets.push((path, value));
            }
            let lic = translate(&env, served, &sets).map_err(|r| TestCaseError::fail(format!("{r}")))?;
            let text = String::from_utf8(lic.bytes.clone()).unwrap();
            for n in &needles {
                prop_assert!(!text.contains(n.as_str()), "{n:?} reached the licence for {}", served.partner);
            }
            prop_assert_eq!(released_of(&lic), release_table(served));
            Ok(())
        })
        .unwrap();
}

// ---- release forms ----

/// HMAC-SHA-256 pseudonym over `partner ‖ 0x00 ‖ value` under the PKI's
/// pseudonym key, computed here independently of the bridge.
fn expected_pseudonym(env: &Env, partner: &str, value: &str) -> String {
    let key = std::fs::read_to_string(env.pki.dir().join("keys/pseudonym.key")).unwrap();
    let key = hex::decode(key.trim()).unwrap();
    let pkey = PKey::hmac(&key).unwrap();
    let mut mac = Signer::new(openssl::hash::MessageDigest::sha256(), &pkey).unwrap();
    mac.update(partner.as_bytes()).unwrap();
    mac.update(&[0]).unwrap();
    mac.update(value.as_bytes()).unwrap();
    hex::encode(mac.sign_to_vec().unwrap())
}

/// One person's identifiers.
#[derive(Debug, Clone)]
struct Ids {
    bir: String,
    mtp: String,
    fss: String,
    latin: String,
    birth: (i32, u8, u8),
}

fn ids() -> impl Strategy<Value = Ids> {
    ("[157][0-9]{7}", "M[0-9]{8}([0-9]{2})?", "[0-9]{8}", "[A-Z]{2,8} [A-Z]{2,8}", (1940i32..2007, 1u8..=12, 1u8..=28))
        .prop_map(|(bir, mtp, fss, latin, birth)| Ids { bir, mtp, fss, latin, birth })
}

fn form_of<'a>(served: &'a Served, path: &str) -> Option<&'a str> {
    served.release.iter().find(|(p, _)| *p == path).map(|(_, f)| *f)
}

#[test]
fn released_attributes_appear_only_in_their_policy_form() {
    let env = Env::at(NOW);
    // What every licence of a partner holds whatever the person: dates,
    // identifiers of the issuer and the type, the SM2 user id.
    let baselines: Vec<String> =
        SERVED.iter().map(|s| String::from_utf8(translate(&env, s, &[]).expect("permitted").bytes).unwrap()).collect();
    runner(64)
        .run(&(0..SERVED.len(), ids()), |(i, ids)| {
            let served = &SERVED[i];
            let (y, m, d) = ids.birth;
            let compact = format!("{y:04}{m:02}{d:02}");
            let dashed = format!("{y:04}-{m:02}-{d:02}");
            let digits = [&ids.bir, &ids.mtp[1..9], &ids.fss, &compact];
            for (a, x) in digits.iter().enumerate() {
                prop_assume!(!SM2_USER_ID.contains(&x[..7]) && !baselines[i].contains(&x[..7]));
                for (b, z) in digits.iter().enumerate() {
                    prop_assume!(a == b || !z.contains(&x[..7]));
                }
            }
            let sets = vec![
                ("person.bir_number".to_owned(), json!(ids.bir)),
                ("person.mtp_number".to_owned(), json!(ids.mtp)),
                ("person.name_latin".to_owned(), json!(ids.latin)),
                ("person.birth_date".to_owned(), json!(dashed)),
                ("entitlements.fss".to_owned(), json!({"beneficiary_number": ids.fss, "status": "active"})),
            ];
            let lic = translate(&env, served, &sets).map_err(|r| TestCaseError::fail(format!("{r}")))?;
            let text = String::from_utf8(lic.bytes.clone()).unwrap();
            let has = |s: &str| text.contains(s);
            prop_assert_eq!(released_of(&lic), release_table(served));

            let bir = &ids.bir;
            let masked = format!("{}***({})", &bir[..4], &bir[7..]);
            let printed = format!("{}({})", &bir[..7], &bir[7..]);
            match form_of(served, "person.bir_number") {
                Some("full") => prop_assert!(has(bir) && !has(&masked)),
                Some("masked") => prop_assert!(has(&masked) && !has(&bir[..7]) && !has(&printed)),
                None => prop_assert!(!has(&bir[..7]) && !has(&masked)),
                Some(other) => prop_assert!(false, "no BIR form {other} in the shipped policies"),
            }
            match form_of(served, "person.mtp_number") {
                Some("full") => {
                    let doc: Value = serde_json::from_str(&text).unwrap();
                    prop_assert!(has(&ids.mtp));
                    prop_assert_eq!(doc["certificate_holder_code"].as_str(), Some(&ids.mtp[..9]));
                    prop_assert_eq!(doc["certificate_holder_type"].as_str(), Some("516"));
                }
                None => prop_assert!(!has(&ids.mtp[1..9])),
                Some(other) => prop_assert!(false, "no MTP form {other} in the shipped policies"),
            }
            let pseudonym = expected_pseudonym(&env, served.partner, &ids.fss);
            match form_of(served, "entitlements.fss.beneficiary_number") {
                Some("full") => prop_assert!(has(&ids.fss) && !has(&pseudonym)),
                Some("pseudonym") => prop_assert!(has(&pseudonym) && !has(&ids.fss)),
                None => prop_assert!(!has(&ids.fss) && !has(&pseudonym)),
                Some(other) => prop_assert!(false, "no FSS form {other} in the shipped policies"),
            }
            match form_of(served, "person.birth_date") {
                Some(_) => prop_assert!(has(&compact)),
                None => prop_assert!(!has(&compact) && !has(&dashed)),
            }
            prop_assert!(has(&ids.latin));
            prop_assert!(!has("820000198005170017"), "the residence permit is never released");
            Ok(())
        })
        .unwrap();
}

// ---- canonical bytes ----

/// A tiny deterministic generator for shuffles.
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// How a JSON text is spelled: member order, white space, string escapes.
struct Spelling {
    order: Shuffle,
    spaces: bool,
    escape_non_ascii: bool,
}

impl Spelling {
    fn gap(&mut self, out: &mut String) {
        if self.spaces {
            out.push_str([" ", "\n", "\t ", ""][(self.order.next() % 4) as usize]);
        }
    }

    fn write(&mut self, v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut members: Vec<(&String, &Value)> = m.iter().collect();
                for i in (1..members.len()).rev() {
                    let j = (self.order.next() % (i as u64 + 1)) as usize;
                    members.swap(i, j);
                }
                out.push('{');
                for (n, (k, v)) in members.into_iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    self.gap(out);
                    self.string(k, out);
                    self.gap(out);
                    out.push(':');
                    self.gap(out);
                    self.write(v, out);
                }
                self.gap(out);
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    self.gap(out);
                    self.write(item, out);
                }
                out.push(']');
            }
            Value::String(s) => self.string(s, out),
            other => out.push_str(&other.to_string()),
        }
    }

    fn string(&mut self, s: &str, out: &mut String) {
        if !self.escape_non_ascii {
            out.push_str(&serde_json::to_string(s).unwrap());
            return;
        }
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
                c => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{u:04x}"));
                    }
                }
            }
        }
        out.push('"');
    }
}

#[test]
fn canonical_bytes_do_not_depend_on_key_order() {
    let env = Env::at(NOW);
    let records: Vec<Vec<u8>> = SERVED.iter().map(|s| translate(&env, s, &[]).expect("permitted").bytes).collect();
    let strategy = (0..records.len(), any::<u64>(), any::<u64>(), any::<bool>(), any::<bool>());
    runner(64)
        .run(&strategy, |(i, seed_a, seed_b, spaces, escape)| {
            let bytes = &records[i];
            let doc: Value = serde_json::from_slice(bytes).unwrap();
            prop_assert_eq!(&jcs::canonicalize(&doc).unwrap(), bytes, "a produced record is canonical as issued");
            let mut a = Spelling { order: Shuffle(seed_a | 1), spaces, escape_non_ascii: escape };
            let mut text = String::new();
            a.write(&doc, &mut text);
            prop_assert_eq!(&jcs::canonicalize_str(&text).unwrap(), bytes);

            let mut unsigned = doc.clone();
            unsigned.as_object_mut().unwrap().remove("signature");
            let mut b = Spelling { order: Shuffle(seed_b | 1), spaces: !spaces, escape_non_ascii: !escape };
            let (mut ta, mut tb) = (String::new(), String::new());
            a.write(&unsigned, &mut ta);
            b.write(&unsigned, &mut tb);
            prop_assert_eq!(jcs::canonicalize_str(&ta).unwrap(), jcs::canonicalize_str(&tb).unwrap());
            Ok(())
        })
        .unwrap();
}

// ---- deny rules ----

/// What a request varies in besides the partner and purpose.
#[derive(Debug, Clone)]
struct Subject {
    birth: (i32, u8, u8),
    birnp: bool,
    high: bool,
    consent: Option<(bool, bool)>,
    last_years_voucher: bool,
    fss: Option<&'static str>,
    gd: bool,
}

fn subject() -> impl Strategy<Value = Subject> {
    (
        (2002i32..2022, 1u8..=12, 1u8..=28),
        any::<bool>(),
        any::<bool>(),
        prop::option::weighted(0.85, (any::<bool>(), any::<bool>())),
        prop::bool::weighted(0.2),
        prop::option::weighted(0.8, prop::sample::select(vec!["active", "suspended", "closed"])),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(birth, birnp, high, consent, last_years_voucher, fss, gd)| Subject {
            birth,
            birnp,
            high,
            consent,
            last_years_voucher,
            fss,
            gd,
        })
}

/// Whole years at [`NOW`] (2026-03-15).
fn age(birth: (i32, u8, u8)) -> i32 {
    let (y, m, d) = birth;
    if (m, d) > (3, 15) { 2025 - y } else { 2026 - y }
}

fn mint_options(env: &Env, flow: Flow, s: &Subject) -> MintOptions {
    let (y, m, d) = s.birth;
    let mut opts = MintOptions::new(flow, env.now)
        .set("nonce", json!(NONCE))
        .set("person.birth_date", json!(format!("{y:04}-{m:02}-{d:02}")))
        .set("person.bir_type", json!(if s.birnp { "BIRNP" } else { "BIRP" }))
        .set("person.mtp_number", json!("M24681357"))
        .set("entitlements.health_voucher", json!({"eligible": true, "scheme_year": 2026, "balance_mop": 600}));
    opts.loa = if s.high { Loa::High } else { Loa::Substantial };
    match s.consent {
        Some((separate, guardian)) => {
            opts = opts
                .set("consent.purposes", json!([flow.purpose_id()]))
                .set("consent.separate", json!(separate))
                .set("consent.by_guardian", json!(guardian));
        }
        None => opts = opts.remove("consent"),
    }
    if s.last_years_voucher {
        opts = opts.set("entitlements.health_voucher.scheme_year", json!(2025));
    }
    match s.fss {
        Some(status) => {
            opts = opts.set("entitlements.fss", json!({"beneficiary_number": "13572468", "status": status}))
        }
        None => opts = opts.remove("entitlements.fss"),
    }
    opts
}

/// The claims the pipeline would see, without a signature.
fn claims_of(env: &Env, opts: &MintOptions) -> hengqin_bridge::intake::Claims {
    let mut claims = sample_claims(env.pki.gateway_id(), opts).unwrap();
    for (path, value) in &opts.sets {
        set_path(&mut claims, path, value.clone()).unwrap();
    }
    for path in &opts.removals {
        remove_path(&mut claims, path);
    }
    parse_claims(&serde_json::to_vec(&claims).unwrap()).expect("well-formed claims")
}

fn request(partner: &str, flow: Flow, gd: bool) -> Request {
    Request {
        partner: PartnerId::parse(partner).unwrap(),
        purpose: PurposeId::parse(flow.purpose_id()).unwrap(),
        format: if gd { OutputFormat::GdLicenseAppJson } else { OutputFormat::Gbt36903Json },
    }
}

fn denied_by(d: &policy::Decision, clause: &str) -> bool {
    d.reasons.iter().any(|r| r.reason == Reason::DeniedByRule && r.clause == clause)
}

/// The shipped deny rules, restated: which clause refuses this request.
fn shipped_rule(partner: &str, flow: Flow, s: &Subject) -> Option<&'static str> {
    let kyc = flow == Flow::RealNameKyc;
    match partner {
        "hq-pharmacy-0001" => Some("hengqin.toml#deny.hq-pharmacy-0001-filing-lapsed"),
        "sz-telecom-0001" if age(s.birth) < 14 => Some("shenzhen.toml#deny.sz-telecom-under-14"),
        "fs-bank-0001" if kyc && age(s.birth) < 18 => Some("foshan.toml#deny.fs-bank-minors"),
        "dg-ss-window" | "dg-telecom-0001" if kyc => Some("dongguan.toml#deny.real-name-kyc-suspended"),
        "zs-bank-0001" if s.birnp => Some("zhongshan.toml#deny.zs-bank-0001-birp-only"),
        _ => None,
    }
}

#[test]
fn shipped_deny_rules_always_win() {
    let env = Env::at(NOW);
    let partners: Vec<String> = env.snap.policies.partners().map(|p| p.id.as_str().to_owned()).collect();
    let strategy = (0..partners.len(), prop::sample::select(Flow::ALL.to_vec()), subject());
    runner(64)
        .run(&strategy, |(p, flow, s)| {
            let partner = partners[p].as_str();
            let opts = mint_options(&env, flow, &s);
            let req = request(partner, flow, s.gd);
            let decision = policy::evaluate(&claims_of(&env, &opts), &env.snap.policies, &req, NOW);
            let rule = shipped_rule(partner, flow, &s);
            let any_rule = decision.reasons.iter().any(|r| r.reason == Reason::DeniedByRule);
            match rule {
                Some(clause) => {
                    prop_assert_eq!(decision.effect, Effect::Deny);
                    prop_assert!(denied_by(&decision, clause), "{clause} did not refuse: {:?}", decision.reasons);
                }
                None => prop_assert!(!any_rule, "no rule should match: {:?}", decision.reasons),
            }

            let jws = env.mint(&opts);
            let outcome = env.process(&TranslateRequest {
                partner,
                purpose: flow.purpose_id(),
                format: req.format.as_str(),
                nonce: NONCE,
                assertion: jws.as_bytes(),
            });
            if rule.is_some() {
                let r = outcome.as_ref().err();
                prop_assert!(r.is_some(), "a matching rule let {partner} through");
                if decision.reasons.len() == 1 {
                    let r = r.unwrap();
                    prop_assert_eq!(r.reason, Reason::DeniedByRule);
                    prop_assert_eq!(r.clause.as_deref(), rule);
                }
            } else if decision.is_permit() && !s.gd {
                prop_assert!(outcome.is_ok(), "{partner}: {:?}", outcome.err());
            }
            Ok(())
        })
        .unwrap();
}

/// A generated deny rule for Hengqin partners: each condition optional.
#[derive(Debug, Clone)]
struct Rule {
    partner: Option<&'static str>,
    purpose: Option<Flow>,
    bir_type: Option<Vec<&'static str>>,
    fss_status: Option<Vec<&'static str>>,
    age_under: Option<u8>,
    loa_below_high: bool,
}

impl Rule {
    fn toml(&self) -> String {
        let mut t = String::from("\n[[deny]]\nid = \"generated-rule\"\ndescription = \"generated\"\n");
        if let Some(p) = self.partner {
            t += &format!("partner = \"{p}\"\n");
        }
        if let Some(f) = self.purpose {
            t += &format!("purpose = \"{}\"\n", f.purpose_id());
        }
        if let Some(b) = &self.bir_type {
            t += &format!("bir_type = {b:?}\n");
        }
        if let Some(f) = &self.fss_status {
            t += &format!("fss_status = {f:?}\n");
        }
        if let Some(a) = self.age_under {
            t += &format!("age_under = {a}\n");
        }
        if self.loa_below_high {
            t += "loa_below = \"high\"\n";
        }
        t + "source = \"PIPL art. 6\"\n"
    }

    /// Whether every condition holds, restated from DESIGN §4.
    fn matches(&self, partner: &str, flow: Flow, s: &Subject) -> bool {
        self.partner.is_none_or(|p| p == partner)
            && self.purpose.is_none_or(|f| f == flow)
            && self.bir_type.as_ref().is_none_or(|t| t.contains(&if s.birnp { "BIRNP" } else { "BIRP" }))
            && self.fss_status.as_ref().is_none_or(|l| s.fss.is_some_and(|f| l.contains(&f)))
            && self.age_under.is_none_or(|a| age(s.birth) < i32::from(a))
            && (!self.loa_below_high || !s.high)
    }
}

const HENGQIN_PARTNERS: &[&str] = &["hq-clinic-0001", "hq-hospital-0001", "hq-ss-window"];

fn rule() -> impl Strategy<Value = Rule> {
    let some_of = |all: Vec<&'static str>| prop::option::of(prop::sample::subsequence(all.clone(), 1..=all.len()));
    (
        prop::option::of(prop::sample::select(HENGQIN_PARTNERS.to_vec())),
        prop::option::of(prop::sample::select(Flow::ALL.to_vec())),
        some_of(vec!["BIRP", "BIRNP"]),
        some_of(vec!["active", "suspended", "closed"]),
        prop::option::of(1u8..40),
        any::<bool>(),
    )
        .prop_map(|(partner, purpose, bir_type, fss_status, age_under, loa_below_high)| Rule {
            partner,
            purpose,
            bir_type,
            fss_status,
            age_under,
            loa_below_high,
        })
        .prop_filter("a deny rule needs a condition", |r| {
            r.partner.is_some()
                || r.purpose.is_some()
                || r.bir_type.is_some()
                || r.fss_status.is_some()
                || r.age_under.is_some()
                || r.loa_below_high
        })
}

fn copy_policies(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn any_deny_rule_wins_where_it_matches() {
    let env = Env::at(NOW);
    let strategy =
        (rule(), prop::sample::select(HENGQIN_PARTNERS.to_vec()), prop::sample::select(Flow::ALL.to_vec()), subject());
    runner(48)
        .run(&strategy, |(rule, partner, flow, s)| {
            let dir = tempfile::tempdir().unwrap();
            copy_policies(dir.path());
            let path = dir.path().join("hengqin.toml");
            let text = std::fs::read_to_string(&path).unwrap() + &rule.toml();
            std::fs::write(&path, text).unwrap();
            let set = policy::load_dir(dir.path()).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let opts = mint_options(&env, flow, &s);
            let decision = policy::evaluate(&claims_of(&env, &opts), &set, &request(partner, flow, s.gd), NOW);
            let expected = rule.matches(partner, flow, &s);
            prop_assert_eq!(
                denied_by(&decision, "hengqin.toml#deny.generated-rule"),
                expected,
                "{:?}",
                decision.reasons
            );
            if expected {
                prop_assert_eq!(decision.effect, Effect::Deny);
            }
            Ok(())
        })
        .unwrap();
}
