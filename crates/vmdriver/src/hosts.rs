//! The hypervisors a testbed uses: the local libvirt daemon and, for a topology with
//! `hosts`, one per host URI (`qemu+ssh://…`, `qemu+tcp://…`). Each connection is opened on
//! first use and kept, so a run holds one connection per host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
    /// Where connections to other URIs are opened from (None: the host namespace).
    remote_netns: Option<PathBuf>,
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
            remote_netns: None,
            conns: Mutex::new(BTreeMap::new()),
        }
    }

    /// Opens connections to other hosts' URIs from inside network namespace `netns` (where
    /// the controller's underlay address is, when it is not in the host namespace).
    pub fn with_remote_netns(mut self, netns: PathBuf) -> Self {
        self.remote_netns = Some(netns);
        self
    }
}

impl Hypervisors for LibvirtHosts {
    fn on(&self, uri: Option<&str>) -> Result<Arc<dyn VmDriver>, VmError> {
        let uri = uri.unwrap_or(&self.local).to_owned();
        let mut conns = self.conns.lock().map_err(|_| VmError::WorkerGone)?;
        if let Some(c) = conns.get(&uri) {
            return Ok(c.clone());
        }
        let from = (uri != self.local)
            .then_some(self.remote_netns.as_deref())
            .flatten();
        let c = Arc::new(LibvirtDriver::connect_from(&uri, from)?);
        conns.insert(uri, c.clone());
        Ok(c)
    }

    fn local_may_run(&self) -> bool {
        // An overridden URI is always tried; the default one only when its socket exists.
        self.local != DEFAULT_URI || Path::new(SOCKET).exists()
    }
}
