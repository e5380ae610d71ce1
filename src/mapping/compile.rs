//! Mapping DTO → compiled [`Mapping`]: claim paths checked against the
//! input profile, code tables resolved, value kinds checked, record fields
//! checked against the core record's rules.

use super::dto::{HolderDto, LicenceDto, MappingHeadDto, SurfaceDto, TransformDto};
use super::names::NameConverter;
use super::tables::CodeTable;
use crate::intake::RELEASABLE_PATHS;
use crate::policy::FileError;
use crate::policy::toml_file::{Doc, SourceFile};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use toml::Spanned;

/// The table holder code types are checked against.
pub const HOLDER_TYPE_TABLE: &str = "holder-id-type";

/// A compiled mapping for one licence type.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub id: String,
    pub version: String,
    /// 证照名称.
    pub name: String,
    /// 证照类型名称.
    pub type_name: String,
    /// Three digits.
    pub type_sequence: String,
    pub(super) holder_name: Transform,
    /// A `first_of` over the `[[holder.code]]` alternatives.
    pub(super) holder_code: Transform,
    /// The code type of each alternative, by position.
    pub(super) holder_code_types: Vec<HolderCodeType>,
    pub(super) surface: Vec<SurfaceRule>,
}

impl Mapping {
    /// `id@version`, as the record's provenance names it.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }
}

#[derive(Debug, Clone)]
pub(super) struct HolderCodeType {
    pub code_type: String,
    pub code_type_name: String,
}

#[derive(Debug, Clone)]
pub(super) struct SurfaceRule {
    pub name: String,
    pub column_name: String,
    pub pinyin_code: String,
    pub value: Transform,
    pub optional: bool,
}

/// A compiled transform.
#[derive(Debug, Clone)]
pub(super) enum Transform {
    Copy(&'static str),
    Const(String),
    Date(&'static str),
    Code { claim: &'static str, table: Arc<CodeTable> },
    ZhHans { claim: &'static str, names: Arc<NameConverter> },
    Concat { parts: Vec<Transform>, separator: String },
    FirstOf(Vec<Transform>),
    Take { inner: Box<Transform>, chars: usize },
}

/// What a transform yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Date,
    Integer,
    Bool,
    /// A date, or text for a date that is not one (`long-term`).
    Mixed,
}

/// The kind of value a claim path holds when released in full.
fn claim_kind(path: &str) -> Kind {
    match path {
        "person.birth_date" => Kind::Date,
        "person.bir_expiry" => Kind::Mixed,
        "entitlements.health_voucher.eligible" => Kind::Bool,
        "entitlements.health_voucher.scheme_year" | "entitlements.health_voucher.balance_mop" => Kind::Integer,
        _ => Kind::Text,
    }
}

impl Transform {
    fn kind(&self) -> Kind {
        match self {
            Transform::Copy(p) => claim_kind(p),
            Transform::Date(_) => Kind::Mixed,
            Transform::FirstOf(alts) => {
                let kinds: BTreeSet<_> = alts.iter().map(|a| a.kind() as u8).collect();
                if kinds.len() == 1 { alts[0].kind() } else { Kind::Mixed }
            }
            _ => Kind::Text,
        }
    }

    /// Claim paths the transform reads, as groups of which at least one
    /// must be released for it to yield a value.
    pub(super) fn needs(&self) -> Vec<Vec<&'static str>> {
        match self {
            Transform::Copy(p) | Transform::Date(p) => vec![vec![*p]],
            Transform::Code { claim, .. } | Transform::ZhHans { claim, .. } => vec![vec![*claim]],
            Transform::Const(_) => Vec::new(),
            Transform::Concat { parts, .. } => parts.iter().flat_map(Transform::needs).collect(),
            Transform::FirstOf(alts) => {
                vec![alts.iter().flat_map(Transform::needs).flatten().collect()]
            }
            Transform::Take { inner, .. } => inner.needs(),
        }
    }

    /// Claim paths the transform reads as typed values, which a `masked` or
    /// `pseudonym` form would break.
    pub(super) fn needs_full(&self) -> Vec<&'static str> {
        match self {
            Transform::Date(p) | Transform::Code { claim: p, .. } | Transform::ZhHans { claim: p, .. } => vec![*p],
            Transform::Concat { parts: v, .. } | Transform::FirstOf(v) => {
                v.iter().flat_map(Transform::needs_full).collect()
            }
            Transform::Take { inner, .. } => inner.needs_full(),
            Transform::Copy(_) | Transform::Const(_) => Vec::new(),
        }
    }

    fn zh_hans_claims(&self, out: &mut Vec<&'static str>) {
        match self {
            Transform::ZhHans { claim, .. } => out.push(claim),
            Transform::Concat { parts: v, .. } | Transform::FirstOf(v) => v.iter().for_each(|t| t.zh_hans_claims(out)),
            Transform::Take { inner, .. } => inner.zh_hans_claims(out),
            _ => {}
        }
    }
}

pub(super) struct Resources<'a> {
    pub tables: &'a BTreeMap<String, Arc<CodeTable>>,
    pub names: &'a Arc<NameConverter>,
}

fn claim(doc: &mut Doc, path: &Spanned<String>) -> Option<&'static str> {
    let found = RELEASABLE_PATHS.iter().copied().find(|p| p == path.get_ref());
    if found.is_none() {
        doc.error(path.span(), format!("`{}` is not a claim path of the input profile", path.get_ref()));
    }
    found
}

fn compile_transform(doc: &mut Doc, res: &Resources, t: &Spanned<TransformDto>) -> Option<Transform> {
    let d = t.get_ref();
    let ops = [
        d.copy.is_some(),
        d.constant.is_some(),
        d.date.is_some(),
        d.code.is_some(),
        d.zh_hans.is_some(),
        d.concat.is_some(),
        d.first_of.is_some(),
    ];
    if ops.iter().filter(|&&x| x).count() != 1 {
        doc.error(t.span(), "a transform names exactly one of copy, const, date, code, zh_hans, concat, first_of");
        return None;
    }
    if d.table.is_some() != d.code.is_some() {
        doc.error(t.span(), "`table` goes with `code`, and `code` needs a `table`");
        return None;
    }
    if d.separator.is_some() && d.concat.is_none() {
        doc.error(t.span(), "`separator` goes with `concat`");
        return None;
    }
    let base = if let Some(p) = &d.copy {
        Transform::Copy(claim(doc, p)?)
    } else if let Some(c) = &d.constant {
        Transform::Const(c.get_ref().clone())
    } else if let Some(p) = &d.date {
        let c = claim(doc, p)?;
        if !matches!(claim_kind(c), Kind::Date | Kind::Mixed) {
            doc.error(p.span(), format!("`{c}` is not a date"));
            return None;
        }
        Transform::Date(c)
    } else if let Some(p) = &d.code {
        let c = claim(doc, p)?;
        let name = d.table.as_ref()?;
        let Some(table) = res.tables.get(name.get_ref()) else {
            doc.error(name.span(), format!("unknown code table `{}`", name.get_ref()));
            return None;
        };
        if !table.maps_inputs() {
            doc.error(name.span(), format!("code table `{}` maps no input values", name.get_ref()));
            return None;
        }
        Transform::Code { claim: c, table: table.clone() }
    } else if let Some(p) = &d.zh_hans {
        let c = claim(doc, p)?;
        if claim_kind(c) != Kind::Text {
            doc.error(p.span(), format!("zh_hans needs a text claim; `{c}` is not one"));
            return None;
        }
        Transform::ZhHans { claim: c, names: res.names.clone() }
    } else if let Some(parts) = &d.concat {
        if parts.len() < 2 {
            doc.error(t.span(), "concat needs at least two parts");
        }
        let parts: Vec<_> = parts.iter().map(|p| compile_transform(doc, res, p)).collect();
        Transform::Concat {
            parts: parts.into_iter().collect::<Option<_>>()?,
            separator: d.separator.clone().unwrap_or_default(),
        }
    } else {
        let alts = d.first_of.as_ref()?;
        if alts.len() < 2 {
            doc.error(t.span(), "first_of needs at least two alternatives");
        }
        let alts: Vec<_> = alts.iter().map(|p| compile_transform(doc, res, p)).collect();
        Transform::FirstOf(alts.into_iter().collect::<Option<_>>()?)
    };
    match &d.take {
        None => Some(base),
        Some(n) if *n.get_ref() == 0 => {
            doc.error(n.span(), "take must be at least 1");
            None
        }
        Some(_) if base.kind() != Kind::Text => {
            doc.error(t.span(), "take applies to text only");
            None
        }
        Some(n) => Some(Transform::Take { inner: Box::new(base), chars: *n.get_ref() }),
    }
}

fn text_field(doc: &mut Doc, s: &Spanned<String>, what: &str, max: usize) {
    let v = s.get_ref();
    if v.trim().is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        doc.error(s.span(), format!("{what} must be one line of 1 to {max} characters"));
    }
}

fn is_snake(s: &str) -> bool {
    s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.ends_with('_')
        && !s.contains("__")
}

fn is_version(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() <= 3 && parts.iter().all(|p| !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit()))
}

pub(super) fn read_mapping(file: &SourceFile, res: &Resources, errors: &mut Vec<FileError>) -> Option<Mapping> {
    let (mut doc, entries) = match Doc::parse(file) {
        Ok(d) => d,
        Err(e) => {
            errors.extend(e);
            return None;
        }
    };
    let (mut head, mut licence, mut holder, mut surface) = (None, None, None, Vec::new());
    let mut seen = BTreeSet::new();
    for (key, value) in entries {
        seen.insert(key.get_ref().clone());
        match key.get_ref().as_str() {
            "mapping" => head = doc.value::<MappingHeadDto>(value),
            "licence" => licence = doc.value::<LicenceDto>(value),
            "holder" => holder = doc.value::<HolderDto>(value),
            "surface" => surface = doc.array_of::<SurfaceDto>(&key, value),
            _ => doc.unknown_key(&key),
        }
    }
    for required in ["mapping", "licence", "holder", "surface"] {
        if !seen.contains(required) {
            doc.error_top(format!("missing [{required}]"));
        }
    }
    let out = compile(&mut doc, res, head, licence, holder, surface);
    let failed = !doc.errors.is_empty();
    errors.append(&mut doc.errors);
    if failed { None } else { out }
}

fn compile(
    doc: &mut Doc,
    res: &Resources,
    head: Option<MappingHeadDto>,
    licence: Option<LicenceDto>,
    holder: Option<HolderDto>,
    surface: Vec<(std::ops::Range<usize>, SurfaceDto)>,
) -> Option<Mapping> {
    if let Some(h) = &head {
        if h.id.get_ref() != doc.file.stem() {
            doc.error(h.id.span(), format!("mapping id `{}` must match the file name", h.id.get_ref()));
        }
        if !is_version(h.version.get_ref()) {
            doc.error(h.version.span(), "version is 1 to 3 dot-separated numbers (`1`, `1.2`, `1.2.3`)");
        }
    }
    if let Some(l) = &licence {
        text_field(doc, &l.name, "licence name", 512);
        text_field(doc, &l.type_name, "type_name", 512);
        let seq = l.type_sequence.get_ref();
        if seq.len() != 3 || !seq.bytes().all(|b| b.is_ascii_digit()) || seq == "000" {
            doc.error(l.type_sequence.span(), "type_sequence is three digits, 001 to 999");
        }
    }
    let holder_types = res.tables.get(HOLDER_TYPE_TABLE);
    let (mut holder_name, mut holder_codes, mut holder_code_types) = (None, Vec::new(), Vec::new());
    if let Some(h) = &holder {
        holder_name = compile_transform(doc, res, &h.name);
        if holder_name.as_ref().is_some_and(|t| t.kind() != Kind::Text) {
            doc.error(h.name.span(), "the holder name must be text");
        }
        if !(1..=4).contains(&h.code.get_ref().len()) {
            doc.error(h.code.span(), "[[holder.code]] needs 1 to 4 alternatives");
        }
        for alt in h.code.get_ref() {
            let value = compile_transform(doc, res, &alt.value);
            let Some(table) = holder_types else {
                doc.error(alt.code_type.span(), format!("code table `{HOLDER_TYPE_TABLE}` is missing"));
                continue;
            };
            let Some(table_name) = table.name_of(alt.code_type.get_ref()) else {
                doc.error(
                    alt.code_type.span(),
                    format!("`{}` is not a code of `{HOLDER_TYPE_TABLE}`", alt.code_type.get_ref()),
                );
                continue;
            };
            if let Some(n) = &alt.code_type_name {
                text_field(doc, n, "code_type_name", 128);
            }
            if let Some(value) = value {
                let name = alt.code_type_name.as_ref().map_or(table_name, |n| n.get_ref()).to_owned();
                holder_codes.push(value);
                holder_code_types
                    .push(HolderCodeType { code_type: alt.code_type.get_ref().clone(), code_type_name: name });
            }
        }
    }
    if surface.is_empty() {
        doc.error_top("a mapping needs at least one [[surface]] item");
    }
    let (mut columns, mut codes, mut rules) = (BTreeSet::new(), BTreeSet::new(), Vec::new());
    for (_, s) in &surface {
        text_field(doc, &s.name, "surface name", 64);
        let col = s.column_name.get_ref();
        if !is_snake(col) {
            doc.error(s.column_name.span(), "column_name must be snake_case (a-z, 0-9, '_'), at most 64");
        } else if col.starts_with("certificate_") {
            doc.error(s.column_name.span(), "column names starting `certificate_` belong to the core record");
        } else if !columns.insert(col.clone()) {
            doc.error(s.column_name.span(), format!("column_name `{col}` is used twice"));
        }
        let code = s.pinyin_code.get_ref();
        let code_ok = (2..=32).contains(&code.len())
            && code.starts_with(|c: char| c.is_ascii_uppercase())
            && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !code_ok {
            doc.error(s.pinyin_code.span(), "pinyin_code is 2 to 32 of A-Z and 0-9, starting with a letter");
        } else if !codes.insert(code.clone()) {
            doc.error(s.pinyin_code.span(), format!("pinyin_code `{code}` is used twice"));
        }
        if let Some(value) = compile_transform(doc, res, &s.value) {
            rules.push((
                s.value.span(),
                SurfaceRule {
                    name: s.name.get_ref().clone(),
                    column_name: col.clone(),
                    pinyin_code: code.clone(),
                    value,
                    optional: s.optional,
                },
            ));
        }
    }
    // The Traditional original of every converted name stays in the record.
    let mut converted = Vec::new();
    if let (Some(h), Some(n)) = (&holder, &holder_name) {
        let mut c = Vec::new();
        n.zh_hans_claims(&mut c);
        converted.extend(c.into_iter().map(|p| (p, h.name.span())));
    }
    for (span, r) in &rules {
        let mut c = Vec::new();
        r.value.zh_hans_claims(&mut c);
        converted.extend(c.into_iter().map(|p| (p, span.clone())));
    }
    let kept: BTreeSet<&str> = rules
        .iter()
        .filter_map(|(_, r)| match r.value {
            Transform::Copy(p) => Some(p),
            _ => None,
        })
        .collect();
    for (p, span) in converted {
        if !kept.contains(p) {
            doc.error(
                span,
                format!("zh_hans of `{p}` needs a surface item copying `{p}`: the Traditional original is kept"),
            );
        }
    }
    let (head, licence) = (head?, licence?);
    Some(Mapping {
        id: head.id.into_inner(),
        version: head.version.into_inner(),
        name: licence.name.into_inner(),
        type_name: licence.type_name.into_inner(),
        type_sequence: licence.type_sequence.into_inner(),
        holder_name: holder_name?,
        holder_code: Transform::FirstOf(holder_codes),
        holder_code_types,
        surface: rules.into_iter().map(|(_, r)| r).collect(),
    })
}

impl Mapping {
    /// Claim groups that must be released (one of each group) for every
    /// required item of the record to get a value.
    pub(super) fn required_needs(&self) -> Vec<Vec<&'static str>> {
        let mut needs = self.holder_name.needs();
        needs.extend(self.holder_code.needs());
        for s in self.surface.iter().filter(|s| !s.optional) {
            needs.extend(s.value.needs());
        }
        needs.retain(|g| !g.is_empty());
        needs
    }

    /// Claims some transform reads as typed values (they must be `full`).
    pub(super) fn full_needs(&self) -> Vec<&'static str> {
        let mut all = self.holder_name.needs_full();
        all.extend(self.holder_code.needs_full());
        all.extend(self.surface.iter().flat_map(|s| s.value.needs_full()));
        all.sort();
        all.dedup();
        all
    }
}
