//! Binding and running the node's listeners: gRPC over mutual TLS, and
//! admin HTTP.
//!
//! [`Edge::bind`] binds both sockets first (so `127.0.0.1:0` works and the
//! caller learns the ports before anything is served); [`Edge::run`] then
//! serves until the shutdown future resolves, stops accepting, reports
//! not-ready, and lets in-flight calls finish within `server.drain`.

use super::admin;
use super::gateway::Gateway;
use super::grpc::BridgeService;
use super::health::{self, DEFAULT_HEALTH_INTERVAL, Readiness};
use super::incoming;
use super::metrics::Metrics;
use super::pb::bridge_server::BridgeServer;
use super::tls::{ClientTrust, ServerIdentity};
use super::{FILE_DESCRIPTOR_SET, MAX_REQUEST_BYTES, ServiceError};
use crate::config::ServerConfig;
use crate::trust::Anchors;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::net::TcpListener;

/// HTTP/2 streams one connection may have open at once.
pub const MAX_CONCURRENT_STREAMS: u32 = 64;
/// Ping an idle connection this often; drop it when the ping is not
/// answered within [`KEEPALIVE_TIMEOUT`].
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections are closed (gracefully) after this long, so that every
/// client re-handshakes against the current trust list and CRLs.
pub const MAX_CONNECTION_AGE: Duration = Duration::from_secs(30 * 60);
/// Largest HTTP/2 header block accepted.
pub const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;

/// Where the node listens, once bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundAddrs {
    pub grpc: SocketAddr,
    pub admin: SocketAddr,
}

/// The node's listeners, bound and not yet serving.
pub struct Edge {
    grpc: TcpListener,
    admin: TcpListener,
    addrs: BoundAddrs,
    gateway: Arc<dyn Gateway>,
    metrics: Arc<Metrics>,
    trust: ClientTrust,
    request_timeout: Duration,
    drain: Duration,
    health_interval: Duration,
}

fn std_duration(d: time::Duration) -> Duration {
    Duration::try_from(d).unwrap_or(Duration::ZERO)
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServiceError> {
    TcpListener::bind(addr).await.map_err(|source| ServiceError::Bind { addr, source })
}

impl Edge {
    /// Reads the TLS files, builds the client verifier from the CN-GD
    /// anchors and binds both listeners.
    pub async fn bind(
        gateway: Arc<dyn Gateway>,
        server: &ServerConfig,
        anchors: &Anchors,
        metrics: Arc<Metrics>,
    ) -> Result<Edge, ServiceError> {
        let identity = ServerIdentity::from_pem_files(&server.tls_certificate, &server.tls_key)?;
        let trust = ClientTrust::new(identity, anchors, OffsetDateTime::now_utc())?;
        let grpc = bind(server.listen).await?;
        let admin = bind(server.admin_listen).await?;
        let local = |l: &TcpListener, addr| l.local_addr().map_err(|source| ServiceError::Bind { addr, source });
        let addrs = BoundAddrs { grpc: local(&grpc, server.listen)?, admin: local(&admin, server.admin_listen)? };
        Ok(Edge {
            grpc,
            admin,
            addrs,
            gateway,
            metrics,
            trust,
            request_timeout: std_duration(server.request_timeout),
            drain: std_duration(server.drain),
            health_interval: DEFAULT_HEALTH_INTERVAL,
        })
    }

    pub fn addrs(&self) -> BoundAddrs {
        self.addrs
    }

    /// The handle that swaps the client-certificate trust after a CN-GD
    /// list refresh (see [`ClientTrust::update`]).
    pub fn client_trust(&self) -> ClientTrust {
        self.trust.clone()
    }

    /// How often the gRPC health status is re-evaluated (default 1 s).
    pub fn with_health_interval(mut self, interval: Duration) -> Edge {
        self.health_interval = interval;
        self
    }

    /// Serves until `shutdown` resolves, then drains within `server.drain`.
    /// Connections still open past the drain deadline are abandoned: the
    /// process is about to exit.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServiceError> {
        let readiness = Arc::new(Readiness::new(self.gateway.clone()));
        let (reporter, health_service) = tonic_health::server::health_reporter();
        let ready = readiness.is_ready();
        health::publish(&reporter, ready).await;
        let health_service = health_service.max_decoding_message_size(MAX_REQUEST_BYTES);
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?
            .max_decoding_message_size(MAX_REQUEST_BYTES);
        let bridge = BridgeServer::new(BridgeService::new(self.gateway.clone(), self.metrics.clone()))
            .max_decoding_message_size(MAX_REQUEST_BYTES);

        let (incoming, accepting) = incoming::accept(self.grpc, self.trust.clone(), self.metrics.clone());
        let tasks = [
            accepting,
            tokio::spawn(admin::serve(self.admin, readiness.clone(), self.metrics.clone())),
            tokio::spawn(health::track(reporter.clone(), readiness.clone(), self.health_interval, ready)),
        ];
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tonic::transport::Server::builder()
            .timeout(self.request_timeout)
            .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
            .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
            .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
            .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
            .max_connection_age(MAX_CONNECTION_AGE)
            .max_connection_age_grace(self.drain)
            .add_service(health_service)
            .add_service(reflection)
            .add_service(bridge)
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            });
        let mut server = std::pin::pin!(server);
        let outcome = tokio::select! {
            ended = &mut server => ended.map_err(ServiceError::from),
            () = shutdown => {
                readiness.start_draining();
                health::publish(&reporter, false).await;
                let [accepting, ..] = &tasks;
                accepting.abort();
                let _ = stop.send(());
                match tokio::time::timeout(self.drain, &mut server).await {
                    Ok(ended) => ended.map_err(ServiceError::from),
                    Err(_) => Ok(()),
                }
            }
        };
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
        outcome
    }
}

/// Binds, then serves until `shutdown` (see [`Edge`]).
pub async fn serve(
    gateway: Arc<dyn Gateway>,
    server: &ServerConfig,
    anchors: &Anchors,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServiceError> {
    Edge::bind(gateway, server, anchors, metrics).await?.run(shutdown).await
}
