//! Mapping: released attributes → the core licence record (DESIGN §5).
//!
//! Mapping files are declarative and compiled at load ([`load_dir`], or
//! [`load_texts`] for files held in memory): claim paths are checked
//! against the input profile, code tables (`mappings/codes/`, each naming
//! its standard) resolved, value kinds and record fields checked.
//! [`check_policies`] then cross-checks them against the policies that use
//! them. [`map`] reads only a [`Permitted`](crate::policy::Permitted)'s
//! released values, already in the form the policy chose: the mapping
//! renders, it never re-decides.
//!
//! Transforms: `copy`, `const`, `date`, `code` (+ `table`), `zh_hans`
//! (names; see [`names`]), `concat` (+ `separator`), `first_of`, and the
//! `take = N` modifier on text. The holder code is a `first_of` over
//! `[[holder.code]]` alternatives; the alternative that matched brings its
//! holder code type.
//!
//! Example (`mappings/mo-health-voucher.toml`, abridged):
//!
//! ```toml
//! [mapping]
//! id = "mo-health-voucher"
//! version = "1"
//!
//! [licence]
//! name = "澳门居民医疗券持券人核验证明"
//! type_name = "澳门医疗券持券人核验"
//! type_sequence = "001"
//!
//! [holder]
//! name = { zh_hans = "person.name_zh_hant" }
//! [[holder.code]]
//! value = { copy = "person.mtp_number", take = 9 }
//! code_type = "516"
//! [[holder.code]]
//! value = { copy = "person.bir_number" }
//! code_type = "999"
//! code_type_name = "澳门特别行政区居民身份证"
//!
//! [[surface]]
//! name = "姓名"
//! column_name = "holder_name"
//! pinyin_code = "CYRMC"
//! value = { zh_hans = "person.name_zh_hant" }
//! ```

mod compile;
pub mod dto;
mod load;
pub mod names;
mod render;
mod tables;

#[cfg(test)]
mod tests;

pub use crate::policy::FileError;
pub use compile::{HOLDER_TYPE_TABLE, Mapping};
pub use load::{MappingSet, NAME_EXCEPTIONS, check_policies, load_dir, load_texts};
pub use names::{NameConverter, ZhHans, in_gbk};
pub use render::{MappingError, map};
pub use tables::{CodeEntry, CodeTable, NameException};
