//! Safe retries: the same partner repeating a non-empty `request_id` with the
//! same assertion gets the first response again, from a bounded in-memory
//! cache that is never persisted (a licence is payload).

use crate::model::PartnerId;
use crate::service::TranslateOutput;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use time::OffsetDateTime;

/// Most responses kept for retries.
pub const RETRY_CACHE_CAPACITY: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    partner: PartnerId,
    request_id: String,
}

struct Entry {
    assertion_sha256: [u8; 32],
    until: OffsetDateTime,
    response: TranslateOutput,
}

/// A bounded map of recent responses, oldest evicted first.
#[derive(Default)]
pub struct RetryCache {
    inner: Mutex<(HashMap<Key, Entry>, VecDeque<Key>)>,
}

impl RetryCache {
    /// The first response to this partner's `request_id` for the same
    /// assertion, while the licence it carries is valid.
    pub fn get(
        &self,
        partner: &PartnerId,
        request_id: &str,
        assertion_sha256: &[u8; 32],
        now: OffsetDateTime,
    ) -> Option<TranslateOutput> {
        if request_id.is_empty() {
            return None;
        }
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let key = Key { partner: partner.clone(), request_id: request_id.to_owned() };
        guard
            .0
            .get(&key)
            .filter(|e| e.assertion_sha256 == *assertion_sha256 && now < e.until)
            .map(|e| e.response.clone())
    }

    pub fn put(
        &self,
        partner: &PartnerId,
        request_id: &str,
        assertion_sha256: [u8; 32],
        until: OffsetDateTime,
        response: TranslateOutput,
    ) {
        if request_id.is_empty() {
            return;
        }
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *guard;
        let key = Key { partner: partner.clone(), request_id: request_id.to_owned() };
        if map.insert(key.clone(), Entry { assertion_sha256, until, response }).is_none() {
            order.push_back(key);
        }
        while order.len() > RETRY_CACHE_CAPACITY {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }
}
