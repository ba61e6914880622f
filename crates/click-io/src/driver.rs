//! Glue between a running [`click::Router`] and the outside world: ControlSocket listeners
//! (from `-p`/`-u` and `ControlSocket` elements) and readiness polling for device elements.
//! coo-click's driver loop calls [`IoDriver::poll`] between task rounds and
//! [`IoDriver::wait_idle`] when no task did work.

use std::io;
use std::time::{Duration, Instant};

use click::Router;

use crate::controlsocket::{Bound, ControlServer, Endpoint, SessionConfig};
use crate::elements::ControlSocketElement;
use crate::mode::IoMode;

/// Drives ControlSocket connections and device readiness for one router.
pub struct IoDriver {
    mode: IoMode,
    server: ControlServer,
    pollfds: Vec<libc::pollfd>,
    owners: Vec<Option<usize>>,
    /// Endpoints already listening (a hot-swapped router keeps its ControlSockets).
    opened: Vec<Endpoint>,
    last_service: Option<Instant>,
}

/// How often `poll` looks at control connections while the router is busy: often enough for
/// interactive use, rarely enough that the accept/read system calls cost nothing per packet.
const SERVICE_INTERVAL: Duration = Duration::from_millis(1);

impl IoDriver {
    /// A driver with no listeners yet.
    pub fn new(mode: IoMode) -> Self {
        IoDriver {
            mode,
            server: ControlServer::new(),
            pollfds: Vec::new(),
            owners: Vec::new(),
            opened: Vec::new(),
            last_service: None,
        }
    }

    /// Adds a listener (`-p PORT` → TCP on all addresses of the namespace, as Click does;
    /// `-u PATH` → UNIX socket).
    pub fn listen(&mut self, ep: &Endpoint, cfg: SessionConfig) -> io::Result<Bound> {
        let b = self.server.listen(ep, cfg)?;
        self.opened.push(ep.clone());
        Ok(b)
    }

    /// True when any listener is open.
    pub fn has_listeners(&self) -> bool {
        !self.opened.is_empty()
    }

    /// Opens the listeners that `ControlSocket(...)` elements of `router` ask for.
    pub fn start(&mut self, router: &mut Router) -> Result<(), String> {
        for idx in 0..router.element_names().len() {
            if router.element_class(idx) != Some("ControlSocket") {
                continue;
            }
            let spec = router
                .with_element(idx, |e, _| {
                    e.as_any_mut()
                        .downcast_mut::<ControlSocketElement>()
                        .and_then(|c| c.spec().cloned())
                })
                .flatten();
            let Some(spec) = spec else { continue };
            if self.opened.contains(&spec.endpoint) {
                continue;
            }
            let name = router.element_names()[idx].clone();
            let bound = self
                .server
                .listen(&spec.endpoint, spec.session)
                .map_err(|e| format!("{name}: {}: {e}", describe(&spec.endpoint)))?;
            self.opened.push(spec.endpoint.clone());
            if let Bound::Tcp(port) = bound {
                router.with_element(idx, |e, _| {
                    if let Some(c) = e.as_any_mut().downcast_mut::<ControlSocketElement>() {
                        c.set_bound_port(port);
                    }
                });
            }
        }
        Ok(())
    }

    /// Serves ControlSocket clients without blocking; returns whether anything happened.
    /// Looks at most once per millisecond, so a busy forwarding loop pays nothing per batch.
    pub fn poll(&mut self, router: &mut Router) -> bool {
        if self.opened.is_empty() {
            return false;
        }
        let now = Instant::now();
        if self
            .last_service
            .is_some_and(|t| now.duration_since(t) < SERVICE_INTERVAL)
        {
            return false;
        }
        self.last_service = Some(now);
        self.server.service(router)
    }

    /// Open ControlSocket connections.
    pub fn connections(&self) -> usize {
        self.server.connections()
    }

    /// Waits up to `max_wait` for device or control-socket readiness, schedules the tasks of
    /// ready device elements and serves ready control connections. In latency mode it does
    /// not sleep (the device tasks busy-poll) but still checks readiness once.
    pub fn wait_idle(&mut self, router: &mut Router, max_wait: Duration) {
        self.pollfds.clear();
        self.owners.clear();
        for (idx, fd) in router.io_fds() {
            self.pollfds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
            self.owners.push(Some(idx));
        }
        let before = self.pollfds.len();
        self.server.poll_fds(&mut self.pollfds);
        self.owners
            .resize(self.owners.len() + (self.pollfds.len() - before), None);
        let timeout_ms = if self.mode == IoMode::Latency && before > 0 {
            0
        } else {
            max_wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
        };
        // SAFETY: `pollfds` is a valid array of pollfd of the length given.
        let n = unsafe {
            libc::poll(
                self.pollfds.as_mut_ptr(),
                self.pollfds.len() as libc::nfds_t,
                timeout_ms,
            )
        };
        if n <= 0 {
            return;
        }
        let mut control = false;
        for (p, owner) in self.pollfds.iter().zip(&self.owners) {
            if p.revents == 0 {
                continue;
            }
            match owner {
                Some(idx) => router.schedule_task(*idx),
                None => control = true,
            }
        }
        if control {
            self.last_service = Some(Instant::now());
            self.server.service(router);
        }
    }
}

fn describe(ep: &Endpoint) -> String {
    match ep {
        Endpoint::Tcp { port, .. } => format!("TCP port {port}"),
        Endpoint::Unix(p) => format!("UNIX socket {}", p.display()),
    }
}
