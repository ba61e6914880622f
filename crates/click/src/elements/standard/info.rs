//! Configuration-only classes (AddressInfo, PortInfo, ScheduleInfo, ...; AddressInfo's table is
//! read by the router before configuring) and RandomSeed.

use crate::args::{self, AddressInfo};
use crate::element::{ConfigureCx, Element};
use crate::element_class;

/// Parse `AddressInfo(name addr/prefix eth ..., ...)` into `ai`.
pub fn parse_address_info(conf: &str, ai: &mut AddressInfo) -> Result<(), String> {
    for a in args::split_args(conf) {
        let words = args::split_words(&a);
        let Some((name, vals)) = words.split_first() else {
            continue;
        };
        if vals.is_empty() {
            return Err(format!("expected 'NAME [ADDRS]', got '{a}'"));
        }
        for v in vals {
            if let Some(e) = args::parse_eth(v, &AddressInfo::default()) {
                ai.eth.insert(name.clone(), e);
            } else if let Some((ip, len)) = v.split_once('/').and_then(|(ip, l)| {
                let ip = args::parse_ip(ip, &AddressInfo::default())?;
                let len = l.parse::<u8>().ok().or_else(|| {
                    args::parse_ip(l, &AddressInfo::default()).and_then(args::mask_to_len)
                })?;
                Some((ip, len))
            }) {
                ai.ip.insert(name.clone(), (ip, Some(len)));
            } else if let Some(ip) = args::parse_ip(v, &AddressInfo::default()) {
                ai.ip.insert(name.clone(), (ip, None));
            } else if v.contains(':') {
                // IPv6 addresses are accepted but not used by the IPv4 elements.
            } else {
                return Err(format!("bad address '{v}' for '{name}'"));
            }
        }
    }
    Ok(())
}

/// Elements with no ports that only carry configuration (AddressInfo, ...).
pub struct Info(pub &'static str);
impl Element for Info {
    element_class!(self => class: self.0);
    fn configure(&mut self, _conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        Ok(())
    }
}

/// RandomSeed([SEED]): seeds Click's random generator (from the clock when no seed is given).
#[derive(Default)]
pub struct RandomSeed;
impl Element for RandomSeed {
    element_class!(class: "RandomSeed");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let a = args::split_args(conf);
        let seed = a.iter().find_map(|x| match args::split_keyword(x) {
            Some(("SEED", v)) => Some(v.to_string()),
            Some(_) => None,
            None => Some(x.clone()),
        });
        if let Some(s) = seed {
            let v = args::parse_u64(s.trim()).ok_or("SEED: expected unsigned integer")?;
            crate::random::srandom(v as u32);
        }
        Ok(())
    }
}
