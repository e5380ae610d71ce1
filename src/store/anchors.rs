//! The last trust list of each domain that passed verification, kept so a
//! node that restarts while the list's source is unreachable can still
//! start from anchors it once accepted (and re-verifies them then: the
//! cache is a copy, not a trust decision).

use super::{Store, StoreError};
use crate::model::TrustDomainId;
use time::OffsetDateTime;

fn crl_key(domain: TrustDomainId, url: &str) -> String {
    format!("{}@crl@{url}", domain.as_str())
}

fn confirmed_key(domain: TrustDomainId) -> String {
    format!("{}@confirmed", domain.as_str())
}

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

    /// Records that the domain's source vouched for the cached list at `at`
    /// (staleness after a restart counts from here).
    pub fn confirm(&self, domain: TrustDomainId, at: OffsetDateTime) -> Result<(), StoreError> {
        self.store.anchors_tree().insert(confirmed_key(domain), &at.unix_timestamp().to_be_bytes())?;
        Ok(())
    }

    /// When the domain's source last vouched for the cached list.
    pub fn confirmed_at(&self, domain: TrustDomainId) -> Result<Option<OffsetDateTime>, StoreError> {
        let Some(v) = self.store.anchors_tree().get(confirmed_key(domain))? else { return Ok(None) };
        let secs = <[u8; 8]>::try_from(v.as_ref()).map(i64::from_be_bytes).ok();
        Ok(secs.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()))
    }

    /// Drops the domain's cached list, so that the next start takes only
    /// what the source serves (after a list signer is distrusted, say).
    pub fn forget(&self, domain: TrustDomainId) -> Result<(), StoreError> {
        self.store.anchors_tree().remove(domain.as_str())?;
        self.store.anchors_tree().remove(confirmed_key(domain))?;
        self.store.flush()
    }

    /// Keeps the CRL last fetched from `url` for the domain.
    pub fn save_crl(&self, domain: TrustDomainId, url: &str, der: &[u8]) -> Result<(), StoreError> {
        self.store.anchors_tree().insert(crl_key(domain, url), der)?;
        Ok(())
    }

    /// The CRL last fetched from `url` for the domain.
    pub fn load_crl(&self, domain: TrustDomainId, url: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.store.anchors_tree().get(crl_key(domain, url))?.map(|v| v.to_vec()))
    }

    /// The domain's last saved list.
    pub fn load_list(&self, domain: TrustDomainId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.store.anchors_tree().get(domain.as_str())?.map(|v| v.to_vec()))
    }
}
