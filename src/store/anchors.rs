//! The last trust list of each domain that passed verification, kept so a
//! node that restarts while the list's source is unreachable can still
//! start from anchors it once accepted (and re-verifies them then: the
//! cache is a copy, not a trust decision).

use super::{Store, StoreError};
use crate::model::TrustDomainId;

/// The `anchors` tree.
#[derive(Debug, Clone)]
pub struct AnchorCache {
    store: Store,
}

impl AnchorCache {
    pub(super) fn new(store: Store) -> Self {
        AnchorCache { store }
    }

    /// Replaces the domain's list with `jws` (as fetched) and flushes:
    /// lists change rarely and must survive a crash right after.
    pub fn save_list(&self, domain: TrustDomainId, jws: &[u8]) -> Result<(), StoreError> {
        self.store.anchors_tree().insert(domain.as_str(), jws)?;
        self.store.flush()
    }

    /// The domain's last saved list.
    pub fn load_list(&self, domain: TrustDomainId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.store.anchors_tree().get(domain.as_str())?.map(|v| v.to_vec()))
    }
}
