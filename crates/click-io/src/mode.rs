//! Throughput versus latency I/O mode: the mode itself is part of the API (`coo_api::IoMode`,
//! set per VNF in topologies); how it maps onto rings and bursts lives here.

pub use coo_api::{IoMode, UnknownIoMode};

use netsys::{RxConfig, RxRing};

/// The receive ring of `mode` with about `rx_bytes` of memory (None: the default 8 MiB, the
/// receive buffer every engine gets by default, `coo_api::options::DEFAULT_RX_BUFFER_KIB`):
/// blocks (TPACKET_V3) for throughput, per-frame slots (TPACKET_V2) for balanced and latency.
pub fn rx_config(mode: IoMode, rx_bytes: Option<usize>) -> RxConfig {
    let bytes = rx_bytes.unwrap_or(coo_api::options::DEFAULT_RX_BUFFER_KIB as usize * 1024);
    match mode {
        IoMode::Throughput => RxConfig::blocks_of(bytes),
        IoMode::Balanced | IoMode::Latency => RxConfig::per_frame_of(bytes),
    }
}

/// Receive ring, burst and idle behaviour of `mode` with `rx_bytes` of ring (None: the
/// default size), in words for reports.
pub fn describe(mode: IoMode, rx_bytes: Option<usize>) -> String {
    let ring = match rx_config(mode, rx_bytes).ring {
        RxRing::V3 {
            block_size,
            block_count,
            retire_tov_ms,
        } => format!(
            "TPACKET_V3 ring {block_count} x {} KiB, block timer {retire_tov_ms} ms",
            block_size / 1024
        ),
        RxRing::V2 {
            frame_size,
            frame_count,
        } => format!("TPACKET_V2 ring {frame_count} x {} KiB", frame_size / 1024),
    };
    let idle = match mode {
        IoMode::Latency => "busy-polls up to 1 ms when idle (adaptive), then poll()",
        _ => "sleeps in poll() when idle",
    };
    format!(
        "coo-click {} I/O: {ring}, burst {}, sendmmsg TX, {idle}",
        mode.as_str(),
        crate::elements::default_burst(mode)
    )
}
