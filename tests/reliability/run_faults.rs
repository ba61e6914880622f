//! Faults during `coo-bench run --quick` (root): SIGKILL of `run` itself at many points
//! (then `clean` = zero residue), an agent killed mid-run, a bridge port set down mid-run.
//! A run with a fault must end by itself (bounded; a hang fails the test), remove its own
//! testbed, and never report a rate that no passing trial measured.
//! Netem loss cannot be injected on kernels without CONFIG_NET_SCH_NETEM (probed; skipped
//! with the reason).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

/// `run` measures: one at a time in this binary, so trials do not compete for the CPU.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Upper bound for a `--quick` run with a fault; beyond it the run is declared hung.
const HANG: Duration = Duration::from_secs(240);

fn spawn_run(root: &Path, out: &Path, extra: &[&str]) -> Child {
    cmd(root)
        .env("COO_BENCH_COO_CLICK", env!("CARGO_BIN_EXE_coo-click"))
        .args([
            "run",
            measured_fixture().to_str().unwrap(),
            "--quick",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The run's testbed.json once `up` finished inside `run`.
fn wait_testbed(root: &Path, child: &mut Child) -> Option<(String, Value)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return None;
        }
        if let Ok(rd) = std::fs::read_dir(root) {
            for e in rd.flatten() {
                let p = e.path().join("testbed.json");
                if let Ok(t) = std::fs::read_to_string(&p) {
                    if let Ok(v) = serde_json::from_str::<Value>(&t) {
                        return Some((e.file_name().to_string_lossy().into_owned(), v));
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// Wait for exit within [`HANG`]; kill and fail on a hang.
fn finish(mut child: Child, what: &str) -> (std::process::ExitStatus, String, String) {
    let t0 = Instant::now();
    loop {
        if let Some(_st) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (out.status, text(&out.stdout), text(&out.stderr));
        }
        if t0.elapsed() > HANG {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what}: `run` hung (> {HANG:?});\nstderr: {}",
                text(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn reports(out: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(out) {
        for e in rd.flatten() {
            let p = e.path().join("report.json");
            if p.exists() {
                v.push(p);
            }
        }
    }
    v
}

/// One line per trial: what a reader of the report learns about the fault.
fn trial_lines(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for v in report["variants"].as_array().unwrap() {
        for res in v["results"].as_array().into_iter().flatten() {
            for rep in res["repetitions"].as_array().into_iter().flatten() {
                for t in rep["trials"].as_array().into_iter().flatten() {
                    let nfs: Vec<String> = t["nf_counters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| format!("{}:{}/{}", c["vnf"], c["packets_in"], c["packets_out"]))
                        .collect();
                    out.push(format!(
                        "{} {} {:.0}pps sent {} recv {} flags {} nf {}",
                        v["name"],
                        t["purpose"],
                        t["requested_rate_pps"].as_f64().unwrap_or(0.0),
                        t["sent"],
                        t["received"],
                        t["flags"],
                        nfs.join(",")
                    ));
                }
            }
        }
        if let Some(n) = v["notes"].as_array().filter(|n| !n.is_empty()) {
            out.push(format!("{} notes: {n:?}", v["name"]));
        }
    }
    out
}

fn variant_summary(report: &Value) -> String {
    report["variants"]
        .as_array()
        .unwrap()
        .iter()
        .chain(std::iter::once(&report["baseline"]))
        .filter(|v| !v.is_null())
        .map(|v| format!("{}: {}", v["name"], v["status"]))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn reliability_sigkill_run_then_clean_leaves_nothing() {
    if !root_or_skip() {
        return;
    }
    let _serial = serial();
    // Inside `up` (ledger lines), then while trials run (delays after the testbed is up).
    let mut points: Vec<(Option<usize>, u64)> = vec![(Some(3), 0), (Some(11), 0), (Some(19), 0)];
    let delays: &[u64] = if long_mode() {
        &[0, 100, 250, 500, 750, 1000, 1500, 2000, 3000, 4000]
    } else {
        &[0, 300, 1000, 2000]
    };
    points.extend(delays.iter().map(|&d| (None, d)));
    for (lines, delay_ms) in points {
        let rr = RunRoot::new();
        let out = tempfile::tempdir().unwrap();
        let mut child = spawn_run(rr.path(), out.path(), &[]);
        let mut run_id = None;
        match lines {
            Some(k) => {
                // The run id is chosen by `run`: wait for its directory, then its ledger.
                let deadline = Instant::now() + Duration::from_secs(30);
                while run_id.is_none() && Instant::now() < deadline {
                    run_id = std::fs::read_dir(rr.path())
                        .ok()
                        .and_then(|mut rd| rd.next())
                        .and_then(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned());
                    std::thread::sleep(Duration::from_micros(200));
                }
                let id = run_id.clone().expect("run never created its run dir");
                let ledger = rr.path().join(&id).join("ledger");
                let k = kill_at(child, &ledger, Trigger::Lines(k));
                assert!(k.exited_first.is_none(), "run ended before the kill");
            }
            None => {
                let Some((id, _)) = wait_testbed(rr.path(), &mut child) else {
                    let o = child.wait_with_output().unwrap();
                    panic!("run ended before its testbed was up: {}", text(&o.stderr));
                };
                run_id = Some(id);
                std::thread::sleep(Duration::from_millis(delay_ms));
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let id = run_id.unwrap();
        let snap = snapshot(rr.path(), &id);
        let rep = clean(rr.path());
        assert!(rep["failed"].as_array().unwrap().is_empty(), "clean: {rep}");
        let left = residue(rr.path(), &id, &snap);
        assert!(
            left.is_empty(),
            "run killed at {lines:?} lines / {delay_ms} ms: {left:#?}"
        );
        eprintln!(
            "run killed at lines {lines:?} / +{delay_ms} ms after up: clean removed {} objects, zero residue",
            rep["objects_removed"]
        );
    }
}

/// Runs `probe` in a scratch namespace made for it and removed after.
fn in_scratch_netns(probe: impl FnOnce(&str) -> Result<(), String>) -> Result<(), String> {
    let ns = format!("cbt{}", tag());
    let add = std::process::Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .map_err(|e| format!("ip: {e}"))?;
    if !add.success() {
        return Err("cannot create a scratch namespace".into());
    }
    let res = probe(&ns);
    let _ = std::process::Command::new("ip")
        .args(["netns", "del", &ns])
        .status();
    res
}

/// Probe: does this kernel have netem? (`tc qdisc add dev lo root netem` in a scratch netns.)
fn netem_available() -> Result<(), String> {
    in_scratch_netns(|ns| {
        let out = std::process::Command::new("ip")
            .args([
                "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "loss",
                "1%",
            ])
            .output();
        match out {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(format!(
                "tc netem refused ({}) — kernel without CONFIG_NET_SCH_NETEM?",
                text(&o.stderr).trim()
            )),
            Err(e) => Err(format!("tc not runnable: {e}")),
        }
    })
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    KillAgent,
    KillEngine,
    KillVm,
    LinkDown,
    NetemLoss,
    /// 30 % random loss on the bridge into y (nftables `bridge` family, where netem is absent).
    RandomLoss,
}

fn inject(fault: Fault, tb: &Value) -> String {
    // The middle VNF (y): its agent, and its ingress bridge port in the switch namespace.
    let vnfs = tb["vnfs"].as_array().unwrap();
    let y = &vnfs[vnfs.len() / 2];
    let sw = tb["switch_netns"].as_str().unwrap();
    let port = y["interfaces"][0]["name"].as_str().unwrap();
    match fault {
        Fault::KillAgent => {
            let pid = y["agent"]["pid"].as_i64().unwrap() as i32;
            // SAFETY: a pid of an agent of our own testbed (checked by start time below).
            let st = y["agent"]["start_time"].as_u64().unwrap();
            assert!(proc_alive(pid, st));
            unsafe { libc::kill(pid, libc::SIGKILL) };
            format!("SIGKILL agent of {} (pid {pid})", y["id"])
        }
        Fault::KillEngine => {
            let pid = y["agent"]["pid"].as_i64().unwrap() as i32;
            let st = y["agent"]["start_time"].as_u64().unwrap();
            assert!(proc_alive(pid, st));
            // The engine is the agent's child once a Click variant started.
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let kids = children(pid);
                if !kids.is_empty() {
                    for k in &kids {
                        // SAFETY: children of our own testbed's agent.
                        unsafe { libc::kill(*k, libc::SIGKILL) };
                    }
                    break format!("SIGKILL engine of {} (pid {kids:?})", y["id"]);
                }
                assert!(Instant::now() < deadline, "no engine of y ever started");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Fault::KillVm => {
            // Once y's engine runs (a trial is under way or about to be), destroy its domain.
            let ep: vnf_client::Endpoint =
                y["agent"]["endpoint"].as_str().unwrap().parse().unwrap();
            let token_file = Path::new(tb["run_dir"].as_str().unwrap()).join("agent.token");
            let opts = vnf_client::Options {
                token: coo_api::Token::read_file(&token_file).ok(),
                ..vnf_client::Options::default()
            };
            let c = vnf_client::VnfClient::new(ep, opts);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(180);
            // Test frames reach y: a trial is under way.
            let rx = |c: &vnf_client::Counters| -> u64 {
                c.interfaces.iter().map(|i| i.rx_packets).sum()
            };
            let base = rt.block_on(c.counters()).map(|c| rx(&c)).unwrap_or(0);
            while !rt
                .block_on(c.counters())
                .is_ok_and(|k| k.running && k.engine != "kernel-forward" && rx(&k) > base + 100)
            {
                assert!(Instant::now() < deadline, "no trial ever reached y");
                std::thread::sleep(Duration::from_millis(100));
            }
            let dom = y["vm"]["domain"].as_str().unwrap();
            use vmdriver::VmDriver;
            let lv =
                vmdriver::libvirt::LibvirtDriver::connect(vmdriver::libvirt::DEFAULT_URI).unwrap();
            lv.destroy(dom).unwrap();
            format!("virsh destroy {dom} (VNF {})", y["id"])
        }
        Fault::LinkDown => {
            let s = std::process::Command::new("ip")
                .args(["-n", sw, "link", "set", port, "down"])
                .status()
                .unwrap();
            assert!(s.success());
            format!("bridge port {port} down")
        }
        Fault::NetemLoss => {
            let s = std::process::Command::new("ip")
                .args([
                    "netns", "exec", sw, "tc", "qdisc", "replace", "dev", port, "root", "netem",
                    "loss", "30%",
                ])
                .status()
                .unwrap();
            assert!(s.success());
            format!("netem loss 30% on {port}")
        }
        Fault::RandomLoss => {
            for r in LOSS_RULES {
                let o = nft(sw, &r.replace("PORT", port)).unwrap();
                assert!(o.status.success(), "nft {r}: {}", text(&o.stderr));
            }
            format!("nftables: 30% random loss on the bridge into {port}")
        }
    }
}

/// nftables in the switch namespace: drop 30 % of the frames the bridge forwards to `port`.
/// The table lives in that namespace and goes with it.
const LOSS_RULES: [&str; 3] = [
    "add table bridge cbloss",
    "add chain bridge cbloss loss { type filter hook forward priority 0; }",
    "add rule bridge cbloss loss oifname PORT numgen random mod 100 < 30 counter drop",
];

fn nft(netns: &str, rule: &str) -> std::io::Result<std::process::Output> {
    std::process::Command::new("ip")
        .args(["netns", "exec", netns, "nft"])
        .args(rule.split(' '))
        .output()
}

/// Probe: can nftables drop bridged frames here? (The loss rules in a scratch namespace.)
fn nft_bridge_available() -> Result<(), String> {
    in_scratch_netns(|ns| {
        for r in LOSS_RULES {
            match nft(ns, &r.replace("PORT", "lo")) {
                Ok(o) if o.status.success() => {}
                Ok(o) => {
                    return Err(format!(
                        "nft refused `{r}`: {} — kernel without nf_tables bridge support?",
                        text(&o.stderr).trim()
                    ))
                }
                Err(e) => {
                    return Err(format!(
                        "nft not runnable ({e}); bash scripts/setup.sh installs it"
                    ))
                }
            }
        }
        Ok(())
    })
}

/// Child processes of `pid` (over all its threads).
fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in rd.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|x| x.parse::<i32>().ok()));
            }
        }
    }
    out
}

fn fault_during_run(fault: Fault) -> Vec<Value> {
    fault_during_run_with_output(fault).0
}

/// [`fault_during_run`], and what `run` printed on stdout.
fn fault_during_run_with_output(fault: Fault) -> (Vec<Value>, String) {
    let rr = RunRoot::new();
    let out = tempfile::tempdir().unwrap();
    // An engine fault needs an engine process: skip the (process-less) kernel-forward baseline.
    let extra: &[&str] = match fault {
        Fault::KillEngine => &["--no-baseline"],
        Fault::KillVm => &["--no-baseline", "--driver", "vm"],
        _ => &[],
    };
    let mut child = spawn_run(rr.path(), out.path(), extra);
    let Some((run_id, tb)) = wait_testbed(rr.path(), &mut child) else {
        let o = child.wait_with_output().unwrap();
        panic!("run ended before its testbed was up: {}", text(&o.stderr));
    };
    let snap = snapshot(rr.path(), &run_id);
    // Into the first (baseline) trials.
    std::thread::sleep(Duration::from_millis(800));
    let what = inject(fault, &tb);
    let (status, stdout, stderr) = finish(child, &what);
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    // `run` removed its own testbed, fault or not.
    let left = residue(rr.path(), &run_id, &snap);
    assert!(left.is_empty(), "{what}: {left:#?}\n{stderr}");
    let reps = reports(out.path());
    let mut parsed = Vec::new();
    eprintln!(
        "{what}: run exit {:?}; {} report(s)",
        status.code(),
        reps.len()
    );
    for r in &reps {
        let report: Value = serde_json::from_str(&std::fs::read_to_string(r).unwrap()).unwrap();
        let n = assert_rates_backed_by_trials(&report);
        eprintln!(
            "  {n} NDR/PDR rates backed by passing trials; variants: {}",
            variant_summary(&report)
        );
        for l in trial_lines(&report) {
            eprintln!("    {l}");
        }
        parsed.push(report);
    }
    if reps.is_empty() {
        // No report: then the run must say why, and fail.
        assert!(
            !status.success(),
            "{what}: success without a report\n{stdout}"
        );
        assert!(!stderr.trim().is_empty());
    }
    (parsed, stdout)
}

/// The faulty VNF `y` is named: the variant measuring when it died failed with a reason
/// naming y, a trial is flagged broken naming y, and every trial without y's counters says so.
fn assert_fault_named(reports: &[Value], what: &str) {
    assert!(!reports.is_empty(), "{what}: no report");
    let mut failed_naming_y = false;
    for report in reports {
        for v in report["variants"].as_array().unwrap() {
            let status = v["status"].to_string();
            if status.contains("failed") && status.contains("VNF y") {
                failed_naming_y = true;
            }
            if v["role"] == "ceiling" {
                // Generator → sink directly: no NF on the path, no counters to read.
                continue;
            }
            let notes = v["notes"].to_string();
            for res in v["results"].as_array().into_iter().flatten() {
                for rep in res["repetitions"].as_array().into_iter().flatten() {
                    for t in rep["trials"].as_array().into_iter().flatten() {
                        let nfs = t["nf_counters"].to_string();
                        if !nfs.contains("\"y\"") {
                            assert!(
                                t["flags"].to_string().contains("VNF y") || notes.contains("VNF y"),
                                "{what}: trial without y's counters and no word about it: {t}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(
        failed_naming_y,
        "{what}: no variant failed naming VNF y: {}",
        reports
            .iter()
            .map(variant_summary)
            .collect::<Vec<_>>()
            .join(" | ")
    );
}

#[test]
fn reliability_agent_killed_during_run() {
    if !root_or_skip() {
        return;
    }
    let _serial = serial();
    assert_fault_named(&fault_during_run(Fault::KillAgent), "agent killed");
}

#[test]
fn reliability_engine_killed_during_run() {
    if !root_or_skip() {
        return;
    }
    let _serial = serial();
    assert_fault_named(&fault_during_run(Fault::KillEngine), "engine killed");
}

#[test]
fn reliability_vm_killed_during_run() {
    if !vm_or_skip() {
        return;
    }
    let _serial = serial();
    assert_fault_named(&fault_during_run(Fault::KillVm), "VM destroyed");
}

#[test]
fn reliability_link_down_during_run() {
    if !root_or_skip() {
        return;
    }
    let _serial = serial();
    for report in fault_during_run(Fault::LinkDown) {
        // Trials after the fault are flagged broken, never counted as passing.
        let trials: Vec<&Value> = report["variants"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|v| v["results"].as_array().into_iter().flatten())
            .flat_map(|r| r["repetitions"].as_array().into_iter().flatten())
            .flat_map(|r| r["trials"].as_array().into_iter().flatten())
            .collect();
        for t in trials {
            if t["received"] == 0 && t["sent"].as_u64().unwrap_or(0) > 0 {
                assert!(
                    t["flags"].to_string().contains("broken"),
                    "trial with nothing received is not flagged: {t}"
                );
            }
        }
    }
}

#[test]
fn reliability_netem_loss_during_run() {
    if !root_or_skip() {
        return;
    }
    let _serial = serial();
    if let Err(why) = netem_available() {
        eprintln!("skipped: {why}");
        return;
    }
    let _ = fault_during_run(Fault::NetemLoss);
}

/// Frames y's bridge port dropped at random from 0.8 s into the baseline on: every trial
/// after that shows the gap between x's output and y's input (the loss is on the link x → y,
/// not in an NF), no such trial passes, and every reported rate is backed by a loss-free
/// trial (checked in `fault_during_run`).
#[test]
fn reliability_random_loss_during_run() {
    if !root_or_skip() {
        return;
    }
    let _serial = serial();
    if let Err(why) = nft_bridge_available() {
        eprintln!("skipped: {why}");
        return;
    }
    let (reports, stdout) = fault_during_run_with_output(Fault::RandomLoss);
    assert!(!reports.is_empty(), "no report");
    let mut on_link = 0;
    for report in &reports {
        for v in report["variants"].as_array().unwrap() {
            for res in v["results"].as_array().into_iter().flatten() {
                for rep in res["repetitions"].as_array().into_iter().flatten() {
                    for t in rep["trials"].as_array().into_iter().flatten() {
                        let nf = |id: &str, field: &str| {
                            t["nf_counters"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .find(|c| c["vnf"] == id)
                                .and_then(|c| c[field].as_u64())
                        };
                        let (Some(x_out), Some(y_in), Some(y_drop)) = (
                            nf("x", "packets_out"),
                            nf("y", "packets_in"),
                            nf("y", "dropped"),
                        ) else {
                            continue;
                        };
                        let gap = x_out.saturating_sub(y_in);
                        // 30 % random loss: far above the few readiness frames of noise.
                        if x_out < 1000 || gap * 10 < x_out {
                            continue;
                        }
                        on_link += 1;
                        let lost = t["lost"].as_u64().unwrap();
                        assert!(
                            lost > 0,
                            "{}: frames vanished x → y but lost = 0: {t}",
                            v["name"]
                        );
                        assert!(
                            y_drop * 10 < gap,
                            "{}: the link's loss was counted as y's drops: {t}",
                            v["name"]
                        );
                        let passed_as_ndr = ["ndr", "pdr"].iter().any(|g| {
                            rep[g]["rate_pps"].as_f64().is_some_and(|r| {
                                (t["requested_rate_pps"].as_f64().unwrap() - r).abs() <= 1.0
                                    && lost as f64 / t["sent"].as_f64().unwrap() * 100.0
                                        > rep[g]["loss_threshold_pct"].as_f64().unwrap()
                            })
                        });
                        assert!(
                            !passed_as_ndr,
                            "{}: a lossy trial became a rate: {t}",
                            v["name"]
                        );
                    }
                }
            }
        }
    }
    eprintln!("{on_link} trials with the loss on the link x → y");
    assert!(on_link > 0, "no trial saw the injected loss");
    // The printed attribution names the hop: the chain is linear, so `run` knows its order.
    let attribution: Vec<&str> = stdout.lines().filter(|l| l.contains(" lost ")).collect();
    eprintln!("{}", attribution.join("\n"));
    assert!(
        attribution.iter().any(|l| l.contains("on links: x→y ")),
        "no attribution line names the link x → y:\n{stdout}"
    );
}
