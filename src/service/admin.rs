//! The admin HTTP listener (loopback by default): `/metrics`, `/healthz`,
//! `/readyz`, `/trust` (the trust domains as JSON) and `POST
//! /trust/refresh` (fetch every trust list now). Plain HTTP/1.1 through hyper — a real parser with header
//! limits and timeouts costs nothing here, since tonic already links it.
//!
//! Bounded like everything else: at most [`MAX_ADMIN_CONNECTIONS`] at
//! once (the slot is taken before `accept()`), headers at most 16 KiB and
//! read within [`ADMIN_HEADER_TIMEOUT`], one request per connection, the
//! whole exchange within [`ADMIN_CONNECTION_TIMEOUT`]. Bodies are never
//! read.

use super::gateway::DomainStatusView;
use super::health::Readiness;
use super::metrics::Metrics;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub const MAX_ADMIN_CONNECTIONS: usize = 16;
pub const ADMIN_HEADER_TIMEOUT: Duration = Duration::from_secs(5);
pub const ADMIN_CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// hyper's smallest read buffer; also the header size limit.
const MAX_HEADER_BYTES: usize = 16 * 1024;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";

/// Serves until the task is aborted.
pub async fn serve(listener: TcpListener, readiness: Arc<Readiness>, metrics: Arc<Metrics>) {
    let slots = Arc::new(Semaphore::new(MAX_ADMIN_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (readiness, metrics) = (readiness.clone(), metrics.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let (readiness, metrics) = (readiness.clone(), metrics.clone());
                async move { Ok::<_, Infallible>(respond(&req, &readiness, &metrics).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(ADMIN_HEADER_TIMEOUT)
                .max_buf_size(MAX_HEADER_BYTES)
                .keep_alive(false)
                .serve_connection(TokioIo::new(tcp), service);
            let _ = tokio::time::timeout(ADMIN_CONNECTION_TIMEOUT, connection).await;
            drop(slot);
        });
    }
}

async fn respond(req: &Request<Incoming>, readiness: &Readiness, metrics: &Metrics) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if path == "/trust/refresh" {
        if req.method() != Method::POST {
            return not_allowed("POST");
        }
        let gateway = readiness.gateway();
        gateway.refresh_trust().await;
        return reply(StatusCode::OK, JSON, trust_json(&gateway.trust_status()).to_string());
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return not_allowed("GET, HEAD");
    }
    match path {
        "/trust" => reply(StatusCode::OK, JSON, trust_json(&readiness.gateway().trust_status()).to_string()),
        "/healthz" => reply(StatusCode::OK, TEXT, "ok\n"),
        "/readyz" if readiness.is_ready() => reply(StatusCode::OK, TEXT, "ready\n"),
        "/readyz" => reply(StatusCode::SERVICE_UNAVAILABLE, TEXT, "not ready\n"),
        "/metrics" => {
            let gateway = readiness.gateway();
            metrics.observe_trust(&gateway.trust_status(), readiness.is_ready());
            metrics.observe_audit(&gateway.audit_stats());
            reply(StatusCode::OK, OPENMETRICS, metrics.encode())
        }
        _ => reply(StatusCode::NOT_FOUND, TEXT, "not found\n"),
    }
}

fn not_allowed(allow: &'static str) -> Response<Full<Bytes>> {
    let mut r = reply(StatusCode::METHOD_NOT_ALLOWED, TEXT, "method not allowed\n");
    r.headers_mut().insert(ALLOW, hyper::header::HeaderValue::from_static(allow));
    r
}

/// The trust domains as `anchors status` prints them (and `GetTrustStatus` answers).
pub fn trust_json(domains: &[DomainStatusView]) -> serde_json::Value {
    let time = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    serde_json::Value::Array(
        domains
            .iter()
            .map(|d| {
                let mut v = serde_json::json!({
                    "domain": d.id.as_str(),
                    "fresh": d.fresh,
                    "last_error": d.last_error,
                });
                if let Some(l) = &d.list {
                    v["sequence"] = l.sequence.into();
                    v["issued_at"] = time(l.issued_at).into();
                    v["next_update"] = time(l.next_update).into();
                    v["expires"] = time(l.expires).into();
                    v["age_seconds"] = l.age.as_secs().into();
                    v["entries"] = l.entries.into();
                }
                v
            })
            .collect(),
    )
}

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    r
}
