//! Mapping files and code tables as written: strict serde types.
//!
//! A mapping file (`mappings/<id>.toml`) has `[mapping]`, `[licence]`,
//! `[holder]` with `[[holder.code]]` alternatives, and `[[surface]]` items.
//! A code table (`mappings/codes/<id>.toml`) has `[table]` and `[[entry]]`;
//! the name-exception table (`codes/name-exceptions.toml`) has `[table]`
//! and `[[exception]]`.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingHeadDto {
    /// Must equal the file name without `.toml`.
    pub id: Spanned<String>,
    /// `1`, `1.2` or `1.2.3`; the record's provenance names `id@version`.
    pub version: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// The licence type the mapping produces.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceDto {
    /// 证照名称.
    pub name: Spanned<String>,
    /// 证照类型名称.
    pub type_name: Spanned<String>,
    /// Three digits under the defining body's USCC (`001`).
    pub type_sequence: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolderDto {
    /// 持证主体 name.
    pub name: Spanned<TransformDto>,
    /// 持证主体代码: the first alternative with a released value wins, and
    /// its `code_type` goes with it.
    pub code: Spanned<Vec<HolderCodeDto>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolderCodeDto {
    pub value: Spanned<TransformDto>,
    /// A code of the `holder-id-type` table (GB/T 36903 appendix A style).
    pub code_type: Spanned<String>,
    /// Overrides the table's name for this use (e.g. `999` as
    /// 澳门特别行政区居民身份证).
    #[serde(default)]
    pub code_type_name: Option<Spanned<String>>,
}

/// One 照面 item.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurfaceDto {
    pub name: Spanned<String>,
    /// snake_case (GB/T 36903 JSON).
    pub column_name: Spanned<String>,
    /// Pinyin-initial key (`gd-license-app+json` `data_fields`).
    pub pinyin_code: Spanned<String>,
    pub value: Spanned<TransformDto>,
    /// Left out of the record when its value is absent; otherwise an
    /// absent value is a mapping failure.
    #[serde(default)]
    pub optional: bool,
}

/// A transform: exactly one of the operations, plus the modifiers that
/// operation accepts (`table` with `code`, `separator` with `concat`,
/// `take` on any text).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformDto {
    /// The released value as it is.
    #[serde(default)]
    pub copy: Option<Spanned<String>>,
    /// A fixed text.
    #[serde(default, rename = "const")]
    pub constant: Option<Spanned<String>>,
    /// The released value as a typed date (`long-term` becomes 长期).
    #[serde(default)]
    pub date: Option<Spanned<String>>,
    /// The released value looked up in a code table (`table`).
    #[serde(default)]
    pub code: Option<Spanned<String>>,
    #[serde(default)]
    pub table: Option<Spanned<String>>,
    /// A Traditional-character name in standard Simplified characters.
    #[serde(default)]
    pub zh_hans: Option<Spanned<String>>,
    /// Parts joined with `separator` (default: nothing between).
    #[serde(default)]
    pub concat: Option<Vec<Spanned<TransformDto>>>,
    #[serde(default)]
    pub separator: Option<String>,
    /// The first alternative with a value.
    #[serde(default)]
    pub first_of: Option<Vec<Spanned<TransformDto>>>,
    /// Keep the first N characters of a text result.
    #[serde(default)]
    pub take: Option<Spanned<usize>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableHeadDto {
    /// Must equal the file name without `.toml`.
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    /// The standard the table reproduces (`GB/T 2261.1-2003`).
    pub standard: Spanned<String>,
    /// Set when the codes are not published and the defaults are a guess.
    #[serde(default)]
    pub unconfirmed: bool,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryDto {
    pub code: Spanned<String>,
    pub name: Spanned<String>,
    /// Input values (from the assertion) that map to this code.
    #[serde(default)]
    pub from: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameExceptionDto {
    /// One Traditional character.
    pub traditional: Spanned<String>,
    /// Its standard Simplified form in names.
    pub simplified: Spanned<String>,
    /// Converters or records disagree: the record carries a review flag.
    #[serde(default)]
    pub contested: bool,
    pub note: Spanned<String>,
    /// The standard or document that fixes the form.
    pub source: Spanned<String>,
}
