//! StoreData(OFFSET, DATA): overwrite packet bytes at OFFSET with DATA.

use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element};
use crate::packet::{Packet, PacketBatch};
use crate::{any_impl, simple_push_pull};

/// See the module docs. Like Click, a packet no longer than OFFSET passes unchanged and a
/// shorter one gets only the part of DATA that fits.
#[derive(Default)]
pub struct StoreData {
    offset: usize,
    data: Vec<u8>,
}

impl StoreData {
    fn store(&self, p: &mut Packet) {
        if p.len() <= self.offset {
            return;
        }
        let n = self.data.len().min(p.len() - self.offset);
        p.data_mut()[self.offset..self.offset + n].copy_from_slice(&self.data[..n]);
    }
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            self.store(p);
        }
    }
}

impl Element for StoreData {
    fn class_name(&self) -> &'static str {
        "StoreData"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("OFFSET", Kind::Mp), ("DATA", Kind::Mp)])?;
        self.offset = b.u64("OFFSET")?.ok_or("OFFSET: missing")? as usize;
        self.data = b.data("DATA")?.ok_or("DATA: missing")?;
        Ok(())
    }
    simple_push_pull!();
    any_impl!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(offset: usize, data: &[u8], pkt: &[u8]) -> Vec<u8> {
        let e = StoreData {
            offset,
            data: data.to_vec(),
        };
        let mut p = Packet::from_data(pkt);
        e.store(&mut p);
        p.data().to_vec()
    }

    #[test]
    fn overwrites_inside_and_truncates_at_the_end() {
        assert_eq!(stored(1, &[9, 9], &[0, 1, 2, 3]), vec![0, 9, 9, 3]);
        assert_eq!(stored(3, &[9, 9], &[0, 1, 2, 3]), vec![0, 1, 2, 9]);
        // OFFSET at or past the end: unchanged
        assert_eq!(stored(4, &[9], &[0, 1, 2, 3]), vec![0, 1, 2, 3]);
    }
}
