//! The audit chain: one event per decision, hash-chained, made durable
//! before the request is answered, with periodic checkpoints signed by the
//! bridge's SM2 key (DESIGN §9).
//!
//! Why each part is there:
//!
//! - **Chain** ([`event`]): each event carries the SHA-256 (and SM3) of its
//!   own RFC 8785 bytes and its predecessor's hash, so an event changed or
//!   removed after the next one was written no longer links.
//! - **Checkpoints** ([`checkpoint`]): a signed `(seq, hash)` stops a
//!   rewrite of the whole chain, which plain hashes cannot.
//! - **Group commit** ([`AuditLog`]): an answer may not leave before its
//!   event is on disk; one flush per batch instead of per event keeps that
//!   affordable under load.
//! - **No personal data**: events hold ids, reason codes, claim paths and
//!   digests only, and are checked for it on append.
//!
//! # Durability
//!
//! An append resolves after sled's `flush()` returned for the batch that
//! holds the event. That survives a crash of the process. sled flushes with
//! `sync_file_range`, not `fsync` (neither the drive's cache nor file
//! metadata is forced out), so a power cut can still lose events that were
//! already answered. sled recovers its log up to the last intact write, so
//! the loss is a tail of the chain; a hole would show in `audit verify` as
//! a gap. The same flush carries the replay ids and quota counts written
//! earlier in the request.

pub mod checkpoint;
pub mod event;
mod keys;
mod log;
mod ticket;
mod verify;

pub use checkpoint::{Checkpoint, CheckpointFault};
pub use event::{AuditEvent, AuditReason, AuditRecord, Decision, GENESIS_HASH};
pub use log::{AuditLog, AuditOptions, AuditStats};
pub use ticket::AppendTicket;
pub use verify::{AuditReport, ExportSummary, Problem, export, verify};

/// Where an appended event landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    /// Lower-case hex SHA-256 of the event.
    pub hash: String,
}

/// Why an event was not made durable, or the chain could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The writer's queue is full: shed the request.
    #[error("the audit log is overloaded")]
    Overloaded,
    #[error("the audit log is closed")]
    Closed,
    #[error("another audit log is writing this store")]
    WriterOpen,
    /// A field does not have the shape of what it names (the value is not
    /// repeated: it may be exactly what must not be logged).
    #[error("audit event field {field}: {why}")]
    Invalid { field: &'static str, why: String },
    #[error("the audit store is unavailable: {0}")]
    Unavailable(String),
    #[error("the audit chain does not read at {}; run `audit verify`", .seq.map_or("a key".to_owned(), |s| format!("seq {s}")))]
    Corrupt { seq: Option<u64> },
    #[error("audit encoding: {0}")]
    Encoding(String),
    #[error("checkpoint signing: {0}")]
    Signing(String),
    #[error("writing the export: {0}")]
    Output(String),
}

impl From<sled::Error> for AuditError {
    fn from(e: sled::Error) -> Self {
        AuditError::Unavailable(e.to_string())
    }
}

impl AuditError {
    /// The refusal a request gets when its event cannot be written: it is
    /// answered only with a durable event, so it is not answered at all.
    pub fn reason(&self) -> crate::model::Reason {
        match self {
            AuditError::Overloaded => crate::model::Reason::Overloaded,
            _ => crate::model::Reason::Internal,
        }
    }
}
