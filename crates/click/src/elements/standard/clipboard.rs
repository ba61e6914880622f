//! Clipboard(OFFSET/LENGTH, ...): copies byte ranges of packets on input 0 and pastes them
//! into packets on input 1.

use crate::element::{ConfigureCx, Ctx, Element};
use crate::packet::PacketBatch;
use crate::{element_class, Packet};

/// See the module docs. Input `i` flows to output `i`.
#[derive(Default)]
pub struct Clipboard {
    ranges: Vec<(usize, usize)>,
    clip: Vec<u8>,
    min_len: usize,
}

impl Clipboard {
    fn copy(&mut self, p: &Packet) {
        let d = p.data();
        let mut at = 0;
        for &(off, len) in &self.ranges {
            // A short packet leaves the rest of its range unchanged.
            let avail = d.len().saturating_sub(off).min(len);
            if avail > 0 {
                self.clip[at..at + avail].copy_from_slice(&d[off..off + avail]);
            }
            at += len;
        }
    }
    fn paste(&self, p: &mut Packet) {
        if p.len() < self.min_len {
            return;
        }
        let d = p.data_mut();
        let mut at = 0;
        for &(off, len) in &self.ranges {
            d[off..off + len].copy_from_slice(&self.clip[at..at + len]);
            at += len;
        }
    }
    fn process(&mut self, port: usize, batch: &mut PacketBatch) {
        for p in batch.iter_mut() {
            if port == 0 {
                self.copy(p);
            } else {
                self.paste(p);
            }
        }
    }
}

impl Element for Clipboard {
    element_class!(class: "Clipboard", ports: "2/2", flow: "#/#");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        for (i, a) in crate::args::split_args(conf).iter().enumerate() {
            let (o, l) = a
                .split_once('/')
                .filter(|(o, l)| !o.is_empty() && !l.is_empty())
                .ok_or_else(|| format!("range {i}: expected '/' between offset and length"))?;
            let (Some(o), Some(l)) = (crate::args::parse_u64(o), crate::args::parse_u64(l)) else {
                return Err(format!("range {i}: invalid offset or length"));
            };
            let (o, l) = (o as usize, l as usize);
            self.ranges.push((o, l));
            self.min_len = self.min_len.max(o + l);
        }
        self.clip = vec![0; self.ranges.iter().map(|r| r.1).sum()];
        Ok(())
    }
    fn push(&mut self, port: usize, mut batch: PacketBatch, ctx: &mut Ctx<'_>) {
        self.process(port, &mut batch);
        ctx.output(port, batch);
    }
    fn pull(&mut self, port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let mut b = ctx.pull(port, max);
        self.process(port, &mut b);
        b
    }
}
