//! A simulated chain for testing the campaign's policy without root: every variant is a
//! [`measure::sim::SimulatedDevice`]; the agents only record what they were asked to do.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use measure::report::DirectionLatency;
use measure::search::TrialRequest;
use measure::sim::SimulatedDevice;
use measure::{Goal, LatencySummary};
use vnf_client::Counters;

use crate::nf::CounterReads;
use crate::{Agents, TrafficPath, TrialInput, TrialOutput, TrialRunner, VariantPlan};

#[derive(Default)]
struct Shared {
    devices: BTreeMap<String, SimulatedDevice>,
    /// Reply paths of variants measured both ways (chain trials of these send replies).
    reverse: BTreeMap<String, SimulatedDevice>,
    ceiling: Option<SimulatedDevice>,
    current: Option<String>,
    /// Every configure / stop / trial, in order ("configure NAME", "stop", "trial NAME").
    log: Vec<String>,
    /// Variants whose configure fails with this error.
    fail_configure: BTreeMap<String, String>,
    /// Variant whose engine dies after this many trials.
    crash_after: Option<(String, usize)>,
    trials_of_current: usize,
}

/// A simulated chain: [`SimChain::runner`] and [`SimChain::agents`] share its state.
#[derive(Clone, Default)]
pub struct SimChain {
    shared: Rc<RefCell<Shared>>,
}

impl SimChain {
    pub fn new() -> SimChain {
        SimChain::default()
    }

    /// The device `variant` behaves as.
    pub fn variant(self, name: &str, device: SimulatedDevice) -> Self {
        self.shared
            .borrow_mut()
            .devices
            .insert(name.to_string(), device);
        self
    }

    /// The reply path of `variant`: its chain trials then go both ways (the ceiling stays
    /// forward, as with real traffic).
    pub fn reverse(self, name: &str, device: SimulatedDevice) -> Self {
        self.shared
            .borrow_mut()
            .reverse
            .insert(name.to_string(), device);
        self
    }

    /// The direct generator→sink path.
    pub fn ceiling(self, device: SimulatedDevice) -> Self {
        self.shared.borrow_mut().ceiling = Some(device);
        self
    }

    pub fn fail_configure(self, name: &str, error: &str) -> Self {
        self.shared
            .borrow_mut()
            .fail_configure
            .insert(name.into(), error.into());
        self
    }

    /// The engine of `name` stops running after `trials` trials of it.
    pub fn crash_after(self, name: &str, trials: usize) -> Self {
        self.shared.borrow_mut().crash_after = Some((name.into(), trials));
        self
    }

    pub fn log(&self) -> Vec<String> {
        self.shared.borrow().log.clone()
    }

    pub fn runner(&self) -> SimRunner {
        SimRunner {
            shared: self.shared.clone(),
        }
    }

    pub fn agents(&self) -> SimAgents {
        SimAgents {
            shared: self.shared.clone(),
        }
    }
}

pub struct SimRunner {
    shared: Rc<RefCell<Shared>>,
}

impl TrialRunner for SimRunner {
    fn run(&mut self, input: &TrialInput) -> TrialOutput {
        let mut sh = self.shared.borrow_mut();
        let name = match input.path {
            TrafficPath::Ceiling => "ceiling".to_string(),
            TrafficPath::Chain => sh.current.clone().unwrap_or_default(),
        };
        sh.log.push(format!("trial {name}"));
        sh.trials_of_current += 1;
        let device = match input.path {
            TrafficPath::Ceiling => sh.ceiling.as_mut(),
            TrafficPath::Chain => sh.devices.get_mut(&name),
        };
        let Some(device) = device else {
            return TrialOutput {
                record: crate::rounds::broken_record(
                    input.offered_pps(),
                    input.duration_s,
                    "no simulated device",
                ),
                ..Default::default()
            };
        };
        let request = TrialRequest {
            rate_pps: input.offered_pps(),
            duration_s: input.duration_s,
            goal: Goal::Ndr,
        };
        let mut record = device.trial(&request);
        let capacity = device.capacity_pps;
        if input.path == TrafficPath::Chain {
            if let Some(back) = sh.reverse.get_mut(&name) {
                record.reverse = Some(Box::new(back.trial(&request)));
            }
        }
        // A fixed, load-dependent latency so latency points can be checked.
        let us = 10 + (input.offered_pps() / capacity * 100.0) as u64;
        let lat = LatencySummary {
            samples: (input.probe_pps * input.duration_s) as u64,
            min_ns: us * 1000,
            p50_ns: us * 1000,
            p90_ns: us * 1000,
            p99_ns: us * 1000,
            p999_ns: us * 1000,
            max_ns: us * 1000,
            mean_ns: (us * 1000) as f64,
            cdf: Vec::new(),
        };
        // Replies take twice as long, so the two directions' latencies can be told apart.
        let reverse = record.reverse.is_some().then(|| {
            let slow = LatencySummary {
                p50_ns: 2 * lat.p50_ns,
                ..lat.clone()
            };
            DirectionLatency {
                probe: Some(slow.clone()),
                load: Some(slow),
            }
        });
        TrialOutput {
            record,
            probe: Some(lat.clone()),
            load: Some(lat),
            reverse,
        }
    }
}

pub struct SimAgents {
    shared: Rc<RefCell<Shared>>,
}

impl Agents for SimAgents {
    fn configure(&mut self, variant: &VariantPlan) -> Result<BTreeMap<String, String>, String> {
        let mut sh = self.shared.borrow_mut();
        sh.log.push(format!("configure {}", variant.name));
        if let Some(e) = sh.fail_configure.get(&variant.name) {
            return Err(e.clone());
        }
        sh.current = Some(variant.name.clone());
        sh.trials_of_current = 0;
        Ok(BTreeMap::from([("sim".to_string(), "1".to_string())]))
    }

    fn counters(&mut self) -> CounterReads {
        let sh = self.shared.borrow();
        let crashed = matches!(
            (&sh.crash_after, &sh.current),
            (Some((name, n)), Some(cur)) if name == cur && sh.trials_of_current >= *n
        );
        BTreeMap::from([(
            "nf".to_string(),
            Ok(Counters {
                engine: "sim".into(),
                running: !crashed,
                elements: Vec::new(),
                interfaces: Vec::new(),
            }),
        )])
    }

    fn stop_all(&mut self) {
        let mut sh = self.shared.borrow_mut();
        sh.log.push("stop".into());
        sh.current = None;
    }
}
