//! Policy: which partner may receive what, for which purpose, in which
//! form (DESIGN §4).
//!
//! Policy files are read into strict DTOs ([`dto`]), compiled into a
//! cross-checked [`PolicySet`] by [`load_dir`] ([`load_texts`] for files
//! held in memory) — every problem of every file reported at once as
//! `file:line: message` — and consulted by the pure [`evaluate`].
//! [`permit`] turns a [`Verified`](crate::trust::Verified) assertion into a
//! [`Permitted`] holding only the released claims, each already masked or
//! pseudonymised as the policy says; the mapping stage can read nothing
//! else.
//!
//! The files, abridged (the shipped ones in `policies/` are complete):
//!
//! ```toml
//! # macau.toml
//! [assertion]
//! max_assertion_age = 600
//! clock_skew = 60
//! source = "Law 11/2023 art. 2(4)-(5); AR 24/2020 art. 3"
//! [mechanism.GBA_SC_MO]
//! name = "粤港澳大湾区（内地、澳门）个人信息跨境流动标准合同"
//! reference_required = true
//! registered_cities = ["440100", "440300", "440400", "…", "820000"]
//! source = "GBA standard contract, Mainland–Macao; PDPA art. 20(1)"
//! [sensitive]
//! categories = ["health", "sex_life", "…"]
//! source = "PDPA (Law 8/2005) art. 7"
//!
//! # purposes.toml
//! [[purpose]]
//! id = "health-voucher"
//! description = "澳门医疗券在横琴使用的持券人核验"
//! min_loa = "substantial"
//! sensitive = ["health"]
//! mapping = "mo-health-voucher"
//! legal_basis = { macau = "PDPA art. 7, art. 20(1)", mainland = "PIPL art. 13(1), art. 29" }
//! source = "Law 11/2023 art. 2(5)"
//! [purpose.consent]
//! mode = "separate"
//! source = "PIPL art. 29"
//! [purpose.eligibility]
//! bir_type = ["BIRP"]
//! voucher_current_year = true
//! source = "…"
//! [purpose.release]
//! source = "PDPA art. 5(1)(c); PIPL art. 6"
//! [purpose.release.claims]
//! "person.bir_number" = "masked"
//! [purpose.retention]
//! audit_days = 1095
//! payload_days = 0
//! source = "PIPL art. 56"
//!
//! # hengqin.toml (any other file is a jurisdiction)
//! [jurisdiction]
//! id = "hengqin"          # = the file name
//! area_code = "440400"
//! regime = "CN_PIPL"
//! minor_age = 14
//! # name, trust_domains, sensitive_categories, source …
//! [partner.hq-clinic-0001]
//! purposes = ["health-voucher"]
//! formats = ["gbt36903+json"]
//! # name, registered_city, role, nonce_required, source, and the tables
//! # [partner.<id>.authorisation], .transfer, .limits, optional .identity
//! [purpose.health-voucher]   # optional narrowing
//! min_loa = "high"
//! source = "…"
//! [[deny]]
//! id = "clinic-needs-high"
//! description = "…"
//! partner = "hq-clinic-0001"  # also: purpose, bir_type, fss_status, age_under, loa_below
//! loa_below = "high"
//! source = "…"
//! ```
//!
//! Decisions taken here, where DESIGN is silent:
//! - every table of every policy file carries a `source` citing its legal
//!   basis; a file that restates a statutory list (PDPA art. 7, PIPL art.
//!   28, the GBA contract's places) may not drop an entry of it;
//! - a jurisdiction may narrow a purpose (`[purpose.<id>]`: higher
//!   `min_loa`, stronger `consent`, a smaller release set, `full` →
//!   `masked`/`pseudonym`); anything else is a load error;
//! - a subject under the jurisdiction's `minor_age` needs guardian,
//!   separate consent listing the purpose, even for a purpose whose own
//!   consent mode is `none` (PIPL arts. 28, 31);
//! - `[[deny]]` rules always yield `DENIED_BY_RULE`; those in `macau.toml`
//!   apply to every partner, those in a jurisdiction file to its partners;
//! - masking is defined for document numbers only, pseudonyms for
//!   identifiers only ([`forms_for`]); an MTP number's pseudonym is taken
//!   over its stable first 9 characters.

pub mod dto;
mod evaluate;
mod forms;
mod jurisdiction;
pub mod law;
mod load;
mod permit;
mod set;
pub(crate) mod toml_file;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;

pub use crate::file_error::FileError;
pub(crate) use crate::file_error::sorted as sorted_errors;
pub use dto::{ConsentMode, Mechanism, Role};
pub use evaluate::{Decision, Effect, Request, RuleRef, UTC8, age_on, evaluate};
pub use forms::{Form, PseudonymKey, PseudonymKeyError, forms_for};
pub use load::{load_dir, load_texts};
pub use permit::{Permitted, Released, permit};
pub use set::{
    DenyRule, Effective, Eligibility, Jurisdiction, MechanismRule, Partner, PolicySet, Purpose, RateLimits, ReleaseSet,
    SourceRules,
};
