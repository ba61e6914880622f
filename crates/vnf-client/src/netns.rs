//! TCP connections made from inside another network namespace ([`Endpoint::NetnsTcp`]).
//!
//! A socket belongs to the namespace of the thread that created it, for its whole life. So a
//! fresh OS thread (never a pooled tokio thread, which would stay in the namespace) joins the
//! namespace with `setns`, connects, and hands the connected socket back; tokio then drives it
//! from any thread.
//!
//! [`Endpoint::NetnsTcp`]: crate::Endpoint::NetnsTcp

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::TcpStream;

fn connect_blocking(
    netns_path: &Path,
    addr: SocketAddr,
    timeout: Duration,
) -> io::Result<std::net::TcpStream> {
    // This thread is ours alone and exits right after this function.
    netsys::netns::enter(netns_path)?;
    let s = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    s.set_nodelay(true)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Connect to `addr` from inside the network namespace at `netns_path`.
pub async fn connect_in(
    netns_path: &Path,
    addr: SocketAddr,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let path: PathBuf = netns_path.to_owned();
    std::thread::Builder::new()
        .name("netns-connect".into())
        .spawn(move || {
            let _ = tx.send(connect_blocking(&path, addr, timeout));
        })?;
    let std_stream = rx
        .await
        .map_err(|_| io::Error::other("netns connect thread died"))??;
    TcpStream::from_std(std_stream)
}
