//! Replay protection: each assertion `jti` is consumed once.

use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;

/// Why a `jti` could not be consumed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("assertion already used")]
    Replayed,
    /// The store could not answer; the request fails closed.
    #[error("replay store unavailable: {0}")]
    Unavailable(String),
}

/// Remembers consumed assertion ids. The core defines it; the edge
/// implements it over sled, tests and the offline CLI over memory.
pub trait ReplayGuard: Send + Sync {
    /// Consumes `key` (a digest of `iss` and `jti`), remembering it until
    /// `remember_until`. `Err(Replayed)` when it was consumed before.
    fn consume(&self, key: [u8; 32], remember_until: OffsetDateTime, now: OffsetDateTime) -> Result<(), ReplayError>;
}

/// An in-memory, bounded [`ReplayGuard`]. When full of unexpired ids it
/// refuses new ones (fail closed) rather than forgetting old ones.
#[derive(Debug)]
pub struct MemoryReplayGuard {
    capacity: usize,
    seen: Mutex<HashMap<[u8; 32], OffsetDateTime>>,
}

impl MemoryReplayGuard {
    pub fn new(capacity: usize) -> Self {
        MemoryReplayGuard { capacity, seen: Mutex::new(HashMap::new()) }
    }
}

impl Default for MemoryReplayGuard {
    fn default() -> Self {
        MemoryReplayGuard::new(100_000)
    }
}

impl ReplayGuard for MemoryReplayGuard {
    fn consume(&self, key: [u8; 32], remember_until: OffsetDateTime, now: OffsetDateTime) -> Result<(), ReplayError> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.get(&key).is_some_and(|until| *until > now) {
            return Err(ReplayError::Replayed);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, until| *until > now);
            if seen.len() >= self.capacity {
                return Err(ReplayError::Unavailable("replay memory full".into()));
            }
        }
        seen.insert(key, remember_until);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn consumes_once_and_forgets_after_expiry() {
        let g = MemoryReplayGuard::new(2);
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let until = now + Duration::minutes(5);
        assert_eq!(g.consume([1; 32], until, now), Ok(()));
        assert_eq!(g.consume([1; 32], until, now), Err(ReplayError::Replayed));
        assert_eq!(g.consume([2; 32], until, now), Ok(()));
        assert!(matches!(g.consume([3; 32], until, now), Err(ReplayError::Unavailable(_))));
        let later = until + Duration::seconds(1);
        assert_eq!(g.consume([3; 32], later + Duration::minutes(5), later), Ok(()));
        assert_eq!(g.consume([1; 32], later + Duration::minutes(5), later), Ok(()));
    }
}
