//! The vm driver's pieces beyond the plan: reaching guest agents from the management
//! namespace ([`GuestAgents`], with a recording fake for tests without libvirt), the
//! management DHCP server, memory checks, and reading runs made before domains were ledger
//! objects.

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use vmdriver::vnf::{VmBackend, VnfVm};
use vmdriver::MacAddr;
use vnf_client::{Endpoint, Options, VnfClient};

use crate::plan::{Action, VmStart};
use crate::{MgmtInfo, Testbed, UpError, UpOptions};

/// Where runs made before domains were ledger objects listed their domains.
pub const LEGACY_DOMAIN_LEDGER: &str = "domains";

#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum LegacyLine {
    Create { domain: String },
    Failed { domain: String },
    Removed { domain: String },
}

/// Domains of a run's legacy domain ledger neither failed nor removed, in creation order.
pub fn legacy_domains(run_dir: &Path) -> Vec<String> {
    let text = fs::read_to_string(run_dir.join(LEGACY_DOMAIN_LEDGER)).unwrap_or_default();
    let mut live: Vec<String> = Vec::new();
    // A torn last line (crash) is skipped: its domain was not created yet.
    for line in text.lines().filter_map(|l| serde_json::from_str(l).ok()) {
        match line {
            LegacyLine::Create { domain } => live.push(domain),
            LegacyLine::Failed { domain } | LegacyLine::Removed { domain } => {
                live.retain(|d| *d != domain)
            }
        }
    }
    live
}

/// Moves a legacy domain ledger's live domains into the run's ledger (as local domains),
/// then removes it, so teardown has one ledger.
pub fn adopt_legacy_domains(run_dir: &Path, ledger_path: &Path) -> Result<(), UpError> {
    let legacy = run_dir.join(LEGACY_DOMAIN_LEDGER);
    if !legacy.exists() {
        return Ok(());
    }
    let mut ledger = if ledger_path.exists() {
        hostnet::Ledger::open(ledger_path)?
    } else {
        hostnet::Ledger::create(ledger_path)?
    };
    for name in legacy_domains(run_dir) {
        ledger.record(&hostnet::Object::Domain { name, host: None })?;
    }
    fs::remove_file(&legacy).map_err(|e| UpError::Io(format!("{}: {e}", legacy.display())))
}

/// Domains of a ledger still standing, in creation order.
pub fn ledger_domains(entries: &[hostnet::ledger::Entry]) -> Vec<hostnet::DomainRef> {
    entries
        .iter()
        .filter_map(|e| match &e.object {
            hostnet::Object::Domain { name, host } => Some(hostnet::DomainRef {
                name: name.clone(),
                host: host.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// A running management DHCP server (stops when dropped).
pub trait DhcpLeases: Send {
    /// (MAC, address) acknowledged so far.
    fn acked(&self) -> Vec<(MacAddr, Ipv4Addr)>;
}

impl DhcpLeases for vmdriver::dhcp::DhcpServer {
    fn acked(&self) -> Vec<(MacAddr, Ipv4Addr)> {
        vmdriver::dhcp::DhcpServer::acked(self)
    }
}

/// The REST side of VM agents (real: HTTP from inside the management namespace), and the
/// management DHCP server for guests that need one.
pub trait GuestAgents: Send + Sync {
    /// Return when the agent of `vm` answers: `GET /v1/health`, or with `coo_only` (a disk
    /// image's own agent, which speaks only the COO API) `GET /click_plugin/version`.
    fn wait_ready(
        &self,
        vm: &VnfVm,
        mgmt_netns: &Path,
        timeout: Duration,
        cancel: Option<&AtomicBool>,
        coo_only: bool,
    ) -> Result<(), String>;
    /// Push the function (`PUT /v1/function`), select the engine (`POST /v1/engine`) and
    /// start it when `autostart`. `engine` None = COO API only: `write_file` of func.click,
    /// no engine choice (the image has its own), `POST /click_plugin/start`.
    fn configure(
        &self,
        vm: &VnfVm,
        mgmt_netns: &Path,
        function: &str,
        engine: Option<&str>,
        autostart: bool,
        token: Option<&coo_api::Token>,
    ) -> Result<(), String>;
    /// Serve `table` (management MAC → address) by DHCP inside the management namespace, on
    /// its veth, until the returned handle is dropped.
    fn serve_dhcp(
        &self,
        mgmt: &MgmtInfo,
        table: BTreeMap<MacAddr, Ipv4Addr>,
    ) -> Result<Box<dyn DhcpLeases>, String>;
}

/// The endpoint string recorded in testbed.json for a VM agent.
pub fn endpoint_of(vm: &VnfVm, mgmt_netns: &Path) -> Endpoint {
    Endpoint::NetnsTcp {
        netns_path: mgmt_netns.to_owned(),
        addr: vm.endpoint,
    }
}

/// Real agents over `vnf_client` with an [`Endpoint::NetnsTcp`].
pub struct RestAgents;

fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    Ok(rt.block_on(f))
}

impl GuestAgents for RestAgents {
    fn wait_ready(
        &self,
        vm: &VnfVm,
        mgmt_netns: &Path,
        timeout: Duration,
        cancel: Option<&AtomicBool>,
        coo_only: bool,
    ) -> Result<(), String> {
        let client = VnfClient::new(
            endpoint_of(vm, mgmt_netns),
            Options {
                timeout: Duration::from_secs(2),
                connect_timeout: Duration::from_millis(500),
                retries: 0,
                token: None,
            },
        );
        let deadline = Instant::now() + timeout;
        block_on(async {
            let mut last = String::from("no attempt");
            while Instant::now() < deadline {
                if cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
                    return Err("interrupted".to_owned());
                }
                let r = if coo_only {
                    client.version().await.map(|_| ())
                } else {
                    client.health().await.map(|_| ())
                };
                match r {
                    Ok(()) => return Ok(()),
                    Err(e) => last = e.to_string(),
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(format!(
                "agent at {} not ready after {timeout:?}: {last}",
                vm.endpoint
            ))
        })?
    }

    fn configure(
        &self,
        vm: &VnfVm,
        mgmt_netns: &Path,
        function: &str,
        engine: Option<&str>,
        autostart: bool,
        token: Option<&coo_api::Token>,
    ) -> Result<(), String> {
        let client = VnfClient::new(
            endpoint_of(vm, mgmt_netns),
            Options {
                timeout: Duration::from_secs(30),
                token: token.cloned(),
                ..Options::default()
            },
        );
        block_on(async {
            match engine {
                Some(engine) => {
                    client
                        .put_function(function)
                        .await
                        .map_err(|e| format!("PUT /v1/function: {e}"))?;
                    client
                        .set_engine(engine)
                        .await
                        .map_err(|e| format!("POST /v1/engine {engine}: {e}"))?;
                }
                None => client
                    .write_file("func.click", function)
                    .await
                    .map_err(|e| format!("POST /click_plugin/write_file: {e}"))?,
            }
            if autostart {
                client
                    .start()
                    .await
                    .map_err(|e| format!("POST /click_plugin/start: {e}"))?;
            }
            Ok(())
        })?
    }

    fn serve_dhcp(
        &self,
        mgmt: &MgmtInfo,
        table: BTreeMap<MacAddr, Ipv4Addr>,
    ) -> Result<Box<dyn DhcpLeases>, String> {
        let s = vmdriver::dhcp::DhcpServer::start(
            &mgmt.netns_path,
            mgmt.veth.as_str(),
            mgmt.address.addr,
            mgmt.address.prefix_len,
            table,
        )?;
        Ok(Box::new(s))
    }
}

/// Acknowledges every entry of its table at once.
struct FakeLeases(Vec<(MacAddr, Ipv4Addr)>);

impl DhcpLeases for FakeLeases {
    fn acked(&self) -> Vec<(MacAddr, Ipv4Addr)> {
        self.0.clone()
    }
}

/// Records what would be pushed to each agent; always ready.
#[derive(Default)]
pub struct FakeAgents {
    configured: Mutex<Vec<(String, String, bool)>>,
    dhcp: Mutex<Vec<BTreeMap<MacAddr, Ipv4Addr>>>,
    /// The agent of a domain whose name ends with this never becomes ready.
    pub fail_ready_of: Option<String>,
}

impl FakeAgents {
    /// Agents of domains whose name ends with `suffix` never become ready.
    pub fn failing_ready_of(suffix: &str) -> Self {
        FakeAgents {
            fail_ready_of: Some(suffix.to_owned()),
            ..Default::default()
        }
    }
    /// (domain, engine, autostart) per configured agent; engine `coo` = COO API only.
    pub fn configured(&self) -> Vec<(String, String, bool)> {
        self.configured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    /// The table of every DHCP server started.
    pub fn dhcp_tables(&self) -> Vec<BTreeMap<MacAddr, Ipv4Addr>> {
        self.dhcp.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl GuestAgents for FakeAgents {
    fn wait_ready(
        &self,
        vm: &VnfVm,
        _mgmt_netns: &Path,
        _timeout: Duration,
        _cancel: Option<&AtomicBool>,
        _coo_only: bool,
    ) -> Result<(), String> {
        if self
            .fail_ready_of
            .as_deref()
            .is_some_and(|f| vm.domain.ends_with(f))
        {
            return Err(format!("{}: injected timeout", vm.domain));
        }
        Ok(())
    }

    fn configure(
        &self,
        vm: &VnfVm,
        _mgmt_netns: &Path,
        _function: &str,
        engine: Option<&str>,
        autostart: bool,
        _token: Option<&coo_api::Token>,
    ) -> Result<(), String> {
        self.configured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((
                vm.domain.clone(),
                engine.unwrap_or("coo").to_owned(),
                autostart,
            ));
        Ok(())
    }

    fn serve_dhcp(
        &self,
        _mgmt: &MgmtInfo,
        table: BTreeMap<MacAddr, Ipv4Addr>,
    ) -> Result<Box<dyn DhcpLeases>, String> {
        self.dhcp
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(table.clone());
        Ok(Box::new(FakeLeases(table.into_iter().collect())))
    }
}

/// Prepare the real backend: libvirt connection, guest image (built or cached; with the
/// variant's external engine binaries), accelerator probe.
pub fn prepare_backend(
    driver: std::sync::Arc<dyn vmdriver::VmDriver>,
    extra_bins: &[PathBuf],
) -> Result<VmBackend, UpError> {
    let mut bins = extra_bins.to_vec();
    // The `kernel-forward` engine (and `coo-bench run`'s baseline) runs `tc` in the guest.
    match hostnet::find_in_path("tc") {
        Some(tc) => bins.push(tc),
        None => tracing::warn!("no tc on the host: kernel-forward will not work in VMs"),
    }
    VmBackend::prepare_on(driver, &bins).map_err(|e| {
        UpError::Vm(format!(
            "{e}\n(build the guest image with `coo-bench image build`, or prepare the host with `coo-bench doctor --fix`)"
        ))
    })
}

/// Wait for every VM agent (in parallel), then push each VNF's function and engine.
pub(crate) fn finish_vms(
    tb: &mut Testbed,
    vms: &[(VmStart, vmdriver::vnf::VnfVm, std::time::Instant)],
    backend: &vmdriver::vnf::VmBackend,
    agents: &dyn GuestAgents,
    opts: &UpOptions,
) -> Result<(), UpError> {
    let mgmt = tb
        .mgmt
        .as_ref()
        .ok_or_else(|| UpError::Vm("vm testbed without management network".into()))?
        .netns_path
        .clone();
    let cancel = opts.cancel.as_deref();
    let token = crate::agent_token(tb)?;
    let token = token.as_ref();
    let accel = backend.accel.accel.to_string();
    let results: Vec<Result<u64, UpError>> = std::thread::scope(|sc| {
        let handles: Vec<_> = vms
            .iter()
            .map(|(start, vm, t0)| {
                let mgmt = &mgmt;
                sc.spawn(move || {
                    let fail = |m: String| {
                        let console = fs::read_to_string(&vm.console_log).unwrap_or_default();
                        let tail: Vec<&str> = console.lines().rev().take(12).collect();
                        let tail: Vec<&str> = tail.into_iter().rev().collect();
                        UpError::Vm(format!(
                            "{}: {m}; console {}:\n{}",
                            vm.domain,
                            vm.console_log.display(),
                            tail.join("\n")
                        ))
                    };
                    // A disk image's agent is managed through the COO API only.
                    let coo_only = start.spec.disk.is_some();
                    agents
                        .wait_ready(vm, mgmt, opts.vm_ready_timeout, cancel, coo_only)
                        .map_err(fail)?;
                    let ready_ms = t0.elapsed().as_millis() as u64;
                    opts.vm_event(&start.vnf, crate::VmStage::AgentAnswering);
                    let function = fs::read_to_string(&start.function)
                        .map_err(|e| UpError::Io(format!("{}: {e}", start.function.display())))?;
                    let engine = (!coo_only).then_some(start.spec.engine.as_str());
                    agents
                        .configure(vm, mgmt, &function, engine, opts.autostart, token)
                        .map_err(fail)?;
                    opts.vm_event(&start.vnf, crate::VmStage::Configured);
                    Ok(ready_ms)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(UpError::Vm("agent thread panicked".into())))
            })
            .collect()
    });
    if cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst)) {
        return Err(UpError::Interrupted);
    }
    tb.accelerator = Some(accel.clone());
    for ((start, vm, _), r) in vms.iter().zip(results) {
        let ms = r?;
        if let Some(info) = tb
            .vnfs
            .iter_mut()
            .find(|v| v.id == start.vnf)
            .and_then(|v| v.vm.as_mut())
        {
            info.accelerator = accel.clone();
            info.boot_to_ready_ms = Some(ms);
            info.domain = vm.domain.clone();
            info.console_log = vm.console_log.clone();
        }
    }
    Ok(())
}

/// Starts the management DHCP server when a VM of `vm_actions` takes its address by DHCP:
/// static table management MAC → planned address.
pub(crate) fn start_dhcp(
    tb: &Testbed,
    vm_actions: &[Action],
    agents: &dyn GuestAgents,
) -> Result<Option<Box<dyn DhcpLeases>>, UpError> {
    let table: std::collections::BTreeMap<vmdriver::MacAddr, std::net::Ipv4Addr> = vm_actions
        .iter()
        .filter_map(|a| match a {
            Action::StartVm(s) if s.spec.mgmt_dhcp => {
                Some((vmdriver::vnf::mgmt_mac_of(&s.spec), s.spec.mgmt_addr.0))
            }
            _ => None,
        })
        .collect();
    if table.is_empty() {
        return Ok(None);
    }
    let mgmt = tb
        .mgmt
        .as_ref()
        .ok_or_else(|| UpError::Vm("vm testbed without management network".into()))?;
    agents
        .serve_dhcp(mgmt, table)
        .map(Some)
        .map_err(UpError::Dhcp)
}

/// Notes in testbed.json which disk-image VM got its address acknowledged.
pub(crate) fn record_acks(tb: &mut Testbed, acked: &[(vmdriver::MacAddr, std::net::Ipv4Addr)]) {
    for info in tb.vnfs.iter_mut().filter_map(|v| v.vm.as_mut()) {
        let Some(disk) = info.disk.as_mut() else {
            continue;
        };
        disk.dhcp_ack = acked
            .iter()
            .find(|(m, _)| m.to_string() == info.mgmt_mac)
            .map(|(_, ip)| *ip);
    }
}

/// Per-VM QEMU overhead beyond the guest's RAM (device model, TCG translation cache), MiB.
pub const QEMU_OVERHEAD_MIB: u64 = 128;
/// What the host keeps for itself (agents, generator, page cache), MiB.
pub const HOST_MARGIN_MIB: u64 = 256;

/// `MemAvailable` of a `/proc/meminfo` text, in MiB.
pub fn mem_available_mib(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Whether VMs of `memory_mib` each fit in a host whose `/proc/meminfo` reads `meminfo`.
/// An unreadable `MemAvailable` is not an error (old kernels, containers): QEMU will say.
pub fn check_memory(
    meminfo: &str,
    memory_mib: impl IntoIterator<Item = u32>,
) -> Result<(), UpError> {
    let mems: Vec<u64> = memory_mib.into_iter().map(u64::from).collect();
    let need_mib = mems.iter().map(|m| m + QEMU_OVERHEAD_MIB).sum::<u64>() + HOST_MARGIN_MIB;
    match mem_available_mib(meminfo) {
        Some(available_mib) if available_mib < need_mib => Err(UpError::NotEnoughMemory {
            vms: mems.len(),
            need_mib,
            available_mib,
        }),
        _ => Ok(()),
    }
}

/// [`check_memory`] against this host's `/proc/meminfo`.
pub fn check_host_memory(memory_mib: impl IntoIterator<Item = u32>) -> Result<(), UpError> {
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    check_memory(&meminfo, memory_mib)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod memory_tests {
    use super::*;

    fn meminfo(available_kib: u64) -> String {
        format!(
            "MemTotal:        8000000 kB\nMemFree:          100000 kB\nMemAvailable:   {available_kib} kB\n"
        )
    }

    #[test]
    fn enough_memory_passes() {
        // 3 x (300 + 128) + 256 = 1540 MiB.
        assert!(check_memory(&meminfo(1540 * 1024), [300, 300, 300]).is_ok());
    }

    #[test]
    fn too_little_memory_is_a_named_error() {
        let err = check_memory(&meminfo(1539 * 1024), [300, 300, 300]).unwrap_err();
        match &err {
            UpError::NotEnoughMemory {
                vms,
                need_mib,
                available_mib,
            } => {
                assert_eq!((*vms, *need_mib, *available_mib), (3, 1540, 1539));
            }
            other => panic!("{other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains("1540 MiB") && text.contains("MemAvailable"),
            "{text}"
        );
    }

    #[test]
    fn unreadable_meminfo_does_not_block() {
        assert!(check_memory("", [300]).is_ok());
        assert_eq!(mem_available_mib("MemAvailable: 2048 kB\n"), Some(2));
    }
}
