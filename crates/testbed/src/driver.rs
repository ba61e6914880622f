//! The testbed drivers: how VNFs are made. `up` is one code path over [`Driver`]: checks,
//! plan, the network part of the plan (common, through `hostnet`), then the driver starts
//! the VNFs and waits for their agents. Everything made is in the run's one ledger (VM
//! domains too), so `down`, `clean` and `status` need no driver: a ledger's domains go
//! through [`vmdriver::Hypervisors`] ([`DomainTeardown`]).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Instant;

use hostnet::{DomainHost, DomainOps, DomainRef, Ledger, NetOps, Object, ProcId};
use topology::{DriverKind, Topology, Variant};
use vmdriver::vnf::{VmBackend, VnfVm};

use crate::agents::Launcher;
use crate::plan::{self, Action, AgentSpec, Plan, PlanError, VmStart};
use crate::vm::GuestAgents;
use crate::{apply, Testbed, UpError, UpOptions};

/// What `up` needs to apply the VNF part of a plan.
pub struct StartContext<'a> {
    pub net: &'a dyn NetOps,
    pub ledger: &'a mut Ledger,
    pub opts: &'a UpOptions,
}

/// A way of making VNFs (netns: `coo-vnf` processes in namespaces; vm: libvirt domains).
pub trait Driver: Sync {
    fn kind(&self) -> DriverKind;
    /// Checks that need nothing made; `run_dir` is as long as the one `up` will make.
    fn check(&self, topo: &Topology, run_dir: &Path) -> Result<(), UpError>;
    fn plan(
        &self,
        topo: &Topology,
        variant: &Variant,
        prefix: &str,
        run_id: &str,
        run_dir: &Path,
    ) -> Result<Plan, PlanError>;
    /// Apply `actions` (the plan from its first VNF on), wait for every agent, configure
    /// it, and fill in `tb`. On error the ledger holds what exists; the caller removes it.
    fn start_vnfs(
        &self,
        tb: &mut Testbed,
        actions: &[Action],
        cx: &mut StartContext<'_>,
    ) -> Result<(), UpError>;
}

/// Whether `a` makes a VNF (where a driver's part of a plan begins).
pub fn starts_vnf(a: &Action) -> bool {
    matches!(a, Action::StartAgent(_) | Action::StartVm(_))
}

/// VNFs as `coo-vnf` processes in network namespaces.
pub struct NetnsDriver<'a> {
    pub launcher: &'a dyn Launcher,
}

impl Driver for NetnsDriver<'_> {
    fn kind(&self) -> DriverKind {
        DriverKind::Netns
    }

    fn check(&self, topo: &Topology, run_dir: &Path) -> Result<(), UpError> {
        if !topo.hosts.is_empty() {
            return Err(UpError::HostsNeedVmDriver);
        }
        // Agent socket paths must fit in `sun_path`.
        Ok(plan::check_socket_paths(topo, run_dir)?)
    }

    fn plan(
        &self,
        topo: &Topology,
        variant: &Variant,
        prefix: &str,
        run_id: &str,
        run_dir: &Path,
    ) -> Result<Plan, PlanError> {
        plan::plan(topo, variant, prefix, run_id, run_dir)
    }

    fn start_vnfs(
        &self,
        tb: &mut Testbed,
        actions: &[Action],
        cx: &mut StartContext<'_>,
    ) -> Result<(), UpError> {
        let mut agents: Vec<(AgentSpec, ProcId)> = Vec::new();
        let cancel = cx.opts.cancel.as_deref();
        apply::apply(actions, cx.net, cx.ledger, cancel, &mut |a, _, ledger| {
            let Action::StartAgent(spec) = a else {
                return Err(UpError::Vm("a VM in a netns plan".into()));
            };
            // The pid is known only after the spawn; a crash in between is covered by
            // teardown stopping every process inside the VNF's namespace.
            let id = self.launcher.start(spec)?;
            ledger.record(&Object::process(id, format!("agent {}", spec.vnf)))?;
            agents.push((spec.clone(), id));
            Ok(())
        })?;
        self.launcher
            .wait_ready(&agents, cx.opts.ready_timeout, cancel)?;
        for (spec, id) in &agents {
            if let Some(v) = tb.vnfs.iter_mut().find(|v| v.id == spec.vnf) {
                v.agent.pid = Some(id.pid);
                v.agent.start_time = Some(id.start_time);
            }
        }
        Ok(())
    }
}

/// VNFs as libvirt domains booting the guest image (or a VNF's own disk image).
pub struct VmDriver<'a> {
    /// Guest image and accelerator; its driver is the local hypervisor's.
    pub backend: &'a VmBackend,
    pub agents: &'a dyn GuestAgents,
    /// The hypervisors of a topology's `hosts` (by URI).
    pub vms: &'a dyn vmdriver::Hypervisors,
    /// Where the controller and each host meet (needed with `hosts`; see [`crate::hosts`]).
    pub underlay: Option<crate::hosts::Underlay>,
}

impl Driver for VmDriver<'_> {
    fn kind(&self) -> DriverKind {
        DriverKind::Vm
    }

    fn check(&self, topo: &Topology, _run_dir: &Path) -> Result<(), UpError> {
        check_images(topo)
    }

    fn plan(
        &self,
        topo: &Topology,
        variant: &Variant,
        prefix: &str,
        run_id: &str,
        run_dir: &Path,
    ) -> Result<Plan, PlanError> {
        let p = plan::plan_vm(topo, variant, prefix, run_id, run_dir)?;
        if topo.hosts.is_empty() {
            return Ok(p);
        }
        crate::hosts::spread(p, topo, prefix, self.underlay.as_ref())
    }

    fn start_vnfs(
        &self,
        tb: &mut Testbed,
        actions: &[Action],
        cx: &mut StartContext<'_>,
    ) -> Result<(), UpError> {
        // A DHCP server for disk-image guests must answer before the first one boots.
        let dhcp = crate::vm::start_dhcp(tb, actions, self.agents)?;
        let mut vms: Vec<(VmStart, VnfVm, Instant)> = Vec::new();
        let cancel = cx.opts.cancel.as_deref();
        apply::apply(actions, cx.net, cx.ledger, cancel, &mut |a, net, ledger| {
            let Action::StartVm(start) = a else {
                return Err(UpError::Vm("a netns agent in a vm plan".into()));
            };
            cx.opts.vm_event(&start.vnf, crate::VmStage::Defining);
            let (vm, t0) = self.start_vm(start, net, ledger)?;
            cx.opts.vm_event(&start.vnf, crate::VmStage::Booting);
            vms.push((start.clone(), vm, t0));
            Ok(())
        })?;
        if !vms.is_empty() {
            crate::vm::finish_vms(tb, &vms, self.backend, self.agents, cx.opts)?;
        }
        // Every guest is up: leases are infinite, the server is no longer needed.
        if let Some(d) = dhcp {
            crate::vm::record_acks(tb, &d.acked());
        }
        Ok(())
    }
}

impl VmDriver<'_> {
    fn start_vm(
        &self,
        start: &VmStart,
        net: &dyn NetOps,
        ledger: &mut Ledger,
    ) -> Result<(VnfVm, Instant), UpError> {
        let io = |what: &str, e: std::io::Error| UpError::Io(format!("{what}: {e}"));
        fs::create_dir_all(&start.workdir)
            .map_err(|e| io(&start.workdir.display().to_string(), e))?;
        fs::copy(&start.function_source, &start.function).map_err(|e| {
            io(
                &format!("copy function {}", start.function_source.display()),
                e,
            )
        })?;
        let domain = Object::Domain {
            name: format!("{}-{}", start.spec.prefix, start.spec.vnf_id),
            host: start.host.clone(),
        };
        let t = Instant::now();
        let started = ledger.create_with(&domain, || {
            let fail = |e: vmdriver::VmError| UpError::Vm(format!("start {domain}: {e}"));
            match &start.host {
                None => self.backend.start(&start.spec).map_err(fail),
                Some(h) => {
                    let driver = self.vms.on(Some(&h.uri)).map_err(fail)?;
                    // The boot files must be on that host: copied once, then found there.
                    let staged = driver.stage_image(&self.backend.image).map_err(fail)?;
                    if !staged.uploaded.is_empty() {
                        tracing::info!(host = %h.name, files = ?staged.uploaded, "guest image copied");
                    }
                    let image = vmdriver::image::Image {
                        boot_kernel: staged.kernel,
                        initramfs: staged.initramfs,
                        ..self.backend.image.clone()
                    };
                    vmdriver::vnf::start_vnf(
                        driver.as_ref(),
                        &image,
                        self.backend.accel.accel,
                        &start.spec,
                    )
                    .map_err(fail)
                }
            }
        })?;
        // libvirt opened the taps in the host namespace; QEMU keeps their fds while the
        // devices move to the switch namespace, where the bridges are.
        let sw = &start.switch_netns;
        let remote = start.ssh.as_ref().map(|h| net.on_host(h)).transpose()?;
        let net = remote.as_deref().unwrap_or(net);
        net.begin_batch();
        for (tap, bridge) in &start.taps {
            net.move_link(start.tap_netns.as_ref(), tap, Some(sw))?;
            net.set_bridge_port(Some(sw), tap, bridge)?;
            net.set_up(Some(sw), tap)?;
        }
        net.end_batch()?;
        Ok((started, t))
    }
}

/// Every disk image a vm topology names must be a readable file: checked before anything is
/// created.
fn check_images(topo: &Topology) -> Result<(), UpError> {
    for v in &topo.vnfs {
        let Some(image) = &v.image else { continue };
        let err = |reason: String| UpError::DiskImage {
            vnf: v.id.to_string(),
            image: image.clone(),
            reason,
        };
        let f = fs::File::open(image).map_err(|e| err(e.to_string()))?;
        let meta = f.metadata().map_err(|e| err(e.to_string()))?;
        if !meta.is_file() {
            return Err(err("not a regular file".into()));
        }
    }
    Ok(())
}

/// Destroys a run's ledgered domains through the hypervisors, grouped by host, then any
/// other domain carrying the run's prefix on those hosts (`<prefix>-`; the `-` keeps
/// `cb12ab` from matching `cb12abc…`).
pub struct DomainTeardown<'a> {
    pub vms: &'a dyn vmdriver::Hypervisors,
    /// The run's prefix; None: no sweep.
    pub prefix: Option<String>,
}

impl DomainOps for DomainTeardown<'_> {
    fn destroy(&self, domains: &[DomainRef]) -> Vec<Result<(), String>> {
        let mut results: Vec<Result<(), String>> = vec![Ok(()); domains.len()];
        let mut by_host: BTreeMap<Option<&DomainHost>, Vec<usize>> = BTreeMap::new();
        for (i, d) in domains.iter().enumerate() {
            by_host.entry(d.host.as_ref()).or_default().push(i);
        }
        for (host, idx) in by_host {
            let driver = match self.vms.on(host.map(|h| h.uri.as_str())) {
                Ok(d) => d,
                Err(e) => {
                    for i in idx {
                        results[i] = Err(format!("domain {}: {e}", domains[i].name));
                    }
                    continue;
                }
            };
            let names: Vec<String> = idx.iter().map(|&i| domains[i].name.clone()).collect();
            for (i, r) in idx.iter().zip(driver.destroy_many(&names)) {
                results[*i] = r.map_err(|e| format!("domain {}: {e}", domains[*i].name));
            }
            if let Some(p) = &self.prefix {
                if let Err(e) = vmdriver::driver::destroy_all(driver.as_ref(), &format!("{p}-")) {
                    tracing::warn!("domains {p}-*: {e}");
                }
            }
        }
        results
    }
}
