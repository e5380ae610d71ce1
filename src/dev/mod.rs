//! Test PKI and sample assertions: what `hengqin-bridge dev pki` and `dev
//! mint-assertion` write, and what the tests and the demo generate their
//! anchors, lists, certificates and assertions with.
//!
//! - [`pki`]: [`pki::generate`] writes the DESIGN §10 directory; a
//!   [`pki::Pki`] then issues what tests need on top of it: revocations,
//!   test signers ([`pki::SignerKind`]), lists of any shape
//!   ([`pki::TrustListSpec`]), partner client certificates.
//! - [`mint`]: [`mint::mint_assertion`] signs sample `mo-eid+jwt`
//!   assertions for the three flows, with claims and header overridden.
//!
//! Nothing here is used on the request path; it reads the clock only
//! where a caller asks for "now" ([`pki::Pki::open`], `PkiOptions::default`).

mod jose;
pub mod mint;
pub mod pki;

pub use jose::SigAlg;

#[cfg(test)]
mod tests;
