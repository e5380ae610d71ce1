//! The decision: a pure function of (claims, policy set, request, now).
//!
//! Checks run in the fixed order of DESIGN §7 — partner × purpose, format,
//! LoA, consent, eligibility, deny rules — and every failing one is
//! collected; the first is the one reported. Nothing is allowed by default:
//! Permit needs `macau.toml`, the jurisdiction, the partner and the purpose
//! all to permit and no deny rule to match.

use super::dto::ConsentMode;
use super::set::{DenyRule, Effective, PolicySet};
use crate::intake::Claims;
use crate::model::{Loa, OutputFormat, PartnerId, PurposeId, Reason, Rejection};
use time::{Date, OffsetDateTime, UtcOffset};

/// Macau and the mainland are both UTC+8: ages, scheme years and quota
/// days are counted there.
pub const UTC8: UtcOffset = time::macros::offset!(+8);

/// What a partner asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub partner: PartnerId,
    pub purpose: PurposeId,
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Permit,
    Deny,
}

/// One reason for a refusal and the clause that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    pub reason: Reason,
    /// `file#table.key`, e.g. `hengqin.toml#partner.hq-clinic-0001.purposes`.
    pub clause: String,
    /// Short English; never personal data.
    pub detail: String,
}

/// The effect and, for a refusal, every reason in the order of the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub effect: Effect,
    pub reasons: Vec<RuleRef>,
}

impl Decision {
    pub fn is_permit(&self) -> bool {
        self.effect == Effect::Permit
    }

    /// The refusal reported to the caller: the first reason.
    pub fn rejection(&self) -> Option<Rejection> {
        let first = self.reasons.first()?;
        Some(Rejection::new(first.reason, first.detail.clone()).with_clause(first.clause.clone()))
    }
}

/// Decides a request. Fails closed on an unknown partner or purpose (the
/// stages before policy refuse those first, with their own codes).
pub fn evaluate(claims: &Claims, set: &PolicySet, req: &Request, now: OffsetDateTime) -> Decision {
    let Some(eff) = set.effective(&req.partner, &req.purpose) else {
        let (reason, what) = if set.partner(&req.partner).is_none() {
            (Reason::UnknownPartner, "partner")
        } else {
            (Reason::UnknownPurpose, "purpose")
        };
        return Decision {
            effect: Effect::Deny,
            reasons: vec![RuleRef {
                reason,
                clause: "policies".into(),
                detail: format!("{what} is not in the policies"),
            }],
        };
    };
    let today = now.to_offset(UTC8).date();
    let age = age_on(claims.person.birth_date, today);
    let mut out = Vec::new();
    let mut deny = |reason, clause: String, detail: &str| out.push(RuleRef { reason, clause, detail: detail.into() });

    if !eff.partner.purposes.contains(&req.purpose) {
        deny(Reason::PurposeNotAllowed, eff.partner.clause("purposes"), "purpose is not allowed for this partner");
    }
    if !eff.partner.formats.contains(&req.format) {
        deny(Reason::FormatNotAllowed, eff.partner.clause("formats"), "output format is not allowed for this partner");
    }
    let (min_loa, loa_clause) = &eff.min_loa;
    if claims.acr < *min_loa {
        let detail = format!("assertion level {} is below the required {}", loa_name(claims.acr), loa_name(*min_loa));
        deny(Reason::LoaTooLow, loa_clause.clone(), &detail);
    }
    for (clause, detail) in consent_faults(claims, set, &eff, age, now) {
        deny(Reason::ConsentMissing, clause, detail);
    }
    for (clause, detail) in eligibility_faults(claims, &eff, age, today) {
        deny(Reason::NotEligible, clause, detail);
    }
    let rules = set.macau_deny.iter().chain(&eff.jurisdiction.deny);
    for rule in rules.filter(|r| deny_matches(r, req, claims, age)) {
        let detail = format!("denied by rule {}: {}", rule.clause, rule.description);
        deny(Reason::DeniedByRule, rule.clause.clone(), &detail);
    }
    let effect = if out.is_empty() { Effect::Permit } else { Effect::Deny };
    Decision { effect, reasons: out }
}

fn loa_name(l: Loa) -> &'static str {
    match l {
        Loa::Substantial => "substantial",
        Loa::High => "high",
    }
}

/// Whole years from `birth` to `today` (a 29 February birthday counts from
/// 1 March in other years).
pub fn age_on(birth: Date, today: Date) -> i32 {
    let years = today.year() - birth.year();
    let before_birthday = (today.month() as u8, today.day()) < (birth.month() as u8, birth.day());
    if before_birthday { years - 1 } else { years }
}

/// What consent the transfer needs, each requirement with its clause.
struct Need {
    separate: bool,
    guardian: bool,
    clause: String,
}

fn consent_needs(set: &PolicySet, eff: &Effective, age: i32) -> Vec<Need> {
    let mut needs = Vec::new();
    let (mode, clause) = &eff.consent;
    if *mode >= ConsentMode::Required {
        needs.push(Need { separate: *mode == ConsentMode::Separate, guardian: false, clause: clause.clone() });
    }
    if let Some(rule) = set.mechanisms.get(&eff.partner.mechanism)
        && rule.requires_consent
    {
        let clause = format!("macau.toml#mechanism.{}.requires_consent", rule.mechanism.as_str());
        needs.push(Need { separate: false, guardian: false, clause });
    }
    let sensitive = &eff.purpose.sensitive;
    if sensitive.iter().any(|c| set.macau_sensitive.contains(c)) {
        needs.push(Need { separate: true, guardian: false, clause: "macau.toml#sensitive.categories".into() });
    }
    let j = eff.jurisdiction;
    if sensitive.iter().any(|c| j.sensitive_categories.contains(c)) {
        let clause = format!("{}#jurisdiction.sensitive_categories", j.file());
        needs.push(Need { separate: true, guardian: false, clause });
    }
    if age < i32::from(j.minor_age) {
        let clause = format!("{}#jurisdiction.minor_age", j.file());
        needs.push(Need { separate: true, guardian: true, clause });
    }
    needs
}

fn consent_faults(
    claims: &Claims,
    set: &PolicySet,
    eff: &Effective,
    age: i32,
    now: OffsetDateTime,
) -> Vec<(String, &'static str)> {
    let needs = consent_needs(set, eff, age);
    let Some(first) = needs.first() else { return Vec::new() };
    let Some(consent) = &claims.consent else {
        return vec![(first.clause.clone(), "consent is required but absent")];
    };
    let mut faults = Vec::new();
    if !consent.purposes.iter().any(|p| p == eff.purpose.id.as_str()) {
        faults.push((first.clause.clone(), "consent does not list the purpose"));
    }
    let skew = set.source.clock_skew;
    if consent.given_at > (now + skew).unix_timestamp() {
        faults.push((first.clause.clone(), "consent is dated in the future"));
    }
    if let Some(n) = needs.iter().find(|n| n.separate)
        && !consent.separate
    {
        faults.push((n.clause.clone(), "separate consent is required for this purpose (PIPL art. 29)"));
    }
    if let Some(n) = needs.iter().find(|n| n.guardian)
        && !consent.by_guardian
    {
        faults.push((n.clause.clone(), "the subject is under the minor age: consent must come from a guardian"));
    }
    faults
}

fn eligibility_faults(claims: &Claims, eff: &Effective, age: i32, today: Date) -> Vec<(String, &'static str)> {
    let e = &eff.purpose.eligibility;
    let clause = |key: &str| eff.purpose.clause(&format!("eligibility.{key}"));
    let mut faults = Vec::new();
    if let Some(types) = &e.bir_type
        && !types.contains(&claims.person.bir_type)
    {
        faults.push((clause("bir_type"), "the BIR type is not eligible for this purpose"));
    }
    if e.voucher_current_year {
        let current =
            claims.entitlements.health_voucher.as_ref().is_some_and(|v| v.eligible && v.scheme_year == today.year());
        if !current {
            faults.push((clause("voucher_current_year"), "no eligible health voucher for the current scheme year"));
        }
    }
    if let Some(statuses) = &e.fss_status {
        let ok = claims.entitlements.fss.as_ref().is_some_and(|f| statuses.contains(&f.status));
        if !ok {
            faults.push((clause("fss_status"), "the FSS status is not eligible for this purpose"));
        }
    }
    if let Some(min) = e.min_age
        && age < i32::from(min)
    {
        faults.push((clause("min_age"), "the subject is under the minimum age for this purpose"));
    }
    if e.present.iter().any(|p| claims.value_at(p).is_none()) {
        faults.push((clause("present"), "a claim this purpose needs is absent"));
    }
    faults
}

fn deny_matches(rule: &DenyRule, req: &Request, claims: &Claims, age: i32) -> bool {
    rule.partner.as_ref().is_none_or(|p| *p == req.partner)
        && rule.purpose.as_ref().is_none_or(|p| *p == req.purpose)
        && rule.bir_type.as_ref().is_none_or(|t| t.contains(&claims.person.bir_type))
        && rule
            .fss_status
            .as_ref()
            .is_none_or(|s| claims.entitlements.fss.as_ref().is_some_and(|f| s.contains(&f.status)))
        && rule.age_under.is_none_or(|n| age < i32::from(n))
        && rule.loa_below.is_none_or(|l| claims.acr < l)
}
