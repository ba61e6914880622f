//! How each engine does its I/O, in words for reports: what a reader needs to judge whether a
//! comparison of engines was like for like (issue #14).

use click_io::IoMode;

use crate::engine::EngineSpec;
use crate::{fastclick, rewrite};

/// An engine's I/O as it runs under this agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoProfile {
    /// Method, buffers, batching and idle behaviour.
    pub io: String,
    /// The engine busy-polls its CPU whether or not frames arrive.
    pub polls: bool,
}

/// The I/O profile of `engine`; `io_mode` is the agent's `--io-mode` (coo-click only).
pub fn io_profile(engine: &EngineSpec, io_mode: Option<&str>) -> IoProfile {
    match engine {
        EngineSpec::CooClick => {
            let mode = io_mode
                .and_then(|m| m.parse::<IoMode>().ok())
                .unwrap_or_default();
            IoProfile {
                io: mode.describe(),
                polls: false,
            }
        }
        EngineSpec::ReferenceClick | EngineSpec::External(_) => IoProfile {
            io: format!(
                "Click FromDevice(METHOD LINUX, SNIFFER false, BURST {b}) -> Queue({q}) -> ToDevice(BURST {b}) \
                 (the function's own BURST, PROMISC and IQUEUE kept); packet socket with the kernel's default \
                 receive buffer (net.core.rmem_default), sleeps in select() when idle",
                b = rewrite::DEFAULT_BURST,
                q = rewrite::DEFAULT_QUEUE
            ),
            polls: false,
        },
        EngineSpec::FastClick => IoProfile {
            io: format!(
                "FastClick FromDPDKDevice/ToDPDKDevice on DPDK's af_packet PMD (framecnt {}, one lcore, \
                 {} MiB without hugepages), busy-polls its CPU",
                fastclick::FRAMECNT,
                fastclick::EAL_MEMORY_MB
            ),
            polls: true,
        },
        EngineSpec::KernelForward => IoProfile {
            io: "the kernel forwards between the VNF's interfaces (tc mirred), no user-space engine"
                .into(),
            polls: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_says_how_it_does_io() {
        let coo = io_profile(&EngineSpec::CooClick, None);
        assert!(
            coo.io.contains("balanced") && coo.io.contains("TPACKET_V2"),
            "{coo:?}"
        );
        assert!(!coo.polls);
        let thr = io_profile(&EngineSpec::CooClick, Some("throughput"));
        assert!(thr.io.contains("TPACKET_V3"), "{thr:?}");
        let click = io_profile(&EngineSpec::ReferenceClick, None);
        assert!(click.io.contains("BURST 32") && click.io.contains("Queue(1024)"));
        let fc = io_profile(&EngineSpec::FastClick, None);
        assert!(fc.polls && fc.io.contains("af_packet"));
        assert!(!io_profile(&EngineSpec::KernelForward, None).polls);
    }
}
