//! Document numbers of Macau residents and mainland bodies, validated on
//! construction. Formats and check characters: `reference/vectors.md`.

use super::codes::{gb11643_check, gb11714_check, mod37_36_check, uscc_check};
use std::fmt;

/// Why a document number was refused. Never carries the number itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("wrong length")]
    Length,
    #[error("character outside the allowed set")]
    Charset,
    #[error("check character does not match")]
    Check,
    #[error("wrong prefix")]
    Prefix,
    #[error("wrong structure")]
    Structure,
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// Macau resident identity card (BIR) number, canonical 8 digits.
///
/// Printed `XNNNNNN(Y)`; the canonical form strips `/`, `(`, `)`. The first
/// digit is 1, 5 or 7. No public check-digit algorithm exists, so the last
/// digit is never checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BirNumber(String);
string_newtype!(BirNumber);

impl BirNumber {
    pub fn parse(s: &str) -> Result<Self, FormatError> {
        let canon: String = s.chars().filter(|c| !matches!(c, '/' | '(' | ')')).collect();
        if canon.len() != 8 {
            return Err(FormatError::Length);
        }
        if !canon.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FormatError::Charset);
        }
        if !matches!(canon.as_bytes()[0], b'1' | b'5' | b'7') {
            return Err(FormatError::Prefix);
        }
        Ok(BirNumber(canon))
    }

    /// The masked form released to partners: `1234***(8)`.
    pub fn masked(&self) -> String {
        format!("{}***({})", &self.0[..4], &self.0[7..])
    }
}

/// 港澳居民来往内地通行证 number: `M` + 8 digits, optionally + a 2-digit
/// renewal count. The first 9 characters are the stable key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MtpNumber(String);
string_newtype!(MtpNumber);

impl MtpNumber {
    pub fn parse(s: &str) -> Result<Self, FormatError> {
        if s.len() != 9 && s.len() != 11 {
            return Err(FormatError::Length);
        }
        if !s.starts_with('M') {
            return Err(FormatError::Prefix);
        }
        if !s.bytes().skip(1).all(|b| b.is_ascii_digit()) {
            return Err(FormatError::Charset);
        }
        Ok(MtpNumber(s.to_owned()))
    }

    /// The first 9 characters, which never change across renewals.
    pub fn stable_key(&self) -> &str {
        &self.0[..9]
    }
}

/// 港澳居民居住证 number for Macau: 17 digits starting `820000` and a GB
/// 11643 check character `0-9X`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResidencePermitNumber(String);
string_newtype!(ResidencePermitNumber);

impl ResidencePermitNumber {
    pub fn parse(s: &str) -> Result<Self, FormatError> {
        check_gb11643(s)?;
        if !s.starts_with("820000") {
            return Err(FormatError::Prefix);
        }
        Ok(ResidencePermitNumber(s.to_owned()))
    }
}

/// Validates any GB 11643 number (citizen ID or residence permit).
pub fn check_gb11643(s: &str) -> Result<(), FormatError> {
    if s.len() != 18 {
        return Err(FormatError::Length);
    }
    // Eighteen bytes need not be eighteen characters.
    let (body, check) = s.split_at_checked(17).ok_or(FormatError::Charset)?;
    if !body.bytes().all(|b| b.is_ascii_digit()) || !matches!(check.as_bytes()[0], b'0'..=b'9' | b'X') {
        return Err(FormatError::Charset);
    }
    if gb11643_check(body).map(String::from).as_deref() != Some(check) {
        return Err(FormatError::Check);
    }
    Ok(())
}

/// 统一社会信用代码 (GB 32100), with the embedded GB 11714 check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uscc(String);
string_newtype!(Uscc);

impl Uscc {
    pub fn parse(s: &str) -> Result<Self, FormatError> {
        if s.len() != 18 {
            return Err(FormatError::Length);
        }
        if !s.is_ascii() {
            return Err(FormatError::Charset);
        }
        let check = uscc_check(&s[..17]).ok_or(FormatError::Charset)?;
        if !s.ends_with(check) {
            return Err(FormatError::Check);
        }
        if gb11714_check(&s[8..16]) != s[16..17].chars().next() {
            return Err(FormatError::Check);
        }
        Ok(Uscc(s.to_owned()))
    }
}

/// The root of every GB/T 36904 identifier.
pub const LICENCE_ID_ROOT: &str = "1.2.156.3005.2";

/// A GB/T 36904 e-licence identifier:
/// `1.2.156.3005.2.<type 21>.<issuer USCC 18>.<serial>.<version 3>.<check>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LicenceId(String);
string_newtype!(LicenceId);

impl LicenceId {
    /// Builds an identifier and its check character. `type_code` is the
    /// defining body's USCC + 3 digits; `serial` is `[0-9A-Z]{1,64}`.
    pub fn build(type_code: &str, issuer: &Uscc, serial: &str, version: u16) -> Result<Self, FormatError> {
        check_type_code(type_code)?;
        if serial.is_empty() || serial.len() > 64 {
            return Err(FormatError::Length);
        }
        if version > 999 {
            return Err(FormatError::Structure);
        }
        let version = format!("{version:03}");
        let check =
            mod37_36_check(&format!("{type_code}{}{serial}{version}", issuer.as_str())).ok_or(FormatError::Charset)?;
        Ok(LicenceId(format!("{LICENCE_ID_ROOT}.{type_code}.{}.{serial}.{version}.{check}", issuer.as_str())))
    }

    /// Parses an identifier and checks its check character. The issuer
    /// segment must be an 18-character USCC-shaped code; its own check is
    /// not re-verified here (records of other issuers are still readable).
    pub fn parse(s: &str) -> Result<Self, FormatError> {
        let rest = s.strip_prefix(LICENCE_ID_ROOT).and_then(|r| r.strip_prefix('.')).ok_or(FormatError::Prefix)?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [type_code, issuer, serial, version, check] = parts[..] else {
            return Err(FormatError::Structure);
        };
        check_type_code(type_code)?;
        if issuer.len() != 18 || serial.is_empty() || serial.len() > 64 {
            return Err(FormatError::Length);
        }
        if version.len() != 3 || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FormatError::Structure);
        }
        if check.len() != 1 {
            return Err(FormatError::Structure);
        }
        let expected = mod37_36_check(&format!("{type_code}{issuer}{serial}{version}")).ok_or(FormatError::Charset)?;
        if !check.starts_with(expected) {
            return Err(FormatError::Check);
        }
        Ok(LicenceId(s.to_owned()))
    }

    /// The serial segment (also the record's `certificate_number`).
    pub fn serial(&self) -> &str {
        self.0.rsplit('.').nth(2).expect("validated structure")
    }
}

fn check_type_code(t: &str) -> Result<(), FormatError> {
    if t.len() != 21 {
        return Err(FormatError::Length);
    }
    if !t.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) || !t[18..].bytes().all(|b| b.is_ascii_digit())
    {
        return Err(FormatError::Charset);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bir_format_only() {
        assert_eq!(BirNumber::parse("1234567(8)").unwrap().as_str(), "12345678");
        assert_eq!(BirNumber::parse("5/123456/7").unwrap().as_str(), "51234567");
        assert_eq!(BirNumber::parse("71234560").unwrap().masked(), "7123***(0)");
        // Any last digit is accepted: no public check-digit algorithm exists.
        for last in 0..10 {
            assert!(BirNumber::parse(&format!("1234567{last}")).is_ok());
        }
        assert_eq!(BirNumber::parse("22345678"), Err(FormatError::Prefix));
        assert_eq!(BirNumber::parse("1234567"), Err(FormatError::Length));
        assert_eq!(BirNumber::parse("1234567A"), Err(FormatError::Charset));
    }

    #[test]
    fn mtp_format() {
        assert_eq!(MtpNumber::parse("M12345678").unwrap().stable_key(), "M12345678");
        assert_eq!(MtpNumber::parse("M1234567801").unwrap().stable_key(), "M12345678");
        assert_eq!(MtpNumber::parse("H12345678"), Err(FormatError::Prefix));
        assert_eq!(MtpNumber::parse("M123456789"), Err(FormatError::Length));
        assert_eq!(MtpNumber::parse("M1234567A"), Err(FormatError::Charset));
    }

    #[test]
    fn residence_permit() {
        // A check-valid Macau permit number (820000 prefix) built from the algorithm.
        let body = "82000019900101002";
        let n = format!("{body}{}", gb11643_check(body).unwrap());
        assert!(ResidencePermitNumber::parse(&n).is_ok());
        let mut bad = n.clone();
        let last = if bad.ends_with('0') { '1' } else { '0' };
        bad.replace_range(17.., &last.to_string());
        assert_eq!(ResidencePermitNumber::parse(&bad), Err(FormatError::Check));
        // Valid GB 11643 vectors from vectors.md, but not Macau permits.
        assert!(check_gb11643("810000199408230021").is_ok());
        assert!(check_gb11643("13043419840726291X").is_ok());
        assert_eq!(ResidencePermitNumber::parse("810000199408230021"), Err(FormatError::Prefix));
        // 18 bytes with a character across byte 17: refused, not sliced mid-character.
        assert_eq!(ResidencePermitNumber::parse("8200001990010100é"), Err(FormatError::Charset));
        assert_eq!(check_gb11643("1304341984072629é"), Err(FormatError::Charset));
    }

    #[test]
    fn uscc() {
        assert!(Uscc::parse("91120222MA06DG3067").is_ok());
        assert!(Uscc::parse("91370406L24894136J").is_ok());
        assert_eq!(Uscc::parse("91120222MA06DG3068"), Err(FormatError::Check));
        assert_eq!(Uscc::parse("9112022"), Err(FormatError::Length));
        assert_eq!(Uscc::parse("9112O222MA06DG3067"), Err(FormatError::Charset));
        // 18 bytes, not 18 characters: refused, not sliced mid-character.
        assert_eq!(Uscc::parse("91120222MA06DG30é"), Err(FormatError::Charset));
        assert_eq!(Uscc::parse("91120222é06DG3067"), Err(FormatError::Charset));
    }

    #[test]
    fn licence_id_vectors() {
        for v in [
            "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
            "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
            "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
        ] {
            let id = LicenceId::parse(v).unwrap();
            assert_eq!(id.as_str(), v);
        }
        assert_eq!(
            LicenceId::parse("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.V"),
            Err(FormatError::Check)
        );
        assert_eq!(LicenceId::parse("1.2.156.3005.1.x"), Err(FormatError::Prefix));
        let issuer = Uscc::parse("11430000006122244L").unwrap();
        let built = LicenceId::build("11100000000013338W011", &issuer, "20230000403", 1).unwrap();
        assert_eq!(built.as_str(), "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U");
        assert_eq!(built.serial(), "20230000403");
    }
}
