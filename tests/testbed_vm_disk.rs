//! Root + libvirt + QEMU: "bring your own image". Our guest packaged as a disk image
//! (`image build --disk`: syslinux on FAT, management address by DHCP, NICs by PCI order)
//! stands in for PyCOO's click-on-osv.qcow2. `up --driver vm` of IP → x → y → OP1 with y
//! naming that image: y boots a qcow2 overlay in the run directory, gets its management
//! address from the testbed's DHCP server, is managed through the COO API only, forwards
//! frames; `down` leaves nothing (domains, taps, namespaces, overlay) and the image unchanged.
//! `coo-bench run --driver vm --quick` of IP → y → OP1 with y on that image measures a
//! COO-only VNF end to end. Skips with a printed reason when a piece is missing
//! (`coo-bench doctor --fix`).
#![allow(clippy::unwrap_used)]

mod testbed_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use testbed_support::*;
use vmdriver::VmDriver;

use testbed_support::vm_client as client;

/// Why this host cannot run the test, if it cannot.
fn missing_piece() -> Option<String> {
    if let Some(why) = vmdriver::smoke::host_missing() {
        return Some(why);
    }
    let missing = vmdriver::image::disk::missing_tools();
    if !missing.is_empty() {
        return Some(format!("missing {missing:?} (coo-bench doctor --fix)"));
    }
    if let Err(e) = vmdriver::image::binaries::locate("coo-guest-init", "COO_BENCH_GUEST_INIT") {
        return Some(format!(
            "{e} (cargo build -p vmdriver --bin coo-guest-init)"
        ));
    }
    None
}

/// IP → x (our kernel-boot guest) → y (the disk image) → OP1. y forwards one way only (port 0
/// → port 1), so frames reach the sink only if its NICs were taken in the topology's order.
fn topology_file(dir: &Path, image: &Path) -> PathBuf {
    let forward = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/functions/forward.click");
    let one_way = dir.join("one-way.click");
    std::fs::write(
        &one_way,
        "FromDPDKDevice(0) -> ToDPDKDevice(1);\nFromDPDKDevice(1) -> Discard;\n",
    )
    .unwrap();
    let topo = serde_json::json!({
        "id": "byo-disk",
        "vnfs": [
            { "id": "x", "function": forward, "memory_mib": 300, "vcpus": 1 },
            { "id": "y", "function": one_way, "memory_mib": 300, "vcpus": 1,
              "image": image, "management_mac": "52:54:01:6c:22:42" }
        ],
        "incoming": { "id": "IP", "link": "br0" },
        "outgoing": [{ "id": "OP1", "link": "br2" }],
        "connections": [
            { "from": "IP", "to": "x" },
            { "from": "x", "to": "y", "link": "br1" },
            { "from": "y", "to": "OP1" }
        ]
    });
    let p = dir.join("byo-disk.json");
    std::fs::write(&p, serde_json::to_string_pretty(&topo).unwrap()).unwrap();
    p
}

/// The tests of this binary take turns: each boots VMs under TCG on a shared host.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

const AGENT: &str = env!("CARGO_BIN_EXE_coo-vnf");
const CLICK: &str = env!("CARGO_BIN_EXE_coo-click");

/// Our guest as a disk image (built or cached), or why this host cannot run these tests.
/// Call with the turn held.
fn disk_image() -> Result<PathBuf, String> {
    if let Some(why) = missing_piece() {
        return Err(why);
    }
    static ENV: std::sync::Once = std::sync::Once::new();
    // SAFETY (edition 2021: safe fn): set once, with the turn held, before any VM is built.
    ENV.call_once(|| {
        std::env::set_var("COO_BENCH_COO_VNF", AGENT);
        std::env::set_var("COO_BENCH_COO_CLICK", CLICK);
    });
    let img = match vmdriver::smoke::build_image(Path::new(AGENT), Path::new(CLICK)) {
        Ok(i) => i,
        Err(vmdriver::smoke::SmokeError::Unavailable(why)) => return Err(why),
        Err(e) => panic!("{e}"),
    };
    let t = Instant::now();
    let disk = vmdriver::image::disk::build_disk(&img).unwrap();
    eprintln!(
        "disk image {} ({} KiB) in {:.1} s",
        disk.display(),
        std::fs::metadata(&disk).unwrap().len() / 1024,
        t.elapsed().as_secs_f64()
    );
    Ok(disk)
}

/// The disk image, or `None` after printing why this host cannot run the test.
fn disk_image_or_skip() -> Option<PathBuf> {
    disk_image().map_err(|why| eprintln!("skipped: {why}")).ok()
}

#[test]
fn disk_image_vnf_dhcp_coo_api_traffic_down() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let Some(disk) = disk_image_or_skip() else {
        return;
    };
    let base_bytes = std::fs::read(&disk).unwrap();
    let base_mtime = std::fs::metadata(&disk).unwrap().modified().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let topo = topology::load(&topology_file(dir.path(), &disk)).unwrap_or_else(|e| panic!("{e}"));
    let root = tempfile::tempdir().unwrap();
    let (up, up_time) = up_vm(&topo, root.path());
    let tb = &up.tb;
    let (x, y) = (
        tb.vnf("x").unwrap().vm.as_ref().unwrap(),
        tb.vnf("y").unwrap().vm.as_ref().unwrap(),
    );
    eprintln!(
        "up --driver vm: {:.1} s; boot-to-ready x (kernel boot) {:?} ms, y (disk image) {:?} ms; accelerator {}",
        up_time.as_secs_f64(),
        x.boot_to_ready_ms,
        y.boot_to_ready_ms,
        tb.accelerator.as_deref().unwrap_or("?")
    );
    assert!(x.disk.is_none());
    let yd = y.disk.as_ref().unwrap();
    assert_eq!(y.mgmt_mac, "52:54:01:6c:22:42");

    // The DHCP server acknowledged y's management MAC with its planned address, and the
    // guest says it took it by DHCP.
    assert_eq!(yd.dhcp_ack, Some(y.mgmt_ip.addr), "no DHCP ACK recorded");
    let console = std::fs::read_to_string(&y.console_log).unwrap();
    assert!(
        console.contains(&format!("= {}/16 (DHCP)", y.mgmt_ip.addr)),
        "{console}"
    );
    assert!(
        console.contains("SYSLINUX"),
        "not booted from the disk: {console}"
    );

    // The overlay lives in the run directory, backed by the image (never a copy).
    assert!(yd.overlay.starts_with(root.path().join(&tb.run_id)));
    assert_eq!(
        vmdriver::disk::backing_of(&yd.overlay).unwrap(),
        Some(std::fs::canonicalize(&disk).unwrap())
    );
    assert!(std::fs::metadata(&yd.overlay).unwrap().len() < base_bytes.len() as u64);

    // y is managed through the COO API: version, the pushed function via read_file.
    let function = std::fs::read_to_string(&tb.vnf("y").unwrap().function).unwrap();
    rt().block_on(async {
        let c = client(tb, "y");
        assert!(!c.version().await.unwrap().is_empty());
        assert_eq!(c.read_file().await.unwrap(), function);
        assert!(!c.running().await.unwrap());
    });

    // Engines stopped: nothing crosses. Started (x as usual, y by COO start): frames cross.
    let leaked = send_frame_through_chain(
        tb,
        tcp_frame(tb, b"coo-bench-byo-idle"),
        b"coo-bench-byo-idle",
        3,
        Duration::from_millis(500),
    );
    assert_eq!(leaked, 0, "frames crossed with no engine running");
    rt().block_on(async {
        let cx = client(tb, "x");
        cx.set_engine("coo-click").await.unwrap();
        cx.start().await.unwrap();
        client(tb, "y").start().await.unwrap();
    });
    let marker = format!("coo-bench-byo-{}", tb.prefix);
    let got = send_frame_through_chain(
        tb,
        tcp_frame(tb, marker.as_bytes()),
        marker.as_bytes(),
        5,
        Duration::from_secs(8),
    );
    eprintln!("{got}/5 frames source → x → y (disk image) → sink");
    assert!(got >= 1, "no frame crossed x → y");
    rt().block_on(async {
        assert!(client(tb, "y").running().await.unwrap());
    });

    // down: zero residue, image untouched.
    let (run_id, prefix, overlay) = (tb.run_id.clone(), tb.prefix.clone(), yd.overlay.clone());
    let taps: Vec<String> = tb
        .vnfs
        .iter()
        .flat_map(|v| v.vm.as_ref().unwrap().taps.iter().map(|t| t.to_string()))
        .collect();
    testbed::down_in(root.path(), &run_id).unwrap();
    std::mem::forget(up);
    let lv = vmdriver::libvirt::LibvirtDriver::connect(vmdriver::libvirt::DEFAULT_URI).unwrap();
    assert!(lv.list(&format!("{prefix}-")).unwrap().is_empty());
    assert!(netns_with_prefix(&prefix).is_empty());
    for t in &taps {
        assert!(
            !Path::new("/sys/class/net").join(t).exists(),
            "tap {t} left"
        );
    }
    assert!(!overlay.exists(), "overlay left");
    assert!(!root.path().join(&run_id).exists());
    assert_eq!(
        std::fs::metadata(&disk).unwrap().modified().unwrap(),
        base_mtime
    );
    assert!(std::fs::read(&disk).unwrap() == base_bytes, "image changed");
}

/// IP → y → OP1, y on the disk image, small rates (TCG).
fn run_topology_file(dir: &Path, image: &Path) -> PathBuf {
    let forward = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/functions/forward.click");
    let topo = serde_json::json!({
        "id": "byo-run",
        "vnfs": [
            { "id": "y", "function": forward, "memory_mib": 300, "vcpus": 1,
              "image": image, "management_mac": "52:54:01:6c:22:43" }
        ],
        "incoming": { "id": "IP", "link": "br0" },
        "outgoing": [{ "id": "OP1", "link": "br1" }],
        "connections": [
            { "from": "IP", "to": "y" },
            { "from": "y", "to": "OP1" }
        ],
        "benchmark": { "mode": "ndr", "min_rate_pps": 100,
                       "max_rate_pps": 2000 }
    });
    let p = dir.join("byo-run.json");
    std::fs::write(&p, serde_json::to_string_pretty(&topo).unwrap()).unwrap();
    p
}

/// `coo-bench run --driver vm --quick --no-baseline` with a COO-only VNF: the variant
/// measured (at the topology's maximum rate, so exit 1 naming it) with a note naming y, an NDR > 0 that a passing trial at that rate
/// backs, and nothing left (domain, namespaces, taps, run directory).
#[test]
fn run_cli_measures_a_coo_only_vnf() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let Some(disk) = disk_image_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let topo = run_topology_file(dir.path(), &disk);
    let root = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    let t = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coo-bench"))
        .arg("run")
        .arg(&topo)
        .args(["--driver", "vm", "--quick", "--no-baseline"])
        .args(["--latency-stream-pps", "100", "--out"])
        .arg(&out_dir)
        .env("COO_BENCH_RUN_DIR", root.path())
        .env("COO_BENCH_COO_VNF", AGENT)
        .env("COO_BENCH_COO_CLICK", CLICK)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "run --driver vm --quick: {:.1} s\nstdout:\n{stdout}\nstderr:\n{stderr}",
        t.elapsed().as_secs_f64()
    );
    // The topology caps the rate far below what the VM forwards: the result is at-max-rate,
    // which `run` reports and refuses to pass as a measurement of the chain (exit 1).
    assert_eq!(out.status.code(), Some(1), "coo-bench run: {stderr}");
    assert!(
        stderr.contains("variant default at 64 B: NDR is at-max-rate")
            || stderr.contains("variant default at 64 B: NDR is generator-limited"),
        "{stderr}"
    );

    // Zero residue: the run id printed at teardown gives the prefix of every object.
    let run_id = stderr
        .lines()
        .find_map(|l| l.strip_prefix("testbed ")?.split_once(" removed"))
        .map(|(id, _)| id.to_owned())
        .unwrap_or_else(|| panic!("no teardown line: {stderr}"));
    let prefix = format!("cb{}", run_id.rsplit('-').next().unwrap());
    let lv = vmdriver::libvirt::LibvirtDriver::connect(vmdriver::libvirt::DEFAULT_URI).unwrap();
    assert!(
        lv.list(&format!("{prefix}-")).unwrap().is_empty(),
        "domain left"
    );
    assert!(netns_with_prefix(&prefix).is_empty(), "namespace left");
    let links: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    assert!(links.is_empty(), "links left: {links:?}");
    assert!(!root.path().join(&run_id).exists(), "run directory left");

    let run_dir = std::fs::read_dir(&out_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let report =
        measure::Report::from_json(&std::fs::read_to_string(run_dir.join("report.json")).unwrap())
            .unwrap();
    assert!(
        report.host.driver.starts_with("vm"),
        "{}",
        report.host.driver
    );
    let names: Vec<&str> = report.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        ["ceiling", "default"],
        "the ceiling and the default variant"
    );
    let v = report.variant("default").unwrap();
    assert_eq!(
        v.status,
        measure::report::VariantStatus::Measured,
        "{:?}",
        v.notes
    );
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("VNF y boots its own image (COO API only)")),
        "{:?}",
        v.notes
    );
    let rep = &v.results[0].repetitions[0];
    let ndr = rep.ndr.as_ref().unwrap();
    let rate = ndr.rate_pps.unwrap_or(0.0);
    eprintln!("NDR {rate} pps (flags {:?})", ndr.flags);
    assert!(rate > 0.0, "{ndr:?}");
    // A full-duration, sound trial at the NDR rate that lost no more than the threshold.
    let backing = rep.trials.iter().find(|t| {
        t.requested_rate_pps == rate
            && t.requested_duration_s >= report.settings.search.final_duration_s
            && t.is_valid()
            && t.received > 0
            && t.loss_pct() <= ndr.loss_threshold_pct
    });
    assert!(
        backing.is_some(),
        "no passing trial at {rate} pps: {:?}",
        rep.trials
    );
}
