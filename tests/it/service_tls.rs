//! The gRPC edge on loopback, with the generated test PKI and a fake
//! gateway: mutual TLS (who gets through the handshake and who does not),
//! partner identity, refusals as statuses, the request size limit, health,
//! reflection, the admin endpoints and draining.

use crate::tls_client;

use hengqin_bridge::config::{Config, ServerConfig};
use hengqin_bridge::dev::pki::{ClientCertKind, Pki, PkiOptions, generate, layout};
use hengqin_bridge::model::{PartnerId, Reason, Rejection, TrustDomainId};
use hengqin_bridge::service::pb::bridge_client::BridgeClient;
use hengqin_bridge::service::pb::{GetTrustStatusRequest, TranslateRequest};
use hengqin_bridge::service::{
    BoundAddrs, ClientTrust, DomainStatusView, ERROR_DOMAIN, Edge, Gateway, Metrics, TranslateInput, TranslateOutput,
    VerifyOutput, client,
};
use hengqin_bridge::trust::{Anchors, DomainTrust, list};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

const CLINIC: &str = "hq-clinic-0001";
const INSURER: &str = "gz-insurer-0001";
const STRANGER: &str = "nobody-0001";

/// A gateway that records what reaches it and answers as told.
struct FakeGateway {
    ready: AtomicBool,
    answer: Mutex<Result<TranslateOutput, Rejection>>,
    seen: Mutex<Vec<(PartnerId, TranslateInput)>>,
    delay: Mutex<Duration>,
    /// The only client key digest accepted, when set (the SPKI pin hook).
    pin: Mutex<Option<[u8; 32]>>,
}

impl FakeGateway {
    fn new() -> Arc<FakeGateway> {
        Arc::new(FakeGateway {
            ready: AtomicBool::new(true),
            answer: Mutex::new(Ok(licence())),
            seen: Mutex::new(Vec::new()),
            delay: Mutex::new(Duration::ZERO),
            pin: Mutex::new(None),
        })
    }

    fn answer(&self, a: Result<TranslateOutput, Rejection>) {
        *self.answer.lock().unwrap() = a;
    }

    fn seen(&self) -> Vec<(PartnerId, TranslateInput)> {
        self.seen.lock().unwrap().clone()
    }
}

fn licence() -> TranslateOutput {
    TranslateOutput {
        licence: br#"{"certificate_identifier":"x"}"#.to_vec(),
        content_type: "application/vnd.gbt36903+json".into(),
        licence_id: "1.2.156.3005.2.test".into(),
        released: vec!["person.name_zh_hant".into()],
        policy_digest: "ab".repeat(32),
    }
}

#[tonic::async_trait]
impl Gateway for FakeGateway {
    async fn translate(&self, partner: PartnerId, req: TranslateInput) -> Result<TranslateOutput, Rejection> {
        self.seen.lock().unwrap().push((partner, req));
        let delay = *self.delay.lock().unwrap();
        tokio::time::sleep(delay).await;
        self.answer.lock().unwrap().clone()
    }

    async fn verify_licence(&self, _licence: Vec<u8>, _content_type: String) -> Result<VerifyOutput, Rejection> {
        Ok(VerifyOutput::default())
    }

    fn trust_status(&self) -> Vec<DomainStatusView> {
        vec![DomainStatusView { id: TrustDomainId::CnGd, list: None, fresh: true, last_error: None }]
    }

    fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn known_partner(&self, id: &PartnerId) -> bool {
        [CLINIC, INSURER, "hq-ss-window"].contains(&id.as_str())
    }

    fn known_purpose(&self, purpose: &str) -> bool {
        purpose == "health-voucher"
    }

    fn partner_key_allowed(&self, _id: &PartnerId, spki_sha256: &[u8; 32]) -> bool {
        self.pin.lock().unwrap().is_none_or(|p| &p == spki_sha256)
    }
}

/// A running node on loopback.
struct Node {
    _tmp: TempDir,
    pki: Pki,
    addrs: BoundAddrs,
    gateway: Arc<FakeGateway>,
    trust: ClientTrust,
    stop: Option<oneshot::Sender<()>>,
    running: JoinHandle<Result<(), hengqin_bridge::service::ServiceError>>,
}

fn cn_gd_anchors(pki: &Pki, config: &Config) -> Anchors {
    let t = config.trust.iter().find(|t| t.domain == TrustDomainId::CnGd).unwrap();
    let jws = std::fs::read(pki.path(layout::CN_TRUST_LIST)).unwrap();
    let list = list::verify(&jws, TrustDomainId::CnGd, &t.pins).unwrap();
    let stale_at = list.expires;
    Anchors::new([DomainTrust { list, require_revocation: t.require_revocation, stale_at }])
}

impl Node {
    async fn start() -> Node {
        let tmp = tempfile::tempdir().unwrap();
        let mut opts = PkiOptions::new(OffsetDateTime::now_utc());
        opts.partners = vec![PartnerId::parse(CLINIC).unwrap(), PartnerId::parse(INSURER).unwrap()];
        let pki = generate(&tmp.path().join("pki"), &opts).unwrap();
        let config = Config::load(&pki.config_path(), |_| None).unwrap();
        let server: ServerConfig = config.server.clone().unwrap();
        let gateway = FakeGateway::new();
        let edge = Edge::bind(gateway.clone(), &server, &cn_gd_anchors(&pki, &config), Arc::new(Metrics::new()))
            .await
            .unwrap()
            .with_health_interval(Duration::from_millis(20));
        let (addrs, trust) = (edge.addrs(), edge.client_trust());
        let (stop, stopped) = oneshot::channel::<()>();
        let running = tokio::spawn(edge.run(async {
            let _ = stopped.await;
        }));
        Node { _tmp: tmp, pki, addrs, gateway, trust, stop: Some(stop), running }
    }

    fn read(&self, rel: impl AsRef<Path>) -> Vec<u8> {
        std::fs::read(self.pki.path(rel)).unwrap()
    }

    fn partner_files(&self, id: &str) -> (PathBuf, PathBuf) {
        let id = PartnerId::parse(id).unwrap();
        (self.pki.path(layout::partner_client_cert(&id)), self.pki.path(layout::partner_client_key(&id)))
    }

    async fn channel_as(&self, files: Option<(PathBuf, PathBuf)>) -> Result<Channel, String> {
        let ca = self.read(layout::SERVER_CA);
        let pems = files.map(|(c, k)| (std::fs::read(c).unwrap(), std::fs::read(k).unwrap()));
        let identity = pems.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice()));
        client::channel(self.addrs.grpc, &ca, identity).await.map_err(|e| e.to_string())
    }

    async fn client(&self, id: &str) -> BridgeClient<Channel> {
        crate::node::connect(&self.pki, self.addrs.grpc, id).await
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(15), self.running).await.unwrap().unwrap().unwrap();
    }
}

fn voucher_request() -> TranslateRequest {
    TranslateRequest {
        assertion: "eyJ.eyJ.sig".into(),
        purpose: "health-voucher".into(),
        output_format: "gbt36903+json".into(),
        nonce: "n-1".into(),
        request_id: "r-1".into(),
    }
}

/// A TLS handshake done by hand, then the HTTP/2 preface and the server's
/// first frame: in TLS 1.3 the server judges the client certificate after
/// the client has finished, so its verdict arrives on the first read.
async fn handshake(node: &Node, files: Option<(PathBuf, PathBuf)>) -> Result<(), rustls::Error> {
    let config =
        tls_client::config(&node.read(layout::SERVER_CA), files.as_ref().map(|(c, k)| (c.as_path(), k.as_path())));
    let as_rustls = |e: std::io::Error| {
        e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()).cloned().unwrap_or_else(|| panic!("not TLS: {e}"))
    };
    let tcp = TcpStream::connect(node.addrs.grpc).await.unwrap();
    let name = ServerName::IpAddress(node.addrs.grpc.ip().into());
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(as_rustls)?;
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0").await.map_err(as_rustls)?;
    let mut frame_header = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(5), tls.read_exact(&mut frame_header))
        .await
        .expect("the server answers or closes")
        .map_err(as_rustls)?;
    assert_eq!(frame_header[3], 0x04, "the server's first frame is SETTINGS");
    Ok(())
}

/// Whether `tls` is somewhere in an error's source chain (as text: the
/// transport keeps the message of the TLS error, not its type).
fn carries(e: &(dyn std::error::Error + 'static), tls: &rustls::Error) -> bool {
    let wanted = tls.to_string();
    let mut next = Some(e);
    while let Some(err) = next {
        if err.to_string() == wanted {
            return true;
        }
        next = err.source();
    }
    false
}

/// A connection refused in the handshake: the TLS alert, and through tonic
/// a transport error carrying that alert — no status from the server (no
/// ErrorInfo) — with nothing reaching the gateway.
async fn assert_refused_in_handshake(node: &Node, files: Option<(PathBuf, PathBuf)>, alert: rustls::AlertDescription) {
    let expected = rustls::Error::AlertReceived(alert);
    assert_eq!(handshake(node, files.clone()).await, Err(expected.clone()));
    let ca = node.read(layout::SERVER_CA);
    let pems = files.map(|(c, k)| (std::fs::read(c).unwrap(), std::fs::read(k).unwrap()));
    let identity = pems.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice()));
    match client::channel(node.addrs.grpc, &ca, identity).await {
        Err(e) => assert!(carries(&e, &expected), "{e:?}"),
        Ok(channel) => {
            let status = BridgeClient::new(channel).translate(voucher_request()).await.unwrap_err();
            assert!(status.get_details_error_info().is_none(), "a server status: {status:?}");
            assert!(matches!(status.code(), Code::Unknown | Code::Unavailable), "{status:?}");
            let source = std::error::Error::source(&status).expect("a transport error");
            assert!(carries(source, &expected), "{status:?}");
        }
    }
    assert!(node.gateway.seen().is_empty());
}

#[tokio::test]
async fn valid_partner_reaches_the_gateway_with_its_id() {
    let node = Node::start().await;
    assert_eq!(handshake(&node, Some(node.partner_files(CLINIC))).await, Ok(()));
    let mut c = node.client(CLINIC).await;
    let r = c.translate(voucher_request()).await.unwrap().into_inner();
    assert_eq!(r.licence, licence().licence);
    assert_eq!(r.content_type, "application/vnd.gbt36903+json");
    assert_eq!(r.released, vec!["person.name_zh_hant".to_owned()]);
    let seen = node.gateway.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0.as_str(), CLINIC);
    assert_eq!(
        seen[0].1,
        TranslateInput {
            assertion: "eyJ.eyJ.sig".into(),
            purpose: "health-voucher".into(),
            output_format: "gbt36903+json".into(),
            nonce: "n-1".into(),
            request_id: "r-1".into(),
        }
    );
    // Another partner on its own connection is told apart.
    node.client(INSURER).await.translate(voucher_request()).await.unwrap();
    assert_eq!(node.gateway.seen()[1].0.as_str(), INSURER);
    let status = c.get_trust_status(GetTrustStatusRequest {}).await.unwrap().into_inner();
    assert_eq!(status.domains[0].id, "CN-GD");
    node.stop().await;
}

#[tokio::test]
async fn no_client_certificate_fails_the_handshake() {
    let node = Node::start().await;
    assert_refused_in_handshake(&node, None, rustls::AlertDescription::CertificateRequired).await;
    node.stop().await;
}

#[tokio::test]
async fn certificate_from_another_ca_fails_the_handshake() {
    let node = Node::start().await;
    let f = node.pki.issue_partner_cert(&PartnerId::parse(CLINIC).unwrap(), ClientCertKind::UntrustedCa).unwrap();
    assert_refused_in_handshake(&node, Some((f.cert, f.key)), rustls::AlertDescription::UnknownCA).await;
    node.stop().await;
}

#[tokio::test]
async fn expired_client_certificate_fails_the_handshake() {
    let node = Node::start().await;
    let f = node.pki.issue_partner_cert(&PartnerId::parse(CLINIC).unwrap(), ClientCertKind::Expired).unwrap();
    assert_refused_in_handshake(&node, Some((f.cert, f.key)), rustls::AlertDescription::CertificateExpired).await;
    node.stop().await;
}

#[tokio::test]
async fn revoked_client_certificate_fails_the_handshake_after_the_list_update() {
    let node = Node::start().await;
    let insurer = PartnerId::parse(INSURER).unwrap();
    assert_eq!(handshake(&node, Some(node.partner_files(INSURER))).await, Ok(()));
    node.pki.revoke_partner(&insurer).unwrap();
    let config = Config::load(&node.pki.config_path(), |_| None).unwrap();
    node.trust.update(&cn_gd_anchors(&node.pki, &config)).unwrap();
    assert_refused_in_handshake(&node, Some(node.partner_files(INSURER)), rustls::AlertDescription::CertificateRevoked)
        .await;
    // The clinic's certificate is still good.
    assert_eq!(handshake(&node, Some(node.partner_files(CLINIC))).await, Ok(()));
    node.stop().await;
}

#[tokio::test]
async fn a_stale_partner_trust_domain_refuses_every_client() {
    let node = Node::start().await;
    let config = Config::load(&node.pki.config_path(), |_| None).unwrap();
    let anchors = cn_gd_anchors(&node.pki, &config);
    let past_expiry = anchors.domain(TrustDomainId::CnGd).unwrap().stale_at + time::Duration::seconds(1);
    node.trust.update_at(&anchors, past_expiry).unwrap();
    let refused = handshake(&node, Some(node.partner_files(CLINIC))).await;
    assert!(matches!(refused, Err(rustls::Error::AlertReceived(_))), "{refused:?}");
    node.stop().await;
}

#[tokio::test]
async fn valid_certificate_of_an_unknown_partner_is_unauthenticated() {
    let node = Node::start().await;
    let f = node.pki.issue_partner(&PartnerId::parse(STRANGER).unwrap()).unwrap();
    let channel = node.channel_as(Some((f.cert, f.key))).await.unwrap();
    let status = BridgeClient::new(channel).translate(voucher_request()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!((info.reason.as_str(), info.domain.as_str()), ("UNKNOWN_PARTNER", ERROR_DOMAIN));
    assert!(node.gateway.seen().is_empty());
    node.stop().await;
}

#[tokio::test]
async fn a_key_the_partner_policy_does_not_pin_is_unauthenticated() {
    let node = Node::start().await;
    let mut c = node.client(CLINIC).await;
    *node.gateway.pin.lock().unwrap() = Some([0; 32]);
    let status = c.translate(voucher_request()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.get_details_error_info().unwrap().reason, "UNKNOWN_PARTNER");
    // The pin of the certificate's own key lets it through.
    let (cert, _) = node.partner_files(CLINIC);
    let der = CertificateDer::from_pem_file(cert).unwrap();
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).unwrap();
    *node.gateway.pin.lock().unwrap() = Some(openssl::sha::sha256(parsed.tbs_certificate.subject_pki.raw));
    c.translate(voucher_request()).await.unwrap();
    node.stop().await;
}

#[tokio::test]
async fn rejections_become_statuses_with_retry_info_for_limits() {
    let node = Node::start().await;
    let mut c = node.client(CLINIC).await;
    node.gateway.answer(Err(
        Rejection::new(Reason::RateLimited, "partner rate exceeded").with_retry_after(Duration::from_secs(2))
    ));
    let status = c.translate(voucher_request()).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(status.get_details_error_info().unwrap().reason, "RATE_LIMITED");
    assert_eq!(status.get_details_retry_info().unwrap().retry_delay, Some(Duration::from_secs(2)));

    node.gateway.answer(Err(Rejection::new(Reason::DeniedByRule, "denied").with_clause("hengqin.toml#deny[0]")));
    let status = c.translate(voucher_request()).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let info = status.get_details_error_info().unwrap();
    assert_eq!(info.metadata.get("clause").map(String::as_str), Some("hengqin.toml#deny[0]"));
    assert!(status.get_details_retry_info().is_none());
    node.stop().await;
}

#[tokio::test]
async fn request_over_64_kib_is_refused_and_the_next_call_works() {
    let node = Node::start().await;
    let mut c = node.client(CLINIC).await;
    let big = TranslateRequest { assertion: "a".repeat(65 * 1024), ..voucher_request() };
    let status = c.translate(big).await.unwrap_err();
    assert!(matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted), "{status:?}");
    assert!(node.gateway.seen().is_empty());
    // Just under the limit passes the transport.
    let fits = TranslateRequest { assertion: "a".repeat(60 * 1024), ..voucher_request() };
    c.translate(fits).await.unwrap();
    c.translate(voucher_request()).await.unwrap();
    assert_eq!(node.gateway.seen().len(), 2);
    node.stop().await;
}

#[tokio::test]
async fn health_follows_gateway_readiness() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    let node = Node::start().await;
    let mut health = HealthClient::new(node.channel_as(Some(node.partner_files(CLINIC))).await.unwrap());
    let status = |service: &str| {
        let mut health = health.clone();
        let service = service.to_owned();
        async move { health.check(HealthCheckRequest { service }).await.unwrap().into_inner().status }
    };
    assert_eq!(status("").await, ServingStatus::Serving as i32);
    assert_eq!(status("hengqin.bridge.v1.Bridge").await, ServingStatus::Serving as i32);
    node.gateway.ready.store(false, Ordering::SeqCst);
    let mut now = 0;
    for _ in 0..100 {
        now = status("hengqin.bridge.v1.Bridge").await;
        if now == ServingStatus::NotServing as i32 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(now, ServingStatus::NotServing as i32);
    assert_eq!(status("").await, ServingStatus::NotServing as i32);
    let unknown = health.check(HealthCheckRequest { service: "no.such.Service".into() }).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    node.stop().await;
}

#[tokio::test]
async fn reflection_lists_the_bridge_service() {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::{ServerReflectionRequest, ServiceResponse};

    let node = Node::start().await;
    let mut reflection = ServerReflectionClient::new(node.channel_as(Some(node.partner_files(CLINIC))).await.unwrap());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection.server_reflection_info(tokio_stream::once(request)).await.unwrap().into_inner();
    let first = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = first.message_response else { panic!("{first:?}") };
    let names: Vec<String> = list.service.into_iter().map(|ServiceResponse { name }| name).collect();
    for expected in ["hengqin.bridge.v1.Bridge", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"] {
        assert!(names.iter().any(|n| n == expected), "{expected} not in {names:?}");
    }
    node.stop().await;
}

/// One HTTP/1.1 exchange: the status code and the body.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = String::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_string(&mut raw)).await.unwrap().unwrap();
    let code = raw.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("{raw}"));
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (code, body)
}

#[tokio::test]
async fn admin_endpoints_answer() {
    let node = Node::start().await;
    let admin = node.addrs.admin;
    assert_eq!(http_get(admin, "/healthz").await.0, 200);
    assert_eq!(http_get(admin, "/readyz").await.0, 200);
    assert_eq!(http_get(admin, "/nothing-here").await.0, 404);

    let mut c = node.client(CLINIC).await;
    c.translate(voucher_request()).await.unwrap();
    c.translate(TranslateRequest { purpose: "made-up".into(), ..voucher_request() }).await.unwrap();
    let (code, metrics) = http_get(admin, "/metrics").await;
    assert_eq!(code, 200);
    for line in [
        r#"hengqin_bridge_requests_total{method="Translate",partner="hq-clinic-0001",purpose="health-voucher",decision="ok",reason=""} 1"#,
        r#"hengqin_bridge_requests_total{method="Translate",partner="hq-clinic-0001",purpose="other",decision="ok",reason=""} 1"#,
        r#"hengqin_bridge_request_duration_seconds_count{method="Translate"} 2"#,
        r#"hengqin_bridge_tls_handshakes_total{outcome="accepted"}"#,
        r#"hengqin_bridge_trust_fresh{domain="CN-GD"} 1"#,
        "hengqin_bridge_ready 1",
    ] {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }
    assert!(!metrics.contains("made-up"));

    node.gateway.ready.store(false, Ordering::SeqCst);
    assert_eq!(http_get(admin, "/readyz").await.0, 503);
    assert_eq!(http_get(admin, "/healthz").await.0, 200);
    node.stop().await;
}

#[tokio::test]
async fn shutdown_lets_in_flight_calls_finish_then_returns() {
    let node = Node::start().await;
    *node.gateway.delay.lock().unwrap() = Duration::from_millis(300);
    let mut c = node.client(CLINIC).await;
    let in_flight = tokio::spawn(async move { c.translate(voucher_request()).await });
    while node.gateway.seen().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let admin = node.addrs.admin;
    let grpc = node.addrs.grpc;
    node.stop().await;
    assert!(in_flight.await.unwrap().is_ok(), "the in-flight call was answered");
    assert!(TcpStream::connect(grpc).await.is_err(), "no longer accepting");
    assert!(TcpStream::connect(admin).await.is_err(), "admin closed");
}
