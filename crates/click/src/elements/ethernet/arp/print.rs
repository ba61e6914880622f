//! ARPPrint: prints ARP packets tcpdump-style.

use crate::args::{bind, fmt_eth, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::packet::{Packet, PacketBatch};
use crate::simple_push_pull;
use std::io::Write;
use std::net::Ipv4Addr;

/// ARPPrint([LABEL], TIMESTAMP, ETHER, ACTIVE, OUTFILE): prints one line per ARP packet (network
/// header annotation required) to the chatter or to OUTFILE.
pub struct ArpPrint {
    label: String,
    timestamp: bool,
    ether: bool,
    active: bool,
    outfile: Option<String>,
    out: Option<Box<dyn Write>>,
}

impl Default for ArpPrint {
    fn default() -> Self {
        ArpPrint {
            label: String::new(),
            timestamp: true,
            ether: false,
            active: true,
            outfile: None,
            out: None,
        }
    }
}

fn eth_at(b: &[u8], o: usize) -> String {
    let mut e = [0u8; 6];
    if let Some(s) = b.get(o..o + 6) {
        e.copy_from_slice(s);
    }
    fmt_eth(&e)
}

fn ip_at(b: &[u8], o: usize) -> Ipv4Addr {
    match b.get(o..o + 4) {
        Some(s) => Ipv4Addr::new(s[0], s[1], s[2], s[3]),
        None => Ipv4Addr::UNSPECIFIED,
    }
}

impl ArpPrint {
    /// The line for `p`, or None when Click prints nothing.
    fn line(&self, p: &Packet) -> Option<String> {
        let net = p.network_header()?;
        let mut s = crate::elements::ip::print::print_prefix(&self.label, self.timestamp, p);
        if self.ether {
            let noff = p.network_header_offset().unwrap_or(0);
            let moff = p.mac_header_offset().unwrap_or(0);
            if moff + 14 <= noff && moff >= 0 && (moff as usize) + 14 <= p.len() {
                let d = &p.data()[moff as usize..];
                s.push_str(&format!("{} > {}: ", eth_at(d, 6), eth_at(d, 0)));
            }
        }
        if net.len() < 8 {
            s.push_str(&format!("truncated-arp ({})", net.len()));
            return Some(s);
        }
        let hrd = u16::from_be_bytes([net[0], net[1]]);
        let pro = u16::from_be_bytes([net[2], net[3]]);
        let (hln, pln) = (net[4], net[5]);
        let op = u16::from_be_bytes([net[6], net[7]]);
        if (pro != 0x0800 && pro != 0x1000) || pln != 4 || hln == 0 {
            // Click builds this text but never prints it.
            return None;
        }
        // Ethernet/IPv4 layout: sha 8, spa 14, tha 18, tpa 24.
        if pro == 0x1000 {
            s.push_str("trailer-");
        }
        match op {
            1 => {
                s.push_str(&format!("arp who-has {}", ip_at(net, 24)));
                let tha = net.get(18..18 + hln as usize).unwrap_or(&[]);
                if tha.iter().any(|&b| b != 0) {
                    s.push_str(&format!(" ({})", eth_at(net, 18)));
                }
                s.push_str(&format!(" tell {}", ip_at(net, 14)));
            }
            2 => s.push_str(&format!(
                "arp reply {} is-at {}",
                ip_at(net, 14),
                eth_at(net, 8)
            )),
            3 => s.push_str(&format!(
                "rarp who-is {} tell {}",
                eth_at(net, 18),
                eth_at(net, 8)
            )),
            4 => s.push_str(&format!(
                "rarp reply {} at {}",
                eth_at(net, 18),
                ip_at(net, 24)
            )),
            8 => s.push_str(&format!(
                "invarp who-is {} tell {}",
                eth_at(net, 18),
                eth_at(net, 8)
            )),
            9 => s.push_str(&format!(
                "invarp reply {} at {}",
                eth_at(net, 18),
                ip_at(net, 24)
            )),
            op => s.push_str(&format!("arp-#{op}")),
        }
        if hrd != 1 {
            s.push_str(&format!("hardware #{hrd}"));
        }
        Some(s)
    }

    fn process(&mut self, batch: &mut PacketBatch, ctx: &mut Ctx<'_>) {
        if !self.active {
            return;
        }
        for p in batch.iter() {
            let Some(line) = self.line(p) else { continue };
            match self.out.as_mut() {
                Some(w) => {
                    let _ = writeln!(w, "{line}");
                }
                None => ctx.chatter(&line),
            }
        }
    }
}

impl Element for ArpPrint {
    element_class!(class: "ARPPrint", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("LABEL", Kind::P),
                ("TIMESTAMP", Kind::K),
                ("ETHER", Kind::K),
                ("ACTIVE", Kind::K),
                ("OUTFILE", Kind::K),
            ],
        )?;
        self.label = b.string("LABEL")?.unwrap_or_default();
        self.timestamp = b.bool("TIMESTAMP")?.unwrap_or(true);
        self.ether = b.bool("ETHER")?.unwrap_or(false);
        self.active = b.bool("ACTIVE")?.unwrap_or(true);
        self.outfile = b.string("OUTFILE")?;
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        if let Some(f) = &self.outfile {
            let w = ctx.env().create_file(f).map_err(|e| format!("{f}: {e}"))?;
            self.out = Some(w);
        }
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("active")]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "active").then(|| Ok(crate::elements::bool_str(self.active)))
    }
    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "active").then(|| crate::elements::parse_bool_h(value).map(|v| self.active = v))
    }
    fn cleanup(&mut self, _ctx: &mut Ctx<'_>) {
        if let Some(w) = self.out.as_mut() {
            let _ = w.flush();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::elements::shared::test_util::sim_router;
    use crate::MemEnv;

    #[test]
    fn arp_print_lines() {
        let env = MemEnv::default();
        // Same lines as reference Click 2.1 for these packets.
        let conf = "InfiniteSource(DATA \\<ffffffffffff 000102030405 0806 0001 0800 06 04 0001 000102030405 0a000001 000000000000 0a000007>, LIMIT 1, STOP false)
              -> CheckARPHeader(14) -> a :: ARPPrint(req, TIMESTAMP false, ETHER true) -> Discard;
            InfiniteSource(DATA \\<000000000001 000000000002 0806 0006 0800 06 04 0002 000000000002 0a000002 000000000001 0a000001>, LIMIT 1, STOP false)
              -> CheckARPHeader(14) -> ARPPrint(rep, TIMESTAMP false) -> Discard;
            InfiniteSource(DATA \\<0001 0800 06 04 0003 000000000002 0a000002 000000000001 0a000001>, LIMIT 1, STOP true)
              -> CheckARPHeader -> ARPPrint -> Discard;";
        let mut r = sim_router(conf, &env);
        r.run_to_completion(100);
        let ch = env.chatter.borrow().clone();
        assert!(
            ch.contains(
                "req: 00-01-02-03-04-05 > FF-FF-FF-FF-FF-FF: arp who-has 10.0.0.7 tell 10.0.0.1\n"
            ),
            "{ch}"
        );
        assert!(
            ch.contains("rep: arp reply 10.0.0.2 is-at 00-00-00-00-00-02hardware #6\n"),
            "{ch}"
        );
        // TIMESTAMP defaults to true: "<timestamp>: " comes first.
        let rarp = ch.lines().find(|l| l.contains("rarp who-is")).unwrap();
        assert!(
            rarp.ends_with(": rarp who-is 00-00-00-00-00-01 tell 00-00-00-00-00-02"),
            "{rarp}"
        );
        assert!(rarp.starts_with("1000000000."), "{rarp}");
        r.write_handler("a.active", "false").unwrap();
        assert_eq!(r.read_handler("a.active").unwrap(), "false");
    }
}
