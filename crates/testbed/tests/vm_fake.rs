//! The vm driver's orchestration against the recording fakes (hostnet, vmdriver, agents):
//! no root, no libvirt.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hostnet::fake::{Call, RecordingNetOps, RecordingProcesses};
use testbed::{
    plan_vm, Action, DriverKind, FakeAgents, FakeLauncher, NetnsDriver, Ops, UpError, UpOptions,
    VmDriver,
};
use vmdriver::accel::Accel;
use vmdriver::fake::{FakeHypervisors, RecordingVmDriver};
use vmdriver::vnf::VmBackend;

fn topo() -> topology::Topology {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../topologies/pycoo-xyz.json");
    topology::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

fn backend(driver: Arc<RecordingVmDriver>) -> VmBackend {
    vmdriver::fake::backend(driver)
}

/// The recording fakes of a VM `up`, the back-ends and the driver over them.
struct Fakes {
    net: RecordingNetOps,
    procs: RecordingProcesses,
    launcher: FakeLauncher,
    hyp: FakeHypervisors,
    vmd: Arc<RecordingVmDriver>,
    be: VmBackend,
    agents: FakeAgents,
}

impl Fakes {
    fn new(agents: FakeAgents) -> Self {
        let hyp = FakeHypervisors::new();
        let vmd = hyp.local.clone();
        Fakes {
            net: RecordingNetOps::default(),
            procs: RecordingProcesses::default(),
            launcher: FakeLauncher::default(),
            be: backend(vmd.clone()),
            hyp,
            vmd,
            agents,
        }
    }

    fn ops(&self) -> Ops<'_> {
        Ops {
            net: &self.net,
            procs: &self.procs,
            vms: &self.hyp,
        }
    }

    fn driver(&self) -> VmDriver<'_> {
        VmDriver {
            backend: &self.be,
            agents: &self.agents,
            vms: &self.hyp,
            underlay: None,
        }
    }
}

fn opts(root: &Path) -> UpOptions {
    UpOptions {
        run_root: Some(root.to_owned()),
        driver: Some(DriverKind::Vm),
        autostart: true,
        ..Default::default()
    }
}

#[test]
fn plan_vm_layout() {
    let t = topo();
    let p = plan_vm(
        &t,
        &t.variants[0],
        "cb1a2b",
        "pycoo-xyz-1a2b",
        Path::new("/run/coo-bench/pycoo-xyz-1a2b"),
    )
    .unwrap();
    let ns: Vec<String> = p
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::CreateNetns { name } => Some(name.to_string()),
            _ => None,
        })
        .collect();
    // No VNF namespaces: a management namespace instead.
    assert_eq!(ns, ["cb1a2b", "cb1a2b-mgmt", "cb1a2b-IP", "cb1a2b-OP1"]);
    let starts: Vec<&testbed::VmStart> = p
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::StartVm(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 3);
    for (i, s) in starts.iter().enumerate() {
        assert!(s.spec.precreated_taps);
        assert_eq!(s.spec.mgmt_bridge, "cb1a2b-mgmt");
        assert_eq!(
            s.spec.mgmt_addr,
            (Ipv4Addr::new(198, 19, 255, 10 + i as u8), 16)
        );
        assert_eq!(s.switch_netns.as_str(), "cb1a2b");
        // Every tap is created (host namespace) before its VM starts.
        let start_pos = p
            .actions
            .iter()
            .position(|a| matches!(a, Action::StartVm(x) if x.vnf == s.vnf))
            .unwrap();
        for (tap, _) in &s.taps {
            let tap_pos = p
                .actions
                .iter()
                .position(|a| matches!(a, Action::CreateTap { name, .. } if name == tap))
                .unwrap();
            assert!(tap_pos < start_pos);
            assert!(tap.as_str().len() <= 15);
        }
    }
    // x: NIC 0 management, data NICs on br0 then br1 (PyCOO port order) with the file's MACs.
    let x = starts[0];
    let taps: Vec<(String, String)> = x
        .taps
        .iter()
        .map(|(t, b)| (t.to_string(), b.to_string()))
        .collect();
    assert_eq!(
        taps,
        [
            ("cb1a2bv0n0".into(), "cb1a2b-mgmt".into()),
            ("cb1a2bv0n1".into(), "cb1a2b-br0".into()),
            ("cb1a2bv0n2".into(), "cb1a2b-br1".into()),
        ]
    );
    assert_eq!(x.spec.data[0].1.to_string(), "52:54:00:6c:22:13");
    assert_eq!(x.spec.data[1].1.to_string(), "52:54:00:6c:22:14");
    assert_eq!(x.spec.mgmt_mac.unwrap().to_string(), "52:54:01:6c:22:01");
    let tb = &p.testbed;
    assert_eq!(tb.driver, DriverKind::Vm);
    let m = tb.mgmt.as_ref().unwrap();
    assert_eq!(m.address.to_string(), "198.19.0.1/16");
    assert_eq!(m.netns_path, PathBuf::from("/run/netns/cb1a2b-mgmt"));
    assert_eq!(
        tb.vnfs[1].agent.endpoint,
        "netns:/run/netns/cb1a2b-mgmt@198.19.255.11:8000"
    );
    let ep: vnf_client::Endpoint = tb.vnfs[1].agent.endpoint.parse().unwrap();
    assert!(matches!(ep, vnf_client::Endpoint::NetnsTcp { .. }));
    assert_eq!(tb.vnfs[2].vm.as_ref().unwrap().domain, "cb1a2b-z");
    // The management address is the only one outside the source/sink veths.
    let addrs: Vec<String> = p
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::AddAddress { netns, addr, .. } => Some(format!("{netns} {addr}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        addrs,
        [
            "cb1a2b-mgmt 198.19.0.1/16",
            "cb1a2b-IP 198.18.0.1/15",
            "cb1a2b-OP1 198.19.0.1/15"
        ]
    );
}

#[test]
fn vm_up_then_down_with_fakes_leaves_nothing() {
    let t = topo();
    let root = tempfile::tempdir().unwrap();
    let f = Fakes::new(FakeAgents::default());
    let Fakes {
        net,
        launcher,
        vmd,
        agents,
        ..
    } = &f;
    let tb = testbed::up_with(&t, &opts(root.path()), &f.ops(), &f.driver()).unwrap();
    assert!(launcher.started().is_empty(), "no host agents for VMs");
    let p = &tb.prefix;
    assert_eq!(
        vmd.domains(),
        [format!("{p}-x"), format!("{p}-y"), format!("{p}-z")]
    );
    // The domains are objects of the run's one ledger (local: no host), after the taps
    // they hold.
    let entries = hostnet::ledger::entries(&root.path().join(&tb.run_id).join("ledger")).unwrap();
    let doms: Vec<(usize, String)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match &e.object {
            hostnet::Object::Domain { name, host: None } => Some((i, name.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        doms.iter().map(|d| d.1.clone()).collect::<Vec<_>>(),
        [format!("{p}-x"), format!("{p}-y"), format!("{p}-z")]
    );
    let first_tap = entries
        .iter()
        .position(|e| matches!(&e.object, hostnet::Object::Link { netns: None, .. }))
        .unwrap();
    assert!(first_tap < doms[0].0);
    assert!(!root.path().join(&tb.run_id).join("domains").exists());
    // Every tap ended in the switch namespace on its bridge.
    let (ns, links) = net.live_objects();
    assert_eq!(ns.len(), 4);
    for v in &tb.vnfs {
        for tap in &v.vm.as_ref().unwrap().taps {
            assert!(
                links
                    .iter()
                    .any(|(n, l)| l == tap && n.as_ref().map(|n| n.as_str()) == Some(p.as_str())),
                "{tap} not in the switch namespace: {links:?}"
            );
        }
    }
    assert!(
        links.iter().all(|(n, _)| n.is_some()),
        "host namespace holds {links:?}"
    );
    // Every guest's kernel command line carries the digest of the run's token, never the
    // token itself.
    let token = testbed::agent_token(&tb).unwrap().unwrap();
    let digest = format!("coo.token_sha256={}", token.digest().to_hex());
    let xmls: Vec<String> = vmd
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            vmdriver::fake::Call::Start { xml, .. } => Some(xml),
            _ => None,
        })
        .collect();
    assert_eq!(xmls.len(), 3);
    for x in &xmls {
        assert!(x.contains(&digest), "{x}");
        assert!(!x.contains(token.as_str()));
    }
    // Function, engine and start pushed to every agent.
    let conf = agents.configured();
    assert_eq!(conf.len(), 3);
    assert!(conf.iter().all(|(_, e, start)| e == "coo-click" && *start));
    assert_eq!(tb.accelerator.as_deref(), Some("tcg"));
    assert!(tb
        .vnfs
        .iter()
        .all(|v| v.vm.as_ref().unwrap().boot_to_ready_ms.is_some()));
    assert_eq!(testbed::load_in(root.path(), &tb.run_id).unwrap(), tb);
    let st = testbed::status_with(root.path(), &f.hyp).unwrap();
    assert_eq!(st[0].agents.len(), 3);
    assert!(st[0]
        .agents
        .iter()
        .all(|a| a.domain_state.as_deref() == Some("running")));
    // The domain ledger's view: the same three domains, all running.
    let doms: Vec<_> = st[0].domains.iter().map(|d| d.domain.clone()).collect();
    assert_eq!(doms, [format!("{p}-x"), format!("{p}-y"), format!("{p}-z")]);
    assert!(st[0]
        .domains
        .iter()
        .all(|d| d.state.as_deref() == Some("running")));

    testbed::down_with(root.path(), &tb.run_id, &f.ops()).unwrap();
    assert!(vmd.domains().is_empty());
    let (ns, links) = net.live_objects();
    assert!(ns.is_empty() && links.is_empty(), "{ns:?} {links:?}");
    assert!(!root.path().join(&tb.run_id).exists());
    // Domains went before the namespaces holding their taps.
    let vcalls = vmd.calls();
    assert!(vcalls
        .iter()
        .any(|c| matches!(c, vmdriver::fake::Call::Destroy { name } if name == &format!("{p}-x"))));
    assert!(net
        .calls()
        .iter()
        .any(|c| matches!(c, Call::DeleteNetns(_))));
}

#[test]
fn vm_agent_failure_mid_up_rolls_back() {
    let t = topo();
    let root = tempfile::tempdir().unwrap();
    let f = Fakes::new(FakeAgents::failing_ready_of("-y"));
    let Fakes { net, vmd, .. } = &f;
    let err = testbed::up_with(&t, &opts(root.path()), &f.ops(), &f.driver()).unwrap_err();
    assert!(
        matches!(&err, UpError::Vm(m) if m.contains("injected")),
        "{err}"
    );
    assert!(vmd.domains().is_empty(), "{:?}", vmd.domains());
    let (ns, links) = net.live_objects();
    assert!(ns.is_empty() && links.is_empty(), "{ns:?} {links:?}");
    assert!(testbed::runs::list_runs(root.path()).unwrap().is_empty());
}

#[test]
fn vm_tap_failure_mid_up_rolls_back() {
    let t = topo();
    let root = tempfile::tempdir().unwrap();
    let f = Fakes::new(FakeAgents::default());
    let Fakes { net, vmd, .. } = &f;
    // Moving z's first data tap fails (after x and y are up and z's domain exists).
    for hex in 0..=0xffffu32 {
        net.fail_on(&format!("move_link cb{hex:04x}v2n1"));
    }
    let err = testbed::up_with(&t, &opts(root.path()), &f.ops(), &f.driver()).unwrap_err();
    assert!(matches!(err, UpError::Net(_)), "{err}");
    assert_eq!(
        vmd.calls()
            .iter()
            .filter(|c| matches!(c, vmdriver::fake::Call::Start { .. }))
            .count(),
        3
    );
    assert!(vmd.domains().is_empty(), "{:?}", vmd.domains());
    let (ns, links) = net.live_objects();
    assert!(ns.is_empty() && links.is_empty(), "{ns:?} {links:?}");
    assert!(testbed::runs::list_runs(root.path()).unwrap().is_empty());
}

#[test]
fn vm_up_with_a_netns_driver_is_an_error() {
    let t = topo();
    let root = tempfile::tempdir().unwrap();
    let net = RecordingNetOps::default();
    let procs = RecordingProcesses::default();
    let launcher = FakeLauncher::default();
    let hyp = FakeHypervisors::new();
    let ops = Ops {
        net: &net,
        procs: &procs,
        vms: &hyp,
    };
    let driver = NetnsDriver {
        launcher: &launcher,
    };
    let err = testbed::up_with(&t, &opts(root.path()), &ops, &driver).unwrap_err();
    assert!(
        matches!(
            err,
            UpError::DriverMismatch {
                wanted: DriverKind::Vm,
                given: DriverKind::Netns
            }
        ),
        "{err}"
    );
    assert!(net.calls().is_empty());
}

#[test]
fn clean_tears_down_vm_runs_and_only_reports_foreign_domains() {
    let t = topo();
    let root = tempfile::tempdir().unwrap();
    let f = Fakes::new(FakeAgents::default());
    let Fakes { net, vmd, .. } = &f;
    let tb = testbed::up_with(&t, &opts(root.path()), &f.ops(), &f.driver()).unwrap();
    // A domain of some other testbed (another run root): clean must not touch it.
    let foreign = vmdriver::xml::DomainSpec {
        cpu: None,
        name: "cbt0bad-x".into(),
        ..vmdriver::vnf::domain_spec(
            &testbed::plan_vm(&t, &t.variants[0], "cb0bad", "r", Path::new("/r"))
                .unwrap()
                .actions
                .iter()
                .find_map(|a| match a {
                    Action::StartVm(s) => Some(s.spec.clone()),
                    _ => None,
                })
                .unwrap(),
            Path::new("/k"),
            Path::new("/i"),
            Accel::Tcg,
        )
    };
    vmdriver::VmDriver::start(vmd.as_ref(), &foreign).unwrap();
    let rep = testbed::clean_with(root.path(), &f.ops(), false).unwrap();
    assert_eq!(rep.removed_runs, std::slice::from_ref(&tb.run_id));
    assert_eq!(rep.foreign_domains, ["cbt0bad-x"]);
    assert!(rep.leftover_domains.is_empty());
    assert_eq!(vmd.domains(), ["cbt0bad-x"]);
    let (ns, links) = net.live_objects();
    assert!(ns.is_empty() && links.is_empty(), "{ns:?} {links:?}");
    // Asked to, it destroys them.
    let rep = testbed::clean_with(root.path(), &f.ops(), true).unwrap();
    assert_eq!(rep.leftover_domains, ["cbt0bad-x"]);
    assert!(vmd.domains().is_empty());
}

#[test]
fn plan_vm_boots_disk_images_from_an_overlay() {
    let mut t = topo();
    t.vnfs[1].image = Some("/images/click-on-osv.qcow2".into());
    let run_dir = Path::new("/run/coo-bench/r-1a2b");
    let p = plan_vm(&t, &t.variants[0], "cb1a2b", "r-1a2b", run_dir).unwrap();
    let starts: Vec<&testbed::VmStart> = p
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::StartVm(s) => Some(s),
            _ => None,
        })
        .collect();
    let y = starts[1];
    let disk = y.spec.disk.as_ref().unwrap();
    assert_eq!(disk.image, PathBuf::from("/images/click-on-osv.qcow2"));
    assert_eq!(disk.overlay, run_dir.join("vm/y.qcow2"));
    assert!(y.spec.mgmt_dhcp, "a disk image takes its address by DHCP");
    let ds = vmdriver::vnf::domain_spec(&y.spec, Path::new("/k"), Path::new("/i"), Accel::Tcg);
    assert_eq!(
        ds.boot,
        vmdriver::xml::BootSpec::Disk {
            path: run_dir.join("vm/y.qcow2"),
            format: "qcow2".into()
        }
    );
    let xml = vmdriver::xml::domain_xml(&ds);
    assert!(
        !xml.contains("<kernel>") && !xml.contains("<initrd>"),
        "{xml}"
    );
    assert!(xml.contains("/run/coo-bench/r-1a2b/vm/y.qcow2"));
    assert!(
        !xml.contains("/images/click-on-osv.qcow2"),
        "never the image itself"
    );
    // Management NIC first with the planned MAC; the others keep kernel boot and static
    // addresses.
    assert_eq!(ds.nics[0].mac, vmdriver::vnf::mgmt_mac_of(&y.spec));
    assert!(starts[0].spec.disk.is_none() && !starts[0].spec.mgmt_dhcp);
    let info = p.testbed.vnfs[1].vm.as_ref().unwrap();
    assert_eq!(
        info.disk.as_ref().unwrap().overlay,
        run_dir.join("vm/y.qcow2")
    );
    // The netns driver ignores the image; a relative path is refused by name.
    assert!(testbed::plan(&t, &t.variants[0], "cb1a2b", "r-1a2b", run_dir).is_ok());
    t.vnfs[1].image = Some("rel.qcow2".into());
    let err = plan_vm(&t, &t.variants[0], "cb1a2b", "r-1a2b", run_dir).unwrap_err();
    assert!(
        matches!(&err, testbed::PlanError::ImageNotAbsolute { vnf, .. } if vnf == "y"),
        "{err}"
    );
}

#[test]
fn missing_disk_image_is_named_and_leaves_nothing() {
    let mut t = topo();
    t.vnfs[0].image = Some("/nonexistent/click-on-osv.qcow2".into());
    let root = tempfile::tempdir().unwrap();
    let f = Fakes::new(FakeAgents::default());
    let Fakes { net, vmd, .. } = &f;
    let err = testbed::up_with(&t, &opts(root.path()), &f.ops(), &f.driver()).unwrap_err();
    assert!(
        matches!(&err, UpError::DiskImage { vnf, .. } if vnf == "x"),
        "{err}"
    );
    assert!(err.to_string().contains("/nonexistent/click-on-osv.qcow2"));
    assert!(net.calls().is_empty() && vmd.calls().is_empty());
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
}

#[test]
fn disk_image_vnf_up_down_with_fakes() {
    if std::process::Command::new("qemu-img")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no qemu-img (apt-get install qemu-utils)");
        return;
    }
    let images = tempfile::tempdir().unwrap();
    let image = images.path().join("coo.qcow2");
    let st = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&image)
        .arg("16M")
        .status()
        .unwrap();
    assert!(st.success());
    let before = std::fs::read(&image).unwrap();
    let mut t = topo();
    t.vnfs[1].image = Some(image.clone());
    let root = tempfile::tempdir().unwrap();
    let f = Fakes::new(FakeAgents::default());
    let Fakes { vmd, agents, .. } = &f;
    let tb = testbed::up_with(&t, &opts(root.path()), &f.ops(), &f.driver()).unwrap();
    let y = tb.vnfs[1].vm.as_ref().unwrap();
    let disk = y.disk.as_ref().unwrap();
    // The overlay exists in the run directory, backed by the image, which is unchanged.
    assert!(disk.overlay.starts_with(root.path().join(&tb.run_id)));
    assert_eq!(
        vmdriver::disk::backing_of(&disk.overlay).unwrap(),
        Some(std::fs::canonicalize(&image).unwrap())
    );
    assert_eq!(std::fs::read(&image).unwrap(), before);
    // One DHCP server, for y's management MAC only, started before y's domain.
    let tables = agents.dhcp_tables();
    assert_eq!(tables.len(), 1);
    let want: Vec<(String, Ipv4Addr)> = vec![(y.mgmt_mac.clone(), y.mgmt_ip.addr)];
    let got: Vec<(String, Ipv4Addr)> = tables[0]
        .iter()
        .map(|(m, ip)| (m.to_string(), *ip))
        .collect();
    assert_eq!(got, want);
    assert_eq!(disk.dhcp_ack, Some(y.mgmt_ip.addr));
    // y is managed through the COO API only; x and z as usual.
    let conf = agents.configured();
    let engine_of = |d: &str| conf.iter().find(|c| c.0.ends_with(d)).unwrap().1.clone();
    assert_eq!(engine_of("-y"), "coo");
    assert_eq!(engine_of("-x"), "coo-click");
    // y's domain boots the overlay.
    let xml = vmd
        .calls()
        .iter()
        .find_map(|c| match c {
            vmdriver::fake::Call::Start { name, xml } if name.ends_with("-y") => Some(xml.clone()),
            _ => None,
        })
        .unwrap();
    assert!(xml.contains(&disk.overlay.display().to_string()) && !xml.contains("<kernel>"));

    testbed::down_with(root.path(), &tb.run_id, &f.ops()).unwrap();
    assert!(!disk.overlay.exists());
    assert!(!root.path().join(&tb.run_id).exists());
    assert_eq!(std::fs::read(&image).unwrap(), before);
}

/// A run made before domains were ledger objects (`<run>/domains`): `status` shows its
/// domains and `down` destroys them.
#[test]
fn legacy_domain_ledger_is_still_torn_down() {
    let t = topo();
    let root = tempfile::tempdir().unwrap();
    let f = Fakes::new(FakeAgents::default());
    let tb = testbed::up_with(&t, &opts(root.path()), &f.ops(), &f.driver()).unwrap();
    let dir = root.path().join(&tb.run_id);
    // Rewrite the ledger as an old `up` wrote it: no domain objects, a `domains` file.
    let ledger = dir.join("ledger");
    let text = std::fs::read_to_string(&ledger).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains(r#""kind":"domain""#))
        .collect();
    std::fs::write(&ledger, kept.join("\n") + "\n").unwrap();
    let p = &tb.prefix;
    std::fs::write(
        dir.join("domains"),
        format!(
            "{{\"op\":\"create\",\"domain\":\"{p}-x\"}}\n{{\"op\":\"create\",\"domain\":\"{p}-y\"}}\n{{\"op\":\"create\",\"domain\":\"{p}-z\"}}\n{{\"op\":\"removed\",\"domain\":\"{p}-z\"}}\n"
        ),
    )
    .unwrap();
    let st = testbed::status_with(root.path(), &f.hyp).unwrap();
    let doms: Vec<_> = st[0].domains.iter().map(|d| d.domain.clone()).collect();
    assert_eq!(doms, [format!("{p}-x"), format!("{p}-y")]);
    testbed::down_with(root.path(), &tb.run_id, &f.ops()).unwrap();
    assert!(f.vmd.domains().is_empty(), "{:?}", f.vmd.domains());
    let destroyed: Vec<String> = f
        .vmd
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            vmdriver::fake::Call::Destroy { name } => Some(name),
            _ => None,
        })
        .collect();
    // The legacy ledger's live domains (newest first), then z by the prefix sweep.
    assert_eq!(
        destroyed,
        [format!("{p}-y"), format!("{p}-x"), format!("{p}-z")]
    );
    let (ns, links) = f.net.live_objects();
    assert!(ns.is_empty() && links.is_empty(), "{ns:?} {links:?}");
    assert!(!dir.exists());
}

/// A domain whose hypervisor cannot be reached stays in the ledger, and so do the
/// namespaces holding its taps: `clean` can finish later.
#[test]
fn unreachable_hypervisor_keeps_the_run_for_a_later_clean() {
    let t = topo();
    let root = tempfile::tempdir().unwrap();
    let f = Fakes::new(FakeAgents::default());
    let tb = testbed::up_with(&t, &opts(root.path()), &f.ops(), &f.driver()).unwrap();
    let dir = root.path().join(&tb.run_id);
    // Move z onto a host whose URI does not answer.
    let ledger = dir.join("ledger");
    let text = std::fs::read_to_string(&ledger).unwrap().replace(
        &format!(r#""name":"{}-z"}}"#, tb.prefix),
        &format!(
            r#""name":"{}-z","host":{{"name":"b","uri":"qemu+tcp://198.18.0.2/system"}}}}"#,
            tb.prefix
        ),
    );
    std::fs::write(&ledger, text).unwrap();
    f.hyp.make_unreachable("qemu+tcp://198.18.0.2/system");
    let st = testbed::status_with(root.path(), &f.hyp).unwrap();
    let z = st[0].domains.iter().find(|d| d.host.is_some()).unwrap();
    assert_eq!(z.host.as_deref(), Some("b"));
    assert_eq!(z.state, None, "unreachable host: state unknown");
    let err = testbed::down_with(root.path(), &tb.run_id, &f.ops()).unwrap_err();
    assert!(
        matches!(&err, UpError::Teardown { errors, .. } if errors.iter().any(|e| e.contains("qemu+tcp://198.18.0.2/system"))),
        "{err}"
    );
    assert!(dir.exists());
    let (ns, _) = f.net.live_objects();
    assert_eq!(ns.len(), 4, "namespaces stay while a domain holds taps");
    let left: Vec<_> = hostnet::ledger::entries(&ledger)
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.object, hostnet::Object::Domain { .. }))
        .collect();
    assert_eq!(left.len(), 1, "only z is left: {left:?}");
}
