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
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

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
