//! Executing a plan through `NetOps` and a `Launcher`, recording every created object in
//! the ledger before it is created.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use hostnet::{Ledger, NetOps, Object, ProcId};
use vmdriver::vnf::VnfVm;

use crate::agents::Launcher;
use crate::plan::{Action, AgentSpec, VmStart};
use crate::vm::VmHost;
use crate::UpError;

/// What [`apply`] started.
#[derive(Default)]
pub struct Applied {
    pub agents: Vec<(AgentSpec, ProcId)>,
    /// VMs with the instant just before their domain was created.
    pub vms: Vec<(VmStart, VnfVm, Instant)>,
}

fn start_vm(
    start: &VmStart,
    net: &dyn NetOps,
    vm: &VmHost<'_>,
    ledger: &Ledger,
) -> Result<(VnfVm, Instant), UpError> {
    let io = |what: &str, e: std::io::Error| UpError::Io(format!("{what}: {e}"));
    std::fs::create_dir_all(&start.workdir)
        .map_err(|e| io(&start.workdir.display().to_string(), e))?;
    std::fs::copy(&start.function_source, &start.function).map_err(|e| {
        io(
            &format!("copy function {}", start.function_source.display()),
            e,
        )
    })?;
    let run_dir = ledger
        .path()
        .parent()
        .ok_or_else(|| UpError::Io("ledger has no directory".into()))?;
    let domain = format!("{}-{}", start.spec.prefix, start.spec.vnf_id);
    crate::vm::record_domain(run_dir, &domain)?;
    let t = Instant::now();
    let started = match vm.backend.start(&start.spec) {
        Ok(v) => v,
        Err(e) => {
            crate::vm::domain_failed(run_dir, &domain)?;
            return Err(UpError::Vm(format!("start {domain}: {e}")));
        }
    };
    tracing::debug!(%domain, "domain created");
    // libvirt opened the taps in the host namespace; QEMU keeps their fds while the
    // devices move to the switch namespace, where the bridges are.
    let sw = &start.switch_netns;
    for (tap, bridge) in &start.taps {
        net.move_link(None, tap, Some(sw))?;
        net.set_bridge_port(Some(sw), tap, bridge)?;
        net.set_up(Some(sw), tap)?;
    }
    Ok((started, t))
}

/// Run `actions` in order. Returns the started agents and VMs. On error the ledgers hold
/// exactly what exists; the caller tears it down.
pub fn apply(
    actions: &[Action],
    net: &dyn NetOps,
    launcher: &dyn Launcher,
    vm: Option<&VmHost<'_>>,
    ledger: &mut Ledger,
    cancel: Option<&AtomicBool>,
) -> Result<Applied, UpError> {
    let mut out = Applied::default();
    for action in actions {
        if cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
            return Err(UpError::Interrupted);
        }
        match action {
            Action::CreateNetns { name } => {
                ledger.create_with(&Object::Netns { name: name.clone() }, || {
                    net.create_netns(name).map_err(UpError::from)
                })?;
            }
            Action::Sysctl { netns, key, value } => {
                // Absent keys (no IPv6, no br_netfilter) need no turning off.
                net.set_sysctl(Some(netns), key, value)?;
            }
            Action::LinkUp { netns, name } => net.set_up(Some(netns), name)?,
            Action::CreateBridge { netns, name, mac } => {
                let obj = Object::Link {
                    netns: Some(netns.clone()),
                    name: name.clone(),
                };
                ledger.create_with(&obj, || {
                    net.create_bridge(Some(netns), name, *mac)
                        .map_err(UpError::from)
                })?;
            }
            Action::DisableBridgeNetfilter { netns, bridge } => {
                net.disable_bridge_netfilter(Some(netns), bridge)?
            }
            Action::CreateVeth { a, b } => {
                let obj = Object::Link {
                    netns: a.netns.clone(),
                    name: a.name.clone(),
                };
                ledger.create_with(&obj, || net.create_veth(a, b).map_err(UpError::from))?;
            }
            Action::AttachToBridge {
                netns,
                port,
                bridge,
            } => net.set_bridge_port(Some(netns), port, bridge)?,
            Action::AddAddress { netns, link, addr } => {
                net.add_address(Some(netns), link, *addr)?
            }
            Action::SetNetem { netns, link, netem } => net.set_netem(Some(netns), link, netem)?,
            Action::StartAgent(spec) => {
                // The pid is known only after the spawn; a crash in between is covered by
                // teardown stopping every process inside the VNF's namespace.
                let id = launcher.start(spec)?;
                ledger.record(&Object::process(id, format!("agent {}", spec.vnf)))?;
                tracing::debug!(vnf = %spec.vnf, pid = id.pid, "agent started");
                out.agents.push((spec.clone(), id));
            }
            Action::CreateTap { name } => {
                let obj = Object::Link {
                    netns: None,
                    name: name.clone(),
                };
                ledger.create_with(&obj, || net.create_tap(None, name).map_err(UpError::from))?;
            }
            Action::StartVm(start) => {
                let vm = vm.ok_or_else(|| {
                    UpError::Vm("plan has VMs but no VM back-end was given".into())
                })?;
                let (v, t) = start_vm(start, net, vm, ledger)?;
                out.vms.push((start.clone(), v, t));
            }
        }
    }
    Ok(out)
}
