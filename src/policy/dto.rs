//! The policy files as written: strict serde types, every table closed to
//! unknown keys. Values that later checks may refuse keep their span so the
//! refusal names the line.
//!
//! `macau.toml` top level: `[assertion]`, `[mechanism.<ID>]`, `[sensitive]`,
//! optional `[[deny]]`. `purposes.toml`: `[[purpose]]`. A jurisdiction
//! file: `[jurisdiction]`, `[partner.<id>]`, optional `[purpose.<id>]`
//! (narrowing) and `[[deny]]`. The top level is read key by key in
//! `load`, so each entry's problems are reported separately.

use super::forms::Form;
use crate::model::{Loa, OutputFormat, TrustDomainId};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// `[assertion]` in `macau.toml`: time rules for every assertion.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssertionRulesDto {
    /// Seconds; `exp − iat` may not exceed it.
    pub max_assertion_age: Spanned<i64>,
    /// Seconds of tolerated clock difference.
    pub clock_skew: Spanned<i64>,
    pub source: Spanned<String>,
}

/// A transfer mechanism out of Macau.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub enum Mechanism {
    /// GBA Mainland–Macao standard contract (filed).
    #[serde(rename = "GBA_SC_MO")]
    GbaScMo,
    /// PDPA art. 20(1): unambiguous consent, DSPDP notified.
    #[serde(rename = "PDPA_20_1_CONSENT")]
    Pdpa20_1Consent,
    /// PDPA art. 20(2): DSPDP authorisation.
    #[serde(rename = "PDPA_20_2_AUTHORISED")]
    Pdpa20_2Authorised,
}

impl Mechanism {
    pub const ALL: &'static [Mechanism] =
        &[Mechanism::GbaScMo, Mechanism::Pdpa20_1Consent, Mechanism::Pdpa20_2Authorised];

    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::GbaScMo => "GBA_SC_MO",
            Mechanism::Pdpa20_1Consent => "PDPA_20_1_CONSENT",
            Mechanism::Pdpa20_2Authorised => "PDPA_20_2_AUTHORISED",
        }
    }

    pub fn parse(s: &str) -> Option<Mechanism> {
        Self::ALL.iter().copied().find(|m| m.as_str() == s)
    }
}

/// `[mechanism.<ID>]` in `macau.toml`: a mechanism the source side accepts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MechanismDto {
    pub name: Spanned<String>,
    /// Partners using it must give a reference (filing number,
    /// notification or authorisation reference).
    pub reference_required: bool,
    /// Every transfer under it needs the resident's consent for the purpose.
    #[serde(default)]
    pub requires_consent: Option<Spanned<bool>>,
    /// GB/T 2260 codes of the places a partner must be registered in.
    #[serde(default)]
    pub registered_cities: Option<Spanned<Vec<String>>>,
    pub source: Spanned<String>,
}

/// `[sensitive]` in `macau.toml` (PDPA art. 7).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitiveDto {
    pub categories: Spanned<Vec<String>>,
    pub source: Spanned<String>,
}

/// How much consent a purpose needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentMode {
    None,
    Required,
    /// Separate consent (PIPL art. 29), for sensitive purposes.
    Separate,
}

impl ConsentMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentMode::None => "none",
            ConsentMode::Required => "required",
            ConsentMode::Separate => "separate",
        }
    }
}

/// `[[purpose]]` in `purposes.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeDto {
    pub id: Spanned<String>,
    /// Goes to `certificate_copy_cause`: at most 200 characters.
    pub description: Spanned<String>,
    pub legal_basis: LegalBasisDto,
    pub min_loa: Spanned<Loa>,
    #[serde(default)]
    pub sensitive: Option<Spanned<Vec<String>>>,
    pub mapping: Spanned<String>,
    /// Validity of the record made for this purpose; 24 when absent.
    #[serde(default)]
    pub record_validity_hours: Option<Spanned<u32>>,
    pub consent: ConsentDto,
    #[serde(default)]
    pub eligibility: Option<EligibilityDto>,
    pub release: ReleaseDto,
    pub retention: RetentionDto,
    pub source: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasisDto {
    pub macau: Spanned<String>,
    pub mainland: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentDto {
    pub mode: Spanned<ConsentMode>,
    pub source: Spanned<String>,
}

/// BIR type as written in policy files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum BirTypeDto {
    #[serde(rename = "BIRP")]
    Birp,
    #[serde(rename = "BIRNP")]
    Birnp,
}

/// FSS status as written in policy files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FssStatusDto {
    Active,
    Suspended,
    Closed,
}

/// Structured eligibility; every field given must hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityDto {
    #[serde(default)]
    pub bir_type: Option<Spanned<Vec<BirTypeDto>>>,
    /// A voucher for the calendar year of `now` in UTC+8, marked eligible.
    #[serde(default)]
    pub voucher_current_year: Option<Spanned<bool>>,
    #[serde(default)]
    pub fss_status: Option<Spanned<Vec<FssStatusDto>>>,
    /// Age in whole years at `now` (UTC+8).
    #[serde(default)]
    pub min_age: Option<Spanned<u8>>,
    /// Claim paths that must be present in the assertion.
    #[serde(default)]
    pub present: Option<Spanned<Vec<String>>>,
    pub source: Spanned<String>,
}

/// The release set: claim path → form; everything else is dropped.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseDto {
    pub claims: BTreeMap<Spanned<String>, Spanned<Form>>,
    pub source: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionDto {
    /// Audit records: at least 3 years (PIPL art. 56).
    pub audit_days: Spanned<u32>,
    /// The payload itself: the bridge keeps none (0).
    pub payload_days: Spanned<u32>,
    pub source: Spanned<String>,
}

/// The legal regime of a mainland jurisdiction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Regime {
    #[serde(rename = "CN_PIPL")]
    CnPipl,
}

/// `[jurisdiction]` of a jurisdiction file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionDto {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    /// GB/T 2260 code of the city it is registered in.
    pub area_code: Spanned<String>,
    pub regime: Regime,
    pub trust_domains: Spanned<Vec<TrustDomainId>>,
    /// PIPL art. 28 categories.
    pub sensitive_categories: Spanned<Vec<String>>,
    /// Under this age consent must come from a guardian (PIPL art. 31).
    pub minor_age: Spanned<u8>,
    pub source: Spanned<String>,
}

/// Controller or entrusted processor (PIPL art. 21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Controller,
    EntrustedProcessor,
}

/// `[partner.<id>]` of a jurisdiction file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerDto {
    pub name: Spanned<String>,
    /// GB/T 2260 code (one of the nine GBA cities, or 820000 for Macau).
    pub registered_city: Spanned<String>,
    pub role: Role,
    pub purposes: Spanned<Vec<Spanned<String>>>,
    pub formats: Spanned<Vec<OutputFormat>>,
    #[serde(default)]
    pub nonce_required: bool,
    pub authorisation: AuthorisationDto,
    pub transfer: TransferDto,
    pub limits: LimitsDto,
    #[serde(default)]
    pub identity: Option<IdentityDto>,
    pub source: Spanned<String>,
}

/// Law 11/2023 art. 2(5): the public body that authorised the partner.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorisationDto {
    pub authorised_by: Spanned<String>,
    #[serde(default)]
    pub reference: Option<Spanned<String>>,
    pub source: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferDto {
    pub mechanism: Spanned<String>,
    #[serde(default)]
    pub reference: Option<Spanned<String>>,
    pub source: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsDto {
    pub rate_per_second: Spanned<u32>,
    pub burst: Spanned<u32>,
    pub daily_quota: Spanned<u32>,
    pub source: Spanned<String>,
}

/// Production pins of the partner's client-certificate key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityDto {
    /// Lower-case hex SHA-256 of the SubjectPublicKeyInfo DER.
    pub spki_sha256: Vec<Spanned<String>>,
    pub source: Spanned<String>,
}

/// `[purpose.<id>]` of a jurisdiction file: a narrowing of a purpose for
/// this jurisdiction's partners. Only tightening is accepted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NarrowingDto {
    #[serde(default)]
    pub min_loa: Option<Spanned<Loa>>,
    #[serde(default)]
    pub consent: Option<Spanned<ConsentMode>>,
    #[serde(default)]
    pub release: Option<BTreeMap<Spanned<String>, Spanned<Form>>>,
    pub source: Spanned<String>,
}

/// `[[deny]]`: refuses when every condition given holds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenyDto {
    pub id: Spanned<String>,
    pub description: Spanned<String>,
    #[serde(default)]
    pub partner: Option<Spanned<String>>,
    #[serde(default)]
    pub purpose: Option<Spanned<String>>,
    #[serde(default)]
    pub bir_type: Option<Spanned<Vec<BirTypeDto>>>,
    #[serde(default)]
    pub fss_status: Option<Spanned<Vec<FssStatusDto>>>,
    /// Matches a subject younger than this many whole years.
    #[serde(default)]
    pub age_under: Option<Spanned<u8>>,
    /// Matches an assertion whose level is below this.
    #[serde(default)]
    pub loa_below: Option<Spanned<Loa>>,
    pub source: Spanned<String>,
}
