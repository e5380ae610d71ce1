//! The e-licence record and its renderings.
pub mod record;
