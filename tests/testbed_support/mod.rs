//! Shared helpers of the root testbed integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use testbed::{Testbed, UpOptions};

pub fn root_or_skip() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root (network namespaces, bridges)");
        return false;
    }
    true
}

pub fn pycoo_xyz() -> topology::Topology {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pycoo/ClickOnOSvManager");
    topology::load(&dir).unwrap_or_else(|e| panic!("{e}"))
}

pub fn options(root: &Path) -> UpOptions {
    UpOptions {
        run_root: Some(root.to_owned()),
        agent_binary: Some(PathBuf::from(env!("CARGO_BIN_EXE_coo-vnf"))),
        ready_timeout: Duration::from_secs(20),
        ..Default::default()
    }
}

/// Brings a testbed down when dropped, even if the test panics.
pub struct Up {
    pub tb: Testbed,
    pub root: PathBuf,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = testbed::down_in(&self.root, &self.tb.run_id);
    }
}

/// Names in /run/netns starting with `prefix`.
pub fn netns_with_prefix(prefix: &str) -> Vec<String> {
    hostnet::netns::list()
        .unwrap()
        .into_iter()
        .map(|n| n.to_string())
        .filter(|n| n == prefix || n.starts_with(&format!("{prefix}-")))
        .collect()
}

/// GET/POST on an agent's UNIX socket; returns (status, body).
pub fn agent_call(tb: &Testbed, vnf: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let sock = tb
        .vnf(vnf)
        .unwrap()
        .agent
        .endpoint
        .strip_prefix("unix:")
        .unwrap()
        .to_owned();
    let token = testbed::agent_token(tb)
        .unwrap()
        .map(|t| format!("Authorization: Bearer {}\r\n", t.as_str()))
        .unwrap_or_default();
    let mut s = std::os::unix::net::UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: l\r\n{token}Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// An Ethernet/IPv4/UDP frame from the source to the sink carrying `marker`.
pub fn udp_frame(tb: &Testbed, marker: &[u8]) -> Vec<u8> {
    let sink = &tb.sinks[0];
    let mut f = Vec::new();
    f.extend_from_slice(&sink.mac.0);
    f.extend_from_slice(&tb.source.mac.0);
    f.extend_from_slice(&[0x08, 0x00]);
    let udp_len = 8 + marker.len();
    let total = 20 + udp_len;
    let mut ip = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0,
        0,
        64,
        17,
        0,
        0,
    ];
    ip.extend_from_slice(&tb.source.ip.addr.octets());
    ip.extend_from_slice(&sink.ip.addr.octets());
    let c = netwire::checksum::checksum(&ip);
    ip[10] = (c >> 8) as u8;
    ip[11] = c as u8;
    f.extend_from_slice(&ip);
    f.extend_from_slice(&[
        0x04,
        0x00,
        0x13,
        0x89,
        (udp_len >> 8) as u8,
        udp_len as u8,
        0,
        0,
    ]);
    f.extend_from_slice(marker);
    f
}

/// Send `count` TCP frames carrying `marker` from the source namespace; count how many arrive
/// at the first sink within `wait`. Traffic stays inside the testbed's namespaces.
pub fn send_through_chain(tb: &Testbed, marker: &[u8], count: usize, wait: Duration) -> usize {
    // TCP: PyCOO's example firewall (topologies/functions/firewall.click) drops UDP.
    send_frame_through_chain(tb, tcp_frame(tb, marker), marker, count, wait)
}

/// An Ethernet/IPv4/TCP (ACK) frame from the source to the sink carrying `marker` (passes
/// PyCOO's example firewall, which drops UDP).
pub fn tcp_frame(tb: &Testbed, marker: &[u8]) -> Vec<u8> {
    let mut f = udp_frame(tb, &[]);
    f.truncate(14 + 20);
    let total = 20 + 20 + marker.len();
    f[14 + 2] = (total >> 8) as u8;
    f[14 + 3] = total as u8;
    f[14 + 9] = 6;
    f[14 + 10] = 0;
    f[14 + 11] = 0;
    let c = netwire::checksum::checksum(&f[14..34]);
    f[14 + 10] = (c >> 8) as u8;
    f[14 + 11] = c as u8;
    // ports 1024 → 5001, seq 1, ack 1, data offset 5, flags ACK, window 64 KiB.
    f.extend_from_slice(&[
        0x04, 0x00, 0x13, 0x89, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0,
    ]);
    f.extend_from_slice(marker);
    f
}

/// Send `count` copies of `frame` from the source; count frames containing `marker` at the
/// first sink within `wait`.
pub fn send_frame_through_chain(
    tb: &Testbed,
    frame: Vec<u8>,
    marker: &[u8],
    count: usize,
    wait: Duration,
) -> usize {
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = tb.sinks[0].clone();
    let m = marker.to_vec();
    let recv = std::thread::spawn(move || {
        hostnet::netns::run_in(Some(&sink.netns), move || {
            let mut rx =
                netsys::PacketRx::open(&sink.ifname, &netsys::RxConfig::per_frame()).unwrap();
            tx.send(()).unwrap();
            let deadline = std::time::Instant::now() + wait;
            let mut got = 0;
            while got < count && std::time::Instant::now() < deadline {
                rx.wait(200);
                rx.recv_batch(64, |f| {
                    if f.windows(m.len()).any(|w| w == m.as_slice()) {
                        got += 1;
                    }
                });
            }
            got.min(count)
        })
        .unwrap()
    });
    rx.recv().unwrap();
    let src = tb.source.clone();
    hostnet::netns::run_in(Some(&src.netns), move || {
        let mut tx = netsys::PacketTx::open(&src.ifname, &netsys::TxConfig::default()).unwrap();
        for _ in 0..count {
            while tx.send_batch(&[&frame]) == 0 {
                tx.wait_writable(10);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .unwrap();
    recv.join().unwrap()
}

/// A current-thread runtime for the async REST client.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A REST client of `vnf`'s agent as the testbed records it (30 s timeout: TCG guests).
pub fn vm_client(tb: &Testbed, vnf: &str) -> vnf_client::VnfClient {
    let ep: vnf_client::Endpoint = tb.vnf(vnf).unwrap().agent.endpoint.parse().unwrap();
    vnf_client::VnfClient::new(
        ep,
        vnf_client::Options {
            timeout: Duration::from_secs(30),
            token: testbed::agent_token(tb).unwrap(),
            ..vnf_client::Options::default()
        },
    )
}

/// `up` of `topo` with the vm driver under `root` (a guard that downs it), and how long `up`
/// took. TCG guests on a shared 2-core host: ~8 s each alone, ~20-30 s for three at once.
pub fn up_vm(topo: &topology::Topology, root: &Path) -> (Up, Duration) {
    let t0 = std::time::Instant::now();
    let tb = testbed::up(
        topo,
        &UpOptions {
            run_root: Some(root.to_owned()),
            driver: Some(testbed::DriverKind::Vm),
            vm_ready_timeout: Duration::from_secs(240),
            ..Default::default()
        },
    )
    .unwrap();
    let up_time = t0.elapsed();
    (
        Up {
            tb,
            root: root.to_owned(),
        },
        up_time,
    )
}

pub mod child_up;
pub mod ndr;
pub mod sim_hosts;

/// The name prefix of the one run under `root` (None before `up` wrote it).
pub fn run_prefix(root: &Path) -> Option<String> {
    std::fs::read_dir(root)
        .ok()?
        .flatten()
        .next()
        .and_then(|r| std::fs::read_to_string(r.path().join("prefix")).ok())
        .map(|s| s.trim().to_owned())
}

/// `clean` of every run under `root` with the real network and fake libvirt; fails the test
/// (naming `what`) when clean could not remove an object.
pub fn clean_real_net(root: &Path, what: &str) -> testbed::CleanReport {
    let net = hostnet::RtNetOps::new().unwrap();
    let procs = hostnet::RealProcesses::default();
    let hyp = vmdriver::fake::FakeHypervisors::new();
    let ops = testbed::Ops {
        net: &net,
        procs: &procs,
        vms: &hyp,
    };
    let rep = testbed::clean_with(root, &ops, false).unwrap();
    assert!(rep.failed.is_empty(), "{what}: {:?}", rep.failed);
    rep
}
