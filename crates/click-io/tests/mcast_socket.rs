//! McastSocket in a real `click::Router` driven by `IoDriver`: multicast over the loopback
//! interface of a namespace the test creates (so nothing reaches the host's network), with a
//! plain socket on the other side. Needs root for the namespace; skips with a printed reason
//! otherwise. Configuration errors are checked without root (no socket joins a group).

#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use click::{Registry, Router};
use click_io::testnet::{self, Netns};
use click_io::{register_elements, IoDriver, IoMode, IoOptions};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

const GROUP: Ipv4Addr = Ipv4Addr::new(233, 252, 0, 7);
const PORT: u16 = 41234;

fn registry() -> Registry {
    let mut reg = Registry::standard();
    register_elements(&mut reg, &IoOptions::default());
    reg
}

#[test]
fn bad_arguments_are_config_errors() {
    let reg = registry();
    for (conf, want) in [
        (
            "McastSocket(233.252.0.7) -> Discard;",
            "missing mandatory MCASTPORT",
        ),
        (
            "McastSocket(233.252.0.7, foo) -> Discard;",
            "MCASTPORT: parse error",
        ),
        (
            "McastSocket(233.252.0.7, 70000) -> Discard;",
            "overflow, range 0-65535",
        ),
        (
            "McastSocket(nowhere, 1234) -> Discard;",
            "MCASTIP: parse error",
        ),
        (
            "McastSocket(233.252.0.7, 1234, LOOP maybe) -> Discard;",
            "LOOP: parse error",
        ),
        (
            "McastSocket(233.252.0.7, 1234, SNAPLEN 70000) -> Discard;",
            "SNAPLEN: out of range",
        ),
        (
            "McastSocket(233.252.0.7, 1234, 127.0.0.1, 4000, FOO 1) -> Discard;",
            "FOO: unknown argument",
        ),
        // Not a multicast group: the receive socket cannot bind to it (Click's message).
        (
            "McastSocket(198.18.7.7, 1234) -> Discard;",
            "bind: Cannot assign requested address",
        ),
    ] {
        let err = Router::new(conf, "f.click", &reg).unwrap_err().to_string();
        assert!(err.contains(want), "{conf}: {err}");
    }
}

/// A plain UDP socket that has joined GROUP on the namespace's loopback interface.
fn listener() -> UdpSocket {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    s.set_reuse_address(true).unwrap();
    s.bind(&SockAddr::from(SocketAddrV4::new(GROUP, PORT)))
        .unwrap();
    s.join_multicast_v4(&GROUP, &Ipv4Addr::LOCALHOST).unwrap();
    let s: UdpSocket = s.into();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    s
}

/// A plain UDP socket sending to GROUP through the loopback interface.
fn sender() -> UdpSocket {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let s2 = Socket::from(s);
    s2.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    s2.into()
}

/// What the namespace run observed.
#[derive(Debug)]
struct Seen {
    rx_count: String,
    rx_bytes: String,
    own_count: String,
    /// Payloads the plain listener received from the router.
    heard: Vec<Vec<u8>>,
}

/// Runs `config` (in the calling thread's namespace) until `rx` counted `want` packets and
/// a little longer (for late looped-back copies), or 5 s passed.
fn run(config: &str, want: &str) -> Seen {
    let reg = registry();
    let listen = listener();
    let send = sender();
    let mut router = Router::new(config, "mcast.click", &reg).unwrap();
    let mut drv = IoDriver::new(IoMode::Balanced);
    drv.start(&mut router).unwrap();
    let started = Instant::now();
    let mut external_sent = false;
    let mut complete_at = None;
    while started.elapsed() < Duration::from_secs(5) {
        if !router.run_tasks_once() {
            drv.wait_idle(&mut router, Duration::from_millis(5));
        }
        // After the sources: three 20-byte datagrams from outside the router.
        if !external_sent && started.elapsed() > Duration::from_millis(100) {
            for _ in 0..3 {
                send.send_to(&[b'x'; 20], (GROUP, PORT)).unwrap();
            }
            external_sent = true;
        }
        if complete_at.is_none() && router.read_handler("rx.count").unwrap() == want {
            complete_at = Some(Instant::now());
        }
        if complete_at.is_some_and(|t| t.elapsed() > Duration::from_millis(100)) {
            break;
        }
    }
    let seen = Seen {
        rx_count: router.read_handler("rx.count").unwrap(),
        rx_bytes: router.read_handler("rx.byte_count").unwrap(),
        own_count: router.read_handler("own.count").unwrap(),
        heard: Vec::new(),
    };
    router.cleanup();
    let mut heard = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok((n, _)) = listen.recv_from(&mut buf) {
        if buf[..n] != [b'x'; 20] {
            heard.push(buf[..n].to_vec());
        }
    }
    Seen { heard, ..seen }
}

#[test]
fn multicast_on_loopback_push_pull_receive_and_own_filter() {
    if let Some(why) = testnet::netns_unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    let ns = Netns::create(&format!("{}m", testnet::unique_prefix())).unwrap();
    let config = format!(
        "InfiniteSource(DATA \"pushed\", LIMIT 3, STOP false)\n\
           -> tx :: McastSocket({GROUP}, {PORT}, 127.0.0.1, 41001) -> own :: Counter -> Discard;\n\
         InfiniteSource(DATA \"pulled\", LIMIT 2, STOP false) -> Queue(10)\n\
           -> McastSocket({GROUP}, {PORT}, 127.0.0.1, 41002);\n\
         McastSocket({GROUP}, {PORT}, 127.0.0.1, SNAPLEN 8) -> rx :: Counter -> Discard;\n"
    );
    let seen = ns.run(move || run(&config, "8")).unwrap();
    // 3 pushed + 2 pulled from the router's other sockets, 3 from outside cut to SNAPLEN.
    assert_eq!(seen.rx_count, "8", "{seen:?}");
    assert_eq!(
        seen.rx_bytes,
        (3 * 6 + 2 * 6 + 3 * 8).to_string(),
        "{seen:?}"
    );
    // tx drops its own 3 looped-back datagrams (same source address and port).
    assert_eq!(seen.own_count, "5", "{seen:?}");
    let mut heard = seen.heard.clone();
    heard.sort();
    let want: Vec<Vec<u8>> = [&b"pulled"[..], b"pulled", b"pushed", b"pushed", b"pushed"]
        .iter()
        .map(|p| p.to_vec())
        .collect();
    assert_eq!(heard, want);
}
