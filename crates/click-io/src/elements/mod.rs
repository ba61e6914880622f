//! Click element classes backed by real devices: FromDevice, ToDevice, FromDPDKDevice,
//! ToDPDKDevice (bound to the N-th `--ports` interface), ControlSocket and McastSocket.

mod control;
mod from_device;
mod mcast_socket;
mod to_device;

use std::sync::Arc;

use click::Registry;

use crate::mode::IoMode;
use netsys::IfName;

pub use control::{ControlSocketElement, ControlSocketSpec};
pub(crate) use from_device::default_burst;
pub use from_device::FromDeviceElement;
pub use mcast_socket::McastSocketElement;
pub use to_device::ToDeviceElement;

/// Options for the device elements of one router.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoOptions {
    /// Interfaces in PyCOO order: `FromDPDKDevice(N)`/`ToDPDKDevice(N)` use the N-th.
    pub ports: Vec<IfName>,
    /// Throughput or latency mode for every device element.
    pub mode: IoMode,
    /// Receive ring bytes per device (None: the mode's default, 8 MiB).
    pub rx_bytes: Option<usize>,
}

/// Registers FromDevice, ToDevice, FromDPDKDevice, ToDPDKDevice, ControlSocket and
/// McastSocket.
pub fn register_elements(registry: &mut Registry, opts: &IoOptions) {
    let o = Arc::new(opts.clone());
    let (a, b, c, d) = (o.clone(), o.clone(), o.clone(), o);
    registry.register("FromDevice", move || {
        Box::new(FromDeviceElement::new(false, a.clone()))
    });
    registry.register("FromDPDKDevice", move || {
        Box::new(FromDeviceElement::new(true, b.clone()))
    });
    registry.register("ToDevice", move || {
        Box::new(ToDeviceElement::new(false, c.clone()))
    });
    registry.register("ToDPDKDevice", move || {
        Box::new(ToDeviceElement::new(true, d.clone()))
    });
    registry.register(
        "ControlSocket",
        || Box::new(ControlSocketElement::default()),
    );
    registry.register("McastSocket", || Box::new(McastSocketElement::default()));
}

/// Resolves a device argument: an interface name, or for the DPDK classes a port number
/// into `ports` (a name is accepted there too, so rewritten configs keep working).
pub(crate) fn resolve_device(dpdk: bool, arg: &str, opts: &IoOptions) -> Result<IfName, String> {
    let arg = click::args::unquote(arg.trim());
    if dpdk {
        if let Ok(n) = arg.parse::<usize>() {
            return opts.ports.get(n).cloned().ok_or_else(|| {
                if opts.ports.is_empty() {
                    format!("port {n}: no interfaces given (use --ports IF0,IF1,...)")
                } else {
                    format!(
                        "port {n} out of range: --ports lists {} interface(s) ({})",
                        opts.ports.len(),
                        opts.ports
                            .iter()
                            .map(|p| p.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                }
            });
        }
    }
    IfName::new(&arg).map_err(|e| e.to_string())
}
