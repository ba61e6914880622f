//! The sink: a TPACKET_V3 ring, per-stream accounting and one-way latency histograms.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use netsys::{IfName, PacketRx, RxConfig, RxRing};

use crate::accounting::SeqTracker;
use crate::error::Result;
use crate::frame::{parse_flow, parse_test_header, LATENCY_STREAM};
use crate::learn::FlowLearner;
use crate::sys::{monotonic_ns, realtime_ns};

/// A partly filled ring block is handed over after this many milliseconds.
const RETIRE_MS: u32 = 2;
/// The sink's ring: 64 blocks of 1 MiB (64 MiB, ~500k 64-byte frames) so a sink thread that
/// is descheduled for a while on a busy host loses nothing.
const RING: RxRing = RxRing::V3 {
    block_size: 1 << 20,
    block_count: 64,
    retire_tov_ms: RETIRE_MS,
};
/// Most frames handled between two looks at the trial's progress.
const BURST: usize = 1024;

/// A latency histogram: 1 ns .. 100 s, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("constant histogram bounds are valid")
}

/// What the threads of one trial share while it runs (CLOCK_MONOTONIC ns, 0 = not yet).
#[derive(Debug, Default)]
pub struct TrialProgress {
    /// Kernel RX time of the latest test frame of this trial at any sink.
    last_rx_ns: AtomicU64,
    /// Set by the generator right after its last send of the measured phase.
    generator_end_ns: Arc<AtomicU64>,
}

impl TrialProgress {
    pub fn new() -> Arc<TrialProgress> {
        Arc::new(TrialProgress::default())
    }

    /// The RX time of the latest test frame of this trial seen so far.
    pub fn last_rx_ns(&self) -> Option<u64> {
        Some(self.last_rx_ns.load(Ordering::Acquire)).filter(|t| *t != 0)
    }

    /// Publishes a frame's RX time (keeps the maximum over all sinks).
    pub fn record_rx(&self, rx_ns: u64) {
        self.last_rx_ns.fetch_max(rx_ns, Ordering::AcqRel);
    }

    /// When the generator sent its last frame, once it is known.
    pub fn generator_end_ns(&self) -> Option<u64> {
        Some(self.generator_end_ns.load(Ordering::Acquire)).filter(|t| *t != 0)
    }

    /// The cell the generator stores its end time in ([`crate::generator::Phase::end_ns`]).
    pub fn generator_end_cell(&self) -> Arc<AtomicU64> {
        self.generator_end_ns.clone()
    }
}

/// What one sink saw.
#[derive(Debug, Clone)]
pub struct SinkStats {
    /// Trackers indexed by stream id (empty tracker = nothing seen).
    pub streams: Vec<SeqTracker>,
    /// Test frames of another trial (or of the warm-up phase).
    pub foreign: u64,
    /// Frames that are not test frames at all (ARP, IPv6 ND, ...).
    pub other: u64,
    /// Frames the kernel dropped because the ring was full.
    pub drops: u64,
    /// Latency of the latency stream, ns.
    pub probe_latency: Histogram<u64>,
    /// Latency of load frames, ns (includes batching inside the generator).
    pub load_latency: Histogram<u64>,
    /// Frames whose latency could not be computed (clock went backwards, absurd values).
    pub bad_timestamps: u64,
    /// Test frames of this trial that arrived more than `late_after` after the generator's
    /// last send.
    pub late: u64,
    /// Kernel RX time (CLOCK_MONOTONIC ns) of the last test frame of this trial.
    pub last_rx_ns: Option<u64>,
}

/// A ready sink: ring set up and bound.
pub struct Sink {
    rx: PacketRx,
    tag: u8,
    progress: Arc<TrialProgress>,
    late_after_ns: u64,
    /// Records the flows of this trial's warm-up frames (tag | 0x80) for the reply direction.
    learner: Option<Arc<FlowLearner>>,
}

impl Sink {
    /// A sink of its own (no shared progress; late frames are never counted).
    pub fn open(ifname: &str, tag: u8) -> Result<Sink> {
        Sink::open_shared(ifname, tag, TrialProgress::new(), Duration::MAX)
    }

    /// A sink that publishes its frames' RX times to `progress` and counts frames arriving
    /// more than `late_after` after the generator's end published there.
    pub fn open_shared(
        ifname: &str,
        tag: u8,
        progress: Arc<TrialProgress>,
        late_after: Duration,
    ) -> Result<Sink> {
        let ifname = IfName::new(ifname).map_err(netsys::IoError::from)?;
        // The kernel leaves out this host's own outgoing frames (PACKET_IGNORE_OUTGOING).
        let mut rx = PacketRx::open(&ifname, &RxConfig::with_ring(RING))?;
        // Drops before the trial started are not the trial's.
        rx.reset_counters();
        Ok(Sink {
            rx,
            tag,
            progress,
            late_after_ns: u64::try_from(late_after.as_nanos()).unwrap_or(u64::MAX),
            learner: None,
        })
    }

    /// Also records the flows of this trial's warm-up frames in `learner`.
    pub fn learning(mut self, learner: Option<Arc<FlowLearner>>) -> Sink {
        self.learner = learner;
        self
    }

    /// Receives until `stop` is set, then sweeps the ring for a few retire periods more.
    pub fn run(mut self, stop: Arc<AtomicBool>) -> Result<SinkStats> {
        let mut st = SinkStats {
            streams: vec![SeqTracker::default(); 256],
            foreign: 0,
            other: 0,
            drops: 0,
            probe_latency: new_histogram(),
            load_latency: new_histogram(),
            bad_timestamps: 0,
            late: 0,
            last_rx_ns: None,
        };
        let mut stop_at: Option<u64> = None;
        let tag = self.tag;
        let learner = self.learner.clone();
        loop {
            // Realtime − monotonic, refreshed per burst: kernel stamps are realtime.
            let offset = realtime_ns() as i128 - monotonic_ns() as i128;
            // Known before any frame of the last batch exists, so a frame processed while it
            // is unknown arrived before the generator's end (see TrialResult::late_frames).
            let late_from = self
                .progress
                .generator_end_ns()
                .map_or(u64::MAX, |e| e.saturating_add(self.late_after_ns));
            let mut burst_last: u64 = 0;
            let n = self.rx.recv_frames(BURST, |f| {
                let Some(th) = parse_test_header(f.data) else {
                    st.other += 1;
                    return;
                };
                if th.tag != tag {
                    if let (Some(l), true) = (&learner, th.tag == tag | 0x80) {
                        if let Some(t) = parse_flow(f.data) {
                            l.record(t);
                        }
                    }
                    st.foreign += 1;
                    return;
                }
                st.streams[usize::from(th.stream)].record(th.seq);
                let rx_mono = i128::from(f.timestamp_ns) - offset;
                let rx = u64::try_from(rx_mono).unwrap_or(0);
                burst_last = burst_last.max(rx);
                if rx > late_from {
                    st.late += 1;
                }
                let lat = rx_mono - th.tx_ns as i128;
                let hist = if th.stream == LATENCY_STREAM {
                    &mut st.probe_latency
                } else {
                    &mut st.load_latency
                };
                if lat > 0 && lat < 100_000_000_000 && hist.record(lat as u64).is_ok() {
                } else {
                    st.bad_timestamps += 1;
                }
            });
            if burst_last > 0 {
                self.progress.record_rx(burst_last);
                st.last_rx_ns = st.last_rx_ns.max(Some(burst_last));
            }
            if n > 0 {
                continue;
            }
            if stop.load(Ordering::Acquire) {
                let now = monotonic_ns();
                let until = *stop_at.get_or_insert(now + u64::from(RETIRE_MS) * 3_000_000);
                if now >= until {
                    break;
                }
            }
            // A short timeout keeps the stop flag responsive.
            self.rx.wait(5);
        }
        st.drops = self.rx.counters().kernel_drops;
        Ok(st)
    }
}
