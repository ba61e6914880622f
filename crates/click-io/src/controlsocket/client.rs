//! A blocking client for Click's ControlSocket protocol (coo-click and reference Click alike).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// A reply: code, message lines (without code and separator), and the `DATA` block if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
    pub data: Option<Vec<u8>>,
}

impl Reply {
    /// True for 2xx codes.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.code)
    }
    /// All message lines joined with newlines.
    pub fn message(&self) -> String {
        self.lines.join("\n")
    }
}

/// A failed client call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("control socket I/O: {0}")]
    Io(#[from] io::Error),
    #[error("control socket protocol: {0}")]
    Protocol(String),
    #[error("{code} {message}")]
    Refused { code: u16, message: String },
}

trait Rw: Read + Write + Send {}
impl<T: Read + Write + Send> Rw for T {}

/// A connection to a ControlSocket.
pub struct ControlClient {
    stream: Box<dyn Rw>,
    buf: Vec<u8>,
    version: String,
}

impl ControlClient {
    /// Connects to a UNIX-socket ControlSocket; `timeout` bounds every read and write.
    pub fn connect_unix(path: &Path, timeout: Duration) -> Result<Self, ClientError> {
        let s = UnixStream::connect(path)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        Self::handshake(Box::new(s))
    }

    /// Connects to a TCP ControlSocket.
    pub fn connect_tcp(addr: SocketAddr, timeout: Duration) -> Result<Self, ClientError> {
        let s = TcpStream::connect_timeout(&addr, timeout)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        s.set_nodelay(true)?;
        Self::handshake(Box::new(s))
    }

    fn handshake(stream: Box<dyn Rw>) -> Result<Self, ClientError> {
        let mut c = ControlClient {
            stream,
            buf: Vec::new(),
            version: String::new(),
        };
        let g = c.line()?;
        let v = g
            .strip_prefix("Click::ControlSocket/")
            .ok_or_else(|| ClientError::Protocol(format!("unexpected greeting {g:?}")))?;
        c.version = v.to_owned();
        Ok(c)
    }

    /// The protocol version from the greeting (e.g. `1.3`).
    pub fn version(&self) -> &str {
        &self.version
    }

    fn fill(&mut self) -> Result<(), ClientError> {
        let mut tmp = [0u8; 4096];
        let n = self.stream.read(&mut tmp)?;
        if n == 0 {
            return Err(ClientError::Protocol("connection closed".into()));
        }
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(())
    }

    fn line(&mut self) -> Result<String, ClientError> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut l: Vec<u8> = self.buf.drain(..=i).collect();
                l.pop();
                if l.last() == Some(&b'\r') {
                    l.pop();
                }
                return Ok(String::from_utf8_lossy(&l).into_owned());
            }
            if self.buf.len() > 1 << 20 {
                return Err(ClientError::Protocol("reply line too long".into()));
            }
            self.fill()?;
        }
    }

    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, ClientError> {
        while self.buf.len() < n {
            self.fill()?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Sends one command line (plus `payload` bytes right after it) and reads the reply;
    /// with `expect_data`, a successful reply is followed by a `DATA n` block.
    pub fn request(
        &mut self,
        line: &str,
        payload: &[u8],
        expect_data: bool,
    ) -> Result<Reply, ClientError> {
        let mut msg = Vec::with_capacity(line.len() + 2 + payload.len());
        msg.extend_from_slice(line.as_bytes());
        msg.extend_from_slice(b"\r\n");
        msg.extend_from_slice(payload);
        self.stream.write_all(&msg)?;
        self.stream.flush()?;
        self.reply(expect_data)
    }

    fn reply(&mut self, expect_data: bool) -> Result<Reply, ClientError> {
        let mut lines = Vec::new();
        let code = loop {
            let l = self.line()?;
            let bad = || ClientError::Protocol(format!("malformed reply line {l:?}"));
            if l.len() < 3 {
                return Err(bad());
            }
            let code: u16 = l[..3].parse().map_err(|_| bad())?;
            let sep = l.as_bytes().get(3).copied().unwrap_or(b' ');
            lines.push(l.get(4..).unwrap_or("").to_owned());
            if sep != b'-' {
                break code;
            }
        };
        let mut data = None;
        if expect_data && (200..300).contains(&code) {
            let d = self.line()?;
            let n: usize = d
                .strip_prefix("DATA ")
                .and_then(|n| n.trim().parse().ok())
                .ok_or_else(|| ClientError::Protocol(format!("expected DATA line, got {d:?}")))?;
            data = Some(self.bytes(n)?);
        }
        Ok(Reply { code, lines, data })
    }

    fn refused(r: Reply) -> ClientError {
        ClientError::Refused {
            code: r.code,
            message: r.message(),
        }
    }

    /// `READ handler` → the handler's value (bytes as text, lossily).
    pub fn read(&mut self, handler: &str) -> Result<String, ClientError> {
        let r = self.request(&format!("READ {handler}"), b"", true)?;
        if !r.ok() {
            return Err(Self::refused(r));
        }
        Ok(String::from_utf8_lossy(&r.data.unwrap_or_default()).into_owned())
    }

    /// `WRITEDATA handler n` + value: any value, including newlines. Returns the reply
    /// (`220` when there were warnings).
    pub fn write(&mut self, handler: &str, value: &[u8]) -> Result<Reply, ClientError> {
        let r = self.request(
            &format!("WRITEDATA {handler} {}", value.len()),
            value,
            false,
        )?;
        if !r.ok() {
            return Err(Self::refused(r));
        }
        Ok(r)
    }

    /// `CHECKREAD` / `CHECKWRITE`: whether the handler exists with that capability.
    pub fn check(&mut self, handler: &str, write: bool) -> Result<bool, ClientError> {
        let cmd = if write { "CHECKWRITE" } else { "CHECKREAD" };
        let r = self.request(&format!("{cmd} {handler}"), b"", false)?;
        Ok(r.ok())
    }

    /// `QUIT`, then close.
    pub fn quit(mut self) -> Result<(), ClientError> {
        let r = self.request("QUIT", b"", false)?;
        if r.code != 200 {
            return Err(Self::refused(r));
        }
        Ok(())
    }
}
