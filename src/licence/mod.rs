//! The e-licence record (DESIGN §6): identifiers and serials, the
//! per-format serializers, canonical bytes, signing and verification.
//!
//! A record is assembled from what the mapping produced plus the request's
//! provenance, given a fresh GB/T 36904 identifier, rendered by the format's
//! serializer, and signed over the RFC 8785 canonical bytes of the rendering
//! without its signature members. A format whose sink uses its own codes
//! gets the code tables through [`SinkCodes`]; the module reads no files.

mod document;
mod gbt36903;
mod gd_license_app;
pub mod jcs;
pub mod record;
mod serial;
mod verify;

pub use record::{
    Holder, IssuingBody, MappedRecord, Provenance, Record, ReleasedClaim, SignedLicence, SurfaceItem, SurfaceValue,
};
pub use serial::{SERIAL_LEN, random_serial};
pub use verify::{VerifyError, VerifyReport, verify};

use crate::mapping::CodeTable;
use crate::model::{LicenceId, OutputFormat, Reason};
use crate::signing::Signer;
use time::{Duration, OffsetDateTime, UtcOffset};

/// Version of every record this bridge issues (`certificate_version`).
pub const RECORD_VERSION: u16 = 1;
/// Mainland and Macau time (UTC+8), in which dates are written.
pub const CHINA_OFFSET: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("valid offset"),
};
/// Longest `certificate_copy_cause` (characters).
pub const MAX_COPY_CAUSE: usize = 200;

/// Why a record could not be issued: a bug or a key problem, never the
/// caller's fault (`INTERNAL`).
#[derive(Debug, thiserror::Error)]
pub enum LicenceError {
    #[error("record: {0}")]
    Record(String),
    #[error("canonical form: {0}")]
    Canonical(#[from] jcs::JcsError),
    #[error(transparent)]
    Signing(#[from] crate::signing::SigningError),
}

impl LicenceError {
    pub fn reason(&self) -> Reason {
        Reason::Internal
    }
}

/// Everything besides the mapped content that goes into a record.
#[derive(Debug, Clone)]
pub struct IssueInput<'a> {
    pub mapped: MappedRecord,
    pub format: OutputFormat,
    pub purpose: &'a str,
    /// The purpose's description (加注件制作事由).
    pub copy_cause: &'a str,
    pub validity: Duration,
    pub released: Vec<ReleasedClaim>,
    pub source_issuer: &'a str,
    pub source_sha256: &'a str,
    pub policy_digest: &'a str,
    pub gateway_id: &'a str,
    /// The code tables the format translates through.
    pub codes: SinkCodes<'a>,
}

/// The code tables a format's serializer translates through, looked up by
/// the caller (the pipeline: in the snapshot's mappings) with
/// [`SinkCodes::for_format`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SinkCodes<'a> {
    /// GB/T 36903 holder code type → the sink's holder identity type.
    pub holder_types: Option<&'a CodeTable>,
    /// GB/T 2260 area code → area name.
    pub areas: Option<&'a CodeTable>,
}

/// The GB/T 2260 area table (`mappings/codes/area.toml`).
pub const AREA_TABLE: &str = "area";

/// The table translating GB/T 36903 holder code types for `format`'s sink;
/// `None` when the format writes GB/T 36903 codes as they are.
pub fn holder_type_table(format: OutputFormat) -> Option<&'static str> {
    match format {
        OutputFormat::Gbt36903Json => None,
        OutputFormat::GdLicenseAppJson => Some(gd_license_app::HOLDER_TYPE_TABLE),
    }
}

impl<'a> SinkCodes<'a> {
    /// The tables `format` needs, found by id through `table`.
    pub fn for_format(format: OutputFormat, table: impl Fn(&str) -> Option<&'a CodeTable>) -> SinkCodes<'a> {
        SinkCodes {
            holder_types: holder_type_table(format).and_then(&table),
            areas: match format {
                OutputFormat::Gbt36903Json => None,
                OutputFormat::GdLicenseAppJson => table(AREA_TABLE),
            },
        }
    }
}

/// Assembles, renders and signs a record.
pub fn issue(
    input: IssueInput<'_>,
    issuer: &IssuingBody,
    signer: &dyn Signer,
    now: OffsetDateTime,
) -> Result<SignedLicence, LicenceError> {
    let record = assemble(input.clone(), issuer, now)?;
    let bytes = match input.format {
        OutputFormat::Gbt36903Json => gbt36903::render_signed(&record, signer)?,
        OutputFormat::GdLicenseAppJson => gd_license_app::render_signed(&record, &input.codes, signer)?,
    };
    Ok(SignedLicence {
        id: record.id,
        format: input.format,
        bytes,
        released: input.released.iter().map(|r| r.claim.clone()).collect(),
        policy_digest: input.policy_digest.to_owned(),
    })
}

fn assemble(input: IssueInput<'_>, issuer: &IssuingBody, now: OffsetDateTime) -> Result<Record, LicenceError> {
    let m = input.mapped;
    if m.type_sequence.len() != 3 || !m.type_sequence.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LicenceError::Record("mapping type sequence is not 3 digits".into()));
    }
    if m.holders.is_empty() {
        return Err(LicenceError::Record("record has no holder".into()));
    }
    if input.copy_cause.chars().count() > MAX_COPY_CAUSE {
        return Err(LicenceError::Record("copy cause over 200 characters".into()));
    }
    if input.validity <= Duration::ZERO {
        return Err(LicenceError::Record("validity must be positive".into()));
    }
    let type_code = format!("{}{}", issuer.defining_body.as_str(), m.type_sequence);
    let serial = random_serial().map_err(|e| LicenceError::Record(format!("serial: {e}")))?;
    let id = LicenceId::build(&type_code, &issuer.uscc, &serial, RECORD_VERSION)
        .map_err(|e| LicenceError::Record(format!("identifier: {e}")))?;
    let now = now.replace_nanosecond(0).map_err(|e| LicenceError::Record(e.to_string()))?;
    Ok(Record {
        id,
        serial,
        version: RECORD_VERSION,
        licence_name: m.licence_name,
        type_code,
        type_name: m.type_name,
        issuer: issuer.clone(),
        issued_at: now,
        valid_from: now,
        valid_until: now + input.validity,
        holders: m.holders,
        status: "01".into(),
        copy_cause: input.copy_cause.to_owned(),
        surface: m.surface,
        provenance: Provenance {
            source_assertion_sha256: input.source_sha256.to_owned(),
            source_issuer: input.source_issuer.to_owned(),
            policy_digest: input.policy_digest.to_owned(),
            mapping: m.mapping,
            gateway_id: input.gateway_id.to_owned(),
            purpose: input.purpose.to_owned(),
            released: input.released,
            name_review: m.name_review,
            signed_at: now,
        },
    })
}

#[cfg(test)]
mod tests;
