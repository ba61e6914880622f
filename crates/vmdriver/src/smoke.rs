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
use crate::dhcp::DhcpServer;
use crate::driver::{destroy_all, VmDriver};
use crate::guest::READY_MARKER;
use crate::image::{self, BuildOptions, Image, ImageError};
use crate::libvirt::{LibvirtDriver, DEFAULT_URI};
use crate::ready::http_get;
use crate::vnf::{mgmt_mac_of, start_vnf, tap_name, wait_ready, VnfVmSpec};
use netwire::MacAddr;

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
    /// From the first domain create call to the last agent answering.
    pub boot_to_ready: Duration,
    /// Per VM, from its own create call to its agent answering.
    pub per_vm_ready: Vec<Duration>,
    /// How long libvirt's domain create calls took in total (part of boot_to_ready).
    pub create_call: Duration,
    /// Guest uptime (s) printed with the console ready marker (first VM).
    pub guest_uptime_at_ready: Option<f64>,
    pub version_body: String,
    /// DHCP leases acknowledged (DHCP mode only).
    pub dhcp_acked: Vec<(MacAddr, Ipv4Addr)>,
    /// Console of the first VM.
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
    /// Switch namespace (deleting it deletes the bridges and taps inside).
    switch: Option<String>,
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
        if let Some(sw) = &self.switch {
            let _ = ip(&["netns", "del", sw]);
        }
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

/// Shape of a smoke run.
#[derive(Debug, Clone)]
pub struct ChainOptions {
    /// Number of VMs, chained like PyCOO's example (VM i between data bridges i and i+1).
    pub vms: usize,
    pub ready_timeout: Duration,
    /// Management addresses from a DHCP server in the management namespace.
    pub mgmt_dhcp: bool,
    /// Bridges live in a switch namespace (as the netns testbed builds them); taps are
    /// pre-created, opened by libvirt unmanaged, then moved there and enslaved.
    pub switch_netns: bool,
}

impl ChainOptions {
    pub fn single() -> Self {
        ChainOptions {
            vms: 1,
            ready_timeout: Duration::from_secs(90),
            mgmt_dhcp: false,
            switch_netns: false,
        }
    }
}

/// Runs the smoke test with the given agent and coo-click binaries: one VM, static address.
pub fn run(agent: &Path, click: &Path, ready_timeout: Duration) -> Result<SmokeReport, SmokeError> {
    run_chain(
        agent,
        click,
        &ChainOptions {
            ready_timeout,
            ..ChainOptions::single()
        },
    )
}

/// Smoke runs in one process take turns: parallel TCG guests on a 2-core host would only
/// slow each other down past their timeouts.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Why this host cannot run VMs, if it cannot: not root, libvirtd not running, no QEMU.
/// Tests print it and skip.
pub fn host_missing() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root".into());
    }
    if !Path::new(crate::libvirt::SOCKET).exists() {
        return Some(format!(
            "libvirt not running ({} absent; bash scripts/vm-setup.sh)",
            crate::libvirt::SOCKET
        ));
    }
    if !accel::qemu_binary().exists() {
        return Some(format!(
            "no {} (coo-bench doctor --fix)",
            accel::qemu_binary().display()
        ));
    }
    None
}

/// Runs the smoke test in the shape `o` describes; all VMs boot at once.
pub fn run_chain(agent: &Path, click: &Path, o: &ChainOptions) -> Result<SmokeReport, SmokeError> {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (n, ready_timeout, mgmt_dhcp) = (o.vms, o.ready_timeout, o.mgmt_dhcp);
    if let Some(why) = host_missing() {
        return Err(SmokeError::Unavailable(why));
    }
    let driver = LibvirtDriver::connect(DEFAULT_URI).map_err(|e| {
        SmokeError::Unavailable(format!("libvirt unreachable: {e} (scripts/vm-setup.sh)"))
    })?;
    let img = build_image(agent, click)?;
    // KVM only when a guest really boots under it (cached per host and image).
    let probe = accel::detect(
        &ProbeGuest {
            kernel: img.boot_kernel.clone(),
            initrd: Some(img.initramfs.clone()),
        },
        &image::cache_root().join("accel.json"),
        Duration::from_secs(8),
    );
    let fail = |m: String| SmokeError::Failed(m);

    let p = test_prefix();
    let mut g = Guard {
        prefix: p.clone(),
        driver: &driver,
        netns: format!("{p}n"),
        switch: o.switch_netns.then(|| format!("{p}w")),
        links: Vec::new(),
    };
    let mgmt_br = format!("{p}m");
    let data_br: Vec<String> = (0..=n).map(|i| format!("{p}d{i}")).collect();
    let (veth_br, veth_ns) = (format!("{p}v0"), format!("{p}v1"));
    ip(&["netns", "add", &g.netns])?;
    if let Some(sw) = &g.switch {
        ip(&["netns", "add", sw])?;
    }
    // `ip` in the switch namespace when there is one, else in the host namespace.
    let sw = g.switch.clone();
    let sw_ip = |args: &[&str]| match &sw {
        Some(ns) => {
            let mut v = vec!["-n", ns.as_str()];
            v.extend_from_slice(args);
            ip(&v)
        }
        None => ip(args),
    };
    for br in std::iter::once(&mgmt_br).chain(data_br.iter()) {
        g.links.push(br.clone());
        sw_ip(&["link", "add", br, "type", "bridge"])?;
        sw_ip(&["link", "set", br, "up"])?;
    }
    g.links.push(veth_br.clone());
    ip(&[
        "link", "add", &veth_br, "type", "veth", "peer", "name", &veth_ns,
    ])?;
    if let Some(s) = &g.switch {
        ip(&["link", "set", &veth_br, "netns", s])?;
    }
    sw_ip(&["link", "set", &veth_br, "master", &mgmt_br, "up"])?;
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
    let specs: Vec<VnfVmSpec> = (0..n)
        .map(|i| VnfVmSpec {
            cpu_model: None,
            console_dir: None,
            prefix: p.clone(),
            vnf_id: format!("vnf{i}"),
            index: i,
            memory_mib: 256,
            vcpus: 1,
            mgmt_bridge: mgmt_br.clone(),
            mgmt_addr: (Ipv4Addr::new(198, 19, 255, 10 + i as u8), 16),
            mgmt_dhcp,
            precreated_taps: o.switch_netns,
            mgmt_mac: None,
            data: data_br[i..=i + 1]
                .iter()
                .map(|b| {
                    (
                        b.clone(),
                        crate::mac::derived(format!("{b}/{i}").as_bytes()),
                    )
                })
                .collect(),
            engine: "coo-click".into(),
            run_dir: run_dir.clone(),
            token_sha256: None,
            disk: None,
        })
        .collect();
    let netns_path = PathBuf::from(format!("/run/netns/{}", g.netns));
    let dhcp = if mgmt_dhcp {
        let table = specs
            .iter()
            .map(|s| (mgmt_mac_of(s), s.mgmt_addr.0))
            .collect();
        Some(
            DhcpServer::start(
                &netns_path,
                &veth_ns,
                Ipv4Addr::new(198, 19, 0, 1),
                16,
                table,
            )
            .map_err(|e| fail(format!("DHCP server: {e}")))?,
        )
    } else {
        None
    };
    let started = Instant::now();
    let mut vms = Vec::new();
    let mut create_call = Duration::ZERO;
    for spec in &specs {
        let taps: Vec<String> = (0..=spec.data.len()).map(|i| tap_name(spec, i)).collect();
        if o.switch_netns {
            for tap in &taps {
                g.links.push(tap.clone());
                ip(&["tuntap", "add", "dev", tap, "mode", "tap"])?;
            }
        }
        let t = Instant::now();
        let vm = start_vnf(&driver, &img, probe.accel, spec).map_err(|e| fail(e.to_string()))?;
        create_call += t.elapsed();
        if let Some(s) = &g.switch {
            // QEMU holds the tap's fd; the device itself may change namespace.
            let bridges =
                std::iter::once(&spec.mgmt_bridge).chain(spec.data.iter().map(|(b, _)| b));
            for (tap, br) in taps.iter().zip(bridges) {
                ip(&["link", "set", tap, "netns", s])?;
                sw_ip(&["link", "set", tap, "master", br, "up"])?;
            }
        }
        vms.push((t, vm));
    }
    let listed = driver.list(&p).map_err(|e| fail(e.to_string()))?;
    if listed.len() != n {
        return Err(fail(format!(
            "expected {n} domains with prefix {p}, got {listed:?}"
        )));
    }
    if !o.switch_netns {
        for (_, vm) in &vms {
            for tap in &vm.taps {
                if !link_exists(tap) {
                    return Err(fail(format!("tap {tap} missing")));
                }
            }
        }
    }
    // Wait for all agents at once: the guests boot in parallel.
    let waits: Vec<_> = vms
        .iter()
        .map(|(t, vm)| {
            let (mut vm, t, ns) = (vm.clone(), *t, netns_path.clone());
            std::thread::spawn(move || wait_ready(&mut vm, &ns, t, ready_timeout))
        })
        .collect();
    let mut per_vm_ready = Vec::new();
    for (w, (_, vm)) in waits.into_iter().zip(&vms) {
        let r = w.join().map_err(|_| fail("ready thread panicked".into()))?;
        let console = std::fs::read_to_string(&vm.console_log).unwrap_or_default();
        per_vm_ready.push(r.map_err(|e| fail(format!("{}: {e}\nconsole:\n{console}", vm.domain)))?);
    }
    let boot_to_ready = started.elapsed();
    let ep = vms[0].1.endpoint;
    let (code, version_body) = netsys::netns::run_in(Some(&netns_path), move || {
        http_get(ep, "/click_plugin/version", Duration::from_secs(5))
    })
    .map_err(|e| fail(e.to_string()))?
    .map_err(fail)?;
    if code != 200 {
        return Err(fail(format!(
            "/click_plugin/version: HTTP {code}: {version_body}"
        )));
    }
    // Give the console a moment to flush the ready marker line.
    std::thread::sleep(Duration::from_millis(200));
    let console = std::fs::read_to_string(&vms[0].1.console_log).unwrap_or_default();
    let guest_uptime_at_ready = console
        .lines()
        .find(|l| l.contains(READY_MARKER))
        .and_then(|l| l.split("uptime=").nth(1))
        .and_then(|v| v.trim().parse().ok());
    if !console.contains("data interfaces: eth") {
        return Err(fail(format!(
            "guest did not find its data NICs:\n{console}"
        )));
    }

    let dhcp_acked = dhcp.as_ref().map(|d| d.acked()).unwrap_or_default();
    if mgmt_dhcp && dhcp_acked.len() < n {
        return Err(fail(format!(
            "{n} guests answered but DHCP ACKs were {dhcp_acked:?}\n{console}"
        )));
    }
    drop(dhcp);
    drop(g);
    let left = driver.list(&p).map_err(|e| fail(e.to_string()))?;
    if !left.is_empty() {
        return Err(fail(format!("domains left behind: {left:?}")));
    }
    for l in vms
        .iter()
        .flat_map(|(_, vm)| vm.taps.iter())
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
        per_vm_ready,
        create_call,
        guest_uptime_at_ready,
        version_body,
        dhcp_acked,
        console,
        image_dir: img.dir.clone(),
    })
}
