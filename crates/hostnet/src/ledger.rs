//! Cleanup ledger: an append-only JSON-lines file listing every OS object a run creates,
//! each line written and synced BEFORE the object is created, so teardown (even after
//! SIGKILL) removes exactly what was made, in reverse order.
//!
//! Lines: `{"op":"create","seq":N,"object":{...}}`, `{"op":"failed","seq":N}` (creation
//! failed: nothing to remove), `{"op":"removed","seq":N}` (teardown progress, so an
//! interrupted teardown resumes where it stopped).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::names::{IfName, NetnsName};
use crate::ops::{NetError, NetOps};
use crate::process::{ProcId, ProcessOps};
use crate::remote::SshTarget;
use std::sync::Arc;

/// An object the testbed created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Object {
    Netns {
        name: NetnsName,
    },
    /// A bridge, tap, or veth pair (named by one end; deleting it deletes both).
    Link {
        netns: Option<NetnsName>,
        name: IfName,
    },
    Process {
        pid: i32,
        start_time: u64,
        label: String,
    },
    /// A VM (libvirt domain) on the hypervisor `host` (absent: the local one). Removed
    /// through a [`DomainOps`], which the VM driver provides.
    Domain {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<DomainHost>,
    },
    /// A namespace on another host, made and removed over ssh ([`NetOps::on_host`]).
    RemoteNetns {
        host: SshTarget,
        name: NetnsName,
    },
    /// A bridge, tap, veth pair or VXLAN device on another host.
    RemoteLink {
        host: SshTarget,
        netns: Option<NetnsName>,
        name: IfName,
    },
}

/// The hypervisor a domain was made on: the topology's host name and its libvirt URI, so
/// `down`/`clean` reach it without the topology (also after a SIGKILL of `up`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainHost {
    pub name: String,
    pub uri: String,
}

/// A domain of the ledger, as [`DomainOps`] receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainRef {
    pub name: String,
    pub host: Option<DomainHost>,
}

/// Removes the ledger objects this crate does not make itself: VM domains.
pub trait DomainOps {
    /// Destroy `domains` (at once where the driver can); a domain already gone is removed.
    /// One result per domain, in order.
    fn destroy(&self, domains: &[DomainRef]) -> Vec<Result<(), String>>;
}

/// For ledgers without domains: a domain entry is an error (left for a `clean` that can).
pub struct NoDomains;

impl DomainOps for NoDomains {
    fn destroy(&self, domains: &[DomainRef]) -> Vec<Result<(), String>> {
        domains
            .iter()
            .map(|d| Err(format!("no VM driver to destroy domain {}", d.name)))
            .collect()
    }
}

impl Object {
    /// This object as made on `host` (`None`: here); namespaces and links only, other kinds
    /// say where they are themselves.
    pub fn at(self, host: Option<&SshTarget>) -> Object {
        match (self, host) {
            (Object::Netns { name }, Some(h)) => Object::RemoteNetns {
                host: h.clone(),
                name,
            },
            (Object::Link { netns, name }, Some(h)) => Object::RemoteLink {
                host: h.clone(),
                netns,
                name,
            },
            (o, _) => o,
        }
    }

    /// A process entry for `id`.
    pub fn process(id: ProcId, label: impl Into<String>) -> Self {
        Object::Process {
            pid: id.pid,
            start_time: id.start_time,
            label: label.into(),
        }
    }
}

impl std::fmt::Display for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Object::Netns { name } => write!(f, "netns {name}"),
            Object::Link {
                netns: Some(n),
                name,
            } => write!(f, "link {name} in netns {n}"),
            Object::Link { netns: None, name } => write!(f, "link {name}"),
            Object::Process { pid, label, .. } => write!(f, "process {pid} ({label})"),
            Object::Domain { name, host: None } => write!(f, "domain {name}"),
            Object::Domain {
                name,
                host: Some(h),
            } => write!(f, "domain {name} on host {} ({})", h.name, h.uri),
            Object::RemoteNetns { host, name } => write!(f, "netns {name} on {host}"),
            Object::RemoteLink {
                host,
                netns: Some(n),
                name,
            } => write!(f, "link {name} in netns {n} on {host}"),
            Object::RemoteLink {
                host,
                netns: None,
                name,
            } => write!(f, "link {name} on {host}"),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Create { seq: u64, object: Object },
    Failed { seq: u64 },
    Removed { seq: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A ledger entry still standing (created, neither failed nor removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub object: Object,
}

/// An open ledger, appending.
pub struct Ledger {
    path: PathBuf,
    file: File,
    next_seq: u64,
}

impl Ledger {
    fn io(&self, source: io::Error) -> LedgerError {
        LedgerError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Create a new, empty ledger (fails if it exists).
    pub fn create(path: &Path) -> Result<Self, LedgerError> {
        let err = |source| LedgerError::Io {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)
            .map_err(err)?;
        // Make the new directory entry itself durable.
        if let Some(dir) = path.parent() {
            File::open(dir).and_then(|d| d.sync_all()).map_err(err)?;
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            next_seq: 0,
        })
    }

    /// Open an existing ledger to append to it.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        let lines = read_lines(path)?;
        let next_seq = lines
            .iter()
            .filter_map(|l| match l {
                Line::Create { seq, .. } => Some(seq + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|source| LedgerError::Io {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            path: path.to_owned(),
            file,
            next_seq,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&mut self, line: &Line) -> Result<(), LedgerError> {
        let mut buf = serde_json::to_vec(line).map_err(|e| self.io(io::Error::other(e)))?;
        buf.push(b'\n');
        // One write per line (O_APPEND) so a crash leaves at most one torn last line.
        self.file.write_all(&buf).map_err(|e| self.io(e))?;
        self.file.sync_data().map_err(|e| self.io(e))
    }

    /// Record `object` as about to be created; returns its sequence number.
    pub fn record(&mut self, object: &Object) -> Result<u64, LedgerError> {
        let seq = self.next_seq;
        self.append(&Line::Create {
            seq,
            object: object.clone(),
        })?;
        self.next_seq += 1;
        Ok(seq)
    }

    /// The creation recorded as `seq` did not happen.
    pub fn mark_failed(&mut self, seq: u64) -> Result<(), LedgerError> {
        self.append(&Line::Failed { seq })
    }

    pub fn mark_removed(&mut self, seq: u64) -> Result<(), LedgerError> {
        self.append(&Line::Removed { seq })
    }

    /// Record, create with `f`, and mark the entry failed if `f` fails.
    pub fn create_with<T, E: From<LedgerError>>(
        &mut self,
        object: &Object,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let seq = self.record(object)?;
        match f() {
            Ok(v) => {
                tracing::debug!(%object, "created");
                Ok(v)
            }
            Err(e) => {
                // A process we could not start, or a name the kernel refused: nothing to
                // remove later (and the name may belong to someone else).
                self.mark_failed(seq)?;
                Err(e)
            }
        }
    }
}

fn read_lines(path: &Path) -> Result<Vec<Line>, LedgerError> {
    let file = File::open(path).map_err(|source| LedgerError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| LedgerError::Io {
            path: path.to_owned(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(&line) {
            Ok(l) => out.push(l),
            // A torn last line after a crash: its object was not created yet.
            Err(e) => tracing::warn!(
                "{}:{}: skipping unreadable line: {e}",
                path.display(),
                i + 1
            ),
        }
    }
    Ok(out)
}

/// Objects still standing, in creation order.
pub fn entries(path: &Path) -> Result<Vec<Entry>, LedgerError> {
    let mut live: BTreeMap<u64, Object> = BTreeMap::new();
    for l in read_lines(path)? {
        match l {
            Line::Create { seq, object } => {
                live.insert(seq, object);
            }
            Line::Failed { seq } | Line::Removed { seq } => {
                live.remove(&seq);
            }
        }
    }
    Ok(live
        .into_iter()
        .map(|(seq, object)| Entry { seq, object })
        .collect())
}

/// What teardown did.
#[derive(Debug, Default)]
pub struct TeardownReport {
    pub removed: Vec<Object>,
    pub errors: Vec<(Object, NetError)>,
}

/// Remove every object still standing in the ledger at `path`, newest first. Objects that
/// are already gone count as removed. Links inside a namespace that this ledger also
/// removes are not deleted one by one: deleting the namespace takes them with it.
/// Continues past errors and reports them all. Domains (none here) are an error.
pub fn teardown(
    path: &Path,
    net: &dyn NetOps,
    procs: &dyn ProcessOps,
) -> Result<TeardownReport, LedgerError> {
    teardown_with(path, net, procs, &NoDomains)
}

/// [`teardown`] with VM domains: every domain goes first, in one call to `domains` (QEMU
/// holds the taps in the namespaces that go later, and domains go down faster together).
/// If a domain cannot be destroyed, nothing else is removed (its taps stay with it).
pub fn teardown_with(
    path: &Path,
    net: &dyn NetOps,
    procs: &dyn ProcessOps,
    domains: &dyn DomainOps,
) -> Result<TeardownReport, LedgerError> {
    let live = entries(path)?;
    let mut ledger = Ledger::open(path)?;
    let mut report = TeardownReport::default();
    let doms: Vec<(&Entry, DomainRef)> = live
        .iter()
        .rev()
        .filter_map(|e| match &e.object {
            Object::Domain { name, host } => Some((
                e,
                DomainRef {
                    name: name.clone(),
                    host: host.clone(),
                },
            )),
            _ => None,
        })
        .collect();
    if !doms.is_empty() {
        let refs: Vec<DomainRef> = doms.iter().map(|(_, d)| d.clone()).collect();
        let results = domains.destroy(&refs);
        for (i, (e, _)) in doms.iter().enumerate() {
            match results.get(i) {
                Some(Ok(())) => {
                    ledger.mark_removed(e.seq)?;
                    report.removed.push(e.object.clone());
                }
                Some(Err(m)) => report
                    .errors
                    .push((e.object.clone(), NetError::Domain(m.clone()))),
                None => report.errors.push((
                    e.object.clone(),
                    NetError::Domain("the VM driver gave no result".into()),
                )),
            }
        }
        if !report.errors.is_empty() {
            return Ok(report);
        }
    }
    let dying: BTreeSet<(Option<&SshTarget>, &NetnsName)> = live
        .iter()
        .filter_map(|e| match &e.object {
            Object::Netns { name } => Some((None, name)),
            Object::RemoteNetns { host, name } => Some((Some(host), name)),
            _ => None,
        })
        .collect();
    // One connection per host for all its objects, and one batch: a remote host's removals
    // go in one round trip, carried out after this machine's.
    let mut hosts: BTreeMap<SshTarget, Arc<dyn NetOps>> = BTreeMap::new();
    let mut on = |h: &SshTarget| -> Result<Arc<dyn NetOps>, NetError> {
        if let Some(n) = hosts.get(h) {
            return Ok(n.clone());
        }
        let n = net.on_host(h)?;
        n.begin_batch();
        hosts.insert(h.clone(), n.clone());
        Ok(n)
    };
    let mut batched: Vec<&Entry> = Vec::new();
    // Signal every process first so they exit in parallel.
    for e in &live {
        if let Object::Process {
            pid, start_time, ..
        } = &e.object
        {
            procs.request_stop(&ProcId {
                pid: *pid,
                start_time: *start_time,
            });
        }
    }
    for e in live.iter().rev() {
        let res = match &e.object {
            Object::Domain { .. } => continue,
            Object::Process {
                pid, start_time, ..
            } => procs.stop(&ProcId {
                pid: *pid,
                start_time: *start_time,
            }),
            Object::Link {
                netns: Some(ns), ..
            } if dying.contains(&(None, ns)) => Ok(()),
            Object::Link { netns, name } => net.delete_link(netns.as_ref(), name),
            Object::RemoteLink {
                host,
                netns: Some(ns),
                ..
            } if dying.contains(&(Some(host), ns)) => Ok(()),
            Object::RemoteLink { .. } | Object::RemoteNetns { .. } => {
                match remove_remote(&e.object, &mut on) {
                    Ok(()) => {
                        batched.push(e);
                        continue;
                    }
                    Err(err) => Err(err),
                }
            }
            Object::Netns { name } => procs
                .stop_all_in_netns(name)
                .and_then(|()| net.delete_netns(name)),
        };
        match res {
            Ok(()) => {
                ledger.mark_removed(e.seq)?;
                tracing::debug!(object = %e.object, "removed");
                report.removed.push(e.object.clone());
            }
            Err(err) => {
                tracing::debug!(object = %e.object, error = %err, "not removed");
                report.errors.push((e.object.clone(), err))
            }
        }
    }
    // A failed batch is retried one object at a time (removals are idempotent), so every
    // object gets its own verdict.
    let failed: BTreeSet<&SshTarget> = hosts
        .iter()
        .filter_map(|(h, n)| match n.end_batch() {
            Ok(()) => None,
            Err(err) => {
                tracing::debug!(host = %h, error = %err, "batch of removals failed");
                Some(h)
            }
        })
        .collect();
    for e in batched {
        let res = match &e.object {
            Object::RemoteLink { host, .. } | Object::RemoteNetns { host, .. }
                if failed.contains(host) =>
            {
                remove_remote(&e.object, &mut |h| {
                    hosts
                        .get(h)
                        .cloned()
                        .ok_or_else(|| NetError::Domain(format!("no connection to {h}")))
                })
            }
            _ => Ok(()),
        };
        match res {
            Ok(()) => {
                ledger.mark_removed(e.seq)?;
                report.removed.push(e.object.clone());
            }
            Err(err) => report.errors.push((e.object.clone(), err)),
        }
    }
    Ok(report)
}

/// The operations of a remote host, opened on first use.
type HostOps<'a> = dyn FnMut(&SshTarget) -> Result<Arc<dyn NetOps>, NetError> + 'a;

/// Removes a remote object through its host's operations.
fn remove_remote(object: &Object, on: &mut HostOps<'_>) -> Result<(), NetError> {
    match object {
        Object::RemoteLink { host, netns, name } => {
            on(host).and_then(|n| n.delete_link(netns.as_ref(), name))
        }
        Object::RemoteNetns { host, name } => on(host).and_then(|n| n.delete_netns(name)),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fake::{Call, RecordingNetOps, RecordingProcesses};

    fn ns(s: &str) -> NetnsName {
        NetnsName::new(s).unwrap()
    }
    fn ifn(s: &str) -> IfName {
        IfName::new(s).unwrap()
    }

    #[test]
    fn record_fail_remove_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger");
        let mut l = Ledger::create(&p).unwrap();
        let a = Object::Netns {
            name: ns("cbt0001-a"),
        };
        let b = Object::Link {
            netns: None,
            name: ifn("cbt0001-br"),
        };
        let c = Object::process(
            ProcId {
                pid: 42,
                start_time: 7,
            },
            "agent x",
        );
        l.record(&a).unwrap();
        let sb = l.record(&b).unwrap();
        l.mark_failed(sb).unwrap();
        let sc = l.record(&c).unwrap();
        let got = entries(&p).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].object, a);
        assert_eq!(got[1].object, c);
        l.mark_removed(sc).unwrap();
        assert_eq!(entries(&p).unwrap().len(), 1);
        // Reopen continues numbering.
        let mut l2 = Ledger::open(&p).unwrap();
        assert_eq!(l2.record(&b).unwrap(), 3);
    }

    #[test]
    fn torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger");
        let mut l = Ledger::create(&p).unwrap();
        l.record(&Object::Netns {
            name: ns("cbt0002-a"),
        })
        .unwrap();
        drop(l);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"op\":\"create\",\"seq\":1,\"obj").unwrap();
        assert_eq!(entries(&p).unwrap().len(), 1);
    }

    #[test]
    fn teardown_reverse_order_skips_links_in_dying_netns() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger");
        let mut l = Ledger::create(&p).unwrap();
        let net = RecordingNetOps::default();
        let procs = RecordingProcesses::default();
        l.record(&Object::Netns {
            name: ns("cbt0003-sw"),
        })
        .unwrap();
        l.record(&Object::Link {
            netns: Some(ns("cbt0003-sw")),
            name: ifn("cbt0003-br0"),
        })
        .unwrap();
        l.record(&Object::Link {
            netns: None,
            name: ifn("cbt0003tap"),
        })
        .unwrap();
        let pid = ProcId {
            pid: 99,
            start_time: 1,
        };
        l.record(&Object::process(pid, "agent")).unwrap();
        let rep = teardown(&p, &net, &procs).unwrap();
        assert!(rep.errors.is_empty());
        assert_eq!(rep.removed.len(), 4);
        assert_eq!(procs.stopped(), vec![pid]);
        assert_eq!(
            net.calls(),
            vec![
                Call::DeleteLink(None, ifn("cbt0003tap")),
                Call::DeleteNetns(ns("cbt0003-sw")),
            ]
        );
        // Everything marked removed: a second teardown does nothing.
        assert!(entries(&p).unwrap().is_empty());
        let rep2 = teardown(&p, &net, &procs).unwrap();
        assert!(rep2.removed.is_empty());
    }

    #[test]
    fn teardown_continues_past_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger");
        let mut l = Ledger::create(&p).unwrap();
        let net = RecordingNetOps::default();
        net.fail_on("delete_netns cbt0004-a");
        l.record(&Object::Netns {
            name: ns("cbt0004-a"),
        })
        .unwrap();
        l.record(&Object::Netns {
            name: ns("cbt0004-b"),
        })
        .unwrap();
        let rep = teardown(&p, &net, &RecordingProcesses::default()).unwrap();
        assert_eq!(rep.errors.len(), 1);
        assert_eq!(rep.removed.len(), 1);
        // The failed one stays in the ledger for a later `clean`.
        let left = entries(&p).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(
            left[0].object,
            Object::Netns {
                name: ns("cbt0004-a")
            }
        );
    }

    /// Records the domains it is asked to destroy; fails those named in `fail`.
    struct Doms {
        asked: std::sync::Mutex<Vec<Vec<DomainRef>>>,
        fail: Vec<String>,
    }

    impl DomainOps for Doms {
        fn destroy(&self, domains: &[DomainRef]) -> Vec<Result<(), String>> {
            self.asked.lock().unwrap().push(domains.to_vec());
            domains
                .iter()
                .map(|d| {
                    if self.fail.contains(&d.name) {
                        Err(format!("{} refused", d.name))
                    } else {
                        Ok(())
                    }
                })
                .collect()
        }
    }

    #[test]
    fn domains_go_first_in_one_call_and_a_failure_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger");
        let mut l = Ledger::create(&p).unwrap();
        let host = DomainHost {
            name: "b".into(),
            uri: "qemu+tcp://198.18.0.2/system".into(),
        };
        l.record(&Object::Netns {
            name: ns("cbt0005"),
        })
        .unwrap();
        l.record(&Object::Domain {
            name: "cbt0005-x".into(),
            host: None,
        })
        .unwrap();
        l.record(&Object::Domain {
            name: "cbt0005-y".into(),
            host: Some(host.clone()),
        })
        .unwrap();
        // The host is recorded (and read back) with the domain.
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(r#""host":{"name":"b","uri":"qemu+tcp://198.18.0.2/system"}"#));
        let net = RecordingNetOps::default();
        let procs = RecordingProcesses::default();
        let failing = Doms {
            asked: Default::default(),
            fail: vec!["cbt0005-y".into()],
        };
        let rep = teardown_with(&p, &net, &procs, &failing).unwrap();
        assert_eq!(
            failing.asked.lock().unwrap().clone(),
            [vec![
                DomainRef {
                    name: "cbt0005-y".into(),
                    host: Some(host)
                },
                DomainRef {
                    name: "cbt0005-x".into(),
                    host: None
                }
            ]]
        );
        assert_eq!(rep.errors.len(), 1);
        assert!(net.calls().is_empty(), "the namespace stays with y's taps");
        assert_eq!(entries(&p).unwrap().len(), 2);
        // Next time y goes, then the namespace.
        let ok = Doms {
            asked: Default::default(),
            fail: vec![],
        };
        let rep = teardown_with(&p, &net, &procs, &ok).unwrap();
        assert!(rep.errors.is_empty());
        assert_eq!(ok.asked.lock().unwrap()[0].len(), 1);
        assert_eq!(net.calls(), vec![Call::DeleteNetns(ns("cbt0005"))]);
        assert!(entries(&p).unwrap().is_empty());
        // Without a VM driver a domain is an error, not silently dropped.
        let mut l = Ledger::open(&p).unwrap();
        l.record(&Object::Domain {
            name: "cbt0005-z".into(),
            host: None,
        })
        .unwrap();
        let rep = teardown(&p, &net, &procs).unwrap();
        assert_eq!(rep.errors.len(), 1);
        assert_eq!(entries(&p).unwrap().len(), 1);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod remote_tests {
    use super::*;
    use crate::fake::{Call, RecordingNetOps, RecordingProcesses};

    /// Objects made on another host carry it in the ledger; teardown removes each on its
    /// own host, newest first, leaving links of a dying remote namespace to it.
    #[test]
    fn remote_objects_are_removed_on_their_host() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger");
        let mut l = Ledger::create(&p).unwrap();
        let h = SshTarget::new("root@198.18.200.3").unwrap();
        let sw = NetnsName::new("cbt0009-h1").unwrap();
        let br = IfName::new("cbt0009b1").unwrap();
        let vx = IfName::new("cbt0009x1").unwrap();
        l.record(&Object::Netns { name: sw.clone() }.at(Some(&h)))
            .unwrap();
        l.record(
            &Object::Link {
                netns: Some(sw.clone()),
                name: br.clone(),
            }
            .at(Some(&h)),
        )
        .unwrap();
        // A tunnel end still in the host's root namespace (crash before its move).
        l.record(
            &Object::Link {
                netns: None,
                name: vx.clone(),
            }
            .at(Some(&h)),
        )
        .unwrap();
        l.record(&Object::Link {
            netns: None,
            name: vx.clone(),
        })
        .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.contains(
                r#""kind":"remote_netns","host":"root@198.18.200.3","name":"cbt0009-h1""#
            ),
            "{text}"
        );
        let net = RecordingNetOps::default();
        let rep = teardown(&p, &net, &RecordingProcesses::default()).unwrap();
        assert!(rep.errors.is_empty(), "{:?}", rep.errors);
        assert_eq!(rep.removed.len(), 4);
        assert_eq!(net.calls(), vec![Call::DeleteLink(None, vx.clone())]);
        assert_eq!(
            net.host(&h).calls(),
            vec![Call::DeleteLink(None, vx), Call::DeleteNetns(sw)]
        );
        assert!(entries(&p).unwrap().is_empty());
    }
}
