//! `click`: a pure, sans-IO Click modular-router engine.
//!
//! # Overview
//! - [`Router::new`]`(text, file_name, &registry)` parses a Click configuration (full language:
//!   declarations, connections with `[n]` ports, chains, anonymous elements, `elementclass`
//!   compounds with formals and overloads, `require`, `define`, AddressInfo), flattens it, checks
//!   port counts and push/pull, configures and initializes every element. Errors come back as a
//!   [`ConfigError`] holding Click-style `file:line: message` lines. [`Router::check`] does the
//!   same checks without initializing any element (nothing is opened), for validation.
//! - [`Registry`] maps class names to factories. [`Registry::standard`] holds the built-in
//!   classes; [`Registry::register`] adds external ones (the click-io crate registers
//!   FromDevice/ToDevice/FromDPDKDevice/ToDPDKDevice/ControlSocket this way).
//! - [`Element`] is the element trait: batch-based [`Element::push`]/[`Element::pull`] with a
//!   [`PacketBatch`] (`Vec<Packet>`), port counts and processing codes as Click strings,
//!   [`Element::configure`] from the configuration string, [`Element::initialize`], a task
//!   ([`Element::has_task`], [`Element::run_task`]`(&mut self, ctx) -> bool`), timers
//!   ([`Element::run_timer`]), an I/O readiness hook ([`Element::io_fd`]), and read/write
//!   handlers. Inside element code, [`Ctx`] forwards ([`Ctx::output`]), pulls ([`Ctx::pull`]),
//!   schedules ([`Ctx::reschedule`], [`Ctx::schedule_timer`]), reads time ([`Ctx::now`]), and
//!   calls other handlers ([`Ctx::call_read`], [`Ctx::call_write`]).
//! - [`Packet`] owns its buffer with [`packet::DEFAULT_HEADROOM`] (64) bytes of headroom, a data
//!   window, MAC/network/transport header offsets and Click's annotation layout (dst IP at 0,
//!   paint at 16, ...). Buffers are recycled through a thread-local pool.
//! - The driver loop: [`Router::run_tasks_once`] (runs scheduled tasks, then expired timers;
//!   returns whether anything did work), [`Router::next_timer`], [`Router::advance_clock`] (for
//!   `--simtime`), [`Router::stopped`]. Time comes from an injected [`env::Clock`]
//!   ([`env::SystemClock`] or [`env::SimClock`]); files and chatter from an injected
//!   [`env::Env`] ([`env::StdEnv`] or the recording [`env::MemEnv`]), set with
//!   [`Router::with_options`].
//! - Handlers: [`Router::read_handler`]`("elem.handler")`, [`Router::write_handler`],
//!   [`Router::element_names`], and the global handlers `version`, `config`, `flatconfig`,
//!   `list`, `classes`, `requirements`, `stop`, `hotconfig` (see [`Router::take_hotconfig`]).
//!
//! ```
//! let reg = click::Registry::standard();
//! let mut r = click::Router::new(
//!     "s :: InfiniteSource(LIMIT 100, BURST 32, STOP true) -> c :: Counter -> Discard",
//!     "config", &reg).unwrap();
//! r.run_to_completion(0);
//! assert_eq!(r.read_handler("c.count").unwrap(), "100");
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod args;
pub mod batch_pool;
pub mod classification;
pub mod digest;
pub mod element;
pub mod elements;
pub mod env;
pub mod lang;
mod neighborhood;
pub mod packet;
pub mod random;
pub mod registry;
pub mod router;
pub(crate) mod runtime;
pub mod token_bucket;

pub use element::{ConfigureCx, Ctx, Element, HandlerSpec, Processing};
pub use env::{Clock, ConfinedEnv, Env, MemEnv, SimClock, StdEnv, SystemClock, Warp};
pub use lang::FlatConfig;
pub use packet::{Packet, PacketBatch, Timestamp};
pub use registry::{Factory, Registry};
pub use router::{ConfigError, HandlerError, Router, RouterOptions, CLICK_VERSION};
