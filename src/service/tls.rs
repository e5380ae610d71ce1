//! The rustls server configuration: the node's certificate, and client
//! authentication against the CN-GD trust list (DESIGN §7).
//!
//! Client certificates must chain to a `partner-client-ca` entry of the
//! CN-GD list, be within their validity and not be revoked on the list's
//! CRLs; otherwise the handshake fails and no gRPC status ever exists.
//! When the domain is stale or carries no partner CA, every handshake is
//! refused (fail closed, never accept-all). Session resumption is off, so
//! every connection presents — and has checked — its certificate.
//!
//! The configuration is rebuilt from the anchors by [`ClientTrust::update`]
//! (after every trust-list refresh); connections already open keep the
//! configuration they were accepted with until `max_connection_age`.

use super::ServiceError;
use crate::model::TrustDomainId;
use crate::trust::{Anchors, Role};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::{Arc, RwLock};
use time::OffsetDateTime;

/// ALPN: gRPC runs over HTTP/2 only.
pub const ALPN_H2: &[u8] = b"h2";

/// The ring provider, used explicitly everywhere (never the process
/// default, which another crate's features could make aws-lc).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The node's TLS certificate chain and key.
#[derive(Debug)]
pub struct ServerIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl ServerIdentity {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key.
    pub fn from_pem_files(certificate: &Path, key: &Path) -> Result<ServerIdentity, ServiceError> {
        let pem_err = |path: &Path, message: String| ServiceError::Pem { path: path.to_path_buf(), message };
        let chain = CertificateDer::pem_file_iter(certificate)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| pem_err(certificate, e.to_string()))?;
        if chain.is_empty() {
            return Err(pem_err(certificate, "no certificate in the file".to_owned()));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_err(key, e.to_string()))?;
        Ok(ServerIdentity { chain, key })
    }
}

/// The client-certificate verifier for the CN-GD list at `now`.
pub fn client_verifier(
    anchors: &Anchors,
    now: OffsetDateTime,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, ServiceError> {
    let refuse = || -> Arc<dyn ClientCertVerifier> { Arc::new(RefuseAll::new(provider)) };
    let Ok(domain) = anchors.usable(TrustDomainId::CnGd, now) else { return Ok(refuse()) };
    let mut roots = RootCertStore::empty();
    for entry in &domain.list.entries {
        if entry.role == Role::PartnerClientCa && entry.not_before <= now && now < entry.not_after {
            let der = entry.certificate.to_der().map_err(|e| ServiceError::ClientTrust(e.to_string()))?;
            roots.add(CertificateDer::from(der)).map_err(ServiceError::Tls)?;
        }
    }
    if roots.is_empty() {
        return Ok(refuse());
    }
    let crls = domain
        .list
        .crls
        .iter()
        .map(|c| c.0.to_der().map(CertificateRevocationListDer::from))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServiceError::ClientTrust(e.to_string()))?;
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).with_crls(crls);
    let builder = if domain.require_revocation {
        builder.enforce_revocation_expiration()
    } else {
        builder.allow_unknown_revocation_status()
    };
    Ok(builder.build()?)
}

/// The server configuration: mandatory client authentication, ALPN h2,
/// no session resumption.
pub fn server_config(
    identity: &ServerIdentity,
    verifier: Arc<dyn ClientCertVerifier>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<rustls::ServerConfig>, ServiceError> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// The current server configuration, swapped whole when the CN-GD anchors
/// change. Cheap to clone; every new connection reads the current one.
#[derive(Clone)]
pub struct ClientTrust {
    inner: Arc<Inner>,
}

struct Inner {
    identity: ServerIdentity,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<rustls::ServerConfig>>,
}

impl std::fmt::Debug for ClientTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTrust")
    }
}

impl ClientTrust {
    pub fn new(identity: ServerIdentity, anchors: &Anchors, now: OffsetDateTime) -> Result<ClientTrust, ServiceError> {
        let provider = provider();
        let config = server_config(&identity, client_verifier(anchors, now, &provider)?, &provider)?;
        Ok(ClientTrust { inner: Arc::new(Inner { identity, provider, current: RwLock::new(config) }) })
    }

    /// Rebuilds the client verifier from `anchors` at the current time.
    /// Call it after every trust-list refresh, also when nothing changed:
    /// staleness is decided here, and a stale domain refuses every client.
    pub fn update(&self, anchors: &Anchors) -> Result<(), ServiceError> {
        self.update_at(anchors, OffsetDateTime::now_utc())
    }

    /// [`ClientTrust::update`] at an explicit `now`.
    pub fn update_at(&self, anchors: &Anchors, now: OffsetDateTime) -> Result<(), ServiceError> {
        let inner = &self.inner;
        let config = server_config(&inner.identity, client_verifier(anchors, now, &inner.provider)?, &inner.provider)?;
        *inner.current.write().unwrap_or_else(|p| p.into_inner()) = config;
        Ok(())
    }

    /// The configuration for a connection accepted now.
    pub fn current(&self) -> Arc<rustls::ServerConfig> {
        self.inner.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Refuses every client: what a stale or empty CN-GD domain trusts.
#[derive(Debug)]
struct RefuseAll {
    schemes: Vec<SignatureScheme>,
}

impl RefuseAll {
    fn new(provider: &CryptoProvider) -> Self {
        RefuseAll { schemes: provider.signature_verification_algorithms.supported_schemes() }
    }

    fn refuse<T>() -> Result<T, rustls::Error> {
        Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
    }
}

impl ClientCertVerifier for RefuseAll {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Self::refuse()
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Self::refuse()
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Self::refuse()
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}
