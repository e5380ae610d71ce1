//! Re-walking the chain (`audit verify`) and writing it out (`audit
//! export`). Both read the store directly, so they run with the server
//! stopped, or against a copy of its directory.

use super::AuditError;
use super::checkpoint::Checkpoint;
use super::event::{AuditRecord, GENESIS_HASH};
use super::keys::{self, CHECKPOINT_PREFIX, EVENT_PREFIX};
use crate::store::Store;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::iter::Peekable;

/// One thing wrong with the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The event or checkpoint concerned, when there is one.
    pub seq: Option<u64>,
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(s) => write!(f, "seq {s}: {}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Events read.
    pub events: u64,
    /// Checkpoints read (valid or not).
    pub checkpoints: u64,
    /// The last event's sequence number and stored hash.
    pub head: Option<(u64, String)>,
    /// The highest sequence number covered by a valid checkpoint.
    pub signed_through: u64,
    /// The earliest event that cannot be trusted: changed, missing, or the
    /// one before a broken link.
    pub first_bad: Option<u64>,
    pub problems: Vec<Problem>,
}

impl AuditReport {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, seq: Option<u64>, bad: Option<u64>, what: String) {
        if let Some(b) = bad {
            self.first_bad = Some(self.first_bad.map_or(b, |f| f.min(b)));
        }
        self.problems.push(Problem { seq, what });
    }
}

/// Checks every event's hashes and link and every checkpoint's signature.
/// `trust` decides whether a checkpoint's signer certificate (DER) may
/// sign checkpoints at all. `Err` only when the store cannot be read.
pub fn verify(store: &Store, trust: &dyn Fn(&[u8]) -> Result<(), String>) -> Result<AuditReport, AuditError> {
    let tree = store.audit_tree();
    let mut report = AuditReport::default();
    let checkpoints = read_checkpoints(tree, trust, &mut report)?;

    let mut expected = 1u64;
    // The stored hash of the previous event; `None` after a gap or an
    // unreadable event, where the link cannot be judged.
    let mut prev: Option<String> = Some(GENESIS_HASH.to_owned());
    for item in keys::scan(tree, EVENT_PREFIX) {
        let (k, v) = item?;
        let Some(seq) = keys::seq_of(EVENT_PREFIX, &k) else {
            report.problem(None, None, format!("a key of {} bytes in the event range", k.len()));
            continue;
        };
        report.events += 1;
        if seq != expected {
            report.problem(Some(expected), Some(expected), format!("events {expected} to {} are missing", seq - 1));
            prev = None;
        }
        expected = seq + 1;
        let record: AuditRecord = match serde_json::from_slice(&v) {
            Ok(r) => r,
            Err(_) => {
                report.problem(Some(seq), Some(seq), "the event does not read".into());
                prev = None;
                continue;
            }
        };
        if record.seq != seq {
            report.problem(Some(seq), Some(seq), format!("the event says it is seq {}", record.seq));
        }
        let (hash, sm3) = record.digests()?;
        if hash != record.hash || sm3 != record.sm3 {
            report.problem(Some(seq), Some(seq), "the event does not match its hash".into());
        }
        if prev.as_ref().is_some_and(|p| *p != record.prev_hash) {
            report.problem(
                Some(seq),
                Some(seq.saturating_sub(1).max(1)),
                format!("prev_hash does not match the hash of event {}", seq - 1),
            );
        }
        if let Some(c) = checkpoints.get(&seq) {
            if c.hash == hash && hash == record.hash {
                report.signed_through = report.signed_through.max(seq);
            } else {
                report.problem(Some(seq), Some(seq), "the signed checkpoint does not match the event".into());
            }
        }
        report.head = Some((seq, record.hash.clone()));
        prev = Some(record.hash);
    }
    let last = expected - 1;
    for seq in checkpoints.range(last + 1..).map(|(s, _)| *s) {
        report.problem(
            Some(seq),
            Some(last + 1),
            format!("a checkpoint names event {seq}, but the chain ends at {last}: events were removed"),
        );
    }
    Ok(report)
}

/// The checkpoints whose signature holds, by sequence number; the others
/// are reported.
fn read_checkpoints(
    tree: &sled::Tree,
    trust: &dyn Fn(&[u8]) -> Result<(), String>,
    report: &mut AuditReport,
) -> Result<BTreeMap<u64, Checkpoint>, AuditError> {
    let mut good = BTreeMap::new();
    for item in keys::scan(tree, CHECKPOINT_PREFIX) {
        let (k, v) = item?;
        report.checkpoints += 1;
        let Some(seq) = keys::seq_of(CHECKPOINT_PREFIX, &k) else {
            report.problem(None, None, format!("a key of {} bytes in the checkpoint range", k.len()));
            continue;
        };
        let checkpoint: Checkpoint = match serde_json::from_slice(&v) {
            Ok(c) => c,
            Err(_) => {
                report.problem(Some(seq), Some(seq), "the checkpoint does not read".into());
                continue;
            }
        };
        if checkpoint.seq != seq {
            report.problem(Some(seq), Some(seq), format!("the checkpoint says it is seq {}", checkpoint.seq));
            continue;
        }
        match checkpoint.verify(trust) {
            Ok(()) => {
                good.insert(seq, checkpoint);
            }
            Err(fault) => report.problem(Some(seq), Some(seq), format!("checkpoint: {fault}")),
        }
    }
    Ok(good)
}

/// What [`export`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub events: u64,
    pub checkpoints: u64,
}

/// Writes every event and checkpoint as one JSON object a line, in
/// sequence order, each checkpoint after the event it signs. Lines are
/// the stored records (members in name order); `kind` tells them apart.
pub fn export(store: &Store, out: &mut impl Write) -> Result<ExportSummary, AuditError> {
    let tree = store.audit_tree();
    let mut summary = ExportSummary::default();
    let mut checkpoints = keys::scan(tree, CHECKPOINT_PREFIX).peekable();
    for item in keys::scan(tree, EVENT_PREFIX) {
        let (k, v) = item?;
        let seq = keys::seq_of(EVENT_PREFIX, &k).ok_or(AuditError::Corrupt { seq: None })?;
        write_checkpoints(&mut checkpoints, seq.saturating_sub(1), out, &mut summary)?;
        write_line(out, Some(seq), &v)?;
        summary.events += 1;
        write_checkpoints(&mut checkpoints, seq, out, &mut summary)?;
    }
    write_checkpoints(&mut checkpoints, u64::MAX, out, &mut summary)?;
    out.flush().map_err(|e| AuditError::Output(e.to_string()))?;
    Ok(summary)
}

/// Writes the checkpoints up to and including `through`.
fn write_checkpoints(
    checkpoints: &mut Peekable<impl Iterator<Item = Result<(sled::IVec, sled::IVec), AuditError>>>,
    through: u64,
    out: &mut impl Write,
    summary: &mut ExportSummary,
) -> Result<(), AuditError> {
    let due = |r: &Result<(sled::IVec, sled::IVec), AuditError>| match r {
        Ok((k, _)) => keys::seq_of(CHECKPOINT_PREFIX, k).is_none_or(|s| s <= through),
        Err(_) => true,
    };
    while let Some(next) = checkpoints.next_if(due) {
        let (k, v) = next?;
        write_line(out, keys::seq_of(CHECKPOINT_PREFIX, &k), &v)?;
        summary.checkpoints += 1;
    }
    Ok(())
}

/// One stored value as a JSON line; a value that is not JSON stops the
/// export (`audit verify` says more).
fn write_line(out: &mut impl Write, seq: Option<u64>, stored: &[u8]) -> Result<(), AuditError> {
    let value: serde_json::Value = serde_json::from_slice(stored).map_err(|_| AuditError::Corrupt { seq })?;
    let mut line = serde_json::to_vec(&value).map_err(|e| AuditError::Encoding(e.to_string()))?;
    line.push(b'\n');
    out.write_all(&line).map_err(|e| AuditError::Output(e.to_string()))
}
