//! How each engine does its I/O, in words for reports: what a reader needs to judge whether a
//! comparison of engines was like for like (issue #14).

use click_io::IoMode;
use coo_api::EngineOptions;

use crate::engine::EngineSpec;
use crate::{fastclick, rewrite};

/// An engine's I/O as it runs under this agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoProfile {
    /// Method, buffers, batching and idle behaviour.
    pub io: String,
    /// The engine busy-polls its CPU whether or not frames arrive.
    pub polls: bool,
    /// Kernel receive buffer per interface, KiB (None: no user-space engine).
    pub rx_buffer_kib: Option<u32>,
}

/// The I/O profile of `engine` under `options`; `io_mode` is the agent's `--io-mode` (the
/// default for coo-click when the options set none).
pub fn io_profile(
    engine: &EngineSpec,
    io_mode: Option<&str>,
    options: &EngineOptions,
) -> IoProfile {
    let kib = options.rx_buffer_bytes() / 1024;
    let rx_buffer_kib = u32::try_from(kib).ok();
    let burst = |own: &str| match options.burst {
        Some(b) => format!("BURST {b} (topology)"),
        None => own.to_owned(),
    };
    match engine {
        EngineSpec::CooClick => {
            let mode = options
                .io
                .or_else(|| io_mode.and_then(|m| m.parse::<IoMode>().ok()))
                .unwrap_or_default();
            let mut io = click_io::describe_io(mode, Some(options.rx_buffer_bytes()));
            if let Some(b) = options.burst {
                io.push_str(&format!("; BURST {b} on every device element (topology)"));
            }
            IoProfile {
                io,
                polls: false,
                rx_buffer_kib,
            }
        }
        EngineSpec::ReferenceClick | EngineSpec::External(_) => IoProfile {
            io: format!(
                "Click FromDevice(METHOD LINUX, SNIFFER false, {b}) -> Queue({q}) -> ToDevice({b}) \
                 (the function's own BURST, PROMISC and IQUEUE kept); packet sockets with SO_RCVBUF/\
                 SO_SNDBUF forced to {kib} KiB by the agent, sleeps in select() when idle",
                b = burst(&format!("BURST {}", rewrite::DEFAULT_BURST)),
                q = rewrite::DEFAULT_QUEUE
            ),
            polls: false,
            rx_buffer_kib,
        },
        EngineSpec::FastClick => IoProfile {
            io: format!(
                "FastClick FromDPDKDevice/ToDPDKDevice on DPDK's af_packet PMD (framecnt {} x 2 KiB, \
                 {}, one lcore, {} MiB without hugepages), busy-polls its CPU",
                fastclick::framecnt_for(options.rx_buffer_bytes()),
                burst("FastClick's default BURST 32"),
                fastclick::EAL_MEMORY_MB
            ),
            polls: true,
            rx_buffer_kib,
        },
        EngineSpec::KernelForward => IoProfile {
            io: "the kernel forwards between the VNF's interfaces (tc mirred), no user-space engine"
                .into(),
            polls: false,
            rx_buffer_kib: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_says_how_it_does_io() {
        let none = EngineOptions::default();
        let coo = io_profile(&EngineSpec::CooClick, None, &none);
        assert!(
            coo.io.contains("balanced") && coo.io.contains("TPACKET_V2"),
            "{coo:?}"
        );
        assert!(!coo.polls);
        let thr = io_profile(&EngineSpec::CooClick, Some("throughput"), &none);
        assert!(thr.io.contains("TPACKET_V3"), "{thr:?}");
        let click = io_profile(&EngineSpec::ReferenceClick, None, &none);
        assert!(click.io.contains("BURST 32") && click.io.contains("Queue(1024)"));
        assert!(click.io.contains("8192 KiB"), "{click:?}");
        let fc = io_profile(&EngineSpec::FastClick, None, &none);
        assert!(fc.polls && fc.io.contains("af_packet") && fc.io.contains("framecnt 4096"));
        assert!(!io_profile(&EngineSpec::KernelForward, None, &none).polls);
        // Every engine gets the same buffer by default.
        for e in [
            EngineSpec::CooClick,
            EngineSpec::ReferenceClick,
            EngineSpec::FastClick,
        ] {
            assert_eq!(io_profile(&e, None, &none).rx_buffer_kib, Some(8192));
        }
    }

    #[test]
    fn options_show_in_the_profile() {
        let o = EngineOptions {
            io: Some(IoMode::Throughput),
            burst: Some(64),
            rx_buffer_kib: Some(2048),
            cpus: None,
        };
        let coo = io_profile(&EngineSpec::CooClick, Some("latency"), &o);
        assert!(coo.io.contains("TPACKET_V3 ring 32 x 64 KiB"), "{coo:?}");
        assert!(coo.io.contains("BURST 64"), "{coo:?}");
        let fc = io_profile(&EngineSpec::FastClick, None, &o);
        assert!(
            fc.io.contains("framecnt 1024") && fc.io.contains("BURST 64"),
            "{fc:?}"
        );
    }
}
