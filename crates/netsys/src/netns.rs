//! Running code inside a network namespace. `setns(CLONE_NEWNET)` changes only the calling
//! thread, so code that must live in another namespace runs on a thread of its own (never a
//! pooled one, which would stay there): [`run_in`] spawns, joins and returns the result,
//! [`spawn_in`] hands back the handle, [`enter`] moves a thread the caller owns.
//! Sockets keep the namespace they were created in, so a socket opened on such a thread can
//! be handed back and used from any thread.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

/// Why code could not run in a namespace.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("cannot enter network namespace {}: {source}", path.display())]
    Enter {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot start a thread for network namespace {}: {source}", path.display())]
    Spawn {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("thread in network namespace {} panicked", path.display())]
    Panicked { path: PathBuf },
}

impl From<NetnsError> for io::Error {
    fn from(e: NetnsError) -> io::Error {
        let kind = match &e {
            NetnsError::Enter { source, .. } | NetnsError::Spawn { source, .. } => source.kind(),
            NetnsError::Panicked { .. } => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

/// `setns(fd, CLONE_NEWNET)` and nothing else: async-signal-safe, so it may run in a forked
/// child before exec (`CommandExt::pre_exec`).
pub fn setns_fd(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain system call on a descriptor the caller keeps open; it changes only the
    // calling thread's namespace.
    if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn open(path: &Path) -> Result<File, NetnsError> {
    File::open(path).map_err(|source| NetnsError::Enter {
        path: path.to_owned(),
        source,
    })
}

fn join_file(file: &File, path: &Path) -> Result<(), NetnsError> {
    setns_fd(file.as_raw_fd()).map_err(|source| NetnsError::Enter {
        path: path.to_owned(),
        source,
    })
}

/// Moves the calling thread into the namespace at `path` (e.g. `/run/netns/NAME`). Only for
/// a thread the caller owns and ends (or keeps in that namespace on purpose).
pub fn enter(path: &Path) -> Result<(), NetnsError> {
    join_file(&open(path)?, path)
}

/// Spawns a thread named `name` that joins the namespace at `netns` (None: stays in the
/// caller's) and then runs `f`. The namespace file is opened here, so a missing namespace is
/// reported before any thread starts.
pub fn spawn_in<T, F>(
    name: &str,
    netns: Option<&Path>,
    f: F,
) -> Result<JoinHandle<Result<T, NetnsError>>, NetnsError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let target = netns.map(|p| open(p).map(|file| (file, p.to_owned())));
    let target = target.transpose()?;
    let path = netns.map(Path::to_owned).unwrap_or_default();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            if let Some((file, path)) = target {
                join_file(&file, &path)?;
            }
            Ok(f())
        })
        .map_err(|source| NetnsError::Spawn { path, source })
}

/// Runs `f` on a fresh thread that joined the namespace at `netns` (None: the caller's) and
/// returns its result. The caller's namespace never changes.
pub fn run_in<T, F>(netns: Option<&Path>, f: F) -> Result<T, NetnsError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let h = spawn_in("netns-run", netns, f)?;
    h.join().map_err(|_| NetnsError::Panicked {
        path: netns.map(Path::to_owned).unwrap_or_default(),
    })?
}

/// The inode of the calling thread's network namespace (tells namespaces apart).
pub fn current_id() -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata("/proc/thread-self/ns/net")?.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_namespace_is_a_named_error_before_any_thread() {
        let p = Path::new("/run/netns/coo-bench-no-such-ns-9z");
        match run_in(Some(p), || 1) {
            Err(NetnsError::Enter { path, source }) => {
                assert_eq!(path, p);
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("expected Enter error, got {other:?}"),
        }
        let e: io::Error = enter(p).unwrap_err().into();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn none_runs_in_the_callers_namespace() {
        let here = current_id().unwrap();
        assert_eq!(run_in(None, current_id).unwrap().unwrap(), here);
    }

    #[test]
    fn joins_another_namespace_and_leaves_the_caller_alone() {
        // Any process's namespace file works; our own is always there. A different one needs
        // root and a namespace: use /proc/1 when it differs (it does in a container).
        let here = current_id().unwrap();
        let own = Path::new("/proc/self/ns/net");
        assert_eq!(run_in(Some(own), current_id).unwrap().unwrap(), here);
        let init = Path::new("/proc/1/ns/net");
        match run_in(Some(init), current_id) {
            Ok(id) => {
                let id = id.unwrap();
                eprintln!("joined init's namespace {id} (ours {here})");
            }
            Err(NetnsError::Enter { source, .. }) => {
                eprintln!("skipped joining init's namespace: {source} (needs root)");
            }
            Err(e) => panic!("{e}"),
        }
        assert_eq!(current_id().unwrap(), here);
    }

    #[test]
    fn a_panic_is_reported() {
        let r = run_in(None, || -> u8 { panic!("boom") });
        assert!(matches!(r, Err(NetnsError::Panicked { .. })), "{r:?}");
    }
}
