//! Run directories under the run root (default `/run/coo-bench`, env `COO_BENCH_RUN_DIR`):
//! `<root>/<topology-id>-<4 hex>/{ledger, testbed.json, lock, agents/, <vnf>/}`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use hostnet::NetOps;

use crate::UpError;

pub const DEFAULT_RUN_ROOT: &str = "/run/coo-bench";
pub const LEDGER: &str = "ledger";
pub const TESTBED_JSON: &str = "testbed.json";
const LOCK: &str = "lock";

/// The run root: `$COO_BENCH_RUN_DIR` or `/run/coo-bench`.
pub fn run_root() -> PathBuf {
    std::env::var_os("COO_BENCH_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RUN_ROOT))
}

/// An exclusive advisory lock on a run; released when dropped or when the process dies
/// (so `clean` can tell a crashed `up` from one still in progress).
///
/// A POSIX record lock (`fcntl(F_SETLK)`), not `flock(2)`: a record lock belongs to the
/// process and is not inherited by `fork`, so a child forked to spawn an agent and not yet
/// exec'd does not keep a killed `up`'s run looking busy. The price: closing *any* fd of the
/// lock file in the holding process drops the lock, so only this module opens it.
pub struct RunLock {
    _file: File,
}

/// Take the run's lock without waiting; `Ok(None)` when another process holds it.
pub fn try_lock(run_dir: &Path) -> io::Result<Option<RunLock>> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(run_dir.join(LOCK))?;
    // SAFETY: a zeroed `flock` is valid; the fields set describe a write lock on the whole file.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = 0;
    fl.l_len = 0;
    // SAFETY: fcntl(F_SETLK) on an fd we own with a valid `flock`.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES)) {
            return Ok(None);
        }
        return Err(e);
    }
    Ok(Some(RunLock { _file: file }))
}

fn random_u16() -> io::Result<u16> {
    let mut b = [0u8; 2];
    File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(u16::from_be_bytes(b))
}

/// Hex part of a run id `<topology>-<hhhh>`.
pub fn run_hex(run_id: &str) -> Option<&str> {
    let (_, hex) = run_id.rsplit_once('-')?;
    (hex.len() == 4 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// Run ids present under `root`, sorted.
pub fn list_runs(root: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(root) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for e in rd {
        let e = e?;
        if e.file_type()?.is_dir() {
            if let Some(n) = e.file_name().to_str() {
                out.push(n.to_owned());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A freshly claimed run directory and the lock that marks it in progress.
pub struct NewRun {
    pub run_id: String,
    pub prefix: String,
    pub dir: PathBuf,
    pub lock: RunLock,
}

/// Claim a run id `<topology-id>-<hhhh>` and prefix `cb<hhhh>`: no run directory under
/// `root` and no namespace may already use the hex (two testbeds of one topology, or of
/// two topologies, never share a prefix).
pub fn allocate(
    root: &Path,
    topology_id: &str,
    run_id: Option<&str>,
    net: &dyn NetOps,
) -> Result<NewRun, UpError> {
    let io_err = |what: &str, e: io::Error| UpError::Io(format!("{what}: {e}"));
    if let Some(id) = run_id {
        // A run id becomes a directory name under the run root: no separators, no `..`.
        let ok = !id.is_empty()
            && id.len() <= 64
            && !id.starts_with('.')
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !ok {
            return Err(UpError::InvalidRunId(id.to_owned()));
        }
    }
    fs::create_dir_all(root).map_err(|e| io_err(&root.display().to_string(), e))?;
    for _ in 0..64 {
        let hex = format!(
            "{:04x}",
            random_u16().map_err(|e| io_err("/dev/urandom", e))?
        );
        let prefix = format!("cb{hex}");
        let id = match run_id {
            Some(id) => id.to_owned(),
            None => format!("{topology_id}-{hex}"),
        };
        let taken_by_ns = net
            .list_netns()?
            .iter()
            .any(|n| n.as_str() == prefix || n.as_str().starts_with(&format!("{prefix}-")));
        let runs = list_runs(root).map_err(|e| io_err("list runs", e))?;
        let taken_by_run = runs.iter().any(|r| {
            run_hex(r) == Some(hex.as_str())
                || read_prefix(root, r).as_deref() == Some(prefix.as_str())
        });
        if taken_by_ns || taken_by_run {
            if run_id.is_some() && runs.contains(&id) {
                return Err(UpError::RunExists(id));
            }
            continue;
        }
        let dir = root.join(&id);
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if run_id.is_some() {
                    return Err(UpError::RunExists(id));
                }
                continue;
            }
            Err(e) => return Err(io_err(&dir.display().to_string(), e)),
        }
        let lock = try_lock(&dir)
            .map_err(|e| io_err("lock run", e))?
            .ok_or_else(|| UpError::Io("fresh run dir locked by someone else".into()))?;
        // Write the prefix claim so a concurrent allocation with an explicit run id sees it.
        fs::write(dir.join("prefix"), &prefix).map_err(|e| io_err("write prefix", e))?;
        // Lost a race against a concurrent `up` that picked the same hex?
        let clash = list_runs(root)
            .map_err(|e| io_err("list runs", e))?
            .iter()
            .any(|r| {
                r != &id
                    && (run_hex(r) == Some(hex.as_str())
                        || read_prefix(root, r).as_deref() == Some(prefix.as_str()))
            });
        if clash {
            drop(lock);
            let _ = fs::remove_dir_all(&dir);
            continue;
        }
        return Ok(NewRun {
            run_id: id,
            prefix,
            dir,
            lock,
        });
    }
    Err(UpError::Io(
        "could not find a free run prefix after 64 tries".into(),
    ))
}

fn read_prefix(root: &Path, run: &str) -> Option<String> {
    read_prefix_of(&root.join(run))
}

/// The name prefix a run directory claimed (`cbhhhh`).
pub fn read_prefix_of(run_dir: &Path) -> Option<String> {
    fs::read_to_string(run_dir.join("prefix"))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Resolve `id` to a run id: an exact run id, or a topology id with exactly one run.
pub fn resolve(root: &Path, id: &str) -> Result<String, UpError> {
    let runs = list_runs(root).map_err(|e| UpError::Io(e.to_string()))?;
    if runs.iter().any(|r| r == id) {
        return Ok(id.to_owned());
    }
    let matching: Vec<&String> = runs
        .iter()
        .filter(|r| r.rsplit_once('-').map(|(t, _)| t) == Some(id) && run_hex(r).is_some())
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(UpError::NoSuchRun(id.to_owned())),
        many => Err(UpError::Ambiguous {
            id: id.to_owned(),
            runs: many.iter().map(|s| s.to_string()).collect(),
        }),
    }
}
