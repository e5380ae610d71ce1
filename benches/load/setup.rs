//! The world the harness runs in: a test PKI in a temporary directory, two
//! policy directories and a config for each.
//!
//! - `policies-base`: the shipped policies, with the rate limits and daily
//!   quotas of the partners that carry the load raised, so that admission
//!   never refuses them and what is measured is the translation.
//! - `policies-many`: the same plus `extra` generated partners in
//!   `hengqin.toml` (valid entries like the shipped ones, never driven).
//!
//! Both configs share the PKI; each has its own store, so the two servers
//! can run side by side.

use hengqin_bridge::dev::mint::Flow;
use hengqin_bridge::dev::pki::{Pki, PkiOptions, generate, layout};
use hengqin_bridge::model::PartnerId;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use time::OffsetDateTime;

/// The nonce of the partners whose policy requires one.
pub const NONCE: &str = "load-nonce-0001";

/// A partner the harness drives, as the shipped policies define it.
#[derive(Debug, Clone, Copy)]
pub struct LoadPartner {
    pub id: &'static str,
    pub file: &'static str,
    pub flow: Flow,
    /// The request nonce (and the assertion's `nonce` claim); empty = none.
    pub nonce: &'static str,
    /// Rate limits and quota raised out of reach (see [`World`]).
    pub raised: bool,
}

/// The driven partners: the first [`STEADY`] carry the load, one per flow,
/// with raised limits; [`NOISY`] keeps its shipped limits (30/s, burst 60)
/// and floods past them while [`QUIET`] is measured.
pub const PARTNERS: &[LoadPartner] = &[
    LoadPartner { id: "hq-clinic-0001", file: "hengqin.toml", flow: Flow::HealthVoucher, nonce: "", raised: true },
    LoadPartner { id: "hq-ss-window", file: "hengqin.toml", flow: Flow::SocialSecurity, nonce: "", raised: true },
    LoadPartner { id: "gz-insurer-0001", file: "guangzhou.toml", flow: Flow::RealNameKyc, nonce: NONCE, raised: true },
    LoadPartner {
        id: "hq-hospital-0001",
        file: "hengqin.toml",
        flow: Flow::HealthVoucher,
        nonce: NONCE,
        raised: false,
    },
];
pub const STEADY: usize = 3;
pub const QUIET: usize = 0;
pub const NOISY: usize = 3;

/// Limits that admission cannot reach at loopback rates (`rate_per_second`
/// is capped at 10,000 by the policy loader).
const RAISED_LIMITS: [(&str, u32); 3] = [("rate_per_second", 10_000), ("burst", 10_000), ("daily_quota", 100_000_000)];

pub struct World {
    _dir: TempDir,
    pub pki: Pki,
    /// `bridge.toml` over `policies-base`.
    pub base_config: PathBuf,
    /// `bridge-many.toml` over `policies-many`.
    pub many_config: PathBuf,
}

impl World {
    /// `signer`: the `[signer] backend` of both configurations, when not
    /// the default.
    pub fn create(extra_partners: usize, signer: Option<&str>) -> World {
        let now = OffsetDateTime::now_utc();
        let dir = tempfile::tempdir().expect("temporary directory");
        let shipped = dir.path().join("shipped");
        hengqin_bridge::shipped::write_to(&shipped).expect("shipped policies and mappings");

        let base = dir.path().join("policies-base");
        copy_dir(&shipped.join("policies"), &base);
        for p in PARTNERS.iter().filter(|p| p.raised) {
            let path = base.join(p.file);
            let text = std::fs::read_to_string(&path).expect("policy file");
            std::fs::write(&path, raise_limits(&text, p.id)).expect("policy file written");
        }
        let many = dir.path().join("policies-many");
        copy_dir(&base, &many);
        let hengqin = many.join("hengqin.toml");
        let mut text = std::fs::read_to_string(&hengqin).expect("hengqin.toml");
        text.push_str(&extra_partner_entries(extra_partners));
        std::fs::write(&hengqin, text).expect("hengqin.toml written");

        let opts = PkiOptions {
            partners: PARTNERS.iter().map(|p| PartnerId::parse(p.id).expect("partner id")).collect(),
            policies_dir: base.clone(),
            mappings_dir: shipped.join("mappings"),
            now,
        };
        let pki = generate(&dir.path().join("pki"), &opts).expect("test pki");
        let base_config = pki.config_path();
        let many_config = pki.path("bridge-many.toml");
        let mut config = std::fs::read_to_string(&base_config).expect("bridge.toml");
        if let Some(backend) = signer {
            config = replace_once(
                &config,
                "[signer]\n",
                &format!("[signer]\nbackend = {}\n", toml::Value::String(backend.to_owned())),
            );
            std::fs::write(&base_config, &config).expect("bridge.toml written");
        }
        let many_text = replace_once(&config, &toml_string(&base), &toml_string(&many));
        let many_text = replace_once(&many_text, "path = \"state\"", "path = \"state-many\"");
        std::fs::write(&many_config, many_text).expect("bridge-many.toml written");
        World { _dir: dir, pki, base_config, many_config }
    }

    /// PEM files of a driven partner's client identity, and the server CA.
    pub fn client_files(&self, partner: &LoadPartner) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let id = PartnerId::parse(partner.id).expect("partner id");
        let read = |p: PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        (
            read(self.pki.path(layout::SERVER_CA)),
            read(self.pki.path(layout::partner_client_cert(&id))),
            read(self.pki.path(layout::partner_client_key(&id))),
        )
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("directory");
    for entry in std::fs::read_dir(from).expect("readable directory") {
        let entry = entry.expect("directory entry");
        if entry.file_type().expect("file type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("file copied");
        }
    }
}

fn toml_string(path: &Path) -> String {
    toml::Value::String(path.to_string_lossy().into_owned()).to_string()
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "expected exactly one {from:?}");
    text.replacen(from, to, 1)
}

/// Raises the limits in the `[partner.<id>.limits]` table of a policy file.
fn raise_limits(text: &str, partner: &str) -> String {
    let header = format!("[partner.{partner}.limits]");
    let mut inside = false;
    let mut raised = 0;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line.starts_with('[') {
            inside = line.trim() == header;
        }
        let replacement =
            RAISED_LIMITS.iter().find(|(key, _)| inside && line.split('=').next().is_some_and(|k| k.trim() == *key));
        match replacement {
            Some((key, value)) => {
                raised += 1;
                writeln!(out, "{key} = {value}").expect("writing to a String");
            }
            None => writeln!(out, "{line}").expect("writing to a String"),
        }
    }
    assert_eq!(raised, RAISED_LIMITS.len(), "limits of {partner} not found");
    out
}

/// `count` partners in the shape of the shipped Hengqin entries, half on
/// the health-voucher purpose and half on social security.
fn extra_partner_entries(count: usize) -> String {
    let mut out = String::with_capacity(count * 1100);
    for i in 0..count {
        let id = format!("lt-partner-{i:05}");
        let (purpose, formats, authorised_by) = if i % 2 == 0 {
            ("health-voucher", r#"["gbt36903+json"]"#, "澳門特別行政區政府衛生局 (Health Bureau)")
        } else {
            (
                "social-security",
                r#"["gbt36903+json", "gd-license-app+json"]"#,
                "澳門特別行政區社會保障基金 (Social Security Fund)",
            )
        };
        write!(
            out,
            r#"
[partner.{id}]
name = "负载测试伙伴 {i:05}（测试伙伴）"
registered_city = "440400"
role = "controller"
purposes = ["{purpose}"]
formats = {formats}
nonce_required = false
source = "Law 11/2023 art. 2(5); PIPL art. 13(1)"

[partner.{id}.authorisation]
authorised_by = "{authorised_by}"
reference = "LT-{i:05} (load test)"
source = "Law 11/2023 art. 2(5)"

[partner.{id}.transfer]
mechanism = "GBA_SC_MO"
reference = "GBA-SC-MO-440400-LT-{i:05} (load test filing)"
source = "GBA standard contract, Mainland–Macao; PDPA art. 20(1)"

[partner.{id}.limits]
rate_per_second = 20
burst = 40
daily_quota = 5000
source = "PIPL art. 51; PDPA art. 15"
"#
        )
        .expect("writing to a String");
    }
    out
}
