//! Accelerator probe: KVM only when a guest really boots under it, else TCG.
//!
//! `/dev/kvm` opening is not enough on nested hosts (PVM): guests there die with an emulation
//! failure or hang in early boot. So the probe boots our guest kernel with QEMU directly, briefly,
//! and looks for a marker on the serial console.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::guest::{FAST_BOOT, PROBE_MARKER};

/// The accelerator a domain runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    /// libvirt domain type.
    pub fn libvirt_type(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "qemu",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

impl std::fmt::Display for Accel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result of a probe (recorded in reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeOutcome {
    pub accel: Accel,
    /// Why KVM was (not) chosen.
    pub reason: String,
    /// Wall time of the KVM boot attempt (ms), when one ran.
    pub kvm_boot_ms: Option<u64>,
    /// Key of what was probed (host kernel release + guest image); cache validity.
    pub key: String,
}

/// What to boot for the probe.
#[derive(Debug, Clone)]
pub struct ProbeGuest {
    pub kernel: PathBuf,
    /// Our initramfs (probe mode prints [`PROBE_MARKER`]); `None` = kernel only, success is
    /// the kernel reaching its "no root fs" panic.
    pub initrd: Option<PathBuf>,
}

/// The QEMU system emulator binary.
pub fn qemu_binary() -> PathBuf {
    std::env::var_os("COO_BENCH_QEMU")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/qemu-system-x86_64"))
}

/// Can `/dev/kvm` be opened read-write?
pub fn kvm_device_usable() -> Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .map(drop)
        .map_err(|e| format!("/dev/kvm: {e}"))
}

/// Boots `guest` under `accel` with QEMU directly; Ok(elapsed) when the marker appeared.
pub fn boot_once(guest: &ProbeGuest, accel: Accel, timeout: Duration) -> Result<Duration, String> {
    let mut cmd = Command::new(qemu_binary());
    cmd.args([
        "-accel",
        accel.as_str(),
        "-m",
        "256",
        "-nodefaults",
        "-no-reboot",
    ])
    .args(["-display", "none", "-monitor", "none", "-serial", "stdio"])
    .arg("-kernel")
    .arg(&guest.kernel);
    let marker: &str = match &guest.initrd {
        Some(initrd) => {
            cmd.arg("-initrd").arg(initrd).arg("-append").arg(format!(
                "console=ttyS0 panic=-1 {FAST_BOOT} coo.probe=1 coo.mgmt=dhcp coo.mgmt_mac=52:54:00:00:00:01"
            ));
            PROBE_MARKER
        }
        None => {
            cmd.args(["-append", "console=ttyS0 panic=-1"]);
            "VFS: Unable to mount root fs"
        }
    };
    if accel == Accel::Kvm {
        cmd.args(["-cpu", "host"]);
    }
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", qemu_binary().display()))?;
    // Read the console on a thread so the timeout can kill QEMU even while no byte arrives.
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let (tx, rx) = std::sync::mpsc::channel::<bool>();
    let marker_owned = marker.to_string();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    seen.extend_from_slice(&buf[..n]);
                    if String::from_utf8_lossy(&seen).contains(&marker_owned) {
                        let _ = tx.send(true);
                        return seen;
                    }
                }
            }
        }
        let _ = tx.send(false);
        seen
    });
    let got = rx.recv_timeout(timeout);
    // Ok(false): the console closed (QEMU exited) before the marker; Err: timed out.
    let exited_early = matches!(got, Ok(false));
    let found = got.unwrap_or(false);
    let elapsed = start.elapsed();
    let _ = child.kill();
    let status = child.wait();
    let seen = reader.join().unwrap_or_default();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    if found {
        return Ok(elapsed);
    }
    let console = String::from_utf8_lossy(&seen);
    let tail: String = console
        .lines()
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .join(" | ");
    let what = if exited_early {
        format!(
            "QEMU exited before the marker after {:.1}s",
            elapsed.as_secs_f64()
        )
    } else {
        format!("no marker within {:.1}s", timeout.as_secs_f64())
    };
    let stderr: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Err(format!(
        "{what} (exit {:?}; stderr: {}; console tail: {})",
        status.ok().and_then(|s| s.code()),
        stderr.join(" / "),
        tail.trim()
    ))
}

/// Probes KVM with `guest`; falls back to TCG with the reason.
pub fn probe(guest: &ProbeGuest, timeout: Duration) -> ProbeOutcome {
    let key = probe_key(guest);
    if let Err(e) = kvm_device_usable() {
        return ProbeOutcome {
            accel: Accel::Tcg,
            reason: e,
            kvm_boot_ms: None,
            key,
        };
    }
    let start = Instant::now();
    match boot_once(guest, Accel::Kvm, timeout) {
        Ok(t) => ProbeOutcome {
            accel: Accel::Kvm,
            reason: "a KVM guest booted to the marker".into(),
            kvm_boot_ms: Some(t.as_millis() as u64),
            key,
        },
        Err(e) => ProbeOutcome {
            accel: Accel::Tcg,
            reason: format!("/dev/kvm opens but a KVM guest does not boot: {e}"),
            kvm_boot_ms: Some(start.elapsed().as_millis() as u64),
            key,
        },
    }
}

fn probe_key(guest: &ProbeGuest) -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{}|{}|{}",
        release.trim(),
        guest.kernel.display(),
        guest
            .initrd
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    )
}

/// Env override `COO_BENCH_ACCEL=kvm|tcg`, else a cached probe result for this host and guest,
/// else a fresh probe (cached in `cache_file`).
pub fn detect(guest: &ProbeGuest, cache_file: &Path, timeout: Duration) -> ProbeOutcome {
    let key = probe_key(guest);
    match std::env::var("COO_BENCH_ACCEL").as_deref() {
        Ok("kvm") => {
            return ProbeOutcome {
                accel: Accel::Kvm,
                reason: "COO_BENCH_ACCEL=kvm".into(),
                kvm_boot_ms: None,
                key,
            }
        }
        Ok("tcg") => {
            return ProbeOutcome {
                accel: Accel::Tcg,
                reason: "COO_BENCH_ACCEL=tcg".into(),
                kvm_boot_ms: None,
                key,
            }
        }
        _ => {}
    }
    if let Ok(text) = std::fs::read_to_string(cache_file) {
        if let Ok(cached) = serde_json::from_str::<ProbeOutcome>(&text) {
            if cached.key == key {
                return cached;
            }
        }
    }
    let outcome = probe(guest, timeout);
    if let Some(dir) = cache_file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(text) = serde_json::to_string_pretty(&outcome) {
        let _ = std::fs::write(cache_file, text);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Accel::Tcg.libvirt_type(), "qemu");
        assert_eq!(Accel::Kvm.libvirt_type(), "kvm");
        assert_eq!(serde_json::to_string(&Accel::Tcg).unwrap(), "\"tcg\"");
    }
}
