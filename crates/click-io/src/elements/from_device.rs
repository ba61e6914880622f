//! FromDevice / FromDPDKDevice: frames from a Linux interface into the router.

use std::os::fd::AsRawFd;
use std::sync::Arc;

use click::args::{self, Kind};
use click::element::{ReadResult, WriteResult};
use click::packet::PacketType;
use click::{ConfigureCx, Ctx, Element, HandlerSpec, Packet, Timestamp};

use super::{resolve_device, IoOptions};
use crate::mode::IoMode;
use netsys::IfName;
use netsys::{PacketRx, RxConfig};

/// Receives frames with a TPACKET ring and pushes them out of output 0 in batches.
pub struct FromDeviceElement {
    dpdk: bool,
    opts: Arc<IoOptions>,
    ifname: Option<IfName>,
    rx_cfg: RxConfig,
    burst: usize,
    timestamp: bool,
    headroom: usize,
    active: bool,
    rx: Option<PacketRx>,
    /// Ring counter values at the last `reset_*` (handlers report the difference).
    count_base: u64,
    bytes_base: u64,
}

const FROM_DEVICE_ARGS: &[(&str, Kind)] = &[
    ("DEVNAME", Kind::Mp),
    ("PROMISC", Kind::P),
    ("SNAPLEN", Kind::P),
    ("SNIFFER", Kind::K),
    ("FORCE_IP", Kind::K),
    ("METHOD", Kind::K),
    ("CAPTURE", Kind::K),
    ("BPF_FILTER", Kind::K),
    ("PROTOCOL", Kind::K),
    ("OUTBOUND", Kind::K),
    ("HEADROOM", Kind::K),
    ("ENCAP", Kind::K),
    ("BURST", Kind::K),
    ("TIMESTAMP", Kind::K),
    ("ACTIVE", Kind::K),
];

const FROM_DPDK_ARGS: &[(&str, Kind)] = &[
    ("PORT", Kind::Mp),
    ("QUEUE", Kind::P),
    ("PROMISC", Kind::K),
    ("BURST", Kind::K),
    ("TIMESTAMP", Kind::K),
    ("ACTIVE", Kind::K),
    ("OUTBOUND", Kind::K),
    ("HEADROOM", Kind::K),
];

impl FromDeviceElement {
    /// `dpdk`: the FromDPDKDevice flavour (port number into `opts.ports`).
    pub fn new(dpdk: bool, opts: Arc<IoOptions>) -> Self {
        let mode = opts.mode;
        let rx_cfg = crate::mode::rx_config(mode, opts.rx_bytes);
        FromDeviceElement {
            dpdk,
            opts,
            ifname: None,
            rx_cfg,
            burst: default_burst(mode),
            timestamp: true,
            headroom: click::packet::DEFAULT_HEADROOM,
            active: true,
            rx: None,
            count_base: 0,
            bytes_base: 0,
        }
    }

    /// The interface, once configured.
    pub fn ifname(&self) -> Option<&IfName> {
        self.ifname.as_ref()
    }

    /// (packets, bytes) received since the last reset.
    fn counts(&mut self) -> (u64, u64) {
        let c = self.rx.as_mut().map(|r| r.counters()).unwrap_or_default();
        (
            c.packets.saturating_sub(self.count_base),
            c.bytes.saturating_sub(self.bytes_base),
        )
    }

    fn reset(&mut self, packets: bool, bytes: bool) {
        let c = self.rx.as_mut().map(|r| r.counters()).unwrap_or_default();
        if packets {
            self.count_base = c.packets;
        }
        if bytes {
            self.bytes_base = c.bytes;
        }
    }
}

pub(crate) fn default_burst(mode: IoMode) -> usize {
    match mode {
        IoMode::Balanced | IoMode::Throughput => 64,
        IoMode::Latency => 32,
    }
}

fn packet_type(t: u8) -> PacketType {
    match t {
        1 => PacketType::Broadcast,
        2 => PacketType::Multicast,
        3 => PacketType::OtherHost,
        4 => PacketType::Outgoing,
        5 => PacketType::Loopback,
        _ => PacketType::Host,
    }
}

impl Element for FromDeviceElement {
    click::element_class! {
        self =>
        class: if self.dpdk { "FromDPDKDevice" } else { "FromDevice" },
        ports: "0/1",
        processing: "h",
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let spec = if self.dpdk {
            FROM_DPDK_ARGS
        } else {
            FROM_DEVICE_ARGS
        };
        // FastClick's DPDK elements take many tuning keywords; accept and ignore the rest.
        let b = if self.dpdk {
            args::bind_rest(conf, spec)?
        } else {
            args::bind(conf, spec)?
        };
        if self.dpdk && !b.rest.is_empty() {
            cx.warnings
                .push(format!("ignoring arguments {}", b.rest.join(", ")));
        }
        let dev = b
            .str(if self.dpdk { "PORT" } else { "DEVNAME" })
            .unwrap_or("");
        self.ifname = Some(resolve_device(self.dpdk, dev, &self.opts)?);
        if let Some(p) = b.bool("PROMISC")? {
            self.rx_cfg.promisc = p;
        }
        if let Some(o) = b.bool("OUTBOUND")? {
            self.rx_cfg.ignore_outgoing = !o;
        }
        if let Some(n) = b.u64("BURST")? {
            if n == 0 {
                return Err("BURST must be at least 1".into());
            }
            self.burst = (n as usize).min(1024);
        }
        if let Some(t) = b.bool("TIMESTAMP")? {
            self.timestamp = t;
        }
        if let Some(h) = b.u64("HEADROOM")? {
            self.headroom = (h as usize).min(4096);
        }
        if let Some(a) = b.bool("ACTIVE")? {
            self.active = a;
        }
        if b.str("BPF_FILTER")
            .is_some_and(|f| !args::unquote(f).trim().is_empty())
        {
            cx.warnings
                .push("BPF_FILTER is not supported; receiving every frame".into());
        }
        if let Some(e) = b.str("ENCAP") {
            if !e.trim().eq_ignore_ascii_case("ETHER") {
                return Err(format!("ENCAP {e}: only ETHER is supported"));
            }
        }
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let Some(ifname) = self.ifname.clone() else {
            return Err("not configured".into());
        };
        let rx = PacketRx::open(&ifname, &self.rx_cfg).map_err(|e| e.to_string())?;
        self.rx = Some(rx);
        if self.active {
            ctx.reschedule();
        }
        Ok(())
    }
    fn has_task(&self) -> bool {
        true
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if !self.active {
            return false;
        }
        let Some(rx) = self.rx.as_mut() else {
            return false;
        };
        if !rx.ready() {
            // Nothing to read: leave the run queue; the driver polls io_fd().
            return false;
        }
        let mut batch = Vec::with_capacity(self.burst);
        let (headroom, ts) = (self.headroom, self.timestamp);
        let got = rx.recv_frames(self.burst, |fr| {
            let mut p = Packet::make(headroom, fr.data, 0);
            p.set_mac_header(0);
            p.packet_type = packet_type(fr.pkttype);
            if ts {
                p.timestamp = Timestamp(fr.timestamp_ns);
            }
            batch.push(p);
        });
        if got > 0 {
            ctx.output(0, batch);
        }
        // A short batch means the ring is drained: leave the run queue; the driver polls
        // io_fd() (spinning first in latency mode) and schedules us again.
        if got == self.burst || rx.ready() {
            ctx.reschedule();
        }
        got > 0
    }
    fn io_fd(&self) -> Option<i32> {
        self.rx.as_ref().map(|r| r.as_raw_fd())
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("count"),
            HandlerSpec::r("in_bytes"),
            HandlerSpec::r("byte_count"),
            HandlerSpec::r("kernel_drops"),
            HandlerSpec::r("device"),
            HandlerSpec::r("encap"),
            HandlerSpec::rw("burst"),
            HandlerSpec::rw("active"),
            HandlerSpec::w("reset_counts"),
            HandlerSpec::w("reset_count"),
            HandlerSpec::w("reset_in_bytes"),
        ]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        let v = match name {
            "count" => self.counts().0.to_string(),
            "in_bytes" | "byte_count" => self.counts().1.to_string(),
            "kernel_drops" => self
                .rx
                .as_mut()
                .map(|r| r.counters().kernel_drops)
                .unwrap_or(0)
                .to_string(),
            "device" => self
                .ifname
                .as_ref()
                .map(|i| i.to_string())
                .unwrap_or_default(),
            "encap" => "ETHER".into(),
            "burst" => self.burst.to_string(),
            "active" => self.active.to_string(),
            _ => return None,
        };
        Some(Ok(v))
    }
    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        match name {
            "reset_counts" | "reset_count" => self.reset(true, true),
            "reset_in_bytes" => self.reset(false, true),
            "burst" => match args::parse_u64(value) {
                Some(n) if n > 0 => self.burst = (n as usize).min(1024),
                _ => return Some(Err("burst: expected positive integer".into())),
            },
            "active" => match args::parse_bool(value) {
                Some(a) => {
                    self.active = a;
                    if a {
                        ctx.reschedule();
                    }
                }
                None => return Some(Err("active: expected boolean".into())),
            },
            _ => return None,
        }
        Some(Ok(()))
    }
}
