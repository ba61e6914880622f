//! TPACKET_V3 receive ring: the kernel fills fixed-size blocks of variable-size frames; we
//! walk a block when the kernel hands it to user space and give it back afterwards.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{os, Result};
use crate::sys::PacketSocket;

const TP_STATUS_USER: u32 = 1;
const TP_STATUS_KERNEL: u32 = 0;
// Offsets inside struct tpacket_block_desc (version, offset_to_priv, then tpacket_hdr_v1).
const BLOCK_STATUS: usize = 8;
const BLOCK_NUM_PKTS: usize = 12;
const BLOCK_FIRST_PKT: usize = 16;
// Offsets inside struct tpacket3_hdr.
const PKT_NEXT: usize = 0;
const PKT_SEC: usize = 4;
const PKT_NSEC: usize = 8;
const PKT_SNAPLEN: usize = 12;
const PKT_MAC: usize = 24;
// struct sockaddr_ll follows the header at TPACKET_ALIGN(sizeof(tpacket3_hdr)) = 48.
const PKT_SLL_PKTTYPE: usize = 48 + 10;
const PACKET_OUTGOING: u8 = 4;

/// Ring geometry.
#[derive(Debug, Clone, Copy)]
pub struct RingConfig {
    pub block_size: u32,
    pub block_count: u32,
    /// A partly filled block is handed over after this many milliseconds.
    pub retire_ms: u32,
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig {
            block_size: 1 << 20,
            block_count: 64,
            retire_ms: 2,
        }
    }
}

/// A mapped TPACKET_V3 ring on a socket (unmapped on drop, before the socket closes).
pub struct RxRing {
    base: *mut u8,
    len: usize,
    cfg: RingConfig,
    next_block: u32,
}

// SAFETY: the mapping is owned by this value and only touched through &mut self.
unsafe impl Send for RxRing {}

/// One received frame.
pub struct RxFrame<'a> {
    pub data: &'a [u8],
    /// Kernel receive timestamp, CLOCK_REALTIME nanoseconds.
    pub rx_realtime_ns: u64,
}

#[repr(C)]
struct TpacketReq3 {
    block_size: u32,
    block_nr: u32,
    frame_size: u32,
    frame_nr: u32,
    retire_blk_tov: u32,
    sizeof_priv: u32,
    feature_req_word: u32,
}

impl RxRing {
    /// Sets up the ring on an unbound receive socket, then binds it to its interface.
    pub fn new(sock: &PacketSocket, cfg: RingConfig) -> Result<RxRing> {
        sock.set_int_opt(
            libc::SOL_PACKET,
            libc::PACKET_VERSION,
            2, /* TPACKET_V3 */
            "PACKET_VERSION",
        )?;
        let frame_size = 2048;
        let req = TpacketReq3 {
            block_size: cfg.block_size,
            block_nr: cfg.block_count,
            frame_size,
            frame_nr: cfg.block_size / frame_size * cfg.block_count,
            retire_blk_tov: cfg.retire_ms,
            sizeof_priv: 0,
            feature_req_word: 0,
        };
        // SAFETY: pointer and length describe `req`, laid out as struct tpacket_req3.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_RX_RING,
                (&req as *const TpacketReq3).cast(),
                std::mem::size_of::<TpacketReq3>() as u32,
            )
        };
        if rc < 0 {
            return Err(os("PACKET_RX_RING"));
        }
        let len = cfg.block_size as usize * cfg.block_count as usize;
        // SAFETY: maps the ring the kernel just allocated for this socket.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                sock.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(os("mmap(PACKET_RX_RING)"));
        }
        let ring = RxRing {
            base: base.cast(),
            len,
            cfg,
            next_block: 0,
        };
        sock.bind_all()?;
        Ok(ring)
    }

    fn block(&self, i: u32) -> *mut u8 {
        // SAFETY: i < block_count, so the offset stays inside the mapping.
        unsafe { self.base.add(i as usize * self.cfg.block_size as usize) }
    }

    fn status(&self, block: *mut u8) -> &AtomicU32 {
        // SAFETY: block_status is an aligned u32 inside the mapping, shared with the kernel.
        unsafe { &*(block.add(BLOCK_STATUS) as *const AtomicU32) }
    }

    /// True when the next block belongs to user space.
    pub fn ready(&self) -> bool {
        self.status(self.block(self.next_block))
            .load(Ordering::Acquire)
            & TP_STATUS_USER
            != 0
    }

    /// Hands every frame of the next ready block to `f`, returns the block to the kernel, and
    /// returns the number of frames (0 when no block was ready).
    pub fn drain_block(&mut self, mut f: impl FnMut(RxFrame<'_>)) -> usize {
        let block = self.block(self.next_block);
        if self.status(block).load(Ordering::Acquire) & TP_STATUS_USER == 0 {
            return 0;
        }
        let rd = |off: usize| -> u32 {
            // SAFETY: offsets come from the kernel and stay inside this block.
            unsafe { std::ptr::read_unaligned(block.add(off) as *const u32) }
        };
        let n = rd(BLOCK_NUM_PKTS) as usize;
        let mut off = rd(BLOCK_FIRST_PKT) as usize;
        let bsize = self.cfg.block_size as usize;
        for _ in 0..n {
            if off + PKT_SLL_PKTTYPE >= bsize {
                break;
            }
            let next = rd(off + PKT_NEXT) as usize;
            let snaplen = rd(off + PKT_SNAPLEN) as usize;
            // SAFETY: u16/u8 reads inside the frame header.
            let mac = unsafe { std::ptr::read_unaligned(block.add(off + PKT_MAC) as *const u16) }
                as usize;
            let pkttype = unsafe { *block.add(off + PKT_SLL_PKTTYPE) };
            if pkttype != PACKET_OUTGOING && off + mac + snaplen <= bsize {
                // SAFETY: the frame lies inside the block (checked above).
                let data = unsafe { std::slice::from_raw_parts(block.add(off + mac), snaplen) };
                let ts =
                    u64::from(rd(off + PKT_SEC)) * 1_000_000_000 + u64::from(rd(off + PKT_NSEC));
                f(RxFrame {
                    data,
                    rx_realtime_ns: ts,
                });
            }
            if next == 0 {
                break;
            }
            off += next;
        }
        self.status(block)
            .store(TP_STATUS_KERNEL, Ordering::Release);
        self.next_block = (self.next_block + 1) % self.cfg.block_count;
        n
    }
}

impl Drop for RxRing {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping created in new().
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}
