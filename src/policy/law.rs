//! Fixed vocabularies the policy files are checked against: the sensitive
//! categories the laws name, and the places the GBA standard contract is
//! open to. A policy file may restate these, never drop or add to them.

/// PDPA (Law 8/2005) art. 7 sensitive categories.
pub const PDPA_ART7: &[&str] =
    &["health", "sex_life", "genetic", "religion", "political", "racial_ethnic", "trade_union", "private_life"];

/// PIPL art. 28 sensitive categories (minors under 14 included).
pub const PIPL_ART28: &[&str] =
    &["biometrics", "religion", "specific_identity", "health", "financial_accounts", "whereabouts", "minors_under_14"];

/// GB/T 2260 codes of the nine mainland GBA cities (Hengqin is in Zhuhai).
pub const GBA_CITIES: &[(&str, &str)] = &[
    ("440100", "广州市"),
    ("440300", "深圳市"),
    ("440400", "珠海市"),
    ("440600", "佛山市"),
    ("440700", "江门市"),
    ("441200", "肇庆市"),
    ("441300", "惠州市"),
    ("441900", "东莞市"),
    ("442000", "中山市"),
];

/// GB/T 2260 code of the Macao SAR.
pub const MACAU_AREA: &str = "820000";

/// Places the GBA Mainland–Macao standard contract is open to.
pub fn gba_contract_place(code: &str) -> bool {
    code == MACAU_AREA || GBA_CITIES.iter().any(|(c, _)| *c == code)
}

/// The least age PIPL art. 31 allows as the guardian-consent threshold.
pub const PIPL_MINOR_AGE: u8 = 14;

/// PIPL art. 56: records of the impact assessment and processing kept at
/// least three years.
pub const MIN_AUDIT_DAYS: u32 = 3 * 365;

/// Longest description (`certificate_copy_cause` is at most 200 characters).
pub const MAX_DESCRIPTION_CHARS: usize = 200;
