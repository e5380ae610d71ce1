//! `gbt36903+json`: the national catalogue's snake_case names
//! (`reference/sinks.md`), dates `yyyyMMdd` in UTC+8, plus `surface_data`,
//! `provenance` and `signature`.

use super::LicenceError;
use super::document::{self, DetachedSignature, local, text};
use super::record::{Record, SurfaceItem, SurfaceValue};
use crate::signing::{SM2_DEFAULT_ID, SM2_WITH_SM3_OID, Signer};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use time::macros::format_description;

/// The member that holds the signature; everything else is signed.
pub const SIGNATURE_MEMBER: &str = "signature";
/// The member holding the GB/T 36904 identifier; names the format.
pub const IDENTIFIER_MEMBER: &str = "certificate_identifier";

/// Renders the record without its signature.
pub fn render_unsigned(r: &Record) -> Result<Map<String, Value>, LicenceError> {
    let holder = |f: fn(&super::Holder) -> &str| r.holders.iter().map(f).collect::<Vec<_>>().join(",");
    let ymd = format_description!("[year][month][day]");
    let v = json!({
        IDENTIFIER_MEMBER: r.id.as_str(),
        "certificate_name": r.licence_name,
        "certificate_type_code": r.type_code,
        "certificate_type_name": r.type_name,
        "certificate_number": r.serial,
        "certificate_version": format!("{:03}", r.version),
        "certificate_issuing_authority_name": r.issuer.name,
        "certificate_issuing_authority_code": r.issuer.uscc.as_str(),
        "certificate_area_code": r.issuer.area_code,
        "certificate_issuing_date": local(r.issued_at, ymd)?,
        "certificate_validate_start": local(r.valid_from, ymd)?,
        "certificate_validate_end": local(r.valid_until, ymd)?,
        "certificate_holder_name": holder(|h| &h.name),
        "certificate_holder_code": holder(|h| &h.code),
        "certificate_holder_type": holder(|h| &h.code_type),
        "certificate_holder_type_name": holder(|h| &h.code_type_name),
        "certificate_status": r.status,
        "certificate_copy_cause": r.copy_cause,
        "certificate_copy_expiring_time":
            local(r.valid_until, format_description!("[year][month][day][hour][minute][second]"))?,
        "surface_data": r.surface.iter().map(surface).collect::<Result<Vec<_>, _>>()?,
        "provenance": document::provenance(&r.provenance)?,
    });
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(LicenceError::Record("record did not render as an object".into())),
    }
}

/// Renders, canonicalizes, signs and returns the document bytes.
pub fn render_signed(r: &Record, signer: &dyn Signer) -> Result<Vec<u8>, LicenceError> {
    document::sign(render_unsigned(r)?, signer, |signature| {
        vec![(
            SIGNATURE_MEMBER,
            json!({
                "algorithm": SM2_WITH_SM3_OID,
                "user_id": std::str::from_utf8(SM2_DEFAULT_ID).expect("ASCII id"),
                "certificate": STANDARD.encode(signer.certificate_der()),
                "value": STANDARD.encode(signature),
            }),
        )]
    })
}

/// Takes the `signature` member out of `doc`.
pub(super) fn take_signature(doc: &mut Map<String, Value>) -> DetachedSignature {
    let mut out = DetachedSignature::default();
    let Some(Value::Object(sig)) = doc.remove(SIGNATURE_MEMBER) else {
        out.problems.push("no signature member".to_owned());
        return out;
    };
    out.certificate = STANDARD.decode(text(&sig, "certificate")).ok();
    out.value = STANDARD.decode(text(&sig, "value")).ok();
    if text(&sig, "algorithm") != SM2_WITH_SM3_OID {
        out.problems.push("signature algorithm is not SM2 with SM3".to_owned());
    }
    if text(&sig, "user_id").as_bytes() != SM2_DEFAULT_ID {
        out.problems.push("signature user_id is not the GM/T 0009 default".to_owned());
    }
    out
}

fn surface(item: &SurfaceItem) -> Result<Value, LicenceError> {
    let (value, value_type) = match &item.value {
        SurfaceValue::Text(t) => (t.clone(), "string"),
        SurfaceValue::Date(d) => {
            (d.format(format_description!("[year][month][day]")).map_err(document::date_err)?, "date")
        }
        SurfaceValue::Integer(i) => (i.to_string(), "integer"),
        SurfaceValue::Bool(b) => (b.to_string(), "boolean"),
    };
    Ok(json!({"name": item.name, "value": value, "value_type": value_type, "column_name": item.column_name}))
}
