//! Root + libvirtd + QEMU: PyCOO's x → y → z split over two SIMULATED libvirt hosts as real
//! VMs (TCG is fine). Each host is a network namespace of this machine with a libvirtd of its
//! own (private mount namespace: own /run/libvirt, /var/lib/libvirt, …), listening for
//! `qemu+tcp://` on its underlay address only; the controller reaches them from its own
//! underlay namespace (the host namespace gets no testbed address or route). x runs on host
//! a, y and z on host b: the guest image is copied to each host through its libvirt
//! connection, frames cross source → x → y → z → sink over the VXLAN tunnels, a short NDR
//! search runs, `down` leaves nothing on either host, and `clean` after a SIGKILL of the
//! controller mid-`up` leaves nothing on either host. The same chain on one machine (a
//! private libvirtd in this namespace, not the machine's own) is brought up and measured too,
//! for the printed comparison.
//! Skips with a printed reason when a piece is missing (`bash scripts/vm-setup.sh`).
#![allow(clippy::unwrap_used)]

mod testbed_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hostnet::{NetOps, RealProcesses, RtNetOps};
use testbed::{DriverKind, Ops, RestAgents, Testbed, UpOptions, VmDriver};
use testbed_support::child_up::{self, ChildUp};
use testbed_support::ndr;
use testbed_support::sim_hosts::{SimHosts, SimLibvirtd, SimSshd};
use testbed_support::*;
use vmdriver::hosts::LibvirtHosts;
use vmdriver::Hypervisors;

/// Why this machine cannot run the test, if it cannot.
fn missing_piece() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (namespaces, libvirtd)".into());
    }
    if let Some(why) = SimLibvirtd::missing() {
        return Some(why);
    }
    if !vmdriver::accel::qemu_binary().exists() {
        return Some(format!(
            "no {} (bash scripts/vm-setup.sh)",
            vmdriver::accel::qemu_binary().display()
        ));
    }
    if let Err(e) = vmdriver::image::binaries::locate("coo-guest-init", "COO_BENCH_GUEST_INIT") {
        return Some(format!(
            "{e} (cargo build -p vmdriver --bin coo-guest-init)"
        ));
    }
    None
}

/// Agent and engine for the guest image; Err: the image cannot be built here (no kernel).
fn guest_image() -> Result<(), String> {
    let (agent, click) = (
        env!("CARGO_BIN_EXE_coo-vnf"),
        env!("CARGO_BIN_EXE_coo-click"),
    );
    // SAFETY (edition 2021: safe fn): set before this test starts any thread; the other test
    // of this binary reads only its own variables.
    std::env::set_var("COO_BENCH_COO_VNF", agent);
    std::env::set_var("COO_BENCH_COO_CLICK", click);
    match vmdriver::smoke::build_image(Path::new(agent), Path::new(click)) {
        Ok(_) => Ok(()),
        Err(vmdriver::smoke::SmokeError::Unavailable(why)) => Err(why),
        Err(e) => panic!("{e}"),
    }
}

fn topo(file: &str) -> topology::Topology {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("topologies")
        .join(file);
    topology::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

fn options(root: &Path) -> UpOptions {
    UpOptions {
        run_root: Some(root.to_owned()),
        driver: Some(DriverKind::Vm),
        vm_ready_timeout: Duration::from_secs(300),
        ..Default::default()
    }
}

/// `up` of the split chain on the simulated hosts with real libvirt and VMs.
fn up_split(sim: &SimHosts, root: &Path, hyp: &LibvirtHosts) -> Result<Testbed, testbed::UpError> {
    up_split_with(root, hyp, &topo("pycoo-xyz-two-hosts.json"), sim.underlay())
}

/// `up` of `topo` (split over the simulated hosts) through `underlay`.
fn up_split_with(
    root: &Path,
    hyp: &LibvirtHosts,
    topo: &topology::Topology,
    underlay: testbed::Underlay,
) -> Result<Testbed, testbed::UpError> {
    let net = RtNetOps::new().unwrap();
    let procs = RealProcesses::default();
    // Every VNF is on a host: the backend's own driver (local starts) is never used, so it
    // may be host a's, and the machine's own libvirtd need not run.
    let driver = hyp
        .on(Some(&topo.hosts[0].uri))
        .map_err(|e| testbed::UpError::LibvirtUnavailable(e.to_string()))?;
    let be = testbed::vm::prepare_backend(driver, &[])?;
    let ops = Ops {
        net: &net,
        procs: &procs,
        vms: hyp,
    };
    let driver = VmDriver {
        backend: &be,
        agents: &RestAgents,
        vms: hyp,
        underlay: Some(underlay),
    };
    testbed::up_with(topo, &options(root), &ops, &driver)
}

/// Connections to the simulated hosts, opened from the controller's underlay namespace.
fn hypervisors(sim: &SimHosts) -> LibvirtHosts {
    LibvirtHosts::new().with_remote_netns(sim.ns("c").path())
}

/// Names of the domains of run `prefix` on the host at `uri`.
fn domains(hyp: &LibvirtHosts, uri: &str, prefix: &str) -> Vec<String> {
    hyp.on(Some(uri))
        .unwrap()
        .list(&format!("{prefix}-"))
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect()
}

fn host_addresses_and_routes() -> Vec<String> {
    let net = RtNetOps::new().unwrap();
    let mut v: Vec<String> = net
        .list_addresses(None)
        .unwrap()
        .into_iter()
        .map(|a| format!("{} {}/{}", a.link, a.address, a.prefix_len))
        .chain(
            net.list_routes(None)
                .unwrap()
                .into_iter()
                .map(|r| format!("{:?}/{} {:?}", r.destination, r.prefix_len, r.link)),
        )
        .collect();
    v.sort();
    v
}

/// Nothing of run `prefix` on either simulated host (domains, QEMUs, links) or here.
fn assert_no_residue(
    sim: &SimHosts,
    hyp: &LibvirtHosts,
    daemons: &[&SimLibvirtd],
    prefix: &str,
    when: &str,
    keep: &[u32],
) {
    for d in daemons {
        assert!(
            domains(hyp, &d.uri, prefix).is_empty(),
            "{when}: domains left on host {}",
            d.site
        );
        // QEMU of a destroyed domain may take a moment to exit under TCG.
        let deadline = Instant::now() + Duration::from_secs(20);
        let except: Vec<u32> = keep.iter().copied().chain([d.pid()]).collect();
        let mut left = sim.processes_in(&d.site, &except);
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
            left = sim.processes_in(&d.site, &except);
        }
        assert!(
            left.is_empty(),
            "{when}: processes left on host {}: {left:?}",
            d.site
        );
    }
    for site in ["a", "b", "c"] {
        assert!(
            sim.foreign_links(site).is_empty(),
            "{when}: links left on {site}: {:?}",
            sim.foreign_links(site)
        );
    }
    assert!(
        netns_with_prefix(prefix).is_empty(),
        "{when}: {:?}",
        netns_with_prefix(prefix)
    );
}

/// A short NDR search of the chain (source to its first sink).
fn short_ndr(tb: &Testbed, topo: &topology::Topology) -> ndr::Ndr {
    // TCG guests forward tens of kpps at most; a first trial far above that leaves them
    // wedged for seconds (seen: nothing passes in the next trials), so the search starts at
    // 50 kpps.
    ndr::short_ndr(&tb.source, &tb.sinks[0], ndr::flows(topo), 50_000.0)
}

/// Starts the pushed function with our Click engine on every VM. A start is retried (up to 5
/// times, 2 s apart): under TCG on a loaded host an engine may miss the agent's 10 s start-up
/// window.
fn start_engines(tb: &Testbed) {
    rt().block_on(async {
        for v in &tb.vnfs {
            let c = vm_client(tb, &v.id);
            let mut last = String::new();
            for attempt in 1..=5 {
                let r = async {
                    c.set_engine("coo-click").await?;
                    c.start().await
                }
                .await;
                match r {
                    Ok(_) => {
                        last.clear();
                        break;
                    }
                    Err(e) => {
                        last = format!("{}: start, attempt {attempt}: {e}", v.id);
                        eprintln!("{last}");
                        let _ = c.stop().await;
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                }
            }
            assert!(last.is_empty(), "{last}");
        }
    })
}

/// Frames source → x → y → z → sink through the VMs.
fn frames_cross(tb: &Testbed, what: &str) -> usize {
    start_engines(tb);
    let marker = format!("coo-bench-{what}-{}", tb.prefix);
    let got = send_frame_through_chain(
        tb,
        tcp_frame(tb, marker.as_bytes()),
        marker.as_bytes(),
        5,
        Duration::from_secs(10),
    );
    eprintln!("{what}: {got}/5 frames source → x → y → z → sink");
    got
}

fn ready_ms(tb: &Testbed) -> Vec<u64> {
    tb.vnfs
        .iter()
        .map(|v| v.vm.as_ref().unwrap().boot_to_ready_ms.unwrap_or(0))
        .collect()
}

/// The VM tests of this file take the machine's CPUs: one at a time.
static VM_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn vm_chain_split_over_two_simulated_libvirt_hosts() {
    let _one = VM_TESTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(why) = missing_piece() {
        eprintln!("skipped: {why}");
        return;
    }
    if let Err(why) = guest_image() {
        eprintln!("skipped: {why}");
        return;
    }
    let t_all = Instant::now();
    let sim = SimHosts::new();
    // Declared after `sim`: dropped (stopped) before its namespaces go.
    let lv_a = SimLibvirtd::start(&sim, "a").unwrap();
    let lv_b = SimLibvirtd::start(&sim, "b").unwrap();
    let hyp = hypervisors(&sim);
    let root = tempfile::tempdir().unwrap();
    let before = host_addresses_and_routes();

    // up: x on host a, y and z on host b.
    let t0 = Instant::now();
    let tb = up_split(&sim, root.path(), &hyp).unwrap();
    // Declared after the daemons: a failing assertion downs the run while they still answer.
    let guard = DownOnDrop {
        root: root.path().to_owned(),
        run_id: tb.run_id.clone(),
        controller_netns: sim.ns("c").path(),
    };
    let split_up = t0.elapsed();
    let p = tb.prefix.clone();
    assert_eq!(domains(&hyp, &lv_a.uri, &p), [format!("{p}-x")]);
    assert_eq!(
        domains(&hyp, &lv_b.uri, &p),
        [format!("{p}-y"), format!("{p}-z")]
    );
    assert_eq!(tb.hosts.len(), 2);
    let crossed: Vec<&str> = tb
        .bridges
        .iter()
        .filter(|b| !b.tunnels.is_empty())
        .map(|b| b.link.as_str())
        .collect();
    eprintln!("links crossing hosts: {crossed:?}");
    assert!(crossed.contains(&"br1"), "x→y crosses hosts: {crossed:?}");
    // The guest image went to each host once, into that host's private state directory:
    // this machine's own /var/lib/libvirt does not have it.
    for d in [&lv_a, &lv_b] {
        let dir = d.path(vmdriver::staging::POOL_DIR);
        let files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files.len(), 4, "host {}: {files:?}", d.site);
        assert!(
            files.iter().any(|f| f.ends_with("-initramfs.img.done")),
            "{files:?}"
        );
    }
    assert!(!Path::new(vmdriver::staging::POOL_DIR).exists());
    let staged_file = std::fs::read_dir(lv_b.path(vmdriver::staging::POOL_DIR))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-initramfs.img"))
        .unwrap();
    let staged_at = std::fs::metadata(&staged_file).unwrap().modified().unwrap();
    // Network safety: the host namespace got no address or route.
    assert_eq!(host_addresses_and_routes(), before);
    // status asks each host's libvirtd for its domains.
    let st = testbed::status_with(root.path(), &hyp).unwrap();
    assert!(
        st[0]
            .agents
            .iter()
            .all(|a| a.answers && a.domain_state.as_deref() == Some("running")),
        "{:?}",
        st[0].agents
    );

    // Frames across the tunnels, through the VMs; then a short measurement.
    assert!(
        frames_cross(&tb, "split") >= 1,
        "no frame crossed the split chain"
    );
    let two = topo("pycoo-xyz-two-hosts.json");
    let split_ndr = [short_ndr(&tb, &two), short_ndr(&tb, &two)];

    // down: nothing on either host.
    let net = RtNetOps::new().unwrap();
    let procs = RealProcesses::default();
    let ops = Ops {
        net: &net,
        procs: &procs,
        vms: &hyp,
    };
    let t1 = Instant::now();
    std::mem::forget(guard);
    testbed::down_with(root.path(), &tb.run_id, &ops).unwrap();
    let split_down = t1.elapsed();
    assert_no_residue(&sim, &hyp, &[&lv_a, &lv_b], &p, "after down", &[]);
    assert_eq!(host_addresses_and_routes(), before);

    // SIGKILL of the controller while the VMs boot, then `clean`: nothing on either host.
    let kill_root = tempfile::tempdir().unwrap();
    let child = ChildUp::spawn("vm_child_up_split_then_hang", &sim.tag, kill_root.path());
    let mut killed_with = Vec::new();
    child.kill_when(Duration::from_secs(120), Duration::from_millis(50), |_| {
        // Killed once host b runs a domain of the run: VMs on both hosts, agents not ready
        // yet (a TCG boot takes seconds).
        let Some(kp) = run_prefix(kill_root.path()) else {
            return false;
        };
        let on_b = domains(&hyp, &lv_b.uri, &kp);
        if on_b.is_empty() {
            return false;
        }
        killed_with = domains(&hyp, &lv_a.uri, &kp);
        killed_with.extend(on_b);
        true
    });
    let kp = run_prefix(kill_root.path());
    // Cleaned before any assertion: a failure must not leave the killed run behind.
    let rep = testbed::clean_with(kill_root.path(), &ops, false).unwrap();
    let kp = kp.expect("the child made a run");
    assert!(!killed_with.is_empty(), "killed before any domain started");
    assert!(rep.failed.is_empty(), "{:?}", rep.failed);
    eprintln!(
        "SIGKILL with domains {killed_with:?} running: clean removed {} object(s)",
        rep.objects_removed
    );
    assert_no_residue(
        &sim,
        &hyp,
        &[&lv_a, &lv_b],
        &kp,
        "after SIGKILL + clean",
        &[],
    );
    assert_eq!(std::fs::read_dir(kill_root.path()).unwrap().count(), 0);
    assert_eq!(host_addresses_and_routes(), before);
    // The second `up` found the image on host b and did not send it again.
    assert_eq!(
        std::fs::metadata(&staged_file).unwrap().modified().unwrap(),
        staged_at,
        "{} was copied again",
        staged_file.display()
    );

    eprintln!(
        "split over 2 simulated hosts: up (to every agent ready) {:.1} s, boot-to-ready {:?} ms, down {:.1} s; NDR (74 B, 0.1 % loss) {} / {}",
        split_up.as_secs_f64(),
        ready_ms(&tb),
        split_down.as_secs_f64(),
        split_ndr[0],
        split_ndr[1],
    );

    // The same chain on one machine (local bridges only), on a libvirtd of the same kind.
    let lv_local = SimLibvirtd::start_local().unwrap();
    // SAFETY (edition 2021: safe fn): no other thread of this test reads the environment now.
    std::env::set_var(vmdriver::hosts::URI_ENV, &lv_local.uri);
    let one = topo("pycoo-xyz.json");
    let (up, one_up) = up_one_machine(&one, root.path());
    assert!(frames_cross(&up.tb, "one-host") >= 1);
    let one_ndr = [short_ndr(&up.tb, &one), short_ndr(&up.tb, &one)];
    eprintln!(
        "same chain on one machine: up {:.1} s, boot-to-ready {:?} ms; NDR {} / {}",
        one_up.as_secs_f64(),
        ready_ms(&up.tb),
        one_ndr[0],
        one_ndr[1],
    );
    let (one_prefix, one_run) = (up.tb.prefix.clone(), up.tb.run_id.clone());
    std::mem::forget(up);
    testbed::down_in(root.path(), &one_run).unwrap();
    let local = LibvirtHosts::new();
    assert!(domains(&local, &lv_local.uri, &one_prefix).is_empty());
    assert!(netns_with_prefix(&one_prefix).is_empty());
    drop(lv_local);
    eprintln!("test total: {:.0} s", t_all.elapsed().as_secs_f64());
    drop(lv_b);
    drop(lv_a);
    drop(sim);
}

/// Downs a split run when a test fails before its own `down` (then forgotten).
struct DownOnDrop {
    root: PathBuf,
    run_id: String,
    controller_netns: PathBuf,
}

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        let (Ok(net), procs) = (RtNetOps::new(), RealProcesses::default()) else {
            return;
        };
        let hyp = LibvirtHosts::new().with_remote_netns(self.controller_netns.clone());
        let ops = Ops {
            net: &net,
            procs: &procs,
            vms: &hyp,
        };
        let _ = testbed::down_with(&self.root, &self.run_id, &ops);
    }
}

/// `up` of `topo` on the local hypervisor (`COO_BENCH_LIBVIRT_URI`); the guard downs it.
fn up_one_machine(topo: &topology::Topology, root: &Path) -> (Up, Duration) {
    let t0 = Instant::now();
    let tb = testbed::up(topo, &options(root)).unwrap();
    (
        Up {
            tb,
            root: root.to_owned(),
        },
        t0.elapsed(),
    )
}

/// Child half of the SIGKILL part: `up` of the split chain, then wait to be killed.
#[test]
fn vm_child_up_split_then_hang() {
    child_up::up_then_hang(Duration::from_secs(300), |sim, root| {
        guest_image().unwrap();
        let _ = up_split(sim, root, &hypervisors(sim));
    });
}

/// Host b as a real host: its network part (switch namespace, bridges, taps, tunnel ends) made
/// by its own iproute2 over ssh (an sshd of its own in b's namespace, throw-away keys), its
/// domains through its libvirtd; x on simulated host a. The split chain of real VMs comes up,
/// frames cross source → x → y → z → sink, b's guests log their console in libvirt's log
/// directory on b, and `down` leaves nothing on either host (b asked over ssh).
#[test]
fn vm_chain_split_with_host_b_over_ssh() {
    let _one = VM_TESTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(why) = missing_piece().or_else(SimSshd::missing) {
        eprintln!("skipped: {why}");
        return;
    }
    if let Err(why) = guest_image() {
        eprintln!("skipped: {why}");
        return;
    }
    let sim = SimHosts::new();
    let lv_a = SimLibvirtd::start(&sim, "a").unwrap();
    let lv_b = SimLibvirtd::start(&sim, "b").unwrap();
    let sshd = SimSshd::start(&sim, "b").unwrap();
    // SAFETY (edition 2021: safe fn): the other tests of this binary do not read it.
    std::env::set_var(hostnet::remote::SSH_CONFIG_ENV, sshd.client_config());
    let hyp = hypervisors(&sim);
    let root = tempfile::tempdir().unwrap();
    let before = host_addresses_and_routes();
    let mut t = topo("pycoo-xyz-two-hosts.json");
    t.hosts[1].ssh = Some(sshd.target.clone());
    let mut ul = sim.underlay();
    ul.host_netns.remove("b");
    let t0 = Instant::now();
    let tb = up_split_with(root.path(), &hyp, &t, ul).unwrap();
    let guard = DownOnDrop {
        root: root.path().to_owned(),
        run_id: tb.run_id.clone(),
        controller_netns: sim.ns("c").path(),
    };
    let up = t0.elapsed();
    let p = tb.prefix.clone();
    assert_eq!(domains(&hyp, &lv_a.uri, &p), [format!("{p}-x")]);
    assert_eq!(
        domains(&hyp, &lv_b.uri, &p),
        [format!("{p}-y"), format!("{p}-z")]
    );
    let hb = tb.hosts.iter().find(|h| h.name == "b").unwrap();
    assert_eq!(hb.ssh.as_ref(), Some(&sshd.target));
    assert!(sshd.netns_list().contains(&hb.switch_netns.to_string()));
    assert_eq!(frames_cross(&tb, "split, b over ssh"), 5);
    // y's console log is on b, in libvirt's log directory (b's daemon's private one).
    let y_log = lv_b.path(&format!("/var/log/libvirt/qemu/{p}-y.console.log"));
    let y_console = std::fs::read_to_string(&y_log).unwrap_or_default();
    assert!(
        !y_console.is_empty(),
        "{} empty or missing",
        y_log.display()
    );
    assert_eq!(host_addresses_and_routes(), before);
    let t1 = Instant::now();
    drop(guard);
    let down = t1.elapsed();
    assert!(
        !root.path().join(&tb.run_id).exists(),
        "down failed: the run directory stays"
    );
    let left: Vec<String> = sshd
        .netns_list()
        .into_iter()
        .filter(|n| n.starts_with(&p))
        .collect();
    assert!(left.is_empty(), "on b: {left:?}");
    // The fixture's sshd stays on b (its session for the control master ends with it).
    sshd.shell().close();
    assert_no_residue(
        &sim,
        &hyp,
        &[&lv_a, &lv_b],
        &p,
        "down, b over ssh",
        &[sshd.pid()],
    );
    assert_eq!(host_addresses_and_routes(), before);
    eprintln!(
        "split chain with b over ssh: up until every agent answers {:.1} s (boot-to-ready x, y, z: {:?} ms), down {:.1} s",
        up.as_secs_f64(),
        ready_ms(&tb),
        down.as_secs_f64()
    );
}
