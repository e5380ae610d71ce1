//! Trust anchors per domain, chain validation at an explicit `now`, CRL
//! checks, and the cache of validated chains.
//!
//! Chains are validated with OpenSSL's X509 store whose verification time
//! is the pipeline's `now`; entries are trust anchors even when they are not
//! self-signed (partial chains). CRLs come from the trust list; a CRL counts
//! only if its signature verifies with the issuer's key and `now` lies in
//! `[thisUpdate, nextUpdate)`. A validated chain is cached by the digest of
//! the whole `x5c` until the earliest of any chain certificate's
//! `notAfter`, the anchor entry's `not_after` and the used CRLs'
//! `nextUpdate`; a new list means a new `Anchors`, hence an empty cache.
//!
//! The same cache tells intake which chains it need not decode again
//! ([`Anchors::decoded`]): a cached chain's certificates were decoded by
//! [`decode_certificate`], intake's own rule, when it was validated.

use super::TrustError;
use super::list::{Role, TrustEntry, TrustList};
use crate::intake::{DecodedChains, LeafKey, decode_certificate};
use crate::model::TrustDomainId;
use crate::signing::{SM2_DEFAULT_ID, openssl_sm2};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::pkey::{PKey, Public};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{CrlStatus, X509, X509KeyUsage, X509Ref, X509StoreContext};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use time::OffsetDateTime;

/// Most chains kept in the validated-chain cache; past it the cache is
/// cleared (chains are cheap to re-validate, memory is not unbounded).
pub const CHAIN_CACHE_CAPACITY: usize = 4096;
/// Longest accepted chain, leaf and anchor included.
pub const MAX_CHAIN: usize = 4;

/// One trust domain's accepted list and its rules.
#[derive(Debug, Clone)]
pub struct DomainTrust {
    pub list: TrustList,
    /// A missing or expired CRL fails closed (`REVOCATION_UNKNOWN`).
    pub require_revocation: bool,
    /// The domain is unusable from this instant: the list's `expires`, or
    /// earlier when the domain's staleness budget runs out first.
    pub stale_at: OffsetDateTime,
}

/// What a successful chain validation yields.
#[derive(Debug, Clone)]
pub struct ValidChain {
    pub entry_id: String,
    pub issuers: Vec<String>,
    pub leaf_key: PKey<Public>,
    /// The leaf key's type, for intake's check against `alg`.
    pub leaf_type: LeafKey,
    valid_from: OffsetDateTime,
    valid_until: OffsetDateTime,
}

/// The trust anchors of every configured domain.
#[derive(Debug, Default)]
pub struct Anchors {
    domains: BTreeMap<TrustDomainId, DomainTrust>,
    chains: Mutex<HashMap<[u8; 32], ValidChain>>,
}

impl Anchors {
    pub fn new(domains: impl IntoIterator<Item = DomainTrust>) -> Anchors {
        Anchors {
            domains: domains.into_iter().map(|d| (d.list.domain, d)).collect(),
            chains: Mutex::new(HashMap::new()),
        }
    }

    pub fn domain(&self, id: TrustDomainId) -> Option<&DomainTrust> {
        self.domains.get(&id)
    }

    /// The domain's trust if it is loaded and fresh at `now`; never
    /// accept-all when nothing is loaded.
    pub fn usable(&self, id: TrustDomainId, now: OffsetDateTime) -> Result<&DomainTrust, TrustError> {
        match self.domains.get(&id) {
            Some(d) if now < d.stale_at && d.list.is_current(now) => Ok(d),
            Some(_) => Err(TrustError::Stale(id)),
            None => Err(TrustError::Stale(id)),
        }
    }

    /// Validates `x5c` (DER, leaf first) to an entry of `role` in `domain`.
    pub fn validate_chain(
        &self,
        domain: TrustDomainId,
        role: Role,
        x5c: &[Vec<u8>],
        now: OffsetDateTime,
    ) -> Result<ValidChain, TrustError> {
        let dt = self.usable(domain, now)?;
        let key = chain_key(role, x5c);
        if let Some(hit) = self.cached(&key, now) {
            return Ok(hit);
        }
        let valid = validate(dt, role, x5c, now)?;
        let mut cache = self.chains.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CHAIN_CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(key, valid.clone());
        Ok(valid)
    }

    fn cached(&self, key: &[u8; 32], now: OffsetDateTime) -> Option<ValidChain> {
        let cache = self.chains.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(key).filter(|c| c.valid_from <= now && now < c.valid_until).cloned()
    }

    /// The chains of `role` in the validated-chain cache, as intake asks
    /// about them. Validity in time does not matter to that question: the
    /// certificates decoded once, and decode the same at any time.
    pub fn decoded(&self, role: Role) -> CachedChains<'_> {
        CachedChains { anchors: self, role }
    }

    /// Number of chains currently cached (for metrics and tests).
    pub fn cached_chains(&self) -> usize {
        self.chains.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// The chains of one role in the validated-chain cache ([`Anchors::decoded`]).
#[derive(Debug, Clone, Copy)]
pub struct CachedChains<'a> {
    anchors: &'a Anchors,
    role: Role,
}

impl DecodedChains for CachedChains<'_> {
    fn leaf_key(&self, x5c: &[Vec<u8>]) -> Option<LeafKey> {
        let key = chain_key(self.role, x5c);
        let cache = self.anchors.chains.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(&key).map(|c| c.leaf_type)
    }
}

fn chain_key(role: Role, x5c: &[Vec<u8>]) -> [u8; 32] {
    let mut h = openssl::sha::Sha256::new();
    h.update(&[role as u8]);
    for der in x5c {
        h.update(&(der.len() as u64).to_be_bytes());
        h.update(der);
    }
    h.finish()
}

fn untrusted(detail: impl Into<String>) -> TrustError {
    TrustError::UntrustedChain(detail.into())
}

fn validate(dt: &DomainTrust, role: Role, x5c: &[Vec<u8>], now: OffsetDateTime) -> Result<ValidChain, TrustError> {
    if x5c.is_empty() || x5c.len() > MAX_CHAIN {
        return Err(untrusted("chain length out of bounds"));
    }
    let certs: Vec<X509> = x5c
        .iter()
        .map(|d| decode_certificate(d))
        .collect::<Result<_, _>>()
        .map_err(|_| untrusted("certificate does not parse"))?;
    let sm2 = role == Role::BridgeSignerCa;
    let anchors: Vec<&TrustEntry> =
        dt.list.entries.iter().filter(|e| e.role == role && e.not_before <= now && now < e.not_after).collect();
    if anchors.is_empty() {
        return Err(untrusted("no anchor of this role in the trust list"));
    }
    let mut store = X509StoreBuilder::new().map_err(internal)?;
    for e in &anchors {
        // SM2 anchors got their distinguishing ID when the list was read.
        store.add_cert(e.certificate.clone()).map_err(internal)?;
    }
    let mut param = X509VerifyParam::new().map_err(internal)?;
    param.set_time(now.unix_timestamp() as _);
    param.set_depth(MAX_CHAIN as i32);
    param.set_flags(X509VerifyFlags::PARTIAL_CHAIN | X509VerifyFlags::X509_STRICT).map_err(internal)?;
    store.set_param(&param).map_err(internal)?;
    let store = store.build();
    let mut untrusted_stack = Stack::new().map_err(internal)?;
    for c in &certs[1..] {
        if sm2 {
            openssl_sm2::set_distinguishing_id(c, SM2_DEFAULT_ID).map_err(|e| untrusted(e.to_string()))?;
        }
        untrusted_stack.push(c.clone()).map_err(internal)?;
    }
    let leaf = &certs[0];
    if sm2 {
        openssl_sm2::set_distinguishing_id(leaf, SM2_DEFAULT_ID).map_err(|e| untrusted(e.to_string()))?;
    }
    let mut ctx = X509StoreContext::new().map_err(internal)?;
    let outcome: Result<Vec<X509>, String> = ctx
        .init(&store, leaf, &untrusted_stack, |c| {
            if c.verify_cert()? {
                Ok(Ok(c.chain().map(|s| s.iter().map(ToOwned::to_owned).collect()).unwrap_or_default()))
            } else {
                Ok(Err(c.error().error_string().to_owned()))
            }
        })
        .map_err(internal)?;
    let built = outcome.map_err(untrusted)?;
    let anchor_cert = built.last().ok_or_else(|| untrusted("empty chain"))?;
    let anchor_der = anchor_cert.to_der().map_err(internal)?;
    let entry = anchors
        .iter()
        .find(|e| e.certificate.to_der().is_ok_and(|d| d == anchor_der))
        .ok_or_else(|| untrusted("chain does not end in a listed anchor"))?;

    check_leaf(leaf)?;

    let mut valid_until = entry.not_after;
    let mut valid_from = entry.not_before;
    for c in &built {
        valid_until = valid_until.min(asn1_to_time(c.not_after())?);
        valid_from = valid_from.max(asn1_to_time(c.not_before())?);
    }
    for pair in built.windows(2) {
        if let Some(next_update) = check_revocation(dt, &pair[0], &pair[1], now)? {
            valid_until = valid_until.min(next_update);
        }
    }
    let leaf_key = leaf.public_key().map_err(internal)?;
    Ok(ValidChain {
        entry_id: entry.id.clone(),
        issuers: entry.issuers.clone(),
        leaf_key,
        leaf_type: LeafKey::of(leaf),
        valid_from,
        valid_until,
    })
}

/// The leaf must be an end-entity certificate allowed to sign.
fn check_leaf(leaf: &X509Ref) -> Result<(), TrustError> {
    let der = leaf.to_der().map_err(internal)?;
    let (_, parsed) =
        x509_parser::parse_x509_certificate(&der).map_err(|_| untrusted("leaf certificate does not parse"))?;
    let is_ca = parsed.basic_constraints().ok().flatten().is_some_and(|bc| bc.value.ca);
    if is_ca {
        return Err(untrusted("a CA certificate is used as the signing leaf"));
    }
    match leaf.key_usage() {
        Some(ku) if ku.contains(X509KeyUsage::DIGITAL_SIGNATURE) => Ok(()),
        Some(_) => Err(untrusted("leaf key usage does not allow digital signatures")),
        None => Err(untrusted("leaf has no key usage extension")),
    }
}

/// Checks `cert` against the CRLs of the list issued by `issuer`. Returns
/// the `nextUpdate` of the CRL used, if any.
fn check_revocation(
    dt: &DomainTrust,
    cert: &X509,
    issuer: &X509Ref,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, TrustError> {
    let issuer_key = issuer.public_key().map_err(internal)?;
    let issuer_name = issuer.subject_name().to_der().map_err(internal)?;
    let mut used: Option<OffsetDateTime> = None;
    for crl in dt.list.crls.iter().map(|c| &c.0) {
        if crl.issuer_name().to_der().ok().as_deref() != Some(issuer_name.as_slice()) {
            continue;
        }
        // A CRL whose signature does not verify is not trusted at all.
        if !crl.verify(&issuer_key).unwrap_or(false) {
            continue;
        }
        let this_update = asn1_to_time(crl.last_update())?;
        let Some(next_update) = crl.next_update().map(asn1_to_time).transpose()? else { continue };
        if now < this_update || now >= next_update {
            continue;
        }
        if let CrlStatus::Revoked(_) | CrlStatus::RemoveFromCrl(_) = crl.get_by_cert(cert) {
            // RemoveFromCrl only appears in delta CRLs, which this profile
            // does not use: treat any listing as revoked.
            return Err(TrustError::CertRevoked);
        }
        used = Some(used.map_or(next_update, |u: OffsetDateTime| u.min(next_update)));
    }
    match used {
        Some(t) => Ok(Some(t)),
        None if dt.require_revocation => Err(TrustError::RevocationUnknown),
        None => Ok(None),
    }
}

fn asn1_to_time(t: &Asn1TimeRef) -> Result<OffsetDateTime, TrustError> {
    let epoch = Asn1Time::from_unix(0).map_err(internal)?;
    let d = epoch.diff(t).map_err(internal)?;
    let secs = i64::from(d.days) * 86_400 + i64::from(d.secs);
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| untrusted("certificate time out of range"))
}

fn internal(e: openssl::error::ErrorStack) -> TrustError {
    TrustError::Internal(e.to_string())
}
