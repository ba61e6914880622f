//! End-to-end smoke test of the VM driver, shared by the root test `tests/vm_boot.rs`, the
//! crate test and (later) `doctor`: build the image, start one VNF VM through libvirt on
//! fresh bridges, reach its agent from a management namespace (the host has no address on the
//! management bridge), tear everything down and check nothing is left.
//! Network objects are created with `ip` (iproute2) and removed by an RAII guard.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::accel::{self, Accel, ProbeGuest, ProbeOutcome};
use crate::driver::{destroy_all, VmDriver};
use crate::guest::READY_MARKER;
use crate::image::{self, BuildOptions, Image, ImageError};
use crate::libvirt::{LibvirtDriver, DEFAULT_URI};
use crate::mac::MacAddr;
use crate::ready::{http_get, in_netns};
use crate::vnf::{start_vnf, wait_ready, VnfVmSpec};

/// Why the smoke test did not run or failed.
#[derive(Debug, thiserror::Error)]
pub enum SmokeError {
    /// The host lacks something (root, QEMU, libvirt, the kernel package): skip, not fail.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Failed(String),
}

/// What the smoke test measured.
#[derive(Debug, Clone)]
pub struct SmokeReport {
    pub accel: ProbeOutcome,
    pub boot_to_ready: Duration,
    /// Guest uptime (s) printed with the console ready marker.
    pub guest_uptime_at_ready: Option<f64>,
    pub version_body: String,
    pub console: String,
    pub image_dir: PathBuf,
}

fn ip(args: &[&str]) -> Result<(), SmokeError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| SmokeError::Unavailable(format!("ip: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(SmokeError::Failed(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Does a network interface with this name exist in the host namespace?
pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Removes everything the smoke test created, even when it fails half-way.
struct Guard<'a> {
    prefix: String,
    driver: &'a LibvirtDriver,
    netns: String,
    links: Vec<String>,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let _ = destroy_all(self.driver, &self.prefix);
        for l in self.links.iter().rev() {
            if link_exists(l) {
                let _ = ip(&["link", "del", l]);
            }
        }
        let _ = ip(&["netns", "del", &self.netns]);
    }
}

/// A fresh test prefix `cbt` + 4 hex chars.
pub fn test_prefix() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        ^ std::process::id().rotate_left(16);
    format!("cbt{:04x}", n & 0xffff)
}

/// Builds the image from the given binaries; apt/dpkg failures mean "unavailable".
pub fn build_image(agent: &Path, click: &Path) -> Result<Image, SmokeError> {
    let init = image::binaries::locate("coo-guest-init", "COO_BENCH_GUEST_INIT")
        .map_err(|e| SmokeError::Unavailable(format!("{e} (cargo build -p vmdriver)")))?;
    let opts = BuildOptions {
        cache_root: image::cache_root(),
        kernel_package: std::env::var("COO_BENCH_GUEST_KERNEL_PKG").ok(),
        init,
        agent: agent.to_path_buf(),
        click: click.to_path_buf(),
        extra_bins: Vec::new(),
        gzip: false,
    };
    image::build(&opts).map_err(|e| match e {
        ImageError::Tool { .. } => SmokeError::Unavailable(format!("kernel package: {e}")),
        other => SmokeError::Failed(format!("image build: {other}")),
    })
}

/// Runs the smoke test with the given agent and coo-click binaries.
pub fn run(agent: &Path, click: &Path, ready_timeout: Duration) -> Result<SmokeReport, SmokeError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(SmokeError::Unavailable("needs root".into()));
    }
    if !accel::qemu_binary().exists() {
        return Err(SmokeError::Unavailable(format!(
            "no {} (coo-bench doctor --fix)",
            accel::qemu_binary().display()
        )));
    }
    let driver = LibvirtDriver::connect(DEFAULT_URI).map_err(|e| {
        SmokeError::Unavailable(format!("libvirt unreachable: {e} (scripts/vm-setup.sh)"))
    })?;
    let img = build_image(agent, click)?;
    // KVM only when a guest really boots under it (cached per host and image).
    let probe = accel::detect(
        &ProbeGuest {
            kernel: img.vmlinuz.clone(),
            initrd: Some(img.initramfs.clone()),
        },
        &image::cache_root().join("accel.json"),
        Duration::from_secs(8),
    );

    let p = test_prefix();
    let mut g = Guard {
        prefix: p.clone(),
        driver: &driver,
        netns: format!("{p}n"),
        links: Vec::new(),
    };
    let mgmt_br = format!("{p}m");
    let data_br = [format!("{p}d1"), format!("{p}d2")];
    let (veth_br, veth_ns) = (format!("{p}v0"), format!("{p}v1"));
    ip(&["netns", "add", &g.netns])?;
    for br in std::iter::once(&mgmt_br).chain(data_br.iter()) {
        g.links.push(br.clone());
        ip(&["link", "add", br, "type", "bridge"])?;
        ip(&["link", "set", br, "up"])?;
    }
    g.links.push(veth_br.clone());
    ip(&["link", "add", &veth_br, "type", "veth", "peer", "name", &veth_ns])?;
    ip(&["link", "set", &veth_br, "master", &mgmt_br, "up"])?;
    ip(&["link", "set", &veth_ns, "netns", &g.netns])?;
    let ns = g.netns.clone();
    let ns_ip = |args: &[&str]| {
        let mut v = vec!["-n", ns.as_str()];
        v.extend_from_slice(args);
        ip(&v)
    };
    // Management namespace: 198.19.0.1/16, no default route; the host has no address here.
    ns_ip(&["addr", "add", "198.19.0.1/16", "dev", &veth_ns])?;
    ns_ip(&["link", "set", &veth_ns, "up"])?;
    ns_ip(&["link", "set", "lo", "up"])?;

    let run_dir = std::env::temp_dir().join(format!("coo-bench-{p}"));
    let spec = VnfVmSpec {
        prefix: p.clone(),
        vnf_id: "vnf1".into(),
        index: 1,
        memory_mib: 256,
        vcpus: 1,
        mgmt_bridge: mgmt_br.clone(),
        mgmt_addr: (Ipv4Addr::new(198, 19, 255, 10), 16),
        mgmt_mac: None,
        data: data_br
            .iter()
            .map(|b| (b.clone(), MacAddr::derived(b.as_bytes())))
            .collect(),
        engine: "coo-click".into(),
        run_dir: run_dir.clone(),
    };
    let fail = |m: String| SmokeError::Failed(m);
    let started = Instant::now();
    let mut vm = start_vnf(&driver, &img, probe.accel, &spec).map_err(|e| fail(e.to_string()))?;
    let listed = driver.list(&p).map_err(|e| fail(e.to_string()))?;
    if listed.len() != 1 {
        return Err(fail(format!("expected 1 domain with prefix {p}, got {listed:?}")));
    }
    for tap in &vm.taps {
        if !link_exists(tap) {
            return Err(fail(format!("tap {tap} missing")));
        }
    }
    let netns_path = PathBuf::from(format!("/run/netns/{}", g.netns));
    let ready = wait_ready(&mut vm, &netns_path, started, ready_timeout);
    let console = std::fs::read_to_string(&vm.console_log).unwrap_or_default();
    let boot_to_ready = ready.map_err(|e| fail(format!("{e}\nconsole:\n{console}")))?;
    let ep = vm.endpoint;
    let (code, version_body) = in_netns(Some(&netns_path), move || {
        http_get(ep, "/click_plugin/version", Duration::from_secs(5))
    })
    .map_err(|e| fail(e.to_string()))?
    .map_err(fail)?;
    if code != 200 {
        return Err(fail(format!("/click_plugin/version: HTTP {code}: {version_body}")));
    }
    // Give the console a moment to flush the ready marker line.
    std::thread::sleep(Duration::from_millis(200));
    let console = std::fs::read_to_string(&vm.console_log).unwrap_or_default();
    let guest_uptime_at_ready = console
        .lines()
        .find(|l| l.contains(READY_MARKER))
        .and_then(|l| l.split("uptime=").nth(1))
        .and_then(|v| v.trim().parse().ok());

    drop(g);
    let left = driver.list(&p).map_err(|e| fail(e.to_string()))?;
    if !left.is_empty() {
        return Err(fail(format!("domains left behind: {left:?}")));
    }
    for l in vm
        .taps
        .iter()
        .chain([&mgmt_br, &veth_br])
        .chain(data_br.iter())
    {
        if link_exists(l) {
            return Err(fail(format!("{l} left behind")));
        }
    }
    let _ = std::fs::remove_dir_all(&run_dir);
    if probe.accel == Accel::Tcg && console.contains("KVM internal error") {
        return Err(fail("KVM error on a TCG guest?".into()));
    }
    Ok(SmokeReport {
        accel: probe,
        boot_to_ready,
        guest_uptime_at_ready,
        version_body,
        console,
        image_dir: img.dir.clone(),
    })
}
