//! Policies directory → [`PolicySet`]: every file read strictly, then
//! compiled and cross-checked; all problems of all files reported at once.

use super::dto::*;
use super::forms::forms_for;
use super::jurisdiction::{compile_deny, read_jurisdiction};
use super::law;
use super::set::*;
use super::toml_file::{Doc, SourceFile};
use crate::file_error::{FileError, sorted};
use crate::intake::{BirType, FssStatus, RELEASABLE_PATHS};
use crate::model::PurposeId;
use openssl::sha::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use time::Duration;
use toml::Spanned;

const MACAU: &str = "macau.toml";
const PURPOSES: &str = "purposes.toml";

/// Loads `macau.toml`, `purposes.toml` and every other `*.toml` in `dir`
/// as a jurisdiction file. Either the whole set is valid, or every problem
/// found is returned, sorted by file and line.
pub fn load_dir(dir: &Path) -> Result<PolicySet, Vec<FileError>> {
    compile(dir, SourceFile::read_all(dir, "")?)
}

/// [`load_dir`] over files already in memory: each `(name, text)` is read
/// as the file `name` (`macau.toml`, `hengqin.toml`) of a policies
/// directory, with the same rules; errors name a file by `name`, and a
/// file found missing as `./name`.
pub fn load_texts<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<PolicySet, Vec<FileError>> {
    let mut files: Vec<SourceFile> = files.into_iter().map(|(name, text)| SourceFile::in_memory(name, text)).collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    compile(Path::new("."), files)
}

fn compile(dir: &Path, files: Vec<SourceFile>) -> Result<PolicySet, Vec<FileError>> {
    let mut errors = Vec::new();
    let find = |name: &str| files.iter().find(|f| f.name == name);
    let missing = |name: &str| FileError::new(dir.join(name).display().to_string(), None, "missing policy file");

    let (macau, macau_deny_dtos) = match find(MACAU).and_then(|f| read_macau(f, &mut errors)) {
        Some((m, deny)) => (Some(m), deny),
        None => {
            if find(MACAU).is_none() {
                errors.push(missing(MACAU));
            }
            (None, Vec::new())
        }
    };
    let purposes = match find(PURPOSES) {
        Some(f) => read_purposes(f, &mut errors),
        None => {
            errors.push(missing(PURPOSES));
            BTreeMap::new()
        }
    };
    let mut partners = BTreeMap::new();
    let mut jurisdictions = BTreeMap::new();
    let mut pending_deny = Vec::new();
    for f in files.iter().filter(|f| f.name != MACAU && f.name != PURPOSES) {
        let ctx = Context { macau: macau.as_ref(), purposes: &purposes };
        if let Some((j, deny)) = read_jurisdiction(f, &ctx, &mut partners, &mut errors) {
            pending_deny.push((f, Some(j.id.clone()), deny));
            jurisdictions.insert(j.id.clone(), j);
        }
    }
    if jurisdictions.is_empty() && errors.is_empty() {
        errors.push(FileError::new(dir.display().to_string(), None, "no jurisdiction file: no partner can be served"));
    }
    let mut macau_deny = Vec::new();
    if let Some(f) = find(MACAU) {
        pending_deny.push((f, None, macau_deny_dtos));
    }
    for (f, jurisdiction, rules) in pending_deny {
        let compiled = compile_deny(f, jurisdiction.as_ref(), rules, &partners, &purposes, &mut errors);
        match jurisdiction.and_then(|j| jurisdictions.get_mut(&j)) {
            Some(j) => j.deny = compiled,
            None => macau_deny = compiled,
        }
    }

    let Some(macau) = macau else { return Err(sorted(errors)) };
    if !errors.is_empty() {
        return Err(sorted(errors));
    }
    Ok(PolicySet {
        digest: digest(&files),
        source: macau.source,
        mechanisms: macau.mechanisms,
        macau_sensitive: macau.sensitive,
        macau_deny,
        purposes,
        jurisdictions,
        partners,
    })
}

fn digest(files: &[SourceFile]) -> String {
    let mut sorted: Vec<&SourceFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let mut h = Sha256::new();
    for f in sorted {
        h.update(f.name.as_bytes());
        h.update(&[0]);
        h.update(f.text.as_bytes());
    }
    hex::encode(h.finish())
}

/// Deny rules as read, held until every partner is known.
pub(super) type DenyDtos = Vec<(std::ops::Range<usize>, DenyDto)>;

pub(super) struct Macau {
    source: SourceRules,
    pub mechanisms: BTreeMap<Mechanism, MechanismRule>,
    sensitive: Vec<String>,
}

pub(super) struct Context<'a> {
    pub macau: Option<&'a Macau>,
    pub purposes: &'a BTreeMap<PurposeId, Purpose>,
}

pub(super) fn parse_or_collect<'a>(
    file: &'a SourceFile,
    errors: &mut Vec<FileError>,
) -> Option<(Doc<'a>, Vec<super::toml_file::Entry<'a>>)> {
    match Doc::parse(file) {
        Ok(d) => Some(d),
        Err(e) => {
            errors.extend(e);
            None
        }
    }
}

fn read_macau(file: &SourceFile, errors: &mut Vec<FileError>) -> Option<(Macau, DenyDtos)> {
    let (mut doc, entries) = parse_or_collect(file, errors)?;
    let (mut assertion, mut mechanisms, mut sensitive, mut deny) = (None, Vec::new(), None, Vec::new());
    let mut seen = BTreeSet::new();
    for (key, value) in entries {
        seen.insert(key.get_ref().clone());
        match key.get_ref().as_str() {
            "assertion" => assertion = doc.value::<AssertionRulesDto>(value),
            "mechanism" => mechanisms = doc.table_of::<MechanismDto>(&key, value),
            "sensitive" => sensitive = doc.value::<SensitiveDto>(value),
            "deny" => deny = doc.array_of::<DenyDto>(&key, value),
            _ => doc.unknown_key(&key),
        }
    }
    for required in ["assertion", "mechanism", "sensitive"] {
        if !seen.contains(required) {
            doc.error_top(format!("missing table [{required}]"));
        }
    }

    let mut source =
        SourceRules { clock_skew: Duration::ZERO, max_assertion_age: Duration::ZERO, mechanisms: Vec::new() };
    if let Some(a) = &assertion {
        doc.check_source(&a.source);
        if !(1..=3600).contains(a.max_assertion_age.get_ref()) {
            doc.error(a.max_assertion_age.span(), "max_assertion_age must be 1 to 3600 seconds");
        }
        if !(0..=300).contains(a.clock_skew.get_ref()) {
            doc.error(a.clock_skew.span(), "clock_skew must be 0 to 300 seconds");
        }
        source.max_assertion_age = Duration::seconds(*a.max_assertion_age.get_ref());
        source.clock_skew = Duration::seconds(*a.clock_skew.get_ref());
    }

    let mut rules = BTreeMap::new();
    for (key, m) in mechanisms {
        doc.check_source(&m.source);
        let Some(mechanism) = Mechanism::parse(key.get_ref()) else {
            let all: Vec<&str> = Mechanism::ALL.iter().map(|m| m.as_str()).collect();
            doc.error(key.span(), format!("unknown transfer mechanism `{}`; known: {}", key.get_ref(), all.join(", ")));
            continue;
        };
        non_empty(&mut doc, &m.name, "name");
        if let Some(cities) = &m.registered_cities {
            for c in cities.get_ref() {
                if !law::gba_contract_place(c) {
                    doc.error(cities.span(), format!("`{c}` is not a GBA city or Macau (GB/T 2260)"));
                }
            }
            if cities.get_ref().is_empty() {
                doc.error(cities.span(), "registered_cities may not be empty");
            }
        } else if mechanism == Mechanism::GbaScMo {
            doc.error(key.span(), "GBA_SC_MO must list registered_cities (the GBA standard contract's places)");
        }
        source.mechanisms.push(mechanism);
        rules.insert(
            mechanism,
            MechanismRule {
                mechanism,
                name: m.name.get_ref().clone(),
                reference_required: m.reference_required,
                requires_consent: m.requires_consent.as_ref().is_some_and(|r| *r.get_ref()),
                registered_cities: m.registered_cities.map(|c| c.into_inner()),
            },
        );
    }

    let mut categories = Vec::new();
    if let Some(s) = &sensitive {
        doc.check_source(&s.source);
        categories = check_categories(&mut doc, &s.categories, law::PDPA_ART7, "PDPA art. 7");
    }
    errors.append(&mut doc.errors);
    Some((Macau { source, mechanisms: rules, sensitive: categories }, deny))
}

/// A statutory list restated in a file: every entry known, none left out.
pub(super) fn check_categories(doc: &mut Doc, list: &Spanned<Vec<String>>, law: &[&str], cite: &str) -> Vec<String> {
    for c in list.get_ref() {
        if !law.contains(&c.as_str()) {
            doc.error(list.span(), format!("`{c}` is not a category of {cite}; known: {}", law.join(", ")));
        }
    }
    for c in law {
        if !list.get_ref().iter().any(|x| x == c) {
            doc.error(list.span(), format!("category `{c}` of {cite} is missing: a policy may not drop one"));
        }
    }
    list.get_ref().clone()
}

pub(super) fn non_empty(doc: &mut Doc, s: &Spanned<String>, what: &str) {
    if s.get_ref().trim().is_empty() || s.get_ref().chars().any(char::is_control) {
        doc.error(s.span(), format!("{what} must be non-empty text on one line"));
    }
}

fn read_purposes(file: &SourceFile, errors: &mut Vec<FileError>) -> BTreeMap<PurposeId, Purpose> {
    let mut out = BTreeMap::new();
    let Some((mut doc, entries)) = parse_or_collect(file, errors) else { return out };
    let mut dtos = Vec::new();
    for (key, value) in entries {
        match key.get_ref().as_str() {
            "purpose" => dtos = doc.array_of::<PurposeDto>(&key, value),
            _ => doc.unknown_key(&key),
        }
    }
    for (_, p) in dtos {
        if PurposeId::parse(p.id.get_ref()).is_ok_and(|id| out.contains_key(&id)) {
            doc.error(p.id.span(), format!("duplicate purpose id `{}`", p.id.get_ref()));
            continue;
        }
        if let Some(purpose) = compile_purpose(&mut doc, p) {
            out.insert(purpose.id.clone(), purpose);
        }
    }
    if out.is_empty() && doc.errors.is_empty() {
        doc.error_top("no [[purpose]]: nothing could ever be released");
    }
    errors.append(&mut doc.errors);
    out
}

fn compile_purpose(doc: &mut Doc, p: PurposeDto) -> Option<Purpose> {
    for s in [&p.source, &p.consent.source, &p.release.source, &p.retention.source] {
        doc.check_source(s);
    }
    let id = match PurposeId::parse(p.id.get_ref()) {
        Ok(id) => Some(id),
        Err(e) => {
            doc.error(p.id.span(), format!("purpose id: {e}"));
            None
        }
    };
    non_empty(doc, &p.description, "description");
    if p.description.get_ref().chars().count() > law::MAX_DESCRIPTION_CHARS {
        doc.error(p.description.span(), "description is over 200 characters (certificate_copy_cause)");
    }
    non_empty(doc, &p.legal_basis.macau, "legal_basis.macau");
    non_empty(doc, &p.legal_basis.mainland, "legal_basis.mainland");
    let sensitive = p.sensitive.as_ref().map(|s| s.get_ref().clone()).unwrap_or_default();
    if let Some(s) = &p.sensitive {
        for c in s.get_ref() {
            if !law::PDPA_ART7.contains(&c.as_str()) && !law::PIPL_ART28.contains(&c.as_str()) {
                doc.error(s.span(), format!("`{c}` is not a sensitive category of PDPA art. 7 or PIPL art. 28"));
            }
        }
    }
    let consent = *p.consent.mode.get_ref();
    if !sensitive.is_empty() && consent != ConsentMode::Separate {
        doc.error(p.consent.mode.span(), "a sensitive purpose needs consent mode `separate` (PIPL art. 29)");
    }
    if PurposeId::parse(p.mapping.get_ref()).is_err() {
        doc.error(p.mapping.span(), "mapping must be a mapping id (a-z, 0-9, '-')");
    }
    let hours = p.record_validity_hours.as_ref().map_or(24, |h| *h.get_ref());
    if let Some(h) = &p.record_validity_hours
        && !(1..=720).contains(h.get_ref())
    {
        doc.error(h.span(), "record_validity_hours must be 1 to 720");
    }
    let eligibility = p.eligibility.map(|e| compile_eligibility(doc, e)).unwrap_or_default();
    let release = compile_release(doc, &p.release.claims, None);
    if p.release.claims.is_empty() {
        doc.error(p.release.source.span(), "release.claims is empty: the purpose would release nothing");
    }
    if *p.retention.audit_days.get_ref() < law::MIN_AUDIT_DAYS {
        doc.error(p.retention.audit_days.span(), "audit_days must be at least 1095 (PIPL art. 56: 3 years)");
    }
    if *p.retention.payload_days.get_ref() != 0 {
        doc.error(p.retention.payload_days.span(), "payload_days must be 0: the bridge keeps no payload");
    }
    let mapping_at = (doc.file.path.clone(), doc.line_of(p.mapping.span().start));
    Some(Purpose {
        id: id?,
        description: p.description.into_inner(),
        legal_basis_macau: p.legal_basis.macau.into_inner(),
        legal_basis_mainland: p.legal_basis.mainland.into_inner(),
        min_loa: p.min_loa.into_inner(),
        sensitive,
        consent,
        eligibility,
        release,
        mapping: p.mapping.into_inner(),
        record_validity: Duration::hours(i64::from(hours)),
        audit_retention_days: p.retention.audit_days.into_inner(),
        payload_retention_days: p.retention.payload_days.into_inner(),
        file: doc.file.name.clone(),
        mapping_at,
    })
}

pub(super) fn releasable(path: &str) -> Option<&'static str> {
    RELEASABLE_PATHS.iter().copied().find(|p| *p == path)
}

fn compile_eligibility(doc: &mut Doc, e: EligibilityDto) -> Eligibility {
    doc.check_source(&e.source);
    let mut out = Eligibility::default();
    if let Some(b) = &e.bir_type {
        if b.get_ref().is_empty() {
            doc.error(b.span(), "bir_type may not be empty");
        }
        out.bir_type = Some(b.get_ref().iter().map(|t| bir_type(*t)).collect());
    }
    if let Some(v) = &e.voucher_current_year {
        if !v.get_ref() {
            doc.error(v.span(), "voucher_current_year = false checks nothing: remove it");
        }
        out.voucher_current_year = *v.get_ref();
    }
    if let Some(f) = &e.fss_status {
        if f.get_ref().is_empty() {
            doc.error(f.span(), "fss_status may not be empty");
        }
        out.fss_status = Some(f.get_ref().iter().map(|s| fss_status(*s)).collect());
    }
    if let Some(a) = &e.min_age {
        if *a.get_ref() == 0 || *a.get_ref() > 120 {
            doc.error(a.span(), "min_age must be 1 to 120");
        }
        out.min_age = Some(*a.get_ref());
    }
    if let Some(p) = &e.present {
        for path in p.get_ref() {
            match releasable(path) {
                Some(p) => out.present.push(p),
                None => doc.error(p.span(), format!("`{path}` is not a claim path of the input profile")),
            }
        }
    }
    out
}

pub(super) fn bir_type(t: BirTypeDto) -> BirType {
    match t {
        BirTypeDto::Birp => BirType::Birp,
        BirTypeDto::Birnp => BirType::Birnp,
    }
}

pub(super) fn fss_status(s: FssStatusDto) -> FssStatus {
    match s {
        FssStatusDto::Active => FssStatus::Active,
        FssStatusDto::Suspended => FssStatus::Suspended,
        FssStatusDto::Closed => FssStatus::Closed,
    }
}

/// Compiles a release table; with `base`, also refuses any widening of it.
pub(super) fn compile_release(
    doc: &mut Doc,
    claims: &BTreeMap<Spanned<String>, Spanned<super::forms::Form>>,
    base: Option<&ReleaseSet>,
) -> ReleaseSet {
    let mut out = Vec::new();
    for (path, form) in claims {
        let Some(p) = releasable(path.get_ref()) else {
            doc.error(path.span(), format!("`{}` is not a releasable claim path", path.get_ref()));
            continue;
        };
        let form = *form.get_ref();
        if !forms_for(p).contains(&form) {
            doc.error(path.span(), format!("form `{form}` is not defined for `{p}`"));
            continue;
        }
        if let Some(base) = base {
            match base.form(p) {
                None => {
                    doc.error(path.span(), format!("widens the purpose: `{p}` is not in its release set"));
                    continue;
                }
                Some(b) if !form.narrows(b) => {
                    doc.error(path.span(), format!("widens the purpose: `{p}` is released `{b}`, not `{form}`"));
                    continue;
                }
                Some(_) => {}
            }
        }
        out.push((p, form));
    }
    out.sort_by_key(|(p, _)| RELEASABLE_PATHS.iter().position(|x| x == p));
    ReleaseSet(out)
}
