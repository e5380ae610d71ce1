//! The server configuration: `bridge.toml` read strictly into [`dto`] and
//! validated into [`Config`], every problem reported at once as
//! `file:line: message`.

pub mod dto;

pub use crate::file_error::FileError;
use crate::licence::record::IssuingBody;
use crate::model::{TrustDomainId, Uscc};
use crate::signing::SignerBackend;
use std::ops::Range;
use std::path::{Path, PathBuf};
use time::Duration;

/// Default trust-list poll interval.
pub const DEFAULT_REFRESH: Duration = Duration::seconds(60);
/// Environment variable that overrides the signer key path.
pub const ENV_SIGNER_KEY: &str = "HENGQIN_SIGNER_KEY";
/// Environment variable that overrides the pseudonym key path.
pub const ENV_PSEUDONYM_KEY: &str = "HENGQIN_PSEUDONYM_KEY";

/// Where a trust list comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListSource {
    File(PathBuf),
    Https(String),
}

/// One trust domain's settings.
#[derive(Debug, Clone)]
pub struct TrustDomainConfig {
    pub domain: TrustDomainId,
    pub source: ListSource,
    pub pins: Vec<String>,
    pub refresh: Duration,
    pub max_staleness: Option<Duration>,
    pub require_revocation: bool,
    /// Roots for an `https://` source's server certificate.
    pub https_roots: Option<PathBuf>,
    /// Extra CRL sources: `file:ABSOLUTE-PATH`, `http://…` or `https://…`.
    pub crl_urls: Vec<String>,
    /// Fetch the CRLs named by the entry certificates' distribution points.
    pub crl_distribution_points: bool,
}

/// Environment variable that overrides the TLS server key path.
pub const ENV_TLS_KEY: &str = "HENGQIN_TLS_KEY";
/// Default in-flight cap.
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 256;
/// Default file-change poll interval for reload, milliseconds.
pub const DEFAULT_RELOAD_POLL_MS: u64 = 5000;
/// Default admin listener.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9090";

/// The server's listeners and limits.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: std::net::SocketAddr,
    pub admin_listen: std::net::SocketAddr,
    pub tls_certificate: PathBuf,
    pub tls_key: PathBuf,
    pub max_in_flight: u32,
    pub request_timeout: Duration,
    pub drain: Duration,
    /// File-change polling for reload; `None` when turned off.
    pub reload_poll: Option<Duration>,
}

/// The embedded store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub path: PathBuf,
}

/// A validated configuration. Paths are absolute.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub gateway_id: String,
    pub issuer: IssuingBody,
    pub policies_dir: PathBuf,
    pub mappings_dir: PathBuf,
    pub signer_certificate: PathBuf,
    pub signer_key: PathBuf,
    pub signer_backend: SignerBackend,
    pub pseudonym_key: PathBuf,
    pub trust: Vec<TrustDomainConfig>,
    pub server: Option<ServerConfig>,
    pub store: Option<StoreConfig>,
}

impl Config {
    /// Reads and validates a config file; `env` looks up the overriding
    /// environment variables (pass `|k| std::env::var(k).ok()`).
    pub fn load(file: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Config, Vec<FileError>> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| vec![FileError::new(file.display().to_string(), None, format!("cannot read: {e}"))])?;
        Config::parse(file, &text, env)
    }

    /// Validates config text as if read from `file`.
    pub fn parse(file: &Path, text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Config, Vec<FileError>> {
        let name = file.display().to_string();
        let dto: dto::ConfigFile = toml::from_str(text)
            .map_err(|e| vec![FileError::at(&*name, text, e.span().map(|s| s.start), e.message().trim().to_owned())])?;
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = std::path::absolute(&base).unwrap_or(base);
        let resolve = |p: &str| if Path::new(p).is_absolute() { PathBuf::from(p) } else { base.join(p) };
        let mut errors = Vec::new();
        let err = |span: Range<usize>, msg: String| FileError::at(&*name, text, Some(span.start), msg);

        let gateway_id = dto.gateway.id.get_ref().trim().to_owned();
        if gateway_id.is_empty() || gateway_id.len() > 256 {
            errors.push(err(dto.gateway.id.span(), "gateway.id must be 1–256 characters".into()));
        }
        let uscc = |s: &toml::Spanned<String>, what: &str, errors: &mut Vec<FileError>| match Uscc::parse(s.get_ref()) {
            Ok(u) => Some(u),
            Err(e) => {
                errors.push(err(s.span(), format!("{what} is not a valid 统一社会信用代码: {e}")));
                None
            }
        };
        let issuer_uscc = uscc(&dto.issuer.uscc, "issuer.uscc", &mut errors);
        let defining = uscc(&dto.issuer.defining_body_uscc, "issuer.defining_body_uscc", &mut errors);
        let area = dto.issuer.area_code.get_ref();
        if area.len() != 6 || !area.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(err(dto.issuer.area_code.span(), "issuer.area_code must be a 6-digit GB/T 2260 code".into()));
        }
        if dto.issuer.name.trim().is_empty() || dto.issuer.name.chars().count() > 512 {
            errors.push(FileError::new(&*name, None, "issuer.name must be 1–512 characters"));
        }

        let signer_backend = match &dto.signer.backend {
            None => SignerBackend::default(),
            Some(v) => SignerBackend::parse(v.get_ref()).unwrap_or_else(|| {
                let names: Vec<&str> = SignerBackend::ALL.iter().map(|b| b.as_str()).collect();
                let msg = format!("signer.backend {:?} is not one of {}", v.get_ref(), names.join(", "));
                errors.push(err(v.span(), msg));
                SignerBackend::default()
            }),
        };

        let mut trust = Vec::new();
        for (domain_name, d) in &dto.trust {
            let line = text.find(&format!("[trust.{domain_name}]"));
            let domain = match domain_name.as_str() {
                "MO" => TrustDomainId::Mo,
                "CN-GD" => TrustDomainId::CnGd,
                _ => {
                    errors.push(FileError::at(&*name, text, line, format!("unknown trust domain {domain_name:?}")));
                    continue;
                }
            };
            let src = d.source.get_ref();
            let source = if let Some(p) = src.strip_prefix("file:") {
                ListSource::File(resolve(p))
            } else if src.starts_with("https://") {
                ListSource::Https(src.clone())
            } else {
                errors.push(err(
                    d.source.span(),
                    format!("trust.{domain_name}.source must start with file: or https://"),
                ));
                continue;
            };
            let pins = d.signer_pins.get_ref();
            let pins_ok = (1..=2).contains(&pins.len())
                && pins
                    .iter()
                    .all(|p| p.len() == 64 && p.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            if !pins_ok {
                errors.push(err(
                    d.signer_pins.span(),
                    format!("trust.{domain_name}.signer_pins must hold 1 or 2 lower-case hex SHA-256 digests"),
                ));
            }
            let https_roots = d.https_roots.as_ref().map(|r| resolve(r.get_ref()));
            if matches!(source, ListSource::Https(_)) && https_roots.is_none() {
                errors.push(err(
                    d.source.span(),
                    format!("trust.{domain_name}.https_roots must name the CA certificates of an https:// source"),
                ));
            }
            let mut crl_urls = Vec::new();
            for u in d.crl_urls.as_ref().map(|u| u.get_ref().as_slice()).unwrap_or_default() {
                if let Some(p) = u.strip_prefix("file:") {
                    crl_urls.push(format!("file:{}", resolve(p).display()));
                } else if u.starts_with("http://") || u.starts_with("https://") {
                    crl_urls.push(u.clone());
                } else {
                    let span = d.crl_urls.as_ref().map_or(0..0, |u| u.span());
                    errors.push(err(
                        span,
                        format!("trust.{domain_name}.crl_urls: {u:?} is not file:, http:// or https://"),
                    ));
                }
            }
            trust.push(TrustDomainConfig {
                domain,
                source,
                https_roots,
                crl_urls,
                crl_distribution_points: d.crl_distribution_points,
                pins: pins.clone(),
                refresh: d.refresh_seconds.map_or(DEFAULT_REFRESH, |s| Duration::seconds(s.clamp(1, 86_400) as i64)),
                max_staleness: d.max_staleness_seconds.map(|s| Duration::seconds(s.min(i64::MAX as u64) as i64)),
                require_revocation: d.require_revocation,
            });
        }
        if !dto.trust.contains_key("MO") {
            errors.push(FileError::new(&*name, None, "trust.MO is required: assertions cannot be checked without it"));
        }
        if !dto.trust.contains_key("CN-GD") {
            errors.push(FileError::new(
                &*name,
                None,
                "trust.CN-GD is required: the signer chain is checked against it",
            ));
        }
        let addr = |v: &toml::Spanned<String>, what: &str, errors: &mut Vec<FileError>| {
            v.get_ref().parse::<std::net::SocketAddr>().map_err(|_| {
                errors.push(err(v.span(), format!("{what} must be an address:port such as 127.0.0.1:8443")))
            })
        };
        let server = dto.server.as_ref().and_then(|sv| {
            let listen = addr(&sv.listen, "server.listen", &mut errors).ok()?;
            let admin_listen = match &sv.admin_listen {
                Some(a) => addr(a, "server.admin_listen", &mut errors).ok()?,
                None => DEFAULT_ADMIN_LISTEN.parse().ok()?,
            };
            if sv.max_in_flight == Some(0) {
                errors.push(FileError::new(&*name, None, "server.max_in_flight must be at least 1"));
            }
            Some(ServerConfig {
                listen,
                admin_listen,
                tls_certificate: resolve(&sv.tls_certificate),
                tls_key: env(ENV_TLS_KEY).map_or_else(|| resolve(&sv.tls_key), PathBuf::from),
                max_in_flight: sv.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT).max(1),
                request_timeout: Duration::milliseconds(sv.request_timeout_ms.unwrap_or(5000).clamp(1, 600_000) as i64),
                drain: Duration::seconds(sv.drain_seconds.unwrap_or(10).min(3600) as i64),
                reload_poll: match sv.reload_poll_ms.unwrap_or(DEFAULT_RELOAD_POLL_MS) {
                    0 => None,
                    ms => Some(Duration::milliseconds(ms.clamp(100, 3_600_000) as i64)),
                },
            })
        });
        let store = dto.store.as_ref().map(|st| StoreConfig { path: resolve(&st.path) });
        if !errors.is_empty() {
            return Err(errors);
        }
        let (Some(uscc), Some(defining_body)) = (issuer_uscc, defining) else { unreachable!("errors were reported") };
        Ok(Config {
            file: file.to_path_buf(),
            gateway_id,
            issuer: IssuingBody {
                name: dto.issuer.name.trim().to_owned(),
                uscc,
                defining_body,
                area_code: area.clone(),
            },
            policies_dir: resolve(&dto.paths.policies),
            mappings_dir: resolve(&dto.paths.mappings),
            signer_certificate: resolve(&dto.signer.certificate),
            signer_key: env(ENV_SIGNER_KEY).map_or_else(|| resolve(&dto.signer.key), PathBuf::from),
            signer_backend,
            pseudonym_key: env(ENV_PSEUDONYM_KEY).map_or_else(|| resolve(&dto.pseudonym.key), PathBuf::from),
            trust,
            server,
            store,
        })
    }
}

#[cfg(test)]
mod tests;
