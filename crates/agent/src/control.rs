//! Async client for Click's ControlSocket text protocol over a UNIX socket.
//!
//! Protocol (kohler/click `elements/userlevel/controlsocket.hh`): greeting
//! `Click::ControlSocket/1.x`, one request line per command, FTP-style replies
//! (`CODE-text` continuation lines, `CODE text` last line), read results followed by
//! `DATA n` and n raw bytes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

/// Longest reply line accepted; protects the agent from a misbehaving engine.
const MAX_LINE: usize = 64 * 1024;
/// Largest `DATA n` payload accepted.
const MAX_DATA: usize = 16 * 1024 * 1024;

/// ControlSocket failures.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot connect to control socket {path}")]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("control socket i/o")]
    Io(#[from] std::io::Error),
    #[error("control socket timed out after {0:?}")]
    Timeout(Duration),
    #[error("control socket protocol error: {0}")]
    Protocol(String),
    #[error("invalid handler name {0:?}")]
    BadHandlerName(String),
    /// The engine answered with an error code (5xx).
    #[error("engine replied {code} {message}")]
    Handler { code: u16, message: String },
}

impl ControlError {
    /// Engine error code, when the engine answered.
    pub fn code(&self) -> Option<u16> {
        match self {
            ControlError::Handler { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// One connection to an engine's ControlSocket; every operation is bounded by `timeout`.
pub struct ControlClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    timeout: Duration,
    greeting: String,
}

/// Handler names travel inside a request line: no whitespace or control bytes.
pub fn validate_handler_name(name: &str) -> Result<(), ControlError> {
    let ok = !name.is_empty() && name.len() <= 1024 && name.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(ControlError::BadHandlerName(name.to_owned()))
    }
}

impl ControlClient {
    /// Connects and checks the `Click::ControlSocket/` greeting.
    pub async fn connect(path: &Path, timeout: Duration) -> Result<Self, ControlError> {
        let fut = async {
            let stream =
                UnixStream::connect(path)
                    .await
                    .map_err(|source| ControlError::Connect {
                        path: path.to_owned(),
                        source,
                    })?;
            let (r, w) = stream.into_split();
            let mut client = ControlClient {
                reader: BufReader::new(r),
                writer: w,
                timeout,
                greeting: String::new(),
            };
            let greeting = client.read_line().await?;
            if !greeting.starts_with("Click::ControlSocket/") {
                return Err(ControlError::Protocol(format!(
                    "unexpected greeting {greeting:?}"
                )));
            }
            client.greeting = greeting;
            Ok(client)
        };
        tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| ControlError::Timeout(timeout))?
    }

    /// The greeting line, e.g. `Click::ControlSocket/1.3`.
    pub fn greeting(&self) -> &str {
        &self.greeting
    }

    async fn read_line(&mut self) -> Result<String, ControlError> {
        let mut buf = Vec::new();
        let mut limited = (&mut self.reader).take(MAX_LINE as u64 + 1);
        let n = limited.read_until(b'\n', &mut buf).await?;
        if n == 0 {
            return Err(ControlError::Protocol("connection closed".into()));
        }
        if buf.len() > MAX_LINE {
            return Err(ControlError::Protocol("reply line too long".into()));
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        String::from_utf8(buf).map_err(|_| ControlError::Protocol("reply is not UTF-8".into()))
    }

    /// Reads one (possibly multi-line) reply: returns the code and the joined text.
    async fn reply(&mut self) -> Result<(u16, String), ControlError> {
        let mut text = Vec::new();
        loop {
            let line = self.read_line().await?;
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| ControlError::Protocol(format!("bad reply line {line:?}")))?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            text.push(line.get(4..).unwrap_or("").to_owned());
            if !more {
                return Ok((code, text.join("\n")));
            }
        }
    }

    async fn command(
        &mut self,
        line: &str,
        payload: Option<&[u8]>,
    ) -> Result<(u16, String), ControlError> {
        self.writer.write_all(line.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await?;
        if let Some(p) = payload {
            self.writer.write_all(p).await?;
        }
        self.writer.flush().await?;
        self.reply().await
    }

    /// `READ handler`: the handler's raw value.
    pub async fn read(&mut self, handler: &str) -> Result<Vec<u8>, ControlError> {
        validate_handler_name(handler)?;
        let t = self.timeout;
        let fut = async {
            let (code, message) = self.command(&format!("READ {handler}"), None).await?;
            if !(200..300).contains(&code) {
                return Err(ControlError::Handler { code, message });
            }
            let data = self.read_line().await?;
            let n: usize = data
                .strip_prefix("DATA ")
                .and_then(|n| n.trim().parse().ok())
                .ok_or_else(|| {
                    ControlError::Protocol(format!("expected DATA line, got {data:?}"))
                })?;
            if n > MAX_DATA {
                return Err(ControlError::Protocol(format!("DATA {n} too large")));
            }
            let mut buf = vec![0u8; n];
            self.reader.read_exact(&mut buf).await?;
            Ok(buf)
        };
        bounded(t, fut).await
    }

    /// `READ handler` decoded as (lossy) UTF-8 text.
    pub async fn read_string(&mut self, handler: &str) -> Result<String, ControlError> {
        let bytes = self.read(handler).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Writes a handler; single-line values use `WRITE`, anything else `WRITEDATA`.
    /// Returns the engine's reply message.
    pub async fn write(&mut self, handler: &str, value: &[u8]) -> Result<String, ControlError> {
        validate_handler_name(handler)?;
        let t = self.timeout;
        let simple = !value.is_empty()
            && !value.iter().any(|&b| b == b'\n' || b == b'\r')
            && value.first() != Some(&b' ');
        let fut = async {
            let (code, message) = if simple {
                let v = String::from_utf8_lossy(value);
                self.command(&format!("WRITE {handler} {v}"), None).await?
            } else {
                self.command(&format!("WRITEDATA {handler} {}", value.len()), Some(value))
                    .await?
            };
            if (200..300).contains(&code) {
                Ok(message)
            } else {
                Err(ControlError::Handler { code, message })
            }
        };
        bounded(t, fut).await
    }

    /// `CHECKREAD handler`: whether the handler exists and is readable.
    pub async fn check_read(&mut self, handler: &str) -> Result<bool, ControlError> {
        validate_handler_name(handler)?;
        let t = self.timeout;
        let fut = async {
            let (code, message) = self.command(&format!("CHECKREAD {handler}"), None).await?;
            match code {
                200..=299 => Ok(true),
                510 | 511 | 530 => Ok(false),
                _ => Err(ControlError::Handler { code, message }),
            }
        };
        bounded(t, fut).await
    }

    /// Says goodbye; errors are irrelevant at this point.
    pub async fn quit(mut self) {
        let _ = tokio::time::timeout(self.timeout, self.command("QUIT", None)).await;
    }
}

async fn bounded<T>(
    t: Duration,
    f: impl std::future::Future<Output = Result<T, ControlError>>,
) -> Result<T, ControlError> {
    tokio::time::timeout(t, f)
        .await
        .map_err(|_| ControlError::Timeout(t))?
}

/// Parses the payload of the global `list` handler: `N\nname\n...`.
pub fn parse_list(payload: &str) -> Vec<String> {
    let mut lines = payload.lines();
    let n: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    lines
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(n)
        .map(str::to_owned)
        .collect()
}

/// Parses an element's `handlers` payload (`name\tflags` per line) into readable names.
pub fn parse_readable_handlers(payload: &str) -> Vec<String> {
    payload
        .lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            let name = parts.next()?.trim();
            let flags = parts.next().unwrap_or("r");
            (!name.is_empty() && flags.contains('r')).then(|| name.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::UnixListener;

    #[test]
    fn list_payload() {
        assert_eq!(
            parse_list("2\na\nFromDevice@2\n"),
            vec!["a", "FromDevice@2"]
        );
        assert!(parse_list("").is_empty());
    }

    #[test]
    fn handlers_payload() {
        assert_eq!(
            parse_readable_handlers("count\tr\nreset\tw\nname\tr\n"),
            vec!["count", "name"]
        );
    }

    #[test]
    fn handler_names() {
        assert!(validate_handler_name("c.count").is_ok());
        assert!(validate_handler_name("a b").is_err());
        assert!(validate_handler_name("a\nQUIT").is_err());
        assert!(validate_handler_name("").is_err());
    }

    #[tokio::test]
    async fn read_write_against_scripted_server() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cs.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let (r, mut w) = s.into_split();
            let mut r = BufReader::new(r);
            w.write_all(b"Click::ControlSocket/1.3\r\n").await.unwrap();
            let mut line = String::new();
            r.read_line(&mut line).await.unwrap();
            assert_eq!(line, "READ c.count\r\n");
            w.write_all(b"200 Read handler 'c.count' OK\r\nDATA 2\r\n42")
                .await
                .unwrap();
            line.clear();
            r.read_line(&mut line).await.unwrap();
            assert_eq!(line, "WRITEDATA c.x 3\r\n");
            let mut b = [0u8; 3];
            r.read_exact(&mut b).await.unwrap();
            assert_eq!(&b, b"a\nb");
            w.write_all(b"200-warning\r\n220 Write handler 'c.x' OK\r\n")
                .await
                .unwrap();
            line.clear();
            r.read_line(&mut line).await.unwrap();
            w.write_all(b"511 No read handler named 'c.nope'\r\n")
                .await
                .unwrap();
        });
        let mut c = ControlClient::connect(&path, Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(c.greeting(), "Click::ControlSocket/1.3");
        assert_eq!(c.read_string("c.count").await.unwrap(), "42");
        assert_eq!(
            c.write("c.x", b"a\nb").await.unwrap(),
            "warning\nWrite handler 'c.x' OK"
        );
        let err = c.read("c.nope").await.unwrap_err();
        assert_eq!(err.code(), Some(511));
        server.await.unwrap();
    }
}
