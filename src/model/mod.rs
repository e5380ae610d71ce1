//! Domain newtypes and the stable reason codes. Values here are valid by
//! construction: a `BirNumber` has the BIR format, a `LicenceId` its check
//! character.

mod codes;
mod documents;
mod ids;
mod reason;

pub use codes::{gb11643_check, gb11714_check, mod37_36_check, uscc_check};
pub use documents::{
    BirNumber, FormatError, LICENCE_ID_ROOT, LicenceId, MtpNumber, ResidencePermitNumber, Uscc, check_gb11643,
};
pub use ids::{IdError, JurisdictionId, Loa, OutputFormat, PARTNER_URI_PREFIX, PartnerId, PurposeId, TrustDomainId};
pub use reason::{Reason, Rejection, StatusClass};
