//! The node's trust lists (DESIGN §3): each domain's list fetched from its
//! source on a schedule, accepted only through [`list::accept`] (pinned
//! signer, no rollback, not expired), kept in sled, and published as a new
//! [`Anchors`] — which also drops the validated-chain cache of the old one.
//!
//! - **Schedule.** After a success the next fetch is at the list's
//!   `next_update`, but no sooner than [`REFRESH_FLOOR`] and no later than
//!   the domain's `refresh_seconds`. After a failure: exponential back-off
//!   from the floor up to `refresh_seconds`, jittered (50–100 %) so that a
//!   fleet of nodes does not retry in step.
//! - **Start-up and outage.** At start the source is tried first; if it is
//!   down, the cached list is used (re-verified against today's pins),
//!   with its staleness counted from when it was last confirmed by the
//!   source. Anti-rollback holds across restarts: the cached list is the
//!   floor for what the source may send.
//! - **Fetched CRLs.** Where configured, CRLs are fetched beside the list
//!   (from `crl_urls`, and from the distribution points of the list's
//!   entry certificates), cached in sled, and added to the CRLs the list
//!   carries; each counts only if its issuer's key verifies it and it is
//!   within its `thisUpdate`–`nextUpdate`, and any CRL listing a
//!   certificate revokes it. Distribution points of the *leaf*
//!   certificates in assertions are never followed: those URLs come from
//!   the caller, and fetching them would let any caller make the bridge
//!   connect where it likes. At most [`MAX_CRL_SOURCES`] per domain.
//! - **Staleness.** A domain is usable until the list's `expires` or
//!   `max_staleness` after the source last confirmed it, whichever comes
//!   first; then it fails closed (`TRUST_STALE`, not ready). With nothing
//!   loaded the domain is absent, which also fails closed.

use super::fetch::{FetchError, Fetcher};
use crate::config::{Config, TrustDomainConfig};
use crate::model::TrustDomainId;
use crate::store::AnchorCache;
use crate::trust::list::{self, Crl, TrustList};
use crate::trust::{Anchors, DomainTrust};
use openssl::x509::X509Crl;
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};

/// Most CRL sources fetched per domain.
pub const MAX_CRL_SOURCES: usize = 16;

/// Never fetch more often than this, whatever `next_update` says.
pub const REFRESH_FLOOR: Duration = Duration::seconds(1);

/// A list the node holds, and when its source last vouched for it.
#[derive(Debug, Clone)]
struct Held {
    list: TrustList,
    confirmed_at: OffsetDateTime,
}

/// One domain's refresh state.
struct Domain {
    config: TrustDomainConfig,
    fetcher: Result<Fetcher, String>,
    held: Option<Held>,
    last_error: Option<String>,
    failures: u32,
    next_fetch: OffsetDateTime,
    /// CRLs fetched beside the list, by source.
    fetched_crls: std::collections::BTreeMap<String, Crl>,
    crl_errors: Vec<String>,
}

/// What one domain looks like to operators.
#[derive(Debug, Clone)]
pub struct DomainReport {
    pub domain: TrustDomainId,
    pub last_error: Option<String>,
    pub next_fetch: OffsetDateTime,
    pub confirmed_at: Option<OffsetDateTime>,
}

/// Every configured domain's trust lists.
pub struct TrustLists {
    domains: Vec<Domain>,
    cache: AnchorCache,
}

impl Domain {
    fn stale_at(&self, held: &Held) -> OffsetDateTime {
        self.config.max_staleness.map_or(held.list.expires, |m| held.list.expires.min(held.confirmed_at + m))
    }

    fn refresh_interval(&self) -> Duration {
        self.config.refresh.max(REFRESH_FLOOR)
    }

    /// One fetch-and-accept. `Ok(true)` when the held list changed.
    async fn fetch(&mut self, cache: &AnchorCache, now: OffsetDateTime) -> Result<bool, String> {
        let fetcher = self.fetcher.as_ref().map_err(Clone::clone)?;
        let jws = fetcher.fetch().await.map_err(|e: FetchError| e.to_string())?;
        let previous = self.held.as_ref().map(|h| &h.list);
        let list = list::accept(&jws, self.config.domain, &self.config.pins, previous, now)
            .map_err(|e| format!("list refused: {e}"))?;
        let changed = previous.is_none_or(|p| p.sequence != list.sequence || p.content_sha256 != list.content_sha256);
        if changed {
            cache.save_list(self.config.domain, &jws).map_err(|e| format!("caching the list: {e}"))?;
        }
        // Confirmation times are best effort: losing one only makes the
        // domain go stale earlier after a restart.
        let _ = cache.confirm(self.config.domain, now);
        self.held = Some(Held { list, confirmed_at: now });
        Ok(changed)
    }

    /// Where this domain's extra CRLs come from now.
    fn crl_sources(&self) -> Vec<String> {
        let mut sources = self.config.crl_urls.clone();
        if self.config.crl_distribution_points {
            for entry in self.held.iter().flat_map(|h| &h.list.entries) {
                for point in entry.certificate.crl_distribution_points().iter().flat_map(|s| s.iter()) {
                    let names = point.distpoint().and_then(|d| d.fullname());
                    for uri in names.iter().flat_map(|n| n.iter()).filter_map(|g| g.uri()) {
                        if (uri.starts_with("http://") || uri.starts_with("https://"))
                            && !sources.iter().any(|s| s == uri)
                        {
                            sources.push(uri.to_owned());
                        }
                    }
                }
            }
        }
        sources.truncate(MAX_CRL_SOURCES);
        sources
    }

    /// Fetches every extra CRL; a failed fetch keeps the one held (its own
    /// `nextUpdate` decides how long it counts).
    async fn fetch_crls(&mut self, cache: &AnchorCache) {
        self.crl_errors.clear();
        let domain = self.config.domain;
        for source in self.crl_sources() {
            let got = async {
                let fetcher =
                    Fetcher::for_crl(&source, self.config.https_roots.as_deref()).map_err(|e| e.to_string())?;
                let bytes = fetcher.fetch().await.map_err(|e| e.to_string())?;
                let crl = parse_crl(&bytes)?;
                let _ = cache.save_crl(domain, &source, &bytes);
                Ok::<_, String>(crl)
            }
            .await;
            match got {
                Ok(crl) => {
                    self.fetched_crls.insert(source, crl);
                }
                Err(e) => self.crl_errors.push(format!("CRL {source}: {e}")),
            }
        }
    }

    fn load_cached_crls(&mut self, cache: &AnchorCache) {
        for source in self.crl_sources() {
            if let Some(crl) =
                cache.load_crl(self.config.domain, &source).ok().flatten().and_then(|b| parse_crl(&b).ok())
            {
                self.fetched_crls.insert(source, crl);
            }
        }
    }

    fn schedule_after(&mut self, outcome: &Result<bool, String>, now: OffsetDateTime) {
        match outcome {
            Ok(_) => {
                self.failures = 0;
                self.last_error = None;
                let until_next = self.held.as_ref().map_or(REFRESH_FLOOR, |h| h.list.next_update - now);
                self.next_fetch = now + until_next.clamp(REFRESH_FLOOR, self.refresh_interval());
            }
            Err(e) => {
                self.failures = self.failures.saturating_add(1);
                self.last_error = Some(e.clone());
                let backoff = REFRESH_FLOOR * 2_i32.saturating_pow(self.failures.min(16) - 1);
                let backoff = backoff.min(self.refresh_interval());
                self.next_fetch = now + jitter(backoff);
            }
        }
    }

    fn load_cached(&mut self, cache: &AnchorCache) -> Result<(), String> {
        let domain = self.config.domain;
        let jws = cache.load_list(domain).map_err(|e| e.to_string())?.ok_or("no cached list")?;
        let list = list::verify(&jws, domain, &self.config.pins).map_err(|e| format!("cached list refused: {e}"))?;
        let confirmed_at = cache.confirmed_at(domain).ok().flatten().unwrap_or(list.issued_at);
        self.held = Some(Held { list, confirmed_at });
        Ok(())
    }
}

/// A CRL as DER or PEM.
fn parse_crl(bytes: &[u8]) -> Result<Crl, String> {
    X509Crl::from_der(bytes)
        .or_else(|_| X509Crl::from_pem(bytes))
        .map(|c| Crl(std::sync::Arc::new(c)))
        .map_err(|_| "not a CRL".to_owned())
}

/// 50–100 % of `d`.
fn jitter(d: Duration) -> Duration {
    let mut b = [0u8; 2];
    let _ = openssl::rand::rand_bytes(&mut b);
    let frac = 0.5 + f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX) / 2.0;
    Duration::seconds_f64(d.as_seconds_f64() * frac)
}

impl TrustLists {
    /// Loads every domain: its source first, the cache when the source
    /// fails. A domain with neither stays absent (fails closed).
    pub async fn start(config: &Config, cache: AnchorCache, now: OffsetDateTime) -> TrustLists {
        let mut domains: Vec<Domain> = config
            .trust
            .iter()
            .map(|t| Domain {
                fetcher: Fetcher::new(t).map_err(|e| e.to_string()),
                config: t.clone(),
                held: None,
                last_error: None,
                failures: 0,
                next_fetch: now,
                fetched_crls: Default::default(),
                crl_errors: Vec::new(),
            })
            .collect();
        for d in &mut domains {
            // The cached list is the anti-rollback floor for the source.
            let cached = d.load_cached(&cache);
            let outcome = d.fetch(&cache, now).await;
            d.load_cached_crls(&cache);
            d.fetch_crls(&cache).await;
            d.schedule_after(&outcome, now);
            if let (Err(e), Err(c)) = (&outcome, &cached) {
                d.last_error = Some(format!("{e}; {c}"));
            }
        }
        TrustLists { domains, cache }
    }

    /// Fetches every domain whose time has come (all of them when `force`).
    /// `true` when any held list changed.
    pub async fn refresh(&mut self, now: OffsetDateTime, force: bool) -> bool {
        let mut changed = false;
        for d in &mut self.domains {
            if force || d.next_fetch <= now {
                let outcome = d.fetch(&self.cache, now).await;
                d.fetch_crls(&self.cache).await;
                changed |= matches!(outcome, Ok(true));
                d.schedule_after(&outcome, now);
            }
        }
        changed
    }

    /// The anchors as held now: what requests are checked against.
    pub fn anchors(&self) -> Anchors {
        Anchors::new(self.domains.iter().filter_map(|d| {
            d.held.as_ref().map(|h| DomainTrust {
                list: TrustList {
                    crls: h.list.crls.iter().chain(d.fetched_crls.values()).cloned().collect(),
                    ..h.list.clone()
                },
                require_revocation: d.config.require_revocation,
                stale_at: d.stale_at(h),
            })
        }))
    }

    /// When something next needs doing: a fetch, or a domain going stale
    /// (the client-certificate trust is rebuilt then).
    pub fn next_wake(&self, now: OffsetDateTime) -> StdDuration {
        let next = self
            .domains
            .iter()
            .flat_map(|d| {
                let stale = d.held.as_ref().map(|h| d.stale_at(h)).filter(|s| *s > now);
                [Some(d.next_fetch), stale]
            })
            .flatten()
            .min()
            .unwrap_or(now + Duration::minutes(1));
        StdDuration::try_from(next - now).unwrap_or(StdDuration::ZERO)
    }

    pub fn reports(&self) -> Vec<DomainReport> {
        self.domains
            .iter()
            .map(|d| DomainReport {
                domain: d.config.domain,
                last_error: match (&d.last_error, d.crl_errors.is_empty()) {
                    (e, true) => e.clone(),
                    (None, false) => Some(d.crl_errors.join("; ")),
                    (Some(e), false) => Some(format!("{e}; {}", d.crl_errors.join("; "))),
                },
                next_fetch: d.next_fetch,
                confirmed_at: d.held.as_ref().map(|h| h.confirmed_at),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ListSource;
    use crate::trust::list::{Role, TrustEntry};
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::{X509, X509Builder, X509NameBuilder};

    /// A self-signed CA whose distribution-point extension names `uris`.
    fn ca_with_distribution_points(uris: &[&str]) -> X509 {
        let key =
            PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap())
                .unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "CDP test CA").unwrap();
        let name = name.build();
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
        if !uris.is_empty() {
            let value = uris.iter().map(|u| format!("URI:{u}")).collect::<Vec<_>>().join(",");
            #[allow(deprecated)]
            let ext = openssl::x509::X509Extension::new_nid(None, None, Nid::CRL_DISTRIBUTION_POINTS, &value).unwrap();
            b.append_extension(ext).unwrap();
        }
        b.sign(&key, MessageDigest::sha256()).unwrap();
        b.build()
    }

    fn domain(crl_urls: Vec<String>, follow: bool, entries: Vec<X509>) -> Domain {
        let now = OffsetDateTime::now_utc();
        let config = TrustDomainConfig {
            domain: TrustDomainId::Mo,
            source: ListSource::File("/nonexistent".into()),
            pins: Vec::new(),
            refresh: Duration::seconds(60),
            max_staleness: None,
            require_revocation: true,
            https_roots: None,
            crl_urls,
            crl_distribution_points: follow,
        };
        let list = TrustList {
            domain: TrustDomainId::Mo,
            sequence: 1,
            issued_at: now,
            next_update: now,
            expires: now + Duration::days(1),
            entries: entries
                .into_iter()
                .map(|certificate| TrustEntry {
                    id: "ca".into(),
                    role: Role::EidAssertionIssuer,
                    issuers: Vec::new(),
                    certificate,
                    not_before: now,
                    not_after: now + Duration::days(1),
                })
                .collect(),
            crls: Vec::new(),
            content_sha256: String::new(),
            signer_pin: String::new(),
        };
        Domain {
            fetcher: Err("unused".into()),
            config,
            held: Some(Held { list, confirmed_at: now }),
            last_error: None,
            failures: 0,
            next_fetch: now,
            fetched_crls: Default::default(),
            crl_errors: Vec::new(),
        }
    }

    #[test]
    fn crl_sources_are_the_configured_ones_then_the_entries_distribution_points() {
        let ca = ca_with_distribution_points(&[
            "http://crl.example/a.crl",
            "ldap://crl.example/x",
            "http://crl.example/a.crl",
        ]);
        let other = ca_with_distribution_points(&["https://crl.example/b.crl"]);
        let configured = vec!["file:/etc/crl/extra.crl".to_owned(), "http://crl.example/a.crl".to_owned()];

        let d = domain(configured.clone(), true, vec![ca.clone(), other.clone(), ca_with_distribution_points(&[])]);
        assert_eq!(
            d.crl_sources(),
            ["file:/etc/crl/extra.crl", "http://crl.example/a.crl", "https://crl.example/b.crl"],
            "configured first, http(s) only, no duplicates"
        );
        let d = domain(configured.clone(), false, vec![ca, other]);
        assert_eq!(d.crl_sources(), configured, "distribution points only when asked");
        let many: Vec<String> = (0..40).map(|i| format!("http://crl.example/{i}.crl")).collect();
        assert_eq!(domain(many, false, Vec::new()).crl_sources().len(), MAX_CRL_SOURCES);
    }
}
