//! coo-click (the real binary) forwarding frames between two veths in a namespace, with its
//! counters read back over its ControlSocket (`-u`). Needs root; skips with a printed reason.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use click_io::controlsocket::ControlClient;
use click_io::testnet::{self, Chain};

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

fn chain() -> Option<Chain> {
    if let Some(why) = testnet::netns_unavailable() {
        eprintln!("skipped: {why}");
        return None;
    }
    Some(Chain::create().unwrap())
}

fn start_engine(c: &Chain, args: &[&str], config: &str, sock: &Path) -> Engine {
    let file = std::env::temp_dir().join(format!(
        "cbt-io-cc-{}-{}.click",
        std::process::id(),
        c.prefix
    ));
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

fn blast(c: &Chain, n: u64) -> usize {
    c.blast(n).unwrap()
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
    let ports = format!("{p}n0,{p}n1", p = c.prefix);
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
        p = c.prefix
    );
    let mut e = start_engine(&c, &[], &cfg, &s);
    let mut cl = ControlClient::connect_unix(&s, Duration::from_secs(5)).unwrap();
    assert_eq!(cl.read("c.count").unwrap(), "0");
    assert_eq!(
        cl.read("FromDevice@1.device").unwrap(),
        format!("{}n0", c.prefix)
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
