//! The licence serializers and their canonical bytes.
//!
//! - Any other input is read as JSON: its RFC 8785 bytes parse back to a
//!   value with the same canonical bytes (canonicalization is a fixed
//!   point), and `canonicalize_str` agrees with `canonicalize`; the input
//!   is also handed to `verify-licence`'s reader, which reports, never
//!   panics.
//! - An input starting with `#` is read as a record (names, holders,
//!   surface items, provenance; any text in the text fields): issued in
//!   both formats and signed, the document is already canonical, and
//!   verifying it finds the signature and identifier valid.
#![no_main]

use fuzz_fixtures::{NOW, material, shipped};
use hengqin_bridge::dev::pki::{TEST_AREA_CODE, test_defining_body_uscc, test_issuer_uscc};
use hengqin_bridge::licence::jcs::{self, JcsError};
use hengqin_bridge::licence::{
    self, Holder, IssueInput, IssuingBody, LicenceError, MappedRecord, ReleasedClaim, SinkCodes, SurfaceItem,
    SurfaceValue,
};
use hengqin_bridge::mapping::{self, MappingSet};
use hengqin_bridge::model::{OutputFormat, Uscc};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::OnceLock;
use time::{Date, Duration};

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((b'#', record)) => record_round_trip(record),
        _ => json_round_trip(data),
    }
});

fn json_round_trip(data: &[u8]) {
    if let Ok(report) = licence::verify(data, None, NOW) {
        assert!(report.signature_valid || !report.problems.is_empty());
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(value) = serde_json::from_str::<Value>(text) else { return };
    let canonical = match jcs::canonicalize(&value) {
        Ok(bytes) => bytes,
        Err(JcsError::TooDeep) => return,
        Err(e) => panic!("parsed JSON has canonical bytes: {e}"),
    };
    assert_eq!(jcs::canonicalize_str(text).expect("the same text canonicalizes"), canonical);
    let again: Value = serde_json::from_slice(&canonical).expect("canonical bytes are JSON");
    assert_eq!(jcs::canonicalize(&again).expect("canonical bytes canonicalize"), canonical, "a fixed point");
}

fn mappings() -> &'static MappingSet {
    static SET: OnceLock<MappingSet> = OnceLock::new();
    SET.get_or_init(|| mapping::load_texts(shipped("mappings/")).expect("shipped mappings load"))
}

fn record_round_trip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok((mapped, strings, issuer_name, validity)) = record(&mut u) else { return };
    let issuer = IssuingBody {
        name: issuer_name,
        uscc: Uscc::parse(&test_issuer_uscc()).expect("test USCC"),
        defining_body: Uscc::parse(&test_defining_body_uscc()).expect("test USCC"),
        area_code: TEST_AREA_CODE.to_owned(),
    };
    let released =
        strings.released.iter().map(|(claim, form)| ReleasedClaim { claim: claim.clone(), form: form.clone() });
    for format in [OutputFormat::Gbt36903Json, OutputFormat::GdLicenseAppJson] {
        let input = IssueInput {
            mapped: mapped.clone(),
            format,
            purpose: &strings.purpose,
            copy_cause: &strings.copy_cause,
            validity,
            released: released.clone().collect(),
            source_issuer: &strings.source_issuer,
            source_sha256: &strings.source_sha256,
            policy_digest: &strings.policy_digest,
            gateway_id: &strings.gateway_id,
            codes: SinkCodes::for_format(format, |id| mappings().table(id)),
        };
        let signed = match licence::issue(input, &issuer, material().licence_signer.as_ref(), NOW) {
            Ok(s) => s,
            // The Guangdong sink refuses holder code types its table lacks
            // and two surface items under one key.
            Err(LicenceError::Record(_)) if format == OutputFormat::GdLicenseAppJson => continue,
            Err(e) => panic!("{}: {e}", format.as_str()),
        };
        let text = std::str::from_utf8(&signed.bytes).expect("documents are UTF-8");
        assert_eq!(jcs::canonicalize_str(text).expect("documents are JSON"), signed.bytes, "documents are canonical");
        let report = licence::verify(&signed.bytes, None, NOW).expect("a licence of a known format");
        assert_eq!(report.format, format);
        assert_eq!(report.licence_id, signed.id.as_str());
        assert!(report.is_valid(), "{}: {:?}", format.as_str(), report.problems);
    }
}

/// The free text of an [`IssueInput`].
struct Strings {
    purpose: String,
    copy_cause: String,
    source_issuer: String,
    source_sha256: String,
    policy_digest: String,
    gateway_id: String,
    released: Vec<(String, String)>,
}

/// Holder code types the shipped tables translate, and one they do not.
const CODE_TYPES: [&str; 4] = ["516", "999", "111", "000"];

fn record(u: &mut Unstructured<'_>) -> Result<(MappedRecord, Strings, String, Duration)> {
    let mut holders = Vec::new();
    for _ in 0..u.int_in_range(1..=3)? {
        holders.push(Holder {
            name: u.arbitrary()?,
            code: u.arbitrary()?,
            code_type: (*u.choose(&CODE_TYPES)?).to_owned(),
            code_type_name: u.arbitrary()?,
        });
    }
    let mut surface = Vec::new();
    for _ in 0..u.int_in_range(0..=8)? {
        surface.push(SurfaceItem {
            name: u.arbitrary()?,
            value: surface_value(u)?,
            column_name: u.arbitrary()?,
            pinyin_code: u.arbitrary()?,
        });
    }
    let mapped = MappedRecord {
        licence_name: u.arbitrary()?,
        type_name: u.arbitrary()?,
        type_sequence: format!("{:03}", u.int_in_range(0..=999u16)?),
        holders,
        surface,
        name_review: u.arbitrary()?,
        mapping: u.arbitrary()?,
    };
    let copy_cause: String = u.arbitrary()?;
    let strings = Strings {
        purpose: u.arbitrary()?,
        copy_cause: copy_cause.chars().take(licence::MAX_COPY_CAUSE).collect(),
        source_issuer: u.arbitrary()?,
        source_sha256: u.arbitrary()?,
        policy_digest: u.arbitrary()?,
        gateway_id: u.arbitrary()?,
        released: u.arbitrary()?,
    };
    // Purposes give a record 1 to 720 hours (`record_validity_hours`).
    let validity = Duration::hours(u.int_in_range(1..=720)?);
    Ok((mapped, strings, u.arbitrary()?, validity))
}

/// A surface value as a mapping yields one: dates are claim dates (years
/// 0000 to 9999), integers any `i64`.
fn surface_value(u: &mut Unstructured<'_>) -> Result<SurfaceValue> {
    let first = Date::from_calendar_date(0, time::Month::January, 1).expect("in range").to_julian_day();
    let last = Date::from_calendar_date(9999, time::Month::December, 31).expect("in range").to_julian_day();
    Ok(match u.int_in_range(0..=3u8)? {
        0 => SurfaceValue::Text(u.arbitrary()?),
        1 => SurfaceValue::Date(Date::from_julian_day(u.int_in_range(first..=last)?).expect("in range")),
        2 => SurfaceValue::Integer(u.arbitrary()?),
        _ => SurfaceValue::Bool(u.arbitrary()?),
    })
}
