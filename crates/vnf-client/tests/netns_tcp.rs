//! Root: `Endpoint::NetnsTcp` reaches a server that listens only inside a test namespace.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use vnf_client::{Endpoint, Options, VnfClient};

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// A one-shot HTTP server on 127.0.0.1:0 inside `ns`; returns its port.
fn serve_once_in(ns: &str) -> u16 {
    let path = format!("/run/netns/{ns}");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        netsys::netns::enter(std::path::Path::new(&path)).unwrap();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        tx.send(l.local_addr().unwrap().port()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 4096];
        let mut req = Vec::new();
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            req.extend_from_slice(&buf[..n]);
        }
        assert!(req.starts_with(b"GET /click_plugin/version "));
        let body = "\"in-netns-1.0\"";
        write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
    });
    rx.recv_timeout(Duration::from_secs(5)).unwrap()
}

#[tokio::test]
async fn netns_tcp_endpoint_reaches_server_inside_namespace() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root (network namespaces)");
        return;
    }
    let name = format!("cbt{:04x}", std::process::id() & 0xffff);
    if !ip(&["netns", "add", &name]) {
        eprintln!("skipped: cannot create a network namespace");
        return;
    }
    let _guard = Netns(name.clone());
    assert!(ip(&["-n", &name, "link", "set", "lo", "up"]));
    let port = serve_once_in(&name);
    let ep: Endpoint = format!("netns:/run/netns/{name}@127.0.0.1:{port}")
        .parse()
        .unwrap();
    let opts = Options {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        retries: 0,
        token: None,
    };
    let v = VnfClient::new(ep, opts.clone()).version().await.unwrap();
    assert_eq!(v, "in-netns-1.0");

    // A missing namespace is a connect error, not a connection from the host namespace.
    let gone = VnfClient::new(
        Endpoint::NetnsTcp {
            netns_path: format!("/run/netns/{name}-absent").into(),
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
        },
        opts,
    );
    assert!(gone.version().await.is_err());
}
