//! `coo-bench doctor` and `coo-bench image build` as a user runs them.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn coo_bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_coo-bench"))
}

#[test]
fn doctor_json_reports_every_check_and_exit_code_matches() {
    let out = coo_bench()
        .args(["doctor", "--json", "--no-kvm-probe"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in [
        "root",
        "netns",
        "bridges",
        "br_netfilter",
        "tc",
        "qemu",
        "libvirt",
        "guest-image",
        "kvm",
    ] {
        assert!(names.contains(&n), "missing check {n} in {names:?}");
    }
    let ok = report["ok"].as_bool().unwrap();
    assert_eq!(out.status.code(), Some(if ok { 0 } else { 1 }));
    // Needed failures carry a fix hint.
    for c in report["checks"].as_array().unwrap() {
        if c["needed"] == true && c["status"] == "fail" {
            assert!(
                c["fix"].is_string() || c["name"] == "netns",
                "no fix for {c}"
            );
        }
    }
}

#[test]
fn image_build_print_path_is_cached() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root (writes /var/cache/coo-bench)");
        return;
    }
    let run = || {
        coo_bench()
            .args(["image", "build", "--print-path"])
            .output()
            .unwrap()
    };
    let first = run();
    if !first.status.success() {
        let err = String::from_utf8_lossy(&first.stderr);
        if err.contains("not found") || err.contains("apt-") || err.contains("dpkg-deb") {
            eprintln!("skipped: {}", err.trim());
            return;
        }
        panic!("image build failed: {err}");
    }
    let dir = String::from_utf8_lossy(&first.stdout).trim().to_string();
    let dir = std::path::Path::new(&dir);
    assert!(dir.join("vmlinuz").is_file());
    assert!(dir.join("initramfs.img").is_file());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let modules: Vec<&str> = manifest["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let pos = |m: &str| modules.iter().position(|x| *x == m).unwrap();
    assert!(pos("virtio_ring") < pos("virtio_pci") && pos("virtio_pci") < pos("virtio_net"));
    assert!(pos("net_failover") < pos("virtio_net"));
    // Same inputs, same image (no rebuild).
    let second = run();
    assert!(second.status.success());
    assert_eq!(
        String::from_utf8_lossy(&second.stdout).trim(),
        dir.to_string_lossy()
    );
}
