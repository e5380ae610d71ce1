//! The proof that an assertion passed every trust check.

use crate::intake::Claims;
use crate::model::Loa;

/// An assertion whose chain, signature, claims, issuer binding, times,
/// audience, nonce, replay and eID status have all been checked. Only
/// [`crate::trust`] can make one, so "forgot to verify" does not compile:
///
/// ```compile_fail,E0451
/// use hengqin_bridge::trust::Verified;
/// fn forge(claims: hengqin_bridge::intake::Claims) -> Verified {
///     Verified { claims, anchor_id: String::new(), source_sha256: String::new() }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Verified {
    pub(in crate::trust) claims: Claims,
    pub(in crate::trust) anchor_id: String,
    pub(in crate::trust) source_sha256: String,
}

impl Verified {
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    pub fn loa(&self) -> Loa {
        self.claims.acr
    }

    /// The verified `iss`.
    pub fn issuer(&self) -> &str {
        &self.claims.iss
    }

    /// Id of the trust-list entry the chain ended in.
    pub fn anchor_id(&self) -> &str {
        &self.anchor_id
    }

    /// Lower-case hex SHA-256 of the compact assertion.
    pub fn source_sha256(&self) -> &str {
        &self.source_sha256
    }

    /// Test-only constructor for the decision stages' unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests(claims: Claims) -> Verified {
        Verified { claims, anchor_id: "test-anchor".into(), source_sha256: "0".repeat(64) }
    }
}
