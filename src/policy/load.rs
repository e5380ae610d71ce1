//! Policies directory → [`PolicySet`]: every file read strictly, then
//! compiled and cross-checked; all problems of all files reported at once.

use super::dto::*;
use super::file_error::{FileError, sorted};
use super::forms::forms_for;
use super::law;
use super::set::*;
use super::toml_file::{Doc, SourceFile};
use crate::intake::{BirType, FssStatus, RELEASABLE_PATHS};
use crate::model::{JurisdictionId, Loa, PartnerId, PurposeId, TrustDomainId};
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
    let files = SourceFile::read_all(dir, "")?;
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
type DenyDtos = Vec<(std::ops::Range<usize>, DenyDto)>;

struct Macau {
    source: SourceRules,
    mechanisms: BTreeMap<Mechanism, MechanismRule>,
    sensitive: Vec<String>,
}

struct Context<'a> {
    macau: Option<&'a Macau>,
    purposes: &'a BTreeMap<PurposeId, Purpose>,
}

fn parse_or_collect<'a>(
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
fn check_categories(doc: &mut Doc, list: &Spanned<Vec<String>>, law: &[&str], cite: &str) -> Vec<String> {
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

fn non_empty(doc: &mut Doc, s: &Spanned<String>, what: &str) {
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

fn releasable(path: &str) -> Option<&'static str> {
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
fn compile_release(
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

type Jur = (Jurisdiction, DenyDtos);

fn read_jurisdiction(
    file: &SourceFile,
    ctx: &Context,
    known_partners: &mut BTreeMap<PartnerId, Partner>,
    errors: &mut Vec<FileError>,
) -> Option<Jur> {
    let (mut doc, entries) = parse_or_collect(file, errors)?;
    let (mut head, mut partners, mut narrowings, mut deny, mut seen_head) =
        (None, Vec::new(), Vec::new(), Vec::new(), false);
    for (key, value) in entries {
        match key.get_ref().as_str() {
            "jurisdiction" => {
                seen_head = true;
                head = doc.value::<JurisdictionDto>(value);
            }
            "partner" => partners = doc.table_of::<PartnerDto>(&key, value),
            "purpose" => narrowings = doc.table_of::<NarrowingDto>(&key, value),
            "deny" => deny = doc.array_of::<DenyDto>(&key, value),
            _ => doc.unknown_key(&key),
        }
    }
    if !seen_head {
        doc.error_top("missing table [jurisdiction]");
    }
    let jurisdiction = head.and_then(|h| compile_head(&mut doc, h));
    let mut compiled_narrowings = BTreeMap::new();
    for (key, n) in narrowings {
        doc.check_source(&n.source);
        let Some(purpose) = PurposeId::parse(key.get_ref()).ok().and_then(|id| ctx.purposes.get(&id)) else {
            doc.error(key.span(), format!("narrows unknown purpose `{}`", key.get_ref()));
            continue;
        };
        if n.min_loa.is_none() && n.consent.is_none() && n.release.is_none() {
            doc.error(key.span(), "a [purpose.<id>] narrowing must set min_loa, consent or release");
        }
        if let Some(l) = &n.min_loa
            && *l.get_ref() < purpose.min_loa
        {
            doc.error(l.span(), format!("widens the purpose: min_loa below `{}`", loa_str(purpose.min_loa)));
        }
        if let Some(c) = &n.consent
            && *c.get_ref() < purpose.consent
        {
            doc.error(c.span(), format!("widens the purpose: consent weaker than `{}`", purpose.consent.as_str()));
        }
        let release = n.release.as_ref().map(|r| compile_release(&mut doc, r, Some(&purpose.release)));
        compiled_narrowings.insert(
            purpose.id.clone(),
            Narrowing {
                min_loa: n.min_loa.map(|l| l.into_inner()),
                consent: n.consent.map(|c| c.into_inner()),
                release,
            },
        );
    }
    for (key, p) in partners {
        let id = match PartnerId::parse(key.get_ref()) {
            Ok(id) => id,
            Err(e) => {
                doc.error(key.span(), format!("partner id: {e}"));
                continue;
            }
        };
        if let Some(other) = known_partners.get(&id) {
            doc.error(key.span(), format!("partner `{id}` is also defined in {}", other.file));
            continue;
        }
        let Some(j) = &jurisdiction else { continue };
        if let Some(partner) = compile_partner(&mut doc, ctx, id, j.id.clone(), p) {
            known_partners.insert(partner.id.clone(), partner);
        }
    }
    errors.append(&mut doc.errors);
    let mut j = jurisdiction?;
    j.narrowings = compiled_narrowings;
    Some((j, deny))
}

fn loa_str(l: Loa) -> &'static str {
    match l {
        Loa::Substantial => "substantial",
        Loa::High => "high",
    }
}

fn compile_head(doc: &mut Doc, h: JurisdictionDto) -> Option<Jurisdiction> {
    doc.check_source(&h.source);
    let id = JurisdictionId::parse(h.id.get_ref()).ok();
    if id.is_none() {
        doc.error(h.id.span(), "jurisdiction id must be 1–64 of a-z, 0-9, '-'");
    } else if h.id.get_ref() != doc.file.stem() {
        doc.error(
            h.id.span(),
            format!("jurisdiction id `{}` must match the file name `{}`", h.id.get_ref(), doc.file.name),
        );
    }
    non_empty(doc, &h.name, "name");
    if !law::GBA_CITIES.iter().any(|(c, _)| c == h.area_code.get_ref()) {
        doc.error(h.area_code.span(), "area_code must be the GB/T 2260 code of a mainland GBA city");
    }
    let domains = h.trust_domains.get_ref();
    if !domains.contains(&TrustDomainId::Mo) {
        doc.error(h.trust_domains.span(), "trust_domains must include `MO` (the eID assertion issuers)");
    }
    if domains.iter().collect::<BTreeSet<_>>().len() != domains.len() {
        doc.error(h.trust_domains.span(), "trust_domains lists a domain twice");
    }
    let categories = check_categories(doc, &h.sensitive_categories, law::PIPL_ART28, "PIPL art. 28");
    if !(law::PIPL_MINOR_AGE..=18).contains(h.minor_age.get_ref()) {
        doc.error(h.minor_age.span(), "minor_age must be 14 to 18 (PIPL art. 31: at least 14)");
    }
    Some(Jurisdiction {
        id: id?,
        name: h.name.into_inner(),
        area_code: h.area_code.into_inner(),
        trust_domains: h.trust_domains.into_inner(),
        sensitive_categories: categories,
        minor_age: h.minor_age.into_inner(),
        file: doc.file.name.clone(),
        narrowings: BTreeMap::new(),
        deny: Vec::new(),
    })
}

fn compile_partner(
    doc: &mut Doc,
    ctx: &Context,
    id: PartnerId,
    jurisdiction: JurisdictionId,
    p: PartnerDto,
) -> Option<Partner> {
    for s in [&p.source, &p.authorisation.source, &p.transfer.source, &p.limits.source] {
        doc.check_source(s);
    }
    non_empty(doc, &p.name, "name");
    non_empty(doc, &p.authorisation.authorised_by, "authorisation.authorised_by");
    let city = p.registered_city.get_ref();
    if !law::gba_contract_place(city) {
        doc.error(p.registered_city.span(), "registered_city must be a GB/T 2260 code of a GBA city or 820000 (Macau)");
    }
    let mut purposes = Vec::new();
    for s in p.purposes.get_ref() {
        match PurposeId::parse(s.get_ref()).ok().filter(|id| ctx.purposes.contains_key(id)) {
            Some(id) if purposes.contains(&id) => doc.error(s.span(), format!("purpose `{id}` listed twice")),
            Some(id) => purposes.push(id),
            None => doc.error(s.span(), format!("unknown purpose `{}`", s.get_ref())),
        }
    }
    if p.purposes.get_ref().is_empty() {
        doc.error(p.purposes.span(), "purposes is empty: the partner could do nothing");
    }
    let formats = p.formats.get_ref().clone();
    if formats.is_empty() || formats.iter().collect::<BTreeSet<_>>().len() != formats.len() {
        doc.error(p.formats.span(), "formats must list at least one format, each once");
    }
    let mechanism = Mechanism::parse(p.transfer.mechanism.get_ref());
    let rule = mechanism.and_then(|m| ctx.macau.and_then(|macau| macau.mechanisms.get(&m)));
    match (mechanism, rule) {
        (None, _) => doc.error(
            p.transfer.mechanism.span(),
            format!("unknown transfer mechanism `{}`", p.transfer.mechanism.get_ref()),
        ),
        (Some(m), None) if ctx.macau.is_some() => {
            doc.error(p.transfer.mechanism.span(), format!("mechanism `{}` is not accepted by macau.toml", m.as_str()))
        }
        (_, None) => {}
        (Some(m), Some(rule)) => {
            let reference = p.transfer.reference.as_ref().map(|r| r.get_ref().trim()).unwrap_or("");
            if rule.reference_required && reference.is_empty() {
                doc.error(
                    p.transfer.mechanism.span(),
                    format!("mechanism `{}` needs a reference (filing or authorisation number)", m.as_str()),
                );
            }
            if let Some(cities) = &rule.registered_cities
                && !cities.contains(city)
            {
                doc.error(
                    p.registered_city.span(),
                    format!("mechanism `{}` is not open to partners registered in `{city}`", m.as_str()),
                );
            }
        }
    }
    let l = &p.limits;
    for (v, what) in [(&l.rate_per_second, "rate_per_second"), (&l.burst, "burst"), (&l.daily_quota, "daily_quota")] {
        if *v.get_ref() == 0 {
            doc.error(v.span(), format!("{what} must be at least 1"));
        }
    }
    if *l.rate_per_second.get_ref() > 10_000 {
        doc.error(l.rate_per_second.span(), "rate_per_second is over 10000");
    }
    let mut pins = Vec::new();
    if let Some(identity) = &p.identity {
        doc.check_source(&identity.source);
        for pin in &identity.spki_sha256 {
            let ok = pin.get_ref().len() == 64
                && pin.get_ref().bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if ok {
                pins.push(pin.get_ref().clone());
            } else {
                doc.error(pin.span(), "spki_sha256 pins are 64 lower-case hex digits");
            }
        }
    }
    Some(Partner {
        id,
        name: p.name.into_inner(),
        jurisdiction,
        registered_city: p.registered_city.into_inner(),
        role: p.role,
        purposes,
        formats,
        nonce_required: p.nonce_required,
        authorised_by: p.authorisation.authorised_by.into_inner(),
        authorisation_reference: p.authorisation.reference.map(|r| r.into_inner()),
        mechanism: mechanism?,
        mechanism_reference: p.transfer.reference.map(|r| r.into_inner()),
        limits: RateLimits {
            rate_per_second: l.rate_per_second.clone().into_inner(),
            burst: l.burst.clone().into_inner(),
            daily_quota: l.daily_quota.clone().into_inner(),
        },
        spki_sha256: pins,
        file: doc.file.name.clone(),
    })
}

fn compile_deny(
    file: &SourceFile,
    jurisdiction: Option<&JurisdictionId>,
    rules: DenyDtos,
    partners: &BTreeMap<PartnerId, Partner>,
    purposes: &BTreeMap<PurposeId, Purpose>,
    errors: &mut Vec<FileError>,
) -> Vec<DenyRule> {
    let mut doc = Doc::new(file);
    let mut out: Vec<DenyRule> = Vec::new();
    for (span, d) in rules {
        doc.check_source(&d.source);
        non_empty(&mut doc, &d.description, "description");
        let id = d.id.get_ref();
        if PurposeId::parse(id).is_err() {
            doc.error(d.id.span(), "deny rule id must be 1–64 of a-z, 0-9, '-'");
        } else if out.iter().any(|r| &r.id == id) {
            doc.error(d.id.span(), format!("duplicate deny rule id `{id}`"));
        }
        let partner = d.partner.as_ref().and_then(|p| {
            let found = PartnerId::parse(p.get_ref()).ok().and_then(|id| partners.get(&id));
            match found {
                None => doc.error(p.span(), format!("unknown partner `{}`", p.get_ref())),
                Some(f) if jurisdiction.is_some_and(|j| *j != f.jurisdiction) => {
                    doc.error(p.span(), format!("partner `{}` belongs to another jurisdiction", p.get_ref()))
                }
                Some(_) => {}
            }
            found.map(|f| f.id.clone())
        });
        let purpose = d.purpose.as_ref().and_then(|p| {
            let found = PurposeId::parse(p.get_ref()).ok().filter(|id| purposes.contains_key(id));
            if found.is_none() {
                doc.error(p.span(), format!("unknown purpose `{}`", p.get_ref()));
            }
            found
        });
        if let Some(b) = &d.bir_type
            && b.get_ref().is_empty()
        {
            doc.error(b.span(), "bir_type may not be empty");
        }
        if let Some(f) = &d.fss_status
            && f.get_ref().is_empty()
        {
            doc.error(f.span(), "fss_status may not be empty");
        }
        if let Some(a) = &d.age_under
            && !(1..=120).contains(a.get_ref())
        {
            doc.error(a.span(), "age_under must be 1 to 120");
        }
        if let Some(l) = &d.loa_below
            && *l.get_ref() == Loa::Substantial
        {
            doc.error(l.span(), "loa_below = \"substantial\" can never match");
        }
        let conditions = [
            d.partner.is_some(),
            d.purpose.is_some(),
            d.bir_type.is_some(),
            d.fss_status.is_some(),
            d.age_under.is_some(),
            d.loa_below.is_some(),
        ];
        if !conditions.contains(&true) {
            doc.error(span.clone(), "a deny rule needs at least one condition");
        }
        out.push(DenyRule {
            id: id.clone(),
            description: d.description.get_ref().clone(),
            clause: format!("{}#deny.{id}", file.name),
            partner,
            purpose,
            bir_type: d.bir_type.map(|b| b.into_inner().into_iter().map(bir_type).collect()),
            fss_status: d.fss_status.map(|f| f.into_inner().into_iter().map(fss_status).collect()),
            age_under: d.age_under.map(|a| a.into_inner()),
            loa_below: d.loa_below.map(|l| l.into_inner()),
        });
    }
    errors.append(&mut doc.errors);
    out
}
