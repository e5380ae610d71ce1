//! Keys of the `audit` tree: a one-byte prefix and the sequence number
//! big-endian, so events and checkpoints each iterate in order.

use super::AuditError;

pub(super) const EVENT_PREFIX: u8 = b'e';
pub(super) const CHECKPOINT_PREFIX: u8 = b'c';

fn key(prefix: u8, seq: u64) -> [u8; 9] {
    let mut k = [prefix; 9];
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

pub(super) fn event(seq: u64) -> [u8; 9] {
    key(EVENT_PREFIX, seq)
}

pub(super) fn checkpoint(seq: u64) -> [u8; 9] {
    key(CHECKPOINT_PREFIX, seq)
}

/// The sequence number of a key under `prefix`; `None` for a key of
/// another shape (which verification reports).
pub(super) fn seq_of(prefix: u8, key: &[u8]) -> Option<u64> {
    match key {
        [p, rest @ ..] if *p == prefix => Some(u64::from_be_bytes(rest.try_into().ok()?)),
        _ => None,
    }
}

/// Every `(key, value)` under `prefix`, in key order.
pub(super) fn scan(
    tree: &sled::Tree,
    prefix: u8,
) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec), AuditError>> + use<> {
    tree.scan_prefix([prefix]).map(|r| r.map_err(AuditError::from))
}

/// The last entry under `prefix` with its sequence number.
pub(super) fn last(tree: &sled::Tree, prefix: u8) -> Result<Option<(u64, sled::IVec)>, AuditError> {
    match tree.scan_prefix([prefix]).next_back().transpose()? {
        None => Ok(None),
        Some((k, v)) => {
            let seq = seq_of(prefix, &k).ok_or(AuditError::Corrupt { seq: None })?;
            Ok(Some((seq, v)))
        }
    }
}
