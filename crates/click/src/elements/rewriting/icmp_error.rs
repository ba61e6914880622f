//! ICMPRewriter: rewrites ICMP errors (unreachable, time exceeded, ...) about flows that other
//! rewriters mapped, so the error reaches the flow's original end with its original addresses
//! (Click's elements/icmp/icmprewriter).

use super::napt::{ident_plus1, Rewriter};
use super::spec::FlowId;
use super::table::FlowTable;
use crate::args;
use crate::element::{ConfigureCx, Ctx, Element};
use crate::element_class;
use crate::elements::ip::update_checksum;
use crate::packet::{Packet, PacketBatch};
use netwire::checksum::checksum;
use std::cell::RefCell;
use std::rc::Rc;

/// A rewriter whose mappings are consulted, with its output offset (None: output 0).
struct MapRef {
    name: String,
    offset: Option<usize>,
    rw: Option<RewriterView>,
}

/// What ICMPRewriter needs of a rewriter: its per-protocol tables.
struct RewriterView {
    maps: Vec<(u8, Rc<RefCell<FlowTable>>, u32)>,
}

/// ICMPRewriter(MAPS, [DST_ANNO, REPLY_ANNO]).
#[derive(Default)]
pub struct ICMPRewriter {
    maps: Vec<MapRef>,
    dst_anno: bool,
    reply_anno: Option<usize>,
}

impl ICMPRewriter {
    /// The output for one packet (None: drop), rewriting it in place.
    fn handle(&self, p: &mut Packet) -> Option<usize> {
        let ip = p.network_header()?;
        if ip.len() < 20 || ip[9] != 1 {
            return None;
        }
        let hl = ((ip[0] & 0xf) as usize) * 4;
        let icmp = ip.get(hl..)?;
        if !matches!(icmp.first()?, 3 | 11 | 12 | 4 | 5) || icmp.len() < 8 + 20 {
            return None;
        }
        let e = &icmp[8..];
        let ehl = ((e[0] & 0xf) as usize) * 4;
        if e[0] >> 4 != 4 || ehl < 20 {
            return None;
        }
        let ep = e[9];
        let esrc = u32::from_be_bytes([e[12], e[13], e[14], e[15]]);
        let edst = u32::from_be_bytes([e[16], e[17], e[18], e[19]]);
        let efirst = u16::from_be_bytes([e[6], e[7]]) & 0x1fff == 0;
        let et = e.get(ehl..).unwrap_or(&[]);
        let mut search = FlowId {
            saddr: edst,
            sport: 0,
            daddr: esrc,
            dport: 0,
        };
        let mut use_transport = false;
        if matches!(ep, 6 | 17 | 33) && et.len() >= 8 && efirst {
            search.sport = u16::from_be_bytes([et[2], et[3]]);
            search.dport = u16::from_be_bytes([et[0], et[1]]);
            use_transport = true;
        } else if ep == 1 && et.len() >= 6 && efirst && et[0] == 8 {
            search.sport = u16::from_be_bytes([et[4], et[5]]);
            use_transport = true;
        }
        let mut found = None;
        for m in &self.maps {
            let Some(view) = m.rw.as_ref() else { continue };
            for (proto, table, map) in &view.maps {
                if *proto != ep {
                    continue;
                }
                let key = if *proto == 1 {
                    // ICMPPingRewriter keys a reply on (ident + 1, ident).
                    FlowId {
                        sport: ident_plus1(search.sport),
                        dport: search.sport,
                        ..search
                    }
                } else {
                    search
                };
                let t = table.borrow();
                let Some((i, dir)) = t.lookup(*map, &key) else {
                    continue;
                };
                let Some(f) = t.flow(i) else { continue };
                if f.ip_p != 0 && f.ip_p != ep {
                    continue;
                }
                found = Some((
                    f.rewritten(dir),
                    dir,
                    f.reply_anno,
                    m.offset.map(|o| o + f.outs[usize::from(dir)]),
                ));
                break;
            }
            if found.is_some() {
                break;
            }
        }
        let (new, dir, anno, out) = found?;
        if dir {
            if let Some(off) = self.reply_anno {
                p.anno[off] = anno;
            }
        }
        let ip = p.network_header_mut()?;
        let words = |a: u32| [(a >> 16) as u16, a as u16];
        let odst = u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]);
        let set_dst = odst == search.daddr;
        if set_dst {
            ip[16..20].copy_from_slice(&new.daddr.to_be_bytes());
            for (o, n) in words(odst).into_iter().zip(words(new.daddr)) {
                update_checksum(&mut ip[10..12], o, n);
            }
        }
        let e = &mut ip[hl + 8..];
        let mut changed: Vec<(u16, u16)> = Vec::new();
        for (o, n) in words(esrc)
            .into_iter()
            .zip(words(new.daddr))
            .chain(words(edst).into_iter().zip(words(new.saddr)))
        {
            changed.push((o, n));
        }
        e[12..16].copy_from_slice(&new.daddr.to_be_bytes());
        e[16..20].copy_from_slice(&new.saddr.to_be_bytes());
        for (o, n) in &changed {
            update_checksum(&mut e[10..12], *o, *n);
        }
        if use_transport {
            let t = &mut e[ehl..];
            if matches!(ep, 6 | 17 | 33) {
                changed.push((u16::from_be_bytes([t[0], t[1]]), new.dport));
                changed.push((u16::from_be_bytes([t[2], t[3]]), new.sport));
                t[0..2].copy_from_slice(&new.dport.to_be_bytes());
                t[2..4].copy_from_slice(&new.sport.to_be_bytes());
                let csum = if ep == 6 && t.len() >= 18 {
                    Some(16)
                } else if ep == 17 && (t[6] != 0 || t[7] != 0) {
                    Some(6)
                } else {
                    None
                };
                if let Some(c) = csum {
                    for (o, n) in &changed {
                        update_checksum(&mut t[c..c + 2], *o, *n);
                    }
                }
            } else {
                let old = u16::from_be_bytes([t[4], t[5]]);
                t[4..6].copy_from_slice(&new.dport.to_be_bytes());
                update_checksum(&mut t[2..4], old, new.dport);
            }
        }
        // The outer ICMP checksum covers everything changed inside.
        let icmp = &mut ip[hl..];
        icmp[2] = 0;
        icmp[3] = 0;
        let c = checksum(icmp);
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        if set_dst && self.dst_anno {
            p.set_dst_ip_anno(new.daddr.to_be_bytes());
        }
        Some(out.unwrap_or(0))
    }
}

impl Element for ICMPRewriter {
    element_class!(class: "ICMPRewriter", ports: "1/1-", processing: "h");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        self.dst_anno = true;
        let mut maps = None;
        for a in args::split_args(conf) {
            match args::split_keyword(&a) {
                Some(("MAPS", v)) => maps = Some(v.to_string()),
                Some(("DST_ANNO", v)) => {
                    self.dst_anno = args::parse_bool(v).ok_or("DST_ANNO: expected boolean")?
                }
                Some(("REPLY_ANNO", v)) => {
                    self.reply_anno = Some(match v.trim() {
                        "PAINT" => crate::packet::PAINT_ANNO_OFFSET,
                        s => args::parse_u64(s)
                            .map(|x| x as usize)
                            .filter(|x| *x < crate::packet::ANNO_SIZE)
                            .ok_or("REPLY_ANNO: expected annotation")?,
                    })
                }
                Some((k, _)) => return Err(format!("unknown keyword '{k}'")),
                None if maps.is_none() => maps = Some(a.clone()),
                None => return Err("too many arguments".into()),
            }
        }
        let maps = maps.ok_or("missing MAPS")?;
        let mut errs = Vec::new();
        for w in args::split_words(&maps) {
            let (name, offset) = match w.split_once(':') {
                Some((n, o)) => match o.parse::<usize>() {
                    Ok(o) => (n.to_string(), Some(o)),
                    Err(_) => {
                        errs.push(format!("{w} not an IP rewriter"));
                        continue;
                    }
                },
                None => (w.clone(), None),
            };
            match cx.find_element(&name) {
                Some((full, class, _))
                    if super::napt::Class::ALL.iter().any(|c| c.name() == class) =>
                {
                    self.maps.push(MapRef {
                        name: full.clone(),
                        offset,
                        rw: None,
                    })
                }
                _ => errs.push(format!("{w} not an IP rewriter")),
            }
        }
        if self.maps.is_empty() && errs.is_empty() {
            errs.push("no IP rewriters supplied".into());
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("\n"))
        }
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        for m in &mut self.maps {
            let idx = (0..ctx.element_count())
                .find(|&i| ctx.element_name(i) == Some(m.name.as_str()))
                .ok_or_else(|| format!("{} not an IP rewriter", m.name))?;
            let view = ctx
                .with_element(idx, |e| {
                    e.as_any_mut().downcast_mut::<Rewriter>().map(|r| {
                        let maps = [6u8, 17, 33, 1]
                            .into_iter()
                            .filter_map(|p| r.map_for(p).map(|(t, m)| (p, t, m)))
                            .collect();
                        RewriterView { maps }
                    })
                })
                .flatten()
                .ok_or_else(|| format!("{} not an IP rewriter", m.name))?;
            m.rw = Some(view);
        }
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        for mut p in batch {
            if let Some(o) = self.handle(&mut p) {
                ctx.output(o, vec![p]);
            }
        }
    }
}
