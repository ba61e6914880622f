//! Root: the management DHCP server in one namespace leases the table address to a client in
//! another namespace over a veth pair (no VM). Skips with a printed reason when not root.

#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use netsys::netns::run_in;
use vmdriver::dhcp::DhcpServer;
use vmdriver::dhcp_wire::client_acquire;
use vmdriver::smoke::test_prefix;
use vmdriver::MacAddr;

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Netns(String);
impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace also deletes the veth end inside it (and so its peer).
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

#[test]
fn server_leases_table_address_to_client_in_other_netns() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root (network namespaces)");
        return;
    }
    let p = test_prefix();
    let srv = Netns(format!("{p}s"));
    let cli = Netns(format!("{p}c"));
    ip(&["netns", "add", &srv.0]);
    ip(&["netns", "add", &cli.0]);
    let (a, b) = (format!("{p}a"), format!("{p}b"));
    ip(&[
        "link", "add", &a, "netns", &srv.0, "type", "veth", "peer", "name", &b, "netns", &cli.0,
    ]);
    ip(&["-n", &srv.0, "addr", "add", "198.19.0.1/16", "dev", &a]);
    ip(&["-n", &srv.0, "link", "set", &a, "up"]);
    ip(&["-n", &cli.0, "link", "set", &b, "up"]);
    let mac: MacAddr = {
        let out = Command::new("ip")
            .args(["-n", &cli.0, "-br", "link", "show", &b])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.split_whitespace().nth(2).unwrap().parse().unwrap()
    };
    let want = Ipv4Addr::new(198, 19, 255, 20);
    let server = DhcpServer::start(
        &PathBuf::from(format!("/run/netns/{}", srv.0)),
        &a,
        Ipv4Addr::new(198, 19, 0, 1),
        16,
        [(mac, want)].into_iter().collect(),
    )
    .unwrap();
    let b2 = b.clone();
    let got = run_in(
        Some(&PathBuf::from(format!("/run/netns/{}", cli.0))),
        move || client_acquire(&b2, mac, Duration::from_secs(10)),
    )
    .unwrap()
    .unwrap();
    assert_eq!(got, (want, 16));
    assert_eq!(server.acked(), vec![(mac, want)]);
}
