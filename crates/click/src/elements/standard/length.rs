//! Elements that change or check a packet's length: Strip/Unstrip, Truncate, Pad, Resize,
//! CheckLength.

use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::elements::parse_u64_h;
use crate::packet::{Packet, PacketBatch, EXTRA_LENGTH_ANNO_OFFSET};
use crate::{element_class, simple_push_pull};

/// Strip(N) / Unstrip(N).
pub struct Strip {
    pub(crate) n: usize,
    pub(crate) unstrip: bool,
}
impl Strip {
    #[inline]
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        if self.unstrip {
            for p in batch.iter_mut() {
                p.push(self.n);
            }
        } else {
            for p in batch.iter_mut() {
                p.pull(self.n);
            }
        }
    }
}
impl Element for Strip {
    element_class!(self => class: if self.unstrip { "Unstrip" } else { "Strip" }, ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("LENGTH", Kind::Mp)])?;
        self.n = b.u64("LENGTH")?.unwrap_or(0) as usize;
        Ok(())
    }
    simple_push_pull!();
}

/// Truncate(LENGTH).
#[derive(Default)]
pub struct Truncate {
    n: usize,
    /// EXTRA_LENGTH: account cut bytes in the extra-length annotation (Click default true).
    extra: bool,
}
impl Truncate {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            if p.len() > self.n {
                if self.extra {
                    let cut = (p.len() - self.n) as u32;
                    let e = p.anno_u32(EXTRA_LENGTH_ANNO_OFFSET);
                    p.set_anno_u32(EXTRA_LENGTH_ANNO_OFFSET, e.saturating_add(cut));
                }
                p.set_len(self.n);
            }
        }
    }
}
impl Element for Truncate {
    element_class!(class: "Truncate", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("LENGTH", Kind::Mp), ("EXTRA_LENGTH", Kind::K)])?;
        self.n = b.u64("LENGTH")?.unwrap_or(0) as usize;
        self.extra = b.bool("EXTRA_LENGTH")?.unwrap_or(true);
        Ok(())
    }
    simple_push_pull!();
}

/// CheckLength(LENGTH): packets longer than LENGTH go to output 1 (or are dropped).
#[derive(Default)]
pub struct CheckLength {
    max: usize,
}

impl CheckLength {
    fn check(&mut self, p: &mut Packet, _ctx: &mut Ctx<'_>) -> bool {
        p.len() <= self.max
    }
}

impl Element for CheckLength {
    element_class!(class: "CheckLength", ports: "1/1-2", processing: "a/ah");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("LENGTH", Kind::Mp)])?;
        self.max = b.u64("LENGTH")?.unwrap_or(0) as usize;
        Ok(())
    }
    crate::extra_filter_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("length")]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "length").then(|| Ok(self.max.to_string()))
    }
    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "length").then(|| parse_u64_h(value).map(|v| self.max = v as usize))
    }
}

// ---------------------------------------------------------------- Pad

/// Pad([LENGTH, ZERO]): extends packets to LENGTH bytes, or by their extra-length annotation.
pub struct Pad {
    len: usize,
    zero: bool,
}

impl Default for Pad {
    fn default() -> Self {
        Pad { len: 0, zero: true }
    }
}

impl Pad {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            let add = if self.len != 0 {
                self.len.saturating_sub(p.len())
            } else {
                p.anno_u32(EXTRA_LENGTH_ANNO_OFFSET) as usize
            };
            // `put` always zero-fills, which also covers ZERO false (any content is allowed).
            if add > 0 && add <= 0xffff {
                p.put(add);
            }
            p.set_anno_u32(EXTRA_LENGTH_ANNO_OFFSET, 0);
        }
    }
}

impl Element for Pad {
    element_class!(class: "Pad", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("LENGTH", Kind::P), ("ZERO", Kind::K)])?;
        self.len = b.u64("LENGTH")?.unwrap_or(0) as usize;
        self.zero = b.bool("ZERO")?.unwrap_or(true);
        Ok(())
    }
    simple_push_pull!();
}

// ---------------------------------------------------------------- SetIPDSCP / MarkIPCE

/// Resize(HEAD, TAIL): add (positive) or remove (negative) bytes at the front and the end.
#[derive(Default)]
pub struct Resize {
    head: i64,
    tail: i64,
}
impl Resize {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            if self.head >= 0 {
                p.push(self.head as usize);
            } else {
                p.pull((self.head.unsigned_abs() as usize).min(p.len()));
            }
            if self.tail >= 0 {
                p.put(self.tail as usize);
            } else {
                p.take((self.tail.unsigned_abs() as usize).min(p.len()));
            }
        }
    }
}
impl Element for Resize {
    element_class!(class: "Resize", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = args::bind(conf, &[("HEAD", args::Kind::P), ("TAIL", args::Kind::P)])?;
        self.head = b.i64("HEAD")?.unwrap_or(0);
        self.tail = b.i64("TAIL")?.unwrap_or(0);
        Ok(())
    }
    simple_push_pull!();
}
