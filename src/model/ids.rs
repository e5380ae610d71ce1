//! Names of things in the domain: partners, purposes, jurisdictions,
//! assurance levels, output formats.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an id is 1–64 characters of a-z, 0-9 and '-', starting with a letter or digit")]
pub struct IdError;

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, IdError> {
                let ok = !s.is_empty()
                    && s.len() <= 64
                    && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !s.starts_with('-');
                if ok { Ok($name(s.to_owned())) } else { Err(IdError) }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                $name::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_newtype!(
    /// A partner system, e.g. `hq-clinic-0001`.
    PartnerId
);
id_newtype!(
    /// A purpose of use, e.g. `health-voucher`.
    PurposeId
);
id_newtype!(
    /// A jurisdiction whose policy file governs a partner, e.g. `hengqin`.
    JurisdictionId
);

/// The URI SAN prefix that names a partner in its client certificate.
pub const PARTNER_URI_PREFIX: &str = "urn:hengqin-bridge:partner:";

/// Level of assurance of the Macau eID login (AR 24/2020 art. 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loa {
    /// 滿意級
    Substantial,
    /// 高級
    High,
}

impl Loa {
    /// The `acr` value of the assertion profile.
    pub fn acr(self) -> &'static str {
        match self {
            Loa::Substantial => "mo:loa:substantial",
            Loa::High => "mo:loa:high",
        }
    }

    pub fn from_acr(s: &str) -> Option<Loa> {
        match s {
            "mo:loa:substantial" => Some(Loa::Substantial),
            "mo:loa:high" => Some(Loa::High),
            _ => None,
        }
    }
}

/// A trust domain: a jurisdiction that issues what the bridge checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TrustDomainId {
    /// Macau: eID assertion issuers.
    #[serde(rename = "MO")]
    Mo,
    /// Guangdong: partner client-certificate CAs and the bridge's SM2 CA.
    #[serde(rename = "CN-GD")]
    CnGd,
}

impl TrustDomainId {
    pub fn as_str(self) -> &'static str {
        match self {
            TrustDomainId::Mo => "MO",
            TrustDomainId::CnGd => "CN-GD",
        }
    }
}

impl fmt::Display for TrustDomainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An output format (sink) the bridge can render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OutputFormat {
    #[serde(rename = "gbt36903+json")]
    Gbt36903Json,
    #[serde(rename = "gd-license-app+json")]
    GdLicenseAppJson,
}

impl OutputFormat {
    pub const ALL: &'static [OutputFormat] = &[OutputFormat::Gbt36903Json, OutputFormat::GdLicenseAppJson];

    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Gbt36903Json => "gbt36903+json",
            OutputFormat::GdLicenseAppJson => "gd-license-app+json",
        }
    }

    pub fn parse(s: &str) -> Option<OutputFormat> {
        Self::ALL.iter().copied().find(|f| f.as_str() == s)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            OutputFormat::Gbt36903Json => "application/vnd.gbt36903+json",
            OutputFormat::GdLicenseAppJson => "application/vnd.gd-license-app+json",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(PartnerId::parse("hq-clinic-0001").is_ok());
        assert!(PartnerId::parse("HQ").is_err());
        assert!(PartnerId::parse("").is_err());
        assert!(PartnerId::parse("-x").is_err());
        assert!(PurposeId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn loa_order_and_acr() {
        assert!(Loa::High > Loa::Substantial);
        for l in [Loa::Substantial, Loa::High] {
            assert_eq!(Loa::from_acr(l.acr()), Some(l));
        }
        assert_eq!(Loa::from_acr("mo:loa:low"), None);
    }

    #[test]
    fn formats() {
        for f in OutputFormat::ALL {
            assert_eq!(OutputFormat::parse(f.as_str()), Some(*f));
        }
        assert_eq!(OutputFormat::parse("ofd"), None);
    }
}
