//! Minimal blocking HTTP/1.1 GET over a UNIX socket, used to tell when an agent answers.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// `GET path` on the agent at `socket`; returns (status, body).
pub fn get(socket: &Path, path: &str, timeout: Duration) -> io::Result<(u16, String)> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::other("malformed HTTP response"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Whether the agent at `socket` answers `GET /click_plugin/version` with 200.
pub fn agent_answers(socket: &Path) -> bool {
    matches!(
        get(socket, "/click_plugin/version", Duration::from_millis(500)),
        Ok((200, _))
    )
}

/// Whether a VM agent at `addr`, reached from the namespace at `netns_path`, answers
/// `GET /click_plugin/version` with 200.
pub fn vm_agent_answers(netns_path: &Path, addr: std::net::SocketAddr) -> bool {
    matches!(
        netsys::netns::run_in(Some(netns_path), move || {
            vmdriver::ready::http_get(addr, "/click_plugin/version", Duration::from_secs(1))
        }),
        Ok(Ok((200, _)))
    )
}
