//! Throw-away network namespaces and veth pairs for tests and benchmarks.
//!
//! Everything is created with `ip` under a unique `cbt` + 4 hex prefix and removed on drop
//! (also while unwinding from a panic). Deleting a namespace deletes the veth ends in it,
//! and deleting one veth end deletes its peer.

use std::fs::File;
use std::io;
use std::process::Command;

/// A `cbt` + 4 random hex digits prefix for object names (7 bytes, leaves 8 for suffixes).
pub fn unique_prefix() -> String {
    let mut b = [0u8; 2];
    let ok = File::open("/dev/urandom")
        .and_then(|mut f| io::Read::read_exact(&mut f, &mut b))
        .is_ok();
    if !ok {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let x = t ^ std::process::id().rotate_left(7);
        b = [(x >> 8) as u8, x as u8];
    }
    format!("cbt{:02x}{:02x}", b[0], b[1])
}

/// Why namespace-based tests cannot run here, or `None` when they can.
pub fn netns_unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (network namespaces, AF_PACKET)".into());
    }
    match Command::new("ip").arg("-V").output() {
        Ok(o) if o.status.success() => None,
        _ => Some("`ip` (iproute2) is not installed".into()),
    }
}

fn ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip").args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// A named network namespace (`/run/netns/NAME`), deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// `ip netns add NAME` and bring its loopback up.
    pub fn create(name: &str) -> io::Result<Self> {
        ip(&["netns", "add", name])?;
        let ns = Netns {
            name: name.to_owned(),
        };
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/run/netns/NAME`.
    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// Runs `ip -n NAME ARGS...`.
    pub fn ip(&self, args: &[&str]) -> io::Result<()> {
        let mut v = vec!["-n", self.name.as_str()];
        v.extend_from_slice(args);
        ip(&v)
    }

    /// Runs `f` on a new thread that has joined this namespace and returns its result.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
        Ok(netsys::netns::run_in(Some(self.path().as_ref()), f)?)
    }

    /// Spawns a thread that joins this namespace, then runs `f` (a namespace that cannot be
    /// joined panics that thread: a test helper on a namespace it just created).
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> io::Result<std::thread::JoinHandle<T>> {
        let path = std::path::PathBuf::from(self.path());
        std::thread::Builder::new()
            .name(format!("netns-{}", self.name))
            .spawn(move || {
                if let Err(e) = netsys::netns::enter(&path) {
                    panic!("{e}");
                }
                f()
            })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("warning: could not delete netns {}: {e}", self.name);
        }
    }
}

/// Creates a veth pair `a` in `ns_a` and `b` in `ns_b`, both up, with IPv6 disabled so
/// the kernel sends no router solicitations into measurements.
pub fn veth_between(ns_a: &Netns, a: &str, ns_b: &Netns, b: &str) -> io::Result<()> {
    ip(&[
        "link",
        "add",
        a,
        "netns",
        ns_a.name(),
        "type",
        "veth",
        "peer",
        "name",
        b,
        "netns",
        ns_b.name(),
    ])?;
    for (ns, dev) in [(ns_a, a), (ns_b, b)] {
        let _ = Command::new("ip")
            .args(["netns", "exec", ns.name(), "sysctl", "-qw"])
            .arg(format!("net.ipv6.conf.{dev}.disable_ipv6=1"))
            .output();
        ns.ip(&["link", "set", dev, "up"])?;
    }
    Ok(())
}

/// A 60..=1514-byte (64..=1518 on the wire with FCS) Ethernet/IPv4/UDP test frame with valid IPv4 header checksum, from
/// 198.18.0.1 to 198.19.0.1 (testbed range), payload `seq` (u64 BE) then zeros.
pub fn udp_frame(len: usize, seq: u64) -> Vec<u8> {
    let len = len.clamp(60, 1514);
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x02]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip_len = (len - 14) as u16;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[198, 18, 0, 1]);
    ip[16..20].copy_from_slice(&[198, 19, 0, 1]);
    let sum = netwire::checksum::checksum(ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let udp_len = ip_len - 20;
    let udp = &mut f[34..42];
    udp[0..2].copy_from_slice(&1024u16.to_be_bytes());
    udp[2..4].copy_from_slice(&5001u16.to_be_bytes());
    udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
    if len >= 50 {
        f[42..50].copy_from_slice(&seq.to_be_bytes());
    }
    f
}

/// The sequence number written by [`udp_frame`], if the frame is one of ours.
pub fn udp_frame_seq(frame: &[u8]) -> Option<u64> {
    if frame.len() < 50 || frame[12..14] != [0x08, 0x00] || frame[23] != 17 {
        return None;
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&frame[42..50]);
    Some(u64::from_be_bytes(b))
}

/// gen → nf → sink: three namespaces joined by two veth pairs, `<prefix>g0`–`<prefix>n0` and
/// `<prefix>n1`–`<prefix>s0`, for forwarding tests of an NF running in `nf`.
pub struct Chain {
    /// Namespace of the sender.
    pub gen: Netns,
    /// Namespace of the forwarder under test (ports `<prefix>n0`, `<prefix>n1`).
    pub nf: Netns,
    /// Namespace of the receiver.
    pub sink: Netns,
    /// The unique name prefix of every object of this chain.
    pub prefix: String,
}

impl Chain {
    /// Creates the three namespaces and both veth pairs.
    pub fn create() -> io::Result<Self> {
        let p = unique_prefix();
        let gen = Netns::create(&format!("{p}g"))?;
        let nf = Netns::create(&format!("{p}n"))?;
        let sink = Netns::create(&format!("{p}s"))?;
        veth_between(&gen, &format!("{p}g0"), &nf, &format!("{p}n0"))?;
        veth_between(&nf, &format!("{p}n1"), &sink, &format!("{p}s0"))?;
        Ok(Chain {
            gen,
            nf,
            sink,
            prefix: p,
        })
    }

    /// Sends `n` numbered UDP frames from gen (in batches of 32, paced) and returns how many
    /// distinct ones reached the sink within 10 s.
    pub fn blast(&self, n: u64) -> io::Result<usize> {
        use crate::{IfName, IoMode, PacketRx, PacketTx, TxConfig};
        use std::time::{Duration, Instant};
        let to_io = |e: crate::IoError| io::Error::other(e.to_string());
        let s0 = IfName::new(format!("{}s0", self.prefix)).map_err(io::Error::other)?;
        let g0 = IfName::new(format!("{}g0", self.prefix)).map_err(io::Error::other)?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let sink = self.sink.spawn(move || -> io::Result<usize> {
            let rx = PacketRx::open(&s0, &crate::rx_config(IoMode::Latency, None));
            let mut rx = rx.map_err(to_io)?;
            let _ = ready_tx.send(());
            let mut seen = std::collections::BTreeSet::new();
            let deadline = Instant::now() + Duration::from_secs(10);
            while (seen.len() as u64) < n && Instant::now() < deadline {
                rx.wait(20);
                rx.recv_batch(256, |f| {
                    if let Some(s) = udp_frame_seq(f) {
                        seen.insert(s);
                    }
                });
            }
            Ok(seen.len())
        })?;
        // The sink's socket must exist before the first frame is sent.
        if ready_rx.recv().is_err() {
            return sink
                .join()
                .map_err(|_| io::Error::other("sink thread panicked"))?;
        }
        self.gen.run(move || -> io::Result<()> {
            let mut tx = PacketTx::open(&g0, &TxConfig::default()).map_err(to_io)?;
            let frames: Vec<Vec<u8>> = (0..n).map(|s| udp_frame(60, s)).collect();
            for chunk in frames.chunks(32) {
                let mut done = 0;
                while done < chunk.len() {
                    done += tx.send_batch(&chunk[done..]);
                }
                std::thread::sleep(Duration::from_micros(300));
            }
            Ok(())
        })??;
        sink.join()
            .map_err(|_| io::Error::other("sink thread panicked"))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_shape() {
        let p = unique_prefix();
        assert_eq!(p.len(), 7);
        assert!(p.starts_with("cbt"));
        assert!(p[3..].chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn frame_roundtrip_and_checksum() {
        let f = udp_frame(64, 42);
        assert_eq!(f.len(), 64);
        assert_eq!(udp_frame_seq(&f), Some(42));
        // The IPv4 header verifies: its checksum over itself is 0.
        assert_eq!(netwire::checksum::checksum(&f[14..34]), 0);
    }
}
