//! DHCP server for the management network, run inside the management namespace, for guests
//! that take their management address by DHCP ("bring your own image", e.g. Click-On-OSv).
//! Static table only (MAC → address): the testbed assigns every address itself.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::dhcp_wire::{bound_socket, decode, encode, reply, ACK};
use netwire::MacAddr;

/// A running server; stops (and joins its thread) on drop.
pub struct DhcpServer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    leases: Arc<Mutex<BTreeMap<MacAddr, Ipv4Addr>>>,
    acked: Arc<Mutex<Vec<(MacAddr, Ipv4Addr)>>>,
}

impl DhcpServer {
    /// Serves `table` on `ifname` inside the namespace at `netns` (whose address on that
    /// interface is `server_ip`).
    pub fn start(
        netns: &Path,
        ifname: &str,
        server_ip: Ipv4Addr,
        prefix_len: u8,
        table: BTreeMap<MacAddr, Ipv4Addr>,
    ) -> Result<DhcpServer, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let leases = Arc::new(Mutex::new(table));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let (st, ls, ak) = (stop.clone(), leases.clone(), acked.clone());
        let ns: PathBuf = netns.to_path_buf();
        let ifname = ifname.to_string();
        let mask = crate::guest::netmask(prefix_len);
        let thread = std::thread::spawn(move || {
            let r = netsys::netns::run_in(Some(&ns), move || {
                let s = match bound_socket(&ifname, 67) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
                let _ = tx.send(Ok(()));
                let mut buf = [0u8; 1500];
                while !st.load(Ordering::Relaxed) {
                    let Ok((n, _)) = s.recv_from(&mut buf) else {
                        continue;
                    };
                    let Some(req) = decode(&buf[..n]) else {
                        continue;
                    };
                    let lookup = |m: &MacAddr| ls.lock().ok()?.get(m).copied();
                    if let Some(ans) = reply(&req, &lookup, server_ip, mask) {
                        let dst = SocketAddr::from((Ipv4Addr::BROADCAST, 68));
                        if s.send_to(&encode(&ans), dst).is_ok() && ans.msg_type == ACK {
                            if let Ok(mut a) = ak.lock() {
                                a.push((ans.chaddr, ans.yiaddr));
                            }
                        }
                    }
                }
            });
            if let Err(e) = r {
                tracing::warn!("dhcp server: {e}");
            }
        });
        match rx.recv() {
            Ok(Ok(())) => Ok(DhcpServer {
                stop,
                thread: Some(thread),
                leases,
                acked,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("DHCP server thread failed to start".into()),
        }
    }

    /// Adds or changes a static lease.
    pub fn set_lease(&self, mac: MacAddr, ip: Ipv4Addr) {
        if let Ok(mut l) = self.leases.lock() {
            l.insert(mac, ip);
        }
    }

    /// Leases acknowledged so far (MAC, address), in order.
    pub fn acked(&self) -> Vec<(MacAddr, Ipv4Addr)> {
        self.acked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl Drop for DhcpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
