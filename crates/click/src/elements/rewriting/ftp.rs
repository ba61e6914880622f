//! FTPPortMapper(CONTROL_REWRITER, DATA_REWRITER, DATA_REWRITER_INPUT): rewrites the address
//! and port of FTP `PORT` commands to the mapping the data rewriter makes for the announced
//! data connection, and tells the control rewriter how much the payload length changed so it
//! shifts the connection's sequence numbers (Click's elements/app/ftpportmapper).

use super::napt::{jiffies, Rewriter};
use super::spec::FlowId;
use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element};
use crate::element_class;
use crate::elements::ip::{set_ip_checksum, set_transport_checksum};
use crate::packet::{Packet, PacketBatch};

#[derive(Default)]
pub struct FTPPortMapper {
    control: String,
    data: String,
    data_input: usize,
    control_idx: usize,
    data_idx: usize,
}

/// A parsed `PORT h1,h2,h3,h4,p1,p2` command: where its argument starts and ends in the
/// payload, and the announced address and port.
fn parse_port(payload: &[u8]) -> Option<(usize, usize, u32, u16)> {
    if payload.len() < 5 || !payload[..4].eq_ignore_ascii_case(b"PORT") || payload[4] != b' ' {
        return None;
    }
    let mut pos = 5;
    while pos < payload.len() && payload[pos] == b' ' {
        pos += 1;
    }
    let start = pos;
    let mut nums = [0u32; 6];
    let mut which = 0;
    while pos < payload.len() && which < 6 {
        match payload[pos] {
            c @ b'0'..=b'9' => nums[which] = (nums[which] * 10 + (c - b'0') as u32).min(1000),
            b',' => which += 1,
            _ => break,
        }
        pos += 1;
    }
    if which != 5 || pos >= payload.len() || !matches!(payload[pos], b'\r' | b'\n') {
        return None;
    }
    if nums.iter().any(|n| *n >= 256) {
        return None;
    }
    let addr = nums[0] << 24 | nums[1] << 16 | nums[2] << 8 | nums[3];
    Some((start, pos, addr, (nums[4] << 8 | nums[5]) as u16))
}

impl FTPPortMapper {
    fn rewrite(&self, p: Packet, ctx: &mut Ctx<'_>) -> Packet {
        let Some(ip) = p.network_header() else {
            return p;
        };
        if ip.len() < 40 || ip[9] != 6 {
            return p;
        }
        let hl = (ip[0] & 0xf) as usize * 4;
        let off = ((ip[hl + 12] >> 4) as usize) * 4;
        let Some(payload) = ip.get(hl + off..) else {
            return p;
        };
        let Some((start, end, addr, port)) = parse_port(payload) else {
            return p;
        };
        let word = |o: usize| u32::from_be_bytes([ip[o], ip[o + 1], ip[o + 2], ip[o + 3]]);
        let half = |o: usize| u16::from_be_bytes([ip[o], ip[o + 1]]);
        let control = FlowId {
            saddr: word(12),
            sport: half(hl),
            daddr: word(16),
            dport: half(hl + 2),
        };
        let seq = word(hl + 4);
        let plen = payload.len();
        let now = jiffies(ctx.now());
        let Some(Some((ci, cdir))) = ctx.with_element(self.control_idx, |e| {
            e.as_any_mut()
                .downcast_mut::<Rewriter>()
                .and_then(|r| r.tcp_flow(&control))
        }) else {
            return p;
        };
        let data = FlowId {
            saddr: addr,
            sport: port,
            daddr: control.daddr,
            dport: control.dport.wrapping_sub(1),
        };
        let Some(Some((_, new))) = ctx.with_element(self.data_idx, |e| {
            e.as_any_mut()
                .downcast_mut::<Rewriter>()
                .and_then(|r| r.tcp_mapping(self.data_input, data, now))
        }) else {
            return p;
        };
        let text = format!(
            "{},{},{},{},{},{}",
            new.saddr >> 24,
            (new.saddr >> 16) & 255,
            (new.saddr >> 8) & 255,
            new.saddr & 255,
            new.sport >> 8,
            new.sport & 255
        );
        let nh = p.network_header_offset().unwrap_or(0).max(0) as usize;
        let at = nh + hl + off;
        let mut d = p.data().to_vec();
        d.splice(at + start..at + end, text.bytes());
        let mut q = Packet::make(p.headroom(), &d, 0);
        q.anno = p.anno;
        q.timestamp = p.timestamp;
        if let Some(m) = p.mac_header_offset().filter(|m| *m >= 0) {
            q.set_mac_header(m as usize);
        }
        q.set_network_header(nh, hl);
        if let Some(ip) = q.network_header_mut() {
            let len = (ip.len() as u16).to_be_bytes();
            ip[2..4].copy_from_slice(&len);
            set_ip_checksum(ip);
            set_transport_checksum(ip);
        }
        let delta = text.len() as i32 - (end - start) as i32;
        ctx.with_element(self.control_idx, |e| {
            if let Some(r) = e.as_any_mut().downcast_mut::<Rewriter>() {
                r.with_flow(ci, |f| {
                    f.add_seq_delta(cdir, seq.wrapping_add(plen as u32), delta)
                });
            }
        });
        q
    }
}

impl Element for FTPPortMapper {
    element_class!(class: "FTPPortMapper", ports: "1/1");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("CONTROL_REWRITER", Kind::Mp),
                ("DATA_REWRITER", Kind::Mp),
                ("DATA_REWRITER_INPUT", Kind::Mp),
            ],
        )?;
        let find = |k: &str| -> Result<String, String> {
            let n = b.str(k).unwrap_or("").trim().to_string();
            match cx.find_element(&n) {
                Some((full, class, _))
                    if super::napt::Class::ALL.iter().any(|c| c.name() == class) =>
                {
                    Ok(full.clone())
                }
                _ => Err(format!("{k}: '{n}' is not a TCP rewriter")),
            }
        };
        self.control = find("CONTROL_REWRITER")?;
        self.data = find("DATA_REWRITER")?;
        self.data_input =
            b.u64("DATA_REWRITER_INPUT")?
                .ok_or("missing mandatory DATA_REWRITER_INPUT argument")? as usize;
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let idx = |n: &str| {
            (0..ctx.element_count())
                .find(|&i| ctx.element_name(i) == Some(n))
                .ok_or_else(|| format!("no element '{n}'"))
        };
        self.control_idx = idx(&self.control)?;
        self.data_idx = idx(&self.data)?;
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let out: PacketBatch = batch.into_iter().map(|p| self.rewrite(p, ctx)).collect();
        ctx.output(0, out);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let b = ctx.pull(0, max);
        b.into_iter().map(|p| self.rewrite(p, ctx)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_commands_parse_like_click() {
        assert_eq!(
            parse_port(b"PORT 200,200,200,200,200,200\n"),
            Some((5, 28, 0xC8C8_C8C8, 0xC8C8))
        );
        assert_eq!(
            parse_port(b"port 1,2,3,4,5,6\r\n").map(|x| x.3),
            Some(0x0506)
        );
        assert!(parse_port(b"PORT 1,2,3,4,5\n").is_none());
        assert!(parse_port(b"PORT 1,2,3,4,5,600\n").is_none());
        assert!(parse_port(b"LIST\n").is_none());
    }
}
