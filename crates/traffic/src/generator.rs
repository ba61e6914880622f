//! The paced generator: prebuilt templates, sendmmsg batches, a per-batch token bucket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use netsys::PacketTx;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrafficError};
use crate::frame::{Distribution, Template, TestHeader, LATENCY_STREAM, MAX_LOAD_STREAMS};
use crate::sys::monotonic_ns;

/// Largest batch handed to one sendmmsg call.
pub const MAX_BATCH: usize = 64;
const SLOT: usize = 1536;

/// What one generator phase sends.
pub struct Phase {
    pub tag: u8,
    pub rate_pps: f64,
    pub frames: u64,
    pub latency_pps: f64,
    /// Give up (the trial will be flagged) when sending takes longer than this.
    pub deadline: Duration,
    /// Where to publish the CLOCK_MONOTONIC time (ns) right after the phase's last send, the
    /// moment it is known (sinks use it to count late frames); None = nowhere.
    pub end_ns: Option<Arc<AtomicU64>>,
}

/// How well the generator kept to its schedule in one phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratorTiming {
    /// Largest `now − due` when a batch was sent: how far behind schedule the generator was.
    pub max_lateness_ns: u64,
    /// Largest number of frames sent back to back while behind schedule (consecutive catch-up
    /// batches sent without a pacing wait, summed).
    pub max_burst_frames: u64,
    /// Frames sent in catch-up batches (batches larger than the regular batch because the
    /// thread was behind).
    pub catchup_frames: u64,
    /// Frames per regular batch (≈100 µs of traffic, 1..=64).
    pub regular_batch: u64,
    /// Times the lateness went above 1 ms (each episode counted once, however many batches it
    /// lasted).
    pub stalls_over_1ms: u64,
}

/// What the generator did.
#[derive(Debug, Clone, Default)]
pub struct GenStats {
    /// Frames accepted by the kernel per stream id.
    pub sent_per_stream: Vec<u64>,
    pub sent: u64,
    pub elapsed_ns: u64,
    /// sendmmsg calls that returned ENOBUFS/EAGAIN (frames were retried).
    pub retries: u64,
    pub gave_up: bool,
    /// CLOCK_MONOTONIC (ns) right after the last send of the phase (0 = nothing sent).
    pub last_send_ns: u64,
    /// Schedule keeping of the phase.
    pub timing: GeneratorTiming,
}

/// One frame buffer of a batch and the length of the frame in it.
#[derive(Clone)]
struct Slot {
    buf: [u8; SLOT],
    len: usize,
}

impl Slot {
    const EMPTY: Slot = Slot {
        buf: [0; SLOT],
        len: 0,
    };
}

impl AsRef<[u8]> for Slot {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The generator's reusable state: sender, templates and slot buffers.
pub struct Generator {
    tx: PacketTx,
    /// templates[flow][size index]
    templates: Vec<Vec<Template>>,
    /// Size indices in send order (IMIX cycle or a single size).
    cycle: Vec<usize>,
    distribution: Distribution,
    slots: Vec<Slot>,
    lat_slot: Slot,
    rng: u64,
}

/// xorshift64*: cheap, good enough to spread flows.
fn next_rand(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// Waits until `due_ns`; returns whether it had to wait at all.
fn wait_until(due_ns: u64) -> bool {
    let mut waited = false;
    loop {
        let now = monotonic_ns();
        if now >= due_ns {
            return waited;
        }
        waited = true;
        let left = due_ns - now;
        if left > 60_000 {
            // Sleep most of the gap (timer slack is set to 1 ns), spin the rest.
            std::thread::sleep(Duration::from_nanos(left - 40_000));
        } else {
            std::hint::spin_loop();
        }
    }
}

impl Generator {
    pub fn new(
        tx: PacketTx,
        templates: Vec<Vec<Template>>,
        cycle: Vec<usize>,
        distribution: Distribution,
    ) -> Result<Generator> {
        if templates.is_empty() || cycle.is_empty() {
            return Err(TrafficError::Spec("no flows or frame sizes".into()));
        }
        // SAFETY: prctl with plain integer arguments; a 1 ns slack makes short sleeps precise.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0) };
        Ok(Generator {
            tx,
            templates,
            cycle,
            distribution,
            slots: vec![Slot::EMPTY; MAX_BATCH],
            lat_slot: Slot::EMPTY,
            rng: 0x9e37_79b9_7f4a_7c15,
        })
    }

    pub fn sender(&self) -> &PacketTx {
        &self.tx
    }

    /// Sends one phase at its rate; returns what was sent.
    pub fn run(&mut self, phase: &Phase) -> Result<GenStats> {
        let mut stats = GenStats {
            sent_per_stream: vec![0; 256],
            ..Default::default()
        };
        if phase.frames == 0 || phase.rate_pps <= 0.0 {
            return Ok(stats);
        }
        let flows = self.templates.len() as u64;
        // About 100 µs of traffic per batch: large batches at high rates, single frames at low.
        let batch = ((phase.rate_pps * 1e-4).round() as usize).clamp(1, MAX_BATCH);
        stats.timing.regular_batch = batch as u64;
        let mut burst: u64 = 0;
        let mut stalled = false;
        let ns_per_frame = 1e9 / phase.rate_pps;
        let lat_interval_ns = if phase.latency_pps > 0.0 {
            (1e9 / phase.latency_pps) as u64
        } else {
            u64::MAX
        };
        let mut seq = vec![0u32; 256];
        let start = monotonic_ns();
        let deadline = start + phase.deadline.as_nanos() as u64;
        let mut next_lat = start;
        let mut k: u64 = 0;
        let mut slot_stream = [0u8; MAX_BATCH];
        while k < phase.frames {
            let due = start + (k as f64 * ns_per_frame) as u64;
            let waited = wait_until(due);
            let now = monotonic_ns();
            if now > deadline {
                stats.gave_up = true;
                break;
            }
            let lateness = now.saturating_sub(due);
            let t = &mut stats.timing;
            t.max_lateness_ns = t.max_lateness_ns.max(lateness);
            if lateness > 1_000_000 {
                if !stalled {
                    t.stalls_over_1ms += 1;
                }
                stalled = true;
            } else {
                stalled = false;
            }
            // Catch up on latency frames too (a few per batch), then skip what is left.
            let mut owed = 0;
            while phase.latency_pps > 0.0 && now >= next_lat && owed < 4 {
                self.send_latency_frame(phase.tag, &mut seq, &mut stats)?;
                next_lat = next_lat.saturating_add(lat_interval_ns);
                owed += 1;
            }
            if phase.latency_pps > 0.0 && now >= next_lat {
                next_lat = now;
            }
            // When the thread was descheduled it is behind: catch up with bigger batches
            // (one syscall per frame burst), else the rate would scale with the batch size.
            let due_now = ((now - start) as f64 / ns_per_frame) as u64;
            let behind = due_now.saturating_sub(k).min(MAX_BATCH as u64) as usize;
            let n = batch.max(behind).min((phase.frames - k) as usize);
            if behind > batch {
                stats.timing.catchup_frames += n as u64;
                burst = if waited { n as u64 } else { burst + n as u64 };
                stats.timing.max_burst_frames = stats.timing.max_burst_frames.max(burst);
            } else {
                burst = 0;
            }
            let tx_ns = monotonic_ns();
            for (j, (slot, slot_stream)) in self
                .slots
                .iter_mut()
                .zip(slot_stream.iter_mut())
                .take(n)
                .enumerate()
            {
                let idx = k + j as u64;
                let flow = match self.distribution {
                    Distribution::RoundRobin => idx % flows,
                    Distribution::Random => next_rand(&mut self.rng) % flows,
                } as usize;
                let size = self.cycle[(idx % self.cycle.len() as u64) as usize];
                let stream = (flow % usize::from(MAX_LOAD_STREAMS)) as u8;
                let th = TestHeader {
                    tag: phase.tag,
                    stream,
                    seq: seq[usize::from(stream)],
                    tx_ns,
                };
                seq[usize::from(stream)] = seq[usize::from(stream)].wrapping_add(1);
                *slot_stream = stream;
                slot.len = self.templates[flow][size].fill(&mut slot.buf, &th);
                stats.sent_per_stream[usize::from(stream)] += 1;
            }
            let mut done = 0usize;
            while done < n {
                let err = match self.tx.try_send(&self.slots[done..n]) {
                    Ok(sent) if sent > 0 => {
                        done += sent;
                        continue;
                    }
                    Ok(_) => None,
                    Err(e) => Some(e),
                };
                match err {
                    Some(e) if !netsys::is_busy(&e) => {
                        return Err(TrafficError::Os {
                            what: "sendmmsg",
                            source: e,
                        })
                    }
                    _ => {
                        stats.retries += 1;
                        if monotonic_ns() > deadline {
                            // Frames not sent must not count as sent.
                            for stream in &slot_stream[done..n] {
                                stats.sent_per_stream[usize::from(*stream)] -= 1;
                            }
                            stats.gave_up = true;
                            break;
                        }
                        std::thread::yield_now();
                    }
                }
            }
            if done > 0 {
                stats.last_send_ns = monotonic_ns();
            }
            if stats.gave_up {
                break;
            }
            k += n as u64;
        }
        if let Some(end) = &phase.end_ns {
            end.store(stats.last_send_ns, Ordering::Release);
        }
        let end = monotonic_ns();
        let nominal = (phase.frames as f64 * ns_per_frame) as u64;
        stats.elapsed_ns = if stats.gave_up {
            end - start
        } else {
            (end - start).max(nominal)
        };
        stats.sent = stats.sent_per_stream.iter().sum();
        Ok(stats)
    }

    fn send_latency_frame(&mut self, tag: u8, seq: &mut [u32], stats: &mut GenStats) -> Result<()> {
        let stream = usize::from(LATENCY_STREAM);
        let th = TestHeader {
            tag,
            stream: LATENCY_STREAM,
            seq: seq[stream],
            tx_ns: monotonic_ns(),
        };
        self.lat_slot.len = self.templates[0][self.cycle[0]].fill(&mut self.lat_slot.buf, &th);
        match self.tx.try_send(std::slice::from_ref(&self.lat_slot)) {
            Ok(1) => {}
            Ok(_) => {
                stats.retries += 1;
                return Ok(());
            }
            Err(e) if netsys::is_busy(&e) => {
                stats.retries += 1;
                return Ok(());
            }
            Err(e) => {
                return Err(TrafficError::Os {
                    what: "send(latency frame)",
                    source: e,
                })
            }
        }
        seq[stream] = seq[stream].wrapping_add(1);
        stats.sent_per_stream[stream] += 1;
        Ok(())
    }
}
