//! Accepting partner connections: TCP, then the TLS handshake and the
//! HTTP/2 connection preface, then the stream handed to tonic with the
//! partner it belongs to.
//!
//! A connection slot is taken before `accept()`, so at most
//! [`MAX_CONNECTIONS`] sockets (handshaking or open) exist at once; each
//! handshake runs in its own task with one deadline for both steps, so a
//! slow or silent client delays nobody else and cannot keep its slot: the
//! HTTP/2 server itself has no deadline for the preface, so a client that
//! finished TLS and then sent nothing would otherwise hold the connection
//! until its maximum age. A failed handshake is simply dropped: the client
//! got its TLS alert (or, after TLS, a closed connection) and no gRPC
//! status exists.

use super::metrics::{HandshakeOutcome, Metrics};
use super::peer::{PartnerPeer, PeerError};
use super::tls::ClientTrust;
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

/// Most partner connections at once, handshakes included.
pub const MAX_CONNECTIONS: usize = 1024;
/// A client that has not finished its TLS handshake and sent the HTTP/2
/// connection preface by then is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// The HTTP/2 client connection preface (RFC 9113 §3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Handshaken connections waiting for tonic to pick them up.
const QUEUE: usize = 64;

/// An authenticated partner connection.
pub struct PartnerStream {
    tls: TlsStream<TcpStream>,
    peer: PartnerPeer,
    /// How much of the preface, read during the handshake, has been handed
    /// on to the HTTP/2 server.
    preface_sent: usize,
    _slot: OwnedSemaphorePermit,
}

impl Connected for PartnerStream {
    type ConnectInfo = PartnerPeer;

    fn connect_info(&self) -> PartnerPeer {
        self.peer.clone()
    }
}

impl AsyncRead for PartnerStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.preface_sent < PREFACE.len() {
            let rest = &PREFACE[self.preface_sent..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            self.preface_sent += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.tls).poll_read(cx, buf)
    }
}

impl AsyncWrite for PartnerStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tls).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tls).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tls.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_shutdown(cx)
    }
}

/// The stream of handshaken connections tonic serves.
pub type Incoming = ReceiverStream<Result<PartnerStream, Infallible>>;

/// Starts accepting on `listener`; the stream ends when the returned task
/// is aborted (or tonic drops the stream).
pub fn accept(listener: TcpListener, trust: ClientTrust, metrics: Arc<Metrics>) -> (Incoming, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let task = tokio::spawn(async move {
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else { return };
            let (tcp, remote) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of descriptors or a reset before accept: back off
                    // briefly instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if tx.is_closed() {
                return;
            }
            let _ = tcp.set_nodelay(true);
            let acceptor = TlsAcceptor::from(trust.current());
            let tx = tx.clone();
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let outcome = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(acceptor, tcp, remote)).await {
                    Ok(Some((tls, peer))) => {
                        let _ = tx.send(Ok(PartnerStream { tls, peer, preface_sent: 0, _slot: slot })).await;
                        HandshakeOutcome::Accepted
                    }
                    Ok(None) => HandshakeOutcome::Failed,
                    Err(_) => HandshakeOutcome::TimedOut,
                };
                metrics.handshake(outcome);
            });
        }
    });
    (ReceiverStream::new(rx), task)
}

/// TLS with a client certificate, then the HTTP/2 connection
/// preface; `None` when either fails.
async fn handshake(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    remote: std::net::SocketAddr,
) -> Option<(TlsStream<TcpStream>, PartnerPeer)> {
    let mut tls = acceptor.accept(tcp).await.ok()?;
    let peer = peer_of(&tls, remote).ok()?;
    let mut preface = [0u8; PREFACE.len()];
    tls.read_exact(&mut preface).await.ok()?;
    (preface == *PREFACE).then_some((tls, peer))
}

fn peer_of(tls: &TlsStream<TcpStream>, remote: std::net::SocketAddr) -> Result<PartnerPeer, PeerError> {
    let leaf = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).ok_or(PeerError::NoCertificate)?;
    PartnerPeer::from_leaf(remote, leaf)
}
