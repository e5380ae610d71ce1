//! The `bridge.toml` of a generated PKI: a [`ConfigFile`] built in memory
//! and rendered as TOML, so what is written is exactly what the server reads.

use super::PkiError;
use super::layout;
use crate::config::dto::{
    ConfigFile, GatewayDto, IssuerDto, PathsDto, PseudonymDto, ServerDto, SignerDto, StoreDto, TrustDomainDto,
};
use crate::model::{TrustDomainId, gb11714_check, uscc_check};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The gateway id of every generated PKI: minted assertions carry it as `aud`.
pub const GATEWAY_ID: &str = "urn:hengqin-bridge:gateway:dev";
/// The issuing body named in generated configs. Not a registered body.
pub const TEST_ISSUER_NAME: &str = "横琴跨境身份核验测试机构（仅供测试）";
/// GB/T 2260 area code of Zhuhai, where the Hengqin zone is registered.
pub const TEST_AREA_CODE: &str = "440400";

/// A check-valid USCC for test use: registration authority and category
/// `prefix` (2 chars), area (6 digits) and an organisation code starting
/// `MA` that no registry assigned (`MA` + 6 characters).
pub fn test_uscc(prefix: &str, area: &str, org6: &str) -> Option<String> {
    let org8 = format!("MA{org6}");
    let org9 = format!("{org8}{}", gb11714_check(&org8)?);
    let first17 = format!("{prefix}{area}{org9}");
    Some(format!("{first17}{}", uscc_check(&first17)?))
}

/// The issuing body's test USCC (a public institution, 12…, in Zhuhai).
pub fn test_issuer_uscc() -> String {
    test_uscc("12", "440400", "000001").expect("constant test code is well formed")
}

/// The defining body's test USCC (a national public institution, 11…).
pub fn test_defining_body_uscc() -> String {
    test_uscc("11", "100000", "000002").expect("constant test code is well formed")
}

/// The config a fresh PKI gets.
pub(crate) fn initial(policies: &Path, mappings: &Path, mo_pin: String, cn_pin: String) -> ConfigFile {
    let mut trust = BTreeMap::new();
    trust.insert(TrustDomainId::Mo.as_str().to_owned(), domain(layout::MO_TRUST_LIST, mo_pin, true));
    trust.insert(TrustDomainId::CnGd.as_str().to_owned(), domain(layout::CN_TRUST_LIST, cn_pin, false));
    ConfigFile {
        gateway: GatewayDto { id: sp(GATEWAY_ID.to_owned()) },
        issuer: IssuerDto {
            name: TEST_ISSUER_NAME.to_owned(),
            uscc: sp(test_issuer_uscc()),
            defining_body_uscc: sp(test_defining_body_uscc()),
            area_code: sp(TEST_AREA_CODE.to_owned()),
        },
        paths: PathsDto { policies: path_string(policies), mappings: path_string(mappings) },
        signer: SignerDto {
            certificate: layout::CN_BRIDGE_SIGNER.to_owned(),
            key: layout::CN_BRIDGE_SIGNER_KEY.to_owned(),
            backend: None,
        },
        pseudonym: PseudonymDto { key: layout::PSEUDONYM_KEY.to_owned() },
        trust,
        server: Some(ServerDto {
            listen: sp("127.0.0.1:0".to_owned()),
            admin_listen: Some(sp("127.0.0.1:0".to_owned())),
            tls_certificate: layout::SERVER_CERT.to_owned(),
            tls_key: layout::SERVER_KEY.to_owned(),
            max_in_flight: None,
            request_timeout_ms: None,
            drain_seconds: None,
            reload_poll_ms: None,
        }),
        store: Some(StoreDto { path: "state".to_owned() }),
    }
}

fn domain(list: &str, pin: String, require_revocation: bool) -> TrustDomainDto {
    TrustDomainDto {
        source: sp(format!("file:{list}")),
        signer_pins: sp(vec![pin]),
        refresh_seconds: None,
        max_staleness_seconds: None,
        require_revocation,
        https_roots: None,
        crl_urls: None,
        crl_distribution_points: false,
    }
}

/// A value for a DTO built in code (no source position).
fn sp<T>(v: T) -> toml::Spanned<T> {
    toml::Spanned::new(0..0, v)
}

fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A TOML basic string, escaped.
fn s(v: &str) -> String {
    toml::Value::String(v.to_owned()).to_string()
}

/// Renders a config as commented TOML.
pub(crate) fn render(c: &ConfigFile) -> String {
    let mut out = String::new();
    let w = &mut out;
    (|| -> std::fmt::Result {
        writeln!(w, "# Test configuration written by `hengqin-bridge dev pki`. Not for production:")?;
        writeln!(w, "# the issuer codes below are check-valid test values that no registry assigned.")?;
        writeln!(w, "# Relative paths are relative to this file's directory.\n")?;
        writeln!(w, "[gateway]\nid = {}\n", s(c.gateway.id.get_ref()))?;
        writeln!(w, "[issuer]\nname = {}", s(&c.issuer.name))?;
        writeln!(w, "uscc = {}", s(c.issuer.uscc.get_ref()))?;
        writeln!(w, "defining_body_uscc = {}", s(c.issuer.defining_body_uscc.get_ref()))?;
        writeln!(w, "area_code = {}\n", s(c.issuer.area_code.get_ref()))?;
        writeln!(w, "[paths]\npolicies = {}\nmappings = {}\n", s(&c.paths.policies), s(&c.paths.mappings))?;
        writeln!(w, "[signer]\ncertificate = {}\nkey = {}", s(&c.signer.certificate), s(&c.signer.key))?;
        if let Some(b) = &c.signer.backend {
            writeln!(w, "backend = {}", s(b.get_ref()))?;
        }
        writeln!(w)?;
        writeln!(w, "[pseudonym]\nkey = {}", s(&c.pseudonym.key))?;
        if let Some(sv) = &c.server {
            writeln!(w, "\n[server]\nlisten = {}", s(sv.listen.get_ref()))?;
            if let Some(a) = &sv.admin_listen {
                writeln!(w, "admin_listen = {}", s(a.get_ref()))?;
            }
            writeln!(w, "tls_certificate = {}\ntls_key = {}", s(&sv.tls_certificate), s(&sv.tls_key))?;
        }
        if let Some(st) = &c.store {
            writeln!(w, "\n[store]\npath = {}", s(&st.path))?;
        }
        for (id, d) in &c.trust {
            writeln!(w, "\n[trust.{id}]\nsource = {}", s(d.source.get_ref()))?;
            let pins: Vec<String> = d.signer_pins.get_ref().iter().map(|p| s(p)).collect();
            writeln!(w, "signer_pins = [{}]", pins.join(", "))?;
            if let Some(r) = d.refresh_seconds {
                writeln!(w, "refresh_seconds = {r}")?;
            }
            if let Some(m) = d.max_staleness_seconds {
                writeln!(w, "max_staleness_seconds = {m}")?;
            }
            writeln!(w, "require_revocation = {}", d.require_revocation)?;
        }
        Ok(())
    })()
    .expect("writing to a String cannot fail");
    out
}

/// Parses a `bridge.toml`.
pub(crate) fn parse(text: &str) -> Result<ConfigFile, PkiError> {
    toml::from_str(text).map_err(|e| PkiError::Config(e.to_string()))
}
