//! One call for the testbed: start a VNF as a VM on given bridges and get its management
//! endpoint; the domain spec for it is computed purely ([`domain_spec`]).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::accel::{qemu_binary, Accel, ProbeOutcome};
use crate::driver::{VmDriver, VmError};
use crate::guest::{GuestConfig, AGENT_PORT};
use crate::image::Image;
use crate::ready::{wait_agent_ready, ReadyError};
use crate::xml::{BootSpec, DomainSpec, NicAttach, NicSpec};
use netwire::MacAddr;

/// Everything the testbed needs once per run for `--driver vm`: a driver, the guest image and
/// the accelerator (probed once, cached; record `accel` in every report).
pub struct VmBackend {
    pub driver: std::sync::Arc<dyn VmDriver>,
    pub image: Image,
    pub accel: ProbeOutcome,
}

/// Why the VM backend cannot be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Driver(#[from] VmError),
    #[error("guest image: {0}")]
    Image(#[from] crate::image::ImageError),
}

impl VmBackend {
    /// Connects to libvirt (`qemu:///system`), builds or reuses the guest image (binaries as
    /// in [`crate::image::BuildOptions::discover`], plus `extra_bins` for external engines) and
    /// detects the accelerator. Blocking: call from a thread or `spawn_blocking`.
    pub fn prepare(extra_bins: &[PathBuf]) -> Result<Self, PrepareError> {
        Self::prepare_with_uri(crate::libvirt::DEFAULT_URI, extra_bins)
    }

    /// [`VmBackend::prepare`] against the libvirt daemon at `uri`.
    pub fn prepare_with_uri(uri: &str, extra_bins: &[PathBuf]) -> Result<Self, PrepareError> {
        let driver = crate::libvirt::LibvirtDriver::connect(uri)?;
        Self::prepare_on(std::sync::Arc::new(driver), extra_bins)
    }

    /// [`VmBackend::prepare`] on a driver the caller already connected.
    pub fn prepare_on(
        driver: std::sync::Arc<dyn VmDriver>,
        extra_bins: &[PathBuf],
    ) -> Result<Self, PrepareError> {
        let mut opts = crate::image::BuildOptions::discover()?;
        opts.extra_bins = extra_bins.to_vec();
        if opts.kernel_package.is_none() && std::env::var_os("COO_BENCH_GUEST_KERNEL_PKG").is_none()
        {
            opts.kernel_package =
                crate::image::kernel::newest_unpacked(&opts.cache_root.join("kernel"));
        }
        let image = crate::image::build(&opts)?;
        let accel = crate::accel::detect(
            &crate::accel::ProbeGuest {
                kernel: image.boot_kernel.clone(),
                initrd: Some(image.initramfs.clone()),
            },
            &opts.cache_root.join("accel.json"),
            Duration::from_secs(8),
        );
        Ok(VmBackend {
            driver,
            image,
            accel,
        })
    }

    /// Starts one VNF VM (see [`start_vnf`]) with the probed accelerator.
    pub fn start(&self, spec: &VnfVmSpec) -> Result<VnfVm, VmError> {
        start_vnf(self.driver.as_ref(), &self.image, self.accel.accel, spec)
    }

    /// Destroys every domain of the run (teardown; idempotent).
    pub fn destroy_run(&self, prefix: &str) -> Result<Vec<String>, VmError> {
        crate::driver::destroy_all(self.driver.as_ref(), prefix)
    }
}

/// What the testbed knows about one VNF VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VnfVmSpec {
    /// Run prefix (`cb1a2b`): domain `<prefix>-<vnf_id>`, taps `<prefix>v<index>n<nic>`.
    pub prefix: String,
    pub vnf_id: String,
    /// Position of the VNF in the topology (keeps tap names short and unique).
    pub index: usize,
    pub memory_mib: u32,
    pub vcpus: u32,
    /// Management bridge (the host has no address on it).
    pub mgmt_bridge: String,
    /// Guest management address and prefix length, in 198.18.0.0/15.
    pub mgmt_addr: (Ipv4Addr, u8),
    /// The guest takes `mgmt_addr` by DHCP (from a [`crate::dhcp::DhcpServer`] in the
    /// management namespace) instead of from the kernel command line.
    #[serde(default)]
    pub mgmt_dhcp: bool,
    /// Taps are pre-created by the caller (named as in [`tap_name`]) and moved by it into the
    /// namespace of their bridges after the domain started ([`NicAttach::UnmanagedTap`]);
    /// false = libvirt creates them on host-namespace bridges.
    #[serde(default)]
    pub precreated_taps: bool,
    /// Management MAC; derived from prefix and VNF id when absent.
    pub mgmt_mac: Option<MacAddr>,
    /// Data NICs in PyCOO order: (bridge, MAC).
    pub data: Vec<(String, MacAddr)>,
    /// Engine the agent runs (coo-click, click, kernel-forward, or a path present in the image).
    pub engine: String,
    /// Run directory; the console log goes to `<run_dir>/vm/<vnf_id>.console.log`.
    pub run_dir: PathBuf,
    /// SHA-256 (hex) of the run's agent token, for the kernel command line (`coo.token_sha256`).
    /// Only the digest: the command line is visible in the guest and in the host's `ps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
    /// Boot this disk image (through a qcow2 overlay) instead of our kernel + initramfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskBoot>,
    /// CPU model override ([`crate::xml::cpu_element`]); None: the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// Where the console log goes on a host that does not share this machine's files (a
    /// real remote host: [`REMOTE_CONSOLE_DIR`]); None: `<run_dir>/vm` here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_dir: Option<PathBuf>,
}

/// The console logs' directory on a remote host: libvirt's own QEMU log directory, which
/// every libvirt host has and its QEMU may write.
pub const REMOTE_CONSOLE_DIR: &str = "/var/log/libvirt/qemu";

/// A VNF booting its own disk image ("bring your own image", e.g. click-on-osv.qcow2): the
/// domain boots `overlay`, a qcow2 backed by `image` (never a copy), from the BIOS. Such a
/// guest takes its management address by DHCP ([`VnfVmSpec::mgmt_dhcp`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskBoot {
    /// The image as given (absolute); only read.
    pub image: PathBuf,
    /// The overlay, under the run directory (removed with it).
    pub overlay: PathBuf,
}

/// A started VNF VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VnfVm {
    pub domain: String,
    pub accel: Accel,
    /// Agent REST endpoint, reachable from the management namespace only.
    pub endpoint: SocketAddr,
    pub console_log: PathBuf,
    /// Host tap names (for cleanup checks).
    pub taps: Vec<String>,
    /// Time from `start` returning to the agent answering (None until waited).
    pub boot_to_ready_ms: Option<u64>,
}

/// Host tap of NIC `nic` (0 = management): `<prefix>v<index>n<nic>`, ≤ 15 bytes for a
/// 6-byte prefix, < 100 VNFs and < 100 NICs.
pub fn tap_name(spec: &VnfVmSpec, nic: usize) -> String {
    format!("{}v{}n{}", spec.prefix, spec.index, nic)
}

/// The management MAC of a VNF VM (given, or derived from prefix and VNF id).
pub fn mgmt_mac_of(spec: &VnfVmSpec) -> MacAddr {
    spec.mgmt_mac.unwrap_or_else(|| {
        crate::mac::derived(format!("{}/{}/mgmt", spec.prefix, spec.vnf_id).as_bytes())
    })
}

/// The domain spec for `spec` booting `image` (pure).
pub fn domain_spec(spec: &VnfVmSpec, vmlinuz: &Path, initramfs: &Path, accel: Accel) -> DomainSpec {
    let mgmt_mac = mgmt_mac_of(spec);
    let guest = GuestConfig {
        mgmt: (!spec.mgmt_dhcp).then_some(spec.mgmt_addr),
        mgmt_mac: Some(mgmt_mac),
        data_macs: spec.data.iter().map(|(_, m)| *m).collect(),
        engine: spec.engine.clone(),
        port: AGENT_PORT,
        probe: false,
        token_sha256: spec.token_sha256.clone(),
    };
    let attach = if spec.precreated_taps {
        NicAttach::UnmanagedTap
    } else {
        NicAttach::Bridge
    };
    let mut nics = vec![NicSpec {
        bridge: spec.mgmt_bridge.clone(),
        mac: mgmt_mac,
        tap: Some(tap_name(spec, 0)),
        attach,
    }];
    for (i, (bridge, mac)) in spec.data.iter().enumerate() {
        nics.push(NicSpec {
            bridge: bridge.clone(),
            mac: *mac,
            tap: Some(tap_name(spec, i + 1)),
            attach,
        });
    }
    let boot = match &spec.disk {
        Some(d) => BootSpec::Disk {
            path: d.overlay.clone(),
            format: "qcow2".into(),
        },
        None => BootSpec::Kernel {
            kernel: vmlinuz.to_path_buf(),
            initrd: initramfs.to_path_buf(),
            cmdline: guest.to_cmdline(),
        },
    };
    DomainSpec {
        name: format!("{}-{}", spec.prefix, spec.vnf_id),
        accel,
        memory_mib: spec.memory_mib,
        vcpus: spec.vcpus,
        boot,
        nics,
        // In a host's shared directory the domain name keeps runs apart.
        console_log: match &spec.console_dir {
            Some(d) => d.join(format!("{}-{}.console.log", spec.prefix, spec.vnf_id)),
            None => spec
                .run_dir
                .join("vm")
                .join(format!("{}.console.log", spec.vnf_id)),
        },
        emulator: qemu_binary(),
        cpu: spec.cpu_model.clone(),
    }
}

/// Starts the VM (does not wait for the agent; see [`wait_ready`]). A disk-image VNF first
/// gets its overlay (`qemu-img create -b <image>`).
pub fn start_vnf(
    driver: &dyn VmDriver,
    image: &Image,
    accel: Accel,
    spec: &VnfVmSpec,
) -> Result<VnfVm, VmError> {
    let ds = domain_spec(spec, &image.boot_kernel, &image.initramfs, accel);
    // A remote host's console directory is libvirt's, there.
    if let Some(dir) = ds
        .console_log
        .parent()
        .filter(|_| spec.console_dir.is_none())
    {
        std::fs::create_dir_all(dir).map_err(|e| VmError::Create {
            name: ds.name.clone(),
            message: format!("{}: {e}", dir.display()),
        })?;
    }
    if let Some(d) = &spec.disk {
        if !d.overlay.exists() {
            crate::disk::create_overlay(&d.image, &d.overlay).map_err(|e| VmError::Create {
                name: ds.name.clone(),
                message: format!("overlay {}: {e}", d.overlay.display()),
            })?;
        }
    }
    driver.start(&ds)?;
    Ok(VnfVm {
        domain: ds.name.clone(),
        accel,
        endpoint: SocketAddr::from((spec.mgmt_addr.0, AGENT_PORT)),
        console_log: ds.console_log.clone(),
        taps: ds.nics.iter().filter_map(|n| n.tap.clone()).collect(),
        boot_to_ready_ms: None,
    })
}

/// Waits until the agent answers from the management namespace; records boot-to-ready time
/// (measured from `started`, the instant before [`start_vnf`]).
pub fn wait_ready(
    vm: &mut VnfVm,
    mgmt_netns: &Path,
    started: Instant,
    timeout: Duration,
) -> Result<Duration, ReadyError> {
    wait_agent_ready(Some(mgmt_netns), vm.endpoint, timeout)?;
    let t = started.elapsed();
    vm.boot_to_ready_ms = Some(t.as_millis() as u64);
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{Call, RecordingVmDriver};

    fn spec() -> VnfVmSpec {
        VnfVmSpec {
            cpu_model: None,
            console_dir: None,
            prefix: "cb1a2b".into(),
            vnf_id: "vnf1".into(),
            index: 1,
            memory_mib: 256,
            vcpus: 1,
            mgmt_bridge: "cb1a2b-mgmt".into(),
            mgmt_addr: (Ipv4Addr::new(198, 19, 255, 11), 16),
            mgmt_dhcp: false,
            precreated_taps: false,
            mgmt_mac: None,
            data: vec![
                ("cb1a2b-l1".into(), "52:54:00:00:01:01".parse().unwrap()),
                ("cb1a2b-l2".into(), "52:54:00:00:01:02".parse().unwrap()),
            ],
            engine: "coo-click".into(),
            run_dir: "/run/coo-bench/r1".into(),
            token_sha256: None,
            disk: None,
        }
    }

    #[test]
    fn disk_vnf_boots_its_overlay_without_kernel() {
        let mut s = spec();
        s.mgmt_dhcp = true;
        s.disk = Some(DiskBoot {
            image: "/images/coo.qcow2".into(),
            overlay: "/run/coo-bench/r1/vm/vnf1.qcow2".into(),
        });
        let ds = domain_spec(&s, Path::new("/k"), Path::new("/i"), Accel::Tcg);
        assert_eq!(
            ds.boot,
            BootSpec::Disk {
                path: "/run/coo-bench/r1/vm/vnf1.qcow2".into(),
                format: "qcow2".into()
            }
        );
        // Same NICs, management first.
        assert_eq!(ds.nics.len(), 3);
        assert_eq!(ds.nics[0].bridge, "cb1a2b-mgmt");
    }

    #[test]
    fn spec_has_mgmt_first_then_data_in_order() {
        let ds = domain_spec(&spec(), Path::new("/k"), Path::new("/i"), Accel::Tcg);
        assert_eq!(ds.name, "cb1a2b-vnf1");
        let bridges: Vec<&str> = ds.nics.iter().map(|n| n.bridge.as_str()).collect();
        assert_eq!(bridges, ["cb1a2b-mgmt", "cb1a2b-l1", "cb1a2b-l2"]);
        let taps: Vec<&str> = ds.nics.iter().filter_map(|n| n.tap.as_deref()).collect();
        assert_eq!(taps, ["cb1a2bv1n0", "cb1a2bv1n1", "cb1a2bv1n2"]);
        assert!(taps.iter().all(|t| t.len() <= 15));
        let BootSpec::Kernel { cmdline, .. } = &ds.boot else {
            panic!("kernel boot expected")
        };
        let g = GuestConfig::from_cmdline(cmdline).unwrap();
        assert_eq!(g.mgmt, Some((Ipv4Addr::new(198, 19, 255, 11), 16)));
        assert_eq!(g.mgmt_mac, Some(ds.nics[0].mac));
        assert_eq!(g.data_macs, vec![ds.nics[1].mac, ds.nics[2].mac]);
        assert_eq!(
            ds.console_log,
            PathBuf::from("/run/coo-bench/r1/vm/vnf1.console.log")
        );
        // On a remote host: libvirt's log directory there, named by domain.
        let remote = VnfVmSpec {
            console_dir: Some(REMOTE_CONSOLE_DIR.into()),
            ..spec()
        };
        let ds = domain_spec(&remote, Path::new("/k"), Path::new("/i"), Accel::Tcg);
        assert_eq!(
            ds.console_log,
            PathBuf::from("/var/log/libvirt/qemu/cb1a2b-vnf1.console.log")
        );
    }

    #[test]
    fn start_through_fake_records_xml() {
        let fake = RecordingVmDriver::new();
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec();
        s.run_dir = dir.path().to_path_buf();
        let image = Image::for_tests(dir.path(), Path::new("/k"), Path::new("/i"));
        let vm = start_vnf(&fake, &image, Accel::Tcg, &s).unwrap();
        assert_eq!(vm.endpoint, "198.19.255.11:8000".parse().unwrap());
        assert_eq!(vm.taps.len(), 3);
        assert!(dir.path().join("vm").is_dir());
        match &fake.calls()[0] {
            Call::Start { name, xml } => {
                assert_eq!(name, "cb1a2b-vnf1");
                assert!(xml.contains("<domain type='qemu'>"));
                assert!(xml.contains("coo.data=52:54:00:00:01:01,52:54:00:00:01:02"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            fake.console_log("cb1a2b-vnf1"),
            Some(vm.console_log.clone())
        );
        crate::driver::destroy_all(&fake, "cb1a2b").unwrap();
        assert!(fake.domains().is_empty());
    }
}
