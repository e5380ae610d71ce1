//! The compiled, cross-checked policy: what [`super::evaluate`] reads.
//! Built only by [`super::load_dir`]; every value here passed the checks of
//! DESIGN §4, so evaluation never meets an unknown id or a widening.

use super::dto::{ConsentMode, Mechanism, Role};
use super::forms::Form;
use crate::intake::{BirType, FssStatus};
use crate::model::{JurisdictionId, Loa, OutputFormat, PartnerId, PurposeId, TrustDomainId};
use std::collections::BTreeMap;
use time::Duration;

/// Everything loaded from one policies directory.
#[derive(Debug, Clone)]
pub struct PolicySet {
    pub(super) digest: String,
    pub(super) source: SourceRules,
    pub(super) mechanisms: BTreeMap<Mechanism, MechanismRule>,
    pub(super) macau_sensitive: Vec<String>,
    pub(super) macau_deny: Vec<DenyRule>,
    pub(super) purposes: BTreeMap<PurposeId, Purpose>,
    pub(super) jurisdictions: BTreeMap<JurisdictionId, Jurisdiction>,
    pub(super) partners: BTreeMap<PartnerId, Partner>,
}

impl PolicySet {
    /// Lower-case hex SHA-256 over the loaded files sorted by path, each as
    /// `path ‖ 0x00 ‖ bytes` (path relative to the directory).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub fn partner(&self, id: &PartnerId) -> Option<&Partner> {
        self.partners.get(id)
    }

    pub fn purpose(&self, id: &PurposeId) -> Option<&Purpose> {
        self.purposes.get(id)
    }

    pub fn jurisdiction(&self, id: &JurisdictionId) -> Option<&Jurisdiction> {
        self.jurisdictions.get(id)
    }

    pub fn partners(&self) -> impl Iterator<Item = &Partner> {
        self.partners.values()
    }

    pub fn purposes(&self) -> impl Iterator<Item = &Purpose> {
        self.purposes.values()
    }

    pub fn jurisdictions(&self) -> impl Iterator<Item = &Jurisdiction> {
        self.jurisdictions.values()
    }

    /// The source side's rules from `macau.toml`.
    pub fn source_rules(&self) -> &SourceRules {
        &self.source
    }

    /// The trust domains some jurisdiction with partners relies on.
    pub fn trust_domains(&self) -> Vec<TrustDomainId> {
        let mut all: Vec<TrustDomainId> = self.jurisdictions.values().flat_map(|j| j.trust_domains.clone()).collect();
        all.sort();
        all.dedup();
        all
    }

    /// The purpose as it applies to a partner: the bridge-wide purpose with
    /// the partner's jurisdiction's narrowing applied. `None` for an
    /// unknown partner or purpose.
    pub fn effective(&self, partner: &PartnerId, purpose: &PurposeId) -> Option<Effective<'_>> {
        let partner = self.partners.get(partner)?;
        let purpose = self.purposes.get(purpose)?;
        let jurisdiction = self.jurisdictions.get(&partner.jurisdiction)?;
        let narrowing = jurisdiction.narrowings.get(&purpose.id);
        let base = |key: &str| purpose.clause(key);
        let narrowed = |key: &str| format!("{}#purpose.{}.{key}", jurisdiction.file, purpose.id);
        let min_loa = match narrowing.and_then(|n| n.min_loa) {
            Some(l) if l > purpose.min_loa => (l, narrowed("min_loa")),
            _ => (purpose.min_loa, base("min_loa")),
        };
        let consent = match narrowing.and_then(|n| n.consent) {
            Some(c) if c > purpose.consent => (c, narrowed("consent")),
            _ => (purpose.consent, base("consent.mode")),
        };
        let release = match narrowing.and_then(|n| n.release.as_ref()) {
            Some(r) => (r, narrowed("release")),
            None => (&purpose.release, base("release.claims")),
        };
        Some(Effective { partner, purpose, jurisdiction, min_loa, consent, release })
    }
}

/// A purpose as it applies to one partner, each value with the clause that
/// set it.
#[derive(Debug, Clone)]
pub struct Effective<'a> {
    pub partner: &'a Partner,
    pub purpose: &'a Purpose,
    pub jurisdiction: &'a Jurisdiction,
    pub min_loa: (Loa, String),
    pub consent: (ConsentMode, String),
    pub release: (&'a ReleaseSet, String),
}

/// The source side's time rules and accepted mechanisms (`macau.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRules {
    pub clock_skew: Duration,
    pub max_assertion_age: Duration,
    pub mechanisms: Vec<Mechanism>,
}

/// A transfer mechanism `macau.toml` accepts.
#[derive(Debug, Clone)]
pub struct MechanismRule {
    pub mechanism: Mechanism,
    pub name: String,
    pub reference_required: bool,
    pub requires_consent: bool,
    pub registered_cities: Option<Vec<String>>,
}

/// A bridge-wide purpose (`purposes.toml`).
#[derive(Debug, Clone)]
pub struct Purpose {
    pub id: PurposeId,
    /// The record's `certificate_copy_cause`; at most 200 characters.
    pub description: String,
    pub legal_basis_macau: String,
    pub legal_basis_mainland: String,
    pub min_loa: Loa,
    pub sensitive: Vec<String>,
    pub consent: ConsentMode,
    pub eligibility: Eligibility,
    pub release: ReleaseSet,
    /// Id of the mapping that renders it.
    pub mapping: String,
    pub record_validity: Duration,
    pub audit_retention_days: u32,
    pub payload_retention_days: u32,
    pub(super) file: String,
    /// Path and line of the `mapping` key, for cross-checks with mappings.
    pub(super) mapping_at: (String, usize),
}

impl Purpose {
    /// `purposes.toml#purpose.<id>.<key>`.
    pub fn clause(&self, key: &str) -> String {
        format!("{}#purpose.{}.{key}", self.file, self.id)
    }

    /// Path and line of the `mapping` key, for cross-checks with mappings.
    pub(crate) fn mapping_location(&self) -> (&str, usize) {
        (&self.mapping_at.0, self.mapping_at.1)
    }
}

/// Structured eligibility: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Eligibility {
    pub bir_type: Option<Vec<BirType>>,
    pub voucher_current_year: bool,
    pub fss_status: Option<Vec<FssStatus>>,
    pub min_age: Option<u8>,
    pub present: Vec<&'static str>,
}

/// Claim path → release form, in the order of
/// [`crate::intake::RELEASABLE_PATHS`]. Paths not in it are dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseSet(pub(super) Vec<(&'static str, Form)>);

impl ReleaseSet {
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Form)> + '_ {
        self.0.iter().copied()
    }

    pub fn form(&self, path: &str) -> Option<Form> {
        self.0.iter().find(|(p, _)| *p == path).map(|(_, f)| *f)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A mainland jurisdiction (one policy file).
#[derive(Debug, Clone)]
pub struct Jurisdiction {
    pub id: JurisdictionId,
    pub name: String,
    pub area_code: String,
    pub trust_domains: Vec<TrustDomainId>,
    pub sensitive_categories: Vec<String>,
    pub minor_age: u8,
    pub(super) file: String,
    pub(super) narrowings: BTreeMap<PurposeId, Narrowing>,
    pub(super) deny: Vec<DenyRule>,
}

impl Jurisdiction {
    /// The file it was loaded from (`hengqin.toml`).
    pub fn file(&self) -> &str {
        &self.file
    }
}

#[derive(Debug, Clone)]
pub(super) struct Narrowing {
    pub min_loa: Option<Loa>,
    pub consent: Option<ConsentMode>,
    pub release: Option<ReleaseSet>,
}

/// A partner system.
#[derive(Debug, Clone)]
pub struct Partner {
    pub id: PartnerId,
    pub name: String,
    pub jurisdiction: JurisdictionId,
    pub registered_city: String,
    pub role: Role,
    pub purposes: Vec<PurposeId>,
    pub formats: Vec<OutputFormat>,
    pub nonce_required: bool,
    pub authorised_by: String,
    pub authorisation_reference: Option<String>,
    pub mechanism: Mechanism,
    pub mechanism_reference: Option<String>,
    pub limits: RateLimits,
    /// Optional pins (lower-case hex SHA-256 of the SPKI DER).
    pub spki_sha256: Vec<String>,
    pub(super) file: String,
}

impl Partner {
    /// `<jurisdiction file>#partner.<id>.<key>`.
    pub fn clause(&self, key: &str) -> String {
        format!("{}#partner.{}.{key}", self.file, self.id)
    }
}

/// Admission limits of a partner (enforced by `limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub rate_per_second: u32,
    pub burst: u32,
    pub daily_quota: u32,
}

/// A `[[deny]]` rule: refuses when every condition given holds.
#[derive(Debug, Clone)]
pub struct DenyRule {
    pub id: String,
    pub description: String,
    /// `file#deny.<id>`.
    pub clause: String,
    pub partner: Option<PartnerId>,
    pub purpose: Option<PurposeId>,
    pub bir_type: Option<Vec<BirType>>,
    pub fss_status: Option<Vec<FssStatus>>,
    pub age_under: Option<u8>,
    pub loa_below: Option<Loa>,
}
