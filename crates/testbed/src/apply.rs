//! Executing a plan through `NetOps` and a `Launcher`, recording every created object in
//! the ledger before it is created.

use std::sync::atomic::{AtomicBool, Ordering};

use hostnet::{Ledger, NetOps, Object, ProcId};

use crate::agents::Launcher;
use crate::plan::{Action, AgentSpec};
use crate::UpError;

/// Run `actions` in order. Returns the started agents. On error the ledger holds exactly
/// what exists; the caller tears it down.
pub fn apply(
    actions: &[Action],
    net: &dyn NetOps,
    launcher: &dyn Launcher,
    ledger: &mut Ledger,
    cancel: Option<&AtomicBool>,
) -> Result<Vec<(AgentSpec, ProcId)>, UpError> {
    let mut agents = Vec::new();
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
                agents.push((spec.clone(), id));
            }
        }
    }
    Ok(agents)
}
