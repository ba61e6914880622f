//! The IP TOS byte: SetIPDSCP and MarkIPCE.

use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::elements::{bool_str, parse_u64_h};
use crate::packet::{Packet, PacketBatch};
use crate::simple_push_pull;
// ---------------------------------------------------------------- RoundRobinSched / PrioSched

/// Rewrite the IP TOS byte, keeping the header checksum valid (incremental update).
fn set_tos(p: &mut Packet, f: impl Fn(u8) -> u8) -> bool {
    let Some(ip) = p.network_header_mut() else {
        return false;
    };
    if ip.len() < 20 {
        return false;
    }
    let old = u16::from_be_bytes([ip[0], ip[1]]);
    ip[1] = f(ip[1]);
    let new = u16::from_be_bytes([ip[0], ip[1]]);
    let c = netwire::checksum::update(u16::from_be_bytes([ip[10], ip[11]]), old, new);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    true
}

/// SetIPDSCP(DSCP): sets the DSCP bits of IP packets (IP header annotation required).
#[derive(Default)]
pub struct SetIpDscp {
    dscp: u8,
}

impl SetIpDscp {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        let d = self.dscp << 2;
        for p in batch.iter_mut() {
            set_tos(p, |t| (t & 3) | d);
        }
    }
}

impl Element for SetIpDscp {
    element_class!(class: "SetIPDSCP", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("DSCP", Kind::Mp)])?;
        let d = b.u64("DSCP")?.unwrap_or(0);
        if d > 63 {
            return Err("diffserv code point out of range".into());
        }
        self.dscp = d as u8;
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("dscp")]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "dscp").then(|| Ok(self.dscp.to_string()))
    }
    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "dscp").then(|| match parse_u64_h(value) {
            Ok(v) if v <= 63 => {
                self.dscp = v as u8;
                Ok(())
            }
            Ok(_) => Err("diffserv code point out of range".into()),
            Err(e) => Err(e),
        })
    }
}

/// MarkIPCE([FORCE]): marks ECN-capable IP packets Congestion Experienced; non-ECT packets are
/// dropped unless FORCE.
#[derive(Default)]
pub struct MarkIpCe {
    force: bool,
    drops: u64,
}

impl MarkIpCe {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        let force = self.force;
        let before = batch.len();
        batch.retain_mut(|p| {
            let Some(ecn) = p.network_header().and_then(|ip| ip.get(1)).map(|t| t & 3) else {
                return false;
            };
            if ecn == 0 && !force {
                return false;
            }
            if ecn != 3 {
                set_tos(p, |t| t | 3);
            }
            true
        });
        self.drops += (before - batch.len()) as u64;
    }
}

impl Element for MarkIpCe {
    element_class!(class: "MarkIPCE", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("FORCE", Kind::P)])?;
        self.force = b.bool("FORCE")?.unwrap_or(false);
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("drops"), HandlerSpec::r("force")]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        match name {
            "drops" => Some(Ok(self.drops.to_string())),
            "force" => Some(Ok(bool_str(self.force))),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------- TimestampAccum
