//! The e-licence record and its renderings.
pub mod jcs;
pub mod record;
