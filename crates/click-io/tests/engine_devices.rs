//! The device elements inside a real `click::Router`, driven by `IoDriver`, forwarding
//! between veth pairs in namespaces, with counters read back over the ControlSocket.
//! Needs root for the forwarding tests; skips with a printed reason otherwise.

#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use click::{Registry, Router};
use click_io::controlsocket::{ControlClient, Endpoint, SessionConfig};
use click_io::testnet::{self, Chain};
use click_io::{register_elements, IfName, IoDriver, IoMode, IoOptions};

fn registry(ports: &[&str], mode: IoMode) -> Registry {
    let mut reg = Registry::standard();
    let opts = IoOptions {
        ports: ports.iter().map(|p| IfName::new(*p).unwrap()).collect(),
        mode,
        rx_bytes: None,
    };
    register_elements(&mut reg, &opts);
    reg
}

#[test]
fn dpdk_port_out_of_range_is_a_clear_error() {
    let reg = registry(&["lo"], IoMode::Throughput);
    let err = Router::new("FromDPDKDevice(3) -> Discard;", "f.click", &reg).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("port 3 out of range"), "{text}");
    assert!(text.contains("1 interface"), "{text}");
    let reg = registry(&[], IoMode::Throughput);
    let err = Router::new("Idle -> ToDPDKDevice(0);", "f.click", &reg).unwrap_err();
    assert!(err.to_string().contains("--ports"), "{err}");
}

#[test]
fn bad_arguments_are_config_errors() {
    let reg = registry(&["lo"], IoMode::Throughput);
    for (conf, want) in [
        ("FromDevice(lo, BURST 0) -> Discard;", "BURST"),
        ("FromDevice(lo, PROMISC maybe) -> Discard;", "PROMISC"),
        ("FromDevice(lo, ENCAP IP) -> Discard;", "ENCAP"),
        ("FromDevice(\"a/b\") -> Discard;", "invalid interface name"),
        ("ControlSocket(UDP, 5);", "unknown socket type"),
        ("ControlSocket(TCP, http);", "PORT requires TCP port"),
    ] {
        let err = Router::new(conf, "f.click", &reg).unwrap_err().to_string();
        assert!(err.contains(want), "{conf}: {err}");
    }
}

/// gen --(g0|n0)--> NF --(n1|s0)--> sink, plus the reverse direction.
fn chain() -> Option<Chain> {
    if let Some(why) = testnet::netns_unavailable() {
        eprintln!("skipped: {why}");
        return None;
    }
    Some(Chain::create().unwrap())
}

/// Runs `config` in the NF namespace until `stop`; returns once the router is up.
fn run_router(
    c: &Chain,
    config: String,
    mode: IoMode,
    sock: PathBuf,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let ports = [format!("{}n0", c.prefix), format!("{}n1", c.prefix)];
    let (ready_tx, ready_rx) = mpsc::channel();
    let h =
        c.nf.spawn(move || {
            let reg = registry(&[&ports[0], &ports[1]], mode);
            let mut router = Router::new(&config, "test.click", &reg).unwrap();
            let mut drv = IoDriver::new(mode);
            drv.listen(&Endpoint::Unix(sock), SessionConfig::default())
                .unwrap();
            drv.start(&mut router).unwrap();
            ready_tx.send(()).unwrap();
            while !stop.load(Ordering::Relaxed) && !router.stopped() {
                if !router.run_tasks_once() {
                    drv.wait_idle(&mut router, Duration::from_millis(5));
                }
                drv.poll(&mut router);
            }
        })
        .unwrap();
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    h
}

fn blast(c: &Chain, n: u64) -> usize {
    c.blast(n).unwrap()
}

fn sock_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("cbt-io-{}-{tag}.sock", std::process::id()))
}

fn forward_and_count(config: &str, mode: IoMode, tag: &str, counters: &[(&str, &str)]) {
    let Some(c) = chain() else { return };
    let sock = sock_path(tag);
    let stop = Arc::new(AtomicBool::new(false));
    let config = config
        .replace("%N0", &format!("{}n0", c.prefix))
        .replace("%N1", &format!("{}n1", c.prefix));
    let h = run_router(&c, config, mode, sock.clone(), stop.clone());
    let n = 2000;
    let got = blast(&c, n);
    let mut cl = ControlClient::connect_unix(&sock, Duration::from_secs(5)).unwrap();
    let mut values = Vec::new();
    for (handler, _) in counters {
        values.push(cl.read(handler).unwrap());
    }
    // Reset works and reads back zero.
    let first = counters[0].0;
    let elem = first.split('.').next().unwrap();
    cl.write(&format!("{elem}.reset_counts"), b"").unwrap();
    let after_reset = cl.read(first).unwrap();
    cl.quit().unwrap();
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
    assert_eq!(got as u64, n, "sink received every frame");
    for ((handler, want), v) in counters.iter().zip(&values) {
        let want = want
            .replace("%N", &n.to_string())
            .replace("%B", &(n * 60).to_string());
        assert_eq!(v, &want, "{handler}");
    }
    assert_eq!(after_reset, "0");
    assert!(!sock.exists(), "control socket removed");
}

#[test]
fn dpdk_style_forwarding_throughput_mode() {
    forward_and_count(
        "in0 :: FromDPDKDevice(0) -> out1 :: ToDPDKDevice(1);\n\
         FromDPDKDevice(1) -> ToDPDKDevice(0);",
        IoMode::Throughput,
        "dpdk-tp",
        &[
            ("in0.count", "%N"),
            ("in0.in_bytes", "%B"),
            ("out1.n_sent", "%N"),
            ("out1.out_bytes", "%B"),
            ("out1.n_dropped", "0"),
        ],
    );
}

#[test]
fn fromdevice_queue_todevice_latency_mode() {
    forward_and_count(
        "fd :: FromDevice(%N0, METHOD LINUX, BURST 32, SNIFFER false, PROMISC true)\n\
           -> c :: Counter -> Queue(1024) -> td :: ToDevice(%N1, BURST 32);",
        IoMode::Latency,
        "fd-lat",
        &[("fd.count", "%N"), ("c.count", "%N"), ("td.count", "%N")],
    );
}

#[test]
fn control_socket_element_over_tcp_in_the_namespace() {
    let Some(c) = chain() else { return };
    let port = 17000 + (std::process::id() % 1000) as u16;
    let config = format!(
        "ControlSocket(TCP, {port}+, LOCALHOST true, READONLY true);\n\
         in0 :: FromDPDKDevice(0) -> ToDPDKDevice(1);"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let sock = sock_path("tcp");
    let h = run_router(&c, config, IoMode::Throughput, sock, stop.clone());
    // The client must live in the NF namespace to reach its 127.0.0.1.
    let (count, denied, bound) =
        c.nf.run(move || {
            let mut cl = None;
            for p in port..port + 10 {
                if let Ok(x) = ControlClient::connect_tcp(
                    SocketAddr::from((Ipv4Addr::LOCALHOST, p)),
                    Duration::from_secs(5),
                ) {
                    cl = Some(x);
                    break;
                }
            }
            let mut cl = cl.unwrap();
            let count = cl.read("in0.count").unwrap();
            let denied = cl.request("WRITE in0.reset_counts", b"", false).unwrap();
            let bound = cl.read("ControlSocket@1.port").unwrap();
            (count, denied, bound)
        })
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
    assert_eq!(count, "0");
    assert_eq!(denied.code, 530, "READONLY refuses writes: {denied:?}");
    assert!(bound.parse::<u16>().unwrap() >= port);
}
