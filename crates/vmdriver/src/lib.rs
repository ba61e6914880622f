//! VM driver for coo-bench: every VNF a transient libvirt domain booting our guest image.
//!
//! Parts (each a small module):
//! - [`mac`]: the stable MAC addresses of VM NICs (the type, [`MacAddr`], is `netwire`'s).
//! - [`guest`]: the kernel command line contract between host and guest init (pure).
//! - [`xml`]: domain XML generation from a [`xml::DomainSpec`] (pure).
//! - [`driver`]: the [`VmDriver`] trait, the libvirt implementation (`libvirt` module, calls run on
//!   a dedicated thread) and a recording fake ([`fake::RecordingVmDriver`]).
//! - [`hosts`]: connections to the local and remote hypervisors ([`hosts::Hypervisors`]).
//! - [`accel`]: accelerator probe (KVM only when a guest really boots, else TCG).
//! - [`dhcp`], [`dhcp_wire`]: static-table DHCP server (management netns) and guest client.
//! - [`disk`]: qcow2 overlays for "bring your own image" VNFs.
//! - [`image`]: the guest image builder (Debian cloud kernel + our initramfs), cached by content hash.
//! - [`ready`]: reaching a guest agent from the management namespace; boot-to-ready timing.
//! - [`vnf`]: one call to start a VNF VM on given bridges and get its management endpoint.
//! - [`staging`]: the guest image copied once to another host over its libvirt connection.
//! - [`doctor`]: host checks for `coo-bench doctor`.
//! - [`smoke`]: end-to-end boot-and-reach check shared by the tests.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod accel;
pub mod dhcp;
pub mod dhcp_wire;
pub mod disk;
pub mod doctor;
pub mod driver;
pub mod fake;
pub mod guest;
pub mod hosts;
pub mod image;
pub mod libvirt;
pub mod mac;
pub mod ready;
pub mod smoke;
pub mod staging;
pub mod vnf;
pub mod xml;

pub use accel::Accel;
pub use driver::{DomainInfo, DomainState, VmDriver, VmError};
pub use hosts::Hypervisors;
pub use netwire::MacAddr;
