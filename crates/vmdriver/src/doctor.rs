//! Host checks for `coo-bench doctor`: what this host can run (netns driver, VM driver).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::accel::{self, ProbeGuest, ProbeOutcome};
use crate::image;
use crate::libvirt::{LibvirtDriver, DEFAULT_URI};
use crate::VmDriver;

/// The libvirt set-up script (`scripts/vm-setup.sh`), embedded so `doctor --fix` works from an
/// installed binary too.
pub const VM_SETUP_SCRIPT: &str = include_str!("../../../scripts/vm-setup.sh");

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

/// One check.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub name: String,
    /// Needed for the exit code (a failing optional check only informs).
    pub needed: bool,
    pub status: Status,
    pub detail: String,
    /// What `--fix` or the user can do.
    pub fix: Option<String>,
}

/// All checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// True when every needed check passed.
    pub ok: bool,
    pub checks: Vec<Check>,
    /// Accelerator the VM driver will use (None when it could not be probed).
    pub accelerator: Option<ProbeOutcome>,
}

fn check(name: &str, needed: bool, r: Result<String, String>, fix: Option<&str>) -> Check {
    let (status, detail) = match r {
        Ok(d) => (Status::Ok, d),
        Err(d) => (Status::Fail, d),
    };
    Check {
        name: name.into(),
        needed,
        status,
        detail,
        fix: (status != Status::Ok)
            .then(|| fix.map(str::to_string))
            .flatten(),
    }
}

/// An optional Click engine named by an environment variable: its version, or why not.
fn engine_check(name: &str, var: &str, args: &[&str], without: &str) -> Check {
    let fix = format!(
        "build it outside the project as its README says and set {var} (docs/click-engine.md)"
    );
    let (status, detail) = match std::env::var_os(var) {
        None => (Status::Warn, format!("{var} is not set: {without}")),
        Some(p) => match run(&p.to_string_lossy(), args) {
            Ok(v) if v.is_empty() => (Status::Ok, format!("{} runs", p.to_string_lossy())),
            Ok(v) => (Status::Ok, format!("{} ({v})", p.to_string_lossy())),
            Err(e) => (Status::Warn, format!("{e}: {without}")),
        },
    };
    Check {
        name: name.into(),
        needed: false,
        status,
        detail,
        fix: (status != Status::Ok).then_some(fix),
    }
}

fn run(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout);
        let text = if text.trim().is_empty() {
            String::from_utf8_lossy(&out.stderr).into_owned()
        } else {
            text.into_owned()
        };
        Ok(text.lines().next().unwrap_or("").trim().to_string())
    } else {
        Err(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn scratch_name() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        ^ std::process::id();
    format!("cbd{:04x}", n & 0xffff)
}

fn check_netns() -> Result<String, String> {
    let name = scratch_name();
    run("ip", &["netns", "add", &name])?;
    let _ = run("ip", &["netns", "del", &name]);
    Ok("can create network namespaces".into())
}

fn check_bridge() -> Result<String, String> {
    let name = format!("{}br", scratch_name());
    run("ip", &["link", "add", &name, "type", "bridge"])?;
    let _ = run("ip", &["link", "del", &name]);
    Ok("can create Linux bridges".into())
}

fn br_netfilter() -> Check {
    let p = Path::new("/proc/sys/net/bridge/bridge-nf-call-iptables");
    let (status, detail) = match std::fs::read_to_string(p) {
        Err(_) => (
            Status::Ok,
            "br_netfilter not loaded: bridged frames bypass iptables".to_string(),
        ),
        Ok(v) if v.trim() == "0" => (Status::Ok, "bridge-nf-call-iptables = 0".into()),
        Ok(_) => (
            Status::Warn,
            "bridge-nf-call-iptables = 1: bridged testbed frames traverse iptables (~15% cost; a host firewall may drop them)".into(),
        ),
    };
    Check {
        name: "br_netfilter".into(),
        needed: false,
        status,
        detail,
        fix: (status == Status::Warn).then(|| {
            "sysctl -w net.bridge.bridge-nf-call-iptables=0 (if the host firewall allows)".into()
        }),
    }
}

fn check_libvirt() -> Result<String, String> {
    let d = LibvirtDriver::connect(DEFAULT_URI).map_err(|e| e.to_string())?;
    let v = d.daemon_version().map_err(|e| e.to_string())?;
    let ours = d.list("cb").map_err(|e| e.to_string())?;
    Ok(format!(
        "{DEFAULT_URI} reachable (libvirt {v}; {} coo-bench domain(s) present)",
        ours.len()
    ))
}

/// Runs every check. `probe_kvm` boots a tiny guest under KVM (up to `kvm_timeout`).
pub fn run_checks(probe_kvm: bool, kvm_timeout: Duration) -> Report {
    let mut checks = Vec::new();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    checks.push(check(
        "root",
        true,
        if root {
            Ok("running as root".into())
        } else {
            Err("not root: namespaces, bridges and libvirt need root".into())
        },
        Some("run as root"),
    ));
    checks.push(check(
        "iproute2",
        true,
        run("ip", &["-V"]),
        Some("apt-get install iproute2"),
    ));
    checks.push(check("netns", true, check_netns(), None));
    checks.push(check(
        "bridges",
        true,
        check_bridge(),
        Some("modprobe bridge"),
    ));
    checks.push(br_netfilter());
    checks.push(check(
        "tc",
        true,
        run("tc", &["-V"]),
        Some("apt-get install iproute2"),
    ));
    checks.push(engine_check(
        "reference-click",
        "COO_BENCH_REFERENCE_CLICK",
        &["--version"],
        "the reference-click variants are skipped",
    ));
    // FastClick's --version crashes (a double free upstream): an empty configuration instead.
    checks.push(engine_check(
        "fastclick",
        "COO_BENCH_FASTCLICK",
        &["-q", "-e", ""],
        "the fastclick variants are skipped",
    ));
    let qemu = accel::qemu_binary();
    checks.push(check(
        "qemu",
        true,
        run(&qemu.to_string_lossy(), &["--version"]),
        Some("coo-bench doctor --fix (installs qemu-system-x86)"),
    ));
    checks.push(check(
        "libvirt",
        true,
        check_libvirt(),
        Some("coo-bench doctor --fix (scripts/vm-setup.sh: installs libvirt, starts libvirtd/virtlogd)"),
    ));
    let cached = image::newest_cached(&image::cache_root());
    checks.push(check(
        "guest-image",
        true,
        match &cached {
            Some(i) => Ok(format!(
                "{} ({}, initramfs {} KiB)",
                i.dir.display(),
                i.manifest.kernel_release,
                i.manifest.initramfs_bytes / 1024
            )),
            None => Err(format!(
                "no guest image under {}",
                image::cache_root().join("images").display()
            )),
        },
        Some("coo-bench image build"),
    ));
    let missing = image::disk::missing_tools();
    checks.push(Check {
        name: "disk-tools".into(),
        needed: false,
        status: if missing.is_empty() {
            Status::Ok
        } else {
            Status::Warn
        },
        detail: if missing.is_empty() {
            "mkfs.vfat, mcopy, syslinux, qemu-img: disk images and overlays work".into()
        } else {
            format!(
                "missing {}: no `image build --disk`, no disk-image VNFs",
                missing.join(", ")
            )
        },
        fix: (!missing.is_empty()).then(|| {
            "coo-bench doctor --fix (apt-get install syslinux mtools dosfstools qemu-utils)".into()
        }),
    });
    let dev = accel::kvm_device_usable();
    let mut accelerator = None;
    let kvm = match (&dev, &cached) {
        (Err(e), _) => Check {
            name: "kvm".into(),
            needed: false,
            status: Status::Warn,
            detail: format!("{e}: VMs run under TCG (slow)"),
            fix: None,
        },
        (Ok(()), None) => Check {
            name: "kvm".into(),
            needed: false,
            status: Status::Skip,
            detail: "/dev/kvm opens; guest boot not probed (no guest image yet)".into(),
            fix: Some("coo-bench image build".into()),
        },
        (Ok(()), Some(img)) if probe_kvm => {
            let guest = ProbeGuest {
                kernel: img.boot_kernel.clone(),
                initrd: Some(img.initramfs.clone()),
            };
            let cache = image::cache_root().join("accel.json");
            let _ = std::fs::remove_file(&cache);
            let o = accel::detect(&guest, &cache, kvm_timeout);
            let c = Check {
                name: "kvm".into(),
                needed: false,
                status: if o.accel == accel::Accel::Kvm {
                    Status::Ok
                } else {
                    Status::Warn
                },
                detail: format!("accelerator {}: {}", o.accel, o.reason),
                fix: None,
            };
            accelerator = Some(o);
            c
        }
        (Ok(()), Some(_)) => Check {
            name: "kvm".into(),
            needed: false,
            status: Status::Skip,
            detail: "/dev/kvm opens; boot probe skipped".into(),
            fix: None,
        },
    };
    checks.push(kvm);
    let ok = checks.iter().all(|c| !c.needed || c.status == Status::Ok);
    Report {
        ok,
        checks,
        accelerator,
    }
}

/// Runs the embedded `scripts/vm-setup.sh` with bash; returns its combined output.
pub fn run_vm_setup() -> Result<String, String> {
    let out = Command::new("bash")
        .arg("-c")
        .arg(VM_SETUP_SCRIPT)
        .output()
        .map_err(|e| format!("bash: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}
