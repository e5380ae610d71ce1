//! Fetching a trust list or a CRL from its source: a file, or HTTPS —
//! rustls (ring) trusting only the domain's configured roots — or, for
//! CRLs only (they carry their own signature), plain HTTP. One HTTP/1.1
//! `GET`, a time limit on the whole exchange and a size limit on the body.
//! What comes back is only bytes: whether it is a list to trust is decided
//! by `trust::list::accept`, whether a CRL counts by its issuer's key.

use crate::config::{ListSource, TrustDomainConfig};
use crate::trust::list::MAX_LIST_BYTES;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The whole exchange (connect, handshake, request, body) must end within this.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a fetch failed. Messages name the source, never list contents.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Config(String),
    #[error("reading {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("fetching {url}: {message}")]
    Https { url: String, message: String },
    #[error("the list is over {MAX_LIST_BYTES} bytes")]
    TooLarge,
}

/// A source, ready to fetch from.
#[derive(Clone)]
pub enum Fetcher {
    File(PathBuf),
    Https(Arc<HttpsSource>),
}

/// An `https://` (or, for CRLs, `http://`) source: where, and whom to
/// trust for it.
pub struct HttpsSource {
    url: String,
    uri: hyper::Uri,
    host: String,
    port: u16,
    /// `None` for plain HTTP.
    tls: Option<(ServerName<'static>, tokio_rustls::TlsConnector)>,
}

impl Fetcher {
    pub fn new(config: &TrustDomainConfig) -> Result<Fetcher, FetchError> {
        match &config.source {
            ListSource::File(p) => Ok(Fetcher::File(p.clone())),
            ListSource::Https(url) => {
                let roots = config
                    .https_roots
                    .as_ref()
                    .ok_or_else(|| FetchError::Config(format!("{url}: no https_roots configured")))?;
                Ok(Fetcher::Https(Arc::new(HttpsSource::new(url, Some(roots))?)))
            }
        }
    }

    /// A CRL source: `file:PATH` (already resolved to an absolute path by
    /// the config), `http://…`, or `https://…` checked against `roots`.
    pub fn for_crl(source: &str, roots: Option<&std::path::Path>) -> Result<Fetcher, FetchError> {
        if let Some(path) = source.strip_prefix("file:") {
            Ok(Fetcher::File(PathBuf::from(path)))
        } else if source.starts_with("http://") {
            Ok(Fetcher::Https(Arc::new(HttpsSource::new(source, None)?)))
        } else if source.starts_with("https://") {
            let roots = roots.ok_or_else(|| FetchError::Config(format!("{source}: no https_roots configured")))?;
            Ok(Fetcher::Https(Arc::new(HttpsSource::new(source, Some(roots))?)))
        } else {
            Err(FetchError::Config(format!("{source}: not a file:, http:// or https:// source")))
        }
    }

    /// The source's current bytes.
    pub async fn fetch(&self) -> Result<Vec<u8>, FetchError> {
        match self {
            Fetcher::File(path) => {
                let file_err = |source| FetchError::File { path: path.clone(), source };
                let len = tokio::fs::metadata(path).await.map_err(file_err)?.len();
                if len > MAX_LIST_BYTES as u64 {
                    return Err(FetchError::TooLarge);
                }
                tokio::fs::read(path).await.map_err(file_err)
            }
            Fetcher::Https(source) => match tokio::time::timeout(FETCH_TIMEOUT, source.get()).await {
                Ok(result) => result,
                Err(_) => Err(source.error(format!("no answer within {} s", FETCH_TIMEOUT.as_secs()))),
            },
        }
    }
}

impl HttpsSource {
    fn new(url: &str, roots_file: Option<&std::path::Path>) -> Result<HttpsSource, FetchError> {
        let bad = |m: String| FetchError::Config(format!("{url}: {m}"));
        let uri: hyper::Uri = url.parse().map_err(|e| bad(format!("not a URL: {e}")))?;
        let (scheme, default_port) = match uri.scheme_str() {
            Some("https") => ("https", 443),
            Some("http") => ("http", 80),
            _ => return Err(bad("not an http(s) URL".into())),
        };
        let host = uri.host().ok_or_else(|| bad("no host".into()))?.to_owned();
        let port = uri.port_u16().unwrap_or(default_port);
        let bare_host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let tls = match (scheme, roots_file) {
            ("https", Some(roots_file)) => {
                let server_name = ServerName::try_from(bare_host.clone()).map_err(|e| bad(format!("host: {e}")))?;
                let mut roots = rustls::RootCertStore::empty();
                let certs = CertificateDer::pem_file_iter(roots_file)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| bad(format!("https_roots {}: {e}", roots_file.display())))?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(bad(format!("https_roots {}: no usable CA certificate", roots_file.display())));
                }
                let config = rustls::ClientConfig::builder_with_provider(crate::service::tls_provider())
                    .with_safe_default_protocol_versions()
                    .map_err(|e| bad(e.to_string()))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                Some((server_name, tokio_rustls::TlsConnector::from(Arc::new(config))))
            }
            ("https", None) => return Err(bad("no https_roots configured".into())),
            _ => None,
        };
        Ok(HttpsSource { url: url.to_owned(), uri, host: bare_host, port, tls })
    }

    fn error(&self, message: impl Into<String>) -> FetchError {
        FetchError::Https { url: self.url.clone(), message: message.into() }
    }

    async fn get(&self) -> Result<Vec<u8>, FetchError> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| self.error(format!("connect: {e}")))?;
        match &self.tls {
            Some((name, connector)) => {
                let tls = connector.connect(name.clone(), tcp).await.map_err(|e| self.error(format!("TLS: {e}")))?;
                self.exchange(tls).await
            }
            None => self.exchange(tcp).await,
        }
    }

    async fn exchange<S>(&self, io: S) -> Result<Vec<u8>, FetchError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| self.error(format!("HTTP: {e}")))?;
        let driver = tokio::spawn(conn);
        let path = self.uri.path_and_query().map_or("/", |p| p.as_str());
        let authority = self.uri.authority().map_or(self.host.as_str(), |a| a.as_str());
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, authority)
            .body(Empty::<Bytes>::new())
            .map_err(|e| self.error(e.to_string()))?;
        let result = async {
            let response = sender.send_request(request).await.map_err(|e| self.error(format!("HTTP: {e}")))?;
            if response.status() != hyper::StatusCode::OK {
                return Err(self.error(format!("HTTP status {}", response.status())));
            }
            let body = Limited::new(response.into_body(), MAX_LIST_BYTES).collect().await.map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    FetchError::TooLarge
                } else {
                    self.error(format!("body: {e}"))
                }
            })?;
            Ok(body.to_bytes().to_vec())
        }
        .await;
        driver.abort();
        result
    }
}
