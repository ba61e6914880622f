//! The `coo-vnf` REST API defined once, for the agent and every client: route paths, which
//! routes need the bearer token, the wire types, and the bearer token itself.

// Tests may unwrap (workspace lint `unwrap_used` targets input paths).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod auth;
pub mod engine;
pub mod options;
pub mod routes;
pub mod types;

pub use auth::{BadToken, Token, TokenDigest};
pub use engine::{EngineParseError, EngineSpec};
pub use options::{EngineOptionError, EngineOptions, IoMode, UnknownIoMode};
pub use types::{
    Counters, ElementCounters, EngineReply, FunctionWritten, HandlerWritten, Health,
    InterfaceCounters, Metric, Metrics, StartOutcome, StopOutcome, VnfIdentification,
};
