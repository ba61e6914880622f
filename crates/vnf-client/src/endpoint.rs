//! Where an agent listens: `tcp:HOST:PORT`, `http://HOST:PORT[/]`, `unix:/path`, or
//! `netns:/run/netns/NAME@HOST:PORT` (TCP reachable only from inside a network namespace, e.g.
//! a VM agent on the management bridge; `netns:NAME@..` means `/run/netns/NAME`).

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::str::FromStr;

/// An agent endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Tcp(SocketAddr),
    Unix(PathBuf),
    /// TCP to `addr`, connected from inside the network namespace at `netns_path` (the socket
    /// is created on a thread that joined it; a socket stays in the namespace it was made in).
    NetnsTcp {
        netns_path: PathBuf,
        addr: SocketAddr,
    },
}

/// Endpoint parse failure.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid endpoint {0:?}: expected tcp:HOST:PORT, http://HOST:PORT, unix:/path or netns:/run/netns/NAME@IP:PORT")]
pub struct BadEndpoint(pub String);

fn resolve(hostport: &str, original: &str) -> Result<SocketAddr, BadEndpoint> {
    if let Ok(a) = hostport.parse() {
        return Ok(a);
    }
    // Host names (e.g. localhost) resolve once, here.
    hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut it| it.next())
        .ok_or_else(|| BadEndpoint(original.to_owned()))
}

impl FromStr for Endpoint {
    type Err = BadEndpoint;
    fn from_str(s: &str) -> Result<Self, BadEndpoint> {
        if let Some(p) = s.strip_prefix("unix:") {
            if p.is_empty() {
                return Err(BadEndpoint(s.to_owned()));
            }
            return Ok(Endpoint::Unix(PathBuf::from(p)));
        }
        if let Some(rest) = s.strip_prefix("netns:") {
            let (ns, hostport) = rest
                .rsplit_once('@')
                .ok_or_else(|| BadEndpoint(s.to_owned()))?;
            if ns.is_empty() {
                return Err(BadEndpoint(s.to_owned()));
            }
            // Only numeric addresses: a name would resolve in the caller's namespace.
            let addr = hostport.parse().map_err(|_| BadEndpoint(s.to_owned()))?;
            let netns_path = if ns.starts_with('/') {
                PathBuf::from(ns)
            } else if ns.contains('/') {
                return Err(BadEndpoint(s.to_owned()));
            } else {
                PathBuf::from("/run/netns").join(ns)
            };
            return Ok(Endpoint::NetnsTcp { netns_path, addr });
        }
        if let Some(a) = s.strip_prefix("tcp:") {
            return resolve(a, s).map(Endpoint::Tcp);
        }
        if let Some(rest) = s.strip_prefix("http://") {
            let hostport = rest.trim_end_matches('/');
            if hostport.contains('/') || hostport.is_empty() {
                return Err(BadEndpoint(s.to_owned()));
            }
            let hostport = if hostport
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            {
                hostport.to_owned()
            } else {
                format!("{hostport}:80")
            };
            return resolve(&hostport, s).map(Endpoint::Tcp);
        }
        Err(BadEndpoint(s.to_owned()))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(a) => write!(f, "tcp:{a}"),
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
            Endpoint::NetnsTcp { netns_path, addr } => {
                write!(f, "netns:{}@{addr}", netns_path.display())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let t: Endpoint = "tcp:127.0.0.1:8000".parse().unwrap();
        assert_eq!(t, Endpoint::Tcp("127.0.0.1:8000".parse().unwrap()));
        assert_eq!(t.to_string(), "tcp:127.0.0.1:8000");
        assert_eq!(
            "http://10.0.0.1:8000/".parse::<Endpoint>().unwrap(),
            Endpoint::Tcp("10.0.0.1:8000".parse().unwrap())
        );
        assert_eq!(
            "http://10.0.0.1".parse::<Endpoint>().unwrap(),
            Endpoint::Tcp("10.0.0.1:80".parse().unwrap())
        );
        assert!(matches!(
            "tcp:localhost:8000".parse::<Endpoint>().unwrap(),
            Endpoint::Tcp(_)
        ));
        assert_eq!(
            "unix:/run/a.sock".parse::<Endpoint>().unwrap(),
            Endpoint::Unix("/run/a.sock".into())
        );
        let n: Endpoint = "netns:/run/netns/cb1a2b-mgmt@198.19.255.10:8000"
            .parse()
            .unwrap();
        assert_eq!(
            n,
            Endpoint::NetnsTcp {
                netns_path: "/run/netns/cb1a2b-mgmt".into(),
                addr: "198.19.255.10:8000".parse().unwrap()
            }
        );
        assert_eq!(
            n.to_string(),
            "netns:/run/netns/cb1a2b-mgmt@198.19.255.10:8000"
        );
        assert_eq!(
            "netns:cb1a2b-mgmt@198.19.255.10:8000"
                .parse::<Endpoint>()
                .unwrap(),
            n
        );
        for bad in [
            "netns:@1.2.3.4:80",
            "netns:/run/netns/x",
            "netns:/run/netns/x@localhost:80",
            "netns:a/b@1.2.3.4:80",
            "",
            "unix:",
            "tcp:1.2.3.4",
            "http://a/b",
            "ftp://x",
            "10.0.0.1:80",
        ] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad}");
        }
    }
}
