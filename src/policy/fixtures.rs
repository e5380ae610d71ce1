//! Test fixtures shared by the policy and mapping tests: the shipped
//! directories, editable copies of them, and a full claim set.

use crate::intake::{
    BirExpiry, BirType, Claims, Consent, EidStatus, Entitlements, Fss, FssStatus, HealthVoucher, Person, Sex,
};
use crate::model::{BirNumber, Loa, MtpNumber, OutputFormat, PartnerId, PurposeId};
use crate::policy::{FileError, Request};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use time::macros::{date, datetime};

pub fn repo_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// 2026-03-15 10:00 in Macau.
pub const NOW: OffsetDateTime = datetime!(2026-03-15 10:00 +8);

pub fn show(errors: &[FileError]) -> String {
    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
}

/// A copy of a shipped directory (with its subdirectories) to edit.
pub fn copy_of(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_tree(&repo_dir(name), tmp.path());
    tmp
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Removes every jurisdiction file of a copied policies directory but
/// `keep`: for tests that edit a purpose bridge-wide, which the shipped
/// narrowings of other jurisdictions would then widen.
pub fn keep_jurisdictions(dir: &Path, keep: &[&str]) {
    let always = ["macau.toml", "purposes.toml"];
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let name = entry.expect("entry").file_name().into_string().expect("utf-8");
        let name = name.as_str();
        if name.ends_with(".toml") && !always.contains(&name) && !keep.contains(&name) {
            std::fs::remove_file(dir.join(name)).expect("remove");
        }
    }
}

/// Rewrites one file of a copied directory.
pub fn edit(dir: &Path, file: &str, f: impl FnOnce(String) -> String) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, f(text)).expect("write");
}

pub fn request(partner: &str, purpose: &str, format: OutputFormat) -> Request {
    Request {
        partner: PartnerId::parse(partner).expect("partner id"),
        purpose: PurposeId::parse(purpose).expect("purpose id"),
        format,
    }
}

pub fn clinic() -> Request {
    request("hq-clinic-0001", "health-voucher", OutputFormat::Gbt36903Json)
}

/// Every claim of the profile set, consenting to all three purposes
/// (separately), voucher and FSS current.
pub fn claims() -> Claims {
    let t = NOW.unix_timestamp();
    Claims {
        iss: "https://eid.dsi.gov.mo".into(),
        aud: "hengqin-bridge-test".into(),
        iat: t - 60,
        nbf: None,
        exp: t + 240,
        jti: "jti-0001".into(),
        nonce: None,
        acr: Loa::Substantial,
        eid_status: EidStatus::Active,
        consent: Some(Consent {
            id: "consent-0001".into(),
            purposes: vec!["health-voucher".into(), "social-security".into(), "real-name-kyc".into()],
            given_at: t - 120,
            separate: true,
            by_guardian: false,
        }),
        person: Person {
            bir_number: BirNumber::parse("1234567(8)").expect("bir"),
            bir_type: BirType::Birp,
            bir_expiry: BirExpiry::Date(date!(2031 - 06 - 30)),
            name_zh_hant: "鍾嘉欣".into(),
            name_latin: "CHUNG KA YAN".into(),
            telegraph_codes: Some(vec!["6945".into(), "1367".into(), "1800".into()]),
            sex: Sex::F,
            birth_date: date!(1985 - 01 - 02),
            mtp_number: Some(MtpNumber::parse("M8765432101").expect("mtp")),
            residence_permit_number: None,
        },
        entitlements: Entitlements {
            health_voucher: Some(HealthVoucher { eligible: true, scheme_year: 2026, balance_mop: 600 }),
            fss: Some(Fss { beneficiary_number: "FSS00123456".into(), status: FssStatus::Active }),
        },
    }
}

/// Every place an unknown key can be injected into a file: after each
/// table or array-of-tables header, inside each inline table, and at the
/// top. Returns the edited text and the 1-based line the key is on.
pub fn injections(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = vec![(format!("bogus_key = 1\n{text}"), 1)];
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let mut edited = lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        if t.starts_with('[') && !t.contains('=') {
            edited.insert(i + 1, "bogus_key = 1".into());
            out.push((edited.join("\n"), i + 2));
        } else if t.contains("= {") && t.ends_with('}') {
            let pos = line.rfind('}').expect("closing brace");
            edited[i] = format!("{}, bogus_key = 1 }}", &line[..pos]);
            out.push((edited.join("\n"), i + 1));
        }
    }
    out
}

/// Injects an unknown key at every site of every file of a shipped
/// directory and checks that `load` reports it at its file and line.
pub fn check_unknown_keys<T>(dir: &str, load: impl Fn(&Path) -> Result<T, Vec<FileError>>) -> usize {
    let tmp = copy_of(dir);
    let mut files = Vec::new();
    for sub in ["", "codes"] {
        let Ok(entries) = std::fs::read_dir(tmp.path().join(sub)) else { continue };
        for e in entries {
            let name = e.expect("entry").file_name().into_string().expect("utf-8");
            if name.ends_with(".toml") {
                files.push(if sub.is_empty() { name } else { format!("{sub}/{name}") });
            }
        }
    }
    files.sort();
    let mut checked = 0;
    for file in &files {
        let path = tmp.path().join(file);
        let original = std::fs::read_to_string(&path).expect("read");
        for (text, line) in injections(&original) {
            std::fs::write(&path, &text).expect("write");
            let errors = match load(tmp.path()) {
                Ok(_) => panic!("{file}: unknown key at line {line} accepted"),
                Err(e) => e,
            };
            let hit = errors.iter().any(|e| e.file.ends_with(file.as_str()) && e.line == Some(line));
            assert!(hit, "{file}: expected an error at line {line}, got:\n{}", show(&errors));
            checked += 1;
        }
        std::fs::write(&path, &original).expect("restore");
    }
    checked
}

/// The shipped files under `prefix` (`policies/`), named as in their directory.
pub fn shipped_texts(prefix: &str) -> Vec<(&'static str, &'static str)> {
    crate::shipped::FILES
        .iter()
        .filter_map(|(path, bytes)| Some((path.strip_prefix(prefix)?, std::str::from_utf8(bytes).unwrap())))
        .collect()
}
