//! Reused batch vectors: a classifier splitting a mixed batch allocates a vector per output,
//! and a sink frees them again; recycling them through a thread-local pool (like packet
//! buffers) keeps `malloc`/`free` out of the per-batch path.

use crate::packet::PacketBatch;
use std::cell::RefCell;

/// Vectors kept at most (per thread).
const POOL_MAX: usize = 256;
/// Larger vectors are freed rather than kept.
const KEEP_CAPACITY: usize = 256;

thread_local! {
    static BATCHES: RefCell<Vec<PacketBatch>> = const { RefCell::new(Vec::new()) };
}

/// An empty batch with room for `n` packets, from the pool when it has one.
#[inline]
pub fn batch_with_capacity(n: usize) -> PacketBatch {
    let pooled = BATCHES.with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.pop()));
    match pooled {
        Some(mut b) => {
            b.reserve(n);
            b
        }
        None => Vec::with_capacity(n),
    }
}

/// Drop the packets of `batch` and keep its vector for [`batch_with_capacity`].
#[inline]
pub fn recycle(mut batch: PacketBatch) {
    crate::packet::drop_all(&mut batch);
    if batch.capacity() == 0 || batch.capacity() > KEEP_CAPACITY {
        return;
    }
    BATCHES.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            if p.len() < POOL_MAX {
                p.push(batch);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::Packet;

    #[test]
    fn recycled_vectors_come_back_empty_with_room() {
        let mut b = batch_with_capacity(8);
        b.push(Packet::from_data(&[1, 2, 3]));
        let ptr = b.as_ptr();
        recycle(b);
        let again = batch_with_capacity(4);
        assert!(again.is_empty());
        assert!(again.capacity() >= 8);
        assert_eq!(again.as_ptr(), ptr, "the same allocation is reused");
        // oversized vectors are not kept
        recycle(Vec::with_capacity(KEEP_CAPACITY + 1));
        assert!(batch_with_capacity(1).capacity() <= KEEP_CAPACITY);
    }
}
