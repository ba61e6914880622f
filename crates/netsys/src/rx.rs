//! Receiving frames from an interface through a memory-mapped AF_PACKET ring.
//!
//! A TPACKET_V3 ring ([`RxConfig::blocks`]): the kernel fills whole blocks and hands each
//! one over when it is full or its retire timer fires, so one wake-up yields many frames.
//! A TPACKET_V2 ring ([`RxConfig::per_frame`]): every frame slot is handed over as soon as it
//! is written, so a busy-polling reader sees a frame about a microsecond after it was sent.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};

use netwire::IfName;

use crate::error::IoError;
use crate::sys::{self, Mmap};

/// Ring layout for a receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxRing {
    /// TPACKET_V3: `block_count` blocks of `block_size` bytes, a block is retired after
    /// `retire_tov_ms` even when not full.
    V3 {
        block_size: u32,
        block_count: u32,
        retire_tov_ms: u32,
    },
    /// TPACKET_V2: `frame_count` slots of `frame_size` bytes, each handed over at once.
    V2 { frame_size: u32, frame_count: u32 },
}

/// How to open a receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxConfig {
    pub ring: RxRing,
    /// Put the interface in promiscuous mode while the socket is open.
    pub promisc: bool,
    /// Do not receive the frames this host sends on the interface (`PACKET_IGNORE_OUTGOING`).
    pub ignore_outgoing: bool,
    /// Receive only frames of this EtherType (None: all). The kernel filters before the
    /// ring, so other frames cost the reader nothing.
    pub ethertype: Option<u16>,
}

impl RxConfig {
    /// Block ring: TPACKET_V3 with 256 blocks of 64 KiB (16 MiB) and a 1 ms block timer; the
    /// fewest wake-ups under heavy load, up to 1 ms of added delay at low load.
    pub fn blocks() -> Self {
        Self::blocks_of(16 << 20)
    }

    /// A block ring of about `bytes` (64 KiB blocks, at least 4).
    pub fn blocks_of(bytes: usize) -> Self {
        // Many small blocks: at low rates the 1 ms retire timer hands over blocks that are
        // mostly empty, so the ring's time capacity is block_count x 1 ms; at high rates it
        // is all its bytes of frames. Either must cover the reader being descheduled on a
        // busy machine.
        Self::with_ring(RxRing::V3 {
            block_size: 1 << 16,
            block_count: units(bytes, 1 << 16, 4),
            retire_tov_ms: 1,
        })
    }

    /// Per-frame ring: TPACKET_V2 with 4096 slots of 2 KiB (8 MiB); a frame is visible as
    /// soon as the kernel wrote it.
    pub fn per_frame() -> Self {
        Self::per_frame_of(8 << 20)
    }

    /// A per-frame ring of about `bytes` (2 KiB slots, at least 64).
    pub fn per_frame_of(bytes: usize) -> Self {
        Self::with_ring(RxRing::V2 {
            frame_size: 2048,
            frame_count: units(bytes, 2048, 64),
        })
    }

    /// `ring`, without promiscuous mode, ignoring this host's own outgoing frames.
    pub fn with_ring(ring: RxRing) -> Self {
        RxConfig {
            ring,
            promisc: false,
            ignore_outgoing: true,
            ethertype: None,
        }
    }
}

/// `bytes / unit`, at least `min`.
fn units(bytes: usize, unit: usize, min: usize) -> u32 {
    u32::try_from((bytes / unit).max(min)).unwrap_or(u32::MAX / 2)
}

/// Receive-side counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxCounters {
    /// Frames handed to the caller.
    pub packets: u64,
    /// Bytes of those frames (the wire length, even when truncated by the slot size).
    pub bytes: u64,
    /// Frames the kernel dropped because the ring was full.
    pub kernel_drops: u64,
    /// Frames longer than a ring slot (delivered truncated).
    pub truncated: u64,
}

impl RxCounters {
    /// One frame handed over: `delivered` bytes of a `wire_len`-byte frame.
    #[inline]
    fn count(&mut self, delivered: usize, wire_len: u32) {
        self.packets += 1;
        self.bytes += u64::from(wire_len);
        if (delivered as u32) < wire_len {
            self.truncated += 1;
        }
    }
}

const PAGE: u32 = 4096;

/// One received frame, borrowed from the ring for the duration of a callback.
#[derive(Debug, Clone, Copy)]
pub struct RxFrame<'a> {
    /// The frame from its Ethernet header on (possibly truncated to the slot size).
    pub data: &'a [u8],
    /// `PACKET_HOST`, `PACKET_BROADCAST`, `PACKET_MULTICAST`, `PACKET_OTHERHOST`, `PACKET_OUTGOING`.
    pub pkttype: u8,
    /// Kernel receive time (CLOCK_REALTIME), nanoseconds since the Unix epoch.
    pub timestamp_ns: i64,
}

/// Offset of `sll_pkttype` inside `sockaddr_ll`.
const SLL_PKTTYPE: usize = 10;

/// A receiver bound to one interface of the calling thread's network namespace.
pub struct PacketRx {
    ifname: IfName,
    // Field order matters: the mapping must go before the socket closes.
    ring: Ring,
    fd: OwnedFd,
    counters: RxCounters,
}

enum Ring {
    V3(V3Ring),
    V2(V2Ring),
}

struct V3Ring {
    map: Mmap,
    block_size: usize,
    block_count: usize,
    /// Block currently being read.
    block: usize,
    /// Frames left in the current block (0: the block is not open).
    left: u32,
    /// Offset of the next frame within the current block.
    offset: usize,
}

struct V2Ring {
    map: Mmap,
    frame_size: usize,
    frame_count: usize,
    next: usize,
}

impl PacketRx {
    /// Opens a ring on `ifname` and starts receiving.
    pub fn open(ifname: &IfName, cfg: &RxConfig) -> Result<Self, IoError> {
        let ifindex = sys::ifindex(ifname)?;
        let fd = sys::packet_socket(ifname)?;
        let ring = match cfg.ring {
            RxRing::V3 {
                block_size,
                block_count,
                retire_tov_ms,
            } => Ring::V3(V3Ring::setup(
                &fd,
                ifname,
                block_size,
                block_count,
                retire_tov_ms,
            )?),
            RxRing::V2 {
                frame_size,
                frame_count,
            } => Ring::V2(V2Ring::setup(&fd, ifname, frame_size, frame_count)?),
        };
        if cfg.ignore_outgoing {
            let one: libc::c_int = 1;
            sys::setsockopt(
                &fd,
                libc::SOL_PACKET,
                libc::PACKET_IGNORE_OUTGOING,
                &one,
                "setsockopt(PACKET_IGNORE_OUTGOING)",
                ifname,
            )?;
        }
        if cfg.promisc {
            sys::add_promisc(&fd, ifindex, ifname)?;
        }
        // Bind last: until now the socket had protocol 0 and received nothing, so the ring
        // holds only frames of this interface.
        let protocol = cfg.ethertype.map_or(sys::ETH_P_ALL_BE, u16::to_be);
        sys::bind_packet(&fd, ifindex, protocol, ifname)?;
        Ok(PacketRx {
            ifname: ifname.clone(),
            ring,
            fd,
            counters: RxCounters::default(),
        })
    }

    /// The interface this receiver is bound to.
    pub fn ifname(&self) -> &IfName {
        &self.ifname
    }

    /// Hands up to `max` frames to `f`, without blocking. Returns how many.
    /// The slice is only valid during the call (it points into the ring).
    pub fn recv_batch<F: FnMut(&[u8])>(&mut self, max: usize, mut f: F) -> usize {
        self.recv_frames(max, |fr| f(fr.data))
    }

    /// Like [`recv_batch`](Self::recv_batch), with the packet type and kernel timestamp.
    pub fn recv_frames<F: FnMut(RxFrame<'_>)>(&mut self, max: usize, mut f: F) -> usize {
        let mut n = 0;
        let c = &mut self.counters;
        match &mut self.ring {
            Ring::V3(r) => r.recv(max, &mut n, c, &mut f),
            Ring::V2(r) => r.recv(max, &mut n, c, &mut f),
        }
        n
    }

    /// True when a frame can be read now (no system call).
    pub fn ready(&self) -> bool {
        match &self.ring {
            Ring::V3(r) => r.left > 0 || r.block_ready(r.block),
            Ring::V2(r) => r.slot_ready(r.next),
        }
    }

    /// Blocks up to `timeout_ms` (-1: forever) until a frame is available.
    pub fn wait(&self, timeout_ms: i32) -> bool {
        self.ready() || sys::wait_readable(self.fd.as_raw_fd(), timeout_ms)
    }

    /// Counters, with the kernel's drop count folded in.
    pub fn counters(&mut self) -> RxCounters {
        if let Some((_, drops)) = sys::packet_stats(&self.fd) {
            // The kernel resets its statistics on every read; accumulate.
            self.counters.kernel_drops += drops;
        }
        self.counters
    }

    /// Resets the counters to zero.
    pub fn reset_counters(&mut self) {
        let _ = sys::packet_stats(&self.fd);
        self.counters = RxCounters::default();
    }
}

impl AsRawFd for PacketRx {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

const fn align16(x: usize) -> usize {
    (x + 15) & !15
}

/// The frame described by the ring header `H` at `hdr`: `mac` bytes after the header start,
/// `snaplen` long but clamped to the `room` bytes from `hdr`; the packet type of the
/// `sockaddr_ll` that follows the header at TPACKET_ALIGN(sizeof(H)); the kernel time.
///
/// # Safety
/// `hdr` must point to a user-owned ring header with `room` bytes behind it in a live mapping.
#[inline]
unsafe fn frame_at<'a, H>(
    hdr: *mut u8,
    room: usize,
    mac: u16,
    snaplen: u32,
    (sec, nsec): (u32, u32),
) -> RxFrame<'a> {
    let len = (snaplen as usize).min(room.saturating_sub(usize::from(mac)));
    let sll = align16(std::mem::size_of::<H>());
    // SAFETY: guaranteed by the caller; the slice and the sockaddr_ll lie inside `room`.
    unsafe {
        RxFrame {
            data: std::slice::from_raw_parts(hdr.add(usize::from(mac)), len),
            pkttype: *hdr.add(sll + SLL_PKTTYPE),
            timestamp_ns: i64::from(sec) * 1_000_000_000 + i64::from(nsec),
        }
    }
}

/// The status word at `p`, shared with the kernel.
///
/// # Safety
/// `p` must point to a 4-byte aligned status word inside a live ring mapping.
unsafe fn status_word<'a>(p: *mut u8) -> &'a AtomicU32 {
    // SAFETY: guaranteed by the caller; AtomicU32 has the layout of u32.
    unsafe { &*(p.cast::<AtomicU32>()) }
}

/// Sets the ring `version`, asks for the ring `req` (a `tpacket_req` or `tpacket_req3`) and
/// maps its `len` bytes.
fn map_ring<T>(
    fd: &OwnedFd,
    ifname: &IfName,
    version: libc::tpacket_versions,
    req: &T,
    len: usize,
) -> Result<Mmap, IoError> {
    let version = version as libc::c_int;
    sys::setsockopt(
        fd,
        libc::SOL_PACKET,
        libc::PACKET_VERSION,
        &version,
        "setsockopt(PACKET_VERSION)",
        ifname,
    )?;
    sys::setsockopt(
        fd,
        libc::SOL_PACKET,
        libc::PACKET_RX_RING,
        req,
        "setsockopt(PACKET_RX_RING)",
        ifname,
    )?;
    Mmap::ring(fd, len, ifname)
}

impl V3Ring {
    fn setup(
        fd: &OwnedFd,
        ifname: &IfName,
        block_size: u32,
        block_count: u32,
        retire_tov_ms: u32,
    ) -> Result<Self, IoError> {
        if block_size < PAGE || !block_size.is_power_of_two() || block_count == 0 {
            return Err(IoError::BadRing(format!(
                "TPACKET_V3 block size {block_size} must be a power of two >= 4096, block count {block_count} > 0"
            )));
        }
        // The frame fields only have to be consistent for V3 (frames are variable-sized).
        let frame_size = 2048u32;
        let req = libc::tpacket_req3 {
            tp_block_size: block_size,
            tp_block_nr: block_count,
            tp_frame_size: frame_size,
            tp_frame_nr: block_size / frame_size * block_count,
            tp_retire_blk_tov: retire_tov_ms.max(1),
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        let len = block_size as usize * block_count as usize;
        let map = map_ring(fd, ifname, libc::tpacket_versions::TPACKET_V3, &req, len)?;
        Ok(V3Ring {
            map,
            block_size: block_size as usize,
            block_count: block_count as usize,
            block: 0,
            left: 0,
            offset: 0,
        })
    }

    fn block_ptr(&self, i: usize) -> *mut u8 {
        // SAFETY: i < block_count, so the offset stays inside the mapping.
        unsafe { self.map.base().add(i * self.block_size) }
    }

    /// The block's `block_status`: tpacket_block_desc { version, offset_to_priv, hdr.bh1 { block_status ... } }.
    fn block_status(&self, i: usize) -> &AtomicU32 {
        // SAFETY: block_status is at byte 8 of each block descriptor, 4-aligned, and the
        // block lies inside the live mapping.
        unsafe { status_word(self.block_ptr(i).add(8)) }
    }

    fn block_ready(&self, i: usize) -> bool {
        self.block_status(i).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0
    }

    fn recv<F: FnMut(RxFrame<'_>)>(
        &mut self,
        max: usize,
        n: &mut usize,
        c: &mut RxCounters,
        f: &mut F,
    ) {
        while *n < max {
            if self.left == 0 {
                if !self.block_ready(self.block) {
                    return;
                }
                let b = self.block_ptr(self.block);
                // SAFETY: the kernel handed this block to us (TP_STATUS_USER, acquire
                // load above); the descriptor is a tpacket_block_desc at its start.
                let (num, first) = unsafe {
                    let d = &*(b.cast::<libc::tpacket_block_desc>());
                    (d.hdr.bh1.num_pkts, d.hdr.bh1.offset_to_first_pkt as usize)
                };
                if num == 0 {
                    self.release_block();
                    continue;
                }
                self.left = num;
                self.offset = first;
            }
            let b = self.block_ptr(self.block);
            // SAFETY: `offset` came from the kernel's block layout, inside this user-owned
            // block; the header is a tpacket3_hdr and the frame lies at tp_mac within the block.
            let (next, frame, wire_len) = unsafe {
                let hdr = b.add(self.offset);
                let h = &*(hdr.cast::<libc::tpacket3_hdr>());
                let frame = frame_at::<libc::tpacket3_hdr>(
                    hdr,
                    self.block_size.saturating_sub(self.offset),
                    h.tp_mac,
                    h.tp_snaplen,
                    (h.tp_sec, h.tp_nsec),
                );
                (h.tp_next_offset as usize, frame, h.tp_len)
            };
            c.count(frame.data.len(), wire_len);
            f(frame);
            *n += 1;
            self.left -= 1;
            if self.left == 0 || next == 0 {
                self.left = 0;
                self.release_block();
            } else {
                self.offset += next;
            }
        }
    }

    fn release_block(&mut self) {
        self.block_status(self.block)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.block = (self.block + 1) % self.block_count;
    }
}

impl V2Ring {
    fn setup(
        fd: &OwnedFd,
        ifname: &IfName,
        frame_size: u32,
        frame_count: u32,
    ) -> Result<Self, IoError> {
        if frame_size < 256
            || !frame_size.is_power_of_two()
            || frame_size > PAGE * 16
            || frame_count == 0
        {
            return Err(IoError::BadRing(format!(
                "TPACKET_V2 frame size {frame_size} must be a power of two in 256..=65536, count {frame_count} > 0"
            )));
        }
        // Blocks of at least one page holding a whole number of frames.
        let block_size = frame_size.max(PAGE);
        let per_block = block_size / frame_size;
        let block_count = frame_count.div_ceil(per_block);
        let req = libc::tpacket_req {
            tp_block_size: block_size,
            tp_block_nr: block_count,
            tp_frame_size: frame_size,
            tp_frame_nr: block_count * per_block,
        };
        let len = block_size as usize * block_count as usize;
        let map = map_ring(fd, ifname, libc::tpacket_versions::TPACKET_V2, &req, len)?;
        Ok(V2Ring {
            map,
            frame_size: frame_size as usize,
            frame_count: (block_count * per_block) as usize,
            next: 0,
        })
    }

    fn slot_ptr(&self, i: usize) -> *mut u8 {
        // SAFETY: blocks are whole multiples of the frame size, so slot i < frame_count
        // starts at i * frame_size inside the mapping.
        unsafe { self.map.base().add(i * self.frame_size) }
    }

    fn slot_ready(&self, i: usize) -> bool {
        // SAFETY: tp_status is the first u32 of the slot's tpacket2_hdr.
        let st = unsafe { status_word(self.slot_ptr(i)) };
        st.load(Ordering::Acquire) & libc::TP_STATUS_USER != 0
    }

    fn recv<F: FnMut(RxFrame<'_>)>(
        &mut self,
        max: usize,
        n: &mut usize,
        c: &mut RxCounters,
        f: &mut F,
    ) {
        while *n < max && self.slot_ready(self.next) {
            let p = self.slot_ptr(self.next);
            // SAFETY: the slot is user-owned (acquire load above) and holds a tpacket2_hdr;
            // the frame lies at tp_mac, clamped to the slot.
            let (frame, wire_len) = unsafe {
                let h = &*(p.cast::<libc::tpacket2_hdr>());
                let frame = frame_at::<libc::tpacket2_hdr>(
                    p,
                    self.frame_size,
                    h.tp_mac,
                    h.tp_snaplen,
                    (h.tp_sec, h.tp_nsec),
                );
                (frame, h.tp_len)
            };
            c.count(frame.data.len(), wire_len);
            f(frame);
            *n += 1;
            // SAFETY: as in slot_ready.
            let st = unsafe { status_word(p) };
            st.store(libc::TP_STATUS_KERNEL, Ordering::Release);
            self.next = (self.next + 1) % self.frame_count;
        }
    }
}
