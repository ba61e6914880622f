//! The 9-line VNF header at the top of a Click function (COO `VNFHeader.cc`).
//!
//! Line 1 is `//VNF_HEADER` (trailing spaces allowed); the next 8 lines carry, in this fixed
//! order, VERSION, ID, PROVIDER, NAME, RELEASE_DATE, RELEASE_VERSION, RELEASE_LIFESPAN,
//! DESCRIPTION, each checked against COO's pattern. Any deviation makes the header invalid.

/// The fields COO exposes through `vnf_identification`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VnfHeader {
    pub provider: String,
    pub description: String,
    pub version: String,
    pub id: String,
    pub name: String,
}

fn is_dotted_number(v: &str) -> bool {
    !v.is_empty()
        && v.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_uuid(v: &str) -> bool {
    let groups: Vec<&str> = v.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_alnum_space(v: &str) -> bool {
    v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
}

fn is_digits(v: &str, n: usize) -> bool {
    v.len() == n && v.bytes().all(|b| b.is_ascii_digit())
}

/// `YYYY-MM-DD[ HH-MM[-SS]]`.
fn is_date(v: &str) -> bool {
    let (date, time) = match v.split_once(' ') {
        Some((d, t)) => (d, Some(t)),
        None => (v, None),
    };
    let d: Vec<&str> = date.split('-').collect();
    let date_ok = d.len() == 3 && is_digits(d[0], 4) && is_digits(d[1], 2) && is_digits(d[2], 2);
    let time_ok = match time {
        None => true,
        Some(t) => {
            let p: Vec<&str> = t.split('-').collect();
            (p.len() == 2 || p.len() == 3) && p.iter().all(|x| is_digits(x, 2))
        }
    };
    date_ok && time_ok
}

fn is_description(v: &str) -> bool {
    v.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" .,!/|()".contains(&b))
}

/// Parses the header; `None` when it is missing or does not match COO's rules.
pub fn parse(config: &str) -> Option<VnfHeader> {
    let mut lines = config.lines().map(|l| l.trim_end_matches('\r'));
    let first = lines.next()?;
    if first.trim_end_matches(' ') != "//VNF_HEADER" {
        return None;
    }
    type Check = fn(&str) -> bool;
    let fields: [(&str, Check); 8] = [
        ("//VNF_VERSION:", is_dotted_number),
        ("//VNF_ID:", is_uuid),
        ("//VNF_PROVIDER:", is_alnum_space),
        ("//VNF_NAME:", is_alnum_space),
        ("//VNF_RELEASE_DATE:", is_date),
        ("//VNF_RELEASE_VERSION:", is_dotted_number),
        ("//VNF_RELEASE_LIFESPAN:", is_date),
        ("//VNF_DESCRIPTION:", is_description),
    ];
    let mut values = Vec::with_capacity(8);
    for (prefix, check) in fields {
        let line = lines.next()?;
        let rest = line.strip_prefix(prefix)?;
        let value = rest.trim();
        if !check(value) {
            return None;
        }
        values.push(value.to_owned());
    }
    Some(VnfHeader {
        version: values[0].clone(),
        id: values[1].clone(),
        provider: values[2].clone(),
        name: values[3].clone(),
        description: values[7].clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const GOOD: &str = "//VNF_HEADER\n//VNF_VERSION: 1.0\n//VNF_ID:5ad5c7f4-1b2c-4d3e-8f90-0123456789ab\n//VNF_PROVIDER: UFSM\n//VNF_NAME: Forward\n//VNF_RELEASE_DATE: 2017-04-08 10-30\n//VNF_RELEASE_VERSION: 1.0\n//VNF_RELEASE_LIFESPAN: 2018-04-08\n//VNF_DESCRIPTION: Simple forwarder (two ports)\nFromDPDKDevice(0) -> ToDPDKDevice(1);\n";

    #[test]
    fn valid_header() {
        let h = parse(GOOD).unwrap();
        assert_eq!(h.provider, "UFSM");
        assert_eq!(h.name, "Forward");
        assert_eq!(h.version, "1.0");
        assert_eq!(h.id, "5ad5c7f4-1b2c-4d3e-8f90-0123456789ab");
        assert_eq!(h.description, "Simple forwarder (two ports)");
    }

    #[test]
    fn crlf_and_trailing_spaces() {
        let s = GOOD
            .replace("//VNF_HEADER\n", "//VNF_HEADER  \n")
            .replace('\n', "\r\n");
        assert!(parse(&s).is_some());
    }

    #[test]
    fn invalid_headers() {
        assert!(parse("").is_none());
        assert!(parse("FromDPDKDevice(0) -> Discard;").is_none());
        assert!(parse(&GOOD.replace("UFSM", "U-FSM")).is_none());
        assert!(parse(&GOOD.replace("5ad5c7f4-", "5ad5c7f-")).is_none());
        assert!(parse(&GOOD.replace("2017-04-08 10-30", "2017/04/08")).is_none());
        // Fields out of order.
        assert!(parse(&GOOD.replace("//VNF_VERSION: 1.0\n", "")).is_none());
    }
}
