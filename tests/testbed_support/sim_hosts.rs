//! Simulated machines for the multi-host tests: `<tag>-c` (controller underlay), `<tag>-a`,
//! `<tag>-b` (hosts), each a network namespace with a veth onto the bridge of `<tag>-u` (the
//! underlay network), addresses 198.18.200.{1,2,3}/24 inside those namespaces only. A host
//! may run its own libvirtd ([`SimLibvirtd`]): a private mount namespace over libvirt's
//! configuration, run, state, cache and log directories, listening for `qemu+tcp://` (no auth) on
//! its underlay address only.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hostnet::{IfName, Ipv4Cidr, NetOps, NetnsName, Object, RealProcesses, RtNetOps, VethEnd};
use testbed::Underlay;

pub fn ns(s: &str) -> NetnsName {
    NetnsName::new(s).unwrap()
}
pub fn ifn(s: &str) -> IfName {
    IfName::new(s).unwrap()
}

/// The underlay address of simulated site `site` (`c`, `a`, `b`).
pub fn site_addr(site: &str) -> Ipv4Addr {
    let last = match site {
        "c" => 1,
        "a" => 2,
        _ => 3,
    };
    Ipv4Addr::new(198, 18, 200, last)
}

/// The simulated machines; removed on drop through their own ledger.
pub struct SimHosts {
    pub tag: String,
    ledger_dir: tempfile::TempDir,
}

impl SimHosts {
    pub fn new() -> Self {
        // Unique per test too: the tests of a file run in parallel threads.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst) & 0xf;
        let tag = format!("cs{:03x}{n:x}", std::process::id() & 0xfff);
        let sim = SimHosts::attach(tag);
        let net = RtNetOps::new().unwrap();
        let mut l = hostnet::Ledger::create(&sim.ledger_dir.path().join("ledger")).unwrap();
        let u = sim.ns("u");
        l.create_with(&Object::Netns { name: u.clone() }, || net.create_netns(&u))
            .unwrap();
        net.create_bridge(Some(&u), &ifn("ul"), None).unwrap();
        net.set_up(Some(&u), &ifn("ul")).unwrap();
        for site in ["c", "a", "b"] {
            let n = sim.ns(site);
            l.create_with(&Object::Netns { name: n.clone() }, || net.create_netns(&n))
                .unwrap();
            net.set_up(Some(&n), &ifn("lo")).unwrap();
            let port = ifn(&format!("ul{site}"));
            net.create_veth(
                &VethEnd {
                    name: port.clone(),
                    netns: Some(n.clone()),
                    mac: None,
                },
                &VethEnd {
                    name: port.clone(),
                    netns: Some(u.clone()),
                    mac: None,
                },
            )
            .unwrap();
            net.set_bridge_port(Some(&u), &port, &ifn("ul")).unwrap();
            net.set_up(Some(&u), &port).unwrap();
            net.add_address(
                Some(&n),
                &port,
                Ipv4Cidr {
                    addr: site_addr(site),
                    prefix_len: 24,
                },
            )
            .unwrap();
            net.set_up(Some(&n), &port).unwrap();
        }
        sim
    }

    /// The simulated machines of tag `tag`, made by another process (which removes them).
    pub fn attach(tag: String) -> Self {
        SimHosts {
            tag,
            ledger_dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn ns(&self, site: &str) -> NetnsName {
        ns(&format!("{}-{site}", self.tag))
    }

    pub fn underlay(&self) -> Underlay {
        Underlay {
            controller_netns: Some(self.ns("c")),
            controller_addr: site_addr("c"),
            host_netns: BTreeMap::from([("a".into(), self.ns("a")), ("b".into(), self.ns("b"))]),
            mtu: 1500,
        }
    }

    /// Links of a simulated machine other than its own (`lo`, the underlay veth).
    pub fn foreign_links(&self, site: &str) -> Vec<String> {
        let net = RtNetOps::new().unwrap();
        net.list_links(Some(&self.ns(site)))
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .filter(|n| n != "lo" && *n != format!("ul{site}"))
            .collect()
    }

    /// Processes living in a simulated machine's network namespace other than `except`
    /// (pid, command line).
    pub fn processes_in(&self, site: &str, except: &[u32]) -> Vec<(u32, String)> {
        let Ok(me) = std::fs::metadata(self.ns(site).path()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(m) = std::fs::metadata(e.path().join("ns/net")) else {
                continue;
            };
            if m.ino() == me.ino() && m.dev() == me.dev() && !except.contains(&pid) {
                let cmd = std::fs::read(e.path().join("cmdline"))
                    .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                    .unwrap_or_default();
                out.push((pid, cmd));
            }
        }
        out
    }
}

impl Drop for SimHosts {
    fn drop(&mut self) {
        if let Ok(net) = RtNetOps::new() {
            let _ = hostnet::ledger::teardown(
                &self.ledger_dir.path().join("ledger"),
                &net,
                &RealProcesses::default(),
            );
        }
    }
}

/// A libvirtd of its own in a simulated host: its network namespace, a private mount
/// namespace (tmpfs over /etc/libvirt with a qemu.conf of its own, /run/libvirt,
/// /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt), `qemu+tcp://<underlay>/system` with no auth,
/// reachable only inside the simulated underlay. Stopped on drop (its QEMUs too).
pub struct SimLibvirtd {
    pub site: String,
    pub uri: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl SimLibvirtd {
    /// Why no private libvirtd can run here (binaries missing), if so.
    pub fn missing() -> Option<String> {
        for bin in ["libvirtd", "unshare", "ip"] {
            if hostnet::find_in_path(bin).is_none() {
                return Some(format!(
                    "{bin} not found in PATH (bash scripts/vm-setup.sh)"
                ));
            }
        }
        None
    }

    /// Starts it in `site` of `sim` and waits until its TCP socket answers.
    pub fn start(sim: &SimHosts, site: &str) -> Result<Self, String> {
        let addr = site_addr(site);
        // TCP without TLS or auth: only on the simulated underlay address, inside namespaces
        // this test made.
        let conf = format!(
            "listen_tls = 0\nlisten_tcp = 1\nlisten_addr = \"{addr}\"\nauth_tcp = \"none\"\n"
        );
        Self::spawn(
            Some(&sim.ns(site)),
            site,
            &conf,
            |_| format!("qemu+tcp://{addr}/system"),
            Some(sim.ns("c").path()),
        )
    }

    /// One in this machine's network namespace (a one-machine testbed's hypervisor), the
    /// same kind as the simulated hosts' but reached on a UNIX socket of its own (URI
    /// `qemu:///system?socket=…`), so the machine's own libvirtd is neither needed nor
    /// touched.
    pub fn start_local() -> Result<Self, String> {
        Self::spawn(
            None,
            "local",
            "listen_tls = 0\nlisten_tcp = 0\n",
            |dir| {
                format!(
                    "qemu:///system?socket={}/libvirt-sock",
                    dir.join("sock").display()
                )
            },
            None,
        )
    }

    fn spawn(
        netns: Option<&NetnsName>,
        site: &str,
        listen: &str,
        uri: impl FnOnce(&Path) -> String,
        connect_from: Option<PathBuf>,
    ) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let sock = dir.path().join("sock");
        std::fs::create_dir(&sock).map_err(|e| e.to_string())?;
        let conf = dir.path().join("libvirtd.conf");
        std::fs::write(
            &conf,
            format!(
                "{listen}unix_sock_dir = \"{}\"\nauth_unix_rw = \"none\"\n",
                sock.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        let qemu_conf = dir.path().join("qemu.conf");
        // As scripts/vm-setup.sh configures the system daemon; console output to files, not
        // to the host's virtlogd (whose socket the private /run/libvirt hides).
        std::fs::write(
            &qemu_conf,
            "user = \"root\"\ngroup = \"root\"\nsecurity_driver = \"none\"\nstdio_handler = \"file\"\n",
        )
        .map_err(|e| e.to_string())?;
        let mut script = String::new();
        for d in [
            "/run/libvirt",
            "/var/lib/libvirt",
            "/var/cache/libvirt",
            "/var/log/libvirt",
        ] {
            script.push_str(&format!("mkdir -p {d} && mount -t tmpfs coo-sim {d} && "));
        }
        // libvirt's QEMU log directory, as the libvirt package makes it on a real host (a
        // remote host's console logs go there).
        script.push_str("mkdir -p /var/log/libvirt/qemu && ");
        // A sysfs of its own without the cgroup mounts, as `ip netns exec` makes for the
        // simulated hosts: no daemon puts its QEMUs into cgroups, so the simulated hosts' and
        // the local daemon's guests share this test's cgroup and compete for the CPUs alike.
        script.push_str("umount -l /sys && mount -t sysfs coo-sim /sys && ");
        // /etc/libvirt too: persistent networks or pools of the machine's own libvirt (e.g. an
        // autostarted `default` network with its 192.168.122.1) must not start here.
        script.push_str(&format!(
            "mount -t tmpfs coo-sim /etc/libvirt && cp {} /etc/libvirt/qemu.conf && \
             exec libvirtd --listen --config {} --pid-file {}",
            qemu_conf.display(),
            conf.display(),
            dir.path().join("pid").display()
        ));
        let log = std::fs::File::create(dir.path().join("log")).map_err(|e| e.to_string())?;
        // Every step execs the next: the child's pid is libvirtd's.
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns.as_str(), "unshare"]);
                c
            }
            None => Command::new("unshare"),
        };
        let child = cmd
            .args(["--mount", "--propagation", "private"])
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("libvirtd for {site}: {e}"))?;
        let mut d = SimLibvirtd {
            site: site.to_owned(),
            uri: uri(dir.path()),
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match vmdriver::libvirt::LibvirtDriver::connect_from(&d.uri, connect_from.as_deref()) {
                Ok(_) => return Ok(d),
                Err(e) => {
                    let exited = d.child.try_wait().ok().flatten();
                    if exited.is_some() || Instant::now() > deadline {
                        let log =
                            std::fs::read_to_string(d._dir.path().join("log")).unwrap_or_default();
                        return Err(format!(
                            "libvirtd for {site}: {e}; exit {exited:?}; log:\n{log}"
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The daemon's view of a path (its private mounts): through /proc/<pid>/root.
    pub fn path(&self, p: &str) -> PathBuf {
        Path::new(&format!("/proc/{}/root", self.pid())).join(p.trim_start_matches('/'))
    }
}

impl Drop for SimLibvirtd {
    fn drop(&mut self) {
        // SIGTERM lets libvirtd close cleanly; what survives (QEMUs of a failed test) is
        // killed with it, the private mounts go with the last process of their namespace.
        // SAFETY: kill has no memory preconditions; the pid is our child's.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An sshd of its own in a simulated host (the "ssh" mode of the fixture): it runs in that
/// host's network namespace on its underlay address, with a throw-away host key, a
/// throw-away client key and its own configuration in a temp dir (never /root/.ssh, never
/// the system sshd). [`SimSshd::client_config`] is an `ssh -F` file for
/// [`hostnet::remote::SSH_CONFIG_ENV`] that logs in with that key and, since this machine's
/// host namespace has no route onto the simulated underlay, goes there through `socat` in the
/// controller's underlay namespace. Stopped on drop.
pub struct SimSshd {
    pub target: hostnet::SshTarget,
    child: Child,
    dir: tempfile::TempDir,
}

impl SimSshd {
    /// Why no private sshd can run here, if so.
    pub fn missing() -> Option<String> {
        if !Path::new("/usr/sbin/sshd").is_file() {
            return Some("/usr/sbin/sshd not found (openssh-server: bash scripts/setup.sh)".into());
        }
        for bin in ["ssh", "ssh-keygen", "socat", "ip"] {
            if hostnet::find_in_path(bin).is_none() {
                return Some(format!("{bin} not found in PATH (bash scripts/setup.sh)"));
            }
        }
        None
    }

    /// Starts it in `site` of `sim` and waits until a command runs over it.
    pub fn start(sim: &SimHosts, site: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let p = |f: &str| dir.path().join(f);
        for key in ["host_key", "client_key"] {
            let out = Command::new("ssh-keygen")
                .args([
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    "coo-bench-test",
                    "-f",
                ])
                .arg(p(key))
                .output()
                .map_err(|e| format!("ssh-keygen: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "ssh-keygen: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        std::fs::copy(p("client_key.pub"), p("authorized_keys")).map_err(|e| e.to_string())?;
        let addr = site_addr(site);
        std::fs::write(
            p("sshd_config"),
            format!(
                "ListenAddress {addr}:22\nHostKey {}\nAuthorizedKeysFile {}\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
                 PidFile {}\nMaxStartups 50\nMaxSessions 50\n",
                p("host_key").display(),
                p("authorized_keys").display(),
                p("sshd.pid").display()
            ),
        )
        .map_err(|e| e.to_string())?;
        let host_pub = std::fs::read_to_string(p("host_key.pub")).map_err(|e| e.to_string())?;
        let mut kh = host_pub.split_whitespace();
        std::fs::write(
            p("known_hosts"),
            format!(
                "{addr} {} {}\n",
                kh.next().unwrap_or_default(),
                kh.next().unwrap_or_default()
            ),
        )
        .map_err(|e| e.to_string())?;
        std::fs::write(
            p("ssh_config"),
            format!(
                "Host {addr}\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  \
                 UserKnownHostsFile {}\n  StrictHostKeyChecking yes\n  \
                 ProxyCommand ip netns exec {} socat - TCP:%h:%p\n",
                p("client_key").display(),
                p("known_hosts").display(),
                sim.ns("c")
            ),
        )
        .map_err(|e| e.to_string())?;
        // sshd's privilege-separation directory (what the openssh-server unit makes at boot;
        // an empty root-owned directory on /run's tmpfs).
        std::fs::create_dir_all("/run/sshd").map_err(|e| format!("/run/sshd: {e}"))?;
        let log = std::fs::File::create(p("log")).map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                sim.ns(site).as_str(),
                "/usr/sbin/sshd",
                "-D",
                "-e",
                "-f",
            ])
            .arg(p("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("sshd for {site}: {e}"))?;
        let d = SimSshd {
            target: hostnet::SshTarget::new(&format!("root@{addr}")).map_err(|e| e.to_string())?,
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = d.ssh("true");
            if out.as_ref().is_ok_and(|o| o.status == 0) {
                return Ok(d);
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(d.dir.path().join("log")).unwrap_or_default();
                return Err(format!(
                    "sshd for {site} does not answer: {out:?}; log:\n{log}"
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The daemon's pid (its listener).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The `ssh -F` file logging in to it.
    pub fn client_config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    /// The shell `coo-bench` uses, with this fixture's configuration and control sockets.
    pub fn shell(&self) -> hostnet::SshShell {
        hostnet::SshShell::with_config(self.target.clone(), Some(self.client_config()))
    }

    /// Runs `script` on the simulated host over ssh.
    pub fn ssh(&self, script: &str) -> Result<hostnet::remote::ShellOutput, hostnet::NetError> {
        use hostnet::RemoteShell;
        self.shell().run(script)
    }

    /// A namespace the simulated host made over ssh, as this process reaches it: through
    /// sshd's root (`ip netns exec` gave it a mount namespace of its own), so the path holds
    /// whether or not its `/run/netns` entries propagate here.
    pub fn netns_path(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root/run/netns/{name}", self.child.id()))
    }

    /// Namespaces on the simulated host, as it lists them over ssh.
    pub fn netns_list(&self) -> Vec<String> {
        let out = self.ssh("ls -1 /run/netns").unwrap();
        out.stdout.lines().map(str::to_owned).collect()
    }
}

impl Drop for SimSshd {
    fn drop(&mut self) {
        // The control master (it would linger ControlPersist seconds), then the daemon.
        self.shell().close();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
