//! The paint annotation: Paint, CheckPaint, PaintSwitch, PaintTee.

use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::elements::shared::classify_out;
use crate::elements::{parse_u64_h, split_batch};
use crate::packet::PacketBatch;
use crate::{element_class, simple_push_pull};

/// Paint(COLOR [, ANNO]).
#[derive(Default)]
pub struct Paint {
    color: u8,
    anno: usize,
}
impl Paint {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        let off = self.anno;
        for p in batch.iter_mut() {
            p.anno[off] = self.color;
        }
    }
}
fn parse_anno(b: &args::Bound) -> Result<usize, String> {
    match b.str("ANNO") {
        None => Ok(crate::packet::PAINT_ANNO_OFFSET),
        Some(s) => match s.trim() {
            "PAINT" => Ok(crate::packet::PAINT_ANNO_OFFSET),
            s => args::parse_u64(s)
                .map(|v| v as usize)
                .filter(|v| *v < crate::packet::ANNO_SIZE)
                .ok_or_else(|| "ANNO: bad annotation".to_string()),
        },
    }
}
impl Element for Paint {
    element_class!(class: "Paint", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("COLOR", Kind::Mp), ("ANNO", Kind::P)])?;
        self.color = b.u64("COLOR")?.unwrap_or(0) as u8;
        self.anno = parse_anno(&b)?;
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("color")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "color").then(|| Ok(self.color.to_string()))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "color").then(|| parse_u64_h(v).map(|c| self.color = c as u8))
    }
}

/// CheckPaint(COLOR): painted packets → out0, others → out1 (or dropped).
#[derive(Default)]
pub struct CheckPaint {
    color: u8,
    anno: usize,
}
impl Element for CheckPaint {
    element_class!(class: "CheckPaint", ports: "1/1-2", processing: "h");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("COLOR", Kind::Mp), ("ANNO", Kind::P)])?;
        self.color = b.u64("COLOR")?.unwrap_or(0) as u8;
        self.anno = parse_anno(&b)?;
        Ok(())
    }
    fn push(&mut self, _port: usize, mut batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let (c, off) = (self.color, self.anno);
        let bad = split_batch(&mut batch, |p| p.anno[off] == c);
        ctx.output(0, batch);
        ctx.output(1, bad);
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("color")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "color").then(|| Ok(self.color.to_string()))
    }
}

/// PaintSwitch([ANNO]): output = paint value.
#[derive(Default)]
pub struct PaintSwitch {
    anno: usize,
    n: usize,
}
impl Element for PaintSwitch {
    element_class!(class: "PaintSwitch", ports: "1/-", processing: "h");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("ANNO", Kind::P)])?;
        self.anno = parse_anno(&b)?;
        self.n = cx.noutputs;
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let off = self.anno;
        classify_out(batch, self.n, ctx, |p| p.anno[off] as usize);
    }
}

/// PaintTee(COLOR [, ANNO]): copies packets painted COLOR to output 1; all go to output 0.
#[derive(Default)]
pub struct PaintTee {
    color: u8,
    anno: usize,
}

impl PaintTee {
    fn copies(&self, batch: &PacketBatch) -> PacketBatch {
        batch
            .iter()
            .filter(|p| p.anno[self.anno] == self.color)
            .cloned()
            .collect()
    }
}

impl Element for PaintTee {
    element_class!(class: "PaintTee", ports: "1/2", processing: "a/ah");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("COLOR", Kind::Mp), ("ANNO", Kind::P)])?;
        self.color =
            u8::try_from(b.u64("COLOR")?.unwrap_or(0)).map_err(|_| "COLOR: out of range")?;
        self.anno = match b.str("ANNO").map(str::trim) {
            None | Some("PAINT") => crate::packet::PAINT_ANNO_OFFSET,
            Some(s) => crate::args::parse_u64(s)
                .map(|v| v as usize)
                .filter(|&v| v < crate::packet::ANNO_SIZE)
                .ok_or("ANNO: bad annotation")?,
        };
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let c = self.copies(&batch);
        ctx.output(1, c);
        ctx.output(0, batch);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let b = ctx.pull(0, max);
        let c = self.copies(&b);
        ctx.output(1, c);
        b
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("color")]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "color").then(|| Ok(self.color.to_string()))
    }
    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "color").then(|| {
            parse_u64_h(value)
                .and_then(|v| u8::try_from(v).map_err(|_| "out of range".to_string()))
                .map(|v| self.color = v)
        })
    }
}

// ---------------------------------------------------------------- CheckLength
