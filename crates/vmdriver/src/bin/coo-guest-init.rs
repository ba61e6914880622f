//! `coo-guest-init`: PID 1 of the coo-bench guest (built statically, see
//! scripts/vm-guest-static.sh). Mounts the pseudo file systems, loads the virtio NIC modules in
//! order, configures the management NIC from the kernel command line, starts the `coo-vnf`
//! agent, prints a ready marker on the serial console and then reaps children forever.
//!
//! Only std + libc (plus the shared command-line contract and `netwire`), so it links statically.

#![cfg_attr(test, allow(clippy::unwrap_used))]

#[path = "../dhcp_wire.rs"]
#[allow(dead_code)]
mod dhcp_wire;
#[path = "../guest.rs"]
#[allow(dead_code)]
mod guest;

use std::ffi::CString;
use std::net::{Ipv4Addr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use guest::GuestConfig;
use netwire::MacAddr;

fn log(msg: &str) {
    println!("coo-guest-init: [{:.3}] {msg}", uptime());
}

fn uptime() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn mount(src: &str, target: &str, fstype: &str) {
    let _ = std::fs::create_dir_all(target);
    let (Ok(s), Ok(t), Ok(f)) = (
        CString::new(src),
        CString::new(target),
        CString::new(fstype),
    ) else {
        return;
    };
    // SAFETY: valid NUL-terminated strings; null data is allowed by mount(2).
    let rc = unsafe { libc::mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), 0, std::ptr::null()) };
    if rc != 0 {
        log(&format!(
            "mount {fstype} on {target}: {}",
            std::io::Error::last_os_error()
        ));
    }
}

fn power_off() -> ! {
    // SAFETY: plain syscalls without pointers.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

fn load_module(path: &str) -> Result<(), String> {
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let params = c"";
    // SAFETY: fd is open for the duration of the call; params is a valid C string.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_finit_module,
            f.as_raw_fd(),
            params.as_ptr(),
            0 as libc::c_int,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EEXIST) {
        return Ok(());
    }
    Err(err.to_string())
}

/// Loads the modules of `phase` ("boot" or "extra") listed in /lib/modules/coo/order.
fn load_modules(phase: &str) {
    let order = std::fs::read_to_string("/lib/modules/coo/order").unwrap_or_default();
    for line in order.lines() {
        let Some((p, name)) = line.split_once(' ') else {
            continue;
        };
        if p != phase {
            continue;
        }
        if let Err(e) = load_module(&format!("/lib/modules/coo/{name}.ko")) {
            log(&format!("module {name}: {e}"));
        }
    }
}

/// Interface name with this MAC, from sysfs.
fn ifname_of(mac: &MacAddr) -> Option<String> {
    for ent in std::fs::read_dir("/sys/class/net").ok()?.flatten() {
        let addr = std::fs::read_to_string(ent.path().join("address")).unwrap_or_default();
        if addr.trim().parse::<MacAddr>().ok().as_ref() == Some(mac) {
            return ent.file_name().into_string().ok();
        }
    }
    None
}

/// MAC of interface `name`, from sysfs.
fn mac_of_if(name: &str) -> Option<MacAddr> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/address"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Virtio network devices present (virtio device id 1), whether or not probed yet.
fn virtio_net_count() -> usize {
    let Ok(rd) = std::fs::read_dir("/sys/bus/virtio/devices") else {
        return 0;
    };
    rd.flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("device")).is_ok_and(|d| d.trim() == "0x0001")
        })
        .count()
}

/// Interfaces of virtio NICs sorted by PCI address (= the domain XML's NIC order), once every
/// virtio net device has its interface or `timeout` passed.
fn nics_in_pci_order(timeout: Duration) -> Vec<String> {
    let start = Instant::now();
    loop {
        let mut nics: Vec<(String, String)> = Vec::new();
        for ent in std::fs::read_dir("/sys/class/net")
            .into_iter()
            .flatten()
            .flatten()
        {
            let Ok(dev) = std::fs::canonicalize(ent.path().join("device")) else {
                continue;
            };
            let is_virtio = dev
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("virtio"));
            let pci = dev.parent().and_then(|p| p.file_name());
            if let (true, Some(pci), Ok(name)) = (is_virtio, pci, ent.file_name().into_string()) {
                nics.push((pci.to_string_lossy().into_owned(), name));
            }
        }
        if nics.len() >= virtio_net_count() || start.elapsed() > timeout {
            nics.sort();
            log(&format!(
                "NICs in PCI order: {}",
                nics.iter()
                    .map(|(p, n)| format!("{n}@{p}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
            return nics.into_iter().map(|(_, n)| n).collect();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Management NIC up with its address: from the command line, else by DHCP.
fn setup_mgmt(cfg: &GuestConfig, name: &str) {
    if let Err(e) = link_up(name) {
        log(&format!("{name}: {e}"));
    }
    match cfg.mgmt {
        Some((ip, len)) => match set_addr(name, ip, len) {
            Ok(()) => log(&format!("management {name} = {ip}/{len}")),
            Err(e) => log(&format!("{name}: {e}")),
        },
        None => {
            let Some(mac) = cfg.mgmt_mac.or_else(|| mac_of_if(name)) else {
                log(&format!("{name}: no MAC address; no DHCP"));
                return;
            };
            log(&format!("management {name} ({mac}): DHCP"));
            match dhcp_wire::client_acquire(name, mac, Duration::from_secs(60))
                .and_then(|(ip, len)| set_addr(name, ip, len).map(|()| (ip, len)))
            {
                Ok((ip, len)) => log(&format!("management {name} = {ip}/{len} (DHCP)")),
                Err(e) => log(&format!("{name}: DHCP: {e}")),
            }
        }
    }
}

fn wait_ifname(mac: &MacAddr, timeout: Duration) -> Option<String> {
    let start = Instant::now();
    loop {
        if let Some(n) = ifname_of(mac) {
            return Some(n);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

struct Sock(libc::c_int);
impl Drop for Sock {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.0) };
    }
}

fn ifreq(name: &str) -> Result<libc::ifreq, String> {
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut r: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= r.ifr_name.len() {
        return Err(format!("interface name {name} too long"));
    }
    for (d, s) in r.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    Ok(r)
}

fn sock() -> Result<Sock, String> {
    // SAFETY: plain syscall.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    Ok(Sock(fd))
}

fn ioctl(s: &Sock, req: libc::c_ulong, r: &mut libc::ifreq, what: &str) -> Result<(), String> {
    // SAFETY: r is a valid ifreq for these SIOC* requests.
    let rc = unsafe { libc::ioctl(s.0, req as _, r as *mut libc::ifreq) };
    if rc < 0 {
        return Err(format!("{what}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn link_up(name: &str) -> Result<(), String> {
    set_flags(name, libc::IFF_UP as libc::c_short)
}

/// Data NICs: up and promiscuous. QEMU's virtio-net drops unicast frames for other MACs
/// before the guest sees them unless the NIC is promiscuous, and a bump-in-the-wire VNF
/// forwards frames addressed to the next hop, not to itself.
fn data_link_up(name: &str) -> Result<(), String> {
    // No IPv6 on data NICs: no router solicitations or MLD reports in measured traffic.
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
    set_flags(name, (libc::IFF_UP | libc::IFF_PROMISC) as libc::c_short)
}

fn set_flags(name: &str, flags: libc::c_short) -> Result<(), String> {
    let s = sock()?;
    let mut r = ifreq(name)?;
    ioctl(&s, libc::SIOCGIFFLAGS, &mut r, "SIOCGIFFLAGS")?;
    // SAFETY: union field written by SIOCGIFFLAGS.
    unsafe { r.ifr_ifru.ifru_flags |= flags };
    ioctl(&s, libc::SIOCSIFFLAGS, &mut r, "SIOCSIFFLAGS")
}

fn sockaddr(ip: Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_in and sockaddr have the same size on Linux.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

fn set_addr(name: &str, ip: Ipv4Addr, len: u8) -> Result<(), String> {
    let s = sock()?;
    let mut r = ifreq(name)?;
    r.ifr_ifru.ifru_addr = sockaddr(ip);
    ioctl(&s, libc::SIOCSIFADDR, &mut r, "SIOCSIFADDR")?;
    let mut r = ifreq(name)?;
    r.ifr_ifru.ifru_netmask = sockaddr(guest::netmask(len));
    ioctl(&s, libc::SIOCSIFNETMASK, &mut r, "SIOCSIFNETMASK")
}

fn spawn_agent(cfg: &GuestConfig, data_ifs: &[String]) -> Option<u32> {
    let _ = std::fs::create_dir_all("/run/coo");
    let function = "/run/coo/function.click";
    if !std::path::Path::new(function).exists() {
        let _ = std::fs::write(function, "");
    }
    let mut cmd = Command::new("/bin/coo-vnf");
    cmd.arg("--listen")
        .arg(format!("tcp:0.0.0.0:{}", cfg.port))
        .args(["--function", function, "--workdir", "/run/coo"])
        .args(["--engine", &cfg.engine])
        .env("PATH", "/bin:/usr/bin:/sbin:/usr/sbin")
        .env("COO_BENCH_COO_CLICK", "/bin/coo-click");
    // Only the token's digest is known here (the command line is readable by anyone); the
    // environment keeps it out of `ps`. Without one (a disk image's fixed command line) the
    // agent must be told it serves the management bridge unauthenticated.
    match &cfg.token_sha256 {
        Some(d) => {
            cmd.env("COO_VNF_TOKEN_SHA256", d);
        }
        None => {
            log("no coo.token_sha256 on the command line: agent runs --insecure");
            cmd.arg("--insecure");
        }
    }
    if !data_ifs.is_empty() {
        cmd.arg("--interfaces").arg(data_ifs.join(","));
    }
    match cmd.spawn() {
        Ok(c) => Some(c.id()),
        Err(e) => {
            log(&format!("cannot start /bin/coo-vnf: {e}"));
            None
        }
    }
}

fn main() {
    // Mounting over /proc and /dev of a running host would be destructive: PID 1 only.
    if std::process::id() != 1 {
        eprintln!("coo-guest-init: must run as PID 1 inside the coo-bench guest");
        std::process::exit(2);
    }
    mount("proc", "/proc", "proc");
    mount("sysfs", "/sys", "sysfs");
    mount("devtmpfs", "/dev", "devtmpfs");
    mount("tmpfs", "/run", "tmpfs");
    mount("tmpfs", "/tmp", "tmpfs");
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let cfg = match GuestConfig::from_cmdline(&cmdline) {
        Ok(c) => c,
        Err(e) => {
            log(&format!("{e}; powering off"));
            power_off();
        }
    };
    load_modules("boot");
    log("virtio modules loaded");
    if cfg.probe {
        println!("{}", guest::PROBE_MARKER);
        power_off();
    }
    if let Err(e) = link_up("lo") {
        log(&format!("lo: {e}"));
    }
    // NICs by MAC from the command line, else by PCI order (a disk image's fixed cmdline).
    let (mgmt_if, data_names) = match cfg.mgmt_mac {
        Some(mac) => {
            let m = wait_ifname(&mac, Duration::from_secs(10));
            if m.is_none() {
                log(&format!("no interface with MAC {mac}"));
            }
            let mut data = Vec::new();
            for mac in &cfg.data_macs {
                match wait_ifname(mac, Duration::from_secs(5)) {
                    Some(n) => data.push(n),
                    None => log(&format!("no data interface with MAC {mac}")),
                }
            }
            (m, data)
        }
        None => {
            let mut nics = nics_in_pci_order(Duration::from_secs(10)).into_iter();
            let m = nics.next();
            if m.is_none() {
                log("no virtio NIC found");
            }
            (m, nics.collect())
        }
    };
    if let Some(name) = &mgmt_if {
        setup_mgmt(&cfg, name);
    }
    let mut data_ifs = Vec::new();
    for n in data_names {
        if let Err(e) = data_link_up(&n) {
            log(&format!("{n}: {e}"));
        }
        data_ifs.push(n);
    }
    log(&format!("data interfaces: {}", data_ifs.join(",")));
    let mut agent = spawn_agent(&cfg, &data_ifs);
    load_modules("extra");
    let start = Instant::now();
    let mut restarts = 0;
    while start.elapsed() < Duration::from_secs(60) {
        if reap(&mut agent, &cfg, &data_ifs, &mut restarts, libc::WNOHANG) {
            continue;
        }
        if TcpStream::connect_timeout(
            &(Ipv4Addr::LOCALHOST, cfg.port).into(),
            Duration::from_millis(200),
        )
        .is_ok()
        {
            println!("{} uptime={:.3}", guest::READY_MARKER, uptime());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // PID 1: reap every child; restart the agent a few times if it dies.
    loop {
        reap(&mut agent, &cfg, &data_ifs, &mut restarts, 0);
    }
}

/// Reaps one child (`flags` = 0 blocks, WNOHANG polls); restarts the agent when it was the one.
/// Returns true when a child was reaped.
fn reap(
    agent: &mut Option<u32>,
    cfg: &GuestConfig,
    data_ifs: &[String],
    restarts: &mut u32,
    flags: libc::c_int,
) -> bool {
    let mut status = 0;
    // SAFETY: plain syscall with a valid out-pointer.
    let pid = unsafe { libc::waitpid(-1, &mut status, flags) };
    if pid <= 0 {
        if flags == 0 {
            std::thread::sleep(Duration::from_millis(500));
        }
        return false;
    }
    if *agent == Some(pid as u32) {
        log(&format!("agent exited (status {status})"));
        if *restarts >= 5 {
            log("agent keeps dying; powering off");
            power_off();
        }
        *restarts += 1;
        std::thread::sleep(Duration::from_secs(1));
        *agent = spawn_agent(cfg, data_ifs);
    }
    true
}
