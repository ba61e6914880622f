//! Test fixture: a veth pair between two namespaces this test creates (prefix `cbt`), removed
//! on drop even when the test fails.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use traffic::Attach;

pub struct VethPair {
    pub ns_a: String,
    pub ns_b: String,
    pub if_a: String,
    pub if_b: String,
}

fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args[0]))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?}: {}",
            args,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    format!("{:04x}", h.finish() & 0xffff)
}

impl VethPair {
    /// Creates the pair, or prints why it cannot and returns None.
    pub fn create() -> Option<VethPair> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs root to create network namespaces");
            return None;
        }
        if run(&["ip", "-V"]).is_err() {
            eprintln!("skipped: the `ip` tool (iproute2) is missing");
            return None;
        }
        let s = suffix();
        let pair = VethPair {
            ns_a: format!("cbt{s}a"),
            ns_b: format!("cbt{s}b"),
            if_a: format!("cbt{s}a0"),
            if_b: format!("cbt{s}b0"),
        };
        // The guard exists before anything is created, so a failure below still cleans up.
        let setup = || -> Result<(), String> {
            run(&["ip", "netns", "add", &pair.ns_a])?;
            run(&["ip", "netns", "add", &pair.ns_b])?;
            run(&[
                "ip", "link", "add", &pair.if_a, "netns", &pair.ns_a, "type", "veth", "peer",
                "name", &pair.if_b, "netns", &pair.ns_b,
            ])?;
            for (ns, ifname) in [(&pair.ns_a, &pair.if_a), (&pair.ns_b, &pair.if_b)] {
                // No IPv6: keeps neighbour discovery frames out of the counters.
                run(&[
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-qw",
                    "net.ipv6.conf.all.disable_ipv6=1",
                ])?;
                run(&["ip", "-n", ns, "link", "set", ifname, "up"])?;
            }
            Ok(())
        };
        if let Err(e) = setup() {
            eprintln!("skipped: cannot create the veth pair: {e}");
            return None;
        }
        Some(pair)
    }

    pub fn a(&self) -> Attach {
        Attach {
            netns: Some(PathBuf::from(format!("/run/netns/{}", self.ns_a))),
            ifname: self.if_a.clone(),
            cpus: Vec::new(),
        }
    }

    pub fn b(&self) -> Attach {
        Attach {
            netns: Some(PathBuf::from(format!("/run/netns/{}", self.ns_b))),
            ifname: self.if_b.clone(),
            cpus: Vec::new(),
        }
    }

    /// Runs a command inside namespace b.
    pub fn in_b(&self, args: &[&str]) -> Result<(), String> {
        let mut full = vec!["ip", "netns", "exec", self.ns_b.as_str()];
        full.extend_from_slice(args);
        run(&full)
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it, and with it the peer.
        let _ = run(&["ip", "netns", "del", &self.ns_a]);
        let _ = run(&["ip", "netns", "del", &self.ns_b]);
    }
}
