//! The wire types of the REST API, shared by the agent (which serializes them) and
//! vnf-client (which parses them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What `POST /click_plugin/start` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Started { pid: u32 },
    AlreadyRunning,
}

impl StartOutcome {
    /// COO's message ("Sucess" (sic) is COO's spelling; clients may match it).
    pub fn coo_message(&self) -> String {
        match self {
            StartOutcome::Started { pid } => format!("Sucess: PID {pid}"),
            StartOutcome::AlreadyRunning => ALREADY_RUNNING.to_owned(),
        }
    }

    /// Parses COO's message (also the correct spelling "Success").
    pub fn from_coo_message(s: &str) -> Option<Self> {
        if s == ALREADY_RUNNING {
            return Some(StartOutcome::AlreadyRunning);
        }
        s.strip_prefix("Sucess: PID ")
            .or_else(|| s.strip_prefix("Success: PID "))
            .and_then(|p| p.trim().parse().ok())
            .map(|pid| StartOutcome::Started { pid })
    }
}

const ALREADY_RUNNING: &str = "Click is already running";
const NOT_RUNNING: &str = "Click is not running";

/// What `POST /click_plugin/stop` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    Stopped,
    NotRunning,
}

impl StopOutcome {
    pub fn coo_message(&self) -> &'static str {
        match self {
            StopOutcome::Stopped => "Success",
            StopOutcome::NotRunning => NOT_RUNNING,
        }
    }

    pub fn from_coo_message(s: &str) -> Option<Self> {
        match s {
            "Success" => Some(StopOutcome::Stopped),
            NOT_RUNNING => Some(StopOutcome::NotRunning),
            _ => None,
        }
    }
}

/// `vnf_identification` (all empty while the engine does not run).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VnfIdentification {
    pub provider: String,
    pub description: String,
    pub version: String,
    pub id: String,
    pub name: String,
}

/// One COO metric.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    pub id: u32,
    pub value: i64,
    pub name: String,
}

/// COO `metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    pub time_ms: i64,
    pub list: Vec<Metric>,
}

/// COO's five metric names, in id order.
pub const METRIC_NAMES: [&str; 5] = [
    "CPU Usage",
    "Disk Usage",
    "Memory Usage",
    "Net TX",
    "Net RX",
];

impl Metrics {
    /// COO's list from its five values (percentages), in COO's id order.
    pub fn coo(time_ms: i64, values: [i64; 5]) -> Self {
        Metrics {
            time_ms,
            list: METRIC_NAMES
                .iter()
                .zip(values)
                .enumerate()
                .map(|(id, (name, value))| Metric {
                    id: id as u32,
                    value,
                    name: (*name).to_owned(),
                })
                .collect(),
        }
    }

    /// Value of the metric called `name` (e.g. "Net RX").
    pub fn get(&self, name: &str) -> Option<i64> {
        self.list.iter().find(|m| m.name == name).map(|m| m.value)
    }
}

/// `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub engine: String,
    pub running: bool,
    pub pid: Option<u32>,
    pub function: String,
    pub interfaces: Vec<String>,
}

/// `GET /v1/counters`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Counters {
    pub engine: String,
    pub running: bool,
    pub elements: Vec<ElementCounters>,
    pub interfaces: Vec<InterfaceCounters>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ElementCounters {
    pub name: String,
    pub class: String,
    pub handlers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct InterfaceCounters {
    pub name: String,
    pub port: usize,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

impl Counters {
    /// The value of handler `h` of element `elem`, parsed as an integer.
    pub fn handler_u64(&self, elem: &str, h: &str) -> Option<u64> {
        self.elements
            .iter()
            .find(|e| e.name == elem)?
            .handlers
            .get(h)?
            .trim()
            .parse()
            .ok()
    }
}

/// Body of `GET /v1/engine` and of a successful `POST /v1/engine`. The request body of
/// `POST /v1/engine` is the engine's name as plain text: a built-in engine or a name (or
/// exact path) of the agent's `--allow-engine` list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EngineReply {
    pub engine: String,
}

/// Body of a successful `PUT /v1/function`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionWritten {
    pub path: String,
    pub bytes: usize,
}

/// Body of a successful `POST /v1/handlers/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerWritten {
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coo_messages_roundtrip() {
        for o in [
            StartOutcome::Started { pid: 42 },
            StartOutcome::AlreadyRunning,
        ] {
            assert_eq!(StartOutcome::from_coo_message(&o.coo_message()), Some(o));
        }
        assert_eq!(
            StartOutcome::from_coo_message("Success: PID 7"),
            Some(StartOutcome::Started { pid: 7 })
        );
        for o in [StopOutcome::Stopped, StopOutcome::NotRunning] {
            assert_eq!(StopOutcome::from_coo_message(o.coo_message()), Some(o));
        }
        assert_eq!(StopOutcome::from_coo_message("nope"), None);
    }

    #[test]
    fn metrics_in_coo_order() {
        let m = Metrics::coo(5, [1, 2, 3, 4, 5]);
        assert_eq!(m.get("Net RX"), Some(5));
        assert_eq!(m.list[2].name, "Memory Usage");
        assert_eq!(m.list[2].id, 2);
        let back: Metrics = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
}
