//! The real trial runner (the `traffic` crate's generator and sinks) and the real agents
//! (`vnf-client` over each VNF's REST API).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use measure::report::{DirectionLatency, FrameSize, TrialSettings};
use measure::{GeneratorTiming, HostUsage, LatencySummary, SoundnessFlag, TrialRecord};
use topology::EngineSpec;
use vnf_client::{Counters, VnfClient};

use crate::nf::CounterReads;
use crate::{Agents, TrafficPath, TrialInput, TrialOutput, TrialRunner, VariantPlan};

/// The generator's flows for a topology's traffic profile (one conversion for `run` and tests).
pub fn flow_spec(topo: &topology::Topology) -> traffic::FlowSpec {
    use topology::traffic as t;
    let f = &topo.traffic.flows;
    traffic::FlowSpec {
        protocol: match topo.traffic.protocol {
            t::Protocol::Udp => traffic::Protocol::Udp,
            t::Protocol::Tcp => traffic::Protocol::Tcp,
            t::Protocol::Icmp => traffic::Protocol::Icmp,
        },
        count: f.count,
        src_ip: f.src_ip,
        dst_ip: f.dst_ip,
        src_port: f.src_port,
        dst_port: f.dst_port,
        vary: f
            .vary
            .iter()
            .map(|v| match v {
                t::FlowField::SrcIp => traffic::FlowField::SrcIp,
                t::FlowField::DstIp => traffic::FlowField::DstIp,
                t::FlowField::SrcPort => traffic::FlowField::SrcPort,
                t::FlowField::DstPort => traffic::FlowField::DstPort,
            })
            .collect(),
        distribution: match f.distribution {
            t::Distribution::RoundRobin => traffic::Distribution::RoundRobin,
            t::Distribution::Random => traffic::Distribution::Random,
        },
    }
}

/// Where the generator and the sinks attach, and how trials end.
pub struct TrafficRunner {
    /// Generator on the chain's Incoming Point, sinks on its Outgoing Points.
    pub chain: (traffic::Attach, Vec<traffic::Attach>),
    /// Generator and sink on the direct ceiling veth (None: no ceiling link).
    pub ceiling: Option<(traffic::Attach, traffic::Attach)>,
    pub flows: traffic::FlowSpec,
    /// Bidirectional runs: where the reply generator (Outgoing Point) and the reply sink
    /// (Incoming Point) attach; chain trials then send both ways (the ceiling stays forward).
    pub reverse: Option<traffic::ReverseSpec>,
    pub trial: TrialSettings,
    /// Processes of the measurement (agents; their engines are found as descendants), so the
    /// host sampler can tell other processes' CPU use apart.
    pub pids: Vec<i32>,
}

impl TrialRunner for TrafficRunner {
    fn run(&mut self, input: &TrialInput) -> TrialOutput {
        let (source, sinks) = match (input.path, &self.ceiling) {
            (TrafficPath::Chain, _) => (self.chain.0.clone(), self.chain.1.clone()),
            (TrafficPath::Ceiling, Some((g, s))) => (g.clone(), vec![s.clone()]),
            (TrafficPath::Ceiling, None) => {
                return TrialOutput {
                    record: crate::rounds::broken_record(
                        input.offered_pps(),
                        input.duration_s,
                        "this testbed has no ceiling link",
                    ),
                    ..Default::default()
                }
            }
        };
        let frame_size = match input.frame_size {
            FrameSize::Bytes(b) => traffic::FrameSizes::Fixed(u16::try_from(b).unwrap_or(u16::MAX)),
            FrameSize::Imix(_) => traffic::FrameSizes::Imix,
        };
        let mut spec = traffic::TrialSpec::new(
            source,
            sinks,
            input.load_pps.max(1.0),
            Duration::from_secs_f64(input.duration_s),
        );
        spec.flows = self.flows.clone();
        spec.frame_size = frame_size;
        spec.latency_stream_pps = input.probe_pps;
        // None = a MAC nobody owns: kernel IP stacks in the VNF namespaces drop the frames at
        // once (PACKET_OTHERHOST) instead of routing each one; bridges flood to their one
        // other port; AF_PACKET NFs see every frame anyway.
        spec.dst_mac = None;
        spec.drain = Duration::from_secs_f64(self.trial.drain_max_s);
        spec.quiet = Duration::from_secs_f64(self.trial.drain_quiet_ms / 1e3);
        spec.late_after = Duration::from_secs_f64(self.trial.late_after_ms / 1e3);
        if input.path == TrafficPath::Chain {
            spec.reverse = self.reverse.clone();
        }
        let sampler = traffic::host::HostSampler::start(self.pids.clone()).ok();
        let result = traffic::run_trial(&spec);
        let host = sampler.and_then(|s| s.finish().ok()).map(host_usage);
        match result {
            Ok(r) => {
                let mut record = self.record_of(&r);
                record.host = host;
                record.reverse = r
                    .reverse
                    .as_deref()
                    .map(|back| Box::new(self.record_of(back)));
                TrialOutput {
                    probe: LatencySummary::from_histogram(&r.latency),
                    load: LatencySummary::from_histogram(&r.load_latency),
                    reverse: r.reverse.as_deref().map(|back| DirectionLatency {
                        probe: LatencySummary::from_histogram(&back.latency),
                        load: LatencySummary::from_histogram(&back.load_latency),
                    }),
                    record,
                }
            }
            Err(e) => {
                let mut record = crate::rounds::broken_record(
                    input.offered_pps(),
                    input.duration_s,
                    &e.to_string(),
                );
                record.host = host;
                TrialOutput {
                    record,
                    ..Default::default()
                }
            }
        }
    }
}

impl TrafficRunner {
    /// One direction's record (no host usage: the caller adds it once per trial).
    fn record_of(&self, r: &traffic::TrialResult) -> TrialRecord {
        let elapsed = r.elapsed.as_secs_f64();
        let mut record = TrialRecord {
            sent: r.sent,
            received: r.received,
            lost: r.lost,
            duplicated: r.duplicated,
            reordered: r.reordered,
            sink_drops: r.sink_drops,
            // Offered load = load + probe: both count against the request.
            achieved_tx_pps: if elapsed > 0.0 {
                r.sent as f64 / elapsed
            } else {
                0.0
            },
            elapsed_s: elapsed,
            late_frames: r.late_frames,
            drain_s: r.drain.as_secs_f64(),
            generator: Some(GeneratorTiming {
                max_lateness_us: r.generator.max_lateness_ns as f64 / 1e3,
                max_burst_frames: r.generator.max_burst_frames,
                catchup_frames: r.generator.catchup_frames,
                stalls_over_1ms: r.generator.stalls_over_1ms,
            }),
            ..Default::default()
        };
        if r.late_frames > 0 {
            // A frame still queued that long after the last send means the queues grew
            // during the trial: the chain did not forward the offered load. Counting it
            // as received would make the NDR depend on buffer depth and trial length.
            let late = r.late_frames.min(record.received);
            record.received -= late;
            record.lost += late;
            record.warnings.push(format!(
                "{} frames arrived more than {} ms after the last frame was sent: counted as lost",
                r.late_frames, self.trial.late_after_ms
            ));
        }
        for a in &r.anomalies {
            record
                .flags
                .push(SoundnessFlag::CountersDisagree { detail: a.clone() });
        }
        record
    }
}

fn host_usage(h: traffic::host::HostUsage) -> HostUsage {
    HostUsage {
        steal_pct: h.steal_pct,
        softirq_pct: h.softirq_pct,
        busy_pct: h.busy_pct,
        other_cpu_pct: h.other_cpu_pct,
        loadavg_1m: h.loadavg_1m,
    }
}

/// The VNFs' agents over their REST API.
pub struct VnfAgents<'a> {
    pub clients: BTreeMap<String, VnfClient>,
    /// VNFs booting their own disk image: they speak only the COO API.
    pub coo_only: BTreeSet<String>,
    pub rt: &'a tokio::runtime::Runtime,
    /// Where to keep the exact configuration each engine ran (None: not kept).
    pub configs: Option<ConfigArchive>,
}

/// Keeps the configuration each engine was given: the agent runs a snapshot of it from
/// `<workdir>/running/` (rewritten for reference Click), which is copied after every start to
/// `<dir>/configs/<variant>/<vnf>.click` ([`ConfigArchive::relative`]).
pub struct ConfigArchive {
    /// The report's directory.
    pub dir: std::path::PathBuf,
    /// VNF id → its agent's workdir (readable from here: netns driver).
    pub workdirs: BTreeMap<String, std::path::PathBuf>,
}

impl ConfigArchive {
    /// Path of a kept configuration, relative to the report's directory.
    pub fn relative(variant: &str, vnf: &str) -> String {
        format!("configs/{variant}/{vnf}.click")
    }

    /// Copies the snapshot the engine of `vnf` runs; false when there is none (kernel-forward,
    /// VM guests).
    fn keep(&self, variant: &str, vnf: &str) -> bool {
        let Some(workdir) = self.workdirs.get(vnf) else {
            return false;
        };
        let Ok(mut entries) = std::fs::read_dir(workdir.join("running")) else {
            return false;
        };
        let Some(Ok(snapshot)) = entries.next() else {
            return false;
        };
        let to = self.dir.join(Self::relative(variant, vnf));
        to.parent()
            .is_some_and(|p| std::fs::create_dir_all(p).is_ok())
            && std::fs::copy(snapshot.path(), &to).is_ok()
    }
}

impl Agents for VnfAgents<'_> {
    fn configure(&mut self, variant: &VariantPlan) -> Result<BTreeMap<String, String>, String> {
        let versions = self
            .rt
            .block_on(configure(&self.clients, &self.coo_only, variant))?;
        if let Some(archive) = &self.configs {
            for vnf in &variant.vnfs {
                if vnf.engine != EngineSpec::KernelForward {
                    archive.keep(&variant.name, vnf.id.as_str());
                }
            }
        }
        Ok(versions)
    }

    fn counters(&mut self) -> CounterReads {
        self.rt
            .block_on(read_counters(&self.clients, &self.coo_only))
    }

    fn stop_all(&mut self) {
        self.rt.block_on(async {
            for c in self.clients.values() {
                let _ = c.stop().await;
            }
        })
    }

    fn coo_only(&self) -> BTreeSet<String> {
        self.coo_only.clone()
    }
}

async fn read_counters(
    clients: &BTreeMap<String, VnfClient>,
    coo_only: &BTreeSet<String>,
) -> CounterReads {
    let mut out = BTreeMap::new();
    for (id, c) in clients {
        let r = if coo_only.contains(id) {
            // COO has no counters: only whether Click runs (no interfaces = nothing to count).
            c.running().await.map(|running| Counters {
                engine: "image".into(),
                running,
                elements: Vec::new(),
                interfaces: Vec::new(),
            })
        } else {
            c.counters().await
        };
        out.insert(id.clone(), r.map_err(|e| e.to_string()));
    }
    out
}

/// Switches every VNF to the variant's engine and function and starts it; returns engine
/// name → version.
async fn configure(
    clients: &BTreeMap<String, VnfClient>,
    coo_only: &BTreeSet<String>,
    plan: &VariantPlan,
) -> Result<BTreeMap<String, String>, String> {
    let mut versions = BTreeMap::new();
    for vnf in &plan.vnfs {
        let (id, engine, function) = (vnf.id.as_str(), &vnf.engine, &vnf.function);
        let c = clients
            .get(id)
            .ok_or_else(|| format!("VNF {id}: no agent"))?;
        let _ = c.stop().await;
        if coo_only.contains(id) {
            configure_coo(c, id, function).await?;
            continue;
        }
        let spec = engine.to_string();
        c.set_engine(&spec)
            .await
            .map_err(|e| format!("VNF {id}: select engine {spec}: {e}"))?;
        c.set_engine_options(&vnf.options)
            .await
            .map_err(|e| format!("VNF {id}: engine options {}: {e}", vnf.options.describe()))?;
        if *engine != EngineSpec::KernelForward {
            let text = std::fs::read_to_string(function)
                .map_err(|e| format!("VNF {id}: read {}: {e}", function.display()))?;
            c.put_function(&text)
                .await
                .map_err(|e| format!("VNF {id}: install {}: {e}", function.display()))?;
        }
        c.start()
            .await
            .map_err(|e| format!("VNF {id}: start {spec}: {e}"))?;
        let mut running = false;
        for _ in 0..50 {
            if c.health().await.map(|h| h.running).unwrap_or(false) {
                running = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !running {
            let log = c.log().await.unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            return Err(format!(
                "VNF {id}: engine {spec} is not running after start; log tail: {}",
                tail.join(" | ")
            ));
        }
        if let Ok(v) = c.version().await {
            versions.entry(spec).or_insert(v);
        }
    }
    Ok(versions)
}

/// A VNF on its own image, through the COO API only: write the function, start, and wait
/// until `running` says so.
async fn configure_coo(c: &VnfClient, id: &str, function: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(function)
        .map_err(|e| format!("VNF {id}: read {}: {e}", function.display()))?;
    c.write_file("func.click", &text)
        .await
        .map_err(|e| format!("VNF {id}: COO write_file: {e}"))?;
    c.start()
        .await
        .map_err(|e| format!("VNF {id}: COO start: {e}"))?;
    for _ in 0..50 {
        if c.running().await.unwrap_or(false) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = c.log().await.unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(5).collect();
    Err(format!(
        "VNF {id}: Click is not running after COO start; log tail: {}",
        tail.join(" | ")
    ))
}
