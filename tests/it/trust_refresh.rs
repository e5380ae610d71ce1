//! Trust lists fetched over HTTPS while the node serves (DESIGN §3): a
//! local list server on loopback (rustls, the test PKI's server
//! certificate) publishes the MO list; the node refreshes every second.
//!
//! - fresh → source down (held list serves) → restart from the sled cache
//!   → stale after `max_staleness` (`TRUST_STALE`, not ready, metrics) →
//!   recovery when the source returns;
//! - a rollback, a tampered list and a list by an unpinned signer are
//!   refused and the held list keeps serving; a list revoking the assertion
//!   signer is taken without restart (`CERT_REVOKED`);
//! - rotation drill: two pins with overlap, a list from the next signer,
//!   the old signer dropped; a new assertion-issuer CA added inside a list
//!   is trusted without restart;
//! - CRLs fetched beside a list count like carried ones;
//! - a partner certificate revoked in a refreshed CN-GD list fails the
//!   TLS handshake of new connections, without a restart.

use crate::node::{TestNode, request};
use hengqin_bridge::dev::mint::{Flow, MintOptions};
use hengqin_bridge::dev::pki::{CrlChoice, ListSigner, SignerKind, TrustListEntry, TrustListSpec};
use hengqin_bridge::model::TrustDomainId;
use hengqin_bridge::service::pb::GetTrustStatusRequest;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic_types::StatusExt;

/// What the list server answers.
#[derive(Clone)]
enum Serve {
    /// The MO list file of the PKI, read at each request.
    File(PathBuf),
    /// These bytes.
    Bytes(Vec<u8>),
    /// 503.
    Down,
}

/// A one-route HTTPS server: whatever `serve` says, for any GET.
struct ListServer {
    addr: std::net::SocketAddr,
    serve: Arc<Mutex<Serve>>,
    task: tokio::task::JoinHandle<()>,
}

impl ListServer {
    async fn start(n: &TestNode) -> ListServer {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(n.pki.path("server/server.pem")).unwrap().map(Result::unwrap).collect();
        let key = PrivateKeyDer::from_pem_file(n.pki.path("server/server.key")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serve = Arc::new(Mutex::new(Serve::File(n.pki.path("mo/trust-list.jws"))));
        let shared = serve.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let (acceptor, shared) = (acceptor.clone(), shared.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => head.extend_from_slice(&buf[..k]),
                        }
                    }
                    let serve = shared.lock().unwrap().clone();
                    let wants_crl = String::from_utf8_lossy(&head).lines().next().is_some_and(|l| l.contains(".crl "));
                    let (status, body) = match serve {
                        // CRLs sit next to the list file, under their own names.
                        Serve::File(p) if wants_crl => {
                            ("200 OK", std::fs::read(p.with_file_name("issuing-ca.crl")).unwrap())
                        }
                        Serve::File(p) => ("200 OK", std::fs::read(p).unwrap()),
                        Serve::Bytes(b) => ("200 OK", b),
                        Serve::Down => ("503 Service Unavailable", b"down\n".to_vec()),
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/jose\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = tls.write_all(head.as_bytes()).await;
                    let _ = tls.write_all(&body).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        ListServer { addr, serve, task }
    }

    fn set(&self, s: Serve) {
        *self.serve.lock().unwrap() = s;
    }

    fn serve_file(&self, n: &TestNode) {
        self.set(Serve::File(n.pki.path("mo/trust-list.jws")));
    }
}

impl Drop for ListServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Points the node's MO domain at the list server, refreshing every second.
fn use_https(n: &TestNode, server: &ListServer, max_staleness: Option<u64>, require_revocation: bool) {
    use_https_with(n, server, max_staleness, require_revocation, "");
}

fn use_https_with(
    n: &TestNode,
    server: &ListServer,
    max_staleness: Option<u64>,
    require_revocation: bool,
    extra: &str,
) {
    let path = n.pki.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let (head, mo) = text.split_once("[trust.MO]").unwrap();
    let mo_rest = mo.split_once("\n[").map_or(String::new(), |(_, rest)| format!("\n[{rest}"));
    let pins = mo.lines().find(|l| l.starts_with("signer_pins")).unwrap();
    let staleness = max_staleness.map_or(String::new(), |s| format!("max_staleness_seconds = {s}\n"));
    let section = format!(
        "[trust.MO]\nsource = \"https://{}/mo/trust-list.jws\"\nhttps_roots = \"server/ca.pem\"\n{pins}\n\
         refresh_seconds = 1\n{staleness}require_revocation = {require_revocation}\n{extra}",
        server.addr
    );
    std::fs::write(&path, format!("{head}{section}{mo_rest}")).unwrap();
}

/// Waits (bounded) until `check` holds.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "not within 30 s: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The MO domain as `GetTrustStatus` reports it.
async fn mo_status(n: &TestNode) -> hengqin_bridge::service::pb::DomainStatus {
    let mut c = n.client("hq-clinic-0001").await;
    let s = c.get_trust_status(GetTrustStatusRequest {}).await.unwrap().into_inner();
    s.domains.into_iter().find(|d| d.id == "MO").unwrap()
}

/// A voucher request's outcome: `Ok(())` or the reason code.
async fn voucher(n: &TestNode, opts: MintOptions) -> Result<(), String> {
    let mut c = n.client("hq-clinic-0001").await;
    match c.translate(request("health-voucher", "", n.mint(&opts))).await {
        Ok(_) => Ok(()),
        Err(s) => Err(s.get_details_error_info().map(|i| i.reason).unwrap_or_else(|| format!("{:?}", s.code()))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_then_cached_then_stale_then_recovered() {
    let mut n = TestNode::new();
    let server = ListServer::start(&n).await;
    use_https(&n, &server, Some(8), true);
    n.start().await;
    let first = mo_status(&n).await;
    assert!(first.fresh && first.last_error.is_empty(), "{first:?}");
    assert_eq!(voucher(&n, n.fresh(Flow::HealthVoucher)).await, Ok(()));

    // The source goes down: the held list keeps serving, the error shows.
    server.set(Serve::Down);
    eventually("the failure is reported", async || mo_status(&n).await.last_error.contains("503")).await;
    assert_eq!(voucher(&n, n.fresh(Flow::HealthVoucher)).await, Ok(()));

    // A restart with the source still down starts from the sled cache.
    n.restart().await;
    let cached = mo_status(&n).await;
    assert_eq!(cached.sequence, first.sequence);
    assert!(cached.fresh, "{cached:?}");
    assert_eq!(n.admin_get("/readyz").await.0, 200);

    // max_staleness (8 s) after the last confirmation: fail closed.
    eventually("the domain goes stale", async || !mo_status(&n).await.fresh).await;
    assert_eq!(voucher(&n, n.fresh(Flow::HealthVoucher)).await, Err("TRUST_STALE".into()));
    assert_eq!(n.admin_get("/readyz").await.0, 503);
    let metrics = n.admin_get("/metrics").await.1;
    assert!(metrics.contains("hengqin_bridge_trust_fresh{domain=\"MO\"} 0"), "{metrics}");
    let mut health = tonic_health::pb::health_client::HealthClient::new(
        hengqin_bridge::service::client::channel(
            n.addrs.grpc,
            &std::fs::read(n.pki.path("server/ca.pem")).unwrap(),
            Some((
                &std::fs::read(n.pki.path("partners/hq-clinic-0001/client.pem")).unwrap(),
                &std::fs::read(n.pki.path("partners/hq-clinic-0001/client.key")).unwrap(),
            )),
        )
        .await
        .unwrap(),
    );
    eventually("gRPC health says not serving", async || {
        let r = health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.unwrap();
        r.into_inner().status == tonic_health::pb::health_check_response::ServingStatus::NotServing as i32
    })
    .await;

    // The source returns: fresh again without a restart.
    server.serve_file(&n);
    eventually("the domain recovers", async || mo_status(&n).await.fresh).await;
    assert_eq!(voucher(&n, n.fresh(Flow::HealthVoucher)).await, Ok(()));
    assert_eq!(n.admin_get("/readyz").await.0, 200);
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_lists_leave_the_held_one_serving_and_a_revocation_applies_at_once() {
    let mut n = TestNode::new();
    let server = ListServer::start(&n).await;
    use_https(&n, &server, None, true);
    let generated = std::fs::read(n.pki.path("mo/trust-list.jws")).unwrap();
    n.start().await;
    let start = mo_status(&n).await.sequence;

    // A newer list is taken.
    let newer = n.pki.next_list_spec(TrustDomainId::Mo).unwrap();
    n.pki.write_trust_list(TrustDomainId::Mo, &newer).unwrap();
    eventually("the newer list is taken", async || mo_status(&n).await.sequence == start + 1).await;

    // Rollback to the generated (lower) sequence.
    server.set(Serve::Bytes(generated.clone()));
    eventually("the rollback is refused", async || mo_status(&n).await.last_error.contains("below the accepted")).await;
    // A tampered list: one payload character changed.
    let current = std::fs::read(n.pki.path("mo/trust-list.jws")).unwrap();
    let mut tampered = current.clone();
    let dot = tampered.iter().position(|b| *b == b'.').unwrap();
    tampered[dot + 5] = if tampered[dot + 5] == b'A' { b'B' } else { b'A' };
    server.set(Serve::Bytes(tampered));
    eventually("the tampered list is refused", async || mo_status(&n).await.last_error.contains("list refused")).await;
    // A list signed by a key nobody pinned.
    let unpinned = TrustListSpec { signer: ListSigner::Unpinned, ..n.pki.next_list_spec(TrustDomainId::Mo).unwrap() };
    server.set(Serve::Bytes(n.pki.trust_list(TrustDomainId::Mo, &unpinned).unwrap().into_bytes()));
    eventually("the unpinned list is refused", async || mo_status(&n).await.last_error.contains("not pinned")).await;
    let status = mo_status(&n).await;
    assert_eq!((status.sequence, status.fresh), (start + 1, true), "the held list serves");
    assert_eq!(voucher(&n, n.fresh(Flow::HealthVoucher)).await, Ok(()));

    // The assertion signer is revoked in the next list: refused at once.
    server.serve_file(&n);
    n.pki.revoke_assertion_signer().unwrap();
    eventually("the revocation is taken", async || mo_status(&n).await.sequence == start + 2).await;
    assert_eq!(voucher(&n, n.fresh(Flow::HealthVoucher)).await, Err("CERT_REVOKED".into()));
    // An operator's refresh answers with the status after fetching.
    let (code, body) = admin_post(&n, "/trust/refresh").await;
    assert_eq!(code, 200, "{body}");
    let domains: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(domains.as_array().unwrap().iter().any(|d| d["domain"] == "MO" && d["sequence"] == start + 2));
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_drill_with_overlapping_pins_and_an_issuer_rollover() {
    let mut n = TestNode::new();
    let server = ListServer::start(&n).await;
    // No revocation requirement: the second issuing CA below has no CRL.
    use_https(&n, &server, None, false);
    n.start().await;
    let start = mo_status(&n).await.sequence;

    // The operator pins the next list signer beside the current one.
    let old_pin = n.pki.list_signer_pin(TrustDomainId::Mo).unwrap();
    let next_pin = n.pki.add_next_list_signer(TrustDomainId::Mo).unwrap();
    n.pki.set_signer_pins(TrustDomainId::Mo, &[old_pin.clone(), next_pin.clone()]).unwrap();
    use_https(&n, &server, None, false);
    n.restart().await;
    // The publisher switches to the next signer: taken.
    let by_next = TrustListSpec { signer: ListSigner::Next, ..n.pki.next_list_spec(TrustDomainId::Mo).unwrap() };
    n.pki.write_trust_list(TrustDomainId::Mo, &by_next).unwrap();
    eventually("the next signer's list is taken", async || mo_status(&n).await.sequence == start + 1).await;

    // A new assertion-issuer CA appears in a list: its signers are trusted
    // without a restart.
    let rolled = MintOptions { signer: SignerKind::UntrustedRoot, ..n.fresh(Flow::HealthVoucher) };
    assert_eq!(voucher(&n, rolled.clone()).await, Err("UNTRUSTED_CHAIN".into()));
    let g2 = n.pki.signer(SignerKind::UntrustedRoot).unwrap();
    let mut entries = n.pki.default_entries(TrustDomainId::Mo).unwrap();
    entries.push(
        TrustListEntry::for_certificate(
            "dsi-eid-g2",
            "eid-assertion-issuer",
            &["https://eid.dsi.gov.mo"],
            g2.chain.last().unwrap(),
        )
        .unwrap(),
    );
    let spec = TrustListSpec {
        signer: ListSigner::Next,
        entries: Some(entries),
        ..n.pki.next_list_spec(TrustDomainId::Mo).unwrap()
    };
    n.pki.write_trust_list(TrustDomainId::Mo, &spec).unwrap();
    eventually("the rollover list is taken", async || mo_status(&n).await.sequence == start + 2).await;
    let rolled = MintOptions { signer: SignerKind::UntrustedRoot, ..n.fresh(Flow::HealthVoucher) };
    assert_eq!(voucher(&n, rolled).await, Ok(()));

    // The old signer is dropped from the pins: its lists are refused now.
    n.pki.set_signer_pins(TrustDomainId::Mo, &[next_pin]).unwrap();
    use_https(&n, &server, None, false);
    n.restart().await;
    assert_eq!(mo_status(&n).await.sequence, start + 2, "the next signer's list still verifies");
    let by_old = TrustListSpec { signer: ListSigner::Current, ..n.pki.next_list_spec(TrustDomainId::Mo).unwrap() };
    server.set(Serve::Bytes(n.pki.trust_list(TrustDomainId::Mo, &by_old).unwrap().into_bytes()));
    eventually("the old signer's list is refused", async || mo_status(&n).await.last_error.contains("not pinned"))
        .await;
    assert_eq!(voucher(&n, n.fresh(Flow::HealthVoucher)).await, Ok(()));
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crls_fetched_beside_the_list_count_like_carried_ones() {
    let mut n = TestNode::new();
    let server = ListServer::start(&n).await;
    let crl_url = format!("crl_urls = [\"https://{}/mo/issuing-ca.crl\"]\n", server.addr);
    use_https_with(&n, &server, None, true, &crl_url);
    // The list carries no CRL: only the fetched one can vouch for the signer.
    let bare =
        |n: &TestNode| TrustListSpec { crl: CrlChoice::Omitted, ..n.pki.next_list_spec(TrustDomainId::Mo).unwrap() };
    n.pki.write_trust_list(TrustDomainId::Mo, &bare(&n)).unwrap();
    n.start().await;
    assert_eq!(voucher(&n, n.fresh(Flow::HealthVoucher)).await, Ok(()));
    let start = mo_status(&n).await.sequence;

    // The issuing CA revokes the signer; the next list still carries no CRL.
    n.pki.revoke_assertion_signer().unwrap();
    n.pki.write_trust_list(TrustDomainId::Mo, &bare(&n)).unwrap();
    eventually("the new list is taken", async || mo_status(&n).await.sequence == start + 2).await;
    assert_eq!(voucher(&n, n.fresh(Flow::HealthVoucher)).await, Err("CERT_REVOKED".into()));

    // The CRL source fails: the error shows; the CRL held keeps counting.
    server.set(Serve::Bytes(b"not a crl".to_vec()));
    eventually("the CRL failure is reported", async || mo_status(&n).await.last_error.contains("CRL https://")).await;
    assert_eq!(voucher(&n, n.fresh(Flow::HealthVoucher)).await, Err("CERT_REVOKED".into()));
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_revoked_in_a_refreshed_list_is_refused_in_the_handshake() {
    let mut n = TestNode::new();
    let path = n.pki.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("[trust.CN-GD]\n", "[trust.CN-GD]\nrefresh_seconds = 1\n")).unwrap();
    n.start().await;
    assert_eq!(voucher(&n, n.fresh(Flow::HealthVoucher)).await, Ok(()));
    let before = cn_status(&n).await;
    n.pki.revoke_partner(&hengqin_bridge::model::PartnerId::parse("hq-clinic-0001").unwrap()).unwrap();
    // Another partner watches the list change.
    eventually("the CN-GD list is refreshed", async || cn_status(&n).await > before).await;
    let ca = std::fs::read(n.pki.path("server/ca.pem")).unwrap();
    let cert = std::fs::read(n.pki.path("partners/hq-clinic-0001/client.pem")).unwrap();
    let key = std::fs::read(n.pki.path("partners/hq-clinic-0001/client.key")).unwrap();
    let refused = async {
        let ch = hengqin_bridge::service::client::channel(n.addrs.grpc, &ca, Some((&cert, &key))).await?;
        let mut c = hengqin_bridge::service::pb::bridge_client::BridgeClient::new(ch);
        c.get_trust_status(GetTrustStatusRequest {}).await.map_err(anyhow::Error::from)?;
        anyhow::Ok(())
    };
    assert!(refused.await.is_err(), "a new connection with the revoked certificate is refused");
    n.stop().await;
}

/// The CN-GD sequence, asked as another partner.
async fn cn_status(n: &TestNode) -> u64 {
    let mut c = n.client("hq-ss-window").await;
    let s = c.get_trust_status(GetTrustStatusRequest {}).await.unwrap().into_inner();
    s.domains.into_iter().find(|d| d.id == "CN-GD").unwrap().sequence
}

async fn admin_post(n: &TestNode, path: &str) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(n.addrs.admin).await.unwrap();
    let req = format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.split(' ').nth(1).unwrap().parse().unwrap(), body.to_owned())
}
