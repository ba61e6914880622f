//! Executing a plan through `NetOps`, recording every created object in the ledger before
//! it is created. Starting a VNF is the driver's ([`crate::driver::Driver`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hostnet::{Ledger, NetOps, Object, SshTarget};

use crate::plan::Action;
use crate::UpError;

/// Starts the VNF of a [`Action::StartAgent`] or [`Action::StartVm`], recording it in the
/// ledger.
pub type StartVnf<'a> = dyn FnMut(&Action, &dyn NetOps, &mut Ledger) -> Result<(), UpError> + 'a;

/// Run `actions` in order; VNF actions go to `start_vnf`. On error the ledger holds exactly
/// what exists; the caller tears it down.
pub fn apply(
    actions: &[Action],
    net: &dyn NetOps,
    ledger: &mut Ledger,
    cancel: Option<&AtomicBool>,
    start_vnf: &mut StartVnf<'_>,
) -> Result<(), UpError> {
    // A remote host's steps go as one batch (one ssh round trip) until a VNF starts: they
    // depend on nothing made elsewhere, and every batch is carried out before a VNF starts, so
    // it finds its host's links made.
    let mut batches: Vec<(&SshTarget, Arc<dyn NetOps>)> = Vec::new();
    for action in actions {
        if cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
            return Err(UpError::Interrupted);
        }
        match action {
            Action::OnHost { host, step } => {
                if matches!(
                    **step,
                    Action::StartAgent(_) | Action::StartVm(_) | Action::OnHost { .. }
                ) {
                    return Err(UpError::Io(format!(
                        "not a network step on host {host}: {step:?}"
                    )));
                }
                let remote = match batches.iter().find(|(h, _)| *h == host) {
                    Some((_, r)) => r.clone(),
                    None => {
                        let r = net.on_host(host)?;
                        r.begin_batch();
                        batches.push((host, r.clone()));
                        r
                    }
                };
                network_step(step, remote.as_ref(), Some(host), ledger)?;
            }
            Action::StartAgent(_) | Action::StartVm(_) => {
                end_batches(&mut batches)?;
                start_vnf(action, net, ledger)?
            }
            other => network_step(other, net, None, ledger)?,
        }
    }
    end_batches(&mut batches)
}

/// Carries out every open batch, in the order the hosts were first used.
fn end_batches(batches: &mut Vec<(&SshTarget, Arc<dyn NetOps>)>) -> Result<(), UpError> {
    for (_, remote) in batches.drain(..) {
        remote.end_batch()?;
    }
    Ok(())
}

/// One network step on this machine (`host` None) or on `host` through `net`, its objects
/// ledgered with the host before they are made.
fn network_step(
    action: &Action,
    net: &dyn NetOps,
    host: Option<&SshTarget>,
    ledger: &mut Ledger,
) -> Result<(), UpError> {
    {
        match action {
            Action::CreateNetns { name } => {
                ledger.create_with(&Object::Netns { name: name.clone() }.at(host), || {
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
                }
                .at(host);
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
                }
                .at(host);
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
            Action::CreateTap { name, netns } => {
                let obj = Object::Link {
                    netns: netns.clone(),
                    name: name.clone(),
                }
                .at(host);
                ledger.create_with(&obj, || {
                    net.create_tap(netns.as_ref(), name).map_err(UpError::from)
                })?;
            }
            Action::CreateVxlan {
                netns,
                vxlan,
                switch_netns,
                bridge,
                mtu,
            } => {
                // Recorded where it is made: a crash before the move leaves it there; after
                // the move, deleting the switch namespace takes it.
                let obj = Object::Link {
                    netns: netns.clone(),
                    name: vxlan.name.clone(),
                }
                .at(host);
                ledger.create_with(&obj, || {
                    net.create_vxlan(netns.as_ref(), vxlan)
                        .map_err(UpError::from)
                })?;
                net.move_link(netns.as_ref(), &vxlan.name, Some(switch_netns))?;
                net.set_mtu(Some(switch_netns), &vxlan.name, *mtu)?;
                net.set_bridge_port(Some(switch_netns), &vxlan.name, bridge)?;
                net.set_up(Some(switch_netns), &vxlan.name)?;
            }
            Action::StartAgent(_) | Action::StartVm(_) | Action::OnHost { .. } => {
                return Err(UpError::Io(format!("not a network step: {action:?}")))
            }
        }
    }
    Ok(())
}
