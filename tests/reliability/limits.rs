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

    // A testbed made by root: nobody's down/clean refuse up front ("needs root"), status
    // reports; none of them removes anything.
    let id = format!("nr-{}", tag());
    let o = run(rr.path(), &["up", fx.to_str().unwrap(), "--run-id", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let snap = snapshot(rr.path(), &id);
    for args in [
        vec!["down", id.as_str()],
        vec!["down", "no-such-run-0000"],
        vec!["clean"],
        vec!["clean", "--json"],
        vec!["status"],
        vec!["status", "--json"],
    ] {
        let out = as_nobody(rr.path(), &args).unwrap();
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        if args[0] == "status" {
            assert!(out.status.success(), "{args:?}: {err}");
            assert!(
                text(&out.stdout).contains(&id),
                "{args:?} does not list {id}"
            );
        } else {
            let err = assert_clean_failure(&out, 1, &format!("{args:?} as nobody"));
            assert!(
                err.contains(&format!("`coo-bench {}` needs root", args[0])),
                "{args:?}: {err}"
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
    // A bad argument: exit 2.
    let err = assert_clean_failure(&out, 2, "run id taken");
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
/// `up` refuses in its plan, before anything is created (exit 2, names the socket).
#[test]
fn reliability_socket_path_too_long_fails_cleanly() {
    if !root_or_skip() {
        return;
    }
    let rr = RunRoot::new();
    let deep = rr.path().join("d".repeat(100));
    std::fs::create_dir(&deep).unwrap();
    let id = format!("long-{}", tag());
    let mut c = cmd(&deep);
    c.args(["up", fixture().to_str().unwrap(), "--run-id", &id]);
    let (out, prefix) = output_watching_prefix(c, &deep, |_, _| {});
    let err = assert_clean_failure(&out, 2, "socket path too long");
    assert!(err.contains("x.sock"), "does not name the socket: {err}");
    assert!(err.contains("UNIX socket path"), "{err}");
    // Refused before a run dir (and so a prefix) was ever claimed.
    assert_eq!(prefix, None, "a run was allocated");
    assert!(dir_is_empty_or_absent(&deep), "run dir left");
    let ours: Vec<_> = processes_matching(&deep.to_string_lossy(), &Default::default());
    assert!(ours.is_empty(), "{ours:?}");
}

/// `up --driver vm` that fails before or while creating anything: a clear named error, a
/// non-zero exit, and nothing of the run left (namespaces, links, domains, run dir).
/// `keep`: a host link name suffix (after the prefix) the test itself made.
fn vm_up_fails_cleanly(
    root: &Path,
    topo: &Path,
    env: &[(&str, &str)],
    keep: Option<&str>,
    on_prefix: impl FnMut(&str, u32),
) -> (String, Option<String>) {
    let mut c = cmd(root);
    c.envs(env.iter().copied()).args([
        "up",
        topo.to_str().unwrap(),
        "--driver",
        "vm",
        "--timeout-ms",
        "60000",
    ]);
    let (out, prefix) = output_watching_prefix(c, root, on_prefix);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "up --driver vm succeeded: {err}");
    assert!(!err.contains("panicked"), "{err}");
    if let Some(p) = &prefix {
        // A foreign link the test made is the only thing allowed to carry the prefix.
        let foreign = keep.map(|k| format!("link host:{p}{k}"));
        let left: Vec<String> = objects_with_prefix(p)
            .into_iter()
            .filter(|o| Some(o) != foreign.as_ref())
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
    assert!(dir_is_empty_or_absent(root), "run dir left");
    (err, prefix)
}

/// VNFs asking for more memory than the host has: refused up front by the host memory check
/// (`testbed::vm::check_host_memory`), nothing made.
#[test]
fn reliability_vm_not_enough_memory_fails_cleanly() {
    if !vm_or_skip() {
        return;
    }
    let rr = RunRoot::new();
    let tdir = tempfile::tempdir().unwrap();
    let topo = xyz_topology_with_memory(tdir.path(), 100_000_000);
    let (err, prefix) = vm_up_fails_cleanly(rr.path(), &topo, &[], None, |_, _| {});
    assert!(err.contains("not enough memory for the VMs"), "{err}");
    assert!(err.contains("MemAvailable"), "{err}");
    assert_eq!(prefix, None, "a run was allocated");
    eprintln!("observed: {}", err.trim());
}

/// libvirt unreachable (`COO_BENCH_LIBVIRT_URI` points at a socket that does not exist):
/// refused up front with a named error, nothing made.
#[test]
fn reliability_vm_libvirt_unreachable_fails_cleanly() {
    if !vm_or_skip() {
        return;
    }
    let rr = RunRoot::new();
    let tdir = tempfile::tempdir().unwrap();
    let topo = xyz_topology_with_memory(tdir.path(), 300);
    let uri = "qemu:///system?socket=/nonexistent/libvirt-sock";
    let (err, prefix) = vm_up_fails_cleanly(
        rr.path(),
        &topo,
        &[("COO_BENCH_LIBVIRT_URI", uri)],
        None,
        |_, _| {},
    );
    assert!(err.contains("libvirt is unreachable"), "{err}");
    assert!(err.contains("/nonexistent/libvirt-sock"), "{err}");
    assert_eq!(prefix, None, "a run was allocated");
    eprintln!("observed: {}", err.trim());
}

/// A host link already named like one of the vm driver's taps (made the moment the run's
/// prefix appears, before `up` reaches its taps): `up` fails naming the tap, rolls back
/// everything it made, and leaves the foreign link alone. `kind`: `ip link add … type
/// bridge` or a persistent tap (`ip tuntap add … mode tap`).
fn vm_tap_name_collision(kind: &str) {
    if !vm_or_skip() {
        return;
    }
    let rr = RunRoot::new();
    let tdir = tempfile::tempdir().unwrap();
    let topo = xyz_topology_with_memory(tdir.path(), 300);
    let mut made: Option<String> = None;
    let mut lost = None;
    let (err, prefix) = vm_up_fails_cleanly(rr.path(), &topo, &[], Some("v2n2"), |p, pid| {
        // z (index 2), its last data NIC: the last tap `up` creates.
        let name = format!("{p}v2n2");
        let args: Vec<&str> = match kind {
            "tap" => vec!["tuntap", "add", "dev", &name, "mode", "tap"],
            _ => vec!["link", "add", &name, "type", kind],
        };
        let out = Command::new("ip").args(&args).output().unwrap();
        if out.status.success() {
            made = Some(name);
        } else {
            // `up` made the tap first: stop it (SIGTERM: it removes what it made).
            lost = Some(text(&out.stderr));
            // SAFETY: kill on the pid of our own child.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
    });
    struct Link(Option<String>);
    impl Drop for Link {
        fn drop(&mut self) {
            if let Some(n) = &self.0 {
                let _ = Command::new("ip").args(["link", "del", n]).status();
            }
        }
    }
    let guard = Link(made.clone());
    let Some(name) = made else {
        // `up` made the tap first (it was stopped and rolled back, checked above).
        eprintln!("skipped: lost the race to the tap ({lost:?}, prefix={prefix:?})");
        return;
    };
    assert!(err.contains(&name), "does not name the tap: {err}");
    assert!(
        Path::new("/sys/class/net").join(&name).exists(),
        "up removed the foreign link {name}"
    );
    let p = prefix.unwrap();
    let left: Vec<String> = objects_with_prefix(&p)
        .into_iter()
        .filter(|o| *o != format!("link host:{name}"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    eprintln!("observed ({kind}): {}", err.trim());
    drop(guard);
}

#[test]
fn reliability_vm_tap_name_collision_with_a_bridge_fails_cleanly() {
    vm_tap_name_collision("bridge");
}

/// Regression (was: TUNSETIFF without `IFF_TUN_EXCL` attached to the foreign tap, which
/// `up` then ledgered and `down` deleted).
#[test]
fn reliability_vm_tap_name_collision_with_a_tap_fails_cleanly() {
    vm_tap_name_collision("tap");
}
