use super::fixtures::*;
use super::*;
use crate::intake::{BirType, FssStatus};
use crate::model::{Loa, OutputFormat, PartnerId, Reason};
use crate::trust::Verified;
use std::path::Path;
use time::macros::{date, datetime};

fn shipped() -> PolicySet {
    load_dir(&repo_dir("policies")).unwrap_or_else(|e| panic!("{}", show(&e)))
}

fn load(dir: &Path) -> PolicySet {
    load_dir(dir).unwrap_or_else(|e| panic!("{}", show(&e)))
}

fn load_err(dir: &Path) -> Vec<FileError> {
    match load_dir(dir) {
        Ok(_) => panic!("policies loaded but should not have"),
        Err(e) => e,
    }
}

/// The (reason code, clause) of every reason.
fn reasons(d: &Decision) -> Vec<(&'static str, &str)> {
    d.reasons.iter().map(|r| (r.reason.code(), r.clause.as_str())).collect()
}

fn key() -> PseudonymKey {
    PseudonymKey::from_bytes([0x42; 32])
}

// ---- loading ----

#[test]
fn shipped_policies_load() {
    let set = shipped();
    let ids: Vec<&str> = set.partners().map(|p| p.id.as_str()).collect();
    for shipped in ["gz-insurer-0001", "hq-clinic-0001", "hq-ss-window"] {
        assert!(ids.contains(&shipped), "{shipped} missing from {ids:?}");
    }
    let jurisdictions: Vec<&str> = set.jurisdictions().map(|j| j.id.as_str()).collect();
    assert_eq!(jurisdictions, ["dongguan", "foshan", "guangzhou", "hengqin", "shenzhen", "zhongshan"]);
    for j in set.jurisdictions() {
        assert!(set.partners().any(|p| p.jurisdiction == j.id), "{} has no partner", j.id);
    }
    let purposes: Vec<&str> = set.purposes().map(|p| p.id.as_str()).collect();
    assert_eq!(purposes, ["health-voucher", "real-name-kyc", "social-security"]);
    let rules = set.source_rules();
    assert_eq!(rules.max_assertion_age, time::Duration::seconds(600));
    assert_eq!(rules.clock_skew, time::Duration::seconds(60));
    assert_eq!(rules.mechanisms, [Mechanism::GbaScMo, Mechanism::Pdpa20_1Consent, Mechanism::Pdpa20_2Authorised]);

    let clinic = set.partner(&PartnerId::parse("hq-clinic-0001").unwrap()).unwrap();
    assert_eq!(clinic.jurisdiction.as_str(), "hengqin");
    assert_eq!(clinic.registered_city, "440400");
    assert_eq!(clinic.formats, [OutputFormat::Gbt36903Json]);
    assert_eq!(clinic.limits, RateLimits { rate_per_second: 20, burst: 40, daily_quota: 5000 });
    assert!(!clinic.nonce_required);
    assert_eq!(clinic.mechanism, Mechanism::GbaScMo);
    assert!(clinic.authorised_by.contains("衛生局"));

    let hv = set.purpose(&clinic.purposes[0]).unwrap();
    assert_eq!(hv.min_loa, Loa::Substantial);
    assert_eq!(hv.consent, ConsentMode::Separate);
    assert_eq!(hv.mapping, "mo-health-voucher");
    assert_eq!(hv.record_validity, time::Duration::DAY);
    assert!(hv.description.chars().count() <= 200);
    assert_eq!(hv.eligibility.bir_type, Some(vec![BirType::Birp]));
    assert!(hv.eligibility.voucher_current_year);
    let release: Vec<(&str, Form)> = hv.release.iter().collect();
    assert_eq!(
        release,
        [
            ("person.bir_number", Form::Masked),
            ("person.name_zh_hant", Form::Full),
            ("person.name_latin", Form::Full),
            ("entitlements.health_voucher.eligible", Form::Full),
            ("entitlements.health_voucher.scheme_year", Form::Full),
        ]
    );
    assert!(set.partner(&PartnerId::parse("gz-insurer-0001").unwrap()).unwrap().nonce_required);
    assert_eq!(set.trust_domains().len(), 2);
}

#[test]
fn digest_covers_sorted_files_by_relative_path() {
    let set = shipped();
    let dir = repo_dir("policies");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    let mut h = openssl::sha::Sha256::new();
    for n in &names {
        h.update(n.as_bytes());
        h.update(&[0]);
        h.update(&std::fs::read(dir.join(n)).unwrap());
    }
    assert_eq!(set.digest(), hex::encode(h.finish()));

    let copy = copy_of("policies");
    assert_eq!(load(copy.path()).digest(), set.digest(), "the directory's own path is not hashed");
    edit(copy.path(), "hengqin.toml", |t| format!("{t}\n# a comment\n"));
    assert_ne!(load(copy.path()).digest(), set.digest());
}

#[test]
fn files_reached_through_symlinks_load_as_in_a_configmap_volume() {
    // Kubernetes lays a ConfigMap out as `..<version>/` holding the files,
    // `..data` → that directory, and one link per file through `..data`.
    let tmp = tempfile::tempdir().unwrap();
    let version = tmp.path().join("..2026_01_01_00_00_00.000000001");
    std::fs::create_dir(&version).unwrap();
    for entry in std::fs::read_dir(repo_dir("policies")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        std::fs::copy(&path, version.join(&name)).unwrap();
        std::os::unix::fs::symlink(Path::new("..data").join(&name), tmp.path().join(&name)).unwrap();
    }
    std::os::unix::fs::symlink(version.file_name().unwrap(), tmp.path().join("..data")).unwrap();
    assert_eq!(load(tmp.path()).digest(), shipped().digest());
}

#[test]
fn texts_load_as_their_directory_does() {
    let texts = shipped_texts("policies/");
    let set = load_texts(texts.iter().copied()).unwrap_or_else(|e| panic!("{}", show(&e)));
    assert_eq!(set.digest(), shipped().digest());

    let macau = texts.iter().find(|(name, _)| *name == "macau.toml").unwrap().1;
    let macau = macau.replace("max_assertion_age = 600", "max_assertion_age = 0");
    let edited =
        texts.iter().map(|&(name, text)| if name == "macau.toml" { (name, macau.as_str()) } else { (name, text) });
    let text = show(&load_texts(edited.filter(|(name, _)| *name != "purposes.toml")).unwrap_err());
    for needle in ["./purposes.toml: missing policy file", "macau.toml:12: max_assertion_age must be 1 to 3600"] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn unknown_key_in_every_table_is_rejected_with_file_and_line() {
    let checked = check_unknown_keys("policies", load_dir);
    assert!(checked >= 30, "only {checked} injection sites");
}

#[test]
fn several_problems_reported_at_once() {
    let dir = copy_of("policies");
    edit(dir.path(), "purposes.toml", |t| t.replacen("min_loa = \"substantial\"", "min_loa = \"medium\"", 1));
    edit(dir.path(), "hengqin.toml", |t| {
        t.replace("purposes = [\"health-voucher\"]", "purposes = [\"health-voucher\", \"tax-refund\"]")
            .replace("daily_quota = 5000", "daily_quota = 0")
    });
    edit(dir.path(), "guangzhou.toml", |t| t.replace("registered_city = \"440100\"", "registered_city = \"110000\""));
    edit(dir.path(), "macau.toml", |t| t.replace("clock_skew = 60", "clock_skew = 900"));
    let errors = load_err(dir.path());
    let text = show(&errors);
    for needle in [
        "purposes.toml:13: unknown variant `medium`",
        "unknown purpose `tax-refund`",
        "daily_quota must be at least 1",
        "registered_city must be a GB/T 2260 code",
        "macau.toml:13: clock_skew must be 0 to 300 seconds",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let files: std::collections::BTreeSet<&str> = errors.iter().map(|e| e.file.rsplit('/').next().unwrap()).collect();
    assert_eq!(files.len(), 4, "{text}");
    let mut sorted = errors.clone();
    sorted.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    assert_eq!(sorted, errors, "errors are sorted by file and line");
}

#[test]
fn widening_a_purpose_is_a_load_error() {
    let cases = [
        ("guangzhou.toml", "[purpose.real-name-kyc]\nmin_loa = \"substantial\"\n", "widens the purpose: min_loa"),
        ("hengqin.toml", "[purpose.health-voucher]\nconsent = \"required\"\n", "widens the purpose: consent"),
        (
            "hengqin.toml",
            "[purpose.health-voucher.release]\n\"person.sex\" = \"full\"\n",
            "widens the purpose: `person.sex` is not in its release set",
        ),
        (
            "hengqin.toml",
            "[purpose.health-voucher.release]\n\"person.bir_number\" = \"full\"\n",
            "widens the purpose: `person.bir_number` is released `masked`, not `full`",
        ),
    ];
    for (file, table, needle) in cases {
        let dir = copy_of("policies");
        let narrowing = if table.contains(".release]") {
            let (head, body) = table.split_once('\n').unwrap();
            let id = head.trim_start_matches("[purpose.").trim_end_matches(".release]");
            format!("\n[purpose.{id}]\nsource = \"PIPL art. 6\"\n{head}\n{body}")
        } else {
            format!("\n{table}source = \"PIPL art. 6\"\n")
        };
        edit(dir.path(), file, |t| t + &narrowing);
        let text = show(&load_err(dir.path()));
        assert!(text.contains(file) && text.contains(needle), "{needle:?} not in:\n{text}");
    }
}

#[test]
fn narrowing_tightens_what_a_partner_gets() {
    let dir = copy_of("policies");
    edit(dir.path(), "hengqin.toml", |t| {
        t + "\n[purpose.health-voucher]\nmin_loa = \"high\"\nsource = \"PIPL art. 6\"\n\
             [purpose.health-voucher.release]\n\"person.name_zh_hant\" = \"full\"\n\"person.bir_number\" = \"masked\"\n\
             \"entitlements.health_voucher.eligible\" = \"full\"\n\"entitlements.health_voucher.scheme_year\" = \"full\"\n"
    });
    let set = load(dir.path());
    let d = evaluate(&claims(), &set, &clinic(), NOW);
    assert_eq!(reasons(&d), [("LOA_TOO_LOW", "hengqin.toml#purpose.health-voucher.min_loa")]);
    let mut high = claims();
    high.acr = Loa::High;
    let p = permit(Verified::for_tests(high), &set, &clinic(), &key(), NOW).unwrap();
    assert!(p.value("person.name_latin").is_none(), "narrowed out");
    assert_eq!(p.released().len(), 4);
}

#[test]
fn other_load_checks() {
    type Change = fn(String) -> String;
    let cases: [(&str, Change, &str); 9] = [
        (
            "hengqin.toml",
            |t| t.replacen("source = \"Law 11/2023 art. 2(5); PIPL art. 13(1)\"", "source = \"  \"", 1),
            "must cite the legal source",
        ),
        ("hengqin.toml", |t| t.replacen("name = \"横琴示例诊所（测试伙伴）\"\n", "", 1), "missing field `name`"),
        (
            "purposes.toml",
            |t| t.replacen("mode = \"separate\"", "mode = \"required\"", 1),
            "needs consent mode `separate` (PIPL art. 29)",
        ),
        (
            "purposes.toml",
            |t| t.replacen("\"person.name_latin\" = \"full\"", "\"person.name_latin\" = \"masked\"", 1),
            "form `masked` is not defined for `person.name_latin`",
        ),
        (
            "purposes.toml",
            |t| t.replacen("\"person.name_latin\"", "\"person.nickname\"", 1),
            "`person.nickname` is not a releasable claim path",
        ),
        ("purposes.toml", |t| t.replacen("audit_days = 1095", "audit_days = 30", 1), "PIPL art. 56"),
        ("macau.toml", |t| t.replacen("\"private_life\",", "", 1), "category `private_life` of PDPA art. 7 is missing"),
        ("guangzhou.toml", |t| t.replacen("id = \"guangzhou\"", "id = \"shenzhen\"", 1), "must match the file name"),
        (
            "guangzhou.toml",
            |t| {
                t.replacen("[partner.gz-insurer-0001]", "[partner.hq-clinic-0001]", 1)
                    .replace("partner.gz-insurer-0001.", "partner.hq-clinic-0001.")
            },
            "is also defined in",
        ),
    ];
    for (file, change, needle) in cases {
        let dir = copy_of("policies");
        edit(dir.path(), file, change);
        let text = show(&load_err(dir.path()));
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    let dir = copy_of("policies");
    std::fs::remove_file(dir.path().join("macau.toml")).unwrap();
    assert!(show(&load_err(dir.path())).contains("macau.toml: missing policy file"));
}

#[test]
fn gba_contract_is_open_only_to_gba_cities_and_macau() {
    let dir = copy_of("policies");
    edit(dir.path(), "macau.toml", |t| t.replace("\"442000\", \"820000\"", "\"442000\", \"820000\", \"110000\""));
    assert!(show(&load_err(dir.path())).contains("`110000` is not a GBA city or Macau"));
    let dir = copy_of("policies");
    edit(dir.path(), "macau.toml", |t| t.replace("\"441900\", \"442000\",", "\"441900\","));
    edit(dir.path(), "hengqin.toml", |t| {
        t.replace(
            "registered_city = \"440400\"\nrole = \"controller\"\npurposes = [\"health-voucher\"]",
            "registered_city = \"442000\"\nrole = \"controller\"\npurposes = [\"health-voucher\"]",
        )
    });
    let text = show(&load_err(dir.path()));
    assert!(text.contains("mechanism `GBA_SC_MO` is not open to partners registered in `442000`"), "{text}");
}

// ---- evaluate ----

#[test]
fn clinic_with_full_claims_is_permitted() {
    let set = shipped();
    let d = evaluate(&claims(), &set, &clinic(), NOW);
    assert_eq!(d, Decision { effect: Effect::Permit, reasons: vec![] });
}

#[test]
fn every_flow_of_the_shipped_policies_permits_its_partner() {
    let set = shipped();
    let mut c = claims();
    c.acr = Loa::High;
    for (partner, purpose, format) in [
        ("hq-clinic-0001", "health-voucher", OutputFormat::Gbt36903Json),
        ("hq-ss-window", "social-security", OutputFormat::GdLicenseAppJson),
        ("gz-insurer-0001", "real-name-kyc", OutputFormat::Gbt36903Json),
    ] {
        let d = evaluate(&c, &set, &request(partner, purpose, format), NOW);
        assert!(d.is_permit(), "{partner}: {:?}", d.reasons);
    }
}

#[test]
fn purpose_not_allowed() {
    let req = request("hq-clinic-0001", "social-security", OutputFormat::Gbt36903Json);
    let d = evaluate(&claims(), &shipped(), &req, NOW);
    assert_eq!(d.effect, Effect::Deny);
    assert_eq!(reasons(&d)[0], ("PURPOSE_NOT_ALLOWED", "hengqin.toml#partner.hq-clinic-0001.purposes"));
}

#[test]
fn format_not_allowed() {
    let req = request("hq-clinic-0001", "health-voucher", OutputFormat::GdLicenseAppJson);
    let d = evaluate(&claims(), &shipped(), &req, NOW);
    assert_eq!(reasons(&d), [("FORMAT_NOT_ALLOWED", "hengqin.toml#partner.hq-clinic-0001.formats")]);
}

#[test]
fn loa_too_low() {
    let req = request("gz-insurer-0001", "real-name-kyc", OutputFormat::Gbt36903Json);
    let d = evaluate(&claims(), &shipped(), &req, NOW);
    assert_eq!(reasons(&d), [("LOA_TOO_LOW", "purposes.toml#purpose.real-name-kyc.min_loa")]);
    assert_eq!(d.reasons[0].detail, "assertion level substantial is below the required high");
}

#[test]
fn consent_absent() {
    let mut c = claims();
    c.consent = None;
    let d = evaluate(&c, &shipped(), &clinic(), NOW);
    assert_eq!(reasons(&d), [("CONSENT_MISSING", "purposes.toml#purpose.health-voucher.consent.mode")]);
    assert_eq!(d.reasons[0].detail, "consent is required but absent");
}

#[test]
fn consent_not_listing_the_purpose() {
    let mut c = claims();
    c.consent.as_mut().unwrap().purposes = vec!["real-name-kyc".into()];
    let d = evaluate(&c, &shipped(), &clinic(), NOW);
    assert_eq!(reasons(&d), [("CONSENT_MISSING", "purposes.toml#purpose.health-voucher.consent.mode")]);
    assert_eq!(d.reasons[0].detail, "consent does not list the purpose");
}

#[test]
fn consent_not_separate_for_a_sensitive_purpose() {
    let mut c = claims();
    c.consent.as_mut().unwrap().separate = false;
    let d = evaluate(&c, &shipped(), &clinic(), NOW);
    assert_eq!(reasons(&d), [("CONSENT_MISSING", "purposes.toml#purpose.health-voucher.consent.mode")]);
    assert!(d.reasons[0].detail.contains("PIPL art. 29"));
    // Social security is not sensitive: ordinary consent is enough.
    let req = request("hq-ss-window", "social-security", OutputFormat::Gbt36903Json);
    assert!(evaluate(&c, &shipped(), &req, NOW).is_permit());
}

#[test]
fn under_14_needs_a_guardian() {
    let mut c = claims();
    c.person.birth_date = date!(2012 - 03 - 16); // 14 tomorrow
    let d = evaluate(&c, &shipped(), &clinic(), NOW);
    assert_eq!(reasons(&d), [("CONSENT_MISSING", "hengqin.toml#jurisdiction.minor_age")]);
    assert!(d.reasons[0].detail.contains("guardian"));
    c.consent.as_mut().unwrap().by_guardian = true;
    assert!(evaluate(&c, &shipped(), &clinic(), NOW).is_permit());
    // The birthday counts in UTC+8: at 00:00 in Macau on 2026-03-16 she is 14,
    // though it is still the 15th in UTC.
    c.consent.as_mut().unwrap().by_guardian = false;
    assert!(!evaluate(&c, &shipped(), &clinic(), datetime!(2026-03-15 15:59 UTC)).is_permit());
    assert!(evaluate(&c, &shipped(), &clinic(), datetime!(2026-03-15 16:00 UTC)).is_permit());
}

#[test]
fn minors_need_consent_even_where_the_purpose_needs_none() {
    let dir = copy_of("policies");
    edit(dir.path(), "purposes.toml", |t| {
        let at = t.find("id = \"social-security\"").unwrap();
        let (head, tail) = t.split_at(at);
        format!("{head}{}", tail.replacen("mode = \"required\"", "mode = \"none\"", 1))
    });
    let set = load(dir.path());
    let req = request("hq-ss-window", "social-security", OutputFormat::Gbt36903Json);
    let mut c = claims();
    c.consent = None;
    assert!(evaluate(&c, &set, &req, NOW).is_permit());
    c.person.birth_date = date!(2015 - 01 - 01);
    let d = evaluate(&c, &set, &req, NOW);
    assert_eq!(reasons(&d), [("CONSENT_MISSING", "hengqin.toml#jurisdiction.minor_age")]);
}

#[test]
fn consent_dated_in_the_future_does_not_count() {
    let mut c = claims();
    c.consent.as_mut().unwrap().given_at = NOW.unix_timestamp() + 3600;
    let d = evaluate(&c, &shipped(), &clinic(), NOW);
    assert_eq!(d.reasons[0].reason, Reason::ConsentMissing);
}

#[test]
fn birnp_is_not_eligible_for_the_voucher() {
    let mut c = claims();
    c.person.bir_type = BirType::Birnp;
    let d = evaluate(&c, &shipped(), &clinic(), NOW);
    assert_eq!(reasons(&d), [("NOT_ELIGIBLE", "purposes.toml#purpose.health-voucher.eligibility.bir_type")]);
}

#[test]
fn last_years_voucher_is_not_eligible() {
    let mut c = claims();
    c.entitlements.health_voucher.as_mut().unwrap().scheme_year = 2025;
    let d = evaluate(&c, &shipped(), &clinic(), NOW);
    let clause = "purposes.toml#purpose.health-voucher.eligibility.voucher_current_year";
    assert_eq!(reasons(&d), [("NOT_ELIGIBLE", clause)]);
    // The scheme year is the calendar year in UTC+8.
    let new_year = datetime!(2025-12-31 16:30 UTC);
    let mut fresh = claims();
    fresh.consent.as_mut().unwrap().given_at = new_year.unix_timestamp() - 60;
    c.consent = fresh.consent.clone();
    assert!(evaluate(&fresh, &shipped(), &clinic(), new_year).is_permit());
    assert_eq!(reasons(&evaluate(&c, &shipped(), &clinic(), new_year)), [("NOT_ELIGIBLE", clause)]);
    c.entitlements.health_voucher = None;
    assert_eq!(reasons(&evaluate(&c, &shipped(), &clinic(), NOW)), [("NOT_ELIGIBLE", clause)]);
    let mut c = claims();
    c.entitlements.health_voucher.as_mut().unwrap().eligible = false;
    assert_eq!(reasons(&evaluate(&c, &shipped(), &clinic(), NOW)), [("NOT_ELIGIBLE", clause)]);
}

#[test]
fn inactive_fss_and_missing_permit_are_not_eligible() {
    let mut c = claims();
    c.entitlements.fss.as_mut().unwrap().status = FssStatus::Suspended;
    let req = request("hq-ss-window", "social-security", OutputFormat::Gbt36903Json);
    let d = evaluate(&c, &shipped(), &req, NOW);
    assert_eq!(reasons(&d), [("NOT_ELIGIBLE", "purposes.toml#purpose.social-security.eligibility.fss_status")]);
    let mut c = claims();
    c.acr = Loa::High;
    c.person.mtp_number = None;
    let req = request("gz-insurer-0001", "real-name-kyc", OutputFormat::Gbt36903Json);
    let d = evaluate(&c, &shipped(), &req, NOW);
    assert_eq!(reasons(&d), [("NOT_ELIGIBLE", "purposes.toml#purpose.real-name-kyc.eligibility.present")]);
}

fn with_deny_rule(rule: &str) -> PolicySet {
    let dir = copy_of("policies");
    edit(dir.path(), "hengqin.toml", |t| format!("{t}\n[[deny]]\n{rule}\nsource = \"PIPL art. 6\"\n"));
    load(dir.path())
}

#[test]
fn deny_rule_refuses_where_every_permit_holds() {
    let set = with_deny_rule(
        "id = \"clinic-needs-high\"\ndescription = \"clinic under review: high assurance only\"\n\
         partner = \"hq-clinic-0001\"\npurpose = \"health-voucher\"\nloa_below = \"high\"",
    );
    let d = evaluate(&claims(), &set, &clinic(), NOW);
    assert_eq!(reasons(&d), [("DENIED_BY_RULE", "hengqin.toml#deny.clinic-needs-high")]);
    assert!(d.reasons[0].detail.contains("hengqin.toml#deny.clinic-needs-high"));
    let mut high = claims();
    high.acr = Loa::High;
    assert!(evaluate(&high, &set, &clinic(), NOW).is_permit());
    let rejection = permit(Verified::for_tests(claims()), &set, &clinic(), &key(), NOW).unwrap_err();
    assert_eq!(rejection.reason, Reason::DeniedByRule);
    assert_eq!(rejection.clause.as_deref(), Some("hengqin.toml#deny.clinic-needs-high"));
}

#[test]
fn deny_rule_on_claim_values() {
    let set = with_deny_rule("id = \"no-minors\"\ndescription = \"no minors\"\nage_under = 18\nbir_type = [\"BIRP\"]");
    let mut c = claims();
    c.person.birth_date = date!(2010 - 01 - 01);
    c.consent.as_mut().unwrap().by_guardian = true;
    let d = evaluate(&c, &set, &clinic(), NOW);
    assert_eq!(reasons(&d), [("DENIED_BY_RULE", "hengqin.toml#deny.no-minors")]);
    assert!(evaluate(&claims(), &set, &clinic(), NOW).is_permit());
}

#[test]
fn malformed_deny_rules_are_load_errors() {
    for (rule, needle) in [
        ("id = \"x\"\ndescription = \"everything\"", "needs at least one condition"),
        ("id = \"x\"\ndescription = \"d\"\npartner = \"gz-insurer-0001\"", "belongs to another jurisdiction"),
        ("id = \"x\"\ndescription = \"d\"\npurpose = \"tax\"", "unknown purpose `tax`"),
        ("id = \"x\"\ndescription = \"d\"\nloa_below = \"substantial\"", "can never match"),
        ("id = \"x\"\ndescription = \"d\"\nage_under = 14\nsex = \"F\"", "unknown field `sex`"),
    ] {
        let dir = copy_of("policies");
        edit(dir.path(), "hengqin.toml", |t| format!("{t}\n[[deny]]\n{rule}\nsource = \"PIPL art. 6\"\n"));
        let text = show(&load_err(dir.path()));
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
}

#[test]
fn every_fault_is_collected_in_the_fixed_order() {
    let mut c = claims();
    c.consent = None;
    c.person.bir_type = BirType::Birnp;
    let req = request("gz-insurer-0001", "health-voucher", OutputFormat::GdLicenseAppJson);
    let set = shipped();
    let d = evaluate(&c, &set, &req, NOW);
    let codes: Vec<&str> = d.reasons.iter().map(|r| r.reason.code()).collect();
    assert_eq!(codes, ["PURPOSE_NOT_ALLOWED", "CONSENT_MISSING", "NOT_ELIGIBLE"]);
    let req = request("gz-insurer-0001", "real-name-kyc", OutputFormat::Gbt36903Json);
    let d = evaluate(&c, &set, &req, NOW);
    let codes: Vec<&str> = d.reasons.iter().map(|r| r.reason.code()).collect();
    assert_eq!(codes, ["LOA_TOO_LOW", "CONSENT_MISSING"]);
}

#[test]
fn unknown_partner_or_purpose_fails_closed() {
    let set = shipped();
    let d = evaluate(&claims(), &set, &request("nobody", "health-voucher", OutputFormat::Gbt36903Json), NOW);
    assert_eq!(d.effect, Effect::Deny);
    assert_eq!(d.reasons[0].reason, Reason::UnknownPartner);
    let d = evaluate(&claims(), &set, &request("hq-clinic-0001", "tax", OutputFormat::Gbt36903Json), NOW);
    assert_eq!(d.reasons[0].reason, Reason::UnknownPurpose);
    assert!(
        permit(
            Verified::for_tests(claims()),
            &set,
            &request("hq-clinic-0001", "tax", OutputFormat::Gbt36903Json),
            &key(),
            NOW
        )
        .is_err()
    );
}

#[test]
fn ages_in_whole_years() {
    assert_eq!(age_on(date!(2000 - 02 - 29), date!(2014 - 02 - 28)), 13);
    assert_eq!(age_on(date!(2000 - 02 - 29), date!(2014 - 03 - 01)), 14);
    assert_eq!(age_on(date!(2000 - 02 - 29), date!(2016 - 02 - 29)), 16);
    assert_eq!(age_on(date!(2000 - 06 - 15), date!(2000 - 06 - 15)), 0);
}

// ---- permit ----

#[test]
fn permit_releases_only_the_release_set_with_forms_applied() {
    let set = shipped();
    let p = permit(Verified::for_tests(claims()), &set, &clinic(), &key(), NOW).unwrap();
    let released: Vec<(&str, Form, &crate::intake::ClaimValue)> =
        p.released().iter().map(|r| (r.claim.as_str(), r.form, &r.value)).collect();
    use crate::intake::ClaimValue::*;
    assert_eq!(
        released,
        [
            ("person.bir_number", Form::Masked, &Text("1234***(8)".into())),
            ("person.name_zh_hant", Form::Full, &Text("鍾嘉欣".into())),
            ("person.name_latin", Form::Full, &Text("CHUNG KA YAN".into())),
            ("entitlements.health_voucher.eligible", Form::Full, &Bool(true)),
            ("entitlements.health_voucher.scheme_year", Form::Full, &Integer(2026)),
        ]
    );
    assert!(p.value("person.mtp_number").is_none());
    assert!(p.value("entitlements.health_voucher.balance_mop").is_none());
    assert_eq!(p.partner().as_str(), "hq-clinic-0001");
    assert_eq!(p.jurisdiction().as_str(), "hengqin");
    assert_eq!(p.purpose().as_str(), "health-voucher");
    assert_eq!(p.format(), OutputFormat::Gbt36903Json);
    assert_eq!(p.purpose_description(), "澳门医疗券在横琴使用的持券人核验");
    assert_eq!(p.mapping_id(), "mo-health-voucher");
    assert_eq!(p.record_validity(), time::Duration::DAY);
    assert_eq!(p.source_issuer(), "https://eid.dsi.gov.mo");
    assert_eq!(p.source_sha256(), "0".repeat(64));
    assert_eq!(p.policy_digest(), set.digest());
    assert_eq!(p.released_claims()[0].form, "masked");
}

#[test]
fn permit_refusal_carries_code_detail_and_clause() {
    let mut c = claims();
    c.person.bir_type = BirType::Birnp;
    let r = permit(Verified::for_tests(c), &shipped(), &clinic(), &key(), NOW).unwrap_err();
    assert_eq!(r.reason, Reason::NotEligible);
    assert_eq!(r.clause.as_deref(), Some("purposes.toml#purpose.health-voucher.eligibility.bir_type"));
    assert!(!r.detail.contains("BIRNP") && !r.detail.contains("1234"), "no personal data: {}", r.detail);
}

#[test]
fn pseudonyms_are_keyed_and_differ_across_partners() {
    let dir = copy_of("policies");
    edit(dir.path(), "purposes.toml", |t| {
        t.replacen("\"person.bir_number\" = \"masked\"", "\"person.bir_number\" = \"pseudonym\"", 1)
    });
    edit(dir.path(), "hengqin.toml", |t| {
        let start = t.find("[partner.hq-clinic-0001]").unwrap();
        let end = t.find("# The Guangdong–Macao social-security").unwrap();
        format!("{t}\n{}", t[start..end].replace("hq-clinic-0001", "hq-clinic-0002"))
    });
    let set = load(dir.path());
    let a = permit(Verified::for_tests(claims()), &set, &clinic(), &key(), NOW).unwrap();
    let other = request("hq-clinic-0002", "health-voucher", OutputFormat::Gbt36903Json);
    let b = permit(Verified::for_tests(claims()), &set, &other, &key(), NOW).unwrap();
    let (pa, pb) = (a.value("person.bir_number").unwrap(), b.value("person.bir_number").unwrap());
    assert_eq!(pa.form, Form::Pseudonym);
    let crate::intake::ClaimValue::Text(va) = &pa.value else { panic!("text") };
    assert_eq!(va, &key().pseudonym(a.partner(), "12345678"));
    assert_eq!(va.len(), 64);
    assert_ne!(pa.value, pb.value, "two partners never get linkable pseudonyms");
}

#[test]
fn masked_and_pseudonym_forms_of_other_identifiers() {
    let dir = copy_of("policies");
    // Jurisdictions that restate the social-security release set would
    // widen the edited purpose; only those of the requests below stay.
    keep_jurisdictions(dir.path(), &["hengqin.toml", "guangzhou.toml"]);
    edit(dir.path(), "purposes.toml", |t| {
        t.replacen("\"person.mtp_number\" = \"full\"", "\"person.mtp_number\" = \"pseudonym\"", 1).replacen(
            "\"entitlements.fss.beneficiary_number\" = \"full\"",
            "\"entitlements.fss.beneficiary_number\" = \"masked\"",
            1,
        )
    });
    let set = load(dir.path());
    let mut c = claims();
    c.acr = Loa::High;
    let kyc = request("gz-insurer-0001", "real-name-kyc", OutputFormat::Gbt36903Json);
    let p = permit(Verified::for_tests(c.clone()), &set, &kyc, &key(), NOW).unwrap();
    let expected = key().pseudonym(p.partner(), "M87654321");
    assert_eq!(p.value("person.mtp_number").unwrap().value, crate::intake::ClaimValue::Text(expected));
    let ss = request("hq-ss-window", "social-security", OutputFormat::Gbt36903Json);
    let p = permit(Verified::for_tests(c), &set, &ss, &key(), NOW).unwrap();
    let v = &p.value("entitlements.fss.beneficiary_number").unwrap().value;
    assert_eq!(v, &crate::intake::ClaimValue::Text("*******3456".into()));
}

/// Property: a matching deny rule refuses whatever else holds, and a
/// Permit never comes with a matching rule.
#[test]
fn deny_wins_over_permit() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let set = with_deny_rule("id = \"under-30\"\ndescription = \"test\"\npartner = \"hq-clinic-0001\"\nage_under = 30");
    let strategy = (1990i32..2012, any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>());
    let mut runner = TestRunner::new(Config::with_cases(128));
    runner
        .run(&strategy, |(year, high, separate, guardian, permanent)| {
            let mut c = claims();
            c.person.birth_date = time::Date::from_calendar_date(year, time::Month::March, 15).unwrap();
            c.acr = if high { Loa::High } else { Loa::Substantial };
            c.person.bir_type = if permanent { BirType::Birp } else { BirType::Birnp };
            let consent = c.consent.as_mut().unwrap();
            consent.separate = separate;
            consent.by_guardian = guardian;
            let d = evaluate(&c, &set, &clinic(), NOW);
            let denied_by_rule = d.reasons.iter().any(|r| r.reason == Reason::DeniedByRule);
            prop_assert_eq!(denied_by_rule, age_on(c.person.birth_date, NOW.date()) < 30);
            if denied_by_rule {
                prop_assert_eq!(d.effect, Effect::Deny);
            }
            prop_assert_eq!(d.is_permit(), d.reasons.is_empty());
            Ok(())
        })
        .unwrap();
}
