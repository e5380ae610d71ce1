//! The files in `deploy/` are part of the product: each is loaded and
//! checked here against the code it configures.
//!
//! - `config`: `deploy/bridge.toml` documents every key the config reads,
//!   and passes `check --config` once its paths point at a `dev pki`.
//! - `systemd`: the unit passes `systemd-analyze verify` (no warnings) and
//!   keeps its sandbox.
//! - `container`: the Containerfile's essentials (it cannot be built here).
//! - `k8s`: the manifests parse and agree with each other, with the config
//!   and with the shipped policies and mappings; their volumes, laid out as
//!   the kubelet lays them out, pass `check`.
//! - `docs`: `deploy/README.md` explains every reason code and metric.

mod config;
mod container;
mod docs;
mod k8s;
mod systemd;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_hengqin-bridge");

/// Where the example configuration puts everything but the store.
pub const ETC: &str = "/etc/hengqin-bridge";
/// The store of the example configuration.
pub const STATE: &str = "/var/lib/hengqin-bridge";

pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn read(rel: &str) -> String {
    std::fs::read_to_string(repo(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn bridge(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("the binary runs")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A trust-list signer pin as an operator computes it:
/// `openssl x509 -in FILE -outform DER | sha256sum`.
pub fn pin_of(pem: &Path) -> String {
    let cert = openssl::x509::X509::from_pem(&std::fs::read(pem).unwrap()).unwrap();
    hex::encode(openssl::sha::sha256(&cert.to_der().unwrap()))
}

/// `text` (a config naming `/etc/hengqin-bridge/…` and
/// `/var/lib/hengqin-bridge`) with those prefixes moved under `root`, and
/// its placeholder pins replaced by the pins of the `dev pki` in `pki`.
pub fn rooted(text: &str, root: &Path, pki: &Path) -> String {
    let mut out = text
        .replace(ETC, &root.join(&ETC[1..]).display().to_string())
        .replace(STATE, &root.join(&STATE[1..]).display().to_string());
    for (placeholder, domain) in [("0", "mo"), ("1", "cn-gd")] {
        let pin = pin_of(&pki.join(domain).join("list-signer.pem"));
        out = out.replace(&format!("[\"{}\"]", placeholder.repeat(64)), &format!("[\"{pin}\"]"));
    }
    out
}

/// `dev pki` run into `dir`, as deploy/README.md tells an operator to.
pub fn dev_pki(dir: &Path) {
    let out = bridge(&["dev", "pki", dir.to_str().unwrap()]);
    assert!(out.status.success(), "dev pki: {}", text(&out.stderr));
}
