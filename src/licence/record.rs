//! The core e-licence record (DESIGN §6): typed and sink-independent. The
//! serializers render it; the signature covers a serializer's output.

use crate::model::{LicenceId, OutputFormat, Uscc};
use time::{Date, OffsetDateTime};

/// What a mapping produces: the record's content before it gets an
/// identifier, dates and a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedRecord {
    /// 证照名称, from the mapping's licence type.
    pub licence_name: String,
    /// 证照类型名称.
    pub type_name: String,
    /// The mapping's 3-digit sequence under the defining body (`"001"`).
    pub type_sequence: String,
    pub holders: Vec<Holder>,
    /// 照面信息.
    pub surface: Vec<SurfaceItem>,
    /// Name-conversion review flags raised by `zh_hans` (may be empty).
    pub name_review: Vec<String>,
    /// `id@version` of the mapping used.
    pub mapping: String,
}

/// A holder (持证主体).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub name: String,
    pub code: String,
    /// GB/T 36903 appendix A code type (`516`, `999`, …).
    pub code_type: String,
    pub code_type_name: String,
}

/// One 照面 item: `{name, value, value_type, column_name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurfaceItem {
    /// Display name (e.g. `持证人姓名`).
    pub name: String,
    pub value: SurfaceValue,
    /// Column name (snake_case for GB/T 36903; the gd sink uses `pinyin_code`).
    pub column_name: String,
    /// Pinyin-initial key for `gd-license-app+json` `data_fields` (e.g. `CYRMC`).
    pub pinyin_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurfaceValue {
    Text(String),
    Date(Date),
    Integer(i64),
    Bool(bool),
}

/// Where the record came from; rendered as `provenance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub source_assertion_sha256: String,
    pub source_issuer: String,
    pub policy_digest: String,
    pub mapping: String,
    pub gateway_id: String,
    pub purpose: String,
    pub released: Vec<ReleasedClaim>,
    pub name_review: Vec<String>,
    pub signed_at: OffsetDateTime,
}

/// One released claim and the form it was released in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedClaim {
    pub claim: String,
    pub form: String,
}

/// The issuing body (from config, validated at load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuingBody {
    pub name: String,
    pub uscc: Uscc,
    /// The defining body's USCC: type codes are this + a 3-digit sequence.
    pub defining_body: Uscc,
    /// GB/T 2260 area code of the issuing body.
    pub area_code: String,
}

/// A complete unsigned record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: LicenceId,
    pub serial: String,
    pub version: u16,
    pub licence_name: String,
    pub type_code: String,
    pub type_name: String,
    pub issuer: IssuingBody,
    /// Issue time = signing time (UTC+8 when rendered).
    pub issued_at: OffsetDateTime,
    pub valid_from: OffsetDateTime,
    pub valid_until: OffsetDateTime,
    pub holders: Vec<Holder>,
    /// `01` valid (codes.md).
    pub status: String,
    /// The purpose's description (加注件制作事由), ≤ 200 characters.
    pub copy_cause: String,
    pub surface: Vec<SurfaceItem>,
    pub provenance: Provenance,
}

/// A record rendered in one format and signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLicence {
    pub id: LicenceId,
    pub format: OutputFormat,
    /// The serialized JSON document, signature included.
    pub bytes: Vec<u8>,
    /// Names of released claims (for the response and the audit event).
    pub released: Vec<String>,
    pub policy_digest: String,
}
