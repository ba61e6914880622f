//! The router's window on the outside world: clock, chatter (stderr-like messages) and files.
//! Injected so tests and `--simtime` runs stay deterministic; [`StdEnv`] is the real one.

use crate::packet::Timestamp;
use std::cell::Cell;
use std::io::Write;

/// Click's `timewarp`: how router time runs against real time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Warp {
    /// Router time runs `speed` times as fast as real time (1 = unwarped).
    Linear(f64),
    /// Router time jumps to the next timer whenever the router is idle (Click's `nowait`).
    NoWait,
}

/// Time source for a router. Clones share one time: a hot-swapped router goes on with its
/// predecessor's clock (warp and simulated time included), as Click's global clock does.
pub trait Clock {
    /// Current time. A simulated clock may advance a little on every read (Click does, by 1 µs).
    fn now(&self) -> Timestamp;
    /// Jump to `t` (only simulated and `nowait` clocks move; real clocks ignore it).
    fn advance_to(&self, _t: Timestamp) {}
    /// True for simulated time (`--simtime`).
    fn is_simulated(&self) -> bool {
        false
    }
    /// The timewarp in effect; `None` for simulated time (Click's "simulation").
    fn warp(&self) -> Option<Warp> {
        None
    }
    /// Change the timewarp (Click's `timewarp` write handler).
    fn set_warp(&self, _w: Warp) -> Result<(), String> {
        Err("this clock cannot warp".into())
    }
    /// Real time that passes while router time advances by `d`.
    fn real_wait(&self, d: Timestamp) -> std::time::Duration {
        std::time::Duration::from_nanos(d.0.max(0) as u64)
    }
    /// A handle on the same time.
    fn share(&self) -> Box<dyn Clock>;
}

/// The warp of a [`SystemClock`]: router time is `warped_base + (raw − raw_base) · speed`.
#[derive(Debug, Clone, Copy)]
struct WarpState {
    warp: Warp,
    raw_base: i64,
    warped_base: i64,
}

impl Default for WarpState {
    fn default() -> Self {
        WarpState {
            warp: Warp::Linear(1.0),
            raw_base: 0,
            warped_base: 0,
        }
    }
}

/// Wall-clock time, warpable as Click's userlevel clock (`timewarp` handler).
#[derive(Debug, Default, Clone)]
pub struct SystemClock {
    state: std::rc::Rc<Cell<WarpState>>,
}

impl SystemClock {
    fn raw() -> i64 {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        d.as_nanos() as i64
    }

    fn warped(s: &WarpState, raw: i64) -> i64 {
        let speed = match s.warp {
            Warp::Linear(v) => v,
            Warp::NoWait => 1.0,
        };
        if speed == 1.0 {
            s.warped_base + (raw - s.raw_base)
        } else {
            s.warped_base + ((raw - s.raw_base) as f64 * speed) as i64
        }
    }

    fn rebase(&self, warp: Warp, warped_now: i64) {
        self.state.set(WarpState {
            warp,
            raw_base: Self::raw(),
            warped_base: warped_now,
        });
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp(Self::warped(&self.state.get(), Self::raw()))
    }
    fn advance_to(&self, t: Timestamp) {
        let s = self.state.get();
        if s.warp == Warp::NoWait && t > self.now() {
            self.rebase(Warp::NoWait, t.0);
        }
    }
    fn warp(&self) -> Option<Warp> {
        Some(self.state.get().warp)
    }
    fn set_warp(&self, w: Warp) -> Result<(), String> {
        if let Warp::Linear(v) = w {
            if !(v > 0.0 && v.is_finite()) {
                return Err("timefactor must be > 0".into());
            }
        }
        self.rebase(w, self.now().0);
        Ok(())
    }
    fn real_wait(&self, d: Timestamp) -> std::time::Duration {
        let ns = match self.state.get().warp {
            Warp::Linear(v) => d.0.max(0) as f64 / v,
            Warp::NoWait => 0.0,
        };
        std::time::Duration::from_nanos(ns as u64)
    }
    fn share(&self) -> Box<dyn Clock> {
        Box::new(self.clone())
    }
}

/// Simulated time as in Click's `--simtime`: starts at 1000000000 s, advances 1 µs per read and
/// jumps to the next timer when the router is idle.
#[derive(Debug, Clone)]
pub struct SimClock {
    t: std::rc::Rc<Cell<Timestamp>>,
}

impl SimClock {
    /// Start at `start`.
    pub fn new(start: Timestamp) -> Self {
        SimClock {
            t: std::rc::Rc::new(Cell::new(start)),
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
    fn share(&self) -> Box<dyn Clock> {
        Box::new(self.clone())
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
    fn warped_clock_runs_at_its_speed_and_clones_share_it() {
        let c = SystemClock::default();
        let shared = c.share();
        c.set_warp(Warp::Linear(4.0)).unwrap_or_default();
        assert_eq!(shared.warp(), Some(Warp::Linear(4.0)));
        assert_eq!(
            shared.real_wait(Timestamp(4_000_000)),
            std::time::Duration::from_millis(1)
        );
        let t0 = std::time::Instant::now();
        let a = shared.now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = shared.now();
        let outer = t0.elapsed();
        // Four times the real time between the reads: at least the sleep, at most the outer
        // interval.
        assert!((b - a).0 >= 80_000_000, "{:?}", b - a);
        assert!(
            (b - a).0 as u128 <= 4 * outer.as_nanos() + 4,
            "{:?} {outer:?}",
            b - a
        );
        assert!(c.set_warp(Warp::Linear(0.0)).is_err());
        assert!(c.set_warp(Warp::Linear(f64::NAN)).is_err());
        // nowait: advancing jumps, and never backwards.
        c.set_warp(Warp::NoWait).unwrap_or_default();
        let later = c.now() + Timestamp(3_600_000_000_000);
        c.advance_to(later);
        assert!(shared.now() >= later);
        c.advance_to(Timestamp(0));
        assert!(shared.now() >= later);
        assert_eq!(c.real_wait(Timestamp(5)), std::time::Duration::ZERO);
    }

    #[test]
    fn simulated_time_cannot_warp() {
        let c = SimClock::default();
        assert_eq!(c.warp(), None);
        assert!(c.set_warp(Warp::Linear(2.0)).is_err());
        let s = c.share();
        c.advance_to(Timestamp::new(1_000_000_005, 0));
        assert!(s.now() >= Timestamp::new(1_000_000_005, 0));
    }

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
