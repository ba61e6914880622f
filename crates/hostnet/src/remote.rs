//! Network objects on another machine: [`RemoteNetOps`] is [`NetOps`] carried out as
//! `ip`/`tc` command lines over a [`RemoteShell`] — on a real host [`SshShell`]
//! (`ssh -o BatchMode=yes`, one control master per host with `ControlPersist`). libvirt has
//! no API for VXLAN devices or namespaces, so the host's own iproute2 makes them; nothing of
//! coo-bench has to be installed there.
//!
//! Network-safety: a remote host's root namespace never gets an address from us
//! ([`NetError::RemoteAddressRefused`]); addresses go only into namespaces we made.

use std::path::PathBuf;
use std::process::Command;

use serde::Deserialize;

pub use netwire::{SshTarget, SshTargetError};

use crate::names::{IfName, Ipv4Cidr, MacAddr, NetnsName};
use crate::ops::{AddrState, LinkState, NetError, NetOps, Netem, RouteState, VethEnd, Vxlan};

/// What a command line printed, and how it ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShellOutput {
    /// The command line's exit status (255: ssh itself failed).
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs POSIX `sh` command lines on one host.
pub trait RemoteShell: Send + Sync {
    /// Where it runs, for messages.
    fn label(&self) -> String;
    fn run(&self, script: &str) -> Result<ShellOutput, NetError>;
}

/// Environment variable naming an ssh client configuration file (`ssh -F`) used for every
/// host, e.g. with an `IdentityFile` and `UserKnownHostsFile` of its own.
pub const SSH_CONFIG_ENV: &str = "COO_BENCH_SSH_CONFIG";

/// [`RemoteShell`] over `ssh -o BatchMode=yes` (key login only: never a password prompt),
/// sharing one control master per host and user (`ControlPersist`): one TCP connection and
/// one key exchange for the dozens of commands of an `up`.
pub struct SshShell {
    pub target: SshTarget,
    /// `ssh -F`; default: [`SSH_CONFIG_ENV`], else the user's own configuration.
    pub config: Option<PathBuf>,
    /// Directory of the control sockets (made 0700).
    pub control_dir: PathBuf,
}

/// Seconds an idle control master stays (short: a run's commands come in bursts).
const CONTROL_PERSIST_S: u32 = 30;

impl SshShell {
    pub fn new(target: SshTarget) -> Self {
        SshShell::with_config(target, std::env::var_os(SSH_CONFIG_ENV).map(PathBuf::from))
    }

    /// With `ssh -F config`. Control sockets are per configuration: the same login under
    /// another configuration (another key, another proxy: possibly another machine) never
    /// rides on this one's master.
    pub fn with_config(target: SshTarget, config: Option<PathBuf>) -> Self {
        use std::hash::{Hash, Hasher};
        let mut control_dir = PathBuf::from("/run/coo-bench/ssh");
        if let Some(c) = &config {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            c.hash(&mut h);
            control_dir.push(format!("{:016x}", h.finish()));
        }
        SshShell {
            target,
            config,
            control_dir,
        }
    }

    fn command(&self) -> Command {
        let mut c = Command::new("ssh");
        if let Some(f) = &self.config {
            c.arg("-F").arg(f);
        }
        let cp = self.control_dir.join("%C");
        c.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"])
            .args(["-o", "ControlMaster=auto"])
            .arg("-o")
            .arg(format!("ControlPath={}", cp.display()))
            .arg("-o")
            .arg(format!("ControlPersist={CONTROL_PERSIST_S}"));
        if let Some(p) = self.target.port() {
            c.arg("-p").arg(p.to_string());
        }
        if let Some(u) = self.target.user() {
            c.arg("-l").arg(u);
        }
        c.arg(self.target.host());
        c
    }

    /// Ends the host's control master now (it would end by itself after
    /// `ControlPersist` seconds idle).
    pub fn close(&self) {
        let _ = self
            .command()
            .args(["-O", "exit"])
            .stdin(std::process::Stdio::null())
            .output();
    }
}

impl RemoteShell for SshShell {
    fn label(&self) -> String {
        format!("host {}", self.target)
    }

    fn run(&self, script: &str) -> Result<ShellOutput, NetError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.control_dir)
            .map_err(|e| NetError::os("create", self.control_dir.display().to_string(), e))?;
        let out = self
            .command()
            .arg("--")
            .arg(script)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| NetError::os("run ssh to", self.target.to_string(), e))?;
        Ok(ShellOutput {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// [`NetOps`] on another host through a [`RemoteShell`]. `None` as a namespace is that
/// host's root namespace. Inside a batch ([`NetOps::begin_batch`]) changes are queued and
/// sent as one script.
pub struct RemoteNetOps<S: RemoteShell> {
    pub shell: S,
    deferred: std::sync::Mutex<Option<Vec<Deferred>>>,
}

/// A change waiting for the end of its batch.
struct Deferred {
    op: &'static str,
    object: String,
    script: String,
}

/// Exit status of a batch script whose change `i` failed; `i` is printed to stderr after
/// [`BATCH_MARK`].
const BATCH_FAILED: i32 = 97;
const BATCH_MARK: &str = "coo-bench-batch-failed:";
/// Size of a batch script, bytes, above which it is split (Linux takes up to 128 KiB in one
/// argument).
const BATCH_BYTES: usize = 64 * 1024;

/// One script for `changes`: each runs in its own subshell (an `exit 0` inside one ends only
/// it), and the first failure stops the script, naming its index.
fn batch_script(changes: &[Deferred]) -> String {
    let mut s = String::new();
    for (i, d) in changes.iter().enumerate() {
        s.push_str(&format!(
            "( {} ) || {{ echo {BATCH_MARK}{i} >&2; exit {BATCH_FAILED}; }}\n",
            d.script
        ));
    }
    s
}

/// `ip`, in a namespace of the host or its root namespace.
fn ip(ns: Option<&NetnsName>) -> String {
    match ns {
        Some(n) => format!("ip -n {n}"),
        None => "ip".to_owned(),
    }
}

/// Runs `cmd` inside `ns` (or the root namespace).
fn exec_in(ns: Option<&NetnsName>, cmd: &str) -> String {
    match ns {
        Some(n) => format!("ip netns exec {n} {cmd}"),
        None => cmd.to_owned(),
    }
}

/// Link state as `ip -j link show` prints it.
#[derive(Deserialize)]
struct IpLink {
    ifname: String,
    ifindex: u32,
    #[serde(default)]
    flags: Vec<String>,
    address: Option<String>,
    master: Option<String>,
    linkinfo: Option<IpLinkInfo>,
}

#[derive(Deserialize)]
struct IpLinkInfo {
    info_kind: Option<String>,
}

#[derive(Deserialize)]
struct IpAddrLink {
    ifname: String,
    #[serde(default)]
    addr_info: Vec<IpAddrInfo>,
}

#[derive(Deserialize)]
struct IpAddrInfo {
    local: String,
    prefixlen: u8,
}

#[derive(Deserialize)]
struct IpRoute {
    dst: String,
    dev: Option<String>,
    table: Option<serde_json::Value>,
}

impl<S: RemoteShell> RemoteNetOps<S> {
    pub fn new(shell: S) -> Self {
        RemoteNetOps {
            shell,
            deferred: std::sync::Mutex::new(None),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Option<Vec<Deferred>>> {
        self.deferred.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A change: queued inside a batch, else carried out now.
    fn change(&self, op: &'static str, object: String, script: &str) -> Result<(), NetError> {
        if let Some(q) = self.queue().as_mut() {
            q.push(Deferred {
                op,
                object,
                script: script.to_owned(),
            });
            return Ok(());
        }
        self.ok(op, object, script).map(drop)
    }

    /// Carries out the queued changes (the batch stays open).
    fn flush(&self) -> Result<(), NetError> {
        let changes = match self.queue().as_mut() {
            Some(q) if !q.is_empty() => std::mem::take(q),
            _ => return Ok(()),
        };
        // Scripts of at most ~BATCH_BYTES: a command line travels as one argument of
        // `sh -c` on the host, which Linux limits to 128 KiB.
        let mut from = 0;
        while from < changes.len() {
            // Each change is wrapped in ~60 bytes (see `batch_script`).
            let size = |d: &Deferred| d.script.len() + 80;
            let mut to = from + 1;
            let mut len = size(&changes[from]);
            while to < changes.len() && len + size(&changes[to]) < BATCH_BYTES {
                len += size(&changes[to]);
                to += 1;
            }
            self.run_batch(&changes[from..to])?;
            from = to;
        }
        Ok(())
    }

    /// One script for `changes`; the first failure is returned as that change's error.
    fn run_batch(&self, changes: &[Deferred]) -> Result<(), NetError> {
        let script = batch_script(changes);
        let out = self.shell.run(&script)?;
        if out.status == 0 {
            return Ok(());
        }
        // The failed change's own error; without the mark (ssh itself failed) the batch's.
        let failed = out
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix(BATCH_MARK)?.trim().parse::<usize>().ok())
            .filter(|_| out.status == BATCH_FAILED)
            .and_then(|i| changes.get(i));
        let stderr: String = out
            .stderr
            .lines()
            .filter(|l| !l.starts_with(BATCH_MARK))
            .collect::<Vec<_>>()
            .join("\n");
        let (op, object, command) = match failed {
            Some(d) => (d.op, d.object.clone(), d.script.clone()),
            None => ("run batch", format!("{} changes", changes.len()), script),
        };
        Err(NetError::Remote {
            host: self.shell.label(),
            op,
            object,
            command,
            stderr: stderr.trim().to_owned(),
        })
    }

    /// `script`, which must succeed (queued changes first).
    fn ok(&self, op: &'static str, object: String, script: &str) -> Result<String, NetError> {
        self.flush()?;
        let out = self.shell.run(script)?;
        if out.status == 0 {
            return Ok(out.stdout);
        }
        Err(NetError::Remote {
            host: self.shell.label(),
            op,
            object,
            command: script.to_owned(),
            stderr: out.stderr.trim().to_owned(),
        })
    }

    /// Whether `script` exits 0 (1: no; anything else, e.g. ssh's 255, is an error).
    fn test(&self, object: String, script: &str) -> Result<bool, NetError> {
        self.flush()?;
        let out = self.shell.run(script)?;
        match out.status {
            0 => Ok(true),
            1 => Ok(false),
            _ => Err(NetError::Remote {
                host: self.shell.label(),
                op: "test",
                object,
                command: script.to_owned(),
                stderr: out.stderr.trim().to_owned(),
            }),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        op: &'static str,
        object: String,
        script: &str,
    ) -> Result<T, NetError> {
        let text = self.ok(op, object.clone(), script)?;
        serde_json::from_str(if text.trim().is_empty() { "[]" } else { &text }).map_err(|e| {
            NetError::Remote {
                host: self.shell.label(),
                op,
                object,
                command: script.to_owned(),
                stderr: format!("unreadable output: {e}"),
            }
        })
    }
}

fn what(ns: Option<&NetnsName>, name: &str) -> String {
    match ns {
        Some(n) => format!("{name} in netns {n}"),
        None => name.to_owned(),
    }
}

/// Bridge options that keep netfilter off bridged frames.
const BRIDGE_NF_OFF: &str = "nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0";

impl<S: RemoteShell> NetOps for RemoteNetOps<S> {
    fn begin_batch(&self) {
        let mut q = self.queue();
        if q.is_none() {
            *q = Some(Vec::new());
        }
    }

    fn end_batch(&self) -> Result<(), NetError> {
        let res = self.flush();
        *self.queue() = None;
        res
    }

    fn create_netns(&self, name: &NetnsName) -> Result<(), NetError> {
        self.change(
            "create netns",
            name.to_string(),
            &format!("ip netns add {name}"),
        )
    }

    fn delete_netns(&self, name: &NetnsName) -> Result<(), NetError> {
        // Already gone counts as removed; its processes (none of ours run there) go first
        // so the namespace really goes.
        let s = format!(
            "test -e /run/netns/{name} || exit 0; \
             ip netns pids {name} | xargs -r kill -9; ip netns del {name}"
        );
        self.change("delete netns", name.to_string(), &s)
    }

    fn netns_exists(&self, name: &NetnsName) -> bool {
        self.test(name.to_string(), &format!("test -e /run/netns/{name}"))
            .unwrap_or(false)
    }

    fn list_netns(&self) -> Result<Vec<NetnsName>, NetError> {
        let out = self.ok("list", "netns".into(), "ls -1 /run/netns 2>/dev/null; true")?;
        Ok(out
            .lines()
            .filter_map(|l| NetnsName::new(l.trim()).ok())
            .collect())
    }

    fn set_sysctl(&self, ns: Option<&NetnsName>, key: &str, value: &str) -> Result<bool, NetError> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
        };
        if !ok(key) || key.contains("..") || !ok(value) {
            return Err(NetError::Remote {
                host: self.shell.label(),
                op: "set sysctl",
                object: key.to_owned(),
                command: String::new(),
                stderr: format!("refused: key {key:?} or value {value:?} is not a plain word"),
            });
        }
        // exit 3: the key does not exist here.
        let s = exec_in(
            ns,
            &format!("sh -c 'test -e /proc/sys/{key} || exit 3; echo {value} > /proc/sys/{key}'"),
        );
        if let Some(q) = self.queue().as_mut() {
            // Batched: an absent key is skipped (exit 3 is success here).
            q.push(Deferred {
                op: "set sysctl",
                object: what(ns, key),
                script: format!("{s}; r=$?; test $r -eq 3 || exit $r"),
            });
            return Ok(true);
        }
        let out = self.shell.run(&s)?;
        match out.status {
            0 => Ok(true),
            3 => Ok(false),
            _ => Err(NetError::Remote {
                host: self.shell.label(),
                op: "set sysctl",
                object: what(ns, key),
                command: s,
                stderr: out.stderr.trim().to_owned(),
            }),
        }
    }

    fn create_bridge(
        &self,
        ns: Option<&NetnsName>,
        name: &IfName,
        mac: Option<MacAddr>,
    ) -> Result<(), NetError> {
        let addr = mac.map(|m| format!(" address {m}")).unwrap_or_default();
        let s = format!(
            "{} link add {name}{addr} type bridge {BRIDGE_NF_OFF}",
            ip(ns)
        );
        self.change("create bridge", what(ns, name.as_str()), &s)
    }

    fn create_veth(&self, a: &VethEnd, b: &VethEnd) -> Result<(), NetError> {
        let mac = |m: &Option<MacAddr>| m.map(|m| format!(" address {m}")).unwrap_or_default();
        let peer_ns = match (&a.netns, &b.netns) {
            (_, Some(n)) => format!(" netns {n}"),
            // The peer into the root namespace: pid 1's.
            (Some(_), None) => " netns 1".to_owned(),
            (None, None) => String::new(),
        };
        let s = format!(
            "{} link add {}{} type veth peer name {}{}{}",
            ip(a.netns.as_ref()),
            a.name,
            mac(&a.mac),
            b.name,
            mac(&b.mac),
            peer_ns
        );
        self.change("create veth", what(a.netns.as_ref(), a.name.as_str()), &s)
    }

    fn create_tap(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError> {
        let s = format!("{} tuntap add dev {name} mode tap", ip(ns));
        self.change("create tap", what(ns, name.as_str()), &s)
    }

    fn create_vxlan(&self, ns: Option<&NetnsName>, vx: &Vxlan) -> Result<(), NetError> {
        let s = format!(
            "{} link add {} type vxlan id {} local {} remote {} dstport {} learning",
            ip(ns),
            vx.name,
            vx.vni,
            vx.local,
            vx.remote,
            vx.port
        );
        self.change("create vxlan", what(ns, vx.name.as_str()), &s)
    }

    fn delete_link(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError> {
        // Gone (or its namespace gone) counts as removed.
        let guard = match ns {
            Some(n) => format!("test -e /run/netns/{n} || exit 0; "),
            None => String::new(),
        };
        let s = format!(
            "{guard}{ip} link show dev {name} >/dev/null 2>&1 || exit 0; {ip} link del dev {name}",
            ip = ip(ns)
        );
        self.change("delete link", what(ns, name.as_str()), &s)
    }

    fn link_exists(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<bool, NetError> {
        let s = format!("{} link show dev {name} >/dev/null 2>&1 || exit 1", ip(ns));
        self.test(what(ns, name.as_str()), &s)
    }

    fn set_mac(&self, ns: Option<&NetnsName>, name: &IfName, mac: MacAddr) -> Result<(), NetError> {
        let s = format!("{} link set dev {name} address {mac}", ip(ns));
        self.change("set mac of", what(ns, name.as_str()), &s)
    }

    fn set_mtu(&self, ns: Option<&NetnsName>, name: &IfName, mtu: u32) -> Result<(), NetError> {
        let s = format!("{} link set dev {name} mtu {mtu}", ip(ns));
        self.change("set mtu of", what(ns, name.as_str()), &s)
    }

    fn set_up(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError> {
        let s = format!("{} link set dev {name} up", ip(ns));
        self.change("set up", what(ns, name.as_str()), &s)
    }

    fn set_down(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError> {
        let s = format!("{} link set dev {name} down", ip(ns));
        self.change("set down", what(ns, name.as_str()), &s)
    }

    fn move_link(
        &self,
        ns: Option<&NetnsName>,
        name: &IfName,
        to: Option<&NetnsName>,
    ) -> Result<(), NetError> {
        let to = to.map_or_else(|| "1".to_owned(), NetnsName::to_string);
        let s = format!("{} link set dev {name} netns {to}", ip(ns));
        self.change("move", what(ns, name.as_str()), &s)
    }

    fn add_address(
        &self,
        ns: Option<&NetnsName>,
        name: &IfName,
        addr: Ipv4Cidr,
    ) -> Result<(), NetError> {
        let Some(ns) = ns else {
            return Err(NetError::RemoteAddressRefused {
                host: self.shell.label(),
                link: name.clone(),
            });
        };
        let s = format!("ip -n {ns} addr add {addr} dev {name}");
        self.change("add address to", what(Some(ns), name.as_str()), &s)
    }

    fn set_bridge_port(
        &self,
        ns: Option<&NetnsName>,
        port: &IfName,
        bridge: &IfName,
    ) -> Result<(), NetError> {
        let s = format!("{} link set dev {port} master {bridge}", ip(ns));
        self.change("attach", what(ns, port.as_str()), &s)
    }

    fn disable_bridge_netfilter(
        &self,
        ns: Option<&NetnsName>,
        bridge: &IfName,
    ) -> Result<(), NetError> {
        let mut s = format!(
            "{} link set dev {bridge} type bridge {BRIDGE_NF_OFF}",
            ip(ns)
        );
        if let Some(n) = ns {
            // The namespace's sysctls in the same round trip; absent without br_netfilter:
            // nothing to turn off then.
            s.push_str(&format!(
                " && ip netns exec {n} sh -c 'for k in iptables ip6tables arptables; do \
                 f=/proc/sys/net/bridge/bridge-nf-call-$k; test -e $f || continue; \
                 echo 0 > $f || exit 1; done'"
            ));
        }
        self.change("disable netfilter on", what(ns, bridge.as_str()), &s)
    }

    fn set_netem(
        &self,
        ns: Option<&NetnsName>,
        dev: &IfName,
        netem: &Netem,
    ) -> Result<(), NetError> {
        let s = exec_in(
            ns,
            &format!(
                "tc qdisc replace dev {dev} root netem {}",
                netem.tc_args().join(" ")
            ),
        );
        self.change("set netem on", what(ns, dev.as_str()), &s)
    }

    fn list_links(&self, ns: Option<&NetnsName>) -> Result<Vec<LinkState>, NetError> {
        let links: Vec<IpLink> = self.json(
            "list links",
            what(ns, ""),
            &format!("{} -j -d link show", ip(ns)),
        )?;
        Ok(links
            .into_iter()
            .map(|l| LinkState {
                up: l.flags.iter().any(|f| f == "UP"),
                mac: l.address.and_then(|a| a.parse().ok()),
                kind: l.linkinfo.and_then(|i| i.info_kind),
                name: l.ifname,
                index: l.ifindex,
                master: l.master,
            })
            .collect())
    }

    fn list_addresses(&self, ns: Option<&NetnsName>) -> Result<Vec<AddrState>, NetError> {
        let links: Vec<IpAddrLink> = self.json(
            "list addresses",
            what(ns, ""),
            &format!("{} -j addr show", ip(ns)),
        )?;
        Ok(links
            .into_iter()
            .flat_map(|l| {
                let link = l.ifname;
                l.addr_info.into_iter().map(move |a| AddrState {
                    link: link.clone(),
                    address: a.local,
                    prefix_len: a.prefixlen,
                })
            })
            .collect())
    }

    fn list_routes(&self, ns: Option<&NetnsName>) -> Result<Vec<RouteState>, NetError> {
        let mut out = Vec::new();
        for fam in ["-4", "-6"] {
            let routes: Vec<IpRoute> = self.json(
                "list routes",
                what(ns, ""),
                &format!("{} -j {fam} route show table all", ip(ns)),
            )?;
            for r in routes {
                let (destination, prefix_len) = match r.dst.as_str() {
                    "default" => (None, 0),
                    d => match d.split_once('/') {
                        Some((a, p)) => (Some(a.to_owned()), p.parse().unwrap_or(0)),
                        None => (Some(d.to_owned()), if fam == "-4" { 32 } else { 128 }),
                    },
                };
                let table = match r.table {
                    None => 254,
                    Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(0) as u32,
                    Some(serde_json::Value::String(s)) => match s.as_str() {
                        "main" => 254,
                        "local" => 255,
                        "default" => 253,
                        other => other.parse().unwrap_or(0),
                    },
                    Some(_) => 0,
                };
                out.push(RouteState {
                    destination,
                    prefix_len,
                    link: r.dev,
                    table,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records every command line; answers `status` for lines containing a key of `answers`.
    #[derive(Default)]
    struct RecordingShell {
        lines: Mutex<Vec<String>>,
        answers: Vec<(&'static str, ShellOutput)>,
    }

    impl RemoteShell for RecordingShell {
        fn label(&self) -> String {
            "host fake".into()
        }
        fn run(&self, script: &str) -> Result<ShellOutput, NetError> {
            self.lines.lock().unwrap().push(script.to_owned());
            Ok(self
                .answers
                .iter()
                .find(|(k, _)| script.contains(k))
                .map(|(_, o)| o.clone())
                .unwrap_or_default())
        }
    }

    fn ns(s: &str) -> NetnsName {
        NetnsName::new(s).unwrap()
    }
    fn ifn(s: &str) -> IfName {
        IfName::new(s).unwrap()
    }

    /// Runs scripts with this machine's `sh` (for the batch mechanics only: no `ip`).
    struct LocalSh;

    impl RemoteShell for LocalSh {
        fn label(&self) -> String {
            "host local-sh".into()
        }
        fn run(&self, script: &str) -> Result<ShellOutput, NetError> {
            let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
            Ok(ShellOutput {
                status: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        }
    }

    #[test]
    fn a_batch_is_one_round_trip_and_queries_see_it() {
        let net = RemoteNetOps::new(RecordingShell::default());
        let sw = ns("cb12ab-h1");
        net.begin_batch();
        net.create_netns(&sw).unwrap();
        net.create_bridge(Some(&sw), &ifn("cb12abb1"), None)
            .unwrap();
        assert!(net
            .set_sysctl(Some(&sw), "net/ipv6/conf/all/disable_ipv6", "1")
            .unwrap());
        assert!(net.shell.lines.lock().unwrap().is_empty(), "deferred");
        // A query carries out what was deferred first.
        net.link_exists(Some(&sw), &ifn("cb12abb1")).unwrap();
        net.set_up(Some(&sw), &ifn("cb12abb1")).unwrap();
        net.end_batch().unwrap();
        net.set_down(Some(&sw), &ifn("cb12abb1")).unwrap();
        let lines = net.shell.lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        let first: Vec<&str> = lines[0].lines().collect();
        assert_eq!(first.len(), 3);
        assert!(
            first[0].starts_with("( ip netns add cb12ab-h1 ) || { echo coo-bench-batch-failed:0")
        );
        assert!(first[1].starts_with("( ip -n cb12ab-h1 link add cb12abb1 type bridge"));
        // An absent sysctl key (exit 3) does not fail the batch.
        assert!(
            first[2].contains("r=$?; test $r -eq 3 || exit $r )"),
            "{}",
            first[2]
        );
        assert!(lines[1].starts_with("ip -n cb12ab-h1 link show dev cb12abb1"));
        assert!(lines[2].starts_with("( ip -n cb12ab-h1 link set dev cb12abb1 up )"));
        assert_eq!(lines[3], "ip -n cb12ab-h1 link set dev cb12abb1 down");
    }

    #[test]
    fn a_long_batch_is_split_into_scripts_that_fit_a_command_line() {
        let net = RemoteNetOps::new(RecordingShell::default());
        net.begin_batch();
        for i in 0..2000 {
            net.create_tap(Some(&ns("cb12ab-h1")), &ifn(&format!("cb12t{i}")))
                .unwrap();
        }
        net.end_batch().unwrap();
        let lines = net.shell.lines.lock().unwrap().clone();
        assert!(lines.len() >= 2, "{}", lines.len());
        assert!(lines.iter().all(|l| l.len() < 128 * 1024));
        // Every change once, in order.
        let all: Vec<&str> = lines.iter().flat_map(|l| l.lines()).collect();
        assert_eq!(all.len(), 2000);
        assert!(all[0].contains(" cb12t0 ") && all[1999].contains(" cb12t1999 "));
    }

    #[test]
    fn a_batch_stops_at_its_first_failure_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("after");
        let net = RemoteNetOps::new(LocalSh);
        net.begin_batch();
        net.change("first", "a".into(), "true").unwrap();
        // `exit 0` ends only its own change.
        net.change("second", "b".into(), "exit 0; false").unwrap();
        net.change("third", "c".into(), "echo boom >&2; exit 2")
            .unwrap();
        net.change("fourth", "d".into(), &format!("touch {}", marker.display()))
            .unwrap();
        let err = net.end_batch().unwrap_err();
        match &err {
            NetError::Remote {
                op,
                object,
                command,
                stderr,
                ..
            } => {
                assert_eq!((*op, object.as_str()), ("third", "c"));
                assert_eq!(command, "echo boom >&2; exit 2");
                assert_eq!(stderr, "boom");
            }
            other => panic!("{other}"),
        }
        assert!(!marker.exists(), "nothing after the failure ran");
        // The batch ended: the next change runs at once.
        net.change("fifth", "e".into(), &format!("touch {}", marker.display()))
            .unwrap();
        assert!(marker.exists());
    }

    #[test]
    fn network_objects_become_ip_commands() {
        let net = RemoteNetOps::new(RecordingShell::default());
        let sw = ns("cb12ab-h1");
        net.create_netns(&sw).unwrap();
        net.create_bridge(Some(&sw), &ifn("cb12abb1"), None)
            .unwrap();
        let vx = Vxlan {
            name: ifn("cb12abx1"),
            vni: 0x12ab01,
            local: "198.18.200.3".parse().unwrap(),
            remote: "198.18.200.1".parse().unwrap(),
            port: 4789,
        };
        net.create_vxlan(None, &vx).unwrap();
        net.move_link(None, &vx.name, Some(&sw)).unwrap();
        net.set_mtu(Some(&sw), &vx.name, 1450).unwrap();
        net.set_bridge_port(Some(&sw), &vx.name, &ifn("cb12abb1"))
            .unwrap();
        net.set_up(Some(&sw), &vx.name).unwrap();
        net.create_tap(None, &ifn("cb12abt0")).unwrap();
        net.delete_link(None, &ifn("cb12abt0")).unwrap();
        net.delete_netns(&sw).unwrap();
        assert_eq!(
            *net.shell.lines.lock().unwrap(),
            [
                "ip netns add cb12ab-h1",
                "ip -n cb12ab-h1 link add cb12abb1 type bridge nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0",
                "ip link add cb12abx1 type vxlan id 1223425 local 198.18.200.3 remote 198.18.200.1 dstport 4789 learning",
                "ip link set dev cb12abx1 netns cb12ab-h1",
                "ip -n cb12ab-h1 link set dev cb12abx1 mtu 1450",
                "ip -n cb12ab-h1 link set dev cb12abx1 master cb12abb1",
                "ip -n cb12ab-h1 link set dev cb12abx1 up",
                "ip tuntap add dev cb12abt0 mode tap",
                "ip link show dev cb12abt0 >/dev/null 2>&1 || exit 0; ip link del dev cb12abt0",
                "test -e /run/netns/cb12ab-h1 || exit 0; ip netns pids cb12ab-h1 | xargs -r kill -9; ip netns del cb12ab-h1",
            ]
        );
    }

    #[test]
    fn bridge_netfilter_off_is_one_round_trip() {
        let net = RemoteNetOps::new(RecordingShell::default());
        net.disable_bridge_netfilter(Some(&ns("cb12ab-h1")), &ifn("cb12abb1"))
            .unwrap();
        let lines = net.shell.lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0]
            .starts_with("ip -n cb12ab-h1 link set dev cb12abb1 type bridge nf_call_iptables 0"));
        assert!(lines[0].contains("ip netns exec cb12ab-h1 sh -c 'for k in iptables"));
    }

    #[test]
    fn no_address_in_a_hosts_root_namespace() {
        let net = RemoteNetOps::new(RecordingShell::default());
        let a = Ipv4Cidr::new("198.18.0.1".parse().unwrap(), 24).unwrap();
        let err = net.add_address(None, &ifn("eth9"), a).unwrap_err();
        assert!(
            matches!(err, NetError::RemoteAddressRefused { .. }),
            "{err}"
        );
        assert!(net.shell.lines.lock().unwrap().is_empty(), "nothing ran");
        net.add_address(Some(&ns("cb12ab-m")), &ifn("m0"), a)
            .unwrap();
        assert_eq!(
            *net.shell.lines.lock().unwrap(),
            ["ip -n cb12ab-m addr add 198.18.0.1/24 dev m0"]
        );
    }

    #[test]
    fn failures_name_the_host_and_command() {
        let shell = RecordingShell {
            answers: vec![(
                "link add",
                ShellOutput {
                    status: 2,
                    stdout: String::new(),
                    stderr: "RTNETLINK answers: File exists\n".into(),
                },
            )],
            ..Default::default()
        };
        let net = RemoteNetOps::new(shell);
        let err = net.create_bridge(None, &ifn("cb12abb1"), None).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("host fake: create bridge cb12abb1: `ip link add"),
            "{msg}"
        );
        assert!(msg.ends_with("RTNETLINK answers: File exists"), "{msg}");
        // A sysctl key that is not a plain path is refused before anything runs.
        assert!(net.set_sysctl(None, "net/../x", "1").is_err());
        assert!(net.set_sysctl(None, "net/ipv4/x", "1; reboot").is_err());
    }

    #[test]
    fn ip_json_is_read() {
        let shell = RecordingShell {
            answers: vec![
                ("link show", ShellOutput {
                    status: 0,
                    stdout: r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"address":"00:00:00:00:00:00"},{"ifindex":5,"ifname":"cb12abx1","flags":["BROADCAST"],"master":"cb12abb1","address":"02:00:00:00:00:01","linkinfo":{"info_kind":"vxlan"}}]"#.into(),
                    stderr: String::new(),
                }),
                ("-4 route", ShellOutput {
                    status: 0,
                    stdout: r#"[{"dst":"default","dev":"eth0"},{"type":"local","dst":"127.0.0.1","table":"local","dev":"lo"}]"#.into(),
                    stderr: String::new(),
                }),
            ],
            ..Default::default()
        };
        let net = RemoteNetOps::new(shell);
        let links = net.list_links(None).unwrap();
        assert_eq!(links.len(), 2);
        assert!(links[0].up && !links[1].up);
        assert_eq!(links[1].master.as_deref(), Some("cb12abb1"));
        assert_eq!(links[1].kind.as_deref(), Some("vxlan"));
        let routes = net.list_routes(None).unwrap();
        assert_eq!(routes.len(), 2);
        assert!(routes[0].is_default());
        assert_eq!((routes[1].prefix_len, routes[1].table), (32, 255));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod control_tests {
    use super::*;

    /// Two configurations for one login (e.g. two simulated worlds, or two keys) never share
    /// a control master; one configuration always finds its own.
    #[test]
    fn control_sockets_are_per_configuration() {
        let t = SshTarget::new("root@198.18.200.3").unwrap();
        let a = SshShell::with_config(t.clone(), Some("/tmp/a/ssh_config".into()));
        let b = SshShell::with_config(t.clone(), Some("/tmp/b/ssh_config".into()));
        let a2 = SshShell::with_config(t.clone(), Some("/tmp/a/ssh_config".into()));
        let plain = SshShell::with_config(t, None);
        assert_ne!(a.control_dir, b.control_dir);
        assert_eq!(a.control_dir, a2.control_dir);
        assert_eq!(plain.control_dir, PathBuf::from("/run/coo-bench/ssh"));
        assert!(a.control_dir.starts_with("/run/coo-bench/ssh"));
        // Short enough for a UNIX socket path with ssh's 40-character %C.
        assert!(a.control_dir.as_os_str().len() + 41 < 100);
    }
}
