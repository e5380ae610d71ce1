//! The claims of a `mo-eid+jwt` assertion (DESIGN §2), as strict types.
//!
//! These are read only after the signature has been checked (the order of
//! checks puts claim syntax after the signature); `trust` calls
//! [`super::parse_claims`].

use crate::model::{BirNumber, Loa, MtpNumber, ResidencePermitNumber};
use time::Date;

/// Verified or not, the claims an assertion carries. Unknown claims are
/// dropped while parsing and can never be released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// NumericDate (seconds since the epoch).
    pub iat: i64,
    pub nbf: Option<i64>,
    pub exp: i64,
    pub jti: String,
    pub nonce: Option<String>,
    pub acr: Loa,
    pub eid_status: EidStatus,
    pub consent: Option<Consent>,
    pub person: Person,
    pub entitlements: Entitlements,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EidStatus {
    Active,
    Expired,
    Cancelled,
}

/// The resident's consent as the eID service recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub id: String,
    /// Purpose ids as written in the assertion (not checked against the
    /// bridge's purposes: an unknown one simply never matches).
    pub purposes: Vec<String>,
    /// NumericDate.
    pub given_at: i64,
    /// Separate consent (PIPL art. 29) for sensitive purposes.
    pub separate: bool,
    /// Given by a guardian (PIPL art. 31, under 14).
    pub by_guardian: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BirType {
    /// Permanent resident (BIRP).
    Birp,
    /// Non-permanent resident (BIRNP).
    Birnp,
}

impl BirType {
    pub fn as_str(self) -> &'static str {
        match self {
            BirType::Birp => "BIRP",
            BirType::Birnp => "BIRNP",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirExpiry {
    Date(Date),
    LongTerm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    M,
    F,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub bir_number: BirNumber,
    pub bir_type: BirType,
    pub bir_expiry: BirExpiry,
    /// Name in Traditional characters; no control or bidi characters.
    pub name_zh_hant: String,
    /// Macau Cantonese romanisation.
    pub name_latin: String,
    /// Chinese commercial (telegraph) codes, one 4-digit group per character.
    pub telegraph_codes: Option<Vec<String>>,
    pub sex: Sex,
    pub birth_date: Date,
    pub mtp_number: Option<MtpNumber>,
    pub residence_permit_number: Option<ResidencePermitNumber>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entitlements {
    pub health_voucher: Option<HealthVoucher>,
    pub fss: Option<Fss>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthVoucher {
    pub eligible: bool,
    pub scheme_year: i32,
    pub balance_mop: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fss {
    pub beneficiary_number: String,
    pub status: FssStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FssStatus {
    Active,
    Suspended,
    Closed,
}

/// The claim paths of the input profile that a policy may release and a
/// mapping may read. Anything else is never released.
pub const RELEASABLE_PATHS: &[&str] = &[
    "person.bir_number",
    "person.bir_type",
    "person.bir_expiry",
    "person.name_zh_hant",
    "person.name_latin",
    "person.telegraph_codes",
    "person.sex",
    "person.birth_date",
    "person.mtp_number",
    "person.residence_permit_number",
    "entitlements.health_voucher.eligible",
    "entitlements.health_voucher.scheme_year",
    "entitlements.health_voucher.balance_mop",
    "entitlements.fss.beneficiary_number",
    "entitlements.fss.status",
];

/// A claim's value as released: text, a whole number, a flag or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimValue {
    Text(String),
    Integer(i64),
    Bool(bool),
    Date(Date),
    List(Vec<String>),
}

impl Claims {
    /// The value at one of [`RELEASABLE_PATHS`]; `None` when the path is
    /// not releasable or the optional claim is absent.
    pub fn value_at(&self, path: &str) -> Option<ClaimValue> {
        use ClaimValue::*;
        let p = &self.person;
        let hv = self.entitlements.health_voucher.as_ref();
        let fss = self.entitlements.fss.as_ref();
        Some(match path {
            "person.bir_number" => Text(p.bir_number.as_str().to_owned()),
            "person.bir_type" => Text(p.bir_type.as_str().to_owned()),
            "person.bir_expiry" => match p.bir_expiry {
                BirExpiry::Date(d) => Date(d),
                BirExpiry::LongTerm => Text("long-term".to_owned()),
            },
            "person.name_zh_hant" => Text(p.name_zh_hant.clone()),
            "person.name_latin" => Text(p.name_latin.clone()),
            "person.telegraph_codes" => List(p.telegraph_codes.clone()?),
            "person.sex" => Text(match p.sex {
                Sex::M => "M".to_owned(),
                Sex::F => "F".to_owned(),
            }),
            "person.birth_date" => Date(p.birth_date),
            "person.mtp_number" => Text(p.mtp_number.as_ref()?.as_str().to_owned()),
            "person.residence_permit_number" => Text(p.residence_permit_number.as_ref()?.as_str().to_owned()),
            "entitlements.health_voucher.eligible" => Bool(hv?.eligible),
            "entitlements.health_voucher.scheme_year" => Integer(i64::from(hv?.scheme_year)),
            "entitlements.health_voucher.balance_mop" => Integer(hv?.balance_mop),
            "entitlements.fss.beneficiary_number" => Text(fss?.beneficiary_number.clone()),
            "entitlements.fss.status" => Text(
                match fss?.status {
                    FssStatus::Active => "active",
                    FssStatus::Suspended => "suspended",
                    FssStatus::Closed => "closed",
                }
                .to_owned(),
            ),
            _ => return None,
        })
    }
}
