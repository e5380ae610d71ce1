//! `gbt36903+json`: the national catalogue's snake_case names
//! (`reference/sinks.md`), dates `yyyyMMdd` in UTC+8, plus `surface_data`,
//! `provenance` and `signature`.

use super::record::{Provenance, Record, SurfaceItem, SurfaceValue};
use super::{CHINA_OFFSET, LicenceError, jcs};
use crate::signing::{SM2_DEFAULT_ID, SM2_WITH_SM3_OID, Signer};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// The member that holds the signature; everything else is signed.
pub const SIGNATURE_MEMBER: &str = "signature";

/// Renders the record without its signature.
pub fn render_unsigned(r: &Record) -> Result<Map<String, Value>, LicenceError> {
    let holder = |f: fn(&super::Holder) -> &str| r.holders.iter().map(f).collect::<Vec<_>>().join(",");
    let v = json!({
        "certificate_identifier": r.id.as_str(),
        "certificate_name": r.licence_name,
        "certificate_type_code": r.type_code,
        "certificate_type_name": r.type_name,
        "certificate_number": r.serial,
        "certificate_version": format!("{:03}", r.version),
        "certificate_issuing_authority_name": r.issuer.name,
        "certificate_issuing_authority_code": r.issuer.uscc.as_str(),
        "certificate_area_code": r.issuer.area_code,
        "certificate_issuing_date": ymd(r.issued_at)?,
        "certificate_validate_start": ymd(r.valid_from)?,
        "certificate_validate_end": ymd(r.valid_until)?,
        "certificate_holder_name": holder(|h| &h.name),
        "certificate_holder_code": holder(|h| &h.code),
        "certificate_holder_type": holder(|h| &h.code_type),
        "certificate_holder_type_name": holder(|h| &h.code_type_name),
        "certificate_status": r.status,
        "certificate_copy_cause": r.copy_cause,
        "certificate_copy_expiring_time": ymdhms(r.valid_until)?,
        "surface_data": r.surface.iter().map(surface).collect::<Result<Vec<_>, _>>()?,
        "provenance": provenance(&r.provenance)?,
    });
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(LicenceError::Record("record did not render as an object".into())),
    }
}

/// Renders, canonicalizes, signs and returns the document bytes.
pub fn render_signed(r: &Record, signer: &dyn Signer) -> Result<Vec<u8>, LicenceError> {
    let mut doc = render_unsigned(r)?;
    let canonical = jcs::canonicalize(&Value::Object(doc.clone()))?;
    let signature = signer.sign(&canonical)?;
    doc.insert(
        SIGNATURE_MEMBER.into(),
        json!({
            "algorithm": SM2_WITH_SM3_OID,
            "user_id": std::str::from_utf8(SM2_DEFAULT_ID).expect("ASCII id"),
            "certificate": STANDARD.encode(signer.certificate_der()),
            "value": STANDARD.encode(signature),
        }),
    );
    Ok(jcs::canonicalize(&Value::Object(doc))?)
}

fn surface(item: &SurfaceItem) -> Result<Value, LicenceError> {
    let (value, value_type) = match &item.value {
        SurfaceValue::Text(t) => (t.clone(), "string"),
        SurfaceValue::Date(d) => (d.format(format_description!("[year][month][day]")).map_err(fmt_err)?, "date"),
        SurfaceValue::Integer(i) => (i.to_string(), "integer"),
        SurfaceValue::Bool(b) => (b.to_string(), "boolean"),
    };
    Ok(json!({"name": item.name, "value": value, "value_type": value_type, "column_name": item.column_name}))
}

pub(super) fn provenance(p: &Provenance) -> Result<Value, LicenceError> {
    Ok(json!({
        "source_assertion_sha256": p.source_assertion_sha256,
        "source_issuer": p.source_issuer,
        "policy_digest": p.policy_digest,
        "mapping": p.mapping,
        "gateway_id": p.gateway_id,
        "purpose": p.purpose,
        "released": p.released.iter().map(|r| json!({"claim": r.claim, "form": r.form})).collect::<Vec<_>>(),
        "name_review": p.name_review,
        "signed_at": p.signed_at.to_offset(CHINA_OFFSET).format(&Rfc3339).map_err(fmt_err)?,
    }))
}

fn ymd(t: OffsetDateTime) -> Result<String, LicenceError> {
    t.to_offset(CHINA_OFFSET).format(format_description!("[year][month][day]")).map_err(fmt_err)
}

fn ymdhms(t: OffsetDateTime) -> Result<String, LicenceError> {
    t.to_offset(CHINA_OFFSET).format(format_description!("[year][month][day][hour][minute][second]")).map_err(fmt_err)
}

fn fmt_err(e: time::error::Format) -> LicenceError {
    LicenceError::Record(format!("date: {e}"))
}
