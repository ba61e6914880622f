//! Shared helpers of the reliability suite: drive the built `coo-bench` binary against a
//! private run root, and look for residue with independent means (`/run/netns`, `ip -n`,
//! `/proc`), not through the testbed crate whose cleanup is under test.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_coo-bench");
pub const VNF_BIN: &str = env!("CARGO_BIN_EXE_coo-vnf");

/// `COO_BENCH_RELIABILITY_LONG=1` selects the long versions (more kill points, rounds).
pub fn long_mode() -> bool {
    std::env::var("COO_BENCH_RELIABILITY_LONG").is_ok_and(|v| v == "1")
}

pub fn root_or_skip() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root (network namespaces, bridges, setns)");
        return false;
    }
    if !Path::new("/run/netns").exists() && std::fs::create_dir_all("/run/netns").is_err() {
        eprintln!("skipped: /run/netns cannot be created");
        return false;
    }
    true
}

/// The PyCOO x→y→z example: 6 namespaces, 4 bridges, 3 agents.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pycoo/ClickOnOSvManager")
}

/// The same x → y → z chain as [`fixture`] as a topology file whose test traffic (TCP) y's
/// firewall passes: `run` measures real trials on it (the PyCOO fixture's default UDP is
/// dropped by y, so its Click variant fails the readiness check within a second).
pub fn measured_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/pycoo-xyz.json")
}

pub fn fixture_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// A `coo-bench` command against a private run root.
pub fn cmd(root: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("COO_BENCH_RUN_DIR", root)
        .env("COO_BENCH_COO_VNF", VNF_BIN)
        .env_remove("COO_BENCH_LOG");
    c
}

pub fn run(root: &Path, args: &[&str]) -> Output {
    cmd(root).args(args).output().unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Spawn `coo-bench up FIXTURE --run-id ID [extra]`, output discarded.
pub fn spawn_up(root: &Path, run_id: &str, extra: &[&str]) -> Child {
    cmd(root)
        .arg("up")
        .arg(fixture())
        .args(["--run-id", run_id, "--timeout-ms", "30000"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Lines (complete or torn) in a ledger; 0 when it does not exist yet.
pub fn ledger_lines(path: &Path) -> usize {
    match std::fs::read(path) {
        Ok(b) => b.iter().filter(|&&c| c == b'\n').count(),
        Err(_) => 0,
    }
}

/// When to SIGKILL a spawned command.
#[derive(Clone, Copy, Debug)]
pub enum Trigger {
    /// Once the ledger has at least this many lines.
    Lines(usize),
    /// This long after the spawn.
    Delay(Duration),
}

/// What happened to a killed child.
#[derive(Debug)]
pub struct Killed {
    /// The child had already exited on its own (trigger never reached).
    pub exited_first: Option<std::process::ExitStatus>,
    pub stderr: String,
    /// Ledger lines right after the kill.
    pub lines_at_kill: usize,
}

/// Wait for `trigger`, then SIGKILL `child` (unless it exited first).
pub fn kill_at(mut child: Child, ledger: &Path, trigger: Trigger) -> Killed {
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(60);
    let mut exited_first = None;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            exited_first = Some(st);
            break;
        }
        let fire = match trigger {
            Trigger::Lines(k) => ledger_lines(ledger) >= k,
            Trigger::Delay(d) => t0.elapsed() >= d,
        };
        if fire || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    if exited_first.is_none() {
        let _ = child.kill(); // SIGKILL
        let st = child.wait().unwrap();
        // It may have finished between the last poll and the kill.
        if st.code().is_some() {
            exited_first = Some(st);
        }
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    Killed {
        exited_first,
        stderr,
        lines_at_kill: ledger_lines(ledger),
    }
}

/// A named namespace and the inode of its nsfs file (survives the name's removal while
/// a process still holds the namespace).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NsId {
    pub name: String,
    pub inode: Option<u64>,
}

/// Namespaces under /run/netns.
pub fn all_netns() -> Vec<NsId> {
    let mut v: Vec<NsId> = std::fs::read_dir("/run/netns")
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    NsId {
                        inode: std::fs::metadata(e.path()).ok().map(|m| m.ino()),
                        name,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn netns_with_prefix(prefix: &str) -> Vec<NsId> {
    all_netns()
        .into_iter()
        .filter(|n| n.name == prefix || n.name.starts_with(&format!("{prefix}-")))
        .collect()
}

/// Links whose name starts with `prefix`, in the host namespace and in every named one.
pub fn links_with_prefix(prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/sys/class/net") {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(prefix) {
                found.push(format!("host:{n}"));
            }
        }
    }
    for ns in all_netns() {
        let out = Command::new("ip")
            .args(["-n", &ns.name, "-o", "link", "show"])
            .stderr(Stdio::null())
            .output();
        if let Ok(out) = out {
            for line in text(&out.stdout).lines() {
                // "3: name@peer: <...>"
                if let Some(name) = line.split(": ").nth(1) {
                    let name = name.split('@').next().unwrap_or(name);
                    if name.starts_with(prefix) {
                        found.push(format!("{}:{name}", ns.name));
                    }
                }
            }
        }
    }
    found
}

/// Processes whose command line mentions `needle`, or whose network namespace is one of
/// `inodes`: (pid, cmdline).
pub fn processes_matching(needle: &str, inodes: &BTreeSet<u64>) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    let me = std::process::id() as i32;
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline"))
            .map(|b| {
                b.split(|&c| c == 0)
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        // Zombies have an empty cmdline and no namespace link: not running anything.
        let ns_ino = std::fs::metadata(e.path().join("ns/net"))
            .ok()
            .map(|m| m.ino());
        let in_ns = ns_ino.is_some_and(|i| inodes.contains(&i));
        if (!needle.is_empty() && cmdline.contains(needle)) || in_ns {
            out.push((pid, cmdline));
        }
    }
    out
}

/// Start time (clock ticks since boot) of a pid, to tell reused pids apart.
pub fn start_time(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = s.rsplit_once(')')?.1;
    // Fields after the comm: state is field 3; starttime is field 22.
    after.split_whitespace().nth(19)?.parse().ok()
}

pub fn proc_alive(pid: i32, start: u64) -> bool {
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, a)| a.split_whitespace().next().map(str::to_owned))
        });
    start_time(pid) == Some(start) && state.as_deref() != Some("Z")
}

/// One object still standing in a ledger, as read here (independently of hostnet).
#[derive(Clone, Debug)]
pub enum Standing {
    Netns(String),
    Link(Option<String>, String),
    Process(i32, u64),
    /// A VM domain (vm driver), by name.
    Domain(String),
}

/// Standing objects of a ledger: creates minus failed/removed; a torn line is skipped.
pub fn standing(ledger: &Path) -> Vec<Standing> {
    let Ok(textv) = std::fs::read_to_string(ledger) else {
        return Vec::new();
    };
    let mut live = std::collections::BTreeMap::new();
    for line in textv.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let seq = v["seq"].as_u64().unwrap();
        match v["op"].as_str().unwrap() {
            "create" => {
                let o = &v["object"];
                let s = match o["kind"].as_str().unwrap() {
                    "netns" => Standing::Netns(o["name"].as_str().unwrap().to_owned()),
                    "link" => Standing::Link(
                        o["netns"].as_str().map(str::to_owned),
                        o["name"].as_str().unwrap().to_owned(),
                    ),
                    "process" => Standing::Process(
                        o["pid"].as_i64().unwrap() as i32,
                        o["start_time"].as_u64().unwrap(),
                    ),
                    "domain" => Standing::Domain(o["name"].as_str().unwrap().to_owned()),
                    k => panic!("unknown ledger object kind {k}"),
                };
                live.insert(seq, s);
            }
            _ => {
                live.remove(&seq);
            }
        }
    }
    live.into_values().collect()
}

/// Every process ever recorded in a ledger (also removed ones).
pub fn recorded_processes(ledger: &Path) -> Vec<(i32, u64)> {
    let Ok(t) = std::fs::read_to_string(ledger) else {
        return Vec::new();
    };
    t.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["object"]["kind"] == "process")
        .map(|v| {
            (
                v["object"]["pid"].as_i64().unwrap() as i32,
                v["object"]["start_time"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// What a run had on the system before cleanup, for the residue check after it.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub prefix: Option<String>,
    pub netns: Vec<NsId>,
    pub processes: Vec<(i32, u64)>,
}

pub fn snapshot(root: &Path, run_id: &str) -> Snapshot {
    let dir = root.join(run_id);
    let prefix = std::fs::read_to_string(dir.join("prefix"))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let netns = prefix.as_deref().map(netns_with_prefix).unwrap_or_default();
    Snapshot {
        netns,
        processes: recorded_processes(&dir.join("ledger")),
        prefix,
    }
}

/// libvirt domains named `<prefix>-…` (none when libvirt is not running here).
pub fn domains_with_prefix(prefix: &str) -> Vec<String> {
    use vmdriver::VmDriver;
    if !Path::new(vmdriver::libvirt::SOCKET).exists() {
        return Vec::new();
    }
    match vmdriver::libvirt::LibvirtDriver::connect(vmdriver::libvirt::DEFAULT_URI) {
        Ok(lv) => lv
            .list(&format!("{prefix}-"))
            .map(|v| v.into_iter().map(|d| d.name).collect())
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// Files libvirt keeps for a running domain named `<prefix>-…` (`/run/libvirt/qemu/<name>.xml`,
/// `.pid`, …): gone once the domain is destroyed.
pub fn libvirt_state_files(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/run/libvirt/qemu")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!("{prefix}-")))
                .collect()
        })
        .unwrap_or_default()
}

/// Spawn `coo-bench up FIXTURE --driver vm --run-id ID`, output discarded. The agents' wait
/// is generous: three TCG guests boot at once on shared cores.
pub fn spawn_up_vm(root: &Path, run_id: &str) -> Child {
    cmd(root)
        .arg("up")
        .arg(fixture())
        .args([
            "--driver",
            "vm",
            "--run-id",
            run_id,
            "--timeout-ms",
            "180000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// False, after printing why, when this host cannot run VMs for a test.
pub fn vm_or_skip() -> bool {
    match vm_missing() {
        Some(why) => {
            eprintln!("skipped: {why}");
            false
        }
        None => true,
    }
}

/// Why this host cannot run VMs for a test, if it cannot (root, libvirt, QEMU).
pub fn vm_missing() -> Option<String> {
    if let Some(why) = vmdriver::smoke::host_missing() {
        return Some(why);
    }
    None
}

/// Everything left of a run (empty = zero residue): namespaces, links with its prefix in
/// any namespace, processes inside its namespaces or started for it, its run directory.
pub fn residue(root: &Path, run_id: &str, snap: &Snapshot) -> Vec<String> {
    let mut left = Vec::new();
    if let Some(p) = &snap.prefix {
        for n in netns_with_prefix(p) {
            left.push(format!("netns {}", n.name));
        }
        for l in links_with_prefix(p) {
            left.push(format!("link {l}"));
        }
    }
    if let Some(p) = &snap.prefix {
        for d in domains_with_prefix(p) {
            left.push(format!("domain {d}"));
        }
        // QEMU of a domain libvirt no longer lists (`-name guest=<prefix>-x,…`), and
        // libvirt's own per-domain state files.
        for (pid, cmd) in processes_matching(&format!("guest={p}-"), &BTreeSet::new()) {
            left.push(format!("qemu process {pid}: {cmd}"));
        }
        for f in libvirt_state_files(p) {
            left.push(format!("libvirt state file {f}"));
        }
    }
    let inodes: BTreeSet<u64> = snap.netns.iter().filter_map(|n| n.inode).collect();
    let needle = root.to_string_lossy().into_owned();
    for (pid, cmd) in processes_matching(&needle, &inodes) {
        left.push(format!("process {pid}: {cmd}"));
    }
    for &(pid, st) in &snap.processes {
        if proc_alive(pid, st) {
            left.push(format!("recorded process {pid} alive"));
        }
    }
    if root.join(run_id).exists() {
        left.push(format!("run dir {}", root.join(run_id).display()));
    }
    if let Ok(rd) = std::fs::read_dir(root) {
        for e in rd.flatten() {
            left.push(format!("entry under run root: {}", e.path().display()));
        }
    }
    left
}

/// `coo-bench status --json` as JSON.
pub fn status_json(root: &Path) -> serde_json::Value {
    let out = run(root, &["status", "--json"]);
    assert!(out.status.success(), "status failed: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json is not JSON ({e}): {}", text(&out.stdout)))
}

/// `coo-bench clean --json`; asserts success and returns the report.
pub fn clean(root: &Path) -> serde_json::Value {
    let out = run(root, &["clean", "--json"]);
    assert!(
        out.status.success(),
        "clean failed ({:?}): {}\n{}",
        out.status,
        text(&out.stderr),
        text(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// HTTP/1.1 request on a UNIX socket; (status, body), or an error string.
pub fn http_unix(
    sock: &Path,
    method: &str,
    path: &str,
    body: &str,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let mut s = std::os::unix::net::UnixStream::connect(sock)
        .map_err(|e| format!("connect {}: {e}", sock.display()))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: l\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|e| format!("read: {e}"))?;
    let t = text(&out);
    let status = t
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status line in {t:?}"))?;
    let body = t
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// A private run root, cleaned (through `coo-bench clean`) when dropped, even on panic.
pub struct RunRoot {
    pub dir: tempfile::TempDir,
}

impl RunRoot {
    pub fn new() -> Self {
        RunRoot {
            dir: tempfile::Builder::new()
                .prefix("coo-rel-")
                .tempdir()
                .unwrap(),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for RunRoot {
    fn drop(&mut self) {
        let _ = cmd(self.dir.path())
            .args(["clean"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A random 4-hex tag for run ids of this process.
pub fn tag() -> String {
    let mut b = [0u8; 2];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    format!("{:02x}{:02x}", b[0], b[1])
}

/// Soundness: every NDR/PDR rate in the report was measured by a trial at (about) that rate
/// whose loss was within the goal's threshold.
pub fn assert_rates_backed_by_trials(report: &serde_json::Value) -> usize {
    let mut checked = 0;
    for v in report["variants"].as_array().unwrap() {
        if v["status"]["kind"] != "measured" {
            // A failed variant reports no rate at all.
            for res in v["results"].as_array().into_iter().flatten() {
                for rep in res["repetitions"].as_array().into_iter().flatten() {
                    assert!(
                        rep["ndr"]["rate_pps"].is_null() && rep["pdr"]["rate_pps"].is_null(),
                        "variant {} ({}) reports a rate",
                        v["name"],
                        v["status"]
                    );
                }
            }
            continue;
        }
        for res in v["results"].as_array().unwrap() {
            for rep in res["repetitions"].as_array().unwrap() {
                let trials = rep["trials"].as_array().unwrap();
                for goal in ["ndr", "pdr"] {
                    let g = &rep[goal];
                    let Some(rate) = g["rate_pps"].as_f64() else {
                        continue;
                    };
                    let thr = g["loss_threshold_pct"].as_f64().unwrap();
                    let backed = trials.iter().any(|t| {
                        let req = t["requested_rate_pps"].as_f64().unwrap_or(-1.0);
                        let sent = t["sent"].as_f64().unwrap_or(0.0);
                        let lost = t["lost"].as_f64().unwrap_or(f64::MAX);
                        t["purpose"] != "warmup"
                            && (req - rate).abs() <= rate * 0.01 + 1.0
                            && sent > 0.0
                            && lost / sent * 100.0 <= thr + 1e-9
                    });
                    assert!(
                        backed,
                        "variant {} frame {}: {goal} {rate} pps has no passing trial",
                        v["name"], res["frame_size"]
                    );
                    checked += 1;
                }
            }
        }
    }
    checked
}

/// `topologies/pycoo-xyz.json` written to `dir/xyz.json` with every VNF's `memory_mib`
/// replaced, its Click functions copied next to it; returns the topology path.
pub fn xyz_topology_with_memory(dir: &Path, memory_mib: u64) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies");
    let mut topo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("pycoo-xyz.json")).unwrap())
            .unwrap();
    if let Some(o) = topo.as_object_mut() {
        o.remove("$schema");
    }
    for v in topo["vnfs"].as_array_mut().unwrap() {
        v["memory_mib"] = memory_mib.into();
    }
    let funcs = dir.join("functions");
    std::fs::create_dir_all(&funcs).unwrap();
    for e in std::fs::read_dir(repo.join("functions")).unwrap().flatten() {
        std::fs::copy(e.path(), funcs.join(e.file_name())).unwrap();
    }
    let path = dir.join("xyz.json");
    std::fs::write(&path, serde_json::to_string_pretty(&topo).unwrap()).unwrap();
    path
}

/// The first run prefix (`cbhhhh`) claimed under `root`, if any run dir has one.
pub fn prefix_under(root: &Path) -> Option<String> {
    std::fs::read_dir(root).ok()?.flatten().find_map(|e| {
        std::fs::read_to_string(e.path().join("prefix"))
            .ok()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
    })
}

/// Run `cmd` to completion while watching `root` for the prefix a run claims (the run dir
/// may be gone when the command ends); `on_prefix(prefix, pid)` is called once when it
/// first appears.
pub fn output_watching_prefix(
    mut cmd: Command,
    root: &Path,
    mut on_prefix: impl FnMut(&str, u32),
) -> (Output, Option<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let to = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let te = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let mut prefix = None;
    let status = loop {
        if prefix.is_none() {
            if let Some(p) = prefix_under(root) {
                on_prefix(&p, child.id());
                prefix = Some(p);
            }
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let out = Output {
        status,
        stdout: to.join().unwrap(),
        stderr: te.join().unwrap(),
    };
    (out, prefix)
}

/// Everything of `prefix` still on the system: namespaces, links (any namespace), domains.
pub fn objects_with_prefix(prefix: &str) -> Vec<String> {
    let mut left: Vec<String> = netns_with_prefix(prefix)
        .into_iter()
        .map(|n| format!("netns {}", n.name))
        .collect();
    left.extend(
        links_with_prefix(prefix)
            .into_iter()
            .map(|l| format!("link {l}")),
    );
    left.extend(
        domains_with_prefix(prefix)
            .into_iter()
            .map(|d| format!("domain {d}")),
    );
    left
}
