//! Policy: which partner may receive what, for which purpose, in which
//! form (DESIGN §4).
//!
//! Policy files are read into strict DTOs ([`dto`]), compiled into a
//! cross-checked [`PolicySet`] by [`load_dir`] — every problem of every
//! file reported at once as `file:line: message` — and consulted by the
//! pure [`evaluate`]. [`permit`] turns a [`Verified`](crate::trust::Verified)
//! assertion into a [`Permitted`] holding only the released claims, each
//! already masked or pseudonymised as the policy says; the mapping stage
//! can read nothing else.
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
pub use load::load_dir;
pub use permit::{Permitted, Released, permit};
pub use set::{
    DenyRule, Effective, Eligibility, Jurisdiction, MechanismRule, Partner, PolicySet, Purpose, RateLimits, ReleaseSet,
    SourceRules,
};
