//! The rate and quota checks of one policy set, per partner, purpose and
//! data subject. The choices behind the numbers are in the module docs of
//! [`crate::limits`].

use super::quota::QuotaLedger;
use crate::model::{PartnerId, PurposeId, Reason, Rejection};
use crate::pipeline::SubjectGate;
use crate::policy::{Partner, PolicySet, RateLimits};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{NotUntil, Quota, RateLimiter};
use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

type Direct<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;
type Keyed<K, C> = RateLimiter<K, DashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// A data subject as the limiter keys it: SHA-256 of the pseudonym the
/// pipeline passes, so every key has the same small size.
type SubjectKey = [u8; 32];

/// How often the edge should call [`Admission::housekeeping`]; the subject
/// table sizing in the module docs assumes it.
pub const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(20);

/// The limits that do not come from the policy files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionSettings {
    /// Requests one partner may make about one data subject per minute.
    pub subject_per_minute: NonZeroU32,
    /// How many of those may come at once.
    pub subject_burst: NonZeroU32,
    /// Data subjects one partner may have in the table at once; past it the
    /// partner's requests about new or old subjects are refused until
    /// housekeeping drops the stale ones.
    pub max_subjects_per_partner: usize,
}

impl Default for AdmissionSettings {
    fn default() -> Self {
        AdmissionSettings {
            subject_per_minute: NonZeroU32::new(6).expect("non-zero"),
            subject_burst: NonZeroU32::new(3).expect("non-zero"),
            max_subjects_per_partner: 65_536,
        }
    }
}

impl AdmissionSettings {
    fn subject_quota(&self) -> Quota {
        Quota::per_minute(self.subject_per_minute).allow_burst(self.subject_burst)
    }

    /// How long a subject's entry can stay live after its last request: a
    /// full burst plus one interval (governor drops an entry once its state
    /// is as good as fresh).
    fn subject_entry_lifetime(&self) -> Duration {
        self.subject_quota().replenish_interval() * (self.subject_burst.get() + 1)
    }
}

/// Admission for one policy set: cheap to build, shared by every handler,
/// replaced by [`Admission::reloaded`] when the policies change.
///
/// Generic over the governor clock so tests drive time with
/// `governor::clock::FakeRelativeClock`; the server uses the default
/// (monotonic) clock.
pub struct Admission<C: Clock = DefaultClock> {
    partners: HashMap<PartnerId, PartnerGate<C>>,
    settings: AdmissionSettings,
    ledger: Arc<dyn QuotaLedger>,
    clock: C,
}

struct PartnerGate<C: Clock> {
    limits: RateLimits,
    rates: Arc<PartnerRates<C>>,
    subjects: Arc<Keyed<SubjectKey, C>>,
}

/// The request-rate limiters of one partner, built from its policy entry.
struct PartnerRates<C: Clock> {
    /// The purposes the partner is allowed; a purpose's key is its index.
    purposes: Vec<PurposeId>,
    per_purpose: Keyed<usize, C>,
    /// Every purpose string the partner is not allowed, unknown ones too.
    stray: Direct<C>,
    partner: Direct<C>,
}

impl<C: Clock + Clone> Admission<C> {
    pub fn new(policies: &PolicySet, settings: AdmissionSettings, ledger: Arc<dyn QuotaLedger>, clock: C) -> Self {
        let partners = policies.partners().map(|p| (p.id.clone(), PartnerGate::new(p, &settings, &clock))).collect();
        Admission { partners, settings, ledger, clock }
    }

    /// Admission for a reloaded policy set that keeps what it can: a
    /// partner whose limits and purposes did not change keeps its rate
    /// state, every partner still present keeps its subject table, the
    /// quota ledger is shared. So a reload never hands out a fresh burst.
    pub fn reloaded(&self, policies: &PolicySet) -> Self {
        let partners = policies
            .partners()
            .map(|p| {
                let gate = match self.partners.get(&p.id) {
                    Some(old) => PartnerGate {
                        limits: p.limits,
                        rates: if old.limits == p.limits && old.rates.purposes == p.purposes {
                            Arc::clone(&old.rates)
                        } else {
                            Arc::new(PartnerRates::new(p, &self.clock))
                        },
                        subjects: Arc::clone(&old.subjects),
                    },
                    None => PartnerGate::new(p, &self.settings, &self.clock),
                };
                (p.id.clone(), gate)
            })
            .collect();
        Admission { partners, settings: self.settings, ledger: Arc::clone(&self.ledger), clock: self.clock.clone() }
    }

    /// Admission's part of DESIGN §7 before the assertion is read: the
    /// partner is known, within its rates, within its daily quota.
    pub fn check_request(&self, partner: &PartnerId, purpose: &str, now: OffsetDateTime) -> Result<(), Rejection> {
        self.check_partner(partner, purpose)?;
        self.check_quota(partner, now)
    }

    /// The per partner × purpose limit, then the per partner limit.
    /// `purpose` is the raw request field: it is checked for meaning only
    /// after admission.
    pub fn check_partner(&self, partner: &PartnerId, purpose: &str) -> Result<(), Rejection> {
        let rates = &self.gate(partner)?.rates;
        match rates.purposes.iter().position(|p| p.as_str() == purpose) {
            Some(key) => rates.per_purpose.check_key(&key).map_err(|n| self.limited(n, "purpose rate limit"))?,
            None => rates.stray.check().map_err(|n| self.limited(n, "rate limit for purposes not allowed"))?,
        }
        rates.partner.check().map_err(|n| self.limited(n, "partner rate limit"))
    }

    /// Counts the request against the partner's daily quota.
    pub fn check_quota(&self, partner: &PartnerId, now: OffsetDateTime) -> Result<(), Rejection> {
        let limit = u64::from(self.gate(partner)?.limits.daily_quota);
        self.ledger
            .charge(partner, now, limit)
            .map_err(|wait| Rejection::new(Reason::QuotaExhausted, "daily quota used up").with_retry_after(wait))
    }

    /// Drops the entries whose state is as good as fresh and gives their
    /// memory back. Call every [`HOUSEKEEPING_INTERVAL`].
    pub fn housekeeping(&self) {
        for gate in self.partners.values() {
            gate.subjects.retain_recent();
            gate.subjects.shrink_to_fit();
            gate.rates.per_purpose.retain_recent();
            gate.rates.per_purpose.shrink_to_fit();
        }
    }

    /// Data subjects held over all partners (a gauge).
    pub fn subject_keys(&self) -> usize {
        self.partners.values().map(|g| g.subjects.len()).sum()
    }

    /// Data subjects held for one partner (a gauge labelled by partner).
    pub fn subject_keys_of(&self, partner: &PartnerId) -> usize {
        self.partners.get(partner).map_or(0, |g| g.subjects.len())
    }

    pub fn settings(&self) -> &AdmissionSettings {
        &self.settings
    }

    fn gate(&self, partner: &PartnerId) -> Result<&PartnerGate<C>, Rejection> {
        self.partners
            .get(partner)
            .ok_or_else(|| Rejection::new(Reason::UnknownPartner, "partner is not in the policies"))
    }

    fn limited(&self, refusal: NotUntil<C::Instant>, detail: &str) -> Rejection {
        Rejection::new(Reason::RateLimited, detail).with_retry_after(refusal.wait_time_from(self.clock.now()))
    }
}

/// The per partner × data subject limit, once the pipeline knows the
/// subject. Timed on the governor clock; `now` is not needed.
impl<C> SubjectGate for Admission<C>
where
    C: Clock + Clone + Send + Sync,
    C::Instant: Send + Sync,
{
    fn admit(&self, partner: &PartnerId, subject: &str, _now: OffsetDateTime) -> Result<(), Rejection> {
        let subjects = &self.gate(partner)?.subjects;
        if subjects.len() >= self.settings.max_subjects_per_partner {
            return Err(Rejection::new(Reason::RateLimited, "too many data subjects for this partner")
                .with_retry_after(self.settings.subject_entry_lifetime()));
        }
        let key: SubjectKey = openssl::sha::sha256(subject.as_bytes());
        subjects.check_key(&key).map_err(|n| self.limited(n, "rate limit for one data subject"))
    }
}

impl<C: Clock + Clone> PartnerGate<C> {
    fn new(partner: &Partner, settings: &AdmissionSettings, clock: &C) -> Self {
        PartnerGate {
            limits: partner.limits,
            rates: Arc::new(PartnerRates::new(partner, clock)),
            subjects: Arc::new(RateLimiter::dashmap_with_clock(settings.subject_quota(), clock.clone())),
        }
    }
}

impl<C: Clock + Clone> PartnerRates<C> {
    fn new(partner: &Partner, clock: &C) -> Self {
        let l = partner.limits;
        let share = |v: u32| if partner.purposes.len() > 1 { v.div_ceil(2) } else { v };
        PartnerRates {
            purposes: partner.purposes.clone(),
            per_purpose: RateLimiter::dashmap_with_clock(
                per_second(share(l.rate_per_second), share(l.burst)),
                clock.clone(),
            ),
            stray: RateLimiter::direct_with_clock(per_second(STRAY_RATE, STRAY_BURST), clock.clone()),
            partner: RateLimiter::direct_with_clock(per_second(l.rate_per_second, l.burst), clock.clone()),
        }
    }
}

/// The rate of requests naming a purpose the partner is not allowed.
const STRAY_RATE: u32 = 1;
const STRAY_BURST: u32 = 5;

/// The policy loader refuses zero rates and bursts; one stands in for a
/// zero that cannot occur.
fn per_second(rate: u32, burst: u32) -> Quota {
    let nz = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(nz(rate)).allow_burst(nz(burst))
}

impl<C: Clock> fmt::Debug for Admission<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut partners: Vec<&str> = self.partners.keys().map(PartnerId::as_str).collect();
        partners.sort_unstable();
        f.debug_struct("Admission").field("partners", &partners).field("settings", &self.settings).finish()
    }
}
