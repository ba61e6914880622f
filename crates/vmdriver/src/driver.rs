//! The VM driver trait: what the testbed needs from a hypervisor.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::image::Image;
use crate::staging::StagedBoot;
use crate::xml::DomainSpec;

/// Errors of a VM driver.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    #[error("cannot connect to libvirt at {uri}: {message}")]
    Connect { uri: String, message: String },
    #[error("libvirt refused domain {name}: {message}")]
    Create { name: String, message: String },
    #[error("no domain named {0}")]
    NoSuchDomain(String),
    #[error("libvirt call on {name} failed: {message}")]
    Call { name: String, message: String },
    #[error("the libvirt worker thread is gone")]
    WorkerGone,
    #[error("domain name {0:?} does not start with the run prefix {1:?}")]
    NotOurs(String, String),
    #[error("cannot copy the guest image ({what}) to the host: {message}")]
    Stage { what: String, message: String },
}

/// Life-cycle state of a domain (libvirt's, reduced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainState {
    Running,
    Paused,
    Shutdown,
    Shutoff,
    Crashed,
    Other,
}

/// A domain as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainInfo {
    pub name: String,
    pub state: DomainState,
}

/// A hypervisor that runs transient domains. Calls block: use from a thread or
/// `spawn_blocking`, never directly on a tokio worker.
pub trait VmDriver: Send + Sync {
    /// Creates and starts a transient domain (gone from libvirt once destroyed).
    fn start(&self, spec: &DomainSpec) -> Result<DomainInfo, VmError>;
    /// Hard power-off; a domain already gone is not an error (idempotent teardown).
    fn destroy(&self, name: &str) -> Result<(), VmError>;
    /// Our domains: names starting with `prefix`.
    fn list(&self, prefix: &str) -> Result<Vec<DomainInfo>, VmError>;
    /// State of one domain.
    fn state(&self, name: &str) -> Result<DomainState, VmError>;
    /// Serial console log of a domain started by this driver.
    fn console_log(&self, name: &str) -> Option<PathBuf>;
    /// [`VmDriver::destroy`] of several domains, one result per name in order; a driver may
    /// destroy them at once (libvirt: one connection each, a TCG guest takes seconds to die).
    fn destroy_many(&self, names: &[String]) -> Vec<Result<(), VmError>> {
        names.iter().map(|n| self.destroy(n)).collect()
    }
    /// Where `image`'s boot files are for this hypervisor's domains. A hypervisor on another
    /// machine gets them copied once (see [`crate::staging`]); the default is the files
    /// where they are (local hypervisor, fakes).
    fn stage_image(&self, image: &Image) -> Result<StagedBoot, VmError> {
        Ok(StagedBoot::local(image))
    }
}

/// Destroys every domain whose name starts with `prefix`; returns the names destroyed.
pub fn destroy_all(driver: &dyn VmDriver, prefix: &str) -> Result<Vec<String>, VmError> {
    if prefix.is_empty() {
        // An empty prefix would match every domain on the host, including foreign ones.
        return Err(VmError::NotOurs(String::new(), String::new()));
    }
    let mut gone = Vec::new();
    for d in driver.list(prefix)? {
        driver.destroy(&d.name)?;
        gone.push(d.name);
    }
    Ok(gone)
}

/// Is `name` a domain coo-bench created (`cb` or `cbt` + 4 hex digits + `-`)? Used by `clean`,
/// which must never touch anyone else's domains.
pub fn is_coo_bench_domain(name: &str) -> bool {
    let rest = name
        .strip_prefix("cbt")
        .or_else(|| name.strip_prefix("cb"))
        .unwrap_or("");
    rest.len() > 5
        && rest.as_bytes()[..4].iter().all(u8::is_ascii_hexdigit)
        && rest.as_bytes()[4] == b'-'
}

/// Destroys every leftover coo-bench domain (see [`is_coo_bench_domain`]); returns their names.
pub fn clean_leftovers(driver: &dyn VmDriver) -> Result<Vec<String>, VmError> {
    let mut gone = Vec::new();
    for d in driver.list("cb")? {
        if is_coo_bench_domain(&d.name) {
            driver.destroy(&d.name)?;
            gone.push(d.name);
        }
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::RecordingVmDriver;

    #[test]
    fn recognizes_only_our_names() {
        assert!(is_coo_bench_domain("cb1a2b-vnf1"));
        assert!(is_coo_bench_domain("cbt00ff-vnf1"));
        assert!(!is_coo_bench_domain("cb1a2b"));
        assert!(!is_coo_bench_domain("cbxyz1-vnf1"));
        assert!(!is_coo_bench_domain("cbsomething-else"));
        assert!(!is_coo_bench_domain("default"));
    }

    #[test]
    fn destroy_all_refuses_empty_prefix() {
        let fake = RecordingVmDriver::new();
        assert!(matches!(destroy_all(&fake, ""), Err(VmError::NotOurs(..))));
    }
}
