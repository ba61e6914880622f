//! Hosts: the machines VNFs run on (`hosts`, each VNF's `host`), and placement of the VNFs
//! that name none: the first host, in the file's order, with room left for its memory and
//! vCPUs.

use std::collections::BTreeSet;

use super::{Checker, Parts};
use crate::error::ErrorKind;
use crate::model::DriverKind;

/// Each VNF's host, in VNF order: given or placed; all None without `hosts` (or when a rule
/// failed).
pub(super) fn hosts(ck: &mut Checker<'_>, parts: Parts<'_>) -> Vec<Option<String>> {
    let hosts = &ck.spec.hosts;
    let none = vec![None; parts.vnfs.len()];
    if hosts.is_empty() {
        for vnf in parts.vnfs {
            if let Some(h) = &vnf.host {
                let at = ck.at_pair("host", h);
                ck.push(
                    ErrorKind::UnknownHost {
                        vnf: vnf.id.clone().unwrap_or_default(),
                        host: h.clone(),
                        known: Vec::new(),
                    },
                    at,
                );
            }
        }
        return none;
    }
    let before = ck.errors.len();
    if let Some(d) = ck.spec.driver.filter(|d| *d != DriverKind::Vm) {
        let at = ck.at_key("driver");
        ck.push(
            ErrorKind::HostsNeedVmDriver {
                driver: d.to_string(),
            },
            at,
        );
    }
    let mut names = BTreeSet::new();
    let mut underlays = BTreeSet::new();
    for h in hosts {
        let at = ck.at_pair("name", &h.name);
        let bad = |reason: &str| ErrorKind::InvalidHost {
            host: h.name.clone(),
            reason: reason.to_owned(),
        };
        if !valid_name(&h.name) {
            ck.push(
                bad("the name must be 1-32 of ASCII letters, digits, `_`, `-`"),
                at.clone(),
            );
        }
        if !h.uri.contains("://") {
            ck.push(
                bad("`uri` must be a libvirt URI such as qemu:///system or qemu+ssh://root@host/system"),
                at.clone(),
            );
        }
        let u = h.underlay;
        if u.is_unspecified() || u.is_loopback() || u.is_multicast() || u.is_broadcast() {
            ck.push(
                bad("`underlay` must be a unicast address other hosts reach"),
                at.clone(),
            );
        }
        if h.cpus == 0 || h.memory_mib == 0 {
            ck.push(bad("`cpus` and `memory_mib` must be > 0"), at.clone());
        }
        if !names.insert(h.name.as_str()) {
            ck.push(
                ErrorKind::DuplicateHost {
                    what: "name".into(),
                    value: h.name.clone(),
                },
                at.clone(),
            );
        }
        if !underlays.insert(h.underlay) {
            ck.push(
                ErrorKind::DuplicateHost {
                    what: "underlay address".into(),
                    value: h.underlay.to_string(),
                },
                ck.at_key("underlay"),
            );
        }
    }
    let known: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    for vnf in parts.vnfs {
        if let Some(h) = vnf.host.as_ref().filter(|h| !known.contains(h)) {
            let at = ck.at_pair("host", h);
            ck.push(
                ErrorKind::UnknownHost {
                    vnf: vnf.id.clone().unwrap_or_default(),
                    host: h.clone(),
                    known: known.clone(),
                },
                at,
            );
        }
    }
    if ck.errors.len() > before {
        return none;
    }
    place(ck, parts)
}

fn valid_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Resources of one host: (memory MiB, CPUs) left.
struct Room {
    memory_mib: u64,
    cpus: u64,
}

/// Given hosts first (each must hold its VNFs), then the others in VNF order, each on the
/// first host with room.
fn place(ck: &mut Checker<'_>, parts: Parts<'_>) -> Vec<Option<String>> {
    let hosts = &ck.spec.hosts;
    let mut room: Vec<Room> = hosts
        .iter()
        .map(|h| Room {
            memory_mib: u64::from(h.memory_mib),
            cpus: u64::from(h.cpus),
        })
        .collect();
    let need = |v: &crate::spec::SpecVnf| {
        (
            u64::try_from(v.memory_mib).unwrap_or(0),
            u64::try_from(v.vcpus).unwrap_or(0),
        )
    };
    let mut out: Vec<Option<String>> = parts.vnfs.iter().map(|v| v.host.clone()).collect();
    let mut errors = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let given: Vec<&crate::spec::SpecVnf> = parts
            .vnfs
            .iter()
            .filter(|v| v.host.as_deref() == Some(h.name.as_str()))
            .collect();
        let (mem, cpus) = given.iter().fold((0, 0), |(m, c), v| {
            let (vm, vc) = need(v);
            (m + vm, c + vc)
        });
        if mem > room[i].memory_mib || cpus > room[i].cpus {
            errors.push((
                ErrorKind::HostOvercommitted {
                    host: h.name.clone(),
                    vnfs: given
                        .iter()
                        .map(|v| v.id.clone().unwrap_or_default())
                        .collect(),
                    memory_mib: mem,
                    vcpus: cpus,
                    host_memory_mib: h.memory_mib,
                    host_cpus: h.cpus,
                },
                h.name.clone(),
            ));
        }
        room[i].memory_mib = room[i].memory_mib.saturating_sub(mem);
        room[i].cpus = room[i].cpus.saturating_sub(cpus);
    }
    for (vnf, slot) in parts.vnfs.iter().zip(out.iter_mut()) {
        if slot.is_some() {
            continue;
        }
        let (mem, cpus) = need(vnf);
        match room
            .iter()
            .position(|r| r.memory_mib >= mem && r.cpus >= cpus)
        {
            Some(i) => {
                room[i].memory_mib -= mem;
                room[i].cpus -= cpus;
                *slot = Some(hosts[i].name.clone());
            }
            None => errors.push((
                ErrorKind::PlacementImpossible {
                    vnf: vnf.id.clone().unwrap_or_default(),
                    memory_mib: u32::try_from(mem).unwrap_or(u32::MAX),
                    vcpus: u32::try_from(cpus).unwrap_or(u32::MAX),
                    left: hosts
                        .iter()
                        .zip(&room)
                        .map(|(h, r)| format!("{}: {} MiB, {} CPUs", h.name, r.memory_mib, r.cpus))
                        .collect(),
                },
                vnf.id.clone().unwrap_or_default(),
            )),
        }
    }
    if errors.is_empty() {
        return out;
    }
    for (kind, name) in errors {
        let at = match &kind {
            ErrorKind::HostOvercommitted { .. } => ck.at_pair("name", &name),
            _ => ck.at_pair(ck.spec.keys.id, &name),
        };
        ck.push(kind, at);
    }
    vec![None; parts.vnfs.len()]
}

#[cfg(test)]
mod tests {
    use crate::validate::testing::{good_with, rules};

    const HOSTS: &str = r#""hosts": [
        {"name": "a", "uri": "qemu:///system", "underlay": "198.18.100.1", "cpus": 2, "memory_mib": 700},
        {"name": "b", "uri": "qemu+tcp://198.18.100.2/system", "underlay": "198.18.100.2", "cpus": 4, "memory_mib": 4096}
      ],
      "vnfs""#;

    fn with_hosts(hosts: &str, vnfs: &str) -> String {
        good_with(
            r#""vnfs": [{"id": "a", "function": "f.click"}, {"id": "b", "function": "f.click"}]"#,
            &format!("{hosts}: {vnfs}"),
        )
    }

    fn check(json: &str) -> Vec<String> {
        rules(json, |ck, parts| {
            super::hosts(ck, parts);
        })
    }

    #[test]
    fn without_hosts_nothing_is_placed() {
        assert!(check(crate::validate::testing::GOOD).is_empty());
        let bad = good_with(
            r#"{"id": "a", "function": "f.click"}"#,
            r#"{"id": "a", "function": "f.click", "host": "a"}"#,
        );
        assert_eq!(check(&bad), ["unknown-host"]);
    }

    #[test]
    fn good_hosts_pass_and_bad_ones_are_named() {
        let vnfs = r#"[{"id": "a", "function": "f.click"}, {"id": "b", "function": "f.click", "host": "b"}]"#;
        assert!(check(&with_hosts(HOSTS, vnfs)).is_empty());
        let dup = HOSTS.replace(r#""name": "b""#, r#""name": "a""#);
        assert_eq!(
            check(&with_hosts(&dup, vnfs)),
            ["duplicate-host", "unknown-host"]
        );
        let same_underlay = HOSTS.replace("198.18.100.2\", \"cpus\"", "198.18.100.1\", \"cpus\"");
        assert_eq!(check(&with_hosts(&same_underlay, vnfs)), ["duplicate-host"]);
        let bad_uri = HOSTS.replace("qemu:///system", "localhost");
        assert_eq!(check(&with_hosts(&bad_uri, vnfs)), ["invalid-host"]);
        let no_cpus = HOSTS.replace(r#""cpus": 2"#, r#""cpus": 0"#);
        assert_eq!(check(&with_hosts(&no_cpus, vnfs)), ["invalid-host"]);
        let loopback = HOSTS.replace("198.18.100.1", "127.0.0.1");
        assert_eq!(check(&with_hosts(&loopback, vnfs)), ["invalid-host"]);
        let unknown = vnfs.replace(r#""host": "b""#, r#""host": "c""#);
        assert_eq!(check(&with_hosts(HOSTS, &unknown)), ["unknown-host"]);
        let netns = with_hosts(HOSTS, vnfs).replacen("{", r#"{"driver": "netns","#, 1);
        assert_eq!(check(&netns), ["hosts-need-vm-driver"]);
    }

    #[test]
    fn overcommitted_and_impossible_placements_are_named() {
        // a holds 700 MiB and 2 CPUs: two 300 MiB VNFs fit, a third given one does not.
        let three = r#"[{"id": "a", "function": "f.click", "host": "a"}, {"id": "b", "function": "f.click", "host": "a", "memory_mib": 500}]"#;
        assert_eq!(check(&with_hosts(HOSTS, three)), ["host-overcommitted"]);
        let huge = r#"[{"id": "a", "function": "f.click", "memory_mib": 5000}, {"id": "b", "function": "f.click"}]"#;
        assert_eq!(check(&with_hosts(HOSTS, huge)), ["placement-impossible"]);
        let cpus = r#"[{"id": "a", "function": "f.click", "vcpus": 5}, {"id": "b", "function": "f.click"}]"#;
        assert_eq!(check(&with_hosts(HOSTS, cpus)), ["placement-impossible"]);
    }
}
