//! The gRPC edge (DESIGN §7): `hengqin.bridge.v1.Bridge` over mutual TLS,
//! `grpc.health.v1`, server reflection, and the admin HTTP listener.
//!
//! ```text
//!  TCP ─► TLS handshake (rustls, client cert → CN-GD partner-client-ca, CRLs)
//!           │  fails: TLS alert, no gRPC status
//!           ▼
//!        PartnerPeer (URI SAN urn:hengqin-bridge:partner:<id>, SPKI digest)
//!           │  tonic ConnectInfo → request extension
//!           ▼
//!        Bridge handler: known partner? ─► Gateway (app.rs) ─► Rejection ─► rejection_to_status
//! ```
//!
//! | file | what it holds |
//! |---|---|
//! | `gateway.rs` | the [`Gateway`] trait the node implements, and its plain input/output types |
//! | `status.rs` | [`rejection_to_status`]: the one refusal → `Status` mapping |
//! | `tls.rs` | the rustls server config, the client verifier from the anchors, [`ClientTrust`] |
//! | `peer.rs` | [`PartnerPeer`]: the partner named by a connection's certificate |
//! | `incoming.rs` | accept loop: connection cap, handshake deadline, the stream tonic serves |
//! | `grpc.rs` | the Bridge handlers |
//! | `health.rs` | readiness for `grpc.health.v1` and `/readyz` |
//! | `metrics.rs` | [`Metrics`]: the Prometheus registry and the node's metrics |
//! | `admin.rs` | `/metrics`, `/healthz`, `/readyz` |
//! | `edge.rs` | [`Edge`]: bind, serve, drain |
//! | `client.rs` | a partner-side client over mTLS |

mod admin;
pub mod client;
mod edge;
mod gateway;
mod grpc;
mod health;
mod incoming;
mod metrics;
mod peer;
mod status;
mod tls;

pub use edge::{
    BoundAddrs, Edge, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT, MAX_CONCURRENT_STREAMS, MAX_CONNECTION_AGE, serve,
};
pub use gateway::{DomainStatusView, Gateway, ListView, TranslateInput, TranslateOutput, VerifyOutput};
pub use health::{BRIDGE_SERVICE, DEFAULT_HEALTH_INTERVAL};
pub use incoming::{HANDSHAKE_TIMEOUT, MAX_CONNECTIONS};
pub use metrics::{CallRecord, HandshakeOutcome, Metrics};
pub use peer::{PartnerPeer, PeerError};
pub use status::{CLAUSE_KEY, ERROR_DOMAIN, rejection_to_status, status_code};
pub use tls::{ClientTrust, ServerIdentity, client_verifier, provider as tls_provider, server_config};

/// The generated types and services of `proto/hengqin/bridge/v1/bridge.proto`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod pb {
    tonic::include_proto!("hengqin.bridge.v1");
}

/// The encoded `FileDescriptorSet` of the contract (served by reflection).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bridge_descriptor.bin"));

/// Largest request message accepted (DESIGN §7: 64 KiB at the transport).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Why the edge could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{path}: {message}")]
    Pem { path: std::path::PathBuf, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("tls: {0}")]
    Tls(#[from] rustls::Error),
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("client trust: {0}")]
    ClientTrust(String),
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("grpc transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}
