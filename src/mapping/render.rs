//! Rendering: released values → [`MappedRecord`]. Reads nothing but the
//! [`Permitted`]'s released values, so a claim the policy did not release
//! has no way into the record.

use super::compile::{Mapping, Transform};
use crate::intake::ClaimValue;
use crate::licence::record::{Holder, MappedRecord, SurfaceItem, SurfaceValue};
use crate::model::Reason;
use crate::policy::Permitted;
use time::Date;
use time::macros::format_description;

/// Why a permitted value could not be rendered: a bug in a mapping or its
/// cross-check, never the caller's fault (`INTERNAL`). Messages name items
/// and claim paths, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("mapping `{mapping}` is not the mapping of the permitted purpose (`{expected}`)")]
    WrongMapping { mapping: String, expected: String },
    #[error("mapping `{mapping}`: no value for required item `{item}`")]
    Missing { mapping: String, item: String },
    #[error("mapping `{mapping}`: `{claim}` is not a date")]
    NotADate { mapping: String, claim: String },
    #[error("mapping `{mapping}`: a value of `{claim}` has no code in table `{table}`")]
    Unmapped { mapping: String, claim: String, table: String },
}

impl MappingError {
    pub fn reason(&self) -> Reason {
        Reason::Internal
    }
}

/// A transform's result.
struct Out {
    value: SurfaceValue,
    /// For `first_of`: which alternative matched.
    matched: usize,
    review: Vec<String>,
}

impl Out {
    fn plain(value: SurfaceValue) -> Out {
        Out { value, matched: 0, review: Vec::new() }
    }
}

/// Renders the released values of `permitted` through `mapping`.
pub fn map(permitted: &Permitted, mapping: &Mapping) -> Result<MappedRecord, MappingError> {
    if permitted.mapping_id() != mapping.id {
        return Err(MappingError::WrongMapping {
            mapping: mapping.id.clone(),
            expected: permitted.mapping_id().into(),
        });
    }
    let r = Renderer { permitted, mapping: &mapping.id };
    let mut review = Vec::new();
    let missing = |item: &str| MappingError::Missing { mapping: mapping.id.clone(), item: item.into() };

    let name = r.eval(&mapping.holder_name)?.ok_or_else(|| missing("holder name"))?;
    review.extend(name.review);
    let code = r.eval(&mapping.holder_code)?.ok_or_else(|| missing("holder code"))?;
    let code_type = &mapping.holder_code_types[code.matched];
    let holder = Holder {
        name: text(name.value),
        code: text(code.value),
        code_type: code_type.code_type.clone(),
        code_type_name: code_type.code_type_name.clone(),
    };

    let mut surface = Vec::new();
    for rule in &mapping.surface {
        let Some(out) = r.eval(&rule.value)? else {
            if rule.optional {
                continue;
            }
            return Err(missing(&rule.name));
        };
        review.extend(out.review);
        surface.push(SurfaceItem {
            name: rule.name.clone(),
            value: out.value,
            column_name: rule.column_name.clone(),
            pinyin_code: Some(rule.pinyin_code.clone()),
        });
    }
    let mut name_review = Vec::new();
    for flag in review {
        if !name_review.contains(&flag) {
            name_review.push(flag);
        }
    }
    Ok(MappedRecord {
        licence_name: mapping.name.clone(),
        type_name: mapping.type_name.clone(),
        type_sequence: mapping.type_sequence.clone(),
        holders: vec![holder],
        surface,
        name_review,
        mapping: mapping.reference(),
    })
}

struct Renderer<'a> {
    permitted: &'a Permitted,
    mapping: &'a str,
}

impl Renderer<'_> {
    fn released(&self, claim: &str) -> Option<&ClaimValue> {
        self.permitted.value(claim).map(|r| &r.value)
    }

    fn eval(&self, t: &Transform) -> Result<Option<Out>, MappingError> {
        Ok(Some(match t {
            Transform::Copy(claim) => {
                let Some(v) = self.released(claim) else { return Ok(None) };
                Out::plain(surface_value(v))
            }
            Transform::Const(s) => Out::plain(SurfaceValue::Text(s.clone())),
            Transform::Date(claim) => {
                let Some(v) = self.released(claim) else { return Ok(None) };
                let not_a_date = || MappingError::NotADate { mapping: self.mapping.into(), claim: (*claim).into() };
                Out::plain(match v {
                    ClaimValue::Date(d) => SurfaceValue::Date(*d),
                    ClaimValue::Text(s) if s == "long-term" => SurfaceValue::Text("长期".into()),
                    ClaimValue::Text(s) => SurfaceValue::Date(parse_date(s).ok_or_else(not_a_date)?),
                    _ => return Err(not_a_date()),
                })
            }
            Transform::Code { claim, table } => {
                let Some(v) = self.released(claim) else { return Ok(None) };
                let code = table.code_for(&as_text(&surface_value(v))).ok_or_else(|| MappingError::Unmapped {
                    mapping: self.mapping.into(),
                    claim: (*claim).into(),
                    table: table.id.clone(),
                })?;
                Out::plain(SurfaceValue::Text(code.into()))
            }
            Transform::ZhHans { claim, names } => {
                let Some(v) = self.released(claim) else { return Ok(None) };
                let converted = names.convert(&as_text(&surface_value(v)));
                Out { value: SurfaceValue::Text(converted.simplified), matched: 0, review: converted.review }
            }
            Transform::Concat { parts, separator } => {
                let mut texts = Vec::new();
                let mut review = Vec::new();
                for p in parts {
                    let Some(out) = self.eval(p)? else { return Ok(None) };
                    texts.push(as_text(&out.value));
                    review.extend(out.review);
                }
                Out { value: SurfaceValue::Text(texts.join(separator)), matched: 0, review }
            }
            Transform::FirstOf(alts) => {
                for (i, alt) in alts.iter().enumerate() {
                    if let Some(out) = self.eval(alt)? {
                        return Ok(Some(Out { matched: i, ..out }));
                    }
                }
                return Ok(None);
            }
            Transform::Take { inner, chars } => {
                let Some(out) = self.eval(inner)? else { return Ok(None) };
                let taken = as_text(&out.value).chars().take(*chars).collect();
                Out { value: SurfaceValue::Text(taken), ..out }
            }
        }))
    }
}

fn surface_value(v: &ClaimValue) -> SurfaceValue {
    match v {
        ClaimValue::Text(s) => SurfaceValue::Text(s.clone()),
        ClaimValue::Integer(i) => SurfaceValue::Integer(*i),
        ClaimValue::Bool(b) => SurfaceValue::Bool(*b),
        ClaimValue::Date(d) => SurfaceValue::Date(*d),
        ClaimValue::List(l) => SurfaceValue::Text(l.join(" ")),
    }
}

fn as_text(v: &SurfaceValue) -> String {
    match v {
        SurfaceValue::Text(s) => s.clone(),
        SurfaceValue::Integer(i) => i.to_string(),
        SurfaceValue::Bool(b) => b.to_string(),
        SurfaceValue::Date(d) => d.format(format_description!("[year]-[month]-[day]")).unwrap_or_default(),
    }
}

fn text(v: SurfaceValue) -> String {
    match v {
        SurfaceValue::Text(s) => s,
        other => as_text(&other),
    }
}

fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, format_description!("[year]-[month]-[day]")).ok()
}
