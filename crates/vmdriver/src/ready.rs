//! Reaching a guest agent: from inside the management namespace (the host itself has no
//! address on the management bridge — network-safety rule), with a plain HTTP/1.1 GET.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

/// Errors reaching an agent.
#[derive(Debug, thiserror::Error)]
pub enum ReadyError {
    #[error(transparent)]
    Netns(#[from] netsys::NetnsError),
    #[error("agent at {addr} not ready after {waited:?}: {last}")]
    Timeout {
        addr: SocketAddr,
        waited: Duration,
        last: String,
    },
}

/// One HTTP/1.1 GET; returns (status, body).
pub fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {:?}", text.lines().next()))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Polls `GET /v1/health` until the agent answers 200; returns the time waited.
pub fn wait_agent_ready(
    netns: Option<&Path>,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<Duration, ReadyError> {
    netsys::netns::run_in(netns, move || {
        let start = Instant::now();
        let mut last = String::from("no attempt");
        while start.elapsed() < timeout {
            match http_get(addr, "/v1/health", Duration::from_millis(500)) {
                Ok((200, _)) => return Ok(start.elapsed()),
                Ok((code, body)) => last = format!("HTTP {code}: {}", body.trim()),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(ReadyError::Timeout {
            addr,
            waited: start.elapsed(),
            last,
        })
    })?
}
