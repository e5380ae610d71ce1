//! A partner's side of the connection, for the demo, the tests and the
//! load harness: a tonic channel over rustls (ring) presenting a client
//! certificate, trusting only the given CA for the server.

use super::ServiceError;
use super::pb::bridge_client::BridgeClient;
use std::net::SocketAddr;
use std::time::Duration;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// Gives up on connecting (TCP + TLS) after this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A channel to the node at `addr` (server name: its IP address, which the
/// server certificate carries). `identity` is the client certificate and
/// key, both PEM; `None` connects without one, which the node refuses.
pub async fn channel(
    addr: SocketAddr,
    ca_pem: &[u8],
    identity: Option<(&[u8], &[u8])>,
) -> Result<Channel, ServiceError> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem));
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let endpoint = Endpoint::from_shared(format!("https://{addr}"))
        .map_err(ServiceError::Transport)?
        .tls_config(tls)?
        .connect_timeout(CONNECT_TIMEOUT);
    Ok(endpoint.connect().await?)
}

/// A `Bridge` client for the partner whose certificate and key are given.
pub async fn connect(
    addr: SocketAddr,
    ca_pem: &[u8],
    client_cert_pem: &[u8],
    client_key_pem: &[u8],
) -> Result<BridgeClient<Channel>, ServiceError> {
    Ok(BridgeClient::new(channel(addr, ca_pem, Some((client_cert_pem, client_key_pem))).await?))
}
