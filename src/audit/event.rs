//! What one decision leaves in the audit chain, and how it is hashed.
//!
//! Every field is an identifier the bridge itself defines (partner, purpose
//! and jurisdiction ids, reason codes, policy clauses, claim paths, the
//! licence id) or a digest (the assertion's SHA-256, the per-partner
//! subject pseudonym). [`AuditEvent::check`] holds each field to that
//! shape, so a name, a BIR or a permit number put there by mistake is
//! refused instead of written: the chain never holds personal data.

use super::AuditError;
use crate::intake::RELEASABLE_PATHS;
use crate::licence::jcs;
use crate::model::{JurisdictionId, LicenceId, PartnerId, PurposeId, Reason, Rejection};
use crate::signing::openssl_sm2;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Longest policy clause reference kept (`file#table.key`).
const MAX_CLAUSE: usize = 256;
/// Most reasons and released attributes one event may list.
const MAX_ITEMS: usize = 64;

/// The outcome of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Permit,
    Deny,
}

/// One reason behind a decision: the stable code and, for policy refusals,
/// the clause (`file#table.key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditReason {
    pub code: String,
    pub clause: Option<String>,
}

impl AuditReason {
    pub fn new(reason: Reason, clause: Option<&str>) -> Self {
        AuditReason { code: reason.code().to_owned(), clause: clause.map(str::to_owned) }
    }
}

impl From<&Rejection> for AuditReason {
    fn from(r: &Rejection) -> Self {
        AuditReason::new(r.reason, r.clause.as_deref())
    }
}

/// A decision as the edge reports it, before it is chained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub time: OffsetDateTime,
    /// The partner id, empty when the caller could not be identified.
    pub partner: String,
    /// The purpose id, empty when the request named none that parses.
    pub purpose: String,
    /// The jurisdiction id, empty for refusals before policy was found.
    pub jurisdiction: String,
    pub decision: Decision,
    pub reasons: Vec<AuditReason>,
    /// Claim paths released (names only, never values).
    pub released: Vec<String>,
    pub licence_id: Option<String>,
    /// Lower-case hex SHA-256 of the assertion as received.
    pub source_sha256: Option<String>,
    /// The subject pseudonym (lower-case hex HMAC, per partner).
    pub subject: Option<String>,
}

/// An event as stored and exported: the event, its place in the chain
/// and its digests. `hash` and `sm3` cover the RFC 8785 bytes of every
/// other field ([`AuditRecord::chained_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    pub kind: RecordKind,
    pub seq: u64,
    /// RFC 3339, UTC.
    pub time: String,
    pub partner: String,
    pub purpose: String,
    pub jurisdiction: String,
    pub decision: Decision,
    pub reasons: Vec<AuditReason>,
    pub released: Vec<String>,
    pub licence_id: Option<String>,
    pub source_sha256: Option<String>,
    pub subject: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    pub sm3: String,
}

/// Tells event lines from checkpoint lines in an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    Event,
}

fn invalid(field: &'static str, why: &str) -> AuditError {
    AuditError::Invalid { field, why: why.to_owned() }
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_id<T, E>(field: &'static str, v: &str, parse: impl Fn(&str) -> Result<T, E>) -> Result<(), AuditError> {
    if v.is_empty() || parse(v).is_ok() { Ok(()) } else { Err(invalid(field, "is not an id")) }
}

impl AuditEvent {
    /// Refuses any field that is not the identifier or digest it names.
    pub fn check(&self) -> Result<(), AuditError> {
        check_id("partner", &self.partner, PartnerId::parse)?;
        check_id("purpose", &self.purpose, PurposeId::parse)?;
        check_id("jurisdiction", &self.jurisdiction, JurisdictionId::parse)?;
        if self.reasons.len() > MAX_ITEMS || self.released.len() > MAX_ITEMS {
            return Err(invalid("reasons", "too many items"));
        }
        for r in &self.reasons {
            if Reason::from_code(&r.code).is_none() {
                return Err(invalid("reasons", "not a reason code"));
            }
            let clause_ok = |c: &str| {
                !c.is_empty() && c.len() <= MAX_CLAUSE && c.bytes().all(|b| b.is_ascii_graphic()) && c.contains('#')
            };
            if r.clause.as_deref().is_some_and(|c| !clause_ok(c)) {
                return Err(invalid("reasons", "a clause is `file#table.key`"));
            }
        }
        if self.released.iter().any(|c| !RELEASABLE_PATHS.contains(&c.as_str())) {
            return Err(invalid("released", "not a releasable claim path"));
        }
        if self.licence_id.as_deref().is_some_and(|l| LicenceId::parse(l).is_err()) {
            return Err(invalid("licence_id", "not a licence identifier"));
        }
        if self.source_sha256.as_deref().is_some_and(|s| !is_hex64(s)) {
            return Err(invalid("source_sha256", "not a lower-case hex SHA-256"));
        }
        if self.subject.as_deref().is_some_and(|s| !is_hex64(s)) {
            return Err(invalid("subject", "not a subject pseudonym"));
        }
        match self.decision {
            Decision::Deny if self.reasons.is_empty() => Err(invalid("reasons", "a denial names its reasons")),
            Decision::Deny if !self.released.is_empty() || self.licence_id.is_some() => {
                Err(invalid("released", "a denial releases nothing"))
            }
            _ => Ok(()),
        }
    }

    /// Places the event after `prev_hash` as number `seq`.
    pub(crate) fn chain(self, seq: u64, prev_hash: &str) -> Result<AuditRecord, AuditError> {
        let time =
            self.time.to_offset(time::UtcOffset::UTC).format(&Rfc3339).map_err(|e| invalid("time", &e.to_string()))?;
        let mut record = AuditRecord {
            kind: RecordKind::Event,
            seq,
            time,
            partner: self.partner,
            purpose: self.purpose,
            jurisdiction: self.jurisdiction,
            decision: self.decision,
            reasons: self.reasons,
            released: self.released,
            licence_id: self.licence_id,
            source_sha256: self.source_sha256,
            subject: self.subject,
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
            sm3: String::new(),
        };
        let (hash, sm3) = record.digests()?;
        record.hash = hash;
        record.sm3 = sm3;
        Ok(record)
    }
}

impl AuditRecord {
    /// The RFC 8785 bytes of the record without `hash` and `sm3`: what
    /// both digests cover.
    pub fn chained_bytes(&self) -> Result<Vec<u8>, AuditError> {
        let mut value = serde_json::to_value(self).map_err(|e| AuditError::Encoding(e.to_string()))?;
        if let Some(map) = value.as_object_mut() {
            map.remove("hash");
            map.remove("sm3");
        }
        jcs::canonicalize(&value).map_err(|e| AuditError::Encoding(e.to_string()))
    }

    /// `(sha256, sm3)` of [`Self::chained_bytes`], lower-case hex.
    pub fn digests(&self) -> Result<(String, String), AuditError> {
        let bytes = self.chained_bytes()?;
        Ok((hex::encode(openssl::sha::sha256(&bytes)), hex::encode(openssl_sm2::sm3(&bytes))))
    }
}
