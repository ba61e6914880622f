//! Non-blocking ControlSocket listeners and connections, driven by the caller's poll loop.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use super::host::HandlerHost;
use super::protocol::{Session, SessionConfig};

/// Where a ControlSocket listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// TCP `port` on 127.0.0.1 (`localhost`) or all addresses of the namespace; with
    /// `port_plus` the first free port in `port..port+10` (Click's `PORT+`).
    Tcp {
        port: u16,
        port_plus: bool,
        localhost: bool,
    },
    /// A UNIX stream socket at this path (removed again on drop).
    Unix(PathBuf),
}

/// Where a listener actually ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Tcp(u16),
    Unix(PathBuf),
}

enum ListenSock {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

struct Listener {
    sock: ListenSock,
    cfg: SessionConfig,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let ListenSock::Unix(_, path) = &self.sock {
            let _ = std::fs::remove_file(path);
        }
    }
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
}

struct Conn {
    stream: Stream,
    session: Session,
    dead: bool,
}

/// A set of ControlSocket listeners and their open connections.
#[derive(Default)]
pub struct ControlServer {
    listeners: Vec<Listener>,
    conns: Vec<Conn>,
    buf: Vec<u8>,
}

/// Most connections served at once; more are accepted and closed at once.
const MAX_CONNS: usize = 256;

impl ControlServer {
    pub fn new() -> Self {
        ControlServer::default()
    }

    /// Opens a listener.
    pub fn listen(&mut self, ep: &Endpoint, cfg: SessionConfig) -> io::Result<Bound> {
        let (sock, bound) = match ep {
            Endpoint::Tcp {
                port,
                port_plus,
                localhost,
            } => {
                let ip = if *localhost {
                    Ipv4Addr::LOCALHOST
                } else {
                    Ipv4Addr::UNSPECIFIED
                };
                let tries = if *port_plus { 10 } else { 1 };
                let mut last = None;
                let mut found = None;
                for k in 0..tries {
                    let Some(p) = port.checked_add(k) else { break };
                    match TcpListener::bind(SocketAddrV4::new(ip, p)) {
                        Ok(l) => {
                            found = Some(l);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                let l = match found {
                    Some(l) => l,
                    None => return Err(last.unwrap_or_else(|| io::Error::other("no port to try"))),
                };
                let actual = l.local_addr()?.port();
                l.set_nonblocking(true)?;
                (ListenSock::Tcp(l), Bound::Tcp(actual))
            }
            Endpoint::Unix(path) => {
                remove_stale_socket(path)?;
                let l = UnixListener::bind(path)?;
                l.set_nonblocking(true)?;
                (ListenSock::Unix(l, path.clone()), Bound::Unix(path.clone()))
            }
        };
        self.listeners.push(Listener { sock, cfg });
        Ok(bound)
    }

    /// Number of open connections.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Appends the descriptors to wait on (listeners and connections for reading,
    /// connections with pending output for writing).
    pub fn poll_fds(&self, out: &mut Vec<libc::pollfd>) {
        for l in &self.listeners {
            let fd = match &l.sock {
                ListenSock::Tcp(s) => s.as_raw_fd(),
                ListenSock::Unix(s, _) => s.as_raw_fd(),
            };
            out.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        for c in &self.conns {
            let mut events = 0;
            if !c.session.input_closed() {
                events |= libc::POLLIN;
            }
            if !c.session.output().is_empty() {
                events |= libc::POLLOUT;
            }
            out.push(libc::pollfd {
                fd: c.stream.fd(),
                events,
                revents: 0,
            });
        }
    }

    /// Accepts, reads, answers and writes whatever is possible without blocking.
    /// Returns true when anything happened.
    pub fn service<H: HandlerHost + ?Sized>(&mut self, host: &mut H) -> bool {
        let mut work = self.accept_all();
        if self.buf.len() < 16 * 1024 {
            self.buf.resize(16 * 1024, 0);
        }
        for c in &mut self.conns {
            // Read what is there (bounded per round so one client cannot starve the router).
            if !c.session.input_closed() {
                for _ in 0..4 {
                    match c.stream.read(&mut self.buf) {
                        Ok(0) => {
                            c.session.close_input();
                            work = true;
                            break;
                        }
                        Ok(n) => {
                            c.session.feed(&self.buf[..n]);
                            work = true;
                            if n < self.buf.len() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(_) => {
                            c.dead = true;
                            break;
                        }
                    }
                }
            }
            c.session.process(host);
            while !c.dead && !c.session.output().is_empty() {
                match c.stream.write(c.session.output()) {
                    Ok(0) => {
                        c.dead = true;
                    }
                    Ok(n) => {
                        c.session.consume_output(n);
                        work = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => c.dead = true,
                }
            }
            if c.session.finished() {
                c.dead = true;
            }
        }
        let before = self.conns.len();
        self.conns.retain(|c| !c.dead);
        work || self.conns.len() != before
    }

    fn accept_all(&mut self) -> bool {
        let mut work = false;
        for l in &self.listeners {
            loop {
                let stream = match &l.sock {
                    ListenSock::Tcp(s) => s.accept().map(|(s, _)| Stream::Tcp(s)),
                    ListenSock::Unix(s, _) => s.accept().map(|(s, _)| Stream::Unix(s)),
                };
                let stream = match stream {
                    Ok(s) => s,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                work = true;
                if self.conns.len() >= MAX_CONNS {
                    continue; // dropped: closed at once
                }
                let nb = match &stream {
                    Stream::Tcp(s) => s.set_nonblocking(true),
                    Stream::Unix(s) => s.set_nonblocking(true),
                };
                if nb.is_err() {
                    continue;
                }
                self.conns.push(Conn {
                    stream,
                    session: Session::new(l.cfg),
                    dead: false,
                });
            }
        }
        work
    }

    /// Serves until `stop()` is true, sleeping in `poll()` (timeout `tick_ms`) between rounds.
    /// For standalone use and tests; coo-click drives `service` from its own loop.
    pub fn run<H: HandlerHost + ?Sized>(
        &mut self,
        host: &mut H,
        tick_ms: i32,
        mut stop: impl FnMut(&mut H) -> bool,
    ) {
        let mut fds = Vec::new();
        while !stop(host) {
            if !self.service(host) {
                fds.clear();
                self.poll_fds(&mut fds);
                // SAFETY: `fds` is a valid array of pollfd of the length given.
                unsafe {
                    libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, tick_ms);
                }
            }
        }
    }
}

/// Removes a leftover socket file nobody listens on (a crashed earlier run); refuses to
/// touch anything that is not a socket or that is still in use.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if !m.file_type().is_socket() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        )),
        Ok(_) => match UnixStream::connect(path) {
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{} is in use by another process", path.display()),
            )),
            Err(_) => std::fs::remove_file(path),
        },
    }
}
