//! Claim syntax (DESIGN §2's claim table): JSON members → [`Claims`].
//!
//! Strict types: a claim of the wrong JSON type, out of range or over its
//! length is `MALFORMED_ASSERTION`, and so is `null` where a value is
//! optional (absent means absent; `null` is not a value of any claim).
//! Empty strings are refused everywhere: no claim of the profile has a
//! meaningful empty value. Lengths count Unicode scalar values. Unknown
//! members, at the top level or inside `consent`, `person` and
//! `entitlements`, are dropped here and can never be released. Error
//! messages name the claim, never its value.

use super::IntakeError::{self, Malformed};
use super::claims::*;
use super::json::{Json, Object};
use crate::model::{BirNumber, Loa, MtpNumber, ResidencePermitNumber};
use std::ops::RangeInclusive;
use time::{Date, Month};

/// Largest NumericDate: 9999-12-31T23:59:59Z.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;
/// `iss`: an issuer URL.
pub const MAX_ISS_CHARS: usize = 256;
/// `aud`: the gateway id.
pub const MAX_AUD_CHARS: usize = 256;
/// `jti`.
pub const MAX_JTI_CHARS: usize = 128;
/// `nonce`.
pub const MAX_NONCE_CHARS: usize = 128;
/// `consent.id`.
pub const MAX_CONSENT_ID_CHARS: usize = 128;
/// `consent.purposes`: entries, and characters per entry.
pub const MAX_CONSENT_PURPOSES: usize = 16;
pub const MAX_PURPOSE_CHARS: usize = 64;
/// `person.bir_number` as written: the printed `XNNNNNN(Y)` is the longest.
pub const MAX_BIR_CHARS: usize = 10;
/// `person.name_zh_hant`.
pub const MAX_NAME_ZH_HANT_CHARS: usize = 32;
/// `person.name_latin`.
pub const MAX_NAME_LATIN_CHARS: usize = 128;
/// `person.telegraph_codes`: one code per character of the name.
pub const MAX_TELEGRAPH_CODES: usize = MAX_NAME_ZH_HANT_CHARS;
/// `entitlements.fss.beneficiary_number`.
pub const MAX_BENEFICIARY_NUMBER_CHARS: usize = 32;
/// `entitlements.health_voucher.scheme_year`.
pub const SCHEME_YEARS: RangeInclusive<i64> = 2000..=2100;

/// Keywords (`acr`, `eid_status`, `sex`, …), dates and document numbers:
/// their exact value or format decides; this bound only keeps a wrong one
/// from being scanned at length.
const SHORT: usize = 32;

/// A claim's path and its error messages.
struct Claim {
    name: &'static str,
    missing: &'static str,
    wrong_type: &'static str,
    too_long: &'static str,
    invalid: &'static str,
}

macro_rules! claim {
    ($name:literal) => {
        claim!(@ $name, $name)
    };
    ($parent:literal . $name:literal) => {
        claim!(@ $name, concat!($parent, ".", $name))
    };
    (@ $name:expr, $path:expr) => {
        Claim {
            name: $name,
            missing: concat!("claim ", $path, " is missing"),
            wrong_type: concat!("claim ", $path, " has the wrong type"),
            too_long: concat!("claim ", $path, " is too long"),
            invalid: concat!("claim ", $path, " is not valid"),
        }
    };
}

const ISS: Claim = claim!("iss");
const AUD: Claim = claim!("aud");
const IAT: Claim = claim!("iat");
const NBF: Claim = claim!("nbf");
const EXP: Claim = claim!("exp");
const JTI: Claim = claim!("jti");
const NONCE: Claim = claim!("nonce");
const ACR: Claim = claim!("acr");
const EID_STATUS: Claim = claim!("eid_status");
const CONSENT: Claim = claim!("consent");
const CONSENT_ID: Claim = claim!("consent"."id");
const CONSENT_PURPOSES: Claim = claim!("consent"."purposes");
const CONSENT_GIVEN_AT: Claim = claim!("consent"."given_at");
const CONSENT_SEPARATE: Claim = claim!("consent"."separate");
const CONSENT_BY_GUARDIAN: Claim = claim!("consent"."by_guardian");
const PERSON: Claim = claim!("person");
const BIR_NUMBER: Claim = claim!("person"."bir_number");
const BIR_TYPE: Claim = claim!("person"."bir_type");
const BIR_EXPIRY: Claim = claim!("person"."bir_expiry");
const NAME_ZH_HANT: Claim = claim!("person"."name_zh_hant");
const NAME_LATIN: Claim = claim!("person"."name_latin");
const TELEGRAPH_CODES: Claim = claim!("person"."telegraph_codes");
const SEX: Claim = claim!("person"."sex");
const BIRTH_DATE: Claim = claim!("person"."birth_date");
const MTP_NUMBER: Claim = claim!("person"."mtp_number");
const RESIDENCE_PERMIT_NUMBER: Claim = claim!("person"."residence_permit_number");
const ENTITLEMENTS: Claim = claim!("entitlements");
const HEALTH_VOUCHER: Claim = claim!("entitlements"."health_voucher");
const HV_ELIGIBLE: Claim = claim!("entitlements.health_voucher"."eligible");
const HV_SCHEME_YEAR: Claim = claim!("entitlements.health_voucher"."scheme_year");
const HV_BALANCE_MOP: Claim = claim!("entitlements.health_voucher"."balance_mop");
const FSS: Claim = claim!("entitlements"."fss");
const FSS_BENEFICIARY_NUMBER: Claim = claim!("entitlements.fss"."beneficiary_number");
const FSS_STATUS: Claim = claim!("entitlements.fss"."status");

/// Reads the claims, in the order of DESIGN §2's table.
pub(super) fn read(c: &Object) -> Result<Claims, IntakeError> {
    Ok(Claims {
        iss: text(required(c, &ISS)?, &ISS, MAX_ISS_CHARS)?.to_owned(),
        aud: text(required(c, &AUD)?, &AUD, MAX_AUD_CHARS)?.to_owned(),
        iat: numeric_date(required(c, &IAT)?, &IAT)?,
        nbf: optional(c, &NBF).map(|v| numeric_date(v, &NBF)).transpose()?,
        exp: numeric_date(required(c, &EXP)?, &EXP)?,
        jti: text(required(c, &JTI)?, &JTI, MAX_JTI_CHARS)?.to_owned(),
        nonce: optional(c, &NONCE).map(|v| text(v, &NONCE, MAX_NONCE_CHARS)).transpose()?.map(str::to_owned),
        acr: Loa::from_acr(text(required(c, &ACR)?, &ACR, SHORT)?).ok_or(Malformed(ACR.invalid))?,
        eid_status: match text(required(c, &EID_STATUS)?, &EID_STATUS, SHORT)? {
            "active" => EidStatus::Active,
            "expired" => EidStatus::Expired,
            "cancelled" => EidStatus::Cancelled,
            _ => return Err(Malformed(EID_STATUS.invalid)),
        },
        consent: optional(c, &CONSENT).map(|v| consent(object(v, &CONSENT)?)).transpose()?,
        person: person(object(required(c, &PERSON)?, &PERSON)?)?,
        entitlements: match optional(c, &ENTITLEMENTS) {
            None => Entitlements::default(),
            Some(v) => entitlements(object(v, &ENTITLEMENTS)?)?,
        },
    })
}

fn consent(c: &Object) -> Result<Consent, IntakeError> {
    Ok(Consent {
        id: text(required(c, &CONSENT_ID)?, &CONSENT_ID, MAX_CONSENT_ID_CHARS)?.to_owned(),
        purposes: texts(required(c, &CONSENT_PURPOSES)?, &CONSENT_PURPOSES, MAX_CONSENT_PURPOSES, MAX_PURPOSE_CHARS)?,
        given_at: numeric_date(required(c, &CONSENT_GIVEN_AT)?, &CONSENT_GIVEN_AT)?,
        separate: boolean(required(c, &CONSENT_SEPARATE)?, &CONSENT_SEPARATE)?,
        by_guardian: boolean(required(c, &CONSENT_BY_GUARDIAN)?, &CONSENT_BY_GUARDIAN)?,
    })
}

fn person(p: &Object) -> Result<Person, IntakeError> {
    let bir = text(required(p, &BIR_NUMBER)?, &BIR_NUMBER, MAX_BIR_CHARS)?;
    let mtp = optional(p, &MTP_NUMBER).map(|v| text(v, &MTP_NUMBER, SHORT)).transpose()?;
    let permit = optional(p, &RESIDENCE_PERMIT_NUMBER).map(|v| text(v, &RESIDENCE_PERMIT_NUMBER, SHORT)).transpose()?;
    Ok(Person {
        bir_number: BirNumber::parse(bir).map_err(|_| Malformed(BIR_NUMBER.invalid))?,
        bir_type: match text(required(p, &BIR_TYPE)?, &BIR_TYPE, SHORT)? {
            "BIRP" => BirType::Birp,
            "BIRNP" => BirType::Birnp,
            _ => return Err(Malformed(BIR_TYPE.invalid)),
        },
        bir_expiry: match text(required(p, &BIR_EXPIRY)?, &BIR_EXPIRY, SHORT)? {
            "long-term" => BirExpiry::LongTerm,
            s => BirExpiry::Date(date(s).ok_or(Malformed(BIR_EXPIRY.invalid))?),
        },
        name_zh_hant: name(required(p, &NAME_ZH_HANT)?, &NAME_ZH_HANT, MAX_NAME_ZH_HANT_CHARS)?,
        name_latin: name(required(p, &NAME_LATIN)?, &NAME_LATIN, MAX_NAME_LATIN_CHARS)?,
        telegraph_codes: optional(p, &TELEGRAPH_CODES).map(telegraph_codes).transpose()?,
        sex: match text(required(p, &SEX)?, &SEX, SHORT)? {
            "M" => Sex::M,
            "F" => Sex::F,
            _ => return Err(Malformed(SEX.invalid)),
        },
        birth_date: date(text(required(p, &BIRTH_DATE)?, &BIRTH_DATE, SHORT)?).ok_or(Malformed(BIRTH_DATE.invalid))?,
        mtp_number: mtp.map(|s| MtpNumber::parse(s).map_err(|_| Malformed(MTP_NUMBER.invalid))).transpose()?,
        residence_permit_number: permit
            .map(|s| ResidencePermitNumber::parse(s).map_err(|_| Malformed(RESIDENCE_PERMIT_NUMBER.invalid)))
            .transpose()?,
    })
}

fn entitlements(e: &Object) -> Result<Entitlements, IntakeError> {
    let health_voucher = match optional(e, &HEALTH_VOUCHER) {
        None => None,
        Some(v) => {
            let hv = object(v, &HEALTH_VOUCHER)?;
            Some(HealthVoucher {
                eligible: boolean(required(hv, &HV_ELIGIBLE)?, &HV_ELIGIBLE)?,
                scheme_year: i32::try_from(integer(required(hv, &HV_SCHEME_YEAR)?, &HV_SCHEME_YEAR, SCHEME_YEARS)?)
                    .map_err(|_| Malformed(HV_SCHEME_YEAR.invalid))?,
                balance_mop: integer(required(hv, &HV_BALANCE_MOP)?, &HV_BALANCE_MOP, 0..=i64::MAX)?,
            })
        }
    };
    let fss = match optional(e, &FSS) {
        None => None,
        Some(v) => {
            let f = object(v, &FSS)?;
            let number =
                text(required(f, &FSS_BENEFICIARY_NUMBER)?, &FSS_BENEFICIARY_NUMBER, MAX_BENEFICIARY_NUMBER_CHARS)?;
            if !number.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b == b'-') {
                return Err(Malformed(FSS_BENEFICIARY_NUMBER.invalid));
            }
            Some(Fss {
                beneficiary_number: number.to_owned(),
                status: match text(required(f, &FSS_STATUS)?, &FSS_STATUS, SHORT)? {
                    "active" => FssStatus::Active,
                    "suspended" => FssStatus::Suspended,
                    "closed" => FssStatus::Closed,
                    _ => return Err(Malformed(FSS_STATUS.invalid)),
                },
            })
        }
    };
    Ok(Entitlements { health_voucher, fss })
}

fn required<'a>(members: &'a Object, claim: &Claim) -> Result<&'a Json, IntakeError> {
    members.get(claim.name).ok_or(Malformed(claim.missing))
}

fn optional<'a>(members: &'a Object, claim: &Claim) -> Option<&'a Json> {
    members.get(claim.name)
}

fn object<'a>(value: &'a Json, claim: &Claim) -> Result<&'a Object, IntakeError> {
    match value {
        Json::Object(members) => Ok(members),
        _ => Err(Malformed(claim.wrong_type)),
    }
}

fn boolean(value: &Json, claim: &Claim) -> Result<bool, IntakeError> {
    match value {
        Json::Bool(b) => Ok(*b),
        _ => Err(Malformed(claim.wrong_type)),
    }
}

/// A JSON integer literal within `range`; fractions and exponents are the
/// wrong type even when their value is whole (`1.0`, `1e3`).
fn integer(value: &Json, claim: &Claim, range: RangeInclusive<i64>) -> Result<i64, IntakeError> {
    match value {
        Json::Number(Some(n)) if range.contains(n) => Ok(*n),
        Json::Number(Some(_)) => Err(Malformed(claim.invalid)),
        _ => Err(Malformed(claim.wrong_type)),
    }
}

/// Integer seconds since the epoch, from 1970 to the end of 9999.
fn numeric_date(value: &Json, claim: &Claim) -> Result<i64, IntakeError> {
    integer(value, claim, 0..=MAX_NUMERIC_DATE)
}

/// A non-empty string of at most `max_chars` characters.
fn text<'a>(value: &'a Json, claim: &Claim, max_chars: usize) -> Result<&'a str, IntakeError> {
    let Json::String(s) = value else {
        return Err(Malformed(claim.wrong_type));
    };
    if s.is_empty() {
        return Err(Malformed(claim.invalid));
    }
    if s.chars().nth(max_chars).is_some() {
        return Err(Malformed(claim.too_long));
    }
    Ok(s)
}

/// An array of at most `max_entries` strings, each as [`text`].
fn texts(value: &Json, claim: &Claim, max_entries: usize, max_chars: usize) -> Result<Vec<String>, IntakeError> {
    let Json::Array(items) = value else {
        return Err(Malformed(claim.wrong_type));
    };
    if items.len() > max_entries {
        return Err(Malformed(claim.too_long));
    }
    items.iter().map(|item| text(item, claim, max_chars).map(str::to_owned)).collect()
}

/// A name: no control characters (Unicode Cc, NUL included), no bidi
/// controls, something left after trimming. Stored trimmed.
fn name(value: &Json, claim: &Claim, max_chars: usize) -> Result<String, IntakeError> {
    let s = text(value, claim, max_chars)?;
    if s.chars().any(|c| c.is_control() || is_bidi_control(c)) || s.trim().is_empty() {
        return Err(Malformed(claim.invalid));
    }
    Ok(s.trim().to_owned())
}

/// The explicit bidirectional formatting characters (Unicode UAX #9): ALM,
/// LRM, RLM, the embeddings and overrides, and the isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Chinese commercial codes: at most [`MAX_TELEGRAPH_CODES`] groups of
/// exactly four ASCII digits.
fn telegraph_codes(value: &Json) -> Result<Vec<String>, IntakeError> {
    let codes = texts(value, &TELEGRAPH_CODES, MAX_TELEGRAPH_CODES, 4)?;
    if codes.iter().any(|c| c.len() != 4 || !c.bytes().all(|b| b.is_ascii_digit())) {
        return Err(Malformed(TELEGRAPH_CODES.invalid));
    }
    Ok(codes)
}

/// A calendar date written `YYYY-MM-DD`, and nothing else.
fn date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    let year = s[..4].parse().ok()?;
    let month = Month::try_from(s[5..7].parse::<u8>().ok()?).ok()?;
    let day = s[8..].parse().ok()?;
    Date::from_calendar_date(year, month, day).ok()
}
