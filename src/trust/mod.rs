//! Trust anchors, chains, revocation and the assertion's signature and
//! claims checks → [`Verified`].

mod verified;

pub use verified::Verified;
