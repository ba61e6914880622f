//! One trial: threads, namespaces, phases, merging and checks.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hdrhistogram::Histogram;
use netsys::{IfName, PacketTx, TxConfig};
use netwire::MacAddr;
use serde::{Deserialize, Serialize};

use crate::accounting::{SeqTracker, StreamStats};
use crate::error::{Result, TrafficError};
use crate::frame::{
    build_template, Distribution, FlowSpec, FlowTuple, FrameSizes, Template, UNOWNED_MAC,
};
use crate::generator::{GenStats, Generator, GeneratorTiming, Phase, MAX_BATCH};
use crate::learn::FlowLearner;
use crate::sink::{new_histogram, Sink, SinkStats, TrialProgress};
use crate::sys::{if_counters, monotonic_ns, pin_to_cpus};

/// Where a generator or sink attaches: an interface inside a network namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attach {
    /// Namespace file, e.g. /run/netns/NAME; None = the caller's namespace.
    pub netns: Option<PathBuf>,
    pub ifname: String,
    /// Pin the thread to these CPUs (empty = no pinning).
    #[serde(default)]
    pub cpus: Vec<usize>,
}

/// One trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialSpec {
    pub source: Attach,
    pub sinks: Vec<Attach>,
    pub flows: FlowSpec,
    pub frame_size: FrameSizes,
    /// Load rate, frames per second (the latency stream comes on top).
    pub rate_pps: f64,
    pub duration: Duration,
    pub warmup: Duration,
    /// Rate of the latency stream beside the load (0 = none).
    pub latency_stream_pps: f64,
    /// Destination MAC of test frames; None = [`UNOWNED_MAC`].
    pub dst_mac: Option<MacAddr>,
    /// Longest wait for frames still in flight after the generator's last frame.
    pub drain: Duration,
    /// The drain ends early once no test frame of this trial has arrived at any sink for this
    /// long (counted from the later of the generator's last frame and the last arrival).
    pub quiet: Duration,
    /// A frame arriving more than this after the generator's last frame counts as late
    /// ([`TrialResult::late_frames`]; a fixed drain of this length would have called it lost).
    pub late_after: Duration,
    /// Send replies back too (bidirectional trial); None = forward only.
    #[serde(default)]
    pub reverse: Option<ReverseSpec>,
}

/// The reverse direction of a bidirectional trial. Before the measured phases, the forward
/// generator sends every flow twice at a low rate (a warm-up tag, so it is not counted) and the
/// forward sinks record the flows as they arrive (addresses and ports after any NAT); the
/// reverse generator then answers exactly those flows (addresses and ports swapped), at the
/// same rate, frame size and latency-stream rate as the forward direction, with a trial tag
/// (sequence space) of its own, while the forward measured phase runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReverseSpec {
    /// The reply generator: at the Outgoing Point (where a forward sink attaches).
    pub source: Attach,
    /// The reply sink: at the Incoming Point (where the forward generator attaches).
    pub sink: Attach,
}

impl TrialSpec {
    /// A spec with defaults for everything but where to attach and how fast to send.
    pub fn new(source: Attach, sinks: Vec<Attach>, rate_pps: f64, duration: Duration) -> TrialSpec {
        TrialSpec {
            source,
            sinks,
            flows: FlowSpec::default(),
            frame_size: FrameSizes::Fixed(64),
            rate_pps,
            duration,
            warmup: Duration::ZERO,
            latency_stream_pps: 0.0,
            dst_mac: None,
            drain: Duration::from_secs(2),
            quiet: Duration::from_millis(100),
            late_after: Duration::from_millis(100),
            reverse: None,
        }
    }
}

/// What a trial measured.
#[derive(Debug, Clone)]
pub struct TrialResult {
    pub requested_pps: f64,
    /// Frames accepted by the kernel in the measured phase (load + latency stream).
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub streams: Vec<StreamStats>,
    /// Test frames from the warm-up or an earlier trial.
    pub foreign_frames: u64,
    /// Non-test frames at the sinks.
    pub other_frames: u64,
    /// Frames the sinks' rings dropped (the sink was the bottleneck).
    pub sink_drops: u64,
    pub tx_retries: u64,
    pub elapsed: Duration,
    /// Load frames per second actually achieved over the sending window.
    pub achieved_pps: f64,
    /// The generator gave up before sending everything (deadline).
    pub generator_gave_up: bool,
    /// Latency of the latency stream (ns).
    pub latency: Histogram<u64>,
    /// Latency of the load frames (ns).
    pub load_latency: Histogram<u64>,
    /// The source interface's kernel TX counter over the measured phase.
    pub source_tx_packets: Option<u64>,
    /// Test frames of this trial that arrived (kernel RX time) more than
    /// [`TrialSpec::late_after`] after the generator's last frame. They are counted as
    /// received; a fixed drain of `late_after` would have called them lost.
    pub late_frames: u64,
    /// How long the drain took: from the generator's last frame until the sinks were told to
    /// stop (≤ [`TrialSpec::drain`] plus scheduling noise).
    pub drain: Duration,
    /// From the generator's last frame to the last test frame of this trial at any sink (zero
    /// when that came earlier); None when no frame arrived.
    pub last_frame_after_end: Option<Duration>,
    /// How well the generator kept to its schedule in the measured phase.
    pub generator: GeneratorTiming,
    /// Counters that disagree (each a human-readable sentence).
    pub anomalies: Vec<String>,
    /// The reply direction of a bidirectional trial (its own counts, latency and anomalies);
    /// the fields above are then the forward direction's.
    pub reverse: Option<Box<TrialResult>>,
    /// In a reply direction's result: the flows it answered, as they left the chain forward
    /// (after any NAT); empty otherwise.
    pub replied_to: Vec<FlowTuple>,
}

impl TrialResult {
    /// Loss of the measured phase, percent of sent.
    pub fn loss_pct(&self) -> f64 {
        if self.sent == 0 {
            100.0
        } else {
            100.0 * self.lost as f64 / self.sent as f64
        }
    }
}

/// Trial tags cycle so frames of one trial are never counted in the next.
static NEXT_TAG: AtomicU8 = AtomicU8::new(1);

fn next_tag() -> u8 {
    // Tags 1..=127 for measured phases; warm-up uses tag | 0x80.
    let t = NEXT_TAG.fetch_add(1, Ordering::Relaxed) % 127 + 1;
    t & 0x7f
}

fn validate(spec: &TrialSpec) -> Result<()> {
    if !(spec.rate_pps.is_finite() && spec.rate_pps > 0.0) {
        return Err(TrafficError::Spec(format!(
            "rate {} pps must be positive",
            spec.rate_pps
        )));
    }
    if spec.duration.is_zero() {
        return Err(TrafficError::Spec("duration must be positive".into()));
    }
    if spec.sinks.is_empty() {
        return Err(TrafficError::Spec("at least one sink is needed".into()));
    }
    if spec.flows.count == 0 || spec.flows.count > 65_536 {
        return Err(TrafficError::Spec(format!(
            "flow count {} must be 1..=65536",
            spec.flows.count
        )));
    }
    if !(spec.latency_stream_pps >= 0.0 && spec.latency_stream_pps.is_finite()) {
        return Err(TrafficError::Spec("latency stream rate must be ≥ 0".into()));
    }
    if spec.quiet.is_zero() {
        return Err(TrafficError::Spec("quiet period must be positive".into()));
    }
    Ok(())
}

fn enter(attach: &Attach) -> Result<()> {
    if let Some(ns) = &attach.netns {
        netsys::netns::enter(ns)?;
    }
    if !attach.cpus.is_empty() {
        pin_to_cpus(&attach.cpus)?;
    }
    Ok(())
}

fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<JoinHandle<Result<T>>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|source| TrafficError::Os {
            what: "spawn thread",
            source,
        })
}

struct GenOutcome {
    stats: GenStats,
    tx_delta: Option<u64>,
}

impl GenOutcome {
    /// A generator that never ran.
    fn nothing() -> GenOutcome {
        GenOutcome {
            stats: GenStats {
                sent_per_stream: vec![0; 256],
                ..Default::default()
            },
            tx_delta: None,
        }
    }
}

type SinkHandle = JoinHandle<Result<SinkStats>>;

/// Starts one sink per attach point and waits until each is ready (or stops them all).
fn start_sinks(
    attaches: &[Attach],
    tag: u8,
    progress: &Arc<TrialProgress>,
    late_after: Duration,
    learner: Option<Arc<FlowLearner>>,
    stop: &Arc<AtomicBool>,
) -> Result<Vec<SinkHandle>> {
    let mut sinks: Vec<SinkHandle> = Vec::new();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
    for attach in attaches {
        let attach = attach.clone();
        let stop = stop.clone();
        let ready = ready_tx.clone();
        let progress = progress.clone();
        let learner = learner.clone();
        sinks.push(spawn("coo-sink", move || {
            let opened = enter(&attach)
                .and_then(|_| Sink::open_shared(&attach.ifname, tag, progress, late_after));
            match opened {
                Ok(sink) => {
                    let _ = ready.send(Ok(()));
                    sink.learning(learner).run(stop)
                }
                Err(e) => {
                    let _ = ready.send(Err(TrafficError::SinkNotReady(format!(
                        "{}: {e}",
                        attach.ifname
                    ))));
                    Err(e)
                }
            }
        })?);
    }
    drop(ready_tx);
    let mut startup_error = None;
    for _ in 0..attaches.len() {
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => startup_error = Some(e),
            Err(_) => startup_error = Some(TrafficError::SinkNotReady("timeout".into())),
        }
    }
    if let Some(e) = startup_error {
        stop.store(true, Ordering::Release);
        for s in sinks {
            let _ = s.join();
        }
        return Err(e);
    }
    Ok(sinks)
}

fn join_sinks(sinks: Vec<SinkHandle>, stats: &mut Vec<SinkStats>) -> Option<TrafficError> {
    let mut error = None;
    for s in sinks {
        match s.join() {
            Ok(Ok(st)) => stats.push(st),
            Ok(Err(e)) => error = Some(e),
            Err(_) => error = Some(TrafficError::Panicked("sink")),
        }
    }
    error
}

fn join_generator(h: Result<JoinHandle<Result<GenOutcome>>>) -> Result<GenOutcome> {
    h.and_then(|h| {
        h.join()
            .map_err(|_| TrafficError::Panicked("generator"))
            .and_then(|r| r)
    })
}

/// The reply direction while it runs: its tag, progress, sinks and what to answer.
struct Reverse {
    spec: ReverseSpec,
    tag: u8,
    progress: Arc<TrialProgress>,
    sinks: Vec<SinkHandle>,
    replies: Vec<FlowTuple>,
}

/// Runs one trial (blocking; call it from a thread of its own or `spawn_blocking`).
pub fn run_trial(spec: &TrialSpec) -> Result<TrialResult> {
    validate(spec)?;
    let tag = next_tag();
    let stop = Arc::new(AtomicBool::new(false));
    let progress = TrialProgress::new();
    let learner = spec
        .reverse
        .as_ref()
        .map(|_| Arc::new(FlowLearner::default()));

    // Sinks first, so they see the first frame.
    let sinks = start_sinks(
        &spec.sinks,
        tag,
        &progress,
        spec.late_after,
        learner.clone(),
        &stop,
    )?;
    let mut reverse = None;
    if let Some(r) = &spec.reverse {
        let rtag = next_tag();
        let rprogress = TrialProgress::new();
        match start_sinks(
            std::slice::from_ref(&r.sink),
            rtag,
            &rprogress,
            spec.late_after,
            None,
            &stop,
        ) {
            Ok(rsinks) => {
                reverse = Some(Reverse {
                    spec: r.clone(),
                    tag: rtag,
                    progress: rprogress,
                    sinks: rsinks,
                    replies: Vec::new(),
                })
            }
            Err(e) => {
                let _ = join_sinks(sinks, &mut Vec::new());
                return Err(e);
            }
        }
    }
    if let (Some(r), Some(learner)) = (&mut reverse, &learner) {
        match learn_replies(spec, tag, learner) {
            Ok(replies) => r.replies = replies,
            Err(e) => {
                stop.store(true, Ordering::Release);
                let _ = join_sinks(sinks, &mut Vec::new());
                let _ = join_sinks(std::mem::take(&mut r.sinks), &mut Vec::new());
                return Err(e);
            }
        }
    }

    let gen_spec = spec.clone();
    let end_cell = progress.generator_end_cell();
    let forward = spawn("coo-gen", move || {
        let flows = Flows::Profile(gen_spec.flows.clone());
        generate(&gen_spec, &gen_spec.source, &flows, tag, end_cell)
    });
    let reply_gen = reverse.as_ref().filter(|r| !r.replies.is_empty()).map(|r| {
        let gen_spec = spec.clone();
        let source = r.spec.source.clone();
        let flows = Flows::Replies(r.replies.clone());
        let (rtag, end_cell) = (r.tag, r.progress.generator_end_cell());
        spawn("coo-gen-reverse", move || {
            generate(&gen_spec, &source, &flows, rtag, end_cell)
        })
    });
    let gen_result = join_generator(forward);
    let reply_result = reply_gen.map(join_generator);
    let mut drain = Duration::ZERO;
    if let Ok(g) = &gen_result {
        drain = drain_until_quiet(spec, g.stats.last_send_ns, &progress);
    }
    let mut reverse_drain = Duration::ZERO;
    if let (Some(r), Some(Ok(g))) = (&reverse, &reply_result) {
        reverse_drain = drain_until_quiet(spec, g.stats.last_send_ns, &r.progress);
    }
    stop.store(true, Ordering::Release);
    let mut sink_stats = Vec::new();
    let mut sink_error = join_sinks(sinks, &mut sink_stats);
    let mut reverse_stats = Vec::new();
    if let Some(r) = &mut reverse {
        if let Some(e) = join_sinks(std::mem::take(&mut r.sinks), &mut reverse_stats) {
            sink_error = Some(e);
        }
    }
    let gen = gen_result?;
    if let Some(e) = sink_error {
        return Err(e);
    }
    let mut result = combine(spec, gen, sink_stats);
    result.drain = drain;
    if let Some(r) = reverse {
        let mut back = match reply_result {
            Some(g) => combine(spec, g?, reverse_stats),
            None => {
                let mut none = combine(spec, GenOutcome::nothing(), reverse_stats);
                none.anomalies.push(
                    "no forward frame reached an Outgoing Point while learning the flows to \
                     answer: no reply was sent"
                        .into(),
                );
                none
            }
        };
        back.drain = reverse_drain;
        back.replied_to = r.replies;
        result.reverse = Some(Box::new(back));
    }
    Ok(result)
}

/// Rate and rounds of the learning phase of a bidirectional trial: low enough that a chain
/// which forwards anything at all passes it, two rounds so a single lost frame costs no flow.
const LEARN_PPS: f64 = 20_000.0;
const LEARN_ROUNDS: u64 = 2;

/// Sends every flow [`LEARN_ROUNDS`] times (warm-up tag) and returns the flows the forward
/// sinks saw, waiting until all arrived or nothing new came for 200 ms (at most 2 s).
fn learn_replies(spec: &TrialSpec, tag: u8, learner: &FlowLearner) -> Result<Vec<FlowTuple>> {
    let gen_spec = spec.clone();
    let handle = spawn("coo-gen-learn", move || {
        let flows = Flows::Profile(gen_spec.flows.clone());
        let mut gen = open_generator(
            &gen_spec,
            &gen_spec.source,
            &flows,
            Distribution::RoundRobin,
        )?;
        let frames = u64::from(gen_spec.flows.count) * LEARN_ROUNDS;
        let rate = gen_spec.rate_pps.min(LEARN_PPS);
        gen.run(&Phase {
            tag: tag | 0x80,
            rate_pps: rate,
            frames,
            latency_pps: 0.0,
            deadline: Duration::from_secs_f64(frames as f64 / rate * 2.0 + 1.0),
            end_ns: None,
        })
        .map(|stats| GenOutcome {
            stats,
            tx_delta: None,
        })
    });
    join_generator(handle)?;
    let want = spec.flows.count as usize;
    let start = monotonic_ns();
    let (mut seen, mut changed) = (learner.len(), start);
    loop {
        let now = monotonic_ns();
        if seen >= want || now - changed > 200_000_000 || now - start > 2_000_000_000 {
            return Ok(learner.flows());
        }
        std::thread::sleep(Duration::from_millis(5));
        let n = learner.len();
        if n != seen {
            (seen, changed) = (n, monotonic_ns());
        }
    }
}

/// Waits until no test frame has arrived for `spec.quiet` (counted from the later of the
/// generator's last send and the latest arrival), or `spec.drain` after the last send.
/// Returns the time from the last send to the end of the wait.
fn drain_until_quiet(spec: &TrialSpec, gen_end_ns: u64, progress: &TrialProgress) -> Duration {
    let as_ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    // Nothing sent: measure from now.
    let end = if gen_end_ns == 0 {
        monotonic_ns()
    } else {
        gen_end_ns
    };
    let max_until = end.saturating_add(as_ns(spec.drain));
    let quiet = as_ns(spec.quiet);
    loop {
        let now = monotonic_ns();
        let last = progress.last_rx_ns().unwrap_or(0).max(end);
        let quiet_until = last.saturating_add(quiet).min(max_until);
        if now >= quiet_until {
            return Duration::from_nanos(now.saturating_sub(end));
        }
        // Sinks publish once per ring block (2 ms retire timeout): a few ms of resolution.
        std::thread::sleep(Duration::from_nanos(quiet_until - now).min(Duration::from_millis(5)));
    }
}

/// What a generator sends: the profile's flows, or replies to learned flows.
enum Flows {
    Profile(FlowSpec),
    Replies(Vec<FlowTuple>),
}

fn templates(
    spec: &TrialSpec,
    flows: &Flows,
    src_mac: MacAddr,
) -> Result<(Vec<Vec<Template>>, Vec<usize>)> {
    let cycle = spec.frame_size.cycle();
    let mut sizes: Vec<u16> = cycle.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let index: Vec<usize> = cycle
        .iter()
        .filter_map(|s| sizes.iter().position(|x| x == s))
        .collect();
    let dst = spec.dst_mac.unwrap_or(UNOWNED_MAC);
    let per_flow: Vec<(FlowSpec, u32)> = match flows {
        Flows::Profile(f) => (0..f.count).map(|i| (f.clone(), i)).collect(),
        Flows::Replies(tuples) => tuples.iter().map(|t| (t.reply(), 0)).collect(),
    };
    let mut all = Vec::with_capacity(per_flow.len());
    for (flow, index) in &per_flow {
        let per_size = sizes
            .iter()
            .map(|s| build_template(flow, *index, *s, src_mac, dst))
            .collect::<Result<Vec<_>>>()?;
        all.push(per_size);
    }
    Ok((all, index))
}

/// Enters `source`'s namespace (the calling thread's) and opens a generator of `flows` there.
fn open_generator(
    spec: &TrialSpec,
    source: &Attach,
    flows: &Flows,
    distribution: Distribution,
) -> Result<Generator> {
    enter(source)?;
    let ifname = IfName::new(source.ifname.as_str()).map_err(netsys::IoError::from)?;
    // Qdisc bypass: straight to the driver, drops surface as ENOBUFS (retried).
    let tx = PacketTx::open(
        &ifname,
        &TxConfig {
            batch: MAX_BATCH,
            qdisc_bypass: true,
        },
    )?;
    let src_mac = tx.hw_addr()?;
    let (tpl, cycle) = templates(spec, flows, src_mac)?;
    Generator::new(tx, tpl, cycle, distribution)
}

fn generate(
    spec: &TrialSpec,
    source: &Attach,
    flows: &Flows,
    tag: u8,
    end_cell: Arc<AtomicU64>,
) -> Result<GenOutcome> {
    let mut gen = open_generator(spec, source, flows, spec.flows.distribution)?;
    // A generator that cannot keep up stops near the nominal end and reports what it sent
    // (its shortfall is then visible as a lower achieved rate).
    let deadline = |d: Duration| d + d / 10 + Duration::from_millis(50);
    if !spec.warmup.is_zero() {
        let frames = (spec.rate_pps * spec.warmup.as_secs_f64()).round() as u64;
        gen.run(&Phase {
            tag: tag | 0x80,
            rate_pps: spec.rate_pps,
            frames,
            latency_pps: 0.0,
            deadline: deadline(spec.warmup),
            end_ns: None,
        })?;
    }
    let before = if_counters(&source.ifname).ok();
    let frames = (spec.rate_pps * spec.duration.as_secs_f64())
        .round()
        .max(1.0) as u64;
    let stats = gen.run(&Phase {
        tag,
        rate_pps: spec.rate_pps,
        frames,
        latency_pps: spec.latency_stream_pps,
        deadline: deadline(spec.duration),
        end_ns: Some(end_cell),
    })?;
    let after = if_counters(&source.ifname).ok();
    let tx_delta = match (before, after) {
        (Some(b), Some(a)) => Some(a.tx_packets.saturating_sub(b.tx_packets)),
        _ => None,
    };
    Ok(GenOutcome { stats, tx_delta })
}

fn combine(spec: &TrialSpec, gen: GenOutcome, sinks: Vec<SinkStats>) -> TrialResult {
    let mut anomalies = Vec::new();
    let mut merged: Vec<SeqTracker> = vec![SeqTracker::default(); 256];
    let mut latency = new_histogram();
    let mut load_latency = new_histogram();
    let (mut foreign, mut other, mut drops, mut late) = (0, 0, 0, 0);
    let mut last_rx: Option<u64> = None;
    for s in &sinks {
        for (m, t) in merged.iter_mut().zip(&s.streams) {
            m.merge(t);
        }
        let _ = latency.add(&s.probe_latency);
        let _ = load_latency.add(&s.load_latency);
        foreign += s.foreign;
        other += s.other;
        drops += s.drops;
        late += s.late;
        last_rx = last_rx.max(s.last_rx_ns);
    }
    let mut streams = Vec::new();
    for (id, tracker) in merged.iter().enumerate() {
        let sent = gen.stats.sent_per_stream.get(id).copied().unwrap_or(0);
        if sent == 0 && tracker.unique == 0 && tracker.duplicated == 0 {
            continue;
        }
        match StreamStats::from_tracker(id as u8, sent, tracker) {
            Ok(s) => streams.push(s),
            Err(e) => {
                anomalies.push(e);
                streams.push(StreamStats {
                    stream: id as u8,
                    sent,
                    received: tracker.unique,
                    lost: sent.saturating_sub(tracker.unique),
                    duplicated: tracker.duplicated,
                    reordered: tracker.reordered,
                });
            }
        }
    }
    let sum = |f: fn(&StreamStats) -> u64| streams.iter().map(f).sum::<u64>();
    let sent = gen.stats.sent;
    if let Some(tx) = gen.tx_delta {
        // Other kernel traffic (IPv6 ND, ...) may add a few frames; never fewer than sent.
        if tx < sent || tx > sent + 64 + sent / 10_000 {
            anomalies.push(format!(
                "generator sent {sent} frames but the interface counted {tx}"
            ));
        }
    }
    let elapsed = Duration::from_nanos(gen.stats.elapsed_ns);
    let load_sent = sent - gen.stats.sent_per_stream.get(255).copied().unwrap_or(0);
    let achieved = if elapsed.is_zero() {
        0.0
    } else {
        load_sent as f64 / elapsed.as_secs_f64()
    };
    TrialResult {
        requested_pps: spec.rate_pps,
        sent,
        received: sum(|s| s.received),
        lost: sum(|s| s.lost),
        duplicated: sum(|s| s.duplicated),
        reordered: sum(|s| s.reordered),
        streams,
        foreign_frames: foreign,
        other_frames: other,
        sink_drops: drops,
        tx_retries: gen.stats.retries,
        elapsed,
        achieved_pps: achieved,
        generator_gave_up: gen.stats.gave_up,
        latency,
        load_latency,
        source_tx_packets: gen.tx_delta,
        late_frames: late,
        drain: Duration::ZERO,
        last_frame_after_end: last_rx
            .map(|t| Duration::from_nanos(t.saturating_sub(gen.stats.last_send_ns))),
        generator: gen.stats.timing.clone(),
        anomalies,
        reverse: None,
        replied_to: Vec::new(),
    }
}
