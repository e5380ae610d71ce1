//! The stable reason codes of DESIGN §7.
//!
//! Partners script against these strings: a code, once shipped, never changes
//! its spelling or its meaning. Each refusal anywhere in the bridge ends as
//! exactly one of these.

use std::fmt;

/// How a reason is reported at the edge (a gRPC status class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Unauthenticated,
    ResourceExhausted,
    Unavailable,
    InvalidArgument,
    PermissionDenied,
    Internal,
}

macro_rules! reasons {
    ($( $variant:ident => $code:literal, $class:ident; )*) => {
        /// A stable machine reason for a refusal.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Reason { $( $variant, )* }

        impl Reason {
            /// Every reason, in the order of DESIGN §7's table.
            pub const ALL: &'static [Reason] = &[ $( Reason::$variant, )* ];

            /// The stable code, e.g. `UNTRUSTED_CHAIN`.
            pub const fn code(self) -> &'static str {
                match self { $( Reason::$variant => $code, )* }
            }

            /// The status class the edge reports it with.
            pub const fn class(self) -> StatusClass {
                match self { $( Reason::$variant => StatusClass::$class, )* }
            }

            /// Parses a stable code back into its reason.
            pub fn from_code(code: &str) -> Option<Reason> {
                match code { $( $code => Some(Reason::$variant), )* _ => None }
            }
        }
    };
}

reasons! {
    UnknownPartner => "UNKNOWN_PARTNER", Unauthenticated;
    RateLimited => "RATE_LIMITED", ResourceExhausted;
    QuotaExhausted => "QUOTA_EXHAUSTED", ResourceExhausted;
    Overloaded => "OVERLOADED", Unavailable;
    TrustStale => "TRUST_STALE", Unavailable;
    RevocationUnknown => "REVOCATION_UNKNOWN", Unavailable;
    UnknownPurpose => "UNKNOWN_PURPOSE", InvalidArgument;
    UnknownFormat => "UNKNOWN_FORMAT", InvalidArgument;
    AssertionTooLarge => "ASSERTION_TOO_LARGE", InvalidArgument;
    MalformedAssertion => "MALFORMED_ASSERTION", InvalidArgument;
    UnsupportedAlgorithm => "UNSUPPORTED_ALGORITHM", InvalidArgument;
    UntrustedChain => "UNTRUSTED_CHAIN", PermissionDenied;
    CertRevoked => "CERT_REVOKED", PermissionDenied;
    BadSignature => "BAD_SIGNATURE", PermissionDenied;
    IssuerNotTrusted => "ISSUER_NOT_TRUSTED", PermissionDenied;
    AssertionNotYetValid => "ASSERTION_NOT_YET_VALID", PermissionDenied;
    AssertionExpired => "ASSERTION_EXPIRED", PermissionDenied;
    AssertionTooOld => "ASSERTION_TOO_OLD", PermissionDenied;
    WrongAudience => "WRONG_AUDIENCE", PermissionDenied;
    NonceMismatch => "NONCE_MISMATCH", PermissionDenied;
    Replayed => "REPLAYED", PermissionDenied;
    EidNotActive => "EID_NOT_ACTIVE", PermissionDenied;
    PurposeNotAllowed => "PURPOSE_NOT_ALLOWED", PermissionDenied;
    FormatNotAllowed => "FORMAT_NOT_ALLOWED", PermissionDenied;
    LoaTooLow => "LOA_TOO_LOW", PermissionDenied;
    ConsentMissing => "CONSENT_MISSING", PermissionDenied;
    NotEligible => "NOT_ELIGIBLE", PermissionDenied;
    DeniedByRule => "DENIED_BY_RULE", PermissionDenied;
    Internal => "INTERNAL", Internal;
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A refusal as it leaves the core: the stable reason, a short English
/// detail with no personal data, for policy refusals the clause that
/// caused it (`file#table.key`), and for limits when to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: Reason,
    pub detail: String,
    pub clause: Option<String>,
    pub retry_after: Option<std::time::Duration>,
}

impl Rejection {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Rejection { reason, detail: detail.into(), clause: None, retry_after: None }
    }

    pub fn with_clause(mut self, clause: impl Into<String>) -> Self {
        self.clause = Some(clause.into());
        self
    }

    pub fn with_retry_after(mut self, after: std::time::Duration) -> Self {
        self.retry_after = Some(after);
        self
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason.code(), self.detail)?;
        if let Some(c) = &self.clause {
            write!(f, " ({c})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            assert!(seen.insert(r.code()), "duplicate code {}", r.code());
            assert_eq!(Reason::from_code(r.code()), Some(*r));
            assert!(r.code().bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
        }
        assert_eq!(Reason::ALL.len(), 29);
    }

    #[test]
    fn classes_follow_design_table() {
        assert_eq!(Reason::UnknownPartner.class(), StatusClass::Unauthenticated);
        assert_eq!(Reason::TrustStale.class(), StatusClass::Unavailable);
        assert_eq!(Reason::RevocationUnknown.class(), StatusClass::Unavailable);
        assert_eq!(Reason::MalformedAssertion.class(), StatusClass::InvalidArgument);
        assert_eq!(Reason::Replayed.class(), StatusClass::PermissionDenied);
        assert_eq!(Reason::DeniedByRule.class(), StatusClass::PermissionDenied);
        assert_eq!(Reason::Internal.class(), StatusClass::Internal);
    }
}
