//! Resource limits and hostile arguments: clear errors (never a panic), exit codes per
//! CONTRACTS.md (2 invalid input, 1 runtime error), and nothing left behind.
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::*;

fn assert_clean_failure(out: &Output, code: i32, what: &str) -> String {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: exit {:?}\nstderr: {err}\nstdout: {}",
        out.status,
        text(&out.stdout)
    );
    assert!(!err.contains("panicked"), "{what}: panic: {err}");
    assert!(!err.trim().is_empty(), "{what}: no error message");
    err
}

fn dir_is_empty_or_absent(p: &Path) -> bool {
    std::fs::read_dir(p).map_or(true, |mut rd| rd.next().is_none())
}

/// `setpriv` to user/group nobody, all capabilities dropped.
fn as_nobody(root: &Path, args: &[&str]) -> Option<Output> {
    if Command::new("setpriv")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("skipped: setpriv (util-linux) not installed");
        return None;
    }
    Some(
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--",
                BIN,
            ])
            .args(args)
            .env("COO_BENCH_RUN_DIR", root)
            .env("COO_BENCH_COO_VNF", VNF_BIN)
            .output()
            .unwrap(),
    )
}

#[test]
fn reliability_not_root_gives_clear_error_and_touches_nothing() {
    if !root_or_skip() {
        return;
    }
    let rr = RunRoot::new();
    // Readable by nobody, so the non-root paths past "can I read the runs" are exercised.
    std::fs::set_permissions(rr.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let fx = fixture();
    let Some(out) = as_nobody(rr.path(), &["up", fx.to_str().unwrap()]) else {
        return;
    };
    let err = assert_clean_failure(&out, 1, "up as nobody");
    assert!(err.contains("root"), "{err}");
    assert!(dir_is_empty_or_absent(rr.path()));

    // A testbed made by root: nobody's down/clean/status fail or report, never remove it.
    let id = format!("nr-{}", tag());
    let o = run(rr.path(), &["up", fx.to_str().unwrap(), "--run-id", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let snap = snapshot(rr.path(), &id);
    for args in [
        vec!["down", id.as_str()],
        vec!["clean"],
        vec!["clean", "--json"],
        vec!["status"],
        vec!["status", "--json"],
    ] {
        let out = as_nobody(rr.path(), &args).unwrap();
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        if !out.status.success() {
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            // With --json the reasons are in the report on stdout.
            let said = format!("{err}{}", text(&out.stdout));
            assert!(
                said.contains("ermission") || said.contains("root"),
                "{args:?}: {said}"
            );
        }
        assert_eq!(
            netns_with_prefix(snap.prefix.as_deref().unwrap()),
            snap.netns,
            "{args:?} as nobody changed the testbed"
        );
        assert!(rr.path().join(&id).join("testbed.json").exists());
    }
    let o = run(rr.path(), &["down", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let left = residue(rr.path(), &id, &snap);
    assert!(left.is_empty(), "{left:#?}");
}

#[test]
fn reliability_invalid_topology_exit_2_and_no_run_entry() {
    if !root_or_skip() {
        return;
    }
    let cases = [
        "topologies/invalid/cycle.json",
        "topologies/invalid/json-syntax.json",
        "topologies/invalid/name-too-long.json",
        "topologies/invalid/name-collision.json",
        "topologies/invalid/duplicate-mac.json",
        "topologies/invalid/unknown-field.json",
        "topologies/invalid/address-outside-benchmark-range.json",
        "topologies/invalid/pycoo-10-self-loop.json",
        "topologies/invalid/not-a-topology",
        "does/not/exist.json",
    ];
    for case in cases {
        let rr = RunRoot::new();
        // A root that does not exist yet: an invalid `up` must not even create it.
        let root = rr.path().join("run");
        let out = run(&root, &["up", fixture_path(case).to_str().unwrap()]);
        assert_clean_failure(&out, 2, case);
        assert!(!root.exists(), "{case}: created the run root");
    }
    // Unknown variant of a valid topology: invalid input too, and nothing left.
    let rr = RunRoot::new();
    let out = run(
        rr.path(),
        &["up", fixture().to_str().unwrap(), "--variant", "nope"],
    );
    let err = assert_clean_failure(&out, 2, "unknown variant");
    assert!(err.contains("nope"), "{err}");
    assert!(
        dir_is_empty_or_absent(rr.path()),
        "unknown variant left a run dir"
    );
    // Unknown run id for down.
    let out = run(rr.path(), &["down", "no-such-run-0000"]);
    assert_clean_failure(&out, 2, "down of an unknown run");
}

/// The same run id twice: the second `up` fails with a clear message and the first testbed
/// stays whole.
#[test]
fn reliability_run_id_collision_is_refused() {
    if !root_or_skip() {
        return;
    }
    let rr = RunRoot::new();
    let id = format!("dup-{}", tag());
    let fx = fixture();
    let o = run(rr.path(), &["up", fx.to_str().unwrap(), "--run-id", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let snap = snapshot(rr.path(), &id);
    let out = run(rr.path(), &["up", fx.to_str().unwrap(), "--run-id", &id]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(&id) && err.contains("exists"), "{err}");
    assert_eq!(
        netns_with_prefix(snap.prefix.as_deref().unwrap()),
        snap.netns
    );
    assert!(rr.path().join(&id).join("testbed.json").exists());
    let o = run(rr.path(), &["down", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(residue(rr.path(), &id, &snap).is_empty());
}

/// A run id must not escape the run root: `clean`/`status` only look under the root, so a
/// testbed made elsewhere would be invisible to them and leak.
#[test]
fn reliability_run_id_cannot_escape_run_root() {
    if !root_or_skip() {
        return;
    }
    let rr = RunRoot::new();
    let root = rr.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let fx = fixture();
    for bad in ["../escaped", "/tmp/coo-rel-abs-escape", "a/b", "", "."] {
        let out = run(&root, &["up", fx.to_str().unwrap(), "--run-id", bad]);
        let escaped = rr.path().join("escaped");
        let abs = Path::new("/tmp/coo-rel-abs-escape");
        // Leave nothing behind whatever happened (the run dirs are outside the root).
        for d in [&escaped, &abs.to_path_buf()] {
            if d.join("ledger").exists() {
                let parent = d.parent().unwrap();
                let name = d.file_name().unwrap().to_str().unwrap();
                let _ = run(parent, &["down", name]);
            }
        }
        assert_clean_failure(&out, 2, &format!("--run-id {bad:?}"));
        assert!(
            !escaped.exists() && !abs.exists(),
            "{bad:?} escaped the root"
        );
        assert!(dir_is_empty_or_absent(&root), "{bad:?} left a run dir");
    }
}

/// The agent binary is missing, dies at once, or never answers: `up` fails with a clear
/// error and removes everything it made (no namespace, process or run dir left).
#[test]
fn reliability_agent_faults_during_up_roll_back() {
    if !root_or_skip() {
        return;
    }
    let scripts = tempfile::tempdir().unwrap();
    let dies = scripts.path().join("dies.sh");
    std::fs::write(
        &dies,
        "#!/bin/sh\necho 'agent refuses to start' >&2\nexit 3\n",
    )
    .unwrap();
    let mute = scripts.path().join("mute.sh");
    // Never listens: `up` must give up after its timeout, and stop this "agent" too.
    std::fs::write(&mute, "#!/bin/sh\nexec sleep 60\n").unwrap();
    for p in [&dies, &mute] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let missing = scripts.path().join("no-such-agent");
    for (agent, what, needle) in [
        (&missing, "missing agent binary", "not found"),
        (&dies, "agent exits at once", "exited"),
        (&mute, "agent never answers", "did not answer"),
    ] {
        let rr = RunRoot::new();
        let id = format!("ag-{}", tag());
        let out = cmd(rr.path())
            .env("COO_BENCH_COO_VNF", agent)
            .args([
                "up",
                fixture().to_str().unwrap(),
                "--run-id",
                &id,
                "--timeout-ms",
                "1500",
            ])
            .output()
            .unwrap();
        let err = assert_clean_failure(&out, 1, what);
        assert!(err.contains(needle), "{what}: {err}");
        // Rolled back by `up` itself: no `clean` needed.
        assert!(dir_is_empty_or_absent(rr.path()), "{what}: run dir left");
        let sleepers = processes_matching(&mute.to_string_lossy(), &Default::default());
        assert!(sleepers.is_empty(), "{what}: {sleepers:?}");
        let ours: Vec<_> = all_netns()
            .into_iter()
            .filter(|n| n.name.contains(&id))
            .collect();
        assert!(ours.is_empty());
    }
    // The scripts' "agents" must be gone (they ran in namespaces that no longer exist).
    std::thread::sleep(Duration::from_millis(50));
    let sleepers = processes_matching(&scripts.path().to_string_lossy(), &Default::default());
    assert!(sleepers.is_empty(), "{sleepers:?}");
}

/// A namespace that looks like a testbed's but is in no ledger is not ours: `clean` reports
/// it and leaves it alone.
#[test]
fn reliability_clean_never_touches_foreign_lookalike_namespaces() {
    if !root_or_skip() {
        return;
    }
    struct Ns(String);
    impl Drop for Ns {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    // `cb` + 4 hex, like a run prefix (the `cbt` test prefix would not look like ours).
    let name = format!("cb{}-rel", tag());
    let st = Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .unwrap();
    assert!(st.success());
    let guard = Ns(name.clone());
    let rr = RunRoot::new();
    let rep = clean(rr.path());
    let foreign: Vec<&str> = rep["foreign_netns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(foreign.contains(&name.as_str()), "{rep}");
    assert!(
        all_netns().iter().any(|n| n.name == name),
        "clean removed {name}"
    );
    drop(guard);
}

/// A run root so deep that the agents' UNIX socket paths exceed `sun_path` (108 bytes):
/// `up` fails naming the socket, and leaves nothing (namespaces made before are rolled back).
#[test]
fn reliability_socket_path_too_long_fails_cleanly() {
    if !root_or_skip() {
        return;
    }
    let rr = RunRoot::new();
    let deep = rr.path().join("d".repeat(100));
    std::fs::create_dir(&deep).unwrap();
    let id = format!("long-{}", tag());
    let child = cmd(&deep)
        .args(["up", fixture().to_str().unwrap(), "--run-id", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Learn the prefix while `up` runs (its run dir is gone afterwards).
    let prefix_file = deep.join(&id).join("prefix");
    let mut prefix = None;
    let pid = child.id() as i32;
    while start_time(pid).is_some()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z")
    {
        if let Ok(p) = std::fs::read_to_string(&prefix_file) {
            if !p.trim().is_empty() {
                prefix = Some(p.trim().to_owned());
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    if let Some(p) = &prefix {
        assert!(netns_with_prefix(p).is_empty(), "namespaces of {p} left");
        assert!(links_with_prefix(p).is_empty(), "links of {p} left");
    } else {
        eprintln!("note: the prefix was not seen while up ran");
    }
    assert!(!out.status.success(), "{err}");
    assert!(matches!(out.status.code(), Some(1 | 2)), "{:?}", out.status);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(".sock"), "does not name the socket: {err}");
    assert!(dir_is_empty_or_absent(&deep), "run dir left");
    let ours: Vec<_> = processes_matching(&deep.to_string_lossy(), &Default::default());
    assert!(ours.is_empty(), "{ours:?}");
}
