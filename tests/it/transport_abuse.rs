//! Abuse of the transport, against the real node: clients that never finish
//! their TLS handshake or dribble the HTTP/2 preface, handshakes refused
//! by the thousand, one connection opening far more streams than allowed,
//! request bodies over the size limit or not a `TranslateRequest` at all.
//! Each is bounded or refused, and another partner is served throughout.
//!
//! Which alert each refused handshake gets is asserted in
//! `tests/it/service_tls.rs`; here it is enough that they are refused, and
//! counted. Durations are hang guards only: outcomes are what is asserted.

use crate::tls_client;

use crate::node::{Limits, TestNode, request};
use hengqin_bridge::dev::mint::Flow;
use hengqin_bridge::dev::pki::{ClientCertKind, layout};
use hengqin_bridge::model::PartnerId;
use hengqin_bridge::service::pb::TranslateResponse;
use hengqin_bridge::service::{HANDSHAKE_TIMEOUT, MAX_CONCURRENT_STREAMS, MAX_REQUEST_BYTES};
use rustls::pki_types::ServerName;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tonic::Code;
use tonic_types::StatusExt;

const CLINIC: &str = "hq-clinic-0001";
const SS_WINDOW: &str = "hq-ss-window";
/// Past this, a connection the server should have closed is a hang.
const GUARD: Duration = Duration::from_secs(30);
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn node() -> TestNode {
    let generous = Limits { rate_per_second: 1000, burst: 1000, daily_quota: 100_000 };
    TestNode::with_limits(&[(CLINIC, generous), (SS_WINDOW, generous)])
}

/// A client certificate and key of `partner` (the valid one by default).
fn identity(n: &TestNode, partner: &str, kind: ClientCertKind) -> (PathBuf, PathBuf) {
    let id = PartnerId::parse(partner).unwrap();
    match kind {
        ClientCertKind::Valid => {
            (n.pki.path(layout::partner_client_cert(&id)), n.pki.path(layout::partner_client_key(&id)))
        }
        other => {
            let f = n.pki.issue_partner_cert(&id, other).unwrap();
            (f.cert, f.key)
        }
    }
}

/// TLS to the node by hand (ALPN h2), presenting `identity` if any.
async fn tls(n: &TestNode, identity: Option<&(PathBuf, PathBuf)>) -> std::io::Result<TlsStream<TcpStream>> {
    let config = tls_client::config(
        &std::fs::read(n.pki.path(layout::SERVER_CA)).unwrap(),
        identity.map(|(c, k)| (c.as_path(), k.as_path())),
    );
    let tcp = TcpStream::connect(n.addrs.grpc).await?;
    let name = ServerName::IpAddress(n.addrs.grpc.ip().into());
    tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await
}

/// Whether the server accepts this client: TLS, the preface, and the
/// server's first frame (in TLS 1.3 the verdict on the client certificate
/// arrives on the first read).
async fn accepted(n: &TestNode, identity: Option<&(PathBuf, PathBuf)>) -> bool {
    let Ok(mut s) = tls(n, identity).await else { return false };
    if s.write_all(PREFACE).await.is_err() || s.write_all(&frame(4, 0, 0, &[])).await.is_err() {
        return false;
    }
    let mut head = [0u8; 9];
    tokio::time::timeout(GUARD, s.read_exact(&mut head)).await.expect("an answer or a close").is_ok()
}

/// Waits until the server closes the connection: end of stream or an
/// error on read (whatever the peer still writes is ignored).
async fn closed_by_server(mut r: impl tokio::io::AsyncRead + Unpin) {
    let mut buf = [0u8; 256];
    while let Ok(n) = r.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

/// A counter of `/metrics`, 0 when absent.
async fn counter(n: &TestNode, series: &str) -> u64 {
    let (_, body) = n.admin_get("/metrics").await;
    body.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse::<f64>().ok())).map_or(0, |v| v as u64)
}

/// `count` translations for the social-security window, each answered.
async fn served(n: &TestNode, count: usize) {
    let mut c = n.client(SS_WINDOW).await;
    for _ in 0..count {
        let jws = n.mint(&n.fresh(Flow::SocialSecurity));
        let call = c.translate(request("social-security", "", jws));
        tokio::time::timeout(GUARD, call).await.expect("served, not stuck").expect("served");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_and_refused_handshakes_are_dropped_while_another_partner_is_served() {
    let mut n = node();
    n.start().await;
    let started = Instant::now();
    let mut stalled = Vec::new();

    // TCP connections that never speak, and ones that stop inside their
    // ClientHello.
    for i in 0..40 {
        let mut tcp = TcpStream::connect(n.addrs.grpc).await.unwrap();
        if i % 4 == 0 {
            tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]).await.unwrap();
        }
        stalled.push(tokio::spawn(async move { closed_by_server(tcp).await }));
    }
    // Partners that finish TLS, then dribble the HTTP/2 preface one byte a
    // second (it would take 24 s) or stop halfway.
    let clinic = identity(&n, CLINIC, ClientCertKind::Valid);
    let mut halfway = Vec::new();
    for dribble in [true, true, false] {
        let (r, mut w) = tokio::io::split(tls(&n, Some(&clinic)).await.unwrap());
        if dribble {
            tokio::spawn(async move {
                for b in PREFACE {
                    if w.write_all(&[*b]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        } else {
            w.write_all(&PREFACE[..12]).await.unwrap();
            halfway.push(w);
        }
        stalled.push(tokio::spawn(closed_by_server(r)));
    }
    let timed_out = stalled.len() as u64;

    // Refused handshakes: no certificate, another CA, an expired one.
    let untrusted = identity(&n, CLINIC, ClientCertKind::UntrustedCa);
    let expired = identity(&n, CLINIC, ClientCertKind::Expired);
    let mut refused = 0;
    for _ in 0..10 {
        for id in [None, Some(&untrusted), Some(&expired)] {
            assert!(!accepted(&n, id).await, "a handshake that must fail was accepted");
            refused += 1;
        }
    }
    // Meanwhile another partner's requests are answered, on a fresh
    // connection and promptly.
    served(&n, 5).await;
    assert!(accepted(&n, Some(&clinic)).await);

    for s in stalled {
        tokio::time::timeout(GUARD, s).await.expect("the server closes a stalled connection").unwrap();
    }
    let dropped_after = started.elapsed();
    drop(halfway);
    assert!(counter(&n, r#"hengqin_bridge_tls_handshakes_total{outcome="timed_out"}"#).await >= timed_out);
    assert!(counter(&n, r#"hengqin_bridge_tls_handshakes_total{outcome="failed"}"#).await >= refused);
    served(&n, 1).await;
    n.stop().await;
    println!(
        "{timed_out} stalled connections dropped (deadline {HANDSHAKE_TIMEOUT:?}, all gone after {:.1} s), \
         {refused} handshakes refused, the other partner served throughout",
        dropped_after.as_secs_f64()
    );
}

/// An HTTP/2 frame (RFC 9113 §4.1).
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A header block of literal fields without indexing (RFC 7541 §6.2.2),
/// no Huffman coding: enough for short names and values.
fn header_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        assert!(name.len() < 127 && value.len() < 127);
        out.push(0x00);
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.push(value.len() as u8);
        out.extend_from_slice(value.as_bytes());
    }
    out
}

async fn read_frame(s: &mut TlsStream<TcpStream>) -> std::io::Result<(u8, u8, u32, Vec<u8>)> {
    let mut head = [0u8; 9];
    s.read_exact(&mut head).await?;
    let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    let mut payload = vec![0; len];
    s.read_exact(&mut payload).await?;
    Ok((head[3], head[4], stream, payload))
}

const SETTINGS: u8 = 0x4;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const GOAWAY: u8 = 0x7;
const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
const REFUSED_STREAM: u32 = 0x7;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_over_the_limit_on_one_connection_are_refused_and_others_served() {
    let mut n = node();
    n.start().await;
    let clinic = identity(&n, CLINIC, ClientCertKind::Valid);
    let mut s = tls(&n, Some(&clinic)).await.unwrap();
    s.write_all(PREFACE).await.unwrap();
    s.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();

    // The server announces its bound first thing.
    let announced = loop {
        let (kind, flags, _, payload) = tokio::time::timeout(GUARD, read_frame(&mut s)).await.unwrap().unwrap();
        if kind == SETTINGS && flags & 1 == 0 {
            let bound = payload.chunks(6).find_map(|p| {
                (u16::from_be_bytes([p[0], p[1]]) == SETTINGS_MAX_CONCURRENT_STREAMS)
                    .then(|| u32::from_be_bytes([p[2], p[3], p[4], p[5]]))
            });
            break bound.expect("SETTINGS_MAX_CONCURRENT_STREAMS is announced");
        }
    };
    assert_eq!(announced, MAX_CONCURRENT_STREAMS);
    s.write_all(&frame(SETTINGS, 1, 0, &[])).await.unwrap();

    // Four times as many streams as allowed, opened at once, none ever
    // sending its request body.
    let opened: u32 = 4 * MAX_CONCURRENT_STREAMS;
    let authority = n.addrs.grpc.to_string();
    let block = header_block(&[
        (":method", "POST"),
        (":scheme", "https"),
        (":path", "/hengqin.bridge.v1.Bridge/Translate"),
        (":authority", &authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ]);
    let mut burst = Vec::new();
    for i in 0..opened {
        burst.extend(frame(HEADERS, 0x4, 2 * i + 1, &block));
    }
    s.write_all(&burst).await.unwrap();

    let mut refused = std::collections::BTreeSet::new();
    let expected = (opened - MAX_CONCURRENT_STREAMS) as usize;
    while refused.len() < expected {
        let (kind, _, stream, payload) = tokio::time::timeout(GUARD, read_frame(&mut s)).await.unwrap().unwrap();
        assert_ne!(kind, GOAWAY, "the connection was torn down instead of the streams being refused");
        if kind == RST_STREAM && u32::from_be_bytes(payload[..4].try_into().unwrap()) == REFUSED_STREAM {
            refused.insert(stream);
        }
    }
    // The streams past the bound are the ones refused.
    assert_eq!(refused.first(), Some(&(2 * MAX_CONCURRENT_STREAMS + 1)));
    assert_eq!(refused.last(), Some(&(2 * opened - 1)));

    // With its 64 streams held open, another partner is served.
    served(&n, 5).await;
    drop(s);
    served(&n, 1).await;
    n.stop().await;
    println!(
        "{opened} streams opened at once: {} refused (REFUSED_STREAM), {MAX_CONCURRENT_STREAMS} held",
        refused.len()
    );
}

/// `TranslateRequest` with `assertion` as raw bytes: what a client that
/// ignores the schema can send.
#[derive(Clone, PartialEq, prost::Message)]
struct RawTranslateRequest {
    #[prost(bytes = "vec", tag = "1")]
    assertion: Vec<u8>,
    #[prost(string, tag = "2")]
    purpose: String,
}

async fn raw_translate(n: &TestNode, msg: RawTranslateRequest) -> Result<TranslateResponse, tonic::Status> {
    let id = PartnerId::parse(CLINIC).unwrap();
    let read = |rel: PathBuf| std::fs::read(n.pki.path(rel)).unwrap();
    let channel = hengqin_bridge::service::client::channel(
        n.addrs.grpc,
        &read(layout::SERVER_CA.into()),
        Some((&read(layout::partner_client_cert(&id)), &read(layout::partner_client_key(&id)))),
    )
    .await
    .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/hengqin.bridge.v1.Bridge/Translate");
    let codec = tonic_prost::ProstCodec::<RawTranslateRequest, TranslateResponse>::default();
    grpc.unary(tonic::Request::new(msg), path, codec).await.map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_or_off_the_schema_are_refused_and_the_next_call_served() {
    let mut n = node();
    n.start().await;
    let mut c = n.client(CLINIC).await;
    let good = |n: &TestNode| request("health-voucher", "", n.mint(&n.fresh(Flow::HealthVoucher)));

    // Over the transport's 64 KiB: refused while decoding, before the
    // bridge sees it (so no ErrorInfo); the same connection carries on.
    for size in [MAX_REQUEST_BYTES + 1, 4 * 1024 * 1024] {
        let status = c.translate(request("health-voucher", "", "a".repeat(size))).await.unwrap_err();
        assert_eq!(status.code(), Code::OutOfRange, "{size} bytes: {status:?}");
        assert!(status.get_details_error_info().is_none());
        c.translate(good(&n)).await.expect("the next call is served");
    }
    // Under it but over 16 KiB: the bridge's own refusal.
    let status = c.translate(request("health-voucher", "", "a".repeat(MAX_REQUEST_BYTES - 1024))).await.unwrap_err();
    assert_eq!(status.get_details_error_info().unwrap().reason, "ASSERTION_TOO_LARGE");

    // A string field that is not UTF-8: not a TranslateRequest; tonic
    // refuses to decode it (gRPC reports undecodable requests as INTERNAL).
    let not_utf8 = RawTranslateRequest { assertion: vec![0xff, 0xfe, b'.', 0x80], purpose: "health-voucher".into() };
    let status = raw_translate(&n, not_utf8).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert!(status.get_details_error_info().is_none());
    let valid = RawTranslateRequest { assertion: b"x.y.z".to_vec(), purpose: "health-voucher".into() };
    let status = raw_translate(&n, valid).await.unwrap_err();
    assert_eq!(status.get_details_error_info().unwrap().reason, "MALFORMED_ASSERTION");
    c.translate(good(&n)).await.expect("served after the undecodable body");
    n.stop().await;
}
