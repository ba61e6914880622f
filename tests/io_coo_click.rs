//! coo-click (the real binary) forwarding frames between two veths in a namespace, with its
//! counters read back over its ControlSocket (`-u`). Needs root; skips with a printed reason.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use click_io::controlsocket::ControlClient;
use click_io::testnet::{self, Netns};
use click_io::{IfName, IoMode, PacketRx, PacketTx, RxConfig, TxConfig};

/// Kills the engine process on drop (also when an assertion fails) and removes its files
/// (a killed engine cannot unlink its socket).
struct Engine(Child, Vec<PathBuf>);

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        for f in &self.1 {
            let _ = std::fs::remove_file(f);
        }
    }
}

struct Chain {
    gen: Netns,
    nf: Netns,
    sink: Netns,
    p: String,
}

fn chain() -> Option<Chain> {
    if let Some(why) = testnet::netns_unavailable() {
        eprintln!("skipped: {why}");
        return None;
    }
    let p = testnet::unique_prefix();
    let gen = Netns::create(&format!("{p}g")).unwrap();
    let nf = Netns::create(&format!("{p}n")).unwrap();
    let sink = Netns::create(&format!("{p}s")).unwrap();
    testnet::veth_between(&gen, &format!("{p}g0"), &nf, &format!("{p}n0")).unwrap();
    testnet::veth_between(&nf, &format!("{p}n1"), &sink, &format!("{p}s0")).unwrap();
    Some(Chain { gen, nf, sink, p })
}

fn start_engine(c: &Chain, args: &[&str], config: &str, sock: &Path) -> Engine {
    let file = std::env::temp_dir().join(format!("cbt-io-cc-{}-{}.click", std::process::id(), c.p));
    std::fs::write(&file, config).unwrap();
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            c.nf.name(),
            env!("CARGO_BIN_EXE_coo-click"),
        ])
        .args(args)
        .arg("-u")
        .arg(sock)
        .arg(&file)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let e = Engine(child, vec![file, sock.to_path_buf()]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while ControlClient::connect_unix(sock, Duration::from_secs(2)).is_err() {
        assert!(
            Instant::now() < deadline,
            "coo-click did not open {}",
            sock.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    e
}

/// Sends `n` frames gen → NF and returns how many distinct ones reached the sink.
fn blast(c: &Chain, n: u64) -> usize {
    let (ready_tx, ready_rx) = mpsc::channel();
    let s0 = IfName::new(&format!("{}s0", c.p)).unwrap();
    let sink = c
        .sink
        .spawn(move || {
            let mut rx = PacketRx::open(&s0, &RxConfig::for_mode(IoMode::Latency)).unwrap();
            ready_tx.send(()).unwrap();
            let mut seen = std::collections::BTreeSet::new();
            let deadline = Instant::now() + Duration::from_secs(10);
            while (seen.len() as u64) < n && Instant::now() < deadline {
                rx.wait(20);
                rx.recv_batch(256, |f| {
                    if let Some(s) = testnet::udp_frame_seq(f) {
                        seen.insert(s);
                    }
                });
            }
            seen.len()
        })
        .unwrap();
    ready_rx.recv().unwrap();
    let g0 = IfName::new(&format!("{}g0", c.p)).unwrap();
    c.gen
        .run(move || {
            let mut tx = PacketTx::open(&g0, &TxConfig::default()).unwrap();
            let frames: Vec<Vec<u8>> = (0..n).map(|s| testnet::udp_frame(60, s)).collect();
            for chunk in frames.chunks(32) {
                let mut done = 0;
                while done < chunk.len() {
                    done += tx.send_batch(&chunk[done..]);
                }
                std::thread::sleep(Duration::from_micros(300));
            }
        })
        .unwrap();
    sink.join().unwrap()
}

fn sock(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("cbt-io-cc-{}-{tag}.sock", std::process::id()))
}

/// PyCOO's forward.click, unchanged, with the ports given by `--ports`.
const FORWARD: &str = "// VNF header would be here\n\
    in0 :: FromDPDKDevice(0) -> out1 :: ToDPDKDevice(1);\n\
    in1 :: FromDPDKDevice(1) -> out0 :: ToDPDKDevice(0);\n";

fn forward_with_mode(mode: &str, tag: &str) {
    let Some(c) = chain() else { return };
    let s = sock(tag);
    let ports = format!("{p}n0,{p}n1", p = c.p);
    let _e = start_engine(&c, &["--ports", &ports, "--io-mode", mode], FORWARD, &s);
    let n = 3000;
    let got = blast(&c, n);
    let mut cl = ControlClient::connect_unix(&s, Duration::from_secs(5)).unwrap();
    let count = cl.read("in0.count").unwrap();
    let bytes = cl.read("in0.in_bytes").unwrap();
    let sent = cl.read("out1.n_sent").unwrap();
    let out_bytes = cl.read("out1.out_bytes").unwrap();
    let dropped = cl.read("out1.n_dropped").unwrap();
    let reverse = cl.read("in1.count").unwrap();
    let list = cl.read("list").unwrap();
    cl.write("in0.reset_counts", b"").unwrap();
    let after = cl.read("in0.count").unwrap();
    cl.quit().unwrap();
    assert_eq!(got as u64, n, "every frame reached the sink");
    assert_eq!(count, n.to_string());
    assert_eq!(bytes, (n * 60).to_string());
    assert_eq!(sent, n.to_string());
    assert_eq!(out_bytes, (n * 60).to_string());
    assert_eq!(dropped, "0");
    assert_eq!(reverse, "0", "nothing came back from the sink side");
    assert!(list.starts_with("4\n"), "{list:?}");
    assert_eq!(after, "0");
}

#[test]
fn coo_click_forwards_pycoo_function_throughput_mode() {
    forward_with_mode("throughput", "tp");
}

#[test]
fn coo_click_forwards_pycoo_function_latency_mode() {
    forward_with_mode("latency", "lat");
}

#[test]
fn coo_click_stop_handler_ends_the_process() {
    let Some(c) = chain() else { return };
    let s = sock("stop");
    let cfg = format!(
        "FromDevice({p}n0) -> c :: Counter -> Queue -> ToDevice({p}n1);",
        p = c.p
    );
    let mut e = start_engine(&c, &[], &cfg, &s);
    let mut cl = ControlClient::connect_unix(&s, Duration::from_secs(5)).unwrap();
    assert_eq!(cl.read("c.count").unwrap(), "0");
    assert_eq!(
        cl.read("FromDevice@1.device").unwrap(),
        format!("{}n0", c.p)
    );
    let r = cl.request("WRITE stop", b"", false).unwrap();
    assert_eq!(r.code, 200, "{r:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = e.0.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "coo-click did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    assert!(!s.exists(), "socket file removed at exit");
}

#[test]
fn coo_click_reports_bad_port_index() {
    let out = Command::new(env!("CARGO_BIN_EXE_coo-click"))
        .args(["--ports", "lo", "-e", "FromDPDKDevice(2) -> Discard;"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("port 2 out of range"), "{err}");
}
