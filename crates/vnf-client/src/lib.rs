//! Typed async client for the `coo-vnf` agent and any COO (Click-On-OSv) REST endpoint, over
//! TCP or UNIX sockets with timeouts and bounded connect retries, plus the runner for PyCOO
//! execution scripts.

// Tests may unwrap (workspace lint `unwrap_used` targets input paths).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod client;
pub mod endpoint;
pub mod netns;
pub mod script;

pub use client::{
    ClientError, Counters, ElementCounters, Health, InterfaceCounters, Metric, Metrics, Options,
    RawResponse, ReplaceVia, StartOutcome, StopOutcome, VnfClient, VnfIdentification,
};
pub use endpoint::{BadEndpoint, Endpoint};
