//! Shared set-up for integration tests: a generated test PKI, its config
//! and a snapshot over the shipped policies and mappings.
#![allow(dead_code)]

use hengqin_bridge::config::{Config, FileError};
use hengqin_bridge::dev::mint::{MintOptions, mint_assertion};
use hengqin_bridge::dev::pki::{Pki, PkiOptions, generate};
use hengqin_bridge::licence::SignedLicence;
use hengqin_bridge::model::{Reason, Rejection};
use hengqin_bridge::pipeline::{OpenSubjectGate, TranslateRequest, process};
use hengqin_bridge::snapshot::Snapshot;
use hengqin_bridge::trust::MemoryReplayGuard;
use tempfile::TempDir;
use time::OffsetDateTime;

/// `GET path` on a node's admin listener, blocking: the whole response,
/// status line first.
pub fn admin_get(addr: impl std::net::ToSocketAddrs, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

pub const CLINIC: &str = "hq-clinic-0001";
pub const VOUCHER: &str = "health-voucher";
pub const GATEWAY: &str = "urn:hengqin-bridge:gateway:dev";

pub struct Env {
    pub tmp: TempDir,
    pub pki: Pki,
    pub config: Config,
    pub snap: Snapshot,
    pub replay: MemoryReplayGuard,
    pub now: OffsetDateTime,
}

impl Env {
    pub fn new() -> Env {
        Env::at(OffsetDateTime::now_utc())
    }

    /// An environment whose PKI, trust lists and requests are all at `now`:
    /// nothing reads the clock, so cases can name fixed dates.
    pub fn at(now: OffsetDateTime) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let pki = generate(&tmp.path().join("pki"), &PkiOptions::new(now)).unwrap();
        let config = Config::load(&pki.config_path(), |_| None).unwrap();
        assert_eq!(config.gateway_id, GATEWAY);
        let snap = Snapshot::load(&config, now).unwrap_or_else(|e| panic!("{e:?}"));
        Env { tmp, pki, config, snap, replay: MemoryReplayGuard::default(), now }
    }

    /// An environment whose config selects the signer backend `name`
    /// (`[signer] backend`), loaded through the config file like any other.
    pub fn with_signer_backend(name: &str) -> Env {
        let mut env = Env::new();
        let path = env.pki.config_path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[signer]\n"), "{text}");
        let text = text.replacen("[signer]\n", &format!("[signer]\nbackend = \"{name}\"\n"), 1);
        std::fs::write(&path, text).unwrap();
        env.config = Config::load(&path, |_| None).unwrap_or_else(|e| panic!("{e:?}"));
        env.reload();
        env
    }

    /// Re-reads the config and every file it names (after a list change).
    pub fn reload(&mut self) {
        self.snap = self.try_reload().unwrap_or_else(|e| panic!("{e:?}"));
    }

    pub fn try_reload(&self) -> Result<Snapshot, Vec<FileError>> {
        let config = Config::load(&self.pki.config_path(), |_| None)?;
        Snapshot::load(&config, self.now)
    }

    pub fn mint(&self, opts: &MintOptions) -> String {
        mint_assertion(&self.pki, opts).unwrap()
    }

    pub fn request<'a>(&self, jws: &'a str) -> TranslateRequest<'a> {
        TranslateRequest { partner: CLINIC, purpose: VOUCHER, format: "", nonce: "", assertion: jws.as_bytes() }
    }

    pub fn process(&self, req: &TranslateRequest<'_>) -> Result<SignedLicence, Rejection> {
        process(req, &self.snap, &self.replay, &OpenSubjectGate, self.now)
    }

    pub fn refuse(&self, req: &TranslateRequest<'_>) -> Reason {
        self.refuse_at(req, self.now)
    }

    pub fn refuse_at(&self, req: &TranslateRequest<'_>, now: OffsetDateTime) -> Reason {
        match process(req, &self.snap, &self.replay, &OpenSubjectGate, now) {
            Ok(l) => panic!("expected a refusal, got licence {}", l.id),
            Err(r) => {
                assert!(!r.detail.contains("陳") && !r.detail.contains("CHAN"), "personal data in {r}");
                r.reason
            }
        }
    }
}
