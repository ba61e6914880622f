//! Rewrites PyCOO's DPDK I/O elements for a Click engine without DPDK (reference Click):
//! `FromDPDKDevice(N, ...)` → `FromDevice(IFN, ...)` and `ToDPDKDevice(N, ...)` →
//! `Queue(IQUEUE) -> ToDevice(IFN, ...)`, where IFN is the N-th data interface in PyCOO order.
//!
//! The result is what a Click expert would write for fast AF_PACKET forwarding, so that an
//! engine comparison measures the engines and not Click's conservative defaults (issue #14):
//! - `FromDevice(IFN, METHOD LINUX, SNIFFER false, BURST 32)`: Click's defaults are BURST 1
//!   (one packet per scheduling) and SNIFFER true;
//! - `Queue(1024) -> ToDevice(IFN, BURST 32)`: FastClick's ToDPDKDevice has an internal queue
//!   of 1024 (IQUEUE) and bursts of 32; Click's Queue defaults to 1000 and ToDevice to BURST 1.
//!
//! Parameters the original element gives and the Click element understands are kept (BURST,
//! PROMISC; IQUEUE becomes the Queue's capacity); DPDK-only ones (N_QUEUES, NDESC, …) are
//! dropped, since FromDevice/ToDevice would reject them. ToDevice pulls while ToDPDKDevice is
//! pushed to, hence the Queue (valid both in a connection chain and in a declaration
//! `out :: Queue -> ToDevice(IFN)`).

/// Rewrite failures (reported as a configuration error to the REST caller).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RewriteError {
    #[error("{element}({port}): the VNF has only {count} data interface(s)")]
    PortOutOfRange {
        element: &'static str,
        port: usize,
        count: usize,
    },
    #[error("{element}: first argument {arg:?} is not a port number")]
    BadPort { element: &'static str, arg: String },
    #[error("{element}: unbalanced parentheses")]
    Unbalanced { element: &'static str },
}

/// Burst of both device elements unless the function sets one (FastClick's default).
pub const DEFAULT_BURST: u32 = 32;
/// Capacity of the Queue before ToDevice unless the function sets IQUEUE (FastClick's).
pub const DEFAULT_QUEUE: u32 = 1024;

const FROM: &str = "FromDPDKDevice";
const TO: &str = "ToDPDKDevice";

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'@' || b == b'/'
}

/// Splits a configuration string at top-level commas (outside parentheses and quotes).
fn split_args(args: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<u8>, 0);
    let b = args.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match (quote, b[i]) {
            (Some(_), b'\\') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b[i]),
            (None, b'(') => depth += 1,
            (None, b')') => depth -= 1,
            (None, b',') if depth == 0 => {
                out.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(args[start..].trim());
    out
}

/// `KEYWORD value` → (KEYWORD, value) for an upper-case keyword argument.
fn keyword(arg: &str) -> Option<(&str, &str)> {
    let (k, v) = arg.split_once(char::is_whitespace)?;
    k.bytes()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
        .then_some((k, v.trim()))
}

/// The Click elements replacing one DPDK element with arguments `args` on interface `ifname`.
fn replacement(element: &str, ifname: &str, args: &[&str]) -> String {
    let kw = |name: &str| {
        args.iter()
            .skip(1)
            .filter_map(|a| keyword(a))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let burst = kw("BURST").unwrap_or_else(|| DEFAULT_BURST.to_string());
    if element == FROM {
        let mut s = format!("FromDevice({ifname}, METHOD LINUX, SNIFFER false, BURST {burst}");
        if let Some(p) = kw("PROMISC") {
            s.push_str(&format!(", PROMISC {p}"));
        }
        s.push(')');
        s
    } else {
        let queue = kw("IQUEUE").unwrap_or_else(|| DEFAULT_QUEUE.to_string());
        format!("Queue({queue}) -> ToDevice({ifname}, BURST {burst})")
    }
}

/// Rewrites `config` for the given interfaces.
pub fn rewrite_dpdk(config: &str, interfaces: &[String]) -> Result<String, RewriteError> {
    map_dpdk(config, |name, args| {
        let first = args.first().copied().unwrap_or("");
        let port: usize = first.parse().map_err(|_| RewriteError::BadPort {
            element: name,
            arg: first.to_owned(),
        })?;
        let ifname = interfaces.get(port).ok_or(RewriteError::PortOutOfRange {
            element: name,
            port,
            count: interfaces.len(),
        })?;
        Ok(replacement(name, ifname, args))
    })
}

/// Sets `BURST burst` on every configured FromDPDKDevice/ToDPDKDevice of `config` (replacing
/// the function's own), so every engine runs the burst a topology asks for.
pub fn set_burst(config: &str, burst: u32) -> Result<String, RewriteError> {
    map_dpdk(config, |name, args| {
        let mut kept: Vec<String> = args
            .iter()
            .filter(|a| !a.is_empty() && keyword(a).is_none_or(|(k, _)| k != "BURST"))
            .map(|a| (*a).to_owned())
            .collect();
        kept.push(format!("BURST {burst}"));
        Ok(format!("{name}({})", kept.join(", ")))
    })
}

/// Replaces every configured `FromDPDKDevice(…)`/`ToDPDKDevice(…)` of `config` by what
/// `replace(element, args)` returns; everything else is copied unchanged.
fn map_dpdk(
    config: &str,
    mut replace: impl FnMut(&'static str, &[&str]) -> Result<String, RewriteError>,
) -> Result<String, RewriteError> {
    let bytes = config.as_bytes();
    let mut out = String::with_capacity(config.len() + 64);
    let mut i = 0;
    'outer: while i < bytes.len() {
        for element in [FROM, TO] {
            if !config[i..].starts_with(element) || (i > 0 && is_ident(bytes[i - 1])) {
                continue;
            }
            let after = i + element.len();
            if bytes.get(after).is_some_and(|&b| is_ident(b)) {
                continue;
            }
            // Only a configured element (with parentheses) can carry a port.
            let mut j = after;
            while bytes.get(j).is_some_and(|b| b.is_ascii_whitespace()) {
                j += 1;
            }
            if bytes.get(j) != Some(&b'(') {
                continue;
            }
            let args_start = j + 1;
            let mut depth = 1usize;
            let mut k = args_start;
            while k < bytes.len() && depth > 0 {
                match bytes[k] {
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    _ => {}
                }
                k += 1;
            }
            let name: &'static str = if element == FROM { FROM } else { TO };
            if depth != 0 {
                return Err(RewriteError::Unbalanced { element: name });
            }
            let args = split_args(&config[args_start..k - 1]);
            out.push_str(&replace(name, &args)?);
            i = k;
            continue 'outer;
        }
        let ch = config[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ifs() -> Vec<String> {
        vec!["veth0".into(), "veth1".into()]
    }

    #[test]
    fn forward_function() {
        let c = "FromDPDKDevice(0) -> ToDPDKDevice(1);\nFromDPDKDevice(1)->ToDPDKDevice(0);";
        assert_eq!(
            rewrite_dpdk(c, &ifs()).unwrap(),
            "FromDevice(veth0, METHOD LINUX, SNIFFER false, BURST 32) -> Queue(1024) -> ToDevice(veth1, BURST 32);\n\
             FromDevice(veth1, METHOD LINUX, SNIFFER false, BURST 32)->Queue(1024) -> ToDevice(veth0, BURST 32);"
        );
    }

    #[test]
    fn declarations_and_keywords() {
        // The function's own BURST, PROMISC and IQUEUE are kept; DPDK-only keywords dropped.
        let c = "in :: FromDPDKDevice (1, BURST 8, N_QUEUES 1, PROMISC true); out::ToDPDKDevice(0, IQUEUE 256, BLOCKING true, BURST 4)";
        assert_eq!(
            rewrite_dpdk(c, &ifs()).unwrap(),
            "in :: FromDevice(veth1, METHOD LINUX, SNIFFER false, BURST 8, PROMISC true); \
             out::Queue(256) -> ToDevice(veth0, BURST 4)"
        );
    }

    #[test]
    fn burst_is_set_on_every_device_element() {
        let c = "in :: FromDPDKDevice(1, BURST 8, PROMISC true) -> ToDPDKDevice(0);";
        let set = set_burst(c, 64).unwrap();
        assert_eq!(
            set,
            "in :: FromDPDKDevice(1, PROMISC true, BURST 64) -> ToDPDKDevice(0, BURST 64);"
        );
        // The reference-Click rewrite then carries it through.
        let click = rewrite_dpdk(&set, &ifs()).unwrap();
        assert!(
            click.contains("SNIFFER false, BURST 64, PROMISC true)"),
            "{click}"
        );
        assert!(click.contains("ToDevice(veth0, BURST 64)"), "{click}");
    }

    #[test]
    fn other_text_untouched() {
        let c = "// é FromDPDKDeviceX(0)\nMyFromDPDKDevice(3) -> Discard;";
        assert_eq!(rewrite_dpdk(c, &ifs()).unwrap(), c);
    }

    #[test]
    fn errors() {
        assert_eq!(
            rewrite_dpdk("FromDPDKDevice(2) -> Discard", &ifs()),
            Err(RewriteError::PortOutOfRange {
                element: "FromDPDKDevice",
                port: 2,
                count: 2
            })
        );
        assert!(matches!(
            rewrite_dpdk("ToDPDKDevice(eth0)", &ifs()),
            Err(RewriteError::BadPort { .. })
        ));
        assert!(matches!(
            rewrite_dpdk("ToDPDKDevice(0", &ifs()),
            Err(RewriteError::Unbalanced { .. })
        ));
    }
}
