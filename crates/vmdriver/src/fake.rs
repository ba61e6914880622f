//! A recording fake [`VmDriver`] for orchestration tests without libvirt.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::driver::{DomainInfo, DomainState, VmDriver, VmError};
use crate::xml::{domain_xml, DomainSpec};

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Start { name: String, xml: String },
    Destroy { name: String },
    List { prefix: String },
    State { name: String },
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    domains: BTreeMap<String, (DomainState, PathBuf)>,
    fail_start: Option<String>,
}

/// Records calls and keeps an in-memory domain table.
#[derive(Default)]
pub struct RecordingVmDriver {
    inner: Mutex<Inner>,
}

impl RecordingVmDriver {
    pub fn new() -> Self {
        Self::default()
    }
    /// Makes `start` of the named domain fail (to test rollback paths).
    pub fn fail_start_of(&self, name: &str) {
        self.lock().fail_start = Some(name.to_string());
    }
    /// All calls so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }
    /// Names of domains currently present.
    pub fn domains(&self) -> Vec<String> {
        self.lock().domains.keys().cloned().collect()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the recorded calls from the others.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl VmDriver for RecordingVmDriver {
    fn start(&self, spec: &DomainSpec) -> Result<DomainInfo, VmError> {
        let mut g = self.lock();
        g.calls.push(Call::Start {
            name: spec.name.clone(),
            xml: domain_xml(spec),
        });
        if g.fail_start.as_deref() == Some(spec.name.as_str()) {
            return Err(VmError::Create {
                name: spec.name.clone(),
                message: "injected failure".into(),
            });
        }
        if g.domains.contains_key(&spec.name) {
            return Err(VmError::Create {
                name: spec.name.clone(),
                message: "domain already exists".into(),
            });
        }
        g.domains.insert(
            spec.name.clone(),
            (DomainState::Running, spec.console_log.clone()),
        );
        Ok(DomainInfo {
            name: spec.name.clone(),
            state: DomainState::Running,
        })
    }

    fn destroy(&self, name: &str) -> Result<(), VmError> {
        let mut g = self.lock();
        g.calls.push(Call::Destroy { name: name.into() });
        g.domains.remove(name);
        Ok(())
    }

    fn list(&self, prefix: &str) -> Result<Vec<DomainInfo>, VmError> {
        let mut g = self.lock();
        g.calls.push(Call::List {
            prefix: prefix.into(),
        });
        Ok(g.domains
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(n, (s, _))| DomainInfo {
                name: n.clone(),
                state: *s,
            })
            .collect())
    }

    fn state(&self, name: &str) -> Result<DomainState, VmError> {
        let mut g = self.lock();
        g.calls.push(Call::State { name: name.into() });
        g.domains
            .get(name)
            .map(|(s, _)| *s)
            .ok_or_else(|| VmError::NoSuchDomain(name.into()))
    }

    fn console_log(&self, name: &str) -> Option<PathBuf> {
        self.lock().domains.get(name).map(|(_, p)| p.clone())
    }
}

/// [`crate::Hypervisors`] over recording drivers: `local` for the local hypervisor, one
/// more per remote URI (made on first use; see [`FakeHypervisors::remote`]).
#[derive(Default)]
pub struct FakeHypervisors {
    pub local: std::sync::Arc<RecordingVmDriver>,
    remote: Mutex<BTreeMap<String, std::sync::Arc<RecordingVmDriver>>>,
    /// URIs whose connection fails.
    unreachable: Mutex<Vec<String>>,
}

impl FakeHypervisors {
    pub fn new() -> Self {
        Self::default()
    }
    /// The recording driver of `uri` (made now if no call reached it yet).
    pub fn remote(&self, uri: &str) -> std::sync::Arc<RecordingVmDriver> {
        self.remote
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(uri.to_owned())
            .or_default()
            .clone()
    }
    /// Connections to `uri` fail from now on.
    pub fn make_unreachable(&self, uri: &str) {
        self.unreachable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(uri.to_owned());
    }
}

impl crate::Hypervisors for FakeHypervisors {
    fn on(&self, uri: Option<&str>) -> Result<std::sync::Arc<dyn VmDriver>, VmError> {
        let Some(uri) = uri else {
            return Ok(self.local.clone());
        };
        if self
            .unreachable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|u| u == uri)
        {
            return Err(VmError::Connect {
                uri: uri.to_owned(),
                message: "injected: unreachable".into(),
            });
        }
        Ok(self.remote(uri))
    }
}

/// A VM backend over `driver` with a made-up image and TCG, for orchestration tests that
/// never boot anything.
pub fn backend(driver: std::sync::Arc<dyn VmDriver>) -> crate::vnf::VmBackend {
    crate::vnf::VmBackend {
        driver,
        image: crate::image::Image {
            dir: "/nonexistent".into(),
            vmlinuz: "/nonexistent/vmlinuz".into(),
            boot_kernel: "/nonexistent/vmlinuz".into(),
            initramfs: "/nonexistent/initramfs.img".into(),
            manifest: crate::image::Manifest {
                format: "fake".into(),
                hash: "0".into(),
                kernel_package: "fake".into(),
                kernel_release: "fake".into(),
                modules: vec![],
                files: vec![],
                initramfs_bytes: 0,
            },
            built_now: false,
        },
        accel: crate::accel::ProbeOutcome {
            accel: crate::Accel::Tcg,
            reason: "fake".into(),
            kvm_boot_ms: None,
            key: "fake".into(),
        },
    }
}
