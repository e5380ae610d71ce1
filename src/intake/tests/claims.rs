//! `parse_claims`: DESIGN §2's claim table.

use crate::intake::*;
use crate::model::{BirNumber, Loa, MtpNumber, Reason, ResidencePermitNumber};
use serde_json::{Value, json};
use time::macros::date;

fn valid() -> Value {
    json!({
        "iss": "https://eid.dsi.gov.mo",
        "aud": "hengqin-bridge-01",
        "iat": 1_767_225_600, "nbf": 1_767_225_600, "exp": 1_767_225_900,
        "jti": "4f1c2b7e-0b5e-4a7f-9f10-1c2d3e4f5a6b",
        "nonce": "n-0S6_WzA2Mj",
        "acr": "mo:loa:high",
        "eid_status": "active",
        "consent": {
            "id": "c-2026-000123", "purposes": ["health-voucher", "social-security"],
            "given_at": 1_767_225_500, "separate": true, "by_guardian": false
        },
        "person": {
            "bir_number": "1234567(8)", "bir_type": "BIRP", "bir_expiry": "2031-05-20",
            "name_zh_hant": "陳大文", "name_latin": "CHAN TAI MAN", "telegraph_codes": ["7115", "1129", "2429"],
            "sex": "M", "birth_date": "1985-06-15", "mtp_number": "M1234567801",
            "residence_permit_number": "820000198506151236"
        },
        "entitlements": {
            "health_voucher": {"eligible": true, "scheme_year": 2026, "balance_mop": 600},
            "fss": {"beneficiary_number": "FSS-0012345", "status": "active"}
        }
    })
}

fn expected() -> Claims {
    Claims {
        iss: "https://eid.dsi.gov.mo".into(),
        aud: "hengqin-bridge-01".into(),
        iat: 1_767_225_600,
        nbf: Some(1_767_225_600),
        exp: 1_767_225_900,
        jti: "4f1c2b7e-0b5e-4a7f-9f10-1c2d3e4f5a6b".into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        acr: Loa::High,
        eid_status: EidStatus::Active,
        consent: Some(Consent {
            id: "c-2026-000123".into(),
            purposes: vec!["health-voucher".into(), "social-security".into()],
            given_at: 1_767_225_500,
            separate: true,
            by_guardian: false,
        }),
        person: Person {
            bir_number: BirNumber::parse("12345678").unwrap(),
            bir_type: BirType::Birp,
            bir_expiry: BirExpiry::Date(date!(2031 - 05 - 20)),
            name_zh_hant: "陳大文".into(),
            name_latin: "CHAN TAI MAN".into(),
            telegraph_codes: Some(vec!["7115".into(), "1129".into(), "2429".into()]),
            sex: Sex::M,
            birth_date: date!(1985 - 06 - 15),
            mtp_number: Some(MtpNumber::parse("M1234567801").unwrap()),
            residence_permit_number: Some(ResidencePermitNumber::parse("820000198506151236").unwrap()),
        },
        entitlements: Entitlements {
            health_voucher: Some(HealthVoucher { eligible: true, scheme_year: 2026, balance_mop: 600 }),
            fss: Some(Fss { beneficiary_number: "FSS-0012345".into(), status: FssStatus::Active }),
        },
    }
}

/// One change to the valid claim set, at a `/`-separated path.
enum Edit {
    /// Sets the member to a raw JSON text (so `1e3` and `1.0` stay as written).
    Set(&'static str, String),
    Remove(&'static str),
}

fn set(path: &'static str, raw: impl Into<String>) -> Edit {
    Edit::Set(path, raw.into())
}

fn del(path: &'static str) -> Edit {
    Edit::Remove(path)
}

fn jstr(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

fn edited(edit: &Edit) -> String {
    const MARK: &str = "\u{1}raw\u{1}";
    let mut v = valid();
    let path = match edit {
        Edit::Set(p, _) | Edit::Remove(p) => p,
    };
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    let pointer = if parent.is_empty() { String::new() } else { format!("/{parent}") };
    let members = v.pointer_mut(&pointer).and_then(Value::as_object_mut).expect("parent exists");
    match edit {
        Edit::Set(..) => members.insert(name.to_owned(), json!(MARK)),
        Edit::Remove(_) => members.remove(name),
    };
    let text = v.to_string();
    match edit {
        Edit::Set(_, raw) => text.replace(&jstr(MARK), raw),
        Edit::Remove(_) => text,
    }
}

fn check(cases: Vec<(&str, Edit, Result<(), &'static str>)>) {
    for (name, edit, expected) in cases {
        let got = parse_claims(edited(&edit).as_bytes());
        match (&got, expected) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(message)) => {
                assert_eq!(*e, IntakeError::Malformed(message), "case: {name}");
                assert_eq!(e.reason(), Reason::MalformedAssertion, "case: {name}");
                if let Edit::Set(_, raw) = &edit {
                    let value = raw.trim_matches('"');
                    if value.len() >= 4 {
                        assert!(!e.to_string().contains(value), "case {name}: the error carries the value");
                    }
                }
            }
            _ => panic!("case {name}: got {got:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn a_complete_claim_set() {
    assert_eq!(parse_claims(valid().to_string().as_bytes()), Ok(expected()));
}

#[test]
fn optional_claims_may_be_absent() {
    let mut v = valid();
    for path in ["nbf", "nonce", "consent", "entitlements"] {
        v.as_object_mut().unwrap().remove(path);
    }
    let person = v["person"].as_object_mut().unwrap();
    for path in ["telegraph_codes", "mtp_number", "residence_permit_number"] {
        person.remove(path);
    }
    let c = parse_claims(v.to_string().as_bytes()).unwrap();
    assert_eq!((c.nbf, c.nonce, c.consent), (None, None, None));
    assert_eq!(c.entitlements, Entitlements::default());
    assert_eq!((c.person.telegraph_codes, c.person.mtp_number, c.person.residence_permit_number), (None, None, None));

    let mut v = valid();
    v["entitlements"].as_object_mut().unwrap().remove("fss");
    let c = parse_claims(v.to_string().as_bytes()).unwrap();
    assert!(c.entitlements.fss.is_none() && c.entitlements.health_voucher.is_some());
}

#[test]
fn unknown_claims_are_ignored() {
    let mut v = valid();
    v["x_unknown"] = json!({"deep": [1, {"a": null}]});
    v["consent"]["channel"] = json!("app");
    v["person"]["nickname"] = json!("阿文");
    v["person"]["address"] = json!({"line1": "Rua"});
    v["entitlements"]["housing"] = json!(true);
    v["entitlements"]["fss"]["since"] = json!(2001);
    v["entitlements"]["health_voucher"]["note"] = json!(null);
    assert_eq!(parse_claims(v.to_string().as_bytes()), Ok(expected()));
}

#[test]
fn values_that_parse() {
    type Holds = fn(&Claims) -> bool;
    let cases: Vec<(&str, Edit, Holds)> = vec![
        ("printed BIR", set("person/bir_number", jstr("5123456(7)")), |c| c.person.bir_number.as_str() == "51234567"),
        ("canonical BIR", set("person/bir_number", jstr("71234560")), |c| c.person.bir_number.as_str() == "71234560"),
        ("BIRNP", set("person/bir_type", jstr("BIRNP")), |c| c.person.bir_type == BirType::Birnp),
        ("long-term", set("person/bir_expiry", jstr("long-term")), |c| c.person.bir_expiry == BirExpiry::LongTerm),
        ("leap day", set("person/birth_date", jstr("2000-02-29")), |c| c.person.birth_date == date!(2000 - 02 - 29)),
        ("sex F", set("person/sex", jstr("F")), |c| c.person.sex == Sex::F),
        ("MTP of 9", set("person/mtp_number", jstr("M12345678")), |c| {
            c.person.mtp_number.as_ref().is_some_and(|m| m.as_str() == "M12345678")
        }),
        ("permit check X", set("person/residence_permit_number", jstr("82000019900101007X")), |c| {
            c.person.residence_permit_number.as_ref().is_some_and(|r| r.as_str() == "82000019900101007X")
        }),
        ("acr substantial", set("acr", jstr("mo:loa:substantial")), |c| c.acr == Loa::Substantial),
        ("expired", set("eid_status", jstr("expired")), |c| c.eid_status == EidStatus::Expired),
        ("cancelled", set("eid_status", jstr("cancelled")), |c| c.eid_status == EidStatus::Cancelled),
        ("fss suspended", set("entitlements/fss/status", jstr("suspended")), |c| {
            c.entitlements.fss.as_ref().is_some_and(|f| f.status == FssStatus::Suspended)
        }),
        ("fss closed", set("entitlements/fss/status", jstr("closed")), |c| {
            c.entitlements.fss.as_ref().is_some_and(|f| f.status == FssStatus::Closed)
        }),
        ("NumericDate 0", set("nbf", "0"), |c| c.nbf == Some(0)),
        ("NumericDate at the end of 9999", set("exp", "253402300799"), |c| c.exp == MAX_NUMERIC_DATE),
        ("names are trimmed", set("person/name_latin", jstr("  CHAN TAI MAN\u{3000}")), |c| {
            c.person.name_latin == "CHAN TAI MAN"
        }),
        ("zh name of 32", set("person/name_zh_hant", jstr(&"陳".repeat(32))), |c| {
            c.person.name_zh_hant.chars().count() == 32
        }),
        ("latin name of 128", set("person/name_latin", jstr(&"A".repeat(128))), |c| c.person.name_latin.len() == 128),
        ("jti of 128", set("jti", jstr(&"j".repeat(128))), |c| c.jti.len() == 128),
        ("jti of 128 CJK", set("jti", jstr(&"識".repeat(128))), |c| c.jti.chars().count() == 128),
        ("16 purposes", set("consent/purposes", json!(vec!["p"; 16]).to_string()), |c| {
            c.consent.as_ref().is_some_and(|k| k.purposes.len() == 16)
        }),
        ("no purposes", set("consent/purposes", "[]"), |c| c.consent.as_ref().is_some_and(|k| k.purposes.is_empty())),
        ("32 telegraph codes", set("person/telegraph_codes", json!(vec!["0000"; 32]).to_string()), |c| {
            c.person.telegraph_codes.as_ref().is_some_and(|t| t.len() == 32)
        }),
        ("scheme years 2000", set("entitlements/health_voucher/scheme_year", "2000"), |c| {
            c.entitlements.health_voucher.as_ref().is_some_and(|h| h.scheme_year == 2000)
        }),
        ("balance 0", set("entitlements/health_voucher/balance_mop", "0"), |c| {
            c.entitlements.health_voucher.as_ref().is_some_and(|h| h.balance_mop == 0)
        }),
    ];
    for (name, edit, holds) in cases {
        let claims = parse_claims(edited(&edit).as_bytes()).unwrap_or_else(|e| panic!("case {name}: {e}"));
        assert!(holds(&claims), "case: {name}");
    }
}

#[test]
fn numeric_dates() {
    check(vec![
        ("fractional exp", set("exp", "1767225900.0"), Err("claim exp has the wrong type")),
        ("fractional exp .5", set("exp", "1767225900.5"), Err("claim exp has the wrong type")),
        ("exponent exp", set("exp", "1e3"), Err("claim exp has the wrong type")),
        ("exponent integer-valued", set("iat", "17672256E2"), Err("claim iat has the wrong type")),
        ("exp as string", set("exp", jstr("1767225900")), Err("claim exp has the wrong type")),
        ("exp null", set("exp", "null"), Err("claim exp has the wrong type")),
        ("exp true", set("exp", "true"), Err("claim exp has the wrong type")),
        ("negative exp", set("exp", "-1"), Err("claim exp is not valid")),
        ("exp past 9999", set("exp", "253402300800"), Err("claim exp is not valid")),
        ("exp beyond i64", set("exp", "99999999999999999999"), Err("claim exp has the wrong type")),
        ("missing exp", del("exp"), Err("claim exp is missing")),
        ("missing iat", del("iat"), Err("claim iat is missing")),
        ("fractional iat", set("iat", "1.5"), Err("claim iat has the wrong type")),
        ("nbf null", set("nbf", "null"), Err("claim nbf has the wrong type")),
        ("nbf negative", set("nbf", "-5"), Err("claim nbf is not valid")),
        ("consent given_at fraction", set("consent/given_at", "1.0"), Err("claim consent.given_at has the wrong type")),
        (
            "consent given_at string",
            set("consent/given_at", jstr("now")),
            Err("claim consent.given_at has the wrong type"),
        ),
    ]);
}

#[test]
fn strings_and_identifiers() {
    check(vec![
        ("aud array", set("aud", r#"["hengqin-bridge-01"]"#), Err("claim aud has the wrong type")),
        ("aud missing", del("aud"), Err("claim aud is missing")),
        ("aud 257", set("aud", jstr(&"a".repeat(257))), Err("claim aud is too long")),
        ("iss 257", set("iss", jstr(&"i".repeat(257))), Err("claim iss is too long")),
        ("iss missing", del("iss"), Err("claim iss is missing")),
        ("iss number", set("iss", "1"), Err("claim iss has the wrong type")),
        ("iss empty", set("iss", jstr("")), Err("claim iss is not valid")),
        ("jti 129", set("jti", jstr(&"j".repeat(129))), Err("claim jti is too long")),
        ("jti empty", set("jti", jstr("")), Err("claim jti is not valid")),
        ("jti missing", del("jti"), Err("claim jti is missing")),
        ("jti number", set("jti", "42"), Err("claim jti has the wrong type")),
        ("nonce 129", set("nonce", jstr(&"n".repeat(129))), Err("claim nonce is too long")),
        ("nonce null", set("nonce", "null"), Err("claim nonce has the wrong type")),
        ("acr low", set("acr", jstr("mo:loa:low")), Err("claim acr is not valid")),
        ("acr upper case", set("acr", jstr("MO:LOA:HIGH")), Err("claim acr is not valid")),
        ("acr missing", del("acr"), Err("claim acr is missing")),
        ("acr number", set("acr", "3"), Err("claim acr has the wrong type")),
        ("eid_status revoked", set("eid_status", jstr("revoked")), Err("claim eid_status is not valid")),
        ("eid_status missing", del("eid_status"), Err("claim eid_status is missing")),
        ("eid_status bool", set("eid_status", "true"), Err("claim eid_status has the wrong type")),
    ]);
}

#[test]
fn consent() {
    check(vec![
        ("consent array", set("consent", "[]"), Err("claim consent has the wrong type")),
        ("consent null", set("consent", "null"), Err("claim consent has the wrong type")),
        ("id missing", del("consent/id"), Err("claim consent.id is missing")),
        ("id 129", set("consent/id", jstr(&"c".repeat(129))), Err("claim consent.id is too long")),
        ("purposes missing", del("consent/purposes"), Err("claim consent.purposes is missing")),
        (
            "purposes a string",
            set("consent/purposes", jstr("health-voucher")),
            Err("claim consent.purposes has the wrong type"),
        ),
        (
            "purposes 17",
            set("consent/purposes", json!(vec!["p"; 17]).to_string()),
            Err("claim consent.purposes is too long"),
        ),
        (
            "purpose of 65",
            set("consent/purposes", json!(["p".repeat(65)]).to_string()),
            Err("claim consent.purposes is too long"),
        ),
        ("purpose a number", set("consent/purposes", "[1]"), Err("claim consent.purposes has the wrong type")),
        ("given_at missing", del("consent/given_at"), Err("claim consent.given_at is missing")),
        ("separate missing", del("consent/separate"), Err("claim consent.separate is missing")),
        ("separate a string", set("consent/separate", jstr("true")), Err("claim consent.separate has the wrong type")),
        ("by_guardian missing", del("consent/by_guardian"), Err("claim consent.by_guardian is missing")),
        ("by_guardian 0", set("consent/by_guardian", "0"), Err("claim consent.by_guardian has the wrong type")),
    ]);
}

#[test]
fn person() {
    check(vec![
        ("person missing", del("person"), Err("claim person is missing")),
        ("person a string", set("person", jstr("陳大文")), Err("claim person has the wrong type")),
        ("BIR first digit 2", set("person/bir_number", jstr("22345678")), Err("claim person.bir_number is not valid")),
        ("BIR of 7", set("person/bir_number", jstr("1234567")), Err("claim person.bir_number is not valid")),
        ("BIR letters", set("person/bir_number", jstr("1234A67(8)")), Err("claim person.bir_number is not valid")),
        ("BIR over 10", set("person/bir_number", jstr("1/234567/(8)")), Err("claim person.bir_number is too long")),
        ("BIR a number", set("person/bir_number", "12345678"), Err("claim person.bir_number has the wrong type")),
        ("BIR missing", del("person/bir_number"), Err("claim person.bir_number is missing")),
        ("bir_type other", set("person/bir_type", jstr("BIRX")), Err("claim person.bir_type is not valid")),
        ("bir_type lower case", set("person/bir_type", jstr("birp")), Err("claim person.bir_type is not valid")),
        (
            "bir_expiry Feb 30",
            set("person/bir_expiry", jstr("2030-02-30")),
            Err("claim person.bir_expiry is not valid"),
        ),
        (
            "bir_expiry unpadded",
            set("person/bir_expiry", jstr("2030-2-3")),
            Err("claim person.bir_expiry is not valid"),
        ),
        (
            "bir_expiry signed",
            set("person/bir_expiry", jstr("+2030-01-01")),
            Err("claim person.bir_expiry is not valid"),
        ),
        (
            "bir_expiry with time",
            set("person/bir_expiry", jstr("2030-01-01T00:00:00Z")),
            Err("claim person.bir_expiry is not valid"),
        ),
        (
            "bir_expiry permanent",
            set("person/bir_expiry", jstr("permanent")),
            Err("claim person.bir_expiry is not valid"),
        ),
        ("sex X", set("person/sex", jstr("X")), Err("claim person.sex is not valid")),
        ("sex lower case", set("person/sex", jstr("m")), Err("claim person.sex is not valid")),
        (
            "birth_date month 13",
            set("person/birth_date", jstr("1990-13-01")),
            Err("claim person.birth_date is not valid"),
        ),
        ("birth_date compact", set("person/birth_date", jstr("19900101")), Err("claim person.birth_date is not valid")),
        (
            "birth_date a number",
            set("person/birth_date", "19900101"),
            Err("claim person.birth_date has the wrong type"),
        ),
        ("MTP short", set("person/mtp_number", jstr("M1234567")), Err("claim person.mtp_number is not valid")),
        ("MTP H prefix", set("person/mtp_number", jstr("H12345678")), Err("claim person.mtp_number is not valid")),
        ("MTP of 10", set("person/mtp_number", jstr("M123456780")), Err("claim person.mtp_number is not valid")),
        (
            "permit check char",
            set("person/residence_permit_number", jstr("820000198506151235")),
            Err("claim person.residence_permit_number is not valid"),
        ),
        (
            "permit of Hong Kong",
            set("person/residence_permit_number", jstr("810000199408230021")),
            Err("claim person.residence_permit_number is not valid"),
        ),
        (
            "permit of 18 bytes ending in a two-byte character",
            set("person/residence_permit_number", jstr("8200001990010100é")),
            Err("claim person.residence_permit_number is not valid"),
        ),
        (
            "permit X where 9 is due",
            set("person/residence_permit_number", jstr("82000019900101002X")),
            Err("claim person.residence_permit_number is not valid"),
        ),
        (
            "permit lower-case x",
            set("person/residence_permit_number", jstr("82000019900101002x")),
            Err("claim person.residence_permit_number is not valid"),
        ),
    ]);
}

#[test]
fn names() {
    let zh = "claim person.name_zh_hant is not valid";
    let latin = "claim person.name_latin is not valid";
    check(vec![
        ("RLO in zh name", set("person/name_zh_hant", jstr("陳\u{202E}大文")), Err(zh)),
        ("LRM in latin name", set("person/name_latin", jstr("CHAN\u{200E} TAI MAN")), Err(latin)),
        ("RLM", set("person/name_latin", jstr("\u{200F}CHAN")), Err(latin)),
        ("ALM", set("person/name_latin", jstr("CHAN\u{061C}")), Err(latin)),
        ("LRE", set("person/name_latin", jstr("\u{202A}CHAN")), Err(latin)),
        ("isolate", set("person/name_zh_hant", jstr("\u{2066}陳大文\u{2069}")), Err(zh)),
        ("NUL", set("person/name_zh_hant", jstr("陳\u{0}大文")), Err(zh)),
        ("newline", set("person/name_latin", jstr("CHAN\nTAI")), Err(latin)),
        ("tab", set("person/name_latin", jstr("CHAN\tTAI")), Err(latin)),
        ("DEL", set("person/name_latin", jstr("CHAN\u{7f}")), Err(latin)),
        ("C1 control", set("person/name_latin", jstr("CHAN\u{85}")), Err(latin)),
        ("only spaces", set("person/name_latin", jstr("   ")), Err(latin)),
        ("only ideographic space", set("person/name_zh_hant", jstr("\u{3000}")), Err(zh)),
        ("empty", set("person/name_zh_hant", jstr("")), Err(zh)),
        ("zh of 33", set("person/name_zh_hant", jstr(&"陳".repeat(33))), Err("claim person.name_zh_hant is too long")),
        ("latin of 129", set("person/name_latin", jstr(&"A".repeat(129))), Err("claim person.name_latin is too long")),
        (
            "zh name a list",
            set("person/name_zh_hant", r#"["陳"]"#),
            Err("claim person.name_zh_hant has the wrong type"),
        ),
        ("latin missing", del("person/name_latin"), Err("claim person.name_latin is missing")),
        (
            "telegraph of 3 digits",
            set("person/telegraph_codes", r#"["711"]"#),
            Err("claim person.telegraph_codes is not valid"),
        ),
        (
            "telegraph letters",
            set("person/telegraph_codes", r#"["71a5"]"#),
            Err("claim person.telegraph_codes is not valid"),
        ),
        (
            "telegraph full-width digits",
            set("person/telegraph_codes", r#"["７１１５"]"#),
            Err("claim person.telegraph_codes is not valid"),
        ),
        (
            "telegraph of 5",
            set("person/telegraph_codes", r#"["71155"]"#),
            Err("claim person.telegraph_codes is too long"),
        ),
        (
            "telegraph 33",
            set("person/telegraph_codes", json!(vec!["0000"; 33]).to_string()),
            Err("claim person.telegraph_codes is too long"),
        ),
        (
            "telegraph numbers",
            set("person/telegraph_codes", "[7115]"),
            Err("claim person.telegraph_codes has the wrong type"),
        ),
        (
            "telegraph a string",
            set("person/telegraph_codes", jstr("7115")),
            Err("claim person.telegraph_codes has the wrong type"),
        ),
    ]);
}

#[test]
fn entitlements() {
    check(vec![
        ("entitlements a list", set("entitlements", "[]"), Err("claim entitlements has the wrong type")),
        (
            "voucher a bool",
            set("entitlements/health_voucher", "true"),
            Err("claim entitlements.health_voucher has the wrong type"),
        ),
        (
            "eligible a string",
            set("entitlements/health_voucher/eligible", jstr("yes")),
            Err("claim entitlements.health_voucher.eligible has the wrong type"),
        ),
        (
            "eligible missing",
            del("entitlements/health_voucher/eligible"),
            Err("claim entitlements.health_voucher.eligible is missing"),
        ),
        (
            "scheme_year 1999",
            set("entitlements/health_voucher/scheme_year", "1999"),
            Err("claim entitlements.health_voucher.scheme_year is not valid"),
        ),
        (
            "scheme_year 2101",
            set("entitlements/health_voucher/scheme_year", "2101"),
            Err("claim entitlements.health_voucher.scheme_year is not valid"),
        ),
        (
            "scheme_year a string",
            set("entitlements/health_voucher/scheme_year", jstr("2026")),
            Err("claim entitlements.health_voucher.scheme_year has the wrong type"),
        ),
        (
            "scheme_year fraction",
            set("entitlements/health_voucher/scheme_year", "2026.0"),
            Err("claim entitlements.health_voucher.scheme_year has the wrong type"),
        ),
        (
            "balance negative",
            set("entitlements/health_voucher/balance_mop", "-1"),
            Err("claim entitlements.health_voucher.balance_mop is not valid"),
        ),
        (
            "balance fraction",
            set("entitlements/health_voucher/balance_mop", "600.5"),
            Err("claim entitlements.health_voucher.balance_mop has the wrong type"),
        ),
        (
            "balance missing",
            del("entitlements/health_voucher/balance_mop"),
            Err("claim entitlements.health_voucher.balance_mop is missing"),
        ),
        ("fss a string", set("entitlements/fss", jstr("active")), Err("claim entitlements.fss has the wrong type")),
        (
            "beneficiary lower case",
            set("entitlements/fss/beneficiary_number", jstr("fss-0012345")),
            Err("claim entitlements.fss.beneficiary_number is not valid"),
        ),
        (
            "beneficiary with space",
            set("entitlements/fss/beneficiary_number", jstr("FSS 0012345")),
            Err("claim entitlements.fss.beneficiary_number is not valid"),
        ),
        (
            "beneficiary 33",
            set("entitlements/fss/beneficiary_number", jstr(&"9".repeat(33))),
            Err("claim entitlements.fss.beneficiary_number is too long"),
        ),
        (
            "beneficiary a number",
            set("entitlements/fss/beneficiary_number", "12345"),
            Err("claim entitlements.fss.beneficiary_number has the wrong type"),
        ),
        (
            "status frozen",
            set("entitlements/fss/status", jstr("frozen")),
            Err("claim entitlements.fss.status is not valid"),
        ),
        ("status missing", del("entitlements/fss/status"), Err("claim entitlements.fss.status is missing")),
    ]);
}

#[test]
fn payload_shape() {
    let dup_person = valid().to_string().replacen(r#""sex":"M""#, r#""sex":"M","sex":"F""#, 1);
    assert!(dup_person.contains(r#""sex":"F""#));
    let dup_top = valid().to_string().replacen('{', r#"{"aud":"other","#, 1);
    let deep = format!(r#"{{"x":{}}}"#, "[".repeat(100_000));
    let cases: Vec<(&str, Vec<u8>, IntakeError)> = vec![
        ("duplicate in person", dup_person.into_bytes(), IntakeError::Malformed("duplicate member name in payload")),
        ("duplicate claim", dup_top.into_bytes(), IntakeError::Malformed("duplicate member name in payload")),
        ("not UTF-8", b"{\"iss\":\"\xff\"}".to_vec(), IntakeError::Malformed("payload is not UTF-8")),
        ("not an object", b"[]".to_vec(), IntakeError::Malformed("payload is not a JSON object")),
        ("empty", Vec::new(), IntakeError::Malformed("payload is not valid JSON")),
        ("over 16 KiB", vec![b' '; MAX_ASSERTION_BYTES + 1], IntakeError::TooLarge),
        ("100k open brackets", deep.into_bytes(), IntakeError::TooLarge),
    ];
    for (name, payload, expected) in cases {
        assert_eq!(parse_claims(&payload), Err(expected), "case: {name}");
    }
}
