//! ToDevice (pull) / ToDPDKDevice (push): frames from the router onto a Linux interface.

use std::collections::VecDeque;
use std::sync::Arc;

use click::args::{self, Kind};
use click::element::{ReadResult, WriteResult};
use click::{ConfigureCx, Ctx, Element, HandlerSpec, Packet};

use super::from_device::default_burst;
use super::{resolve_device, IoOptions};
use netsys::IfName;
use netsys::{PacketTx, TxConfig};

/// Sends frames with `sendmmsg`. ToDevice pulls from its input (Click's `l`); ToDPDKDevice
/// takes pushes (Click's `h`) and keeps up to IQUEUE frames while the device is busy.
pub struct ToDeviceElement {
    dpdk: bool,
    opts: Arc<IoOptions>,
    ifname: Option<IfName>,
    burst: usize,
    iqueue: usize,
    tx: Option<PacketTx>,
    pending: VecDeque<Packet>,
    /// Frames refused by the device or dropped because the internal queue was full.
    dropped: u64,
    sent_base: u64,
    bytes_base: u64,
    dropped_base: u64,
}

const TO_DEVICE_ARGS: &[(&str, Kind)] = &[
    ("DEVNAME", Kind::Mp),
    ("BURST", Kind::K),
    ("METHOD", Kind::K),
    ("DEBUG", Kind::K),
    ("QUIET", Kind::K),
    ("ALLOW_NONEXISTENT", Kind::K),
];

const TO_DPDK_ARGS: &[(&str, Kind)] = &[
    ("PORT", Kind::Mp),
    ("QUEUE", Kind::P),
    ("IQUEUE", Kind::K),
    ("BLOCKING", Kind::K),
    ("BURST", Kind::K),
    ("TIMEOUT", Kind::K),
];

impl ToDeviceElement {
    /// `dpdk`: the ToDPDKDevice flavour (port number into `opts.ports`, push input).
    pub fn new(dpdk: bool, opts: Arc<IoOptions>) -> Self {
        let burst = default_burst(opts.mode);
        ToDeviceElement {
            dpdk,
            opts,
            ifname: None,
            burst,
            iqueue: 1024,
            tx: None,
            pending: VecDeque::new(),
            dropped: 0,
            sent_base: 0,
            bytes_base: 0,
            dropped_base: 0,
        }
    }

    /// The interface, once configured.
    pub fn ifname(&self) -> Option<&IfName> {
        self.ifname.as_ref()
    }

    /// Sends queued frames; returns whether any left the queue.
    fn flush(&mut self) -> bool {
        let Some(tx) = self.tx.as_mut() else {
            return false;
        };
        let mut any = false;
        while !self.pending.is_empty() {
            let (a, _) = self.pending.as_slices();
            let n = tx.send_batch_with(a, |p: &Packet| p.data());
            if n == 0 {
                break;
            }
            any = true;
            self.pending.drain(..n);
        }
        any
    }

    /// Sends `batch` now, queueing what the device did not take (bounded by `limit`).
    fn send(&mut self, batch: Vec<Packet>, limit: usize) {
        if !self.pending.is_empty() {
            self.flush();
        }
        let Some(tx) = self.tx.as_mut() else {
            self.dropped += batch.len() as u64;
            return;
        };
        let done = if self.pending.is_empty() {
            tx.send_batch_with(&batch, |p: &Packet| p.data())
        } else {
            0
        };
        for p in batch.into_iter().skip(done) {
            if self.pending.len() < limit {
                self.pending.push_back(p);
            } else {
                self.dropped += 1;
            }
        }
    }

    fn stats(&self) -> (u64, u64, u64) {
        let c = self.tx.as_ref().map(|t| t.counters()).unwrap_or_default();
        (
            c.packets.saturating_sub(self.sent_base),
            c.bytes.saturating_sub(self.bytes_base),
            (self.dropped + c.errors).saturating_sub(self.dropped_base),
        )
    }
}

impl Element for ToDeviceElement {
    click::element_class! {
        self =>
        class: if self.dpdk { "ToDPDKDevice" } else { "ToDevice" },
        ports: "1/0",
        processing: if self.dpdk { "h" } else { "l" },
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = if self.dpdk {
            args::bind_rest(conf, TO_DPDK_ARGS)?
        } else {
            args::bind(conf, TO_DEVICE_ARGS)?
        };
        if self.dpdk && !b.rest.is_empty() {
            cx.warnings
                .push(format!("ignoring arguments {}", b.rest.join(", ")));
        }
        let dev = b
            .str(if self.dpdk { "PORT" } else { "DEVNAME" })
            .unwrap_or("");
        self.ifname = Some(resolve_device(self.dpdk, dev, &self.opts)?);
        if let Some(n) = b.u64("BURST")? {
            if n == 0 {
                return Err("BURST must be at least 1".into());
            }
            self.burst = (n as usize).min(1024);
        }
        if let Some(n) = b.u64("IQUEUE")? {
            self.iqueue = (n as usize).clamp(1, 1 << 20);
        }
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let Some(ifname) = self.ifname.clone() else {
            return Err("not configured".into());
        };
        let cfg = TxConfig {
            batch: self.burst.max(32),
            qdisc_bypass: true,
        };
        self.tx = Some(PacketTx::open(&ifname, &cfg).map_err(|e| e.to_string())?);
        if !self.dpdk {
            ctx.reschedule();
        }
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: Vec<Packet>, ctx: &mut Ctx<'_>) {
        let limit = self.iqueue;
        self.send(batch, limit);
        if !self.pending.is_empty() {
            ctx.reschedule();
        }
    }
    fn has_task(&self) -> bool {
        true
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let mut work = false;
        if !self.pending.is_empty() {
            work = self.flush();
            if !self.pending.is_empty() {
                // Device busy: try again next round instead of pulling more.
                ctx.reschedule();
                return work;
            }
        }
        if self.dpdk {
            return work;
        }
        let batch = ctx.pull(0, self.burst);
        if batch.is_empty() {
            // Sleep until the upstream Queue wakes us (or spin when there is none).
            if ctx.upstream_active() {
                ctx.reschedule();
            }
            return work;
        }
        let full = batch.len() == self.burst;
        let limit = self.burst;
        self.send(batch, limit);
        if full || !self.pending.is_empty() || ctx.upstream_active() {
            ctx.reschedule();
        }
        true
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("count"),
            HandlerSpec::r("n_sent"),
            HandlerSpec::r("out_bytes"),
            HandlerSpec::r("byte_count"),
            HandlerSpec::r("n_dropped"),
            HandlerSpec::r("dropped"),
            HandlerSpec::r("device"),
            HandlerSpec::r("q"),
            HandlerSpec::rw("burst"),
            HandlerSpec::w("reset_counts"),
        ]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        let (sent, bytes, dropped) = self.stats();
        let v = match name {
            "count" | "n_sent" => sent.to_string(),
            "out_bytes" | "byte_count" => bytes.to_string(),
            "n_dropped" | "dropped" => dropped.to_string(),
            "device" => self
                .ifname
                .as_ref()
                .map(|i| i.to_string())
                .unwrap_or_default(),
            "q" => self.pending.len().to_string(),
            "burst" => self.burst.to_string(),
            _ => return None,
        };
        Some(Ok(v))
    }
    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        match name {
            "reset_counts" => {
                let c = self.tx.as_ref().map(|t| t.counters()).unwrap_or_default();
                self.sent_base = c.packets;
                self.bytes_base = c.bytes;
                self.dropped_base = self.dropped + c.errors;
            }
            "burst" => match args::parse_u64(value) {
                Some(n) if n > 0 => self.burst = (n as usize).min(1024),
                _ => return Some(Err("burst: expected positive integer".into())),
            },
            _ => return None,
        }
        Some(Ok(()))
    }
    fn cleanup(&mut self, _ctx: &mut Ctx<'_>) {
        self.flush();
    }
}
