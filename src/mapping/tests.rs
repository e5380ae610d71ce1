use super::*;
use crate::intake::Claims;
use crate::licence::record::{Holder, MappedRecord, SurfaceItem, SurfaceValue};
use crate::model::{Loa, OutputFormat};
use crate::policy::fixtures::*;
use crate::policy::{PolicySet, PseudonymKey, Request, permit};
use crate::trust::Verified;
use std::path::Path;
use time::macros::date;

fn shipped() -> MappingSet {
    load_dir(&repo_dir("mappings")).unwrap_or_else(|e| panic!("{}", show(&e)))
}

fn policies() -> PolicySet {
    crate::policy::load_dir(&repo_dir("policies")).unwrap_or_else(|e| panic!("{}", show(&e)))
}

fn load_err(dir: &Path) -> String {
    match load_dir(dir) {
        Ok(_) => panic!("mappings loaded but should not have"),
        Err(e) => show(&e),
    }
}

fn mapped(claims: Claims, req: &Request) -> MappedRecord {
    let key = PseudonymKey::from_bytes([9; 32]);
    let permitted = permit(Verified::for_tests(claims), &policies(), req, &key, NOW).expect("permitted");
    let set = shipped();
    map(&permitted, set.get(permitted.mapping_id()).expect("mapping")).expect("mapped")
}

fn item(name: &str, value: SurfaceValue, column: &str, pinyin: &str) -> SurfaceItem {
    SurfaceItem { name: name.into(), value, column_name: column.into(), pinyin_code: Some(pinyin.into()) }
}

fn text(s: &str) -> SurfaceValue {
    SurfaceValue::Text(s.into())
}

#[test]
fn shipped_mappings_load_and_fit_the_shipped_policies() {
    let set = shipped();
    let ids: Vec<&str> = set.mappings().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["mo-health-voucher", "mo-real-name-kyc", "mo-social-security"]);
    let hv = set.get("mo-health-voucher").unwrap();
    assert_eq!((hv.version.as_str(), hv.type_sequence.as_str()), ("1", "001"));
    assert_eq!(hv.reference(), "mo-health-voucher@1");
    for t in [
        "sex",
        "holder-id-type",
        "holder-id-type-tax",
        "holder-id-type-gd-license-app",
        "holder-id-type-nhsa",
        "area",
        "country",
    ] {
        let table = set.table(t).unwrap_or_else(|| panic!("table {t}"));
        assert!(!table.standard.is_empty());
    }
    assert_eq!(set.table("sex").unwrap().code_for("F"), Some("2"));
    assert!(set.table("holder-id-type-gd-license-app").unwrap().unconfirmed);
    assert!(set.names().exceptions().any(|e| e.traditional == '鍾' && e.source.contains("通用规范汉字表")));
    let problems = check_policies(&set, &policies());
    assert!(problems.is_empty(), "{}", show(&problems));
}

#[test]
fn texts_load_as_their_directory_does() {
    let texts = shipped_texts("mappings/");
    let set = load_texts(texts.iter().copied()).unwrap_or_else(|e| panic!("{}", show(&e)));
    let ids = |s: &MappingSet| s.mappings().map(Mapping::reference).collect::<Vec<_>>();
    assert_eq!(ids(&set), ids(&shipped()));
    assert_eq!(set.table("sex"), shipped().table("sex"));

    let sex = texts.iter().find(|(name, _)| *name == "codes/sex.toml").unwrap().1;
    let sex = sex.replace("id = \"sex\"", "id = \"gender\"");
    let edited =
        texts.iter().map(|&(name, text)| if name == "codes/sex.toml" { (name, sex.as_str()) } else { (name, text) });
    let text = show(&load_texts(edited.filter(|(name, _)| !name.ends_with(NAME_EXCEPTIONS))).unwrap_err());
    for needle in ["./codes/name-exceptions.toml: missing name-exception table", "codes/sex.toml:3: table id `gender`"]
    {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn health_voucher_record() {
    let record = mapped(claims(), &clinic());
    let expected = MappedRecord {
        licence_name: "澳门居民医疗券持券人核验证明".into(),
        type_name: "澳门医疗券持券人核验".into(),
        type_sequence: "001".into(),
        holders: vec![Holder {
            name: "锺嘉欣".into(),
            code: "1234***(8)".into(),
            code_type: "999".into(),
            code_type_name: "澳门特别行政区居民身份证".into(),
        }],
        surface: vec![
            item("持证人姓名(繁体)", text("鍾嘉欣"), "holder_name_zh_hant", "CYRMCFT"),
            item("姓名", text("锺嘉欣"), "holder_name", "CYRMC"),
            item("拉丁文姓名", text("CHUNG KA YAN"), "holder_name_latin", "LDWXM"),
            item("澳门居民身份证号码", text("1234***(8)"), "macau_bir_number", "AMJMSFZHM"),
            item("医疗券资格", SurfaceValue::Bool(true), "health_voucher_eligible", "YLQZG"),
            item("计划年度", SurfaceValue::Integer(2026), "health_voucher_scheme_year", "JHND"),
        ],
        name_review: vec![
            "鍾→锺: contested, the 2013 table restored 锺 for the surname 鍾; generic converters give 钟, \
             the simplification of the different surname 鐘"
                .into(),
        ],
        mapping: "mo-health-voucher@1".into(),
    };
    assert_eq!(record, expected);
}

#[test]
fn a_claim_that_was_not_released_never_reaches_the_record() {
    let record = mapped(claims(), &clinic());
    let dump = format!("{record:?}");
    // Present in the assertion, not in the health-voucher release set.
    for absent in ["M8765432", "1985", "FSS00123456", "600", "6945", "2031", "12345678"] {
        assert!(!dump.contains(absent), "{absent} leaked into {dump}");
    }
    assert!(!record.surface.iter().any(|s| s.column_name == "sex" || s.column_name == "birth_date"));
}

#[test]
fn first_of_takes_the_travel_permit_when_released() {
    let mut c = claims();
    c.acr = Loa::High;
    let kyc = request("gz-insurer-0001", "real-name-kyc", OutputFormat::Gbt36903Json);
    let record = mapped(c.clone(), &kyc);
    let h = &record.holders[0];
    assert_eq!(
        (h.code.as_str(), h.code_type.as_str(), h.code_type_name.as_str()),
        ("M87654321", "516", "港澳居民来往内地通行证")
    );
    let by_column = |c: &str| record.surface.iter().find(|s| s.column_name == c).map(|s| s.value.clone());
    assert_eq!(by_column("sex"), Some(text("2")));
    assert_eq!(by_column("birth_date"), Some(SurfaceValue::Date(date!(1985 - 01 - 02))));
    assert_eq!(by_column("mtp_number"), Some(text("M8765432101")));
    assert!(!format!("{record:?}").contains("12345678"), "BIR is not released for real-name-kyc");

    let ss = request("hq-ss-window", "social-security", OutputFormat::Gbt36903Json);
    let record = mapped(c, &ss);
    let h = &record.holders[0];
    assert_eq!((h.code.as_str(), h.code_type.as_str()), ("12345678", "999"));
    assert_eq!(h.code_type_name, "澳门特别行政区居民身份证");
}

#[test]
fn zhong_becomes_the_2013_form_and_the_original_is_kept() {
    let names = shipped();
    let z = names.names().convert("鍾");
    assert_eq!(z.simplified, "锺");
    assert_eq!(z.original, "鍾");
    assert_eq!(z.review.len(), 1);
    assert!(z.review[0].starts_with("鍾→锺: contested"));
    // 鐘 is a different surname: the generic conversion stands, unflagged.
    let z = names.names().convert("鐘");
    assert_eq!((z.simplified.as_str(), z.review.len()), ("钟", 0));
    let plain = names.names().convert("陳大文");
    assert_eq!((plain.simplified.as_str(), plain.review.len()), ("陈大文", 0));
    let record = mapped(claims(), &clinic());
    assert_eq!(record.surface[0].value, text("鍾嘉欣"), "the Traditional original stays in the record");
}

#[test]
fn contested_and_non_gbk_characters_are_flagged() {
    let set = shipped();
    let z = set.names().convert("衞");
    assert_eq!(z.simplified, "卫");
    assert!(z.review[0].contains("converters disagree"), "{:?}", z.review);
    let z = set.names().convert("黃𨋢");
    assert!(z.review.iter().any(|r| r.ends_with("outside GBK")), "{:?}", z.review);
    assert!(in_gbk('锺') && in_gbk('陈') && !in_gbk('𨋢'));
    let z = set.names().convert("乾");
    assert_eq!(z.simplified, "乾");
    assert!(z.review[0].contains("contested"));
}

#[test]
fn wrong_mapping_is_an_internal_error() {
    let key = PseudonymKey::from_bytes([9; 32]);
    let permitted = permit(Verified::for_tests(claims()), &policies(), &clinic(), &key, NOW).unwrap();
    let err = map(&permitted, shipped().get("mo-real-name-kyc").unwrap()).unwrap_err();
    assert!(matches!(err, MappingError::WrongMapping { .. }));
    assert_eq!(err.reason(), crate::model::Reason::Internal);
}

#[test]
fn unknown_key_in_every_table_is_rejected_with_file_and_line() {
    let checked = check_unknown_keys("mappings", load_dir);
    assert!(checked >= 60, "only {checked} injection sites");
}

#[test]
fn mapping_load_checks() {
    let cases: [(&str, &str, &str, &str); 10] = [
        (
            "mo-health-voucher.toml",
            "{ copy = \"person.name_latin\" }",
            "{ copy = \"person.nickname\" }",
            "`person.nickname` is not a claim path",
        ),
        ("mo-social-security.toml", "table = \"sex\"", "table = \"gender\"", "unknown code table `gender`"),
        (
            "mo-social-security.toml",
            "{ date = \"person.birth_date\" }",
            "{ date = \"person.name_latin\" }",
            "`person.name_latin` is not a date",
        ),
        (
            "mo-social-security.toml",
            "{ date = \"person.birth_date\" }",
            "{ date = \"person.birth_date\", take = 4 }",
            "take applies to text only",
        ),
        (
            "mo-health-voucher.toml",
            "{ copy = \"person.name_latin\" }",
            "{ copy = \"person.name_latin\", const = \"x\" }",
            "exactly one of",
        ),
        (
            "mo-health-voucher.toml",
            "column_name = \"holder_name_latin\"",
            "column_name = \"HolderNameLatin\"",
            "snake_case",
        ),
        (
            "mo-health-voucher.toml",
            "pinyin_code = \"LDWXM\"",
            "pinyin_code = \"CYRMC\"",
            "pinyin_code `CYRMC` is used twice",
        ),
        (
            "mo-health-voucher.toml",
            "code_type = \"516\"",
            "code_type = \"517\"",
            "`517` is not a code of `holder-id-type`",
        ),
        ("mo-health-voucher.toml", "type_sequence = \"001\"", "type_sequence = \"1\"", "type_sequence is three digits"),
        (
            "mo-health-voucher.toml",
            "value = { copy = \"person.name_zh_hant\" }",
            "value = { const = \"x\" }",
            "the Traditional original is kept",
        ),
    ];
    for (file, from, to, needle) in cases {
        let dir = copy_of("mappings");
        edit(dir.path(), file, |t| {
            assert!(t.contains(from), "{from} not in {file}");
            t.replacen(from, to, 1)
        });
        let text = load_err(dir.path());
        assert!(text.contains(needle) && text.contains(file), "{needle:?} not in:\n{text}");
    }
    // Several problems in several files, at once.
    let dir = copy_of("mappings");
    edit(dir.path(), "mo-health-voucher.toml", |t| t.replace("version = \"1\"", "version = \"one\""));
    edit(dir.path(), "mo-real-name-kyc.toml", |t| t.replace("table = \"sex\"", "table = \"gender\""));
    edit(dir.path(), "codes/sex.toml", |t| t.replace("from = [\"F\"]", "from = [\"M\"]"));
    edit(dir.path(), "codes/name-exceptions.toml", |t| t.replace("traditional = \"鍾\"", "traditional = \"鍾鐘\""));
    let text = load_err(dir.path());
    for needle in [
        "mo-health-voucher.toml:6: version is 1 to 3",
        "mo-real-name-kyc.toml",
        "codes/sex.toml:19: input `M` maps to two codes",
        "codes/name-exceptions.toml:12: traditional must be exactly one character",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
}

#[test]
fn cross_check_with_policies() {
    let set = shipped();
    let dir = copy_of("policies");
    edit(dir.path(), "hengqin.toml", |t| {
        t + "\n[purpose.health-voucher]\nsource = \"PIPL art. 6\"\n[purpose.health-voucher.release]\n\
             \"person.name_zh_hant\" = \"full\"\n\"person.bir_number\" = \"masked\"\n\
             \"entitlements.health_voucher.eligible\" = \"full\"\n\"entitlements.health_voucher.scheme_year\" = \"full\"\n"
    });
    edit(dir.path(), "purposes.toml", |t| t.replacen("mapping = \"mo-real-name-kyc\"", "mapping = \"mo-kyc\"", 1));
    let policies = crate::policy::load_dir(dir.path()).unwrap_or_else(|e| panic!("{}", show(&e)));
    let text = show(&check_policies(&set, &policies));
    assert!(
        text.contains(
            "needs one of [person.name_latin], which purpose `health-voucher` does not release to `hq-clinic-0001`"
        ),
        "{text}"
    );
    assert!(text.contains("purposes.toml:") && text.contains("unknown mapping `mo-kyc`"), "{text}");
}

#[test]
fn holder_code_types_need_a_code_in_each_allowed_formats_table() {
    let policies = policies();
    let mdir = copy_of("mappings");
    edit(mdir.path(), "codes/holder-id-type-gd-license-app.toml", |t| {
        t.replace("from = [\"516\", \"999\"]", "from = [\"999\"]")
    });
    let set = load_dir(mdir.path()).unwrap_or_else(|e| panic!("{}", show(&e)));
    let text = show(&check_policies(&set, &policies));
    assert!(
        text.contains(
            "mapping `mo-real-name-kyc` gives holder code type `516`, which code table \
             `holder-id-type-gd-license-app` does not translate for format gd-license-app+json of `gz-insurer-0001`"
        ),
        "{text}"
    );
    // The clinic asks only for gbt36903+json, which writes the codes as they are.
    assert!(!text.contains("hq-clinic-0001"), "{text}");

    std::fs::remove_file(mdir.path().join("codes/holder-id-type-gd-license-app.toml")).unwrap();
    let set = load_dir(mdir.path()).unwrap_or_else(|e| panic!("{}", show(&e)));
    let text = show(&check_policies(&set, &policies));
    assert!(text.contains("gives holder code type `999`, which code table"), "{text}");
}

#[test]
fn typed_transforms_refuse_masked_claims() {
    let set = shipped();
    let dir = copy_of("policies");
    keep_jurisdictions(dir.path(), &["hengqin.toml", "guangzhou.toml"]);
    edit(dir.path(), "purposes.toml", |t| {
        t.replacen(
            "\"entitlements.fss.beneficiary_number\" = \"full\"",
            "\"entitlements.fss.beneficiary_number\" = \"masked\"",
            1,
        )
    });
    let policies = crate::policy::load_dir(dir.path()).unwrap();
    assert!(check_policies(&set, &policies).is_empty(), "copy renders a masked value as it is");
    let mdir = copy_of("mappings");
    edit(mdir.path(), "mo-social-security.toml", |t| {
        t.replace(
            "value = { copy = \"entitlements.fss.beneficiary_number\" }",
            "value = { zh_hans = \"entitlements.fss.beneficiary_number\" }",
        ) + "\n[[surface]]\nname = \"受益人编号原文\"\ncolumn_name = \"fss_number_raw\"\npinyin_code = \"SYRBHYW\"\nvalue = { copy = \"entitlements.fss.beneficiary_number\" }\n"
    });
    let mset = load_dir(mdir.path()).unwrap_or_else(|e| panic!("{}", show(&e)));
    let text = show(&check_policies(&mset, &policies));
    assert!(text.contains("reads `entitlements.fss.beneficiary_number` as a typed value"), "{text}");
}

/// Property: whatever the claims, a record holds no value of a claim the
/// policy did not release, and no full value of a claim released masked or
/// as a pseudonym.
#[test]
fn no_unreleased_value_ever_reaches_a_record() {
    use crate::intake::{BirType, ClaimValue, RELEASABLE_PATHS};
    use crate::model::{BirNumber, MtpNumber};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let (policies, mappings) = (policies(), shipped());
    let key = PseudonymKey::from_bytes([3; 32]);
    let flows = [
        clinic(),
        request("hq-ss-window", "social-security", OutputFormat::Gbt36903Json),
        request("gz-insurer-0001", "real-name-kyc", OutputFormat::GdLicenseAppJson),
    ];
    let strategy = (
        "[157][0-9]{7}",
        "M[0-9]{8}([0-9]{2})?",
        "[A-Z]{6,12}",
        "FSS[0-9]{8}",
        1_000_000i64..9_999_999,
        1950i32..2005,
        any::<bool>(),
        0usize..3,
    );
    let mut runner = TestRunner::new(Config::with_cases(96));
    runner
        .run(&strategy, |(bir, mtp, latin, fss, balance, year, permanent, flow)| {
            let mut c = claims();
            c.acr = Loa::High;
            c.person.bir_number = BirNumber::parse(&bir).unwrap();
            c.person.bir_type = if permanent { BirType::Birp } else { BirType::Birnp };
            c.person.mtp_number = Some(MtpNumber::parse(&mtp).unwrap());
            c.person.name_latin = format!("{latin} {latin}");
            c.person.birth_date = time::Date::from_calendar_date(year, time::Month::July, 9).unwrap();
            c.entitlements.fss.as_mut().unwrap().beneficiary_number = fss;
            c.entitlements.health_voucher.as_mut().unwrap().balance_mop = balance;
            let Ok(p) = permit(Verified::for_tests(c.clone()), &policies, &flows[flow], &key, NOW) else {
                return Ok(()); // a refusal releases nothing at all
            };
            let record = map(&p, mappings.get(p.mapping_id()).unwrap()).unwrap();
            let dump = format!("{record:?}");
            for path in RELEASABLE_PATHS {
                let full = match c.value_at(path) {
                    Some(ClaimValue::Text(s)) if s.len() >= 6 => s,
                    Some(ClaimValue::Integer(i)) if i >= 1_000_000 => i.to_string(),
                    Some(ClaimValue::Date(d)) => d.to_string(),
                    _ => continue,
                };
                let shown_full = p.value(path).is_some_and(|r| r.form == crate::policy::Form::Full);
                // The MTP's first 9 characters are the holder code when released.
                let shown_key = *path == "person.mtp_number" && shown_full;
                if !shown_full && !shown_key {
                    prop_assert!(!dump.contains(&full), "{path} leaked in {}", flows[flow].purpose);
                }
            }
            Ok(())
        })
        .unwrap();
}
