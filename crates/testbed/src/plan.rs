//! Pure planning: a validated `Topology` + variant + name prefix → the ordered list of
//! actions that instantiate it, and the `Testbed` description they produce. No I/O.
//!
//! Layout (netns driver):
//! - switch namespace `<prefix>`: every bridge `<prefix>-<link>` (netfilter off, IPv6 off,
//!   no address), and one port per attached interface, named like that interface;
//! - per VNF a namespace `<prefix>-<vnf>` with its data veths `<prefix>-<vnf>-<port>` in
//!   PyCOO order (port N = N-th), the descriptor's MACs (else generated locally
//!   administered ones), no addresses;
//! - source namespace `<prefix>-<IP id>` with 198.18.0.1/15, one sink namespace
//!   `<prefix>-<OP id>` per Outgoing Point with 198.19.0.<k+1>/15;
//! - IPv6 off and loopback up in every namespace; no default route anywhere.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use hostnet::{IfName, Ipv4Cidr, MacAddr, NameError, Netem, NetnsName, VethEnd};
use serde::{Deserialize, Serialize};
use topology::{Direction, DriverKind, LinkName, NodeId, Point, ResolvedVnf, Topology, Variant};

use crate::layout::{
    AgentInfo, Attachment, BridgeInfo, CeilingLink, InterfaceInfo, MgmtInfo, Testbed, VmDiskInfo,
    VmInfo, VnfInstance, FORMAT_VERSION,
};

/// Source address (matches traffic/default.json `src_ip`).
pub const SOURCE_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// First sink address (matches traffic/default.json `dst_ip`); sink k gets 198.19.0.(k+1).
pub const FIRST_SINK_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
/// Every testbed address lies in the RFC 2544 benchmarking range 198.18.0.0/15.
pub const PREFIX_LEN: u8 = 15;
/// The agent's TCP listener inside each VNF namespace (COO's port).
pub const AGENT_TCP: &str = "127.0.0.1:8000";
/// vm driver: address of the management namespace on the management bridge.
pub const MGMT_HOST_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
/// vm driver: VM i gets 198.19.255.(10+i)/16 on its management NIC.
pub const MGMT_PREFIX_LEN: u8 = 16;
/// vm driver: first VM management address.
pub const FIRST_VM_MGMT_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 255, 10);
/// vm driver: at most this many VNFs (management addresses up to 198.19.255.254).
pub const MAX_VMS: usize = 245;

/// One step of instantiation. Creating steps are written to the ledger before they run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
// A plan is a few dozen actions made once per `up`: their size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Action {
    CreateNetns {
        name: NetnsName,
    },
    /// Optional sysctls (absent keys are skipped), e.g. bridge-nf-call-* without br_netfilter.
    Sysctl {
        netns: NetnsName,
        key: String,
        value: String,
    },
    LinkUp {
        netns: NetnsName,
        name: IfName,
    },
    CreateBridge {
        netns: NetnsName,
        name: IfName,
        mac: Option<MacAddr>,
    },
    DisableBridgeNetfilter {
        netns: NetnsName,
        bridge: IfName,
    },
    CreateVeth {
        a: VethEnd,
        b: VethEnd,
    },
    AttachToBridge {
        netns: NetnsName,
        port: IfName,
        bridge: IfName,
    },
    AddAddress {
        netns: NetnsName,
        link: IfName,
        addr: Ipv4Cidr,
    },
    SetNetem {
        netns: NetnsName,
        link: IfName,
        netem: Netem,
    },
    StartAgent(AgentSpec),
    /// vm driver: a persistent tap in the host namespace (libvirt opens it unmanaged and the
    /// VM start moves it into the switch namespace); `netns`: a simulated host's namespace.
    CreateTap {
        name: IfName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        netns: Option<NetnsName>,
    },
    /// Several hosts: one end of a link's VXLAN tunnel, made in the namespace holding the
    /// site's underlay address (None: the host namespace), then moved onto the link's bridge
    /// in `switch_netns` with `mtu`.
    CreateVxlan {
        netns: Option<NetnsName>,
        vxlan: hostnet::Vxlan,
        switch_netns: NetnsName,
        bridge: IfName,
        mtu: u32,
    },
    /// vm driver: start a VNF VM, then move its taps onto their bridges.
    StartVm(VmStart),
    /// Several hosts: `step` (a network step) carried out on a real remote host over ssh
    /// ([`hostnet::NetOps::on_host`]); its objects are ledgered with the host.
    OnHost {
        host: hostnet::SshTarget,
        step: Box<Action>,
    },
}

/// How to start one VNF VM (vm driver).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmStart {
    pub vnf: String,
    pub spec: vmdriver::vnf::VnfVmSpec,
    /// Switch namespace holding the bridges.
    pub switch_netns: NetnsName,
    /// Several hosts: where the taps are made (the simulated host's namespace; None: the
    /// host namespace) and the host the domain runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tap_netns: Option<NetnsName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<hostnet::DomainHost>,
    /// A real remote host: the ssh login its taps are moved through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<hostnet::SshTarget>,
    /// (tap, bridge): NIC 0 = management, then the data NICs in PyCOO order.
    pub taps: Vec<(IfName, IfName)>,
    pub function_source: PathBuf,
    /// `<workdir>/func.click`: the copy pushed to the agent (`PUT /v1/function`).
    pub function: PathBuf,
    pub workdir: PathBuf,
}

/// How to start one VNF's agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSpec {
    pub vnf: String,
    pub netns: NetnsName,
    pub interfaces: Vec<IfName>,
    pub engine: String,
    pub function_source: PathBuf,
    /// `<workdir>/func.click`, a copy of `function_source`.
    pub function: PathBuf,
    pub workdir: PathBuf,
    pub socket: PathBuf,
    pub tcp: String,
    pub log: PathBuf,
    /// External engine binaries any variant of the topology gives this VNF: the only
    /// binaries besides the built-in engines its agent may run (`--allow-engine`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_engines: Vec<PathBuf>,
    /// The run's token file (`<run_dir>/agent.token`), set by `up` (the plan is pure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// The variant's engine options for this VNF (`--engine-options`).
    #[serde(default, skip_serializing_if = "topology::EngineOptions::is_empty")]
    pub engine_options: topology::EngineOptions,
}

/// The actions and the testbed they yield (agent pids still unknown).
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub testbed: Testbed,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{what}: {source}")]
    Name {
        what: String,
        #[source]
        source: NameError,
    },
    #[error("name prefix {0:?} must be `cb` followed by 4 hex digits")]
    BadPrefix(String),
    #[error("link {link} of {node} is not in the topology")]
    UnknownLink { node: String, link: String },
    #[error("derived name {0} is used twice (rename a node or link)")]
    Collision(String),
    #[error("the vm driver supports at most {MAX_VMS} VNFs, the topology has {0}")]
    TooManyVms(usize),
    #[error("the topology has `hosts`, but no underlay was given (where the controller and each host meet: see docs/vm-driver.md, several hosts)")]
    NoUnderlay,
    #[error("host {0}: no route from this machine to its underlay address: {1}")]
    NoRouteToHost(String, String),
    #[error("host {0}: its network part cannot be made from here: give the host a `qemu+ssh://` URI or an `ssh` login (see docs/multi-host.md)")]
    HostUnreachable(String),
    #[error("{0} shares its underlay namespace with another host: every host needs its own")]
    SharedUnderlayNamespace(String),
    #[error("{0} links are more than the VXLAN numbering of a run takes (about 250)")]
    TooManyTunnels(usize),
    #[error("frame size {frame} B does not fit through a VXLAN tunnel between hosts: at most {max} B (FCS included) over an underlay MTU of {underlay_mtu} (50 B go to the tunnel's headers); use smaller frames or a larger underlay MTU")]
    FrameTooLargeForTunnel {
        frame: u16,
        max: u32,
        underlay_mtu: u32,
    },
    #[error("VNF {vnf}: disk image path {image} is not absolute")]
    ImageNotAbsolute { vnf: String, image: String },
    #[error(
        "agent socket {} of VNF {vnf} is {len} bytes, longer than a UNIX socket path can be \
         ({MAX_SOCKET_PATH} bytes); use a shorter run root (COO_BENCH_RUN_DIR) or run id",
        socket.display()
    )]
    SocketPathTooLong {
        vnf: String,
        socket: PathBuf,
        len: usize,
    },
}

/// Longest UNIX socket path: `sun_path` is 108 bytes including the terminating NUL.
pub const MAX_SOCKET_PATH: usize = 107;

/// Every external engine binary any variant gives VNF `vnf` (sorted, no duplicates).
pub fn external_engines_of(topo: &Topology, vnf: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = topo
        .variants
        .iter()
        .flat_map(|var| topo.resolve(var))
        .filter(|r| r.id.as_str() == vnf)
        .filter_map(|r| match r.engine {
            topology::EngineSpec::External(p) => Some(p),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The netns driver's agent socket of VNF `vnf` under `run_dir`.
pub fn agent_socket(run_dir: &Path, vnf: &str) -> PathBuf {
    run_dir.join("agents").join(format!("{vnf}.sock"))
}

/// Every agent socket of the netns driver under `run_dir` must fit in `sun_path`.
pub fn check_socket_paths(topo: &Topology, run_dir: &Path) -> Result<(), PlanError> {
    for v in &topo.vnfs {
        let socket = agent_socket(run_dir, v.id.as_str());
        let len = socket.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(PlanError::SocketPathTooLong {
                vnf: v.id.to_string(),
                socket,
                len,
            });
        }
    }
    Ok(())
}

pub(crate) fn name_err<E: Into<NameError>>(what: impl Into<String>) -> impl FnOnce(E) -> PlanError {
    let what = what.into();
    move |source| PlanError::Name {
        what,
        source: source.into(),
    }
}

/// The two bytes behind a prefix `cbHHHH`.
fn prefix_bytes(prefix: &str) -> Result<[u8; 2], PlanError> {
    let bad = || PlanError::BadPrefix(prefix.to_owned());
    let hex = prefix.strip_prefix("cb").ok_or_else(bad)?;
    if hex.len() != 4 {
        return Err(bad());
    }
    let v = u16::from_str_radix(hex, 16).map_err(|_| bad())?;
    Ok(v.to_be_bytes())
}

/// Role byte of generated MACs.
const ROLE_VNF: u8 = 0x00;
const ROLE_SOURCE: u8 = 0x01;
const ROLE_SINK: u8 = 0x02;
const ROLE_MGMT: u8 = 0x03;

fn gen_mac(pb: [u8; 2], role: u8, node: usize, port: usize) -> MacAddr {
    MacAddr::local([pb[0], pb[1], role, node as u8, port as u8])
}

struct Builder<'a> {
    topo: &'a Topology,
    prefix: &'a str,
    sw: NetnsName,
    actions: Vec<Action>,
    names: BTreeSet<String>,
}

impl Builder<'_> {
    /// Every derived name must be unique (namespaces and interfaces share this check so a
    /// bridge can never clash with a port in the switch namespace either).
    fn claim(&mut self, name: &str) -> Result<(), PlanError> {
        if !self.names.insert(name.to_owned()) {
            return Err(PlanError::Collision(name.to_owned()));
        }
        Ok(())
    }

    fn ns_of(&self, node: &str) -> Result<NetnsName, PlanError> {
        NetnsName::new(topology::names::netns_name(self.prefix, &NodeId::new(node)))
            .map_err(name_err(format!("namespace of {node}")))
    }

    fn bridge_of(&self, node: &str, link: &LinkName) -> Result<IfName, PlanError> {
        if self.topo.link(link.as_str()).is_none() {
            return Err(PlanError::UnknownLink {
                node: node.to_owned(),
                link: link.to_string(),
            });
        }
        IfName::new(topology::names::bridge_name(self.prefix, link))
            .map_err(name_err(format!("bridge of link {link}")))
    }

    fn ifname(&self, node: &NodeId, port: usize) -> Result<IfName, PlanError> {
        IfName::new(topology::names::interface_name(self.prefix, node, port))
            .map_err(name_err(format!("interface {port} of {node}")))
    }

    fn new_ns(&mut self, name: &NetnsName) -> Result<(), PlanError> {
        self.claim(&format!("netns:{name}"))?;
        self.actions
            .push(Action::CreateNetns { name: name.clone() });
        for k in ["all", "default"] {
            // No IPv6: no link-local addresses, router solicitations or MLD reports
            // polluting measured traffic (and no address on any bridge port).
            self.actions.push(Action::Sysctl {
                netns: name.clone(),
                key: format!("net/ipv6/conf/{k}/disable_ipv6"),
                value: "1".into(),
            });
        }
        self.actions.push(Action::LinkUp {
            netns: name.clone(),
            name: IfName::new("lo").map_err(name_err("lo"))?,
        });
        Ok(())
    }

    /// A veth with one end `name` in `ns` and the other, same name, on `bridge`.
    fn veth(
        &mut self,
        ns: &NetnsName,
        name: &IfName,
        mac: MacAddr,
        bridge: &IfName,
    ) -> Result<(), PlanError> {
        self.claim(&format!("if:{name}"))?;
        let sw = self.sw.clone();
        self.actions.push(Action::CreateVeth {
            a: VethEnd {
                name: name.clone(),
                netns: Some(ns.clone()),
                mac: Some(mac),
            },
            b: VethEnd {
                name: name.clone(),
                netns: Some(sw.clone()),
                mac: None,
            },
        });
        self.actions.push(Action::AttachToBridge {
            netns: sw.clone(),
            port: name.clone(),
            bridge: bridge.clone(),
        });
        self.actions.push(Action::LinkUp {
            netns: sw,
            name: name.clone(),
        });
        self.actions.push(Action::LinkUp {
            netns: ns.clone(),
            name: name.clone(),
        });
        Ok(())
    }

    fn attach(
        &mut self,
        point: &Point,
        ns: &NetnsName,
        mac: MacAddr,
        ip: Ipv4Addr,
    ) -> Result<Attachment, PlanError> {
        let name = self.ifname(&point.id, 0)?;
        let bridge = self.bridge_of(point.id.as_str(), &point.link)?;
        self.veth(ns, &name, mac, &bridge)?;
        let cidr = Ipv4Cidr {
            addr: ip,
            prefix_len: PREFIX_LEN,
        };
        self.actions.push(Action::AddAddress {
            netns: ns.clone(),
            link: name.clone(),
            addr: cidr,
        });
        Ok(Attachment {
            id: point.id.to_string(),
            netns: ns.clone(),
            netns_path: ns.path(),
            ifname: name,
            mac,
            ip: cidr,
            bridge,
        })
    }
}

/// Plan the netns testbed of `topo` under `variant` with name `prefix` (`cbHHHH`), run id
/// `run_id` and run directory `run_dir` (agent sockets and workdirs live there).
pub fn plan(
    topo: &Topology,
    variant: &Variant,
    prefix: &str,
    run_id: &str,
    run_dir: &Path,
) -> Result<Plan, PlanError> {
    plan_driver(topo, variant, prefix, run_id, run_dir, DriverKind::Netns)
}

/// Like [`plan`] for the vm driver: every VNF a VM whose NIC 0 is on a management bridge
/// (reached from namespace `<prefix>-mgmt`, 198.19.0.1/16) and whose data NICs are taps
/// `<prefix>v<index>n<nic>` on the link bridges. Source, sinks and bridges as in [`plan`].
pub fn plan_vm(
    topo: &Topology,
    variant: &Variant,
    prefix: &str,
    run_id: &str,
    run_dir: &Path,
) -> Result<Plan, PlanError> {
    plan_driver(topo, variant, prefix, run_id, run_dir, DriverKind::Vm)
}

fn plan_driver(
    topo: &Topology,
    variant: &Variant,
    prefix: &str,
    run_id: &str,
    run_dir: &Path,
    driver: DriverKind,
) -> Result<Plan, PlanError> {
    let vm = driver == DriverKind::Vm;
    if vm && topo.vnfs.len() > MAX_VMS {
        return Err(PlanError::TooManyVms(topo.vnfs.len()));
    }
    if !vm {
        check_socket_paths(topo, run_dir)?;
    }
    // Disk images (vm driver only; the netns driver ignores them): the overlay's backing
    // path must not depend on a working directory.
    for v in topo.vnfs.iter().filter(|_| vm) {
        if let Some(image) = v.image.as_ref().filter(|p| !p.is_absolute()) {
            return Err(PlanError::ImageNotAbsolute {
                vnf: v.id.to_string(),
                image: image.display().to_string(),
            });
        }
    }
    let pb = prefix_bytes(prefix)?;
    let sw = NetnsName::new(prefix).map_err(name_err("switch namespace"))?;
    let mut b = Builder {
        topo,
        prefix,
        sw: sw.clone(),
        actions: Vec::new(),
        names: BTreeSet::new(),
    };

    // Switch namespace first: everything else attaches to it.
    b.new_ns(&sw)?;
    for k in ["iptables", "ip6tables", "arptables"] {
        b.actions.push(Action::Sysctl {
            netns: sw.clone(),
            key: format!("net/bridge/bridge-nf-call-{k}"),
            value: "0".into(),
        });
    }
    let vnf_ns: Vec<NetnsName> = topo
        .vnfs
        .iter()
        .map(|v| b.ns_of(v.id.as_str()))
        .collect::<Result<_, _>>()?;
    let src_ns = b.ns_of(topo.incoming.id.as_str())?;
    let sink_ns: Vec<NetnsName> = topo
        .outgoing
        .iter()
        .map(|o| b.ns_of(o.id.as_str()))
        .collect::<Result<_, _>>()?;
    let mgmt_ns =
        NetnsName::new(format!("{prefix}-mgmt")).map_err(name_err("management namespace"))?;
    if vm {
        b.new_ns(&mgmt_ns)?;
    } else {
        for n in &vnf_ns {
            b.new_ns(n)?;
        }
    }
    for n in [&src_ns].into_iter().chain(sink_ns.iter()) {
        b.new_ns(n)?;
    }

    let mut bridges = Vec::new();
    for l in &topo.links {
        // Fan-in (several VNFs feeding one Outgoing Point, as PyCOO allows): one bridge, the
        // point's link, with every sender attached.
        if let Some(shared) = bridges
            .iter_mut()
            .find(|x: &&mut BridgeInfo| x.link == l.name.as_str())
        {
            shared.from = format!("{},{}", shared.from, l.from);
            continue;
        }
        let name = b.bridge_of(l.from.as_str(), &l.name)?;
        b.claim(&format!("if:{name}"))?;
        b.actions.push(Action::CreateBridge {
            netns: sw.clone(),
            name: name.clone(),
            mac: l.bridge_mac,
        });
        b.actions.push(Action::DisableBridgeNetfilter {
            netns: sw.clone(),
            bridge: name.clone(),
        });
        b.actions.push(Action::LinkUp {
            netns: sw.clone(),
            name: name.clone(),
        });
        bridges.push(BridgeInfo {
            link: l.name.to_string(),
            name,
            from: l.from.to_string(),
            to: l.to.to_string(),
            netem: l.impairment.as_ref().map(|i| Netem {
                delay_us: u64::from(i.delay_us),
                jitter_us: u64::from(i.jitter_us),
                loss_pct: i.loss_pct,
                rate_mbit: i.rate_mbit.map(f64::from).unwrap_or(0.0),
            }),
            tunnels: Vec::new(),
        });
    }

    let mgmt = if vm {
        let bridge =
            IfName::new(format!("{prefix}-mgmt")).map_err(name_err("management bridge"))?;
        let veth = IfName::new(format!("{prefix}-mgv")).map_err(name_err("management veth"))?;
        b.claim(&format!("if:{bridge}"))?;
        b.actions.push(Action::CreateBridge {
            netns: sw.clone(),
            name: bridge.clone(),
            mac: None,
        });
        b.actions.push(Action::DisableBridgeNetfilter {
            netns: sw.clone(),
            bridge: bridge.clone(),
        });
        b.actions.push(Action::LinkUp {
            netns: sw.clone(),
            name: bridge.clone(),
        });
        b.veth(&mgmt_ns, &veth, gen_mac(pb, ROLE_MGMT, 0, 0), &bridge)?;
        let address = Ipv4Cidr {
            addr: MGMT_HOST_IP,
            prefix_len: MGMT_PREFIX_LEN,
        };
        b.actions.push(Action::AddAddress {
            netns: mgmt_ns.clone(),
            link: veth.clone(),
            addr: address,
        });
        Some(MgmtInfo {
            netns: mgmt_ns.clone(),
            netns_path: mgmt_ns.path(),
            bridge,
            veth,
            address,
        })
    } else {
        None
    };

    let resolved = topo.resolve(variant);
    let mut vnfs = Vec::new();
    let mut agents = Vec::new();
    for (i, (v, ns)) in topo.vnfs.iter().zip(&vnf_ns).enumerate() {
        if let Some(m) = &mgmt {
            let (inst, actions) = plan_one_vm(&mut b, m, i, v, &resolved[i], run_dir)?;
            vnfs.push(inst);
            agents.extend(actions);
            continue;
        }
        let mut ifs = Vec::new();
        for itf in &v.interfaces {
            let name = b.ifname(&v.id, itf.port)?;
            let bridge = b.bridge_of(v.id.as_str(), &itf.link)?;
            let mac = itf
                .mac
                .unwrap_or_else(|| gen_mac(pb, ROLE_VNF, i, itf.port));
            b.veth(ns, &name, mac, &bridge)?;
            ifs.push(InterfaceInfo {
                name,
                port: itf.port,
                mac,
                bridge,
                link: itf.link.to_string(),
                peer: itf.peer.to_string(),
                direction: match itf.direction {
                    Direction::Ingress => "ingress".into(),
                    Direction::Egress => "egress".into(),
                },
                address: None,
            });
        }
        let r = &resolved[i];
        let workdir = run_dir.join(v.id.as_str());
        let socket = agent_socket(run_dir, v.id.as_str());
        let spec = AgentSpec {
            vnf: v.id.to_string(),
            netns: ns.clone(),
            interfaces: ifs.iter().map(|x| x.name.clone()).collect(),
            engine: r.engine.to_string(),
            function_source: r.function.clone(),
            function: workdir.join("func.click"),
            workdir: workdir.clone(),
            socket: socket.clone(),
            tcp: AGENT_TCP.to_owned(),
            log: workdir.join("agent.log"),
            allow_engines: external_engines_of(topo, v.id.as_str()),
            token_file: None,
            engine_options: r.options.clone(),
        };
        vnfs.push(VnfInstance {
            id: v.id.to_string(),
            netns: ns.clone(),
            netns_path: ns.path(),
            engine: spec.engine.clone(),
            function: spec.function.clone(),
            function_source: spec.function_source.clone(),
            workdir,
            interfaces: ifs,
            agent: AgentInfo {
                endpoint: format!("unix:{}", socket.display()),
                tcp_in_netns: AGENT_TCP.to_owned(),
                pid: None,
                start_time: None,
                log: spec.log.clone(),
            },
            vm: None,
        });
        agents.push(Action::StartAgent(spec));
    }

    let source = b.attach(
        &topo.incoming,
        &src_ns,
        gen_mac(pb, ROLE_SOURCE, 0, 0),
        SOURCE_IP,
    )?;
    let mut sinks = Vec::new();
    for (k, (op, ns)) in topo.outgoing.iter().zip(&sink_ns).enumerate() {
        let ip = Ipv4Addr::from(u32::from(FIRST_SINK_IP) + k as u32);
        sinks.push(b.attach(op, ns, gen_mac(pb, ROLE_SINK, k, 0), ip)?);
    }

    // The measurement ceiling: a veth straight from the source namespace to the first sink
    // namespace (no bridge, no VNF), so the generator→sink limit is measured on the same
    // namespaces, sockets and CPUs as the chain.
    let ceiling = match sinks.first() {
        Some(first) => {
            let (gen_if, sink_if) = (
                IfName::new(format!("{prefix}-cg")).map_err(name_err("ceiling veth"))?,
                IfName::new(format!("{prefix}-cs")).map_err(name_err("ceiling veth"))?,
            );
            b.claim(&format!("if:{gen_if}"))?;
            b.claim(&format!("if:{sink_if}"))?;
            b.actions.push(Action::CreateVeth {
                a: VethEnd {
                    name: gen_if.clone(),
                    netns: Some(src_ns.clone()),
                    mac: Some(gen_mac(pb, ROLE_SOURCE, 0, 1)),
                },
                b: VethEnd {
                    name: sink_if.clone(),
                    netns: Some(first.netns.clone()),
                    mac: Some(gen_mac(pb, ROLE_SINK, 0, 1)),
                },
            });
            for (ns, name) in [(&src_ns, &gen_if), (&first.netns, &sink_if)] {
                b.actions.push(Action::LinkUp {
                    netns: ns.clone(),
                    name: name.clone(),
                });
            }
            Some(CeilingLink {
                source_if: gen_if,
                sink_if,
            })
        }
        None => None,
    };

    // Impairments: the egress of the `to` end's bridge port carries from → to traffic.
    for br in &bridges {
        let Some(netem) = br.netem else { continue };
        let port = vnfs
            .iter()
            .find(|v| v.id == br.to)
            .and_then(|v| v.interfaces.iter().find(|i| i.link == br.link))
            .map(|i| i.name.clone())
            .or_else(|| {
                sinks
                    .iter()
                    .find(|s| s.id == br.to)
                    .map(|s| s.ifname.clone())
            });
        if let Some(link) = port {
            b.actions.push(Action::SetNetem {
                netns: sw.clone(),
                link,
                netem,
            });
        }
    }

    // Agents (VMs) last: their interfaces, bridges and loopback exist when they start.
    b.actions.extend(agents);

    let testbed = Testbed {
        version: FORMAT_VERSION,
        run_id: run_id.to_owned(),
        topology_id: topo.id.to_string(),
        topology_source: topo.source.clone(),
        variant: variant.name.clone(),
        prefix: prefix.to_owned(),
        driver,
        accelerator: None,
        mgmt,
        run_dir: run_dir.to_owned(),
        switch_netns: sw,
        created_unix_ms: 0,
        bridges,
        vnfs,
        source,
        sinks,
        ceiling,
        hosts: Vec::new(),
    };
    Ok(Plan {
        actions: b.actions,
        testbed,
    })
}

fn direction_str(d: &Direction) -> String {
    match d {
        Direction::Ingress => "ingress".into(),
        Direction::Egress => "egress".into(),
    }
}

/// The actions (taps, then the VM start) and the instance of VNF `i` as a VM. A VNF with a
/// disk image boots a qcow2 overlay `<run_dir>/vm/<vnf>.qcow2` on it and takes its management
/// address by DHCP (from the testbed's server in the management namespace).
fn plan_one_vm(
    b: &mut Builder<'_>,
    mgmt: &MgmtInfo,
    i: usize,
    v: &topology::Vnf,
    r: &ResolvedVnf,
    run_dir: &Path,
) -> Result<(VnfInstance, Vec<Action>), PlanError> {
    let pb = prefix_bytes(b.prefix)?;
    let mgmt_ip = Ipv4Addr::from(u32::from(FIRST_VM_MGMT_IP) + i as u32);
    let mut itfs: Vec<&topology::VnfInterface> = v.interfaces.iter().collect();
    itfs.sort_by_key(|x| x.port);
    let disk = v.image.as_ref().map(|image| vmdriver::vnf::DiskBoot {
        image: image.clone(),
        overlay: run_dir.join("vm").join(format!("{}.qcow2", v.id)),
    });
    let mut spec = vmdriver::vnf::VnfVmSpec {
        prefix: b.prefix.to_owned(),
        vnf_id: v.id.to_string(),
        index: i,
        memory_mib: v.memory_mib,
        vcpus: v.vcpus,
        mgmt_bridge: mgmt.bridge.to_string(),
        mgmt_addr: (mgmt_ip, MGMT_PREFIX_LEN),
        mgmt_dhcp: disk.is_some(),
        precreated_taps: true,
        mgmt_mac: v.management_mac,
        data: Vec::new(),
        engine: r.engine.to_string(),
        run_dir: run_dir.to_owned(),
        // Filled by `up` once the run's token exists (the plan is pure).
        token_sha256: None,
        disk: disk.clone(),
        cpu_model: v.cpu_model.as_ref().map(|m| m.as_str().to_owned()),
        console_dir: None,
    };
    let tap = |nic: usize, spec: &vmdriver::vnf::VnfVmSpec| {
        let n = vmdriver::vnf::tap_name(spec, nic);
        IfName::new(n.clone()).map_err(name_err(format!("tap {n}")))
    };
    let mut actions = Vec::new();
    let mut taps = Vec::new();
    let t0 = tap(0, &spec)?;
    taps.push((t0, mgmt.bridge.clone()));
    let mut ifs = Vec::new();
    for (k, itf) in itfs.iter().enumerate() {
        let bridge = b.bridge_of(v.id.as_str(), &itf.link)?;
        let mac = itf
            .mac
            .unwrap_or_else(|| gen_mac(pb, ROLE_VNF, i, itf.port));
        spec.data.push((bridge.to_string(), mac));
        let t = tap(k + 1, &spec)?;
        taps.push((t.clone(), bridge.clone()));
        ifs.push(InterfaceInfo {
            name: t,
            port: itf.port,
            mac,
            bridge,
            link: itf.link.to_string(),
            peer: itf.peer.to_string(),
            direction: direction_str(&itf.direction),
            address: None,
        });
    }
    for (t, _) in &taps {
        b.claim(&format!("if:{t}"))?;
        actions.push(Action::CreateTap {
            name: t.clone(),
            netns: None,
        });
    }
    let ds =
        vmdriver::vnf::domain_spec(&spec, Path::new("-"), Path::new("-"), vmdriver::Accel::Tcg);
    let workdir = run_dir.join(v.id.as_str());
    let function = workdir.join("func.click");
    let tcp = std::net::SocketAddr::from((mgmt_ip, vmdriver::guest::AGENT_PORT));
    let inst = VnfInstance {
        id: v.id.to_string(),
        netns: mgmt.netns.clone(),
        netns_path: mgmt.netns_path.clone(),
        engine: spec.engine.clone(),
        function: function.clone(),
        function_source: r.function.clone(),
        workdir: workdir.clone(),
        interfaces: ifs,
        agent: AgentInfo {
            endpoint: format!("netns:{}@{tcp}", mgmt.netns_path.display()),
            tcp_in_netns: tcp.to_string(),
            pid: None,
            start_time: None,
            log: ds.console_log.clone(),
        },
        vm: Some(VmInfo {
            domain: ds.name.clone(),
            accelerator: String::new(),
            memory_mib: v.memory_mib,
            vcpus: v.vcpus,
            mgmt_ip: Ipv4Cidr {
                addr: mgmt_ip,
                prefix_len: MGMT_PREFIX_LEN,
            },
            mgmt_mac: vmdriver::vnf::mgmt_mac_of(&spec).to_string(),
            mgmt_netns_path: mgmt.netns_path.clone(),
            taps: taps.iter().map(|(t, _)| t.clone()).collect(),
            console_log: ds.console_log,
            boot_to_ready_ms: None,
            host: None,
            disk: disk.map(|d| VmDiskInfo {
                image: d.image,
                overlay: d.overlay,
                dhcp_ack: None,
            }),
        }),
    };
    actions.push(Action::StartVm(VmStart {
        vnf: v.id.to_string(),
        spec,
        switch_netns: b.sw.clone(),
        tap_netns: None,
        host: None,
        ssh: None,
        taps,
        function_source: r.function.clone(),
        function,
        workdir,
    }));
    Ok((inst, actions))
}
