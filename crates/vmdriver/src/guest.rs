//! The kernel command line contract between the host (domain XML) and the guest init.
//!
//! Host side: [`GuestConfig::to_cmdline`]; guest side: [`GuestConfig::from_cmdline`] on
//! `/proc/cmdline`. Interfaces are identified by MAC, not by guest name, because the guest's
//! `ethN` numbering follows PCI probe order, which we do not rely on. A command line without
//! `coo.mgmt_mac` (a disk image's fixed one, see [`disk_cmdline`]) means: NIC 0 = the first
//! virtio NIC in PCI order, data NICs = all others in PCI order (the domain's NIC order).
//! This file is also compiled into the guest init binary (std + `crate::mac` only).

use std::net::Ipv4Addr;

use netwire::MacAddr;

/// Serial console marker the guest init prints once the agent accepts connections.
pub const READY_MARKER: &str = "COO-GUEST-READY";
/// Serial console marker printed in probe mode (then the guest powers off).
pub const PROBE_MARKER: &str = "COO-GUEST-PROBE-OK";
/// Kernel options that cut TCG boot time by ~1.5 s here: no speculative-execution mitigations
/// (the guest runs only our code), no TSC/timer re-checks, no PS/2 probing, quiet console, and
/// no crypto self-tests at boot and module load (~0.6 s of the ~2.8 s kernel boot under TCG).
pub const FAST_BOOT: &str = "quiet loglevel=3 mitigations=off tsc=reliable no_timer_check \
i8042.noaux i8042.nokbd i8042.nopnp nokaslr cryptomgr.notests";
/// Default TCP port of the agent inside the guest (PyCOO's port).
pub const AGENT_PORT: u16 = 8000;

/// What the guest init needs to know, carried on the kernel command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestConfig {
    /// Management address and prefix length (`coo.mgmt=198.19.255.10/16`); `None` = DHCP.
    pub mgmt: Option<(Ipv4Addr, u8)>,
    /// MAC of the management NIC (`coo.mgmt_mac=`); `None` = NICs by PCI order.
    pub mgmt_mac: Option<MacAddr>,
    /// MACs of the data NICs in PyCOO order (`coo.data=mac,mac,...`); unused without
    /// `mgmt_mac` (then every non-management NIC is a data NIC).
    pub data_macs: Vec<MacAddr>,
    /// Engine for the agent (`coo.engine=`): coo-click, click, kernel-forward, or a path.
    pub engine: String,
    /// Agent TCP port (`coo.port=`).
    pub port: u16,
    /// Probe mode (`coo.probe=1`): print [`PROBE_MARKER`] and power off.
    pub probe: bool,
    /// SHA-256 (hex) of the agent's bearer token (`coo.token_sha256=`); the guest init hands
    /// it to the agent in its environment. Without it (a disk image's fixed command line) the
    /// agent runs `--insecure`: open to the management bridge.
    pub token_sha256: Option<String>,
}

/// A command line the guest init cannot use.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CmdlineError {
    #[error("kernel command line lacks {0}")]
    Missing(&'static str),
    #[error("bad value for {key}: {value:?}")]
    BadValue { key: &'static str, value: String },
}

impl GuestConfig {
    /// Kernel command line: console on ttyS0, reboot (= VM exit) on panic, boot-speed options,
    /// our `coo.*` keys.
    pub fn to_cmdline(&self) -> String {
        let mut s = format!("console=ttyS0 panic=-1 {FAST_BOOT}");
        match self.mgmt {
            Some((ip, len)) => s.push_str(&format!(" coo.mgmt={ip}/{len}")),
            None => s.push_str(" coo.mgmt=dhcp"),
        }
        if let Some(mac) = self.mgmt_mac {
            s.push_str(&format!(" coo.mgmt_mac={mac}"));
        }
        if !self.data_macs.is_empty() {
            let macs: Vec<String> = self.data_macs.iter().map(|m| m.to_string()).collect();
            s.push_str(&format!(" coo.data={}", macs.join(",")));
        }
        s.push_str(&format!(" coo.engine={}", self.engine));
        s.push_str(&format!(" coo.port={}", self.port));
        if self.probe {
            s.push_str(" coo.probe=1");
        }
        if let Some(d) = &self.token_sha256 {
            s.push_str(&format!(" coo.token_sha256={d}"));
        }
        s
    }

    /// Parses `/proc/cmdline`; unknown keys are ignored (the kernel's own).
    pub fn from_cmdline(cmdline: &str) -> Result<Self, CmdlineError> {
        let get = |key: &str| {
            cmdline
                .split_whitespace()
                .filter_map(|w| w.strip_prefix(key)?.strip_prefix('='))
                .next_back()
        };
        let mgmt = match get("coo.mgmt").ok_or(CmdlineError::Missing("coo.mgmt"))? {
            "dhcp" => None,
            v => Some(parse_cidr(v).ok_or_else(|| CmdlineError::BadValue {
                key: "coo.mgmt",
                value: v.to_string(),
            })?),
        };
        let mac_of = |key: &'static str, v: &str| {
            v.parse::<MacAddr>().map_err(|_| CmdlineError::BadValue {
                key,
                value: v.to_string(),
            })
        };
        let mgmt_mac = get("coo.mgmt_mac")
            .map(|v| mac_of("coo.mgmt_mac", v))
            .transpose()?;
        let data_macs = match get("coo.data") {
            None | Some("") => Vec::new(),
            Some(v) => v
                .split(',')
                .map(|m| mac_of("coo.data", m))
                .collect::<Result<_, _>>()?,
        };
        let engine = get("coo.engine").unwrap_or("coo-click").to_string();
        let port = match get("coo.port") {
            None => AGENT_PORT,
            Some(v) => v.parse().map_err(|_| CmdlineError::BadValue {
                key: "coo.port",
                value: v.to_string(),
            })?,
        };
        let probe = get("coo.probe") == Some("1");
        let token_sha256 = match get("coo.token_sha256") {
            None => None,
            Some(v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(v.to_owned())
            }
            Some(v) => {
                return Err(CmdlineError::BadValue {
                    key: "coo.token_sha256",
                    value: v.to_string(),
                })
            }
        };
        Ok(GuestConfig {
            mgmt,
            mgmt_mac,
            data_macs,
            engine,
            port,
            probe,
            token_sha256,
        })
    }
}

/// The fixed command line of our guest packaged as a disk image (`image build --disk`):
/// management address by DHCP, NICs by PCI order, default engine and port.
pub fn disk_cmdline() -> String {
    format!("console=ttyS0 panic=-1 {FAST_BOOT} coo.mgmt=dhcp")
}

/// `a.b.c.d/len` with len ≤ 32.
pub fn parse_cidr(v: &str) -> Option<(Ipv4Addr, u8)> {
    let (ip, len) = v.split_once('/')?;
    let len: u8 = len.parse().ok()?;
    (len <= 32).then_some(())?;
    Some((ip.parse().ok()?, len))
}

/// Netmask for a prefix length.
pub fn netmask(len: u8) -> Ipv4Addr {
    let bits = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    };
    Ipv4Addr::from(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> GuestConfig {
        GuestConfig {
            mgmt: Some((Ipv4Addr::new(198, 19, 255, 10), 16)),
            mgmt_mac: Some("52:54:00:00:00:01".parse().unwrap()),
            data_macs: vec![
                "52:54:00:00:00:02".parse().unwrap(),
                "52:54:00:00:00:03".parse().unwrap(),
            ],
            engine: "coo-click".into(),
            port: 8000,
            probe: false,
            token_sha256: Some("ab".repeat(32)),
        }
    }

    #[test]
    fn round_trip() {
        let c = cfg();
        let line = c.to_cmdline();
        assert!(line.starts_with("console=ttyS0 panic=-1"));
        assert!(line.contains("coo.mgmt=198.19.255.10/16"));
        assert!(line.contains("coo.data=52:54:00:00:00:02,52:54:00:00:00:03"));
        assert_eq!(GuestConfig::from_cmdline(&line).unwrap(), c);
        let mut d = c.clone();
        d.mgmt = None;
        d.data_macs.clear();
        d.probe = true;
        assert_eq!(GuestConfig::from_cmdline(&d.to_cmdline()).unwrap(), d);
    }

    #[test]
    fn dhcp_mode_without_macs_means_pci_order() {
        let g = GuestConfig::from_cmdline(&disk_cmdline()).unwrap();
        assert_eq!(g.mgmt, None);
        assert_eq!(g.mgmt_mac, None);
        assert!(g.data_macs.is_empty());
        assert_eq!(
            (g.engine.as_str(), g.port, g.probe),
            ("coo-click", 8000, false)
        );
        assert!(!disk_cmdline().contains("coo.mgmt_mac"));
        // Round trip keeps the absence.
        assert_eq!(GuestConfig::from_cmdline(&g.to_cmdline()).unwrap(), g);
        assert!(matches!(
            GuestConfig::from_cmdline("coo.mgmt=dhcp coo.mgmt_mac=zz"),
            Err(CmdlineError::BadValue {
                key: "coo.mgmt_mac",
                ..
            })
        ));
        // A disk image's command line has no token digest (its agent runs --insecure).
        assert_eq!(g.token_sha256, None);
        assert!(matches!(
            GuestConfig::from_cmdline("coo.mgmt=dhcp coo.token_sha256=not-hex"),
            Err(CmdlineError::BadValue {
                key: "coo.token_sha256",
                ..
            })
        ));
    }

    #[test]
    fn errors_are_named() {
        assert_eq!(
            GuestConfig::from_cmdline("console=ttyS0"),
            Err(CmdlineError::Missing("coo.mgmt"))
        );
        assert!(matches!(
            GuestConfig::from_cmdline("coo.mgmt=1.2.3.4/40 coo.mgmt_mac=52:54:00:00:00:01"),
            Err(CmdlineError::BadValue {
                key: "coo.mgmt",
                ..
            })
        ));
        assert!(matches!(
            GuestConfig::from_cmdline("coo.mgmt=dhcp coo.mgmt_mac=52:54:00:00:00:01 coo.data=x"),
            Err(CmdlineError::BadValue {
                key: "coo.data",
                ..
            })
        ));
    }

    #[test]
    fn netmasks() {
        assert_eq!(netmask(16), Ipv4Addr::new(255, 255, 0, 0));
        assert_eq!(netmask(0), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(netmask(32), Ipv4Addr::new(255, 255, 255, 255));
        assert_eq!(netmask(15), Ipv4Addr::new(255, 254, 0, 0));
    }
}
