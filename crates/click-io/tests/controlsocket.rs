//! One ControlSocket client script, run against our server (UNIX socket and loopback TCP,
//! with a fake router) and against reference Click (`click -u SOCK`, `ControlSocket(TCP, ...)`)
//! when `COO_BENCH_REFERENCE_CLICK` names its binary.

#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/cs_script.rs"]
mod cs_script;
use cs_script::exercise;

use click_io::controlsocket::{
    ControlClient, ControlServer, Endpoint, HandlerFailure, HandlerHost, HandlerInfo,
    SessionConfig, WriteOutcome,
};

/// The router `Idle -> c :: Counter -> Discard;` as Click shows it through handlers.
struct FakeRouter {
    count: u64,
}

const ELEMENTS: [(&str, &str); 3] = [
    ("Idle@1", "Idle"),
    ("c", "Counter"),
    ("Discard@3", "Discard"),
];

impl HandlerHost for FakeRouter {
    fn has_element(&self, name: &str) -> bool {
        ELEMENTS.iter().any(|e| e.0 == name)
    }
    fn element_name_by_index(&self, i: usize) -> Option<String> {
        ELEMENTS.get(i.checked_sub(1)?).map(|e| e.0.to_owned())
    }
    fn handler_info(&self, e: Option<&str>, h: &str) -> Option<HandlerInfo> {
        let r = HandlerInfo {
            readable: true,
            writable: false,
        };
        let w = HandlerInfo {
            readable: false,
            writable: true,
        };
        match (e, h) {
            (None, "version" | "list") => Some(r),
            (None, "stop") => Some(w),
            (Some(_), "name" | "class") => Some(r),
            (Some("c"), "count" | "byte_count") => Some(r),
            (Some("c"), "reset") => Some(w),
            _ => None,
        }
    }
    fn call_read(&mut self, e: Option<&str>, h: &str, _: &[u8]) -> Result<Vec<u8>, HandlerFailure> {
        let v = match (e, h) {
            (None, "version") => "2.1".to_owned(),
            (None, "list") => {
                let mut s = format!("{}\n", ELEMENTS.len());
                for (n, _) in ELEMENTS {
                    s += n;
                    s += "\n";
                }
                s
            }
            (Some(e), "name") => e.to_owned(),
            (Some(e), "class") => ELEMENTS
                .iter()
                .find(|x| x.0 == e)
                .map(|x| x.1)
                .unwrap_or("")
                .to_owned(),
            (Some("c"), "count") => self.count.to_string(),
            _ => "0".to_owned(),
        };
        Ok(v.into_bytes())
    }
    fn call_write(
        &mut self,
        _: Option<&str>,
        h: &str,
        _: &[u8],
    ) -> Result<WriteOutcome, HandlerFailure> {
        if h == "reset" {
            self.count = 0;
        }
        Ok(WriteOutcome::default())
    }
}

fn quit(c: ControlClient) {
    c.quit().unwrap();
}

struct OurServer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OurServer {
    fn start(ep: Endpoint) -> (Self, click_io::controlsocket::Bound) {
        let mut server = ControlServer::new();
        let bound = server.listen(&ep, SessionConfig::default()).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut host = FakeRouter { count: 0 };
            server.run(&mut host, 20, |_| s2.load(Ordering::Relaxed));
        });
        (
            OurServer {
                stop,
                thread: Some(thread),
            },
            bound,
        )
    }
}

impl Drop for OurServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn temp_sock(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("cbt-cs-{}-{tag}.sock", std::process::id()))
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const T: Duration = Duration::from_secs(5);

#[test]
fn our_server_over_unix_socket() {
    let path = temp_sock("ours");
    let (_srv, _) = OurServer::start(Endpoint::Unix(path.clone()));
    let mut c = ControlClient::connect_unix(&path, T).unwrap();
    exercise(&mut c);
    quit(c);
    // Several clients at once.
    let mut a = ControlClient::connect_unix(&path, T).unwrap();
    let mut b = ControlClient::connect_unix(&path, T).unwrap();
    assert_eq!(a.read("c.count").unwrap(), "0");
    assert_eq!(b.read("c.count").unwrap(), "0");
    drop(a);
    assert_eq!(b.read("version").unwrap(), "2.1");
}

#[test]
fn our_server_over_loopback_tcp() {
    let port = free_port();
    let (_srv, bound) = OurServer::start(Endpoint::Tcp {
        port,
        port_plus: true,
        localhost: true,
    });
    let click_io::controlsocket::Bound::Tcp(p) = bound else {
        panic!("not tcp")
    };
    let mut c = ControlClient::connect_tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, p)), T).unwrap();
    exercise(&mut c);
    quit(c);
}

#[test]
fn unix_socket_file_is_removed_and_stale_file_replaced() {
    let path = temp_sock("stale");
    // A stale socket nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    {
        let (_srv, _) = OurServer::start(Endpoint::Unix(path.clone()));
        let c = ControlClient::connect_unix(&path, T).unwrap();
        quit(c);
    }
    assert!(!path.exists(), "socket file left behind");
}

#[test]
fn hostile_input_gets_clean_errors() {
    use std::io::{Read, Write};
    let path = temp_sock("hostile");
    let (_srv, _) = OurServer::start(Endpoint::Unix(path.clone()));
    let mut s = std::os::unix::net::UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(b"\xff\xfe garbage \x00\r\nWRITEDATA c.reset 99999999999\r\n")
        .unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + T;
    while !String::from_utf8_lossy(&got).contains("521") && Instant::now() < deadline {
        let mut b = [0u8; 512];
        let n = s.read(&mut b).unwrap();
        got.extend_from_slice(&b[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.contains("501 Command '\\377\\376' unimplemented") || text.contains("501 Command"),
        "{text}"
    );
    assert!(
        text.contains("521 Data too large for write handler 'c.reset'"),
        "{text}"
    );
    // The server still serves others.
    let mut c = ControlClient::connect_unix(&path, T).unwrap();
    assert_eq!(c.read("c.count").unwrap(), "0");
}

/// Reference Click, killed on drop; its socket file (if any) is removed.
struct RefClick {
    child: Child,
    sock: Option<PathBuf>,
}

impl Drop for RefClick {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(s) = &self.sock {
            let _ = std::fs::remove_file(s);
        }
    }
}

fn reference_click() -> Option<PathBuf> {
    match std::env::var_os("COO_BENCH_REFERENCE_CLICK") {
        Some(p) if Path::new(&p).is_file() => Some(PathBuf::from(p)),
        Some(p) => {
            eprintln!("skipped: COO_BENCH_REFERENCE_CLICK={p:?} is not a file");
            None
        }
        None => {
            eprintln!("skipped: COO_BENCH_REFERENCE_CLICK is not set (reference Click binary)");
            None
        }
    }
}

fn wait_for(mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + T;
    while !ok() {
        assert!(Instant::now() < deadline, "reference Click did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn reference_click_over_unix_socket() {
    let Some(click) = reference_click() else {
        return;
    };
    let path = temp_sock("ref");
    let _ = std::fs::remove_file(&path);
    let child = Command::new(click)
        .arg("-u")
        .arg(&path)
        .arg("-e")
        .arg("Idle -> c :: Counter -> Discard;")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let _g = RefClick {
        child,
        sock: Some(path.clone()),
    };
    wait_for(|| ControlClient::connect_unix(&path, T).is_ok());
    let mut c = ControlClient::connect_unix(&path, T).unwrap();
    exercise(&mut c);
    quit(c);
}

#[test]
fn reference_click_over_tcp_element() {
    let Some(click) = reference_click() else {
        return;
    };
    let port = free_port();
    let config =
        format!("ControlSocket(TCP, {port}, LOCALHOST true); Idle -> c :: Counter -> Discard;");
    let child = Command::new(click)
        .arg("-e")
        .arg(config)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let _g = RefClick { child, sock: None };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    wait_for(|| ControlClient::connect_tcp(addr, T).is_ok());
    let mut c = ControlClient::connect_tcp(addr, T).unwrap();
    // The element list differs (the ControlSocket is element 1 here); the rest is shared.
    assert_eq!(c.read("c.count").unwrap(), "0");
    assert_eq!(c.request("READ c.reset", b"", false).unwrap().code, 530);
    assert_eq!(c.request("LLRPC c#1", b"", false).unwrap().code, 501);
    quit(c);
}
