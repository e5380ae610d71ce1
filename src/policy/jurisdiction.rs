//! Jurisdiction files: the jurisdiction, its partners, its narrowing of
//! purposes and its deny rules, checked against `macau.toml` and
//! `purposes.toml`.

use super::dto::*;
use super::law;
use super::load::{
    Context, DenyDtos, bir_type, check_categories, compile_release, fss_status, non_empty, parse_or_collect,
};
use super::set::*;
use super::toml_file::{Doc, SourceFile};
use crate::file_error::FileError;
use crate::model::{JurisdictionId, Loa, PartnerId, PurposeId, TrustDomainId};
use std::collections::{BTreeMap, BTreeSet};

type Jur = (Jurisdiction, DenyDtos);

pub(super) fn read_jurisdiction(
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

pub(super) fn compile_deny(
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
