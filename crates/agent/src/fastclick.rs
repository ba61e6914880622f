//! FastClick as an engine: the VNF's function runs **unchanged** (`FromDPDKDevice(N)` /
//! `ToDPDKDevice(N)`) on DPDK's af_packet poll-mode driver, the way Click-On-OSv ran Click with
//! DPDK. Port N is the N-th `--vdev` on the command line, so the vdevs follow the VNF's data
//! interfaces in PyCOO order.
//!
//! EAL runs without hugepages (`--no-huge`, `-m` ≥ 320 MiB) and without PCI; each instance
//! has its own `--file-prefix`, whose runtime directory `/var/run/dpdk/<prefix>` EAL leaves
//! behind: [`remove_runtime_dir`] removes it when the engine stops, and `coo-bench clean`
//! removes any left by a killed run (the prefix starts with [`PREFIX`]).
//!
//! FastClick busy-polls one CPU per instance: it gets the first CPU the agent may run on (the
//! run's placement plan pins agents to the NF CPUs), the same CPU budget as every other engine.

use std::path::PathBuf;

/// Start of every EAL file prefix coo-bench uses.
pub const PREFIX: &str = "coo-";

/// EAL memory without hugepages, MiB (FastClick needs ≥ 320).
pub const EAL_MEMORY_MB: u32 = 512;

/// Frames per af_packet ring by default (the PMD's default 512 drops at line rate): 4096 of
/// 2 KiB, the same 8 MiB every engine gets by default.
pub const FRAMECNT: u32 = 4096;

/// Path of the FastClick binary: `COO_BENCH_FASTCLICK`, else `fastclick` in PATH.
pub fn binary() -> PathBuf {
    std::env::var_os("COO_BENCH_FASTCLICK")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("fastclick"))
}

/// EAL file prefix of the engine on these interfaces: unique per VNF and run, because the
/// interface names carry the run prefix and the VNF id.
pub fn file_prefix(interfaces: &[String]) -> String {
    let first = interfaces.first().map(String::as_str).unwrap_or("none");
    let safe: String = first
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{PREFIX}{safe}")
}

/// The first CPU this process may run on (FastClick's lcore).
pub fn first_allowed_cpu() -> usize {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it for the calling thread.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer and size.
    let ok = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) } == 0;
    if ok {
        for cpu in 0..libc::CPU_SETSIZE as usize {
            // SAFETY: cpu < CPU_SETSIZE.
            if unsafe { libc::CPU_ISSET(cpu, &set) } {
                return cpu;
            }
        }
    }
    0
}

/// EAL arguments, up to and including the `--` that separates them from Click's: one lcore
/// `cpu`, one af_packet vdev per interface in order with `framecnt` frames of 2 KiB each.
pub fn eal_args(interfaces: &[String], cpu: usize, framecnt: u32) -> Vec<String> {
    let vdevs = interfaces
        .iter()
        .enumerate()
        .map(|(i, ifname)| format!("--vdev=net_af_packet{i},iface={ifname},framecnt={framecnt}"));
    eal(cpu, &file_prefix(interfaces), &[], vdevs)
}

/// af_packet frames for a receive buffer of `bytes` (frames of 2 KiB, as the PMD's default
/// frame size), at least the PMD's own default of 512.
pub fn framecnt_for(bytes: usize) -> u32 {
    u32::try_from(bytes / 2048).unwrap_or(u32::MAX).max(512)
}

/// EAL arguments for checking a configuration without interfaces (`click -q` after them):
/// `ports` null devices stand for the VNF's interfaces, so FastClick configures and
/// initialises FromDPDKDevice(N)/ToDPDKDevice(N) exactly as it would run them. The caller
/// removes `/var/run/dpdk/<prefix>` afterwards ([`remove_runtime_prefix`]).
pub fn check_args(ports: usize, prefix: &str) -> Vec<String> {
    let vdevs = (0..ports).map(|i| format!("--vdev=net_null{i}"));
    eal(first_allowed_cpu(), prefix, &["--log-level=error"], vdevs)
}

/// The EAL arguments every FastClick start shares (no hugepages, no PCI, its own prefix).
fn eal(
    cpu: usize,
    prefix: &str,
    extra: &[&str],
    vdevs: impl Iterator<Item = String>,
) -> Vec<String> {
    let mut args = vec![
        "--dpdk".to_owned(),
        "-l".to_owned(),
        cpu.to_string(),
        "--no-huge".to_owned(),
        "-m".to_owned(),
        EAL_MEMORY_MB.to_string(),
        "--no-pci".to_owned(),
        "--no-shconf".to_owned(),
        format!("--file-prefix={prefix}"),
    ];
    args.extend(extra.iter().map(|e| (*e).to_owned()));
    args.extend(vdevs);
    args.push("--".to_owned());
    args
}

/// Where EAL keeps runtime directories: `/var/run/dpdk` for root, `/tmp/dpdk` for an
/// unprivileged engine (no XDG_RUNTIME_DIR in the engine's environment).
pub const RUNTIME_DIRS: [&str; 2] = ["/var/run/dpdk", "/tmp/dpdk"];

/// Removes `<runtime dir>/<prefix>` in both places (best effort).
pub fn remove_runtime_prefix(prefix: &str) {
    for base in RUNTIME_DIRS {
        let _ = std::fs::remove_dir_all(PathBuf::from(base).join(prefix));
    }
}

/// Removes the EAL runtime directory of the engine on these interfaces (best effort).
pub fn remove_runtime_dir(interfaces: &[String]) {
    remove_runtime_prefix(&file_prefix(interfaces));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vdevs_follow_the_interfaces_in_order() {
        let ifs = vec!["cb12ab-fw-0".to_owned(), "cb12ab-fw-1".to_owned()];
        let a = eal_args(&ifs, 1, FRAMECNT);
        assert_eq!(&a[..3], ["--dpdk", "-l", "1"]);
        assert!(a.contains(&"--no-huge".to_owned()));
        assert!(a.contains(&"--file-prefix=coo-cb12ab-fw-0".to_owned()));
        let vdevs: Vec<&String> = a.iter().filter(|x| x.starts_with("--vdev")).collect();
        assert_eq!(
            vdevs,
            [
                "--vdev=net_af_packet0,iface=cb12ab-fw-0,framecnt=4096",
                "--vdev=net_af_packet1,iface=cb12ab-fw-1,framecnt=4096"
            ]
        );
        assert_eq!(a.last().map(String::as_str), Some("--"));
    }

    #[test]
    fn prefix_is_a_safe_file_name() {
        assert_eq!(file_prefix(&["a/b c".to_owned()]), "coo-a-b-c");
        assert_eq!(file_prefix(&[]), "coo-none");
    }
}
