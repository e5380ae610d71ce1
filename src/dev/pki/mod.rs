//! The test PKI behind `hengqin-bridge dev pki DIR`: both trust domains,
//! their signed trust lists, the bridge's SM2 signer, the TLS server and
//! partner client certificates, and a `bridge.toml` that ties them together.
//!
//! The directory is the state: every CA key the generator needs later is
//! kept in it, revocation state lives in the CRL files, list sequences in
//! the published lists. [`Pki::open`] picks a directory up again, so a
//! test, the CLI and `dev mint-assertion` can keep issuing against the same
//! anchors. Certificates that only some tests need (expired, revoked, RSA…)
//! are made on first use under `mo/test-signers/` (see [`SignerKind`]).

mod certs;
mod config;
mod crl;
mod files;
mod generate;
pub mod layout;
mod partners;
mod signers;
mod trust_list;

pub(crate) use certs::is_sm2;
pub use config::{GATEWAY_ID, TEST_AREA_CODE, TEST_ISSUER_NAME, test_defining_body_uscc, test_issuer_uscc, test_uscc};
pub use generate::generate;
pub use partners::{ClientCertKind, PartnerFiles};
pub use signers::{Revocation, SignerKind, SignerMaterial};
pub use trust_list::{
    CrlChoice, DSI_ISSUER, ListSigner, ROLE_BRIDGE_SIGNER_CA, ROLE_EID_ASSERTION_ISSUER, ROLE_PARTNER_CLIENT_CA,
    TrustListEntry, TrustListSpec,
};

use crate::model::{PartnerId, TrustDomainId};
use crate::signing::SigningError;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use time::OffsetDateTime;

/// Why the test PKI could not be written or used.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("openssl: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    #[error("crl: {0}")]
    Crl(#[from] rcgen::Error),
    #[error("sm2: {0}")]
    Signing(#[from] SigningError),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("bridge.toml: {0}")]
    Config(String),
    #[error("{0}")]
    Invalid(String),
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct PkiOptions {
    /// One client certificate per partner.
    pub partners: Vec<PartnerId>,
    /// Written (made absolute) into `[paths] policies`.
    pub policies_dir: PathBuf,
    /// Written (made absolute) into `[paths] mappings`.
    pub mappings_dir: PathBuf,
    /// The reference time: certificates are valid from one day before it,
    /// lists and CRLs are issued at it.
    pub now: OffsetDateTime,
}

/// Every partner id of the shipped policies, the three flows' own first;
/// `dev pki` writes a client certificate for each.
pub const SHIPPED_PARTNERS: &[&str] = &[
    "hq-clinic-0001",
    "hq-ss-window",
    "gz-insurer-0001",
    "hq-hospital-0001",
    "hq-pharmacy-0001",
    "sz-telecom-0001",
    "sz-ss-counter",
    "fs-bank-0001",
    "fs-insurer-0001",
    "dg-ss-window",
    "dg-telecom-0001",
    "zs-bank-0001",
    "zs-ss-window",
];

impl PkiOptions {
    /// The shipped partners and this repository's `policies/` and
    /// `mappings/`, at `now`.
    pub fn new(now: OffsetDateTime) -> Self {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        PkiOptions {
            partners: SHIPPED_PARTNERS
                .iter()
                .map(|p| PartnerId::parse(p).expect("shipped partner ids are well formed"))
                .collect(),
            policies_dir: repo.join("policies"),
            mappings_dir: repo.join("mappings"),
            now,
        }
    }
}

impl Default for PkiOptions {
    /// [`PkiOptions::new`] at the current time.
    fn default() -> Self {
        PkiOptions::new(OffsetDateTime::now_utc())
    }
}

/// A generated PKI directory.
#[derive(Debug)]
pub struct Pki {
    dir: PathBuf,
    now: OffsetDateTime,
    gateway_id: String,
    /// Serialises the on-demand creation of test signers.
    making: Mutex<()>,
}

impl Pki {
    fn new(dir: PathBuf, now: OffsetDateTime, gateway_id: String) -> Self {
        Pki { dir, now: whole_seconds(now), gateway_id, making: Mutex::new(()) }
    }

    /// Opens a generated directory with the current time as reference.
    pub fn open(dir: &Path) -> Result<Pki, PkiError> {
        Pki::open_at(dir, OffsetDateTime::now_utc())
    }

    /// Opens a generated directory; `now` is the reference time for what
    /// is issued from here on (lists, CRLs, test signers).
    pub fn open_at(dir: &Path, now: OffsetDateTime) -> Result<Pki, PkiError> {
        let dir = std::path::absolute(dir).map_err(files::io_err(dir))?;
        let config_path = dir.join(layout::CONFIG);
        let text =
            String::from_utf8(files::read(&config_path)?).map_err(|_| PkiError::Config("not utf-8".to_owned()))?;
        let cfg = config::parse(&text)?;
        for rel in [layout::MO_ISSUING_CA_KEY, layout::MO_ASSERTION_SIGNER_KEY, layout::CN_PARTNER_CA_KEY] {
            if !dir.join(rel).is_file() {
                return Err(PkiError::Invalid(format!("{} is missing: not a generated pki", dir.join(rel).display())));
            }
        }
        Ok(Pki::new(dir, now, cfg.gateway.id.into_inner()))
    }

    /// The PKI directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path inside the PKI directory.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.join(rel)
    }

    /// The reference time (whole seconds).
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// The gateway id of `bridge.toml` (`aud` of minted assertions).
    pub fn gateway_id(&self) -> &str {
        &self.gateway_id
    }

    /// `bridge.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.path(layout::CONFIG)
    }

    /// The pin (lower-case hex SHA-256 of the DER) of a domain's current list signer.
    pub fn list_signer_pin(&self, domain: TrustDomainId) -> Result<String, PkiError> {
        let cert = files::read_cert(&self.path(layout::domain_files(domain).list_signer))?;
        certs::pin_of(&cert)
    }

    /// Replaces a domain's `signer_pins` in `bridge.toml` (one or two pins).
    pub fn set_signer_pins(&self, domain: TrustDomainId, pins: &[String]) -> Result<(), PkiError> {
        let path = self.config_path();
        let text = String::from_utf8(files::read(&path)?).map_err(|_| PkiError::Config("not utf-8".to_owned()))?;
        let mut cfg = config::parse(&text)?;
        let d =
            cfg.trust.get_mut(domain.as_str()).ok_or_else(|| PkiError::Config(format!("no [trust.{domain}] table")))?;
        d.signer_pins = toml::Spanned::new(0..0, pins.to_vec());
        files::write(&path, config::render(&cfg).as_bytes(), false)
    }
}

/// Drops sub-second precision: certificate and list times are whole seconds.
fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).expect("zero is a valid nanosecond").to_offset(time::UtcOffset::UTC)
}
