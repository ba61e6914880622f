//! Rewrites PyCOO's DPDK I/O elements for an external Click engine that has no DPDK:
//! `FromDPDKDevice(N, ...)` → `FromDevice(IFN)` and `ToDPDKDevice(N, ...)` → `ToDevice(IFN)`,
//! where IFN is the N-th data interface in PyCOO order. DPDK-only keyword arguments are
//! dropped because FromDevice/ToDevice would reject them. ToDevice pulls while
//! ToDPDKDevice is pushed to, so the rewrite is `Queue -> ToDevice(IFN)` (valid both in a
//! connection chain and in a declaration `out :: Queue -> ToDevice(IFN)`).

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

const ELEMENTS: [(&str, &str); 2] = [
    ("FromDPDKDevice", "FromDevice"),
    ("ToDPDKDevice", "ToDevice"),
];

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'@' || b == b'/'
}

/// Rewrites `config` for the given interfaces.
pub fn rewrite_dpdk(config: &str, interfaces: &[String]) -> Result<String, RewriteError> {
    let bytes = config.as_bytes();
    let mut out = String::with_capacity(config.len());
    let mut i = 0;
    'outer: while i < bytes.len() {
        for (from, to) in ELEMENTS {
            if !config[i..].starts_with(from) || (i > 0 && is_ident(bytes[i - 1])) {
                continue;
            }
            let after = i + from.len();
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
            if depth != 0 {
                return Err(RewriteError::Unbalanced { element: from });
            }
            let args = &config[args_start..k - 1];
            let first = args.split(',').next().unwrap_or("").trim();
            let port: usize = first.parse().map_err(|_| RewriteError::BadPort {
                element: from,
                arg: first.to_owned(),
            })?;
            let ifname = interfaces.get(port).ok_or(RewriteError::PortOutOfRange {
                element: from,
                port,
                count: interfaces.len(),
            })?;
            // DPDK's ToDPDKDevice takes pushed packets; ToDevice pulls, so a Queue goes between.
            if to == "ToDevice" {
                out.push_str("Queue -> ");
            }
            out.push_str(to);
            out.push('(');
            out.push_str(ifname);
            out.push(')');
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
            "FromDevice(veth0) -> Queue -> ToDevice(veth1);\nFromDevice(veth1)->Queue -> ToDevice(veth0);"
        );
    }

    #[test]
    fn declarations_and_keywords() {
        let c = "in :: FromDPDKDevice (1, BURST 32, N_QUEUES 1); out::ToDPDKDevice(0)";
        assert_eq!(
            rewrite_dpdk(c, &ifs()).unwrap(),
            "in :: FromDevice(veth1); out::Queue -> ToDevice(veth0)"
        );
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
