//! `up`, `down`, `status`, `clean`: the testbed (crate `testbed`), netns or vm driver.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use testbed::{DriverKind, Testbed, UpError, UpOptions};

/// `--driver`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DriverArg {
    /// Every VNF a network namespace.
    Netns,
    /// Every VNF a transient libvirt VM (TCG or KVM).
    Vm,
}

impl DriverArg {
    pub fn kind(self) -> DriverKind {
        match self {
            DriverArg::Netns => DriverKind::Netns,
            DriverArg::Vm => DriverKind::Vm,
        }
    }
}

const INVALID: u8 = 2;

#[derive(Args)]
pub struct UpArgs {
    /// Topology: unified JSON file or PyCOO directory (VNF/, SFC/, SCRIPT/).
    pub path: PathBuf,
    /// Variant to instantiate (default: the first).
    #[arg(long)]
    pub variant: Option<String>,
    /// Run id (default `<topology-id>-<4 hex>`).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Start every VNF's engine right away (otherwise: `POST /click_plugin/start`).
    #[arg(long)]
    pub start: bool,
    /// coo-click I/O mode passed to the agents (throughput|latency).
    #[arg(long)]
    pub io_mode: Option<String>,
    /// Driver (default: the topology's `driver`, else netns).
    #[arg(long, value_enum)]
    pub driver: Option<DriverArg>,
    /// How long to wait for every agent to answer (default 10 s; 180 s with the vm driver).
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Print testbed.json instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct DownArgs {
    /// Run id, or a topology id with exactly one testbed up.
    pub id: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct StatusArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct CleanArgs {
    #[arg(long)]
    pub json: bool,
    /// Also destroy coo-bench domains (`cb…-*`) that no ledger under the run root lists
    /// (default: report them; they may belong to a testbed under another run root).
    #[arg(long)]
    pub domains: bool,
}

/// SIGINT/SIGTERM set the returned flag (signal-hook); `up` then removes what it made and fails.
fn cancel_on_signals() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, flag.clone()) {
            eprintln!("warning: cannot handle signal {sig}: {e}");
        }
    }
    flag
}

fn exit_for(err: &UpError) -> u8 {
    match err {
        UpError::NoSuchVariant { .. }
        | UpError::Plan(_)
        | UpError::NoSuchRun(_)
        | UpError::Ambiguous { .. }
        | UpError::InvalidRunId(_)
        | UpError::RunExists(_) => INVALID,
        _ => 1,
    }
}

fn fail(err: UpError) -> anyhow::Result<ExitCode> {
    eprintln!("error: {err}");
    Ok(ExitCode::from(exit_for(&err)))
}

fn print_table(tb: &Testbed) {
    println!(
        "testbed {} (topology {}, variant {}, prefix {}, driver {}, bridges in netns {})",
        tb.run_id, tb.topology_id, tb.variant, tb.prefix, tb.driver, tb.switch_netns
    );
    if let Some(m) = &tb.mgmt {
        println!(
            "management: netns {} ({}) on bridge {}; accelerator {}",
            m.netns,
            m.address,
            m.bridge,
            tb.accelerator.as_deref().unwrap_or("?")
        );
        for h in &tb.hosts {
            println!(
                "host {}: {} (underlay {}), bridges in netns {}",
                h.name, h.uri, h.underlay, h.switch_netns
            );
        }
        for b in &tb.bridges {
            for t in &b.tunnels {
                println!(
                    "  link {} crosses hosts {} -> {}: VXLAN {} (VNI {}, MTU {})",
                    b.link, t.from_host, t.to_host, t.device, t.vni, t.mtu
                );
            }
        }
        for v in &tb.vnfs {
            if let Some(vm) = &v.vm {
                let on = vm
                    .host
                    .as_ref()
                    .map(|h| format!(" on host {h}"))
                    .unwrap_or_default();
                println!(
                    "  VM {}{on}: domain {}, {} MiB, {} vCPU, mgmt {}, ready after {} ms, console {}",
                    v.id,
                    vm.domain,
                    vm.memory_mib,
                    vm.vcpus,
                    vm.mgmt_ip,
                    vm.boot_to_ready_ms
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| "?".into()),
                    vm.console_log.display()
                );
                // Bring-your-own image: what it boots, where its writes go, what DHCP gave it.
                if let Some(d) = &vm.disk {
                    println!(
                        "    image {}, overlay {}, DHCP ACK {} -> {}",
                        d.image.display(),
                        d.overlay.display(),
                        vm.mgmt_mac,
                        d.dhcp_ack
                            .map(|ip| ip.to_string())
                            .unwrap_or_else(|| "none recorded".into())
                    );
                }
            }
        }
    }
    let mut rows = vec![[
        "VNF".to_owned(),
        "INTERFACE".into(),
        "PORT".into(),
        "MAC".into(),
        "BRIDGE".into(),
        "ADDRESS".into(),
        "REST ENDPOINT".into(),
    ]];
    rows.push([
        format!("{} (source)", tb.source.id),
        tb.source.ifname.to_string(),
        "-".into(),
        tb.source.mac.to_string(),
        tb.source.bridge.to_string(),
        tb.source.ip.to_string(),
        "-".into(),
    ]);
    for v in &tb.vnfs {
        for (i, itf) in v.interfaces.iter().enumerate() {
            rows.push([
                if i == 0 { v.id.clone() } else { String::new() },
                itf.name.to_string(),
                itf.port.to_string(),
                itf.mac.to_string(),
                itf.bridge.to_string(),
                itf.address
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "-".into()),
                if i == 0 {
                    v.agent.endpoint.clone()
                } else {
                    String::new()
                },
            ]);
        }
    }
    for s in &tb.sinks {
        rows.push([
            format!("{} (sink)", s.id),
            s.ifname.to_string(),
            "-".into(),
            s.mac.to_string(),
            s.bridge.to_string(),
            s.ip.to_string(),
            "-".into(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    for line in shortened_names(tb) {
        println!("{line}");
    }
}

/// Lines mapping the user's long VNF, point and link names to the shortened host names
/// (Linux limits interface names to 15 bytes; see `topology::names`).
fn shortened_names(tb: &Testbed) -> Vec<String> {
    use topology::names::is_shortened;
    let mut lines = Vec::new();
    for b in &tb.bridges {
        if is_shortened(b.name.as_str()) {
            lines.push(format!("  link {} -> bridge {}", b.link, b.name));
        }
    }
    let mut node = |id: &str, netns: &str, ifs: Vec<&str>| {
        if is_shortened(netns) || ifs.iter().any(|i| is_shortened(i)) {
            lines.push(format!(
                "  {id} -> netns {netns}, interfaces {}",
                ifs.join(", ")
            ));
        }
    };
    node(
        &tb.source.id,
        tb.source.netns.as_str(),
        vec![tb.source.ifname.as_str()],
    );
    for v in &tb.vnfs {
        node(
            &v.id,
            v.netns.as_str(),
            v.interfaces.iter().map(|i| i.name.as_str()).collect(),
        );
    }
    for s in &tb.sinks {
        node(&s.id, s.netns.as_str(), vec![s.ifname.as_str()]);
    }
    if !lines.is_empty() {
        lines.insert(0, "long names (shortened on the host):".to_owned());
    }
    lines
}

pub fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    // Validation first (with the Click functions): nothing is created for an invalid topology.
    let topo = match crate::cmd::validate::load_checked(&args.path, args.json) {
        Ok(checked) => {
            crate::cmd::validate::print_warnings(&checked.warnings);
            checked.topology
        }
        Err(code) => return Ok(code),
    };
    let driver = args.driver.map(DriverArg::kind);
    let mut opts = UpOptions {
        variant: args.variant,
        run_id: args.run_id,
        autostart: args.start,
        io_mode: args.io_mode,
        cancel: Some(cancel_on_signals()),
        driver,
        // Only the vm driver reports boots (they take seconds to minutes).
        vm_progress: crate::cmd::progress::vm_progress(crate::cmd::progress::mode(args.json)),
        ..Default::default()
    };
    if let Some(ms) = args.timeout_ms {
        opts.ready_timeout = Duration::from_millis(ms);
        opts.vm_ready_timeout = Duration::from_millis(ms);
    }
    match testbed::up(&topo, &opts) {
        Ok(tb) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&tb)?);
            } else {
                print_table(&tb);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => fail(e),
    }
}

pub fn down(args: DownArgs) -> anyhow::Result<ExitCode> {
    match testbed::down(&args.id) {
        Ok(rep) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&rep)?);
            } else {
                println!("removed testbed {} ({} objects)", rep.run_id, rep.removed);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => fail(e),
    }
}

pub fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let runs = match testbed::status() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!("no testbeds under {}", testbed::run_root().display());
    }
    for r in &runs {
        println!(
            "{}  state={}  ledger objects={}",
            r.run_id, r.state, r.ledger_objects
        );
        if !r.missing_netns.is_empty() {
            println!("  missing namespaces: {}", r.missing_netns.join(", "));
        }
        if let Some(tb) = &r.testbed {
            print_table(tb);
        }
        if r.testbed.is_none() {
            // An incomplete VM run: no agents to show, but its domains may stand.
            for d in &r.domains {
                let on = d
                    .host
                    .as_ref()
                    .map(|h| format!(" on host {h}"))
                    .unwrap_or_default();
                println!(
                    "  domain {}{on} ({})",
                    d.domain,
                    d.state.as_deref().unwrap_or("state unknown")
                );
            }
        }
        for a in &r.agents {
            let who = match (&a.domain, &a.domain_state) {
                (Some(d), st) => {
                    format!("domain {d} ({})", st.as_deref().unwrap_or("state unknown"))
                }
                _ => format!(
                    "pid {}",
                    a.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into())
                ),
            };
            println!(
                "  agent {}: {} {} {}  {}",
                a.vnf,
                who,
                if a.alive { "alive" } else { "DEAD" },
                if a.answers {
                    "answering"
                } else {
                    "not answering"
                },
                a.endpoint
            );
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

pub fn clean(args: CleanArgs) -> anyhow::Result<ExitCode> {
    let rep = match testbed::clean_opts(args.domains) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        println!(
            "removed {} run(s), {} object(s)",
            rep.removed_runs.len(),
            rep.objects_removed
        );
        for r in &rep.busy_runs {
            println!("skipped {r}: in progress");
        }
        for n in &rep.foreign_netns {
            println!("left alone: netns {n} (in no ledger)");
        }
        for d in &rep.foreign_domains {
            println!("left alone: domain {d} (in no ledger; `clean --domains` destroys it)");
        }
        for d in &rep.leftover_domains {
            println!("destroyed leftover domain {d}");
        }
        for n in &rep.notes {
            println!("note: {n}");
        }
        for f in &rep.failed {
            eprintln!("failed: {f}");
        }
    }
    Ok(if rep.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
