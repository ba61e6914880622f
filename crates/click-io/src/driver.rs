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
    spin: Duration,
    /// Spinning is suspended until then, after the scheduler preempted a spin.
    no_spin_until: Option<Instant>,
    /// Current suspension length; doubles on every preempted spin, resets after a clean one.
    backoff: Duration,
}

/// Default busy-poll budget in latency mode before sleeping in `poll()`.
pub const DEFAULT_SPIN: Duration = Duration::from_millis(1);

/// How long to stop spinning after the scheduler preempted us while spinning (doubling up
/// to `SPIN_BACKOFF_MAX` while the machine stays oversubscribed).
const SPIN_BACKOFF: Duration = Duration::from_secs(1);
const SPIN_BACKOFF_MAX: Duration = Duration::from_secs(64);

/// Involuntary context switches of the calling thread so far.
fn involuntary_switches() -> i64 {
    // SAFETY: rusage is plain old data; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) } == 0 {
        ru.ru_nivcsw
    } else {
        0
    }
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
            spin: DEFAULT_SPIN,
            no_spin_until: None,
            backoff: SPIN_BACKOFF,
        }
    }

    /// Sets how long [`wait_idle`](Self::wait_idle) busy-polls the devices in latency mode
    /// before it sleeps in `poll()`. Spinning answers in about a microsecond on an idle
    /// machine; sleeping costs a wake-up (tens of microseconds) but keeps the scheduler on our
    /// side when the cores are oversubscribed, where a spinner loses its turn for milliseconds.
    /// So spinning stops for a second whenever the scheduler preempts a spin.
    pub fn set_spin(&mut self, spin: Duration) {
        self.spin = spin;
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
        let timeout_ms = max_wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        let mut n = 0;
        let spin_ok = self.no_spin_until.is_none_or(|t| Instant::now() >= t);
        if self.mode == IoMode::Latency && before > 0 && !self.spin.is_zero() && spin_ok {
            let start = Instant::now();
            let switches = involuntary_switches();
            while n == 0 && start.elapsed() < self.spin.min(max_wait) {
                // SAFETY: `pollfds` is a valid array of pollfd of the length given.
                n = unsafe {
                    libc::poll(
                        self.pollfds.as_mut_ptr(),
                        self.pollfds.len() as libc::nfds_t,
                        0,
                    )
                };
            }
            if involuntary_switches() != switches {
                // Someone else needs this core: sleep in poll() for a while instead.
                self.no_spin_until = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(SPIN_BACKOFF_MAX);
            } else {
                self.backoff = SPIN_BACKOFF;
            }
        }
        if n == 0 {
            // SAFETY: as above.
            n = unsafe {
                libc::poll(
                    self.pollfds.as_mut_ptr(),
                    self.pollfds.len() as libc::nfds_t,
                    timeout_ms,
                )
            };
        }
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
