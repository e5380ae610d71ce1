//! Release forms: how a released claim leaves the bridge. Applied once,
//! here, where the decision is enforced; the mapping only renders.

use crate::intake::ClaimValue;
use crate::model::{BirNumber, PartnerId};
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde::Deserialize;
use std::fmt;

/// The form a claim is released in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Form {
    /// The value as asserted.
    Full,
    /// Partly hidden (BIR `1234***(8)`); only for claims with a masking rule.
    Masked,
    /// Lower-case hex HMAC-SHA-256 under the deployment's pseudonym key over
    /// `partner id ‖ 0x00 ‖ value`: stable for one partner, unlinkable
    /// across partners.
    Pseudonym,
}

impl Form {
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Full => "full",
            Form::Masked => "masked",
            Form::Pseudonym => "pseudonym",
        }
    }

    /// Whether `self` reveals no more than `wider`: `full` may become
    /// `masked` or `pseudonym`; nothing else is a narrowing.
    pub fn narrows(self, wider: Form) -> bool {
        self == wider || wider == Form::Full
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The forms a claim path may be released in. Masking is defined only for
/// document numbers; pseudonyms only for identifiers. Policies asking for
/// anything else are refused at load.
pub fn forms_for(path: &str) -> &'static [Form] {
    match path {
        "person.bir_number"
        | "person.mtp_number"
        | "person.residence_permit_number"
        | "entitlements.fss.beneficiary_number" => &[Form::Full, Form::Masked, Form::Pseudonym],
        _ => &[Form::Full],
    }
}

/// Applies a form to a value already read from the claims.
pub(crate) fn apply(
    path: &str,
    form: Form,
    value: ClaimValue,
    partner: &PartnerId,
    key: &PseudonymKey,
) -> Option<ClaimValue> {
    match form {
        Form::Full => Some(value),
        Form::Masked => {
            let ClaimValue::Text(text) = value else { return None };
            mask(path, &text).map(ClaimValue::Text)
        }
        Form::Pseudonym => {
            let ClaimValue::Text(text) = value else { return None };
            // An MTP number's first 9 characters never change across
            // renewals, so a renewed permit keeps its pseudonym.
            let stable = if path == "person.mtp_number" { text.get(..9).unwrap_or(&text) } else { &text };
            Some(ClaimValue::Text(key.pseudonym(partner, stable)))
        }
    }
}

/// Masking rules, for document numbers only.
fn mask(path: &str, text: &str) -> Option<String> {
    match path {
        "person.bir_number" => BirNumber::parse(text).ok().map(|b| b.masked()),
        // M + 8 digits (+ 2): the letter, the first digit and the last two.
        "person.mtp_number" => Some(keep_ends(text, 2, 2)),
        // GB 11643 convention: the area code (820000 for every Macau
        // permit, so it tells nothing) and the last 4.
        "person.residence_permit_number" if text.len() == 18 && text.is_ascii() => {
            Some(format!("{}********{}", &text[..6], &text[14..]))
        }
        "person.residence_permit_number" => Some("*".repeat(text.chars().count())),
        "entitlements.fss.beneficiary_number" => Some(keep_ends(text, 0, 4)),
        _ => None,
    }
}

/// Keeps `head` and `tail` characters and stars the rest; when that would
/// show more than half the value, every character is starred.
fn keep_ends(text: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if (head + tail) * 2 > chars.len() {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.extend(std::iter::repeat_n('*', chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// The deployment's 32-byte key for pseudonyms (and subject hashes).
/// Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct PseudonymKey([u8; 32]);

/// Why a pseudonym key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a pseudonym key is 32 bytes written as 64 hex digits")]
pub struct PseudonymKeyError;

impl PseudonymKey {
    pub fn from_bytes(bytes: [u8; 32]) -> PseudonymKey {
        PseudonymKey(bytes)
    }

    /// 64 hex digits; surrounding ASCII whitespace (a trailing newline in
    /// a key file) is ignored.
    pub fn from_hex(s: &str) -> Result<PseudonymKey, PseudonymKeyError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s.trim_ascii(), &mut bytes).map_err(|_| PseudonymKeyError)?;
        Ok(PseudonymKey(bytes))
    }

    /// Lower-case hex HMAC-SHA-256 over `partner id ‖ 0x00 ‖ value`.
    pub fn pseudonym(&self, partner: &PartnerId, value: &str) -> String {
        let mut mac = Vec::with_capacity(partner.as_str().len() + 1 + value.len());
        mac.extend_from_slice(partner.as_str().as_bytes());
        mac.push(0);
        mac.extend_from_slice(value.as_bytes());
        hex::encode(hmac_sha256(&self.0, &mac))
    }
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey(..)")
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC-SHA-256 with a 32-byte key cannot fail in OpenSSL short of
    // memory exhaustion; a failure here is a broken library, not input.
    let run = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let pkey = PKey::hmac(key)?;
        let mut signer = Signer::new(openssl::hash::MessageDigest::sha256(), &pkey)?;
        signer.update(data)?;
        signer.sign_to_vec()
    };
    run().expect("HMAC-SHA-256 through OpenSSL")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> PseudonymKey {
        PseudonymKey::from_bytes([b; 32])
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn pseudonym_is_keyed_per_partner() {
        let a = PartnerId::parse("hq-clinic-0001").unwrap();
        let b = PartnerId::parse("gz-insurer-0001").unwrap();
        let p = key(7).pseudonym(&a, "12345678");
        assert_eq!(p.len(), 64);
        assert!(p.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_eq!(p, key(7).pseudonym(&a, "12345678"));
        assert_ne!(p, key(7).pseudonym(&b, "12345678"));
        assert_ne!(p, key(8).pseudonym(&a, "12345678"));
        let mut input = b"hq-clinic-0001\x0012345678".to_vec();
        assert_eq!(p, hex::encode(hmac_sha256(&[7; 32], &input)));
        input[14] = b'x';
        assert_ne!(p, hex::encode(hmac_sha256(&[7; 32], &input)));
    }

    #[test]
    fn key_parsing_and_debug() {
        let hexkey = "00".repeat(31) + "ff\n";
        let k = PseudonymKey::from_hex(&hexkey).unwrap();
        assert_eq!(format!("{k:?}"), "PseudonymKey(..)");
        assert_eq!(PseudonymKey::from_hex("abcd"), Err(PseudonymKeyError));
        assert_eq!(PseudonymKey::from_hex(&"zz".repeat(32)), Err(PseudonymKeyError));
    }

    #[test]
    fn masks() {
        assert_eq!(mask("person.bir_number", "12345678").unwrap(), "1234***(8)");
        assert_eq!(mask("person.mtp_number", "M12345678").unwrap(), "M1*****78");
        assert_eq!(mask("person.mtp_number", "M1234567801").unwrap(), "M1*******01");
        assert_eq!(mask("person.residence_permit_number", "820000199001010027").unwrap(), "820000********0027");
        assert_eq!(mask("entitlements.fss.beneficiary_number", "FSS1234567").unwrap(), "******4567");
        assert_eq!(mask("entitlements.fss.beneficiary_number", "1234567").unwrap(), "*******");
        assert_eq!(mask("person.name_latin", "CHAN TAI MAN"), None);
    }

    #[test]
    fn narrowing_order() {
        assert!(Form::Masked.narrows(Form::Full));
        assert!(Form::Pseudonym.narrows(Form::Full));
        assert!(Form::Masked.narrows(Form::Masked));
        assert!(!Form::Full.narrows(Form::Masked));
        assert!(!Form::Masked.narrows(Form::Pseudonym));
        assert!(!Form::Pseudonym.narrows(Form::Masked));
    }
}
