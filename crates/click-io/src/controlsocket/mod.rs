//! Click's ControlSocket: protocol state machine, poll-driven server, blocking client.
//!
//! The server is generic over [`HandlerHost`], the router side, so it runs the same for
//! coo-click's engine and for test doubles.

mod client;
mod host;
mod protocol;
mod server;

pub use client::{ClientError, ControlClient, Reply};
pub use host::{HandlerFailure, HandlerHost, HandlerInfo, WriteOutcome};
pub use protocol::{code, Session, SessionConfig, GREETING};
pub use server::{Bound, ControlServer, Endpoint};
