//! Orchestration flows over the recording fake driver (no root, no libvirt): a PyCOO-like
//! 3-VNF chain, rollback after a failed start, and `clean` touching only our domains.

#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

use vmdriver::accel::Accel;
use vmdriver::driver::{clean_leftovers, destroy_all};
use vmdriver::fake::{Call, RecordingVmDriver};
use vmdriver::image::{Image, Manifest};
use vmdriver::vnf::{start_vnf, VnfVmSpec};
use vmdriver::xml::{BootSpec, DomainSpec};
use vmdriver::{MacAddr, VmDriver};

fn image() -> Image {
    Image {
        dir: "/var/cache/coo-bench/images/h".into(),
        vmlinuz: "/var/cache/coo-bench/images/h/vmlinuz".into(),
        boot_kernel: "/var/cache/coo-bench/images/h/vmlinuz".into(),
        initramfs: "/var/cache/coo-bench/images/h/initramfs.img".into(),
        manifest: Manifest {
            format: "coo-guest-image-v1".into(),
            hash: "h".into(),
            kernel_package: "linux-image-x-cloud-amd64".into(),
            kernel_release: "x-cloud-amd64".into(),
            modules: vec![],
            files: vec![],
            initramfs_bytes: 0,
        },
        built_now: false,
    }
}

/// PyCOO example: IP → x → y → z → OP; links l0..l3.
fn chain(run_dir: &std::path::Path) -> Vec<VnfVmSpec> {
    ["x", "y", "z"]
        .iter()
        .enumerate()
        .map(|(i, id)| VnfVmSpec {
            cpu_model: None,
            console_dir: None,
            prefix: "cb00aa".into(),
            vnf_id: (*id).into(),
            index: i,
            memory_mib: 512,
            vcpus: 1,
            mgmt_bridge: "cb00aa-mgmt".into(),
            mgmt_addr: (Ipv4Addr::new(198, 19, 255, 10 + i as u8), 16),
            mgmt_dhcp: false,
            precreated_taps: false,
            mgmt_mac: None,
            data: vec![
                (
                    format!("cb00aa-l{i}"),
                    MacAddr([0x52, 0x54, 0, 0, i as u8, 0]),
                ),
                (
                    format!("cb00aa-l{}", i + 1),
                    MacAddr([0x52, 0x54, 0, 0, i as u8, 1]),
                ),
            ],
            engine: "coo-click".into(),
            run_dir: run_dir.to_path_buf(),
            token_sha256: None,
            disk: None,
        })
        .collect()
}

#[test]
fn three_vnf_chain_up_and_down() {
    let fake = RecordingVmDriver::new();
    let dir = tempfile::tempdir().unwrap();
    let img = image();
    let vms: Vec<_> = chain(dir.path())
        .iter()
        .map(|s| start_vnf(&fake, &img, Accel::Tcg, s).unwrap())
        .collect();
    assert_eq!(fake.domains(), ["cb00aa-x", "cb00aa-y", "cb00aa-z"]);
    let endpoints: Vec<String> = vms.iter().map(|v| v.endpoint.to_string()).collect();
    assert_eq!(
        endpoints,
        [
            "198.19.255.10:8000",
            "198.19.255.11:8000",
            "198.19.255.12:8000"
        ]
    );
    // y sits between l1 and l2, in that order, after its management NIC.
    let y_xml = fake
        .calls()
        .into_iter()
        .find_map(|c| match c {
            Call::Start { name, xml } if name == "cb00aa-y" => Some(xml),
            _ => None,
        })
        .unwrap();
    let m = y_xml.find("cb00aa-mgmt").unwrap();
    let l1 = y_xml.find("cb00aa-l1").unwrap();
    let l2 = y_xml.find("cb00aa-l2").unwrap();
    assert!(m < l1 && l1 < l2);
    // Every tap name is unique and fits IFNAMSIZ.
    let mut taps: Vec<&String> = vms.iter().flat_map(|v| &v.taps).collect();
    assert!(taps.iter().all(|t| t.len() <= 15));
    taps.sort();
    taps.dedup();
    assert_eq!(taps.len(), 9);
    let gone = destroy_all(&fake, "cb00aa").unwrap();
    assert_eq!(gone.len(), 3);
    assert!(fake.domains().is_empty());
}

#[test]
fn failed_start_rolls_back_the_started_ones() {
    let fake = RecordingVmDriver::new();
    fake.fail_start_of("cb00aa-y");
    let dir = tempfile::tempdir().unwrap();
    let img = image();
    let mut started = Vec::new();
    let mut error = None;
    for s in chain(dir.path()) {
        match start_vnf(&fake, &img, Accel::Tcg, &s) {
            Ok(vm) => started.push(vm),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    assert!(error.unwrap().to_string().contains("injected failure"));
    assert_eq!(started.len(), 1);
    // Rollback in reverse order.
    for vm in started.iter().rev() {
        fake.destroy(&vm.domain).unwrap();
    }
    assert!(fake.domains().is_empty());
    assert!(matches!(
        fake.calls().last(),
        Some(Call::Destroy { name }) if name == "cb00aa-x"
    ));
}

#[test]
fn clean_only_touches_coo_bench_domains() {
    let fake = RecordingVmDriver::new();
    let dir = tempfile::tempdir().unwrap();
    let spec = |name: &str| DomainSpec {
        cpu: None,
        name: name.into(),
        accel: Accel::Tcg,
        memory_mib: 64,
        vcpus: 1,
        boot: BootSpec::Disk {
            path: "/x.qcow2".into(),
            format: "qcow2".into(),
        },
        nics: vec![],
        console_log: dir.path().join(format!("{name}.log")),
        emulator: "/usr/bin/qemu-system-x86_64".into(),
    };
    for n in ["cb12ab-x", "cbt00ff-y", "cbuild-server", "webserver"] {
        fake.start(&spec(n)).unwrap();
    }
    let mut gone = clean_leftovers(&fake).unwrap();
    gone.sort();
    assert_eq!(gone, ["cb12ab-x", "cbt00ff-y"]);
    assert_eq!(fake.domains(), ["cbuild-server", "webserver"]);
}
