//! Listeners: `tcp:ADDR` and `unix:PATH`, served with hyper's HTTP/1 server so the head size
//! (COO's write_file puts a whole config in the URL) and the header read timeout are ours.

use std::fmt;
use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, Semaphore};

/// Largest request head hyper buffers; above the query limit so we answer 413 ourselves.
const MAX_HEAD: usize = 4 * 1024 * 1024;

/// A connection must deliver a whole request head within this time (also bounds how long an
/// idle keep-alive connection holds a slot).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Default cap on open connections per listener; above it new ones are closed at once.
pub const MAX_CONNECTIONS: usize = 2048;

/// Where the agent listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenSpec {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

#[derive(Debug, thiserror::Error)]
#[error("invalid listen address {0:?}: expected tcp:HOST:PORT or unix:/path")]
pub struct BadListen(String);

impl FromStr for ListenSpec {
    type Err = BadListen;
    fn from_str(s: &str) -> Result<Self, BadListen> {
        if let Some(a) = s.strip_prefix("tcp:") {
            a.parse()
                .map(ListenSpec::Tcp)
                .map_err(|_| BadListen(s.to_owned()))
        } else if let Some(p) = s.strip_prefix("unix:") {
            if p.is_empty() || p.len() > 100 {
                return Err(BadListen(s.to_owned()));
            }
            Ok(ListenSpec::Unix(PathBuf::from(p)))
        } else {
            Err(BadListen(s.to_owned()))
        }
    }
}

impl fmt::Display for ListenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenSpec::Tcp(a) => write!(f, "tcp:{a}"),
            ListenSpec::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// A bound listener; a UNIX socket file is removed on drop.
pub enum Bound {
    Tcp(TcpListener),
    Unix(UnixListener, UnixSocketFile),
}

/// RAII guard for a UNIX socket file we created.
pub struct UnixSocketFile(PathBuf);

impl Drop for UnixSocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Bound {
    /// What was really bound (the port of `tcp:…:0` is resolved).
    pub fn local(&self) -> String {
        match self {
            Bound::Tcp(l) => l
                .local_addr()
                .map(|a| format!("tcp:{a}"))
                .unwrap_or_else(|_| "tcp:?".into()),
            Bound::Unix(_, f) => format!("unix:{}", f.0.display()),
        }
    }
}

/// Binds; a stale socket file is replaced, any other existing file is refused.
pub async fn bind(spec: &ListenSpec) -> std::io::Result<Bound> {
    match spec {
        ListenSpec::Tcp(a) => Ok(Bound::Tcp(TcpListener::bind(a).await?)),
        ListenSpec::Unix(p) => {
            if let Ok(meta) = std::fs::symlink_metadata(p) {
                if meta.file_type().is_socket() {
                    std::fs::remove_file(p)?;
                } else {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        format!("{} exists and is not a socket", p.display()),
                    ));
                }
            }
            let l = UnixListener::bind(p)?;
            let guard = UnixSocketFile(p.clone());
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600))?;
            Ok(Bound::Unix(l, guard))
        }
    }
}

fn serve_conn<S>(stream: S, router: Router, slots: &Arc<Semaphore>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    // Over the limit: close at once rather than queue (the backlog would fill and stall
    // everyone); idle connections free their slot after HEADER_READ_TIMEOUT.
    let Ok(permit) = slots.clone().try_acquire_owned() else {
        tracing::debug!("connection limit reached; closing a new connection");
        return;
    };
    let svc = TowerToHyperService::new(router);
    tokio::spawn(async move {
        let _permit = permit;
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .max_buf_size(MAX_HEAD)
            .serve_connection(TokioIo::new(stream), svc);
        if let Err(e) = conn.await {
            tracing::debug!("connection: {e}");
        }
    });
}

/// Accepts connections until `stop` turns true, at most `max_connections` open at once.
pub async fn serve(
    bound: Bound,
    router: Router,
    mut stop: watch::Receiver<bool>,
    max_connections: usize,
) {
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            r = async {
                match &bound {
                    Bound::Tcp(l) => l.accept().await.map(|(s, _)| serve_conn(s, router.clone(), &slots)),
                    Bound::Unix(l, _) => l.accept().await.map(|(s, _)| serve_conn(s, router.clone(), &slots)),
                }
            } => {
                if let Err(e) = r {
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_specs() {
        assert_eq!(
            "tcp:127.0.0.1:8000".parse::<ListenSpec>().unwrap(),
            ListenSpec::Tcp("127.0.0.1:8000".parse().unwrap())
        );
        assert_eq!(
            "unix:/run/a.sock".parse::<ListenSpec>().unwrap(),
            ListenSpec::Unix("/run/a.sock".into())
        );
        assert!("127.0.0.1:8000".parse::<ListenSpec>().is_err());
        assert!("tcp:localhost".parse::<ListenSpec>().is_err());
        assert!("unix:".parse::<ListenSpec>().is_err());
    }

    #[tokio::test]
    async fn stale_socket_replaced_regular_file_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.sock");
        let first = std::os::unix::net::UnixListener::bind(&p).unwrap();
        drop(first);
        let b = bind(&ListenSpec::Unix(p.clone())).await.unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        drop(b);
        assert!(!p.exists());
        std::fs::write(&p, "x").unwrap();
        assert!(bind(&ListenSpec::Unix(p)).await.is_err());
    }
}
