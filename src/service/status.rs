//! The one place a refusal becomes a gRPC status (DESIGN §7, STYLE 3).
//!
//! The code follows the reason's status class; the details carry
//! `google.rpc.ErrorInfo` with the stable reason so that clients branch on
//! `reason`, never on the English message; a limit adds
//! `google.rpc.RetryInfo`. Nothing personal is in either: a [`Rejection`]'s
//! detail and clause never hold claim values.

use crate::model::{Rejection, StatusClass};
use std::collections::HashMap;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every refusal.
pub const ERROR_DOMAIN: &str = "hengqin-bridge";
/// `ErrorInfo.metadata` key of the policy clause that caused a refusal.
pub const CLAUSE_KEY: &str = "clause";

/// The gRPC code of a status class.
pub fn status_code(class: StatusClass) -> Code {
    match class {
        StatusClass::Unauthenticated => Code::Unauthenticated,
        StatusClass::ResourceExhausted => Code::ResourceExhausted,
        StatusClass::Unavailable => Code::Unavailable,
        StatusClass::InvalidArgument => Code::InvalidArgument,
        StatusClass::PermissionDenied => Code::PermissionDenied,
        StatusClass::Internal => Code::Internal,
    }
}

/// A refusal as the partner sees it: message `CODE: detail (clause)`,
/// details `ErrorInfo { reason: CODE, domain: "hengqin-bridge", metadata:
/// {clause?} }` and, for limits, `RetryInfo { retry_delay }`.
pub fn rejection_to_status(rejection: &Rejection) -> Status {
    let metadata: HashMap<String, String> =
        rejection.clause.iter().map(|c| (CLAUSE_KEY.to_owned(), c.clone())).collect();
    let mut details = ErrorDetails::with_error_info(rejection.reason.code(), ERROR_DOMAIN, metadata);
    if let Some(after) = rejection.retry_after {
        details.set_retry_info(Some(after));
    }
    Status::with_error_details(status_code(rejection.reason.class()), rejection.to_string(), details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Reason;
    use std::time::Duration;

    /// Encodes and decodes as a client would (the details travel as
    /// `grpc-status-details-bin`).
    fn round_trip(r: &Rejection) -> Status {
        let sent = rejection_to_status(r);
        let response = sent.clone().into_http::<tonic::body::Body>();
        Status::from_header_map(response.headers()).expect("a status in the trailers-only response")
    }

    fn check(reason: Reason, code: Code) {
        let got = round_trip(&Rejection::new(reason, "a detail"));
        assert_eq!(got.code(), code, "{reason}");
        assert_eq!(got.message(), format!("{}: a detail", reason.code()));
        let info = got.get_details_error_info().expect("ErrorInfo present");
        assert_eq!(info.reason, reason.code());
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert!(info.metadata.is_empty());
        assert!(got.get_details_retry_info().is_none());
    }

    #[test]
    fn unauthenticated() {
        check(Reason::UnknownPartner, Code::Unauthenticated);
    }

    #[test]
    fn resource_exhausted_with_retry_info() {
        check(Reason::QuotaExhausted, Code::ResourceExhausted);
        let r = Rejection::new(Reason::RateLimited, "partner rate").with_retry_after(Duration::from_millis(1500));
        let got = round_trip(&r);
        assert_eq!(got.code(), Code::ResourceExhausted);
        assert_eq!(got.get_details_error_info().unwrap().reason, "RATE_LIMITED");
        let retry = got.get_details_retry_info().expect("RetryInfo present");
        assert_eq!(retry.retry_delay, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn unavailable() {
        check(Reason::Overloaded, Code::Unavailable);
        check(Reason::TrustStale, Code::Unavailable);
        check(Reason::RevocationUnknown, Code::Unavailable);
    }

    #[test]
    fn invalid_argument() {
        check(Reason::UnknownPurpose, Code::InvalidArgument);
        check(Reason::MalformedAssertion, Code::InvalidArgument);
    }

    #[test]
    fn permission_denied_with_clause() {
        check(Reason::Replayed, Code::PermissionDenied);
        let r = Rejection::new(Reason::DeniedByRule, "denied by a rule").with_clause("hengqin.toml#deny[0]");
        let got = round_trip(&r);
        assert_eq!(got.code(), Code::PermissionDenied);
        assert_eq!(got.message(), "DENIED_BY_RULE: denied by a rule (hengqin.toml#deny[0])");
        let info = got.get_details_error_info().unwrap();
        assert_eq!(info.reason, "DENIED_BY_RULE");
        assert_eq!(info.metadata.get(CLAUSE_KEY).map(String::as_str), Some("hengqin.toml#deny[0]"));
    }

    #[test]
    fn internal() {
        check(Reason::Internal, Code::Internal);
    }

    #[test]
    fn every_reason_maps_to_its_class() {
        for r in Reason::ALL {
            let s = rejection_to_status(&Rejection::new(*r, "x"));
            assert_eq!(s.code(), status_code(r.class()));
            assert_eq!(s.get_details_error_info().unwrap().reason, r.code());
        }
    }
}
