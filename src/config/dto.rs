//! The config file as written (`bridge.toml`): strict serde types. Paths
//! are relative to the config file's directory unless absolute.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub gateway: GatewayDto,
    pub issuer: IssuerDto,
    pub paths: PathsDto,
    pub signer: SignerDto,
    pub pseudonym: PseudonymDto,
    /// Keyed by trust domain id (`MO`, `CN-GD`).
    pub trust: BTreeMap<String, TrustDomainDto>,
    /// The gRPC and admin listeners; required by `serve`, unused offline.
    #[serde(default)]
    pub server: Option<ServerDto>,
    /// The embedded store; required by `serve`, `anchors` and `audit`.
    #[serde(default)]
    pub store: Option<StoreDto>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerDto {
    /// gRPC over mutual TLS, e.g. `127.0.0.1:8443`.
    pub listen: Spanned<String>,
    /// Admin HTTP (`/metrics`, `/healthz`, `/readyz`); loopback by default.
    #[serde(default)]
    pub admin_listen: Option<Spanned<String>>,
    /// PEM server certificate chain and PKCS#8 key (env `HENGQIN_TLS_KEY` overrides the key).
    pub tls_certificate: String,
    pub tls_key: String,
    /// Most requests in flight before shedding with `OVERLOADED` (default 256).
    #[serde(default)]
    pub max_in_flight: Option<u32>,
    /// Per-request deadline in milliseconds (default 5000).
    #[serde(default)]
    pub request_timeout_ms: Option<u64>,
    /// Grace period for draining in-flight requests on SIGTERM, seconds (default 10).
    #[serde(default)]
    pub drain_seconds: Option<u64>,
    /// How often the policy, mapping, trust-list and key files are checked
    /// for changes, milliseconds (default 5000; 0 turns watching off —
    /// SIGHUP still reloads).
    #[serde(default)]
    pub reload_poll_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreDto {
    /// The sled directory.
    pub path: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayDto {
    /// The gateway id: every assertion's `aud` must equal it.
    pub id: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerDto {
    /// Name of the issuing body (证照颁发机构).
    pub name: String,
    /// The issuing body's 统一社会信用代码 (GB 32100, checked).
    pub uscc: Spanned<String>,
    /// The defining body's USCC: licence type codes are this + 3 digits.
    pub defining_body_uscc: Spanned<String>,
    /// GB/T 2260 area code (6 digits).
    pub area_code: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathsDto {
    pub policies: String,
    pub mappings: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerDto {
    /// PEM SM2 certificate of the bridge signer.
    pub certificate: String,
    /// PKCS#8 PEM SM2 private key (env `HENGQIN_SIGNER_KEY` overrides).
    pub key: String,
    /// `openssl` (default) or `rustcrypto`: which implementation signs.
    #[serde(default)]
    pub backend: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymDto {
    /// File holding 32 random bytes in hex (env `HENGQIN_PSEUDONYM_KEY` overrides).
    pub key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustDomainDto {
    /// `file:<path>` or `https://…`.
    pub source: Spanned<String>,
    /// Lower-case hex SHA-256 of each pinned list signer certificate's DER (1 or 2).
    pub signer_pins: Spanned<Vec<String>>,
    /// Poll interval in seconds (default 60).
    #[serde(default)]
    pub refresh_seconds: Option<u64>,
    /// After this many seconds without a fresh list the domain fails closed.
    #[serde(default)]
    pub max_staleness_seconds: Option<u64>,
    /// When true a missing or expired CRL for a chain fails closed.
    #[serde(default)]
    pub require_revocation: bool,
    /// PEM CA certificates the `https://` source's server certificate must
    /// chain to (required for an `https://` source).
    #[serde(default)]
    pub https_roots: Option<Spanned<String>>,
    /// CRLs fetched beside the list (`file:`, `http://`, `https://`), each
    /// cached with its `nextUpdate`; they add to the CRLs the list carries.
    #[serde(default)]
    pub crl_urls: Option<Spanned<Vec<String>>>,
    /// Also fetch the CRLs named in the distribution-point extension of the
    /// list's entry certificates (default false).
    #[serde(default)]
    pub crl_distribution_points: bool,
}
