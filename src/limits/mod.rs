//! Admission at the edge (DESIGN §8): who may send how much, and how much
//! the bridge takes on at once. The decision core never sees this module;
//! it reaches the per-subject limit only through
//! [`SubjectGate`](crate::pipeline::SubjectGate).
//!
//! - [`Admission`]: governor GCRA limits per partner, per partner × purpose
//!   and per partner × data subject, and the daily quota through a
//!   [`QuotaLedger`]. Built from a `PolicySet`; a partner the policies do
//!   not name is refused with `UNKNOWN_PARTNER`, never let through
//!   unlimited.
//! - [`InFlight`]: the global cap on requests in flight, shedding with
//!   `OVERLOADED` at once.
//!
//! Order (DESIGN §7): [`Admission::check_request`] checks the partner is
//! known, then the purpose rate, the partner rate, the daily quota; the edge
//! takes an [`InFlight`] permit after it and holds it until the answer is
//! sent (so a request shed with `OVERLOADED` has used one unit of quota:
//! the fixed order wins over that small cost). The pipeline calls the
//! subject gate after `eid_status`.
//!
//! Decisions, where DESIGN leaves them open:
//!
//! - **Per purpose.** The policy has one rate per partner, none per
//!   purpose. A partner allowed one purpose gets the partner's rate and
//!   burst for it. A partner allowed several gets half of each (rounded
//!   up) per purpose, so one runaway flow (a batch job on one purpose) can
//!   take at most half the partner's budget and the counter traffic on
//!   the other purposes still gets through. The purpose limit is checked
//!   first so that its refusals do not spend the partner's budget.
//! - **Purposes not allowed.** A purpose string the partner is not allowed
//!   (unknown ones included) is counted in one bucket per partner at 1/s,
//!   burst 5. Those requests are refused later anyway (`UNKNOWN_PURPOSE`,
//!   `PURPOSE_NOT_ALLOWED`); the bucket keeps the key space fixed by the
//!   policy whatever the partner sends, and stops probing at full rate.
//! - **Per data subject.** 6 a minute, burst 3, per partner × subject
//!   ([`AdmissionSettings`]). A resident at a counter needs one or two
//!   translations, a retry included; more requests about the same person
//!   from one partner within a minute is automation — a partner walking
//!   through residents, or tracking one. Each partner has its own table,
//!   so one partner's subjects never crowd out another's.
//! - **Subject table bound.** Keys are SHA-256 of the pseudonym (32 bytes
//!   plus 8 of state, about 50 bytes an entry in the map). An entry goes
//!   stale at most 40 s (burst + 1 intervals) after its last request and
//!   is dropped by [`Admission::housekeeping`], run every
//!   [`HOUSEKEEPING_INTERVAL`] (20 s): a partner at rate r holds about
//!   r × 60 entries. The cap, 65 536 per partner (about 3–6 MB), covers a
//!   partner at ~1000/s; past it the partner gets `RATE_LIMITED` until
//!   housekeeping frees room. The cap is read without a lock, so
//!   concurrent requests may overshoot it by their number.
//! - **Quota.** Counted per calendar day in UTC+8, charged when a request
//!   is admitted (before its assertion is read), so refused requests count
//!   too: they cost the bridge the same work. A request refused by a rate
//!   limit is not charged. The count lives in the [`QuotaLedger`]: sled in
//!   the server (survives a restart, per node until shared state exists),
//!   [`MemoryQuotaLedger`] in tests.
//! - **Two clocks.** Rates run on the governor clock (monotonic, immune to
//!   wall-clock steps; `FakeRelativeClock` in tests); quota days on the
//!   wall-clock `now` the request carries, because they are calendar days.
//! - **Reload.** [`Admission::reloaded`] builds the admission for the new
//!   policy set from the old one: unchanged partners keep their rate
//!   state, every remaining partner keeps its subject table, so a reload
//!   grants no fresh burst. Swap it in with the snapshot.

mod admission;
mod in_flight;
mod quota;

#[cfg(test)]
mod tests;

pub use admission::{Admission, AdmissionSettings, HOUSEKEEPING_INTERVAL};
pub use in_flight::{InFlight, InFlightPermit};
pub use quota::{MemoryQuotaLedger, QuotaLedger, quota_day, until_next_quota_day};
