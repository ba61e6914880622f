//! The router's window on the outside world: clock, chatter (stderr-like messages) and files.
//! Injected so tests and `--simtime` runs stay deterministic; [`StdEnv`] is the real one.

use crate::packet::Timestamp;
use std::cell::Cell;
use std::io::Write;

/// Time source for a router.
pub trait Clock {
    /// Current time. A simulated clock may advance a little on every read (Click does, by 1 µs).
    fn now(&self) -> Timestamp;
    /// Jump to `t` (only simulated clocks move; real clocks ignore it).
    fn advance_to(&self, _t: Timestamp) {}
    /// True for simulated time (`--simtime`).
    fn is_simulated(&self) -> bool {
        false
    }
}

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_nanos() as i64)
    }
}

/// Simulated time as in Click's `--simtime`: starts at 1000000000 s, advances 1 µs per read and
/// jumps to the next timer when the router is idle.
#[derive(Debug)]
pub struct SimClock {
    t: Cell<Timestamp>,
}

impl SimClock {
    /// Start at `start`.
    pub fn new(start: Timestamp) -> Self {
        SimClock {
            t: Cell::new(start),
        }
    }
}

impl Default for SimClock {
    fn default() -> Self {
        SimClock::new(Timestamp::new(1_000_000_000, 0))
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        let t = self.t.get();
        self.t.set(t + Timestamp(1000));
        t
    }
    fn advance_to(&self, t: Timestamp) {
        if t > self.t.get() {
            self.t.set(t);
        }
    }
    fn is_simulated(&self) -> bool {
        true
    }
}

/// Files and messages. Paths `-` mean stdin/stdout as in Click.
pub trait Env {
    /// Print a message line (Click "chatter", normally stderr).
    fn chatter(&mut self, msg: &str);
    /// Whole file contents.
    fn read_file(&mut self, path: &str) -> std::io::Result<Vec<u8>>;
    /// A writer for an output file (truncate/create).
    fn create_file(&mut self, path: &str) -> std::io::Result<Box<dyn Write>>;
}

/// The real environment: stderr, the file system, stdin/stdout for `-`.
#[derive(Debug, Default)]
pub struct StdEnv;

impl Env for StdEnv {
    fn chatter(&mut self, msg: &str) {
        // One write per message, newline included (as Click): lines of processes sharing a
        // pipe (clicktest runs two routers into one) then never interleave.
        let mut line = String::with_capacity(msg.len() + 1);
        line.push_str(msg);
        if !msg.ends_with('\n') {
            line.push('\n');
        }
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
    fn read_file(&mut self, path: &str) -> std::io::Result<Vec<u8>> {
        if path == "-" {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)?;
            Ok(v)
        } else {
            std::fs::read(path)
        }
    }
    fn create_file(&mut self, path: &str) -> std::io::Result<Box<dyn Write>> {
        if path == "-" {
            Ok(Box::new(std::io::stdout()))
        } else {
            Ok(Box::new(std::io::BufWriter::new(std::fs::File::create(
                path,
            )?)))
        }
    }
}

/// The file system with every output confined to one directory (the VNF's engine workdir
/// when an agent runs the engine: `coo-click --confine-files DIR`). A configuration is code:
/// without this, `ToDump(/etc/x)` or Script's `print >FILE` writes wherever the engine may.
/// Relative paths resolve inside the directory; `..` and symlinks are refused. Inputs are not
/// confined (the engine's unprivileged uid bounds what it can read).
#[derive(Debug)]
pub struct ConfinedEnv {
    root: std::path::PathBuf,
}

impl ConfinedEnv {
    /// `root` must exist; it is canonicalized so the prefix check sees the real path.
    pub fn new(root: &std::path::Path) -> std::io::Result<Self> {
        Ok(ConfinedEnv {
            root: std::fs::canonicalize(root)?,
        })
    }

    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// The path `path` names inside the root, or the named refusal.
    pub fn resolve(&self, path: &str) -> std::io::Result<std::path::PathBuf> {
        use std::path::{Component, Path};
        let p = Path::new(path);
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        };
        let escapes = full.components().any(|c| c == Component::ParentDir);
        if escapes || !full.starts_with(&self.root) || full == self.root {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "file output outside the VNF workdir refused (engine-file-confinement: \
                     outputs must be inside {})",
                    self.root.display()
                ),
            ));
        }
        Ok(full)
    }
}

impl Env for ConfinedEnv {
    fn chatter(&mut self, msg: &str) {
        StdEnv.chatter(msg)
    }
    fn read_file(&mut self, path: &str) -> std::io::Result<Vec<u8>> {
        StdEnv.read_file(path)
    }
    fn create_file(&mut self, path: &str) -> std::io::Result<Box<dyn Write>> {
        use std::os::unix::fs::OpenOptionsExt;
        if path == "-" {
            return Ok(Box::new(std::io::stdout()));
        }
        let full = self.resolve(path)?;
        // O_NOFOLLOW: a symlink planted in the workdir does not redirect the write.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(full)?;
        Ok(Box::new(std::io::BufWriter::new(f)))
    }
}

/// A recording environment for tests: chatter and written files are kept in memory.
#[derive(Debug, Default, Clone)]
pub struct MemEnv {
    /// Chatter lines.
    pub chatter: std::rc::Rc<std::cell::RefCell<String>>,
    /// Input files by path.
    pub files: std::collections::HashMap<String, Vec<u8>>,
    /// Output files by path.
    pub outputs: std::rc::Rc<std::cell::RefCell<std::collections::HashMap<String, Vec<u8>>>>,
}

struct MemWriter {
    path: String,
    out: std::rc::Rc<std::cell::RefCell<std::collections::HashMap<String, Vec<u8>>>>,
}

impl Write for MemWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out
            .borrow_mut()
            .entry(self.path.clone())
            .or_default()
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Env for MemEnv {
    fn chatter(&mut self, msg: &str) {
        let mut c = self.chatter.borrow_mut();
        c.push_str(msg);
        if !msg.ends_with('\n') {
            c.push('\n');
        }
    }
    fn read_file(&mut self, path: &str) -> std::io::Result<Vec<u8>> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, path.to_string()))
    }
    fn create_file(&mut self, path: &str) -> std::io::Result<Box<dyn Write>> {
        self.outputs
            .borrow_mut()
            .insert(path.to_string(), Vec::new());
        Ok(Box::new(MemWriter {
            path: path.to_string(),
            out: self.outputs.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn confined_outputs_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = ConfinedEnv::new(dir.path()).unwrap();
        let root = env.root().to_owned();
        env.create_file("out.pcap")
            .unwrap()
            .write_all(b"x")
            .unwrap();
        assert!(root.join("out.pcap").is_file());
        env.create_file(root.join("abs.txt").to_str().unwrap())
            .unwrap();
        for bad in ["/etc/coo-bench-x", "../escape", "a/../../escape"] {
            let e = env.create_file(bad).err().unwrap();
            assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{bad}");
            assert!(e.to_string().contains("engine-file-confinement"), "{e}");
        }
        // A symlink inside the root is not followed.
        let other = tempfile::tempdir().unwrap();
        let target = other.path().join("target");
        std::os::unix::fs::symlink(&target, root.join("link")).unwrap();
        assert!(env.create_file("link").is_err());
        assert!(!target.exists());
    }
}
