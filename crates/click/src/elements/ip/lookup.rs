//! Route lookups: StaticIPLookup, LinearIPLookup, RadixIPLookup, DirectIPLookup, RangeIPLookup
//! (longest prefix match with the table/lookup/add/set/remove/ctrl/flush handlers).

use crate::args::{self};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::elements::shared::classify_out;
use crate::packet::PacketBatch;
use std::net::Ipv4Addr;

#[derive(Clone, Debug)]
struct Route {
    addr: u32,
    mask: u32,
    gw: u32,
    out: usize,
    /// Position in the configuration (LinearIPLookup's `table` lists routes in this order).
    seq: usize,
}

/// StaticIPLookup / LinearIPLookup / RadixIPLookup / DirectIPLookup: longest-prefix match on
/// the destination IP annotation; sets the annotation to the gateway when one is given.
pub struct IPLookup {
    class: &'static str,
    routes: Vec<Route>,
    n: usize,
    // one-entry cache: most traffic in a batch goes to one destination
    cache: Option<(u32, usize)>,
}
impl IPLookup {
    pub(crate) fn new(class: &'static str) -> Self {
        IPLookup {
            class,
            routes: Vec::new(),
            n: 0,
            cache: None,
        }
    }
    fn parse_route(s: &str, cx_addrs: &args::AddressInfo) -> Result<Route, String> {
        let w = args::split_words(s);
        if w.len() < 2 || w.len() > 3 {
            return Err(format!("expected 'ADDR/MASK [GATEWAY] OUTPUT', got '{s}'"));
        }
        // A bare AddressInfo name is its host address (/32), as in Click's route tables.
        let (a, m) = match cx_addrs.ip.get(w[0].as_str()) {
            Some((ip, _)) => (*ip, Ipv4Addr::new(255, 255, 255, 255)),
            None => args::parse_prefix(&w[0], cx_addrs)
                .ok_or_else(|| format!("bad route prefix '{}'", w[0]))?,
        };
        let gw = if w.len() == 3 {
            u32::from(
                args::parse_ip(&w[1], cx_addrs).ok_or_else(|| format!("bad gateway '{}'", w[1]))?,
            )
        } else {
            0
        };
        let out = w[w.len() - 1]
            .parse::<usize>()
            .map_err(|_| format!("bad output '{}'", w[w.len() - 1]))?;
        let (a, m) = (u32::from(a), u32::from(m));
        Ok(Route {
            addr: a & m,
            mask: m,
            gw,
            out,
            seq: 0,
        })
    }
    fn sort(&mut self) {
        // longest prefix first; stable so earlier routes win ties
        self.routes
            .sort_by_key(|r| std::cmp::Reverse(r.mask.count_ones()));
        self.cache = None;
    }
    #[inline]
    fn lookup(&self, dst: u32) -> Option<usize> {
        self.routes.iter().position(|r| dst & r.mask == r.addr)
    }
}
impl Element for IPLookup {
    element_class!(self => class: self.class, ports: "1/-", processing: "h");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        self.n = cx.noutputs;
        let mut errs = Vec::new();
        for a in args::split_args(conf) {
            match Self::parse_route(&a, cx.addrs) {
                Ok(mut r) => {
                    r.seq = self.routes.len();
                    if r.out >= cx.noutputs {
                        errs.push(format!(
                            "route '{a}' references nonexistent output {}",
                            r.out
                        ));
                    }
                    self.routes.push(r)
                }
                Err(e) => errs.push(e),
            }
        }
        self.sort();
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("\n"))
        }
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let mut cache = self.cache;
        classify_out(batch, self.n, ctx, |p| {
            let dst = u32::from_be_bytes(p.dst_ip_anno());
            let ri = match cache {
                Some((d, r)) if d == dst => Some(r),
                _ => {
                    let r = self.lookup(dst);
                    if let Some(r) = r {
                        cache = Some((dst, r));
                    }
                    r
                }
            };
            match ri {
                Some(r) => {
                    let route = &self.routes[r];
                    if route.gw != 0 {
                        p.set_dst_ip_anno(route.gw.to_be_bytes());
                    }
                    route.out
                }
                None => usize::MAX,
            }
        });
        self.cache = cache;
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("table"),
            HandlerSpec::r("lookup"),
            HandlerSpec::w("add"),
            HandlerSpec::w("set"),
            HandlerSpec::w("remove"),
            HandlerSpec::w("ctrl"),
            HandlerSpec::w("flush"),
        ]
    }
    fn read_handler(&mut self, name: &str, param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        match name {
            "table" => {
                let mut s = String::new();
                let mut rs: Vec<&Route> = self.routes.iter().collect();
                if self.class == "LinearIPLookup" {
                    rs.sort_by_key(|r| r.seq);
                }
                for r in rs {
                    let pfx = format!("{}/{}", Ipv4Addr::from(r.addr), r.mask.count_ones());
                    let gw = if r.gw != 0 {
                        Ipv4Addr::from(r.gw).to_string()
                    } else {
                        "-".into()
                    };
                    // Click's IPRoute::unparse: a second tab keeps short columns aligned.
                    let pad = |col: &str, width: usize| {
                        if col.len() + 1 < width {
                            format!("{col}\t\t")
                        } else {
                            format!("{col}\t")
                        }
                    };
                    s.push_str(&format!("{}{}{}\n", pad(&pfx, 17), pad(&gw, 9), r.out));
                }
                Some(Ok(s))
            }
            "lookup" => {
                let Some(a) = args::parse_ip(param, &args::AddressInfo::default()) else {
                    return Some(Err("expected IP address".into()));
                };
                Some(Ok(match self.lookup(u32::from(a)) {
                    Some(r) => {
                        let r = &self.routes[r];
                        if r.gw != 0 {
                            format!("{} {}", r.out, Ipv4Addr::from(r.gw))
                        } else {
                            r.out.to_string()
                        }
                    }
                    None => "-1".into(),
                }))
            }
            _ => None,
        }
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        let ai = args::AddressInfo::default();
        let r = match name {
            "add" | "set" => Self::parse_route(v, &ai).and_then(|mut r| {
                r.seq = self.routes.iter().map(|x| x.seq + 1).max().unwrap_or(0);
                if r.out >= self.n {
                    return Err(format!("output {} out of range", r.out));
                }
                let exists = self
                    .routes
                    .iter()
                    .position(|x| x.addr == r.addr && x.mask == r.mask);
                match (exists, name) {
                    (Some(i), "add") => {
                        let x = &self.routes[i];
                        let gw = if x.gw != 0 {
                            Ipv4Addr::from(x.gw).to_string()
                        } else {
                            "-".into()
                        };
                        return Err(format!(
                            "conflict with existing route '{}/{} {gw} {}'",
                            Ipv4Addr::from(x.addr & x.mask),
                            x.mask.count_ones(),
                            x.out
                        ));
                    }
                    (Some(i), _) => self.routes[i] = r,
                    (None, _) => self.routes.push(r),
                }
                Ok(())
            }),
            "remove" => {
                let w = args::split_words(v);
                match w.first().and_then(|p| args::parse_prefix(p, &ai)) {
                    Some((a, m)) => {
                        let (a, m) = (u32::from(a) & u32::from(m), u32::from(m));
                        let before = self.routes.len();
                        self.routes.retain(|x| !(x.addr == a && x.mask == m));
                        if self.routes.len() == before {
                            Err("route not found".into())
                        } else {
                            Ok(())
                        }
                    }
                    None => Err("bad route".into()),
                }
            }
            "flush" => {
                self.routes.clear();
                Ok(())
            }
            "ctrl" => {
                let mut res = Ok(());
                for line in v.lines() {
                    let (cmd, rest) = line
                        .trim()
                        .split_once(char::is_whitespace)
                        .unwrap_or((line.trim(), ""));
                    let r = self
                        .write_handler(cmd, rest, _ctx)
                        .unwrap_or(Err(format!("bad command '{cmd}'")));
                    if r.is_err() {
                        res = r;
                    }
                }
                res
            }
            _ => return None,
        };
        self.sort();
        Some(r)
    }
}
