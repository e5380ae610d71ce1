//! The decision corpus (DESIGN §12): every case file in
//! `tests/cases/<jurisdiction>/*.toml`, each case run through
//! `pipeline::process` on an assertion minted for it by the test PKI, with
//! the shipped policies and mappings.
//!
//! A case file holds `[[case]]` tables (see `tests/cases/README.md`):
//!
//! ```toml
//! [[case]]
//! name = "clinic-birnp"                 # unique in its file
//! description = "a non-permanent resident gets no voucher"
//! partner = "hq-clinic-0001"            # a partner of the directory's jurisdiction
//! purpose = "health-voucher"
//! format = "gbt36903+json"
//! flow = "health-voucher"               # the sample claims minted
//! loa = "substantial"
//! assertion_nonce = "s-1"               # optional: the assertion's `nonce` claim
//! request_nonce = "s-1"                 # optional: the request's nonce
//! remove = ["consent"]                  # optional: claim paths deleted
//! [case.set]                            # optional: claim overrides (applied in key order)
//! "person.bir_type" = "BIRNP"
//! [case.expect]
//! decision = "deny"
//! reason = "NOT_ELIGIBLE"
//! clause = "purposes.toml#purpose.health-voucher.eligibility.bir_type"
//! ```
//!
//! A permit names the exact released set (`[case.expect.released]`, claim
//! path → form, compared with the licence's `provenance.released`) and may
//! name output fields (`[case.expect.fields]`, JSON pointer → value) and
//! strings that must not appear anywhere in the licence (`absent`). A
//! denial names the reason code and, for a policy refusal, the exact clause;
//! a denial without `clause` expects the refusal to carry none.
//!
//! Every case runs at [`NOW`]; dates in case files are written for it.
//! Expectations are written by hand, never produced by the code under test.

use crate::support::Env;
use hengqin_bridge::dev::mint::{Flow, MintOptions};
use hengqin_bridge::intake::RELEASABLE_PATHS;
use hengqin_bridge::licence::{self, SignedLicence};
use hengqin_bridge::model::{Loa, Rejection};
use hengqin_bridge::pipeline::TranslateRequest;
use hengqin_bridge::policy::Form;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use time::macros::datetime;

/// The time every case runs at: 2026-03-15 10:00 in Macau.
const NOW: OffsetDateTime = datetime!(2026-03-15 10:00 +8);

/// The fewest cases the corpus may hold.
const MIN_CASES: usize = 60;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(rename = "case")]
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    description: String,
    partner: String,
    purpose: String,
    format: String,
    flow: String,
    loa: Loa,
    #[serde(default)]
    assertion_nonce: Option<String>,
    #[serde(default)]
    request_nonce: String,
    #[serde(default)]
    set: toml::Table,
    #[serde(default)]
    remove: Vec<String>,
    expect: Expect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Decision {
    Permit,
    Deny,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    decision: Decision,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    clause: Option<String>,
    #[serde(default)]
    released: Option<BTreeMap<String, Form>>,
    #[serde(default)]
    fields: BTreeMap<String, toml::Value>,
    #[serde(default)]
    absent: Vec<String>,
}

/// A case file as found: its path relative to `tests/cases` and the
/// jurisdiction its directory names.
struct Found {
    rel: String,
    jurisdiction: String,
    path: PathBuf,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

/// Every `*.toml` in a jurisdiction directory of `root`, sorted. A case
/// file outside a jurisdiction directory is an error.
fn find_case_files(root: &Path) -> Result<Vec<Found>, String> {
    let mut found = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(root).map_err(|e| format!("{}: {e}", root.display()))?.collect();
    dirs.sort_by_key(|e| e.as_ref().map(|e| e.file_name()).ok());
    for dir in dirs {
        let dir = dir.map_err(|e| e.to_string())?;
        let name = dir.file_name().into_string().map_err(|n| format!("{n:?}: not UTF-8"))?;
        if !dir.path().is_dir() {
            if name.ends_with(".toml") {
                return Err(format!("{name}: case files go in a jurisdiction directory"));
            }
            continue;
        }
        let mut files: Vec<String> = std::fs::read_dir(dir.path())
            .map_err(|e| format!("{name}: {e}"))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|f| f.ends_with(".toml"))
            .collect();
        files.sort();
        for f in files {
            found.push(Found { rel: format!("{name}/{f}"), jurisdiction: name.clone(), path: dir.path().join(&f) });
        }
    }
    Ok(found)
}

/// Reads a case file strictly and checks that its expectations are
/// complete and consistent.
fn parse_case_file(text: &str) -> Result<Vec<Case>, String> {
    let file: CaseFile = toml::from_str(text).map_err(|e| e.to_string().trim_end().replace('\n', "\n    "))?;
    let mut names = BTreeSet::new();
    let mut problems = Vec::new();
    for c in &file.cases {
        if !names.insert(c.name.as_str()) {
            problems.push(format!("case `{}` is defined twice", c.name));
        }
        if c.description.trim().is_empty() {
            problems.push(format!("case `{}`: empty description", c.name));
        }
        if Flow::parse(&c.flow).is_none() {
            problems.push(format!("case `{}`: unknown flow `{}`", c.name, c.flow));
        }
        problems.extend(expectation_problems(&c.expect).into_iter().map(|p| format!("case `{}`: {p}", c.name)));
    }
    if file.cases.is_empty() {
        problems.push("no [[case]]".into());
    }
    if problems.is_empty() { Ok(file.cases) } else { Err(problems.join("\n    ")) }
}

fn expectation_problems(e: &Expect) -> Vec<String> {
    let mut out = Vec::new();
    match e.decision {
        Decision::Permit => {
            if e.reason.is_some() || e.clause.is_some() {
                out.push("a permit has no reason or clause".into());
            }
            match &e.released {
                None => out.push("a permit names its released set".into()),
                Some(r) => {
                    for claim in r.keys().filter(|c| !RELEASABLE_PATHS.contains(&c.as_str())) {
                        out.push(format!("`{claim}` is not a releasable claim path"));
                    }
                }
            }
        }
        Decision::Deny => {
            if e.reason.is_none() {
                out.push("a denial names its reason".into());
            }
            if e.released.is_some() || !e.fields.is_empty() || !e.absent.is_empty() {
                out.push("a denial has no released set, fields or absent strings".into());
            }
        }
    }
    out
}

fn json_of(v: &toml::Value) -> Value {
    serde_json::to_value(v).expect("TOML values are JSON values")
}

/// Mints the case's assertion and runs it through the pipeline.
fn run(env: &Env, case: &Case) -> Result<SignedLicence, Rejection> {
    let flow = Flow::parse(&case.flow).expect("checked when parsed");
    let mut opts = MintOptions::new(flow, env.now);
    opts.loa = case.loa;
    if let Some(n) = &case.assertion_nonce {
        opts = opts.set("nonce", Value::String(n.clone()));
    }
    for (path, value) in &case.set {
        opts = opts.set(path, json_of(value));
    }
    for path in &case.remove {
        opts = opts.remove(path);
    }
    let jws = env.mint(&opts);
    let req = TranslateRequest {
        partner: &case.partner,
        purpose: &case.purpose,
        format: &case.format,
        nonce: &case.request_nonce,
        assertion: jws.as_bytes(),
    };
    env.process(&req)
}

/// What differs between the case's expectation and the outcome.
fn check(env: &Env, case: &Case) -> Vec<String> {
    let outcome = run(env, case);
    let e = &case.expect;
    match (outcome, e.decision) {
        (Ok(lic), Decision::Permit) => check_permit(env, case, &lic),
        (Err(r), Decision::Deny) => check_denial(case, &r),
        (Ok(lic), Decision::Deny) => vec![format!("expected a denial, got licence {}", lic.id)],
        (Err(r), Decision::Permit) => {
            vec![format!(
                "expected a permit, got {} ({}) at {}",
                r.reason.code(),
                r.detail,
                r.clause.as_deref().unwrap_or("-")
            )]
        }
    }
}

fn check_permit(env: &Env, case: &Case, lic: &SignedLicence) -> Vec<String> {
    let mut out = Vec::new();
    let e = &case.expect;
    if lic.format.as_str() != case.format {
        out.push(format!("format {} instead of {}", lic.format.as_str(), case.format));
    }
    let doc: Value = match serde_json::from_slice(&lic.bytes) {
        Ok(d) => d,
        Err(err) => return vec![format!("licence is not JSON: {err}")],
    };
    let expected = e.released.as_ref().expect("checked when parsed");
    let mut released = BTreeMap::new();
    for item in doc.pointer("/provenance/released").and_then(Value::as_array).into_iter().flatten() {
        let (Some(claim), Some(form)) = (item["claim"].as_str(), item["form"].as_str()) else {
            out.push(format!("malformed provenance.released item {item}"));
            continue;
        };
        if released.insert(claim.to_owned(), form.to_owned()).is_some() {
            out.push(format!("`{claim}` released twice"));
        }
    }
    let want: BTreeMap<String, String> = expected.iter().map(|(c, f)| (c.clone(), f.as_str().to_owned())).collect();
    if released != want {
        out.push(format!("released {released:?}, expected {want:?}"));
    }
    let names: BTreeSet<&str> = lic.released.iter().map(String::as_str).collect();
    if names != want.keys().map(String::as_str).collect() {
        out.push(format!("response lists released {names:?}"));
    }
    if doc.pointer("/provenance/purpose").and_then(Value::as_str) != Some(case.purpose.as_str()) {
        out.push("provenance.purpose is not the requested purpose".into());
    }
    for (pointer, value) in &e.fields {
        let want = json_of(value);
        match doc.pointer(pointer) {
            Some(got) if *got == want => {}
            Some(got) => out.push(format!("{pointer} is {got}, expected {want}")),
            None => out.push(format!("{pointer} is missing, expected {want}")),
        }
    }
    let text = String::from_utf8_lossy(&lic.bytes);
    for s in e.absent.iter().filter(|s| text.contains(s.as_str())) {
        out.push(format!("{s:?} appears in the licence"));
    }
    match licence::verify(&lic.bytes, Some(&env.snap.anchors), env.now) {
        Ok(report) if report.is_valid() && report.signer_trusted == Some(true) => {}
        Ok(report) => out.push(format!("licence does not verify: {:?}", report.problems)),
        Err(err) => out.push(format!("licence cannot be verified: {err}")),
    }
    out
}

fn check_denial(case: &Case, r: &Rejection) -> Vec<String> {
    let mut out = Vec::new();
    let e = &case.expect;
    let want_reason = e.reason.as_deref().expect("checked when parsed");
    if r.reason.code() != want_reason {
        out.push(format!("reason {} ({}), expected {want_reason}", r.reason.code(), r.detail));
    }
    if r.clause != e.clause {
        out.push(format!("clause {:?}, expected {:?}", r.clause, e.clause));
    }
    let personal = ["陳", "CHAN", "12345678", "M12345678"];
    let overrides = case.set.values().filter_map(|v| v.as_str()).filter(|s| s.len() >= 6);
    for s in personal.into_iter().chain(overrides) {
        if r.detail.contains(s) {
            out.push(format!("refusal detail {:?} holds personal data", r.detail));
        }
    }
    out
}

#[test]
fn decision_corpus() {
    let env = Env::at(NOW);
    let found = find_case_files(&cases_dir()).unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    let mut total = 0;
    let mut per_place: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut partners_seen = BTreeSet::new();
    for f in &found {
        let text = std::fs::read_to_string(&f.path).unwrap_or_else(|e| panic!("{}: {e}", f.rel));
        let cases = match parse_case_file(&text) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("FAILED case file {}", f.rel);
                failures.push(format!("{}: {e}", f.rel));
                continue;
            }
        };
        for case in &cases {
            total += 1;
            partners_seen.insert(case.partner.clone());
            let count = per_place.entry((f.jurisdiction.clone(), case.purpose.clone())).or_default();
            match case.expect.decision {
                Decision::Permit => count.0 += 1,
                Decision::Deny => count.1 += 1,
            }
            let mut problems = Vec::new();
            match hengqin_bridge::model::PartnerId::parse(&case.partner)
                .ok()
                .and_then(|p| env.snap.policies.partner(&p))
            {
                Some(p) if p.jurisdiction.as_str() == f.jurisdiction => {}
                Some(p) => problems.push(format!("partner of `{}`, filed under `{}`", p.jurisdiction, f.jurisdiction)),
                None => problems.push(format!("partner `{}` is not in the shipped policies", case.partner)),
            }
            if problems.is_empty() {
                problems = check(&env, case);
            }
            if !problems.is_empty() {
                eprintln!("FAILED {}: case `{}`", f.rel, case.name);
                failures.push(format!(
                    "{}: case `{}` ({}):\n    {}",
                    f.rel,
                    case.name,
                    case.description,
                    problems.join("\n    ")
                ));
            }
        }
    }
    println!("decision corpus: {total} cases in {} files", found.len());
    for ((jurisdiction, purpose), (permits, denials)) in &per_place {
        println!("  {jurisdiction:<10} {purpose:<16} {permits:>3} permit {denials:>3} deny");
    }
    let unseen: Vec<&str> =
        env.snap.policies.partners().map(|p| p.id.as_str()).filter(|p| !partners_seen.contains(*p)).collect();
    if !unseen.is_empty() {
        failures.push(format!("partners without a case: {unseen:?}"));
    }
    for flow in Flow::ALL {
        if !per_place.iter().any(|((_, p), (permits, _))| p == flow.purpose_id() && *permits > 0) {
            failures.push(format!("no permit case for purpose {}", flow.purpose_id()));
        }
    }
    if total < MIN_CASES {
        failures.push(format!("only {total} cases; the corpus holds at least {MIN_CASES}"));
    }
    assert!(failures.is_empty(), "{} problem(s) in the decision corpus:\n{}", failures.len(), failures.join("\n"));
}

const MINIMAL: &str = r#"
[[case]]
name = "n"
description = "d"
partner = "hq-clinic-0001"
purpose = "health-voucher"
format = "gbt36903+json"
flow = "health-voucher"
loa = "substantial"
[case.set]
"person.sex" = "F"
[case.expect]
decision = "permit"
[case.expect.released]
"person.name_latin" = "full"
"#;

#[test]
fn case_files_refuse_unknown_keys() {
    parse_case_file(MINIMAL).expect("the minimal case file parses");
    let injections = [
        ("[[case]]\n", "top of a case"),
        ("[case.expect]\n", "expect table"),
        ("loa = \"substantial\"\n", "case body"),
    ];
    for (after, what) in injections {
        let text = MINIMAL.replacen(after, &format!("{after}bogus_key = 1\n"), 1);
        let err = parse_case_file(&text).expect_err(what);
        assert!(err.contains("bogus_key"), "{what}: {err}");
    }
    let top = format!("bogus_key = 1\n{MINIMAL}");
    assert!(parse_case_file(&top).expect_err("top level").contains("bogus_key"));
    let form = MINIMAL.replace("\"person.name_latin\" = \"full\"", "\"person.name_latin\" = \"clear\"");
    assert!(parse_case_file(&form).is_err(), "unknown release form");
    let path = MINIMAL.replace("\"person.name_latin\" = \"full\"", "\"person.nickname\" = \"full\"");
    assert!(parse_case_file(&path).expect_err("path").contains("not a releasable claim path"));
    let deny = MINIMAL.replace("decision = \"permit\"", "decision = \"deny\"");
    assert!(parse_case_file(&deny).expect_err("deny").contains("a denial names its reason"));
    let twice = format!("{MINIMAL}{}", MINIMAL.trim_start());
    assert!(parse_case_file(&twice).expect_err("twice").contains("defined twice"));
}

#[test]
fn case_files_live_in_jurisdiction_directories() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("hengqin")).unwrap();
    std::fs::write(tmp.path().join("hengqin/a.toml"), MINIMAL).unwrap();
    std::fs::write(tmp.path().join("README.md"), "notes").unwrap();
    let found = find_case_files(tmp.path()).unwrap();
    assert_eq!(
        found.iter().map(|f| (f.rel.as_str(), f.jurisdiction.as_str())).collect::<Vec<_>>(),
        [("hengqin/a.toml", "hengqin")]
    );
    std::fs::write(tmp.path().join("stray.toml"), MINIMAL).unwrap();
    assert!(find_case_files(tmp.path()).is_err());
}
