//! Learning the reply flows of a bidirectional trial: the forward sink records the flows as
//! they left the chain (after a NAT's translation), and the reverse generator answers them.

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::frame::FlowTuple;

/// The distinct flows seen at the Outgoing Point (bounded: the flow count can be at most 65536).
#[derive(Debug, Default)]
pub struct FlowLearner {
    flows: Mutex<BTreeSet<FlowTuple>>,
}

/// More distinct tuples than flows sent means something else rewrote them per frame.
const MAX_LEARNED: usize = 65_536;

impl FlowLearner {
    pub fn record(&self, tuple: FlowTuple) {
        if let Ok(mut set) = self.flows.lock() {
            if set.len() < MAX_LEARNED {
                set.insert(tuple);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.flows.lock().map(|s| s.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The learned flows, in a stable order.
    pub fn flows(&self) -> Vec<FlowTuple> {
        self.flows
            .lock()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }
}
