//! Crash safety of `up` and `down`: SIGKILL the real `coo-bench` binary at many points
//! (triggered by the number of lines in the run's cleanup ledger, which is written before
//! each object is created, or by a delay after the spawn), check that a fresh `status`
//! reports what survived, then `clean` and assert zero residue: no namespace of the run,
//! no link with its prefix in any namespace, no process inside its namespaces or started
//! for it, no run directory or ledger.
//!
//! CI size: 22 ledger-line and 14 delay kill points in `up`, 11 in `down`.
//! `COO_BENCH_RELIABILITY_LONG=1`: 3 rounds of every ledger line, a kill every 5 ms of the
//! first 500 ms, `up --start` (agents with running engines), 3 rounds of every `down` line.
//!
//! The VM driver (`reliability_vm_*`, root + libvirt + QEMU, skipped with the reason
//! otherwise; they take turns): `up --driver vm` killed at ledger lines, at each domain
//! line of the ledger (written before each domain is created) and while the guests boot; `down` of a VM testbed killed midway; `run --driver vm` killed during its `up` and
//! its trials. Residue also covers libvirt: no domain with the run's prefix, no QEMU
//! process for one, no libvirt state file of one, no tap.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use support::*;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Up,
    Down,
}

/// `status --json` after the kill must describe the run as the ledger and the system have it.
fn check_status(root: &Path, run_id: &str, phase: Phase) {
    let dir = root.join(run_id);
    let st = status_json(root);
    let runs = st.as_array().unwrap();
    let entry = runs.iter().find(|r| r["run_id"] == run_id);
    if !dir.exists() {
        assert!(entry.is_none(), "status lists a run without a directory");
        return;
    }
    let entry = entry.unwrap_or_else(|| panic!("status does not list {run_id}: {st}"));
    let state = entry["state"].as_str().unwrap();
    // The killed process held the lock; the kernel released it.
    assert!(
        state == "up" || state == "incomplete",
        "state {state} after SIGKILL"
    );
    assert_eq!(
        state == "up",
        dir.join("testbed.json").exists(),
        "state {state} vs testbed.json"
    );
    let standing = standing(&dir.join("ledger"));
    assert_eq!(
        entry["ledger_objects"].as_u64().unwrap() as usize,
        standing.len(),
        "ledger objects in status"
    );
    let reported_missing: BTreeSet<String> = entry["missing_netns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let present: BTreeSet<String> = all_netns().into_iter().map(|n| n.name).collect();
    let missing: BTreeSet<String> = standing
        .iter()
        .filter_map(|s| match s {
            Standing::Netns(n) if !present.contains(n) => Some(n.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reported_missing, missing, "missing namespaces in status");
    for a in entry["agents"].as_array().unwrap() {
        let (Some(pid), Some(alive)) = (a["pid"].as_i64(), a["alive"].as_bool()) else {
            continue;
        };
        let start = standing.iter().find_map(|s| match s {
            Standing::Process(p, t) if i64::from(*p) == pid => Some(*t),
            _ => None,
        });
        let really = start.is_some_and(|t| proc_alive(pid as i32, t));
        match phase {
            Phase::Up => assert_eq!(alive, really, "agent {a} alive in status"),
            // A killed `down` may have sent SIGTERM already: an agent can die in between.
            Phase::Down => assert!(alive || !really, "status says dead, but alive: {a}"),
        }
    }
}

/// Clean up and assert nothing of the run is left; returns the objects `clean` removed.
fn clean_and_assert_zero_residue(root: &Path, run_id: &str, snap: &Snapshot, what: &str) -> u64 {
    let rep = clean(root);
    assert!(
        rep["failed"].as_array().unwrap().is_empty(),
        "{what}: clean reported failures: {rep}"
    );
    let left = residue(root, run_id, snap);
    assert!(left.is_empty(), "{what}: residue after clean: {left:#?}");
    // A second clean finds nothing to do.
    let again = clean(root);
    assert_eq!(again["objects_removed"], 0, "{what}: second clean: {again}");
    rep["objects_removed"].as_u64().unwrap_or(0)
}

struct Outcome {
    lines_at_kill: usize,
    finished_first: bool,
    removed: u64,
}

fn up_kill_trial(trigger: Trigger, extra: &[&str]) -> Outcome {
    let rr = RunRoot::new();
    let run_id = format!("rel-{}", tag());
    let ledger = rr.path().join(&run_id).join("ledger");
    let child = spawn_up(rr.path(), &run_id, extra);
    let k = kill_at(child, &ledger, trigger);
    if let Some(st) = k.exited_first {
        assert!(st.success(), "up failed on its own ({st}): {}", k.stderr);
    }
    let snap = snapshot(rr.path(), &run_id);
    check_status(rr.path(), &run_id, Phase::Up);
    let removed =
        clean_and_assert_zero_residue(rr.path(), &run_id, &snap, &format!("up {trigger:?}"));
    Outcome {
        lines_at_kill: k.lines_at_kill,
        finished_first: k.exited_first.is_some(),
        removed,
    }
}

fn down_kill_trial(after_lines: usize) -> Outcome {
    let rr = RunRoot::new();
    let run_id = format!("rel-{}", tag());
    let out = run(
        rr.path(),
        &["up", fixture().to_str().unwrap(), "--run-id", &run_id],
    );
    assert!(out.status.success(), "up: {}", text(&out.stderr));
    let ledger = rr.path().join(&run_id).join("ledger");
    let base = ledger_lines(&ledger);
    // Snapshot while complete: the namespaces' inodes let us find processes that would
    // keep a namespace alive after its name is gone.
    let snap = snapshot(rr.path(), &run_id);
    assert!(!snap.netns.is_empty());
    let child = cmd(rr.path())
        .args(["down", &run_id])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let k = kill_at(child, &ledger, Trigger::Lines(base + after_lines));
    if let Some(st) = k.exited_first {
        assert!(st.success(), "down failed on its own ({st}): {}", k.stderr);
    }
    check_status(rr.path(), &run_id, Phase::Down);
    let removed = clean_and_assert_zero_residue(
        rr.path(),
        &run_id,
        &snap,
        &format!("down after {after_lines} lines"),
    );
    Outcome {
        lines_at_kill: k.lines_at_kill.saturating_sub(base),
        finished_first: k.exited_first.is_some(),
        removed,
    }
}

fn summarize(name: &str, outcomes: &[(String, Outcome)]) {
    let distinct: BTreeSet<usize> = outcomes
        .iter()
        .filter(|(_, o)| !o.finished_first)
        .map(|(_, o)| o.lines_at_kill)
        .collect();
    eprintln!(
        "{name}: {} kills, {} finished before the kill, distinct ledger positions at kill: {:?}",
        outcomes.len(),
        outcomes.iter().filter(|(_, o)| o.finished_first).count(),
        distinct
    );
    for (t, o) in outcomes {
        eprintln!(
            "  {t:<18} lines at kill {:>3}  finished first {:<5}  clean removed {}",
            o.lines_at_kill, o.finished_first, o.removed
        );
    }
}

#[test]
fn reliability_sigkill_up_at_every_ledger_line_then_clean() {
    if !root_or_skip() {
        return;
    }
    let mut outcomes = Vec::new();
    let rounds = if long_mode() { 3 } else { 1 };
    for _ in 0..rounds {
        // k = 0: killed right after the spawn (before the run dir, or with an empty ledger);
        // 21 = the whole x→y→z ledger (before the agents answer / testbed.json).
        for k in 0..=21 {
            let o = up_kill_trial(Trigger::Lines(k), &[]);
            outcomes.push((format!("lines>={k}"), o));
        }
    }
    // Time-triggered kills land anywhere, also inside a single netlink request.
    let delays: Vec<u64> = if long_mode() {
        (0..=500).step_by(5).collect()
    } else {
        vec![0, 1, 2, 3, 5, 8, 13, 20, 30, 50, 80, 120, 200, 300]
    };
    for ms in delays {
        let o = up_kill_trial(Trigger::Delay(Duration::from_millis(ms)), &[]);
        outcomes.push((format!("delay {ms}ms"), o));
    }
    if long_mode() {
        // With engines started by the agents (`--start`): engine processes too.
        for k in [4, 12, 18, 20, 21, 40] {
            let o = up_kill_trial(Trigger::Lines(k), &["--start"]);
            outcomes.push((format!("--start lines>={k}"), o));
        }
    }
    summarize("SIGKILL during up", &outcomes);
    assert!(outcomes.len() >= 36);
    // The trigger is real: most kills happened before `up` had finished.
    let interrupted = outcomes.iter().filter(|(_, o)| !o.finished_first).count();
    assert!(interrupted >= 20, "only {interrupted} kills interrupted up");
}

#[test]
fn reliability_sigkill_down_midway_then_clean() {
    if !root_or_skip() {
        return;
    }
    let points: Vec<usize> = if long_mode() {
        (1..=21).chain(1..=21).chain(1..=21).collect()
    } else {
        (1..=21).step_by(2).collect()
    };
    let mut outcomes = Vec::new();
    for j in points {
        let o = down_kill_trial(j);
        outcomes.push((format!("removed>={j}"), o));
    }
    summarize("SIGKILL during down", &outcomes);
}

/// A killed `up` leaves a lock-free, incomplete run: a second `up` with the same run id is
/// refused cleanly (the leftovers are not silently reused or removed), and `clean` then
/// removes it.
#[test]
fn reliability_killed_up_blocks_same_run_id_until_clean() {
    if !root_or_skip() {
        return;
    }
    let rr = RunRoot::new();
    let run_id = format!("rel-{}", tag());
    let ledger = rr.path().join(&run_id).join("ledger");
    let k = kill_at(
        spawn_up(rr.path(), &run_id, &[]),
        &ledger,
        Trigger::Lines(10),
    );
    assert!(
        k.exited_first.is_none(),
        "up finished before 10 ledger lines"
    );
    let snap = snapshot(rr.path(), &run_id);
    let before = netns_with_prefix(snap.prefix.as_deref().unwrap());
    let out = run(
        rr.path(),
        &["up", fixture().to_str().unwrap(), "--run-id", &run_id],
    );
    // A taken run id is a bad argument: exit 2.
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The refused `up` touched nothing of the leftovers.
    assert_eq!(netns_with_prefix(snap.prefix.as_deref().unwrap()), before);
    assert!(ledger.exists());
    clean_and_assert_zero_residue(rr.path(), &run_id, &snap, "after refused up");
}

// ---------------------------------------------------------------------------------------
// VM driver
// ---------------------------------------------------------------------------------------

/// The VM tests take turns: each boots three TCG guests on shared cores.
static VM_SERIAL: Mutex<()> = Mutex::new(());

fn vm_serial() -> std::sync::MutexGuard<'static, ()> {
    VM_SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where a command working on a VM testbed is SIGKILLed.
#[derive(Clone, Copy, Debug)]
enum VmKill {
    /// The run's ledger has at least this many lines.
    Net(usize),
    /// The ledger has at least this many domain lines (a `create` line is written right
    /// before the domain is created, `removed` right after it is destroyed).
    Dom(usize),
    /// This many ms after the ledger got this many domain lines: inside libvirt's create
    /// call (~0.8 s) of that domain.
    DomAfter(usize, u64),
    /// This many ms after the spawn.
    Ms(u64),
    /// This many ms after the ledger got its 3rd domain line: every guest created,
    /// booting, its agent awaited.
    Booting(u64),
    /// This many ms after testbed.json appeared (`run`: the testbed is up, trials start).
    Up(u64),
    /// Once this many of the run's 3 QEMU processes have exited (`down`: inside its
    /// parallel destruction of the domains).
    QemuGone(usize),
}

/// QEMU processes of the run's domains (`-name guest=<prefix>-…`).
fn qemu_count(prefix: &str) -> usize {
    processes_matching(&format!("guest={prefix}-"), &BTreeSet::new()).len()
}

/// Poll until `cond` holds or `child` exited (or 180 s passed).
fn wait_until(child: &mut Child, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline && !cond() && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn kill_vm(mut child: Child, dir: &Path, at: VmKill) -> Killed {
    let ledger = dir.join("ledger");
    match at {
        VmKill::Net(k) => kill_at(child, &ledger, Trigger::Lines(k)),
        VmKill::Dom(k) => {
            wait_until(&mut child, || domain_lines(&ledger) >= k);
            kill_at(child, &ledger, Trigger::Delay(Duration::ZERO))
        }
        VmKill::DomAfter(k, ms) => {
            wait_until(&mut child, || domain_lines(&ledger) >= k);
            kill_at(child, &ledger, Trigger::Delay(Duration::from_millis(ms)))
        }
        VmKill::Ms(ms) => kill_at(child, &ledger, Trigger::Delay(Duration::from_millis(ms))),
        VmKill::Booting(ms) => {
            wait_until(&mut child, || domain_lines(&ledger) >= 3);
            kill_at(child, &ledger, Trigger::Delay(Duration::from_millis(ms)))
        }
        VmKill::Up(ms) => {
            wait_until(&mut child, || dir.join("testbed.json").exists());
            kill_at(child, &ledger, Trigger::Delay(Duration::from_millis(ms)))
        }
        VmKill::QemuGone(n) => {
            let prefix = std::fs::read_to_string(dir.join("prefix")).unwrap();
            let prefix = prefix.trim();
            let before = qemu_count(prefix);
            wait_until(&mut child, || qemu_count(prefix) + n <= before);
            kill_at(child, &ledger, Trigger::Delay(Duration::ZERO))
        }
    }
}

/// What one VM kill did.
struct VmOutcome {
    at: String,
    finished_first: bool,
    /// Ledger lines / its domain lines right after the kill.
    net_lines: usize,
    dom_lines: usize,
    /// Domains of the run libvirt listed right after the kill.
    domains_standing: usize,
    /// Hostnet objects `clean` removed.
    removed: u64,
    secs: f64,
    /// The killed command's last line of output (where `run` was).
    last: String,
}

/// For a VM run: `domains` lists exactly the ledger's domains not marked removed, each
/// `gone` iff libvirt does not list it (also for an `incomplete` run, which has no agents
/// to show); for a run that is `up`, each agent's `domain_state` agrees too.
fn check_status_vm(root: &Path, run_id: &str, prefix: &str) {
    let st = status_json(root);
    let Some(entry) = st
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_id"] == run_id)
    else {
        return;
    };
    let listed = domains_with_prefix(prefix);
    let ledgered = live_domain_lines(&root.join(run_id).join("ledger"));
    let shown: Vec<(String, String)> = entry["domains"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    (
                        d["domain"].as_str().unwrap().to_owned(),
                        d["state"].as_str().unwrap_or("?").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        shown.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>(),
        ledgered,
        "status domains vs the domain ledger: {entry}"
    );
    for (dom, state) in &shown {
        assert_eq!(
            state == "gone",
            !listed.iter().any(|d| d == dom),
            "status says {dom} is {state}; libvirt lists {listed:?}"
        );
    }
    if entry["state"] != "up" {
        return;
    }
    let agents = entry["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 3, "status agents of a VM testbed: {entry}");
    for a in agents {
        let dom = a["domain"].as_str().unwrap();
        let state = a["domain_state"].as_str().unwrap();
        assert_eq!(
            state == "gone",
            !listed.iter().any(|d| d == dom),
            "status says {dom} is {state}; libvirt lists {listed:?}"
        );
    }
}

/// The ledger's lines that are about domains: each domain's `create` line and the
/// `failed`/`removed` line of its sequence number.
fn domain_line_values(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut seqs = BTreeSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let seq = v["seq"].as_u64();
        if v["op"] == "create" && v["object"]["kind"] == "domain" {
            seqs.extend(seq);
            out.push(v);
        } else if seq.is_some_and(|s| seqs.contains(&s)) {
            out.push(v);
        }
    }
    out
}

fn domain_lines(path: &Path) -> usize {
    domain_line_values(path).len()
}

/// Domains of the ledger created and not yet marked failed or removed, in order (read
/// here, independently of the ledger code).
fn live_domain_lines(path: &Path) -> Vec<String> {
    let mut live: Vec<(u64, String)> = Vec::new();
    for v in domain_line_values(path) {
        let seq = v["seq"].as_u64().unwrap_or(u64::MAX);
        if v["op"] == "create" {
            let dom = v["object"]["name"].as_str().unwrap_or_default().to_owned();
            live.push((seq, dom));
        } else {
            live.retain(|(s, _)| *s != seq);
        }
    }
    live.into_iter().map(|(_, d)| d).collect()
}

/// After a kill: status, then `clean`, then zero residue (domains, QEMU, taps, namespaces,
/// processes, run dir).
fn vm_after_kill(
    root: &Path,
    run_id: &str,
    k: &Killed,
    phase: Phase,
    snap: Option<Snapshot>,
    at: String,
    t0: Instant,
) -> VmOutcome {
    let dir = root.join(run_id);
    let net_lines = ledger_lines(&dir.join("ledger"));
    let dom_lines = domain_lines(&dir.join("ledger"));
    // `down`: the snapshot taken while the testbed was complete (namespace inodes).
    let snap = snap.unwrap_or_else(|| snapshot(root, run_id));
    let domains_standing = snap
        .prefix
        .as_deref()
        .map(|p| domains_with_prefix(p).len())
        .unwrap_or(0);
    check_status(root, run_id, phase);
    if let Some(p) = snap.prefix.as_deref() {
        check_status_vm(root, run_id, p);
    }
    let removed = clean_and_assert_zero_residue(root, run_id, &snap, &at);
    VmOutcome {
        at,
        finished_first: k.exited_first.is_some(),
        net_lines,
        dom_lines,
        domains_standing,
        removed,
        secs: t0.elapsed().as_secs_f64(),
        last: k
            .stderr
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("")
            .chars()
            .take(90)
            .collect(),
    }
}

fn vm_up_kill_trial(at: VmKill) -> VmOutcome {
    let t0 = Instant::now();
    let rr = RunRoot::new();
    let run_id = format!("rel-{}", tag());
    let dir = rr.path().join(&run_id);
    let k = kill_vm(spawn_up_vm(rr.path(), &run_id), &dir, at);
    if let Some(st) = k.exited_first {
        assert!(
            st.success(),
            "up --driver vm failed on its own ({st}): {}",
            k.stderr
        );
    }
    vm_after_kill(
        rr.path(),
        &run_id,
        &k,
        Phase::Up,
        None,
        format!("up {at:?}"),
        t0,
    )
}

/// `at` counts lines `down` added (Net, Dom) or time since its spawn (Ms).
fn vm_down_kill_trial(at: VmKill) -> VmOutcome {
    let rr = RunRoot::new();
    let run_id = format!("rel-{}", tag());
    let dir = rr.path().join(&run_id);
    let out = cmd(rr.path())
        .args(["up", fixture().to_str().unwrap(), "--driver", "vm"])
        .args(["--run-id", &run_id, "--timeout-ms", "180000"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "up --driver vm: {}",
        text(&out.stderr)
    );
    let snap = snapshot(rr.path(), &run_id);
    assert_eq!(
        domains_with_prefix(snap.prefix.as_deref().unwrap()).len(),
        3,
        "domains after up"
    );
    let (net0, dom0) = (
        ledger_lines(&dir.join("ledger")),
        domain_lines(&dir.join("ledger")),
    );
    let t0 = Instant::now();
    let child = cmd(rr.path())
        .args(["down", &run_id])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let abs = match at {
        VmKill::Net(j) => VmKill::Net(net0 + j),
        VmKill::Dom(j) => VmKill::Dom(dom0 + j),
        other => other,
    };
    let k = kill_vm(child, &dir, abs);
    if let Some(st) = k.exited_first {
        assert!(st.success(), "down failed on its own ({st}): {}", k.stderr);
    }
    let mut o = vm_after_kill(
        rr.path(),
        &run_id,
        &k,
        Phase::Down,
        Some(snap),
        format!("down {at:?}"),
        t0,
    );
    // Report what `down` had removed when it died.
    o.net_lines = o.net_lines.saturating_sub(net0);
    o.dom_lines = o.dom_lines.saturating_sub(dom0);
    o
}

fn vm_run_kill_trial(at: VmKill) -> VmOutcome {
    let t0 = Instant::now();
    let rr = RunRoot::new();
    let out = tempfile::tempdir().unwrap();
    // Its output (to a file: a full pipe would stall it) shows where the kill landed.
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = cmd(rr.path())
        .env("COO_BENCH_COO_CLICK", env!("CARGO_BIN_EXE_coo-click"))
        .args([
            "run",
            fixture().to_str().unwrap(),
            "--quick",
            "--no-baseline",
        ])
        .args(["--driver", "vm", "--out"])
        .arg(out.path())
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    // `run` chooses the run id: wait for its directory.
    let first_entry = || {
        std::fs::read_dir(rr.path())
            .ok()
            .and_then(|mut rd| rd.next())
            .and_then(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
    };
    wait_until(&mut child, || first_entry().is_some());
    let run_id = first_entry().expect("run never created its run dir");
    let k = kill_vm(child, &rr.path().join(&run_id), at);
    let progress = std::fs::read_to_string(log.path()).unwrap_or_default();
    assert!(
        k.exited_first.is_none(),
        "run ended before the kill at {at:?}: {progress}"
    );
    let mut o = vm_after_kill(
        rr.path(),
        &run_id,
        &k,
        Phase::Up,
        None,
        format!("run {at:?}"),
        t0,
    );
    if let Some(l) = progress.lines().rfind(|l| !l.trim().is_empty()) {
        o.last = l.chars().take(140).collect();
    }
    o
}

fn summarize_vm(name: &str, outcomes: &[VmOutcome], t0: Instant) {
    eprintln!(
        "{name}: {} kills in {:.0} s, {} finished before the kill",
        outcomes.len(),
        t0.elapsed().as_secs_f64(),
        outcomes.iter().filter(|o| o.finished_first).count()
    );
    for o in outcomes {
        eprintln!(
            "  {:<24} ledger {:>2}  domains {:>1}  libvirt had {} domain(s)  finished first {:<5}  clean removed {:>2}  {:>5.1} s",
            o.at, o.net_lines, o.dom_lines, o.domains_standing, o.finished_first, o.removed, o.secs
        );
        if !o.last.is_empty() {
            eprintln!("      last output line: {}", o.last);
        }
    }
}

#[test]
fn reliability_vm_sigkill_up_then_clean() {
    if !vm_or_skip() {
        return;
    }
    let _serial = vm_serial();
    let t0 = Instant::now();
    // Ledger of x→y→z as VMs: 4 namespaces (lines 1–4), 5 bridges (5–9), 4 veths
    // (10–13), then per VM its 3 taps and its domain (x: 14–17, y: 18–21, z: 22–25), the
    // domain line written right before the domain's creation.
    let mut points: Vec<VmKill> = if long_mode() {
        (0..=25).map(VmKill::Net).collect()
    } else {
        [0, 1, 4, 9, 12, 17, 23]
            .into_iter()
            .map(VmKill::Net)
            .collect()
    };
    let rounds = if long_mode() { 2 } else { 1 };
    for _ in 0..rounds {
        points.extend((1..=3).map(VmKill::Dom));
    }
    // Inside libvirt's create call.
    let mid_create: &[(usize, u64)] = if long_mode() {
        &[
            (1, 100),
            (1, 400),
            (1, 700),
            (2, 400),
            (3, 100),
            (3, 400),
            (3, 700),
        ]
    } else {
        &[(1, 400), (3, 400)]
    };
    points.extend(mid_create.iter().map(|&(k, ms)| VmKill::DomAfter(k, ms)));
    let booting: &[u64] = if long_mode() {
        &[
            0, 250, 500, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10_000,
        ]
    } else {
        &[500, 4000, 7000]
    };
    points.extend(booting.iter().map(|&ms| VmKill::Booting(ms)));
    let outcomes: Vec<VmOutcome> = points.into_iter().map(vm_up_kill_trial).collect();
    summarize_vm("SIGKILL during up --driver vm", &outcomes, t0);
    assert!(outcomes.len() >= 15);
    // The kills are real: nearly all interrupted `up` (the last boot delays may not).
    let interrupted = outcomes.iter().filter(|o| !o.finished_first).count();
    assert!(interrupted >= 13, "only {interrupted} kills interrupted up");
    // Kills at the domain ledger landed between domain creations.
    for k in 1..=3 {
        assert!(
            outcomes
                .iter()
                .any(|o| o.at == format!("up Dom({k})") && o.dom_lines == k),
            "no kill landed at domain line {k}"
        );
    }
}

#[test]
fn reliability_vm_sigkill_down_midway_then_clean() {
    if !vm_or_skip() {
        return;
    }
    let _serial = vm_serial();
    let t0 = Instant::now();
    // `down` destroys the domains (in parallel, then a `removed` line per domain), then
    // the 21 network objects newest first.
    let points: Vec<VmKill> = if long_mode() {
        let mut v: Vec<VmKill> = [0, 300, 600].map(VmKill::Ms).to_vec();
        v.extend((1..=3).map(VmKill::QemuGone));
        v.extend((1..=3).map(VmKill::Dom));
        // Lines 1–3 are the domains' `removed` lines, 4–25 the network objects.
        v.extend([4, 8, 12, 16, 20, 23].map(VmKill::Net));
        v
    } else {
        vec![
            VmKill::QemuGone(1),
            VmKill::Dom(1),
            VmKill::Net(4),
            VmKill::Net(15),
        ]
    };
    let outcomes: Vec<VmOutcome> = points.into_iter().map(vm_down_kill_trial).collect();
    summarize_vm("SIGKILL during down (vm)", &outcomes, t0);
    assert!(outcomes.len() >= 4);
    // The mid-destruction kill found QEMU processes still to go.
    if let Some(o) = outcomes.iter().find(|o| o.at == "down QemuGone(1)") {
        assert!(!o.finished_first, "down finished before a QEMU exited");
    }
}

#[test]
fn reliability_vm_sigkill_run_then_clean() {
    if !vm_or_skip() {
        return;
    }
    let _serial = vm_serial();
    let t0 = Instant::now();
    let points: Vec<VmKill> = if long_mode() {
        vec![
            VmKill::Net(5),
            VmKill::Net(14),
            VmKill::Dom(2),
            VmKill::Booting(2000),
            VmKill::Up(0),
            VmKill::Up(1000),
            VmKill::Up(3000),
            VmKill::Up(6000),
            VmKill::Up(10_000),
        ]
    } else {
        vec![
            VmKill::Net(14),
            VmKill::Dom(2),
            VmKill::Up(500),
            VmKill::Up(4000),
        ]
    };
    let outcomes: Vec<VmOutcome> = points.into_iter().map(vm_run_kill_trial).collect();
    summarize_vm("SIGKILL during run --driver vm", &outcomes, t0);
    assert!(outcomes.len() >= 4);
}
