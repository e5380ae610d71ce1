//! The node's admin listener as the command line asks it: one plain
//! HTTP/1.1 exchange per question, for `anchors` and `health`.

use hengqin_bridge::config::ServerConfig;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// Largest answer read.
const MAX_ANSWER_BYTES: u64 = 1 << 20;
/// Longest wait for the connection itself.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Where to reach the admin listener from this machine: the configured
/// address, with a wildcard (`0.0.0.0`, `::`) replaced by loopback.
pub fn address(server: &ServerConfig) -> SocketAddr {
    let mut addr = server.admin_listen;
    match addr {
        SocketAddr::V4(a) if a.ip().is_unspecified() => addr.set_ip(Ipv4Addr::LOCALHOST.into()),
        SocketAddr::V6(a) if a.ip().is_unspecified() => addr.set_ip(Ipv6Addr::LOCALHOST.into()),
        _ => {}
    }
    addr
}

/// One request without a body; the status code and the body of the answer.
pub fn exchange(addr: SocketAddr, method: &str, path: &str, timeout: Duration) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT.min(timeout)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.take(MAX_ANSWER_BYTES).read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP response")?;
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP/1.1 status line: {}", head.lines().next().unwrap_or_default()))?;
    Ok((status, body.to_owned()))
}
