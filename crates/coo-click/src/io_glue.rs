//! I/O wiring for the `coo-click` driver loop (owned by the click-io helper): device elements
//! (FromDevice/ToDevice/FromDPDKDevice/ToDPDKDevice bound to `--ports`), ControlSocket
//! listeners for `-p`/`-u` and `ControlSocket(...)` elements, and readiness polling.
//!
//! Call order (see `crate::drive`): [`Glue::install`] before parsing, [`Glue::start`] after the
//! router initialized (and again after a hot-swap), [`Glue::poll`] between task rounds,
//! [`Glue::wait_idle`] when no task did work.

use crate::IoCli;
use click::{Registry, Router};
use click_io::controlsocket::{Endpoint, SessionConfig};
use click_io::{IfName, IoDriver, IoMode, IoOptions};
use std::path::PathBuf;
use std::time::Duration;

/// I/O state of one `coo-click` process.
pub struct Glue {
    driver: IoDriver,
    /// `-p`/`-u` listeners, opened on the first `start` and kept across hot-swaps.
    cli_endpoints: Vec<Endpoint>,
    cli_opened: bool,
}

impl std::fmt::Debug for Glue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Glue")
            .field("cli_endpoints", &self.cli_endpoints)
            .finish()
    }
}

/// `-p PORT` (Click: all addresses, `PORT+` = first free port from PORT).
fn tcp_endpoint(arg: &str) -> Result<Endpoint, String> {
    let (digits, plus) = match arg.strip_suffix('+') {
        Some(d) => (d, true),
        None => (arg, false),
    };
    let port: u16 = digits
        .parse()
        .map_err(|_| format!("-p {arg}: expected a TCP port number"))?;
    Ok(Endpoint::Tcp {
        port,
        port_plus: plus,
        localhost: false,
    })
}

impl Glue {
    /// Register external element classes (FromDevice/ToDevice/FromDPDKDevice/ToDPDKDevice/
    /// ControlSocket) with `registry`, according to the command-line options.
    pub fn install(registry: &mut Registry, opts: &IoCli) -> Result<Glue, String> {
        let mode = match opts.io_mode.as_deref() {
            None => IoMode::default(),
            Some(m) => m.parse::<IoMode>().map_err(|e| e.to_string())?,
        };
        let ports = opts
            .ports
            .iter()
            .map(|p| IfName::new(p.trim()).map_err(|e| format!("--ports: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let rx_bytes = match opts.rx_buffer_kib.as_deref() {
            None => None,
            Some(k) => {
                let kib: u32 = k
                    .trim()
                    .parse()
                    .ok()
                    .filter(|k| coo_api::options::RX_BUFFER_KIB_RANGE.contains(k))
                    .ok_or_else(|| format!("--rx-buffer-kib {k}: expected KiB in 64..=1048576"))?;
                Some(kib as usize * 1024)
            }
        };
        click_io::register_elements(
            registry,
            &IoOptions {
                ports,
                mode,
                rx_bytes,
            },
        );
        let mut cli_endpoints = Vec::new();
        if let Some(p) = &opts.control_port {
            cli_endpoints.push(tcp_endpoint(p)?);
        }
        if let Some(u) = &opts.control_unix {
            cli_endpoints.push(Endpoint::Unix(PathBuf::from(u)));
        }
        let mut driver = IoDriver::new(mode);
        // Latency-mode busy-poll budget before sleeping (see IoDriver::set_spin).
        if let Some(us) = std::env::var("COO_CLICK_SPIN_US")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            driver.set_spin(Duration::from_micros(us));
        }
        Ok(Glue {
            driver,
            cli_endpoints,
            cli_opened: false,
        })
    }

    /// The router is initialized (or was replaced by hotconfig): open ControlSocket listeners.
    pub fn start(&mut self, router: &mut Router, opts: &IoCli) -> Result<(), String> {
        let _ = opts;
        if !self.cli_opened {
            for ep in &self.cli_endpoints {
                self.driver
                    .listen(ep, SessionConfig::default())
                    .map_err(|e| match ep {
                        Endpoint::Tcp { port, .. } => format!("-p {port}: {e}"),
                        Endpoint::Unix(p) => format!("-u {}: {e}", p.display()),
                    })?;
            }
            self.cli_opened = true;
        }
        self.driver.start(router)
    }

    /// Service I/O readiness without blocking; returns whether anything happened.
    pub fn poll(&mut self, router: &mut Router) -> bool {
        self.driver.poll(router)
    }

    /// Nothing to do: block until I/O is ready or `max_wait` passed (the next timer).
    pub fn wait_idle(&mut self, router: &mut Router, max_wait: Duration) {
        self.driver.wait_idle(router, max_wait);
    }

    /// Does I/O keep the process alive when no task or timer is pending?
    pub fn keeps_alive(&self, router: &Router) -> bool {
        !router.io_fds().is_empty() || self.driver.has_listeners()
    }
}
