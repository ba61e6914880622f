//! The hypervisors a testbed uses: the local libvirt daemon and, for a topology with
//! `hosts`, one per host URI (`qemu+ssh://…`, `qemu+tcp://…`). Each connection is opened on
//! first use and kept, so a run holds one connection per host.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::driver::{VmDriver, VmError};
use crate::libvirt::{LibvirtDriver, DEFAULT_URI, SOCKET};

/// Environment override of the local libvirt URI (e.g. `qemu:///system?socket=/path`).
pub const URI_ENV: &str = "COO_BENCH_LIBVIRT_URI";

/// The local hypervisor's URI: `$COO_BENCH_LIBVIRT_URI`, else `qemu:///system`.
pub fn local_uri() -> String {
    std::env::var(URI_ENV)
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_URI.to_owned())
}

/// Connections to hypervisors by URI (`None`: the local one).
pub trait Hypervisors: Send + Sync {
    /// The driver of the hypervisor at `uri`, connected on first use.
    fn on(&self, uri: Option<&str>) -> Result<Arc<dyn VmDriver>, VmError>;
    /// Whether the local hypervisor may answer, known without connecting (an absent
    /// libvirtd socket means libvirt is not installed or not running).
    fn local_may_run(&self) -> bool {
        true
    }
}

/// Real libvirt connections.
pub struct LibvirtHosts {
    local: String,
    conns: Mutex<BTreeMap<String, Arc<LibvirtDriver>>>,
}

impl Default for LibvirtHosts {
    fn default() -> Self {
        Self::new()
    }
}

impl LibvirtHosts {
    /// The local hypervisor at [`local_uri`]; nothing is connected yet.
    pub fn new() -> Self {
        LibvirtHosts {
            local: local_uri(),
            conns: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Hypervisors for LibvirtHosts {
    fn on(&self, uri: Option<&str>) -> Result<Arc<dyn VmDriver>, VmError> {
        let uri = uri.unwrap_or(&self.local).to_owned();
        let mut conns = self.conns.lock().map_err(|_| VmError::WorkerGone)?;
        if let Some(c) = conns.get(&uri) {
            return Ok(c.clone());
        }
        let c = Arc::new(LibvirtDriver::connect(&uri)?);
        conns.insert(uri, c.clone());
        Ok(c)
    }

    fn local_may_run(&self) -> bool {
        // An overridden URI is always tried; the default one only when its socket exists.
        self.local != DEFAULT_URI || Path::new(SOCKET).exists()
    }
}
