//! Domain XML for a transient libvirt domain (pure; no I/O).
//!
//! Invariants: only `type='bridge'` interfaces (never a libvirt network, so never `default`),
//! NIC 0 = management, NICs 1..n = data in PyCOO order, virtio with the userspace (`qemu`)
//! backend because these hosts have no vhost-net, serial console to a file.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::accel::Accel;
use netwire::MacAddr;

/// How a NIC's tap reaches its bridge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NicAttach {
    /// libvirt creates the tap and enslaves it to `bridge`, which must exist in libvirtd's
    /// (the host's) namespace.
    #[default]
    Bridge,
    /// The caller pre-created the tap (`tap`) in the host namespace; libvirt only opens it
    /// (`type='ethernet'`, `managed='no'`). The caller then moves it into the namespace holding
    /// `bridge` (e.g. the testbed's switch namespace) and enslaves it there.
    UnmanagedTap,
}

/// One NIC of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NicSpec {
    /// Linux bridge the tap joins (already created by the caller).
    pub bridge: String,
    pub mac: MacAddr,
    /// Host tap name (≤ 15 bytes, carries the run prefix so `clean` can find leftovers).
    pub tap: Option<String>,
    #[serde(default)]
    pub attach: NicAttach,
}

/// How the guest boots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum BootSpec {
    /// Direct kernel boot of our guest image.
    Kernel {
        kernel: PathBuf,
        initrd: PathBuf,
        cmdline: String,
    },
    /// A disk image (e.g. a qcow2 overlay on a Click-On-OSv image) booted by the BIOS.
    Disk { path: PathBuf, format: String },
}

/// Everything needed to generate one domain's XML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSpec {
    /// Domain name, starting with the run prefix.
    pub name: String,
    pub accel: Accel,
    pub memory_mib: u32,
    pub vcpus: u32,
    pub boot: BootSpec,
    /// NIC 0 = management, then data NICs in PyCOO order.
    pub nics: Vec<NicSpec>,
    /// Serial console log file (under the run directory).
    pub console_log: PathBuf,
    /// QEMU binary.
    pub emulator: PathBuf,
    /// CPU model override (see [`cpu_element`]); None: the default for accelerator and boot.
    #[serde(default)]
    pub cpu: Option<String>,
}

/// Under TCG, a guest booting its own disk image gets every feature TCG emulates (QEMU's
/// `max`): OSv (Click-On-OSv) needs more than QEMU's default `qemu64` (PyCOO pinned
/// SandyBridge for it); our own guest keeps the default.
pub const TCG_DISK_CPU: &str = "maximum";

/// The `<cpu>` element: `host-passthrough`, `host-model` and `maximum` are libvirt CPU modes,
/// anything else a model name (custom, fallback allowed, as PyCOO's domain XML). Default:
/// host-passthrough under KVM, [`TCG_DISK_CPU`] for a disk image under TCG, none otherwise.
pub fn cpu_element(spec: &DomainSpec) -> Option<String> {
    let chosen = spec.cpu.as_deref().or(match (spec.accel, &spec.boot) {
        (Accel::Kvm, _) => Some("host-passthrough"),
        (Accel::Tcg, BootSpec::Disk { .. }) => Some(TCG_DISK_CPU),
        (Accel::Tcg, BootSpec::Kernel { .. }) => None,
    })?;
    Some(match chosen {
        "host-passthrough" | "host-model" | "maximum" => format!("  <cpu mode='{chosen}'/>\n"),
        model => format!(
            "  <cpu mode='custom' match='exact'><model fallback='allow'>{}</model></cpu>\n",
            esc(model)
        ),
    })
}

/// Escapes text for XML attribute values and text nodes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

fn path(p: &std::path::Path) -> String {
    esc(&p.to_string_lossy())
}

/// Generates the domain XML.
pub fn domain_xml(spec: &DomainSpec) -> String {
    let mut x = String::new();
    // `write!` into a String cannot fail; the results are ignored deliberately.
    let _ = writeln!(x, "<domain type='{}'>", spec.accel.libvirt_type());
    let _ = writeln!(x, "  <name>{}</name>", esc(&spec.name));
    let _ = writeln!(x, "  <memory unit='MiB'>{}</memory>", spec.memory_mib);
    let _ = writeln!(x, "  <vcpu>{}</vcpu>", spec.vcpus.max(1));
    x.push_str("  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n");
    match &spec.boot {
        BootSpec::Kernel {
            kernel,
            initrd,
            cmdline,
        } => {
            let _ = writeln!(x, "    <kernel>{}</kernel>", path(kernel));
            let _ = writeln!(x, "    <initrd>{}</initrd>", path(initrd));
            let _ = writeln!(x, "    <cmdline>{}</cmdline>", esc(cmdline));
        }
        BootSpec::Disk { .. } => x.push_str("    <boot dev='hd'/>\n"),
    }
    x.push_str("  </os>\n  <features><acpi/></features>\n");
    if let Some(cpu) = cpu_element(spec) {
        x.push_str(&cpu);
    }
    x.push_str("  <clock offset='utc'/>\n");
    // A guest that powers off, reboots or crashes is gone: the testbed notices, never a loop.
    x.push_str("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n");
    x.push_str("  <on_crash>destroy</on_crash>\n  <devices>\n");
    let _ = writeln!(x, "    <emulator>{}</emulator>", path(&spec.emulator));
    if let BootSpec::Disk { path: disk, format } = &spec.boot {
        let _ = writeln!(
            x,
            "    <disk type='file' device='disk'><driver name='qemu' type='{}'/><source file='{}'/><target dev='vda' bus='virtio'/></disk>",
            esc(format),
            path(disk)
        );
    }
    for nic in &spec.nics {
        match (nic.attach, &nic.tap) {
            (NicAttach::UnmanagedTap, Some(tap)) => {
                x.push_str("    <interface type='ethernet'>");
                let _ = write!(x, "<mac address='{}'/>", nic.mac);
                let _ = write!(x, "<target dev='{}' managed='no'/>", esc(tap));
            }
            _ => {
                x.push_str("    <interface type='bridge'>");
                let _ = write!(x, "<source bridge='{}'/>", esc(&nic.bridge));
                let _ = write!(x, "<mac address='{}'/>", nic.mac);
                if let Some(tap) = &nic.tap {
                    let _ = write!(x, "<target dev='{}'/>", esc(tap));
                }
            }
        }
        // No vhost-net on these hosts: force QEMU's userspace virtio backend. No option ROM:
        // nothing boots from the network, and SeaBIOS initialising iPXE per NIC is slow under TCG.
        x.push_str("<model type='virtio'/><driver name='qemu'/><rom enabled='no'/></interface>\n");
    }
    let _ = writeln!(
        x,
        "    <serial type='file'><source path='{}'/><target port='0'/></serial>",
        path(&spec.console_log)
    );
    x.push_str("    <controller type='usb' model='none'/>\n");
    x.push_str("    <memballoon model='none'/>\n  </devices>\n</domain>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(nics: usize) -> DomainSpec {
        DomainSpec {
            cpu: None,
            name: "cb1a2b-vnf1".into(),
            accel: Accel::Tcg,
            memory_mib: 512,
            vcpus: 2,
            boot: BootSpec::Kernel {
                kernel: "/var/cache/coo-bench/images/h/vmlinuz".into(),
                initrd: "/var/cache/coo-bench/images/h/initramfs.img".into(),
                cmdline: "console=ttyS0 coo.mgmt=198.19.255.10/16".into(),
            },
            nics: (0..nics)
                .map(|i| NicSpec {
                    bridge: format!("cb1a2b-l{i}"),
                    mac: MacAddr([0x52, 0x54, 0, 0, 0, i as u8]),
                    tap: Some(format!("cb1a2bv1n{i}")),
                    attach: NicAttach::Bridge,
                })
                .collect(),
            console_log: "/run/coo-bench/r/vnf1.console.log".into(),
            emulator: "/usr/bin/qemu-system-x86_64".into(),
        }
    }

    #[test]
    fn tcg_kernel_boot() {
        let x = domain_xml(&spec(3));
        assert!(x.starts_with("<domain type='qemu'>"));
        assert!(x.contains("<name>cb1a2b-vnf1</name>"));
        assert!(x.contains("<memory unit='MiB'>512</memory>"));
        assert!(x.contains("<vcpu>2</vcpu>"));
        assert!(x.contains("<kernel>/var/cache/coo-bench/images/h/vmlinuz</kernel>"));
        assert!(x.contains("<cmdline>console=ttyS0 coo.mgmt=198.19.255.10/16</cmdline>"));
        assert!(!x.contains("host-passthrough"));
        assert!(
            x.contains("<serial type='file'><source path='/run/coo-bench/r/vnf1.console.log'/>")
        );
        // Never a libvirt network, never `default`.
        assert!(!x.contains("type='network'"));
        assert!(!x.contains("default"));
    }

    #[test]
    fn nics_in_order_with_macs_and_no_six_nic_limit() {
        let x = domain_xml(&spec(9));
        assert_eq!(x.matches("<interface type='bridge'>").count(), 9);
        let mut last = 0;
        for i in 0..9 {
            let needle = format!(
                "<source bridge='cb1a2b-l{i}'/><mac address='52:54:00:00:00:{i:02x}'/><target dev='cb1a2bv1n{i}'/>"
            );
            let pos = x
                .find(&needle)
                .unwrap_or_else(|| panic!("missing {needle}"));
            assert!(pos >= last, "NIC {i} out of order");
            last = pos;
        }
        assert_eq!(
            x.matches("<model type='virtio'/><driver name='qemu'/>")
                .count(),
            9
        );
        // libvirt assigns PCI slots itself: no fixed slot list like PyCOO's 0x0a..0x0f.
        assert!(!x.contains("slot="));
    }

    #[test]
    fn unmanaged_taps_for_bridges_in_another_namespace() {
        let mut s = spec(2);
        s.nics[1].attach = NicAttach::UnmanagedTap;
        let x = domain_xml(&s);
        assert!(x.contains(
            "<interface type='ethernet'><mac address='52:54:00:00:00:01'/><target dev='cb1a2bv1n1' managed='no'/><model type='virtio'/>"
        ));
        // NIC 0 still a libvirt-managed bridge port; order kept.
        assert!(x.find("cb1a2bv1n0").unwrap() < x.find("cb1a2bv1n1").unwrap());
        assert_eq!(x.matches("<source bridge=").count(), 1);
    }

    #[test]
    fn kvm_and_disk_boot_and_escaping() {
        let mut s = spec(1);
        s.accel = Accel::Kvm;
        s.name = "a<b>&'".into();
        s.boot = BootSpec::Disk {
            path: "/run/coo-bench/r/vnf1.qcow2".into(),
            format: "qcow2".into(),
        };
        let x = domain_xml(&s);
        assert!(x.starts_with("<domain type='kvm'>"));
        assert!(x.contains("<cpu mode='host-passthrough'/>"));
        assert!(x.contains("<name>a&lt;b&gt;&amp;&apos;</name>"));
        assert!(x.contains("<boot dev='hd'/>"));
        assert!(!x.contains("<kernel>"));
        assert!(x.contains("type='qcow2'/><source file='/run/coo-bench/r/vnf1.qcow2'/>"));
    }

    #[test]
    fn cpu_model_defaults_and_overrides() {
        // TCG, our kernel: QEMU's default model.
        let mut s = spec(1);
        assert!(!domain_xml(&s).contains("<cpu"));
        // TCG, a disk image (OSv): everything TCG emulates.
        s.boot = BootSpec::Disk {
            path: "/r/x.qcow2".into(),
            format: "qcow2".into(),
        };
        assert!(domain_xml(&s).contains("<cpu mode='maximum'/>"));
        // Overridden per VNF: PyCOO's pinned model.
        s.cpu = Some("SandyBridge".into());
        assert!(domain_xml(&s).contains(
            "<cpu mode='custom' match='exact'><model fallback='allow'>SandyBridge</model></cpu>"
        ));
        s.accel = Accel::Kvm;
        s.cpu = None;
        assert!(domain_xml(&s).contains("<cpu mode='host-passthrough'/>"));
        s.cpu = Some("host-model".into());
        assert!(domain_xml(&s).contains("<cpu mode='host-model'/>"));
    }
}
