//! Named network namespaces compatible with `ip netns` (a bind mount at `/run/netns/<name>`),
//! and running code inside one. `setns` only changes the calling thread, so every
//! in-namespace action runs on a short-lived thread of its own, never on a tokio worker.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};

use crate::names::NetnsName;

pub const NETNS_DIR: &str = "/run/netns";

/// Make `/run/netns` a shared mount point the way `ip netns add` does, so bind mounts
/// made here are visible to tools that enter other mount namespaces (`ip netns exec`).
fn prepare_netns_dir() -> io::Result<()> {
    fs::create_dir_all(NETNS_DIR)?;
    let dir = Path::new(NETNS_DIR);
    let mut bound = false;
    loop {
        match mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        ) {
            Ok(()) => return Ok(()),
            // EINVAL: not a mount point yet; bind it onto itself once, then retry.
            Err(nix::errno::Errno::EINVAL) if !bound => {
                mount(
                    Some(dir),
                    dir,
                    Some("none"),
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .map_err(io::Error::from)?;
                bound = true;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Create `/run/netns/<name>` holding a fresh network namespace. Fails with
/// `AlreadyExists` when the name is taken (never adopts a namespace we did not create).
pub fn create(name: &NetnsName) -> io::Result<()> {
    prepare_netns_dir()?;
    let path = name.path();
    // O_EXCL: the mount point file doubles as our claim on the name.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    let target = path.clone();
    let res = std::thread::spawn(move || -> io::Result<()> {
        unshare(CloneFlags::CLONE_NEWNET)?;
        // /proc/thread-self: /proc/self would name the thread-group leader's namespace.
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            Some("none"),
            MsFlags::MS_BIND,
            None::<&str>,
        )?;
        Ok(())
    })
    .join()
    .map_err(|_| io::Error::other("netns creation thread panicked"))?;
    if let Err(e) = res {
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok(())
}

/// Remove `/run/netns/<name>`; the namespace dies when its last process and socket are gone.
/// Already absent is success.
pub fn delete(name: &NetnsName) -> io::Result<()> {
    let path = name.path();
    match umount2(&path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(e.into()),
    }
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether `/run/netns/<name>` exists.
pub fn exists(name: &NetnsName) -> bool {
    name.path().exists()
}

/// Names under `/run/netns` (ours and others'; callers filter).
pub fn list() -> io::Result<Vec<NetnsName>> {
    let mut out = Vec::new();
    let dir = match fs::read_dir(NETNS_DIR) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in dir {
        let entry = entry?;
        if let Some(n) = entry.file_name().to_str() {
            if let Ok(n) = NetnsName::new(n) {
                out.push(n);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Open the namespace file (for `setns` or `IFLA_NET_NS_FD`).
pub fn open(name: &NetnsName) -> io::Result<File> {
    File::open(name.path()).map_err(|e| io::Error::new(e.kind(), format!("netns {name}: {e}")))
}

/// Run `f` on a new thread that has joined `netns` (`None` = the caller's namespace).
pub fn run_in<F, R>(netns: Option<&NetnsName>, f: F) -> io::Result<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let path = netns.map(NetnsName::path);
    Ok(netsys::netns::run_in(path.as_deref(), f)?)
}

/// Make `cmd` join `netns` between fork and exec. The namespace file stays open in the
/// parent until the command is spawned; keep the returned `File` alive until then.
pub fn command_in(cmd: &mut Command, netns: &NetnsName) -> io::Result<File> {
    let file = open(netns)?;
    let fd: RawFd = file.as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec and only calls the
    // async-signal-safe setns(2) (netsys::netns::setns_fd) on an fd the parent keeps open.
    unsafe {
        cmd.pre_exec(move || netsys::netns::setns_fd(fd));
    }
    Ok(file)
}

/// Write a sysctl (key as a path under /proc/sys, e.g. `net/ipv6/conf/all/disable_ipv6`)
/// inside `netns`. Returns `Ok(false)` when the key does not exist on this kernel.
pub fn write_sysctl(netns: Option<&NetnsName>, key: &str, value: &str) -> io::Result<bool> {
    if key.contains("..") || key.starts_with('/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad sysctl key {key:?}"),
        ));
    }
    let path = Path::new("/proc/sys").join(key);
    let value = value.to_owned();
    run_in(netns, move || match fs::write(&path, value.as_bytes()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    })?
}

/// Read a sysctl inside `netns`; `Ok(None)` when absent.
pub fn read_sysctl(netns: Option<&NetnsName>, key: &str) -> io::Result<Option<String>> {
    let path = Path::new("/proc/sys").join(key);
    run_in(netns, move || match fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s.trim().to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    })?
}
