//! The SIGKILL tests' two halves: the parent runs one test of its own binary as a child that
//! brings a chain `up` into a given state directory, and kills it at a chosen moment; the
//! child test does nothing when run on its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::sim_hosts::SimHosts;

const TAG: &str = "COO_SIM_CHILD_TAG";
const ROOT: &str = "COO_SIM_CHILD_ROOT";

/// In the child test: the simulated hosts' tag and the state directory its parent chose, or
/// `None` when the test runs on its own (then it must return at once).
pub fn child_env() -> Option<(String, PathBuf)> {
    Some((
        std::env::var(TAG).ok()?,
        PathBuf::from(std::env::var_os(ROOT)?),
    ))
}

/// The child test's whole body: attach the parent's simulated hosts, bring the chain `up`
/// with `up` (its result does not matter: the parent kills this process and cleans), then
/// wait up to `patience` to be killed. Returns at once when the test runs on its own.
pub fn up_then_hang(patience: Duration, up: impl FnOnce(&SimHosts, &Path)) {
    let Some((tag, root)) = child_env() else {
        return;
    };
    let sim = SimHosts::attach(tag);
    up(&sim, &root);
    std::mem::forget(sim); // the parent owns the simulated hosts
    std::thread::sleep(patience);
}

/// A child process of this test binary running test `name`, which brings a chain up into
/// `root` and waits to be killed.
pub struct ChildUp {
    child: Child,
    root: PathBuf,
}

impl ChildUp {
    pub fn spawn(name: &str, sim_tag: &str, root: &Path) -> Self {
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture"])
            .env(TAG, sim_tag)
            .env(ROOT, root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        ChildUp {
            child,
            root: root.to_owned(),
        }
    }

    /// The run's ledger as written so far (empty before `up` made the run).
    pub fn ledger(&self) -> String {
        ChildUp::ledger_of(&self.root)
    }

    pub fn ledger_lines(&self) -> usize {
        self.ledger().lines().count()
    }

    /// Polls `now` every `every` until it is true, the child ended or `patience` passed, then
    /// SIGKILLs the child and reaps it.
    pub fn kill_when(
        mut self,
        patience: Duration,
        every: Duration,
        mut now: impl FnMut(&ChildUp) -> bool,
    ) {
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline && self.child.try_wait().unwrap().is_none() && !now(&self) {
            std::thread::sleep(every);
        }
        let _ = self.child.kill();
        self.child.wait().unwrap();
    }

    /// SIGKILLs the child once its ledger has `k` lines (or it ended, or `patience` passed);
    /// returns the ledger as it was left.
    pub fn kill_at_ledger_line(self, k: usize, patience: Duration) -> String {
        let root = self.root.clone();
        self.kill_when(patience, Duration::from_micros(200), |c| {
            c.ledger_lines() >= k
        });
        ChildUp::ledger_of(&root)
    }

    fn ledger_of(root: &Path) -> String {
        std::fs::read_dir(root)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|r| r.ok())
            .and_then(|r| std::fs::read_to_string(r.path().join("ledger")).ok())
            .unwrap_or_default()
    }
}

/// After the kill at ledger line `k`: `clean` the run under `root` (see
/// [`super::clean_real_net`]), print what it removed (`detail`: what the kill left), then
/// check nothing of the run is left here — no namespace with its prefix, no run directory, no
/// foreign link on the simulated `sites`. Returns the run's prefix (`None`: killed before
/// `up` named the run).
pub fn clean_killed_run(
    root: &Path,
    k: usize,
    detail: &str,
    sim: &SimHosts,
    sites: &[&str],
) -> Option<String> {
    let prefix = super::run_prefix(root);
    let rep = super::clean_real_net(root, &format!("kill at {k}"));
    eprintln!(
        "killed at ledger line {k} ({detail}): clean removed {} object(s)",
        rep.objects_removed
    );
    if let Some(p) = &prefix {
        let left = super::netns_with_prefix(p);
        assert!(left.is_empty(), "kill at {k}: {left:?}");
    }
    for site in sites {
        let left = sim.foreign_links(site);
        assert!(left.is_empty(), "kill at {k}, host {site}: {left:?}");
    }
    assert_eq!(std::fs::read_dir(root).unwrap().count(), 0);
    prefix
}
