//! The real node for end-to-end tests: a generated test PKI (over the
//! shipped policies, or over a copy of them with other limits),
//! `app::run` on 127.0.0.1:0, a gRPC client per partner over mutual TLS,
//! the admin listener over plain HTTP, and stop / restart on the same store.
#![allow(dead_code)]

use hengqin_bridge::config::Config;
use hengqin_bridge::dev::mint::{Flow, MintOptions, mint_assertion};
use hengqin_bridge::dev::pki::{Pki, PkiOptions, generate, layout};
use hengqin_bridge::model::PartnerId;
use hengqin_bridge::service::BoundAddrs;
use hengqin_bridge::service::client;
use hengqin_bridge::service::pb::TranslateRequest;
use hengqin_bridge::service::pb::bridge_client::BridgeClient;
use hengqin_bridge::store::Store;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tempfile::TempDir;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::transport::Channel;

pub type Client = BridgeClient<Channel>;

/// A Bridge client at `grpc` presenting `partner`'s client certificate
/// from `pki`, trusting `pki`'s server CA.
pub async fn connect(pki: &Pki, grpc: std::net::SocketAddr, partner: &str) -> Client {
    let id = PartnerId::parse(partner).unwrap();
    let read = |rel: PathBuf| std::fs::read(pki.path(rel)).unwrap();
    let (cert, key) = (read(layout::partner_client_cert(&id)), read(layout::partner_client_key(&id)));
    client::connect(grpc, &read(PathBuf::from(layout::SERVER_CA)), &cert, &key).await.unwrap()
}

/// `ErrorInfo.domain` of every refusal (DESIGN §7).
pub const DOMAIN: &str = "hengqin-bridge";

/// The sample person's name in both scripts, his document numbers and his
/// birth date: none may appear in a status message.
pub const SAMPLE_PERSONAL_DATA: &[&str] =
    &["陳大文", "陈大文", "CHAN TAI MAN", "12345678", "M12345678", "10234567", "1980-05-17"];

/// A partner's `[partner.X.limits]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub rate_per_second: u32,
    pub burst: u32,
    pub daily_quota: u32,
}

/// How long a stop may take before the test gives up (a hang guard, not
/// an assertion about speed).
const STOP_GUARD: Duration = Duration::from_secs(30);

/// A node and its PKI. The store lives in the PKI directory, so a restart
/// finds the replay ids, the quota counts and the audit chain it left.
pub struct TestNode {
    _tmp: TempDir,
    pub pki: Pki,
    pub addrs: BoundAddrs,
    running: Option<hengqin_bridge::app::Spawned>,
    subjects: Mutex<Vec<String>>,
}

impl TestNode {
    /// A PKI over the shipped policies; not started.
    pub fn new() -> TestNode {
        TestNode::with_limits(&[])
    }

    /// A PKI over a copy of the shipped policies in which each named
    /// partner has the given limits; not started.
    pub fn with_limits(limits: &[(&str, Limits)]) -> TestNode {
        let tmp = tempfile::tempdir().unwrap();
        let mut opts = PkiOptions::new(OffsetDateTime::now_utc());
        if !limits.is_empty() {
            let policies = tmp.path().join("policies");
            copy_policies(&opts.policies_dir, &policies);
            for (partner, l) in limits {
                set_limits(&policies, partner, *l);
            }
            opts.policies_dir = policies;
        }
        let pki = generate(&tmp.path().join("pki"), &opts).unwrap();
        let unbound = BoundAddrs { grpc: ([127, 0, 0, 1], 0).into(), admin: ([127, 0, 0, 1], 0).into() };
        TestNode { _tmp: tmp, pki, addrs: unbound, running: None, subjects: Mutex::new(Vec::new()) }
    }

    /// [`TestNode::new`], started.
    pub async fn started() -> TestNode {
        let mut node = TestNode::new();
        node.start().await;
        node
    }

    /// Reads `bridge.toml` and every file it names, and runs the node until
    /// [`TestNode::stop`]. Listeners get fresh ports each time.
    pub async fn start(&mut self) {
        assert!(self.running.is_none(), "the node is already running");
        let config = Config::load(&self.pki.config_path(), |_| None).unwrap();
        let node =
            hengqin_bridge::app::spawn(config, None).await.unwrap_or_else(|e| panic!("the node did not bind: {e:#}"));
        self.addrs = node.addrs;
        self.running = Some(node);
    }

    /// Shuts the node down and waits until `app::run` has drained and
    /// flushed; it must end without error, the store closed behind it.
    pub async fn stop(&mut self) {
        let node = self.running.take().expect("the node is running");
        let ended = tokio::time::timeout(STOP_GUARD, node.stop()).await.expect("the node stops");
        ended.expect("the node shut down cleanly");
        let lock = std::fs::OpenOptions::new().write(true).open(self.store_path().join("bridge.lock")).unwrap();
        assert!(lock.try_lock().is_ok(), "app::run returned with the store still open");
    }

    /// Stops the node and starts it again on the same store (and on
    /// whatever PKI files changed meanwhile).
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start().await;
    }

    /// The node's store, opened directly: only while the node is stopped.
    pub fn store(&self) -> Store {
        assert!(self.running.is_none(), "the store is held by the running node");
        Store::open_existing(&self.store_path()).unwrap()
    }

    fn store_path(&self) -> PathBuf {
        let config = Config::load(&self.pki.config_path(), |_| None).unwrap();
        config.store.expect("the config names a store").path
    }

    fn read(&self, rel: impl AsRef<Path>) -> Vec<u8> {
        std::fs::read(self.pki.path(rel)).unwrap()
    }

    /// A Bridge client presenting `partner`'s client certificate.
    pub async fn client(&self, partner: &str) -> Client {
        connect(&self.pki, self.addrs.grpc, partner).await
    }

    /// A client certificate, under the partner CA, for an id no policy
    /// names.
    pub fn issue_stranger(&self, id: &str) {
        self.pki.issue_partner(&PartnerId::parse(id).unwrap()).unwrap();
    }

    /// Sample claims for `flow` at the current time about a data subject
    /// of its own: a BIR number no other request of this node used, so the
    /// per-subject limit (3 at once per partner) never decides a case.
    pub fn fresh(&self, flow: Flow) -> MintOptions {
        let mut subjects = self.subjects.lock().unwrap();
        let bir = format!("5{:07}", subjects.len() + 1);
        subjects.push(bir.clone());
        MintOptions::new(flow, OffsetDateTime::now_utc()).set("person.bir_number", json!(bir))
    }

    pub fn mint(&self, opts: &MintOptions) -> String {
        mint_assertion(&self.pki, opts).unwrap()
    }

    /// Every value about a person this node's assertions carried.
    pub fn personal_data(&self) -> Vec<String> {
        let mut all: Vec<String> = SAMPLE_PERSONAL_DATA.iter().map(|s| (*s).to_owned()).collect();
        all.extend(self.subjects.lock().unwrap().iter().cloned());
        all
    }

    /// `GET path` on the admin listener: the status code and the body.
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        let mut tcp = TcpStream::connect(self.addrs.admin).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addrs.admin);
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").expect("a complete HTTP response");
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
        (status, body.to_owned())
    }
}

/// A request as a partner sends it; no nonce, no request id.
pub fn request(purpose: &str, format: &str, assertion: String) -> TranslateRequest {
    TranslateRequest {
        assertion,
        purpose: purpose.to_owned(),
        output_format: format.to_owned(),
        nonce: String::new(),
        request_id: String::new(),
    }
}

fn copy_policies(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

/// Rewrites the three numbers of `[partner.<id>.limits]` in whichever
/// policy file holds it.
fn set_limits(dir: &Path, partner: &str, l: Limits) {
    let header = format!("[partner.{partner}.limits]");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.lines().any(|line| line.trim() == header) {
            continue;
        }
        let mut inside = false;
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                if line.starts_with('[') {
                    inside = line.trim() == header;
                }
                let key = line.split('=').next().unwrap_or("").trim();
                let value = match key {
                    "rate_per_second" => l.rate_per_second,
                    "burst" => l.burst,
                    "daily_quota" => l.daily_quota,
                    _ => return line.to_owned(),
                };
                if inside { format!("{key} = {value}") } else { line.to_owned() }
            })
            .collect();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        return;
    }
    panic!("no policy file has {header}");
}

/// Log output kept in memory (a `tracing` writer for tests that read the
/// node's logs).
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
