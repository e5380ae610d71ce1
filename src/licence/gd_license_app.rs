//! `gd-license-app+json`: the licence object of the Guangdong provincial
//! licence system ("license-app", `reference/sinks.md`), without the
//! response envelope, so a partner's existing license-app parser reads it.
//! Dates are `yyyy-MM-dd HH:mm:ss` in UTC+8; the 照面 data is the object
//! `data_fields`; the signature sits in four members of the object itself.
//!
//! Where sinks.md leaves a choice, this module makes it once:
//!
//! - `holder_identity_type` is the record's GB/T 36903 holder code type
//!   translated through the sink's own table
//!   ([`HOLDER_TYPE_TABLE`], `mappings/codes/`), whose codes for Macau
//!   documents are unconfirmed and so live in a file a deployment edits. A
//!   code type the table does not translate stops the record: a guessed
//!   code would be filed as a wrong document type.
//! - `license_item_code` (事项编码) is the licence type code: the bridge has
//!   no item catalogue of its own and issues one licence type per item.
//! - `license_status` is `ISSUED` (名称 `已颁发`) for the record's status
//!   `01`, the only status the bridge issues.
//! - `division` is the name of the issuing body's area code in the `area`
//!   table; it is left out when the table does not name the code, so the
//!   member never holds a code where a parser expects a name.
//! - `data_fields` is keyed by each item's pinyin-initial code, or by its
//!   column name when it has none (mappings always give one; hand-built
//!   records may not). Values are strings, dates `yyyy-MM-dd`, as the
//!   Guangdong data fields write them. Two items under one key stop the
//!   record.
//! - `creator` is the bridge's gateway id (the system that made the
//!   record), `issuer` the issuing body's name; `creation_time` and
//!   `issue_time` are the signing time.
//! - `biz_num`, `attachment_fields`, `extend_props` and
//!   `correlative_license` are omitted: a translation has no business
//!   number, attachment or related licence.

use super::document::{self, DetachedSignature, local, text};
use super::record::{Record, SurfaceItem, SurfaceValue};
use super::{LicenceError, SinkCodes};
use crate::mapping::CodeTable;
use crate::signing::Signer;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use time::macros::format_description;

/// The member holding the GB/T 36904 identifier; names the format.
pub const IDENTIFIER_MEMBER: &str = "license_code";
/// Value of the `algorithm` member.
pub const ALGORITHM: &str = "SM3withSM2";
/// The signature members; everything else is signed.
pub const SIGNATURE_MEMBERS: [&str; 4] = ["algorithm", "s_sign_cert", "s_sign_data", "public_key"];
/// The code table translating GB/T 36903 holder code types into this sink's.
pub const HOLDER_TYPE_TABLE: &str = "holder-id-type-gd-license-app";
/// `trust_level` of every record (A: issued by the competent body's system).
pub const TRUST_LEVEL: &str = "A";

/// Renders the record without its signature members.
pub fn render_unsigned(r: &Record, codes: &SinkCodes<'_>) -> Result<Map<String, Value>, LicenceError> {
    let table = codes.holder_types.ok_or_else(|| {
        LicenceError::Record(format!("code table `{HOLDER_TYPE_TABLE}` is not loaded for gd-license-app+json"))
    })?;
    let joined = |f: fn(&super::Holder) -> &str| r.holders.iter().map(f).collect::<Vec<_>>().join(",");
    let holder_types =
        r.holders.iter().map(|h| holder_type(table, &h.code_type)).collect::<Result<Vec<_>, _>>()?.join(",");
    let (status, status_name) = status(&r.status)?;
    let stamp = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let issued = local(r.issued_at, stamp)?;
    let v = json!({
        IDENTIFIER_MEMBER: r.id.as_str(),
        "name": r.licence_name,
        "license_type": r.type_code,
        "license_type_name": r.type_name,
        "id_code": r.serial,
        "license_item_code": r.type_code,
        "license_status": status,
        "license_status_name": status_name,
        "trust_level": TRUST_LEVEL,
        "holder_name": joined(|h| &h.name),
        "holder_identity_type": holder_types,
        "holder_identity_num": joined(|h| &h.code),
        "issue_org_name": r.issuer.name,
        "issue_org_code": r.issuer.uscc.as_str(),
        "division_code": r.issuer.area_code,
        "issue_date": issued,
        "begin_date": local(r.valid_from, stamp)?,
        "expiry_date": local(r.valid_until, stamp)?,
        "data_fields": data_fields(&r.surface)?,
        "remark": r.copy_cause,
        "creator": r.provenance.gateway_id,
        "creation_time": issued,
        "issuer": r.issuer.name,
        "issue_time": issued,
        "provenance": document::provenance(&r.provenance)?,
    });
    let Value::Object(mut m) = v else {
        return Err(LicenceError::Record("record did not render as an object".into()));
    };
    if let Some(name) = codes.areas.and_then(|t| t.name_of(&r.issuer.area_code)) {
        m.insert("division".into(), Value::String(name.to_owned()));
    }
    Ok(m)
}

/// Renders, canonicalizes, signs and returns the document bytes.
pub fn render_signed(r: &Record, codes: &SinkCodes<'_>, signer: &dyn Signer) -> Result<Vec<u8>, LicenceError> {
    let [algorithm, cert, data, public_key] = SIGNATURE_MEMBERS;
    document::sign(render_unsigned(r, codes)?, signer, |signature| {
        vec![
            (algorithm, json!(ALGORITHM)),
            (cert, json!(STANDARD.encode(signer.certificate_der()))),
            (data, json!(STANDARD.encode(signature))),
            (public_key, json!(STANDARD.encode(signer.public_key_uncompressed()))),
        ]
    })
}

/// Takes the four signature members out of `doc`.
pub(super) fn take_signature(doc: &mut Map<String, Value>) -> DetachedSignature {
    let members: Map<String, Value> =
        SIGNATURE_MEMBERS.iter().filter_map(|&k| doc.remove(k).map(|v| (k.to_owned(), v))).collect();
    let [algorithm, cert, data, public_key] = SIGNATURE_MEMBERS;
    let mut out = DetachedSignature {
        certificate: STANDARD.decode(text(&members, cert)).ok(),
        value: STANDARD.decode(text(&members, data)).ok(),
        stated_public_key: Some(text(&members, public_key).to_owned()),
        problems: Vec::new(),
    };
    let missing: Vec<&str> = SIGNATURE_MEMBERS.into_iter().filter(|k| !members.contains_key(*k)).collect();
    if !missing.is_empty() {
        out.problems.push(format!("signature members missing: {}", missing.join(", ")));
    }
    if members.contains_key(algorithm) && text(&members, algorithm) != ALGORITHM {
        out.problems.push(format!("signature algorithm is not {ALGORITHM}"));
    }
    out
}

/// The sink's code for a GB/T 36903 holder code type.
fn holder_type<'t>(table: &'t CodeTable, code_type: &str) -> Result<&'t str, LicenceError> {
    table.code_for(code_type).ok_or_else(|| {
        LicenceError::Record(format!("holder code type `{code_type}` has no code in table `{}`", table.id))
    })
}

/// License-app status code and name for the record's status (codes.md).
fn status(record_status: &str) -> Result<(&'static str, &'static str), LicenceError> {
    match record_status {
        "01" => Ok(("ISSUED", "已颁发")),
        other => Err(LicenceError::Record(format!("status `{other}` has no license-app code"))),
    }
}

fn data_fields(items: &[SurfaceItem]) -> Result<Map<String, Value>, LicenceError> {
    let mut out = Map::new();
    for item in items {
        let key = item.pinyin_code.as_deref().unwrap_or(&item.column_name);
        let value = match &item.value {
            SurfaceValue::Text(t) => t.clone(),
            SurfaceValue::Date(d) => {
                d.format(format_description!("[year]-[month]-[day]")).map_err(document::date_err)?
            }
            SurfaceValue::Integer(i) => i.to_string(),
            SurfaceValue::Bool(b) => b.to_string(),
        };
        if out.insert(key.to_owned(), Value::String(value)).is_some() {
            return Err(LicenceError::Record(format!("two surface items under data_fields key `{key}`")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
