//! 802.1Q elements: VLANEncap, VLANDecap, SetVLANAnno, EtherVLANEncap, StripEtherVLANHeader. The VLAN TCI annotation
//! holds the TCI in network byte order at Click's VLAN_TCI_ANNO_OFFSET.

use crate::args::{bind, fmt_eth, parse_eth, parse_i64, parse_u64, AddressInfo, Bound, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::elements::parse_u64_h;
use crate::packet::{Packet, PacketBatch, VLAN_TCI_ANNO_OFFSET};
use crate::simple_push_pull;

const TPID_8021Q: u16 = 0x8100;

fn tci_anno(p: &Packet) -> u16 {
    u16::from_be_bytes([
        p.anno[VLAN_TCI_ANNO_OFFSET],
        p.anno[VLAN_TCI_ANNO_OFFSET + 1],
    ])
}

fn set_tci_anno(p: &mut Packet, tci: u16) {
    p.anno[VLAN_TCI_ANNO_OFFSET..VLAN_TCI_ANNO_OFFSET + 2].copy_from_slice(&tci.to_be_bytes());
}

fn bounded(b: &Bound, k: &str, lo: i64, hi: i64) -> Result<Option<i64>, String> {
    match b.str(k) {
        None => Ok(None),
        Some(s) => match parse_i64(s) {
            Some(v) if (lo..=hi).contains(&v) => Ok(Some(v)),
            Some(_) => Err(format!("{k}: out of range, bound {hi}")),
            None => Err(format!("{k}: expected integer")),
        },
    }
}

/// VLAN settings shared by the encapsulating elements.
#[derive(Clone, Copy, Debug, Default)]
struct Vlan {
    tci: u16,
    use_anno: bool,
    /// Native VLAN id (-1 = none); packets on it get no tag.
    native: i32,
}

impl Vlan {
    fn parse(b: &Bound, allow_anno: bool) -> Result<Vlan, String> {
        let word = b.str("VLAN_TCI").map(str::trim);
        let use_anno = allow_anno && word == Some("ANNO");
        let tci = match word {
            Some(w) if !use_anno => {
                let v = parse_u64(w).ok_or("VLAN_TCI: expected integer")?;
                Some(u16::try_from(v).map_err(|_| "VLAN_TCI: out of range, bound 65535")?)
            }
            _ => None,
        };
        let pcp = bounded(b, "VLAN_PCP", 0, 7)?.unwrap_or(0) as u16;
        let id = bounded(b, "VLAN_ID", 0, 0xfff)?.unwrap_or(0) as u16;
        let native = if b.has("NATIVE_VLAN") {
            bounded(b, "NATIVE_VLAN", -1, 0xfff)?.unwrap_or(0) as i32
        } else {
            0
        };
        Ok(Vlan {
            tci: tci.unwrap_or(id) | (pcp << 13),
            use_anno,
            native,
        })
    }
    fn tci_for(&self, p: &Packet) -> u16 {
        if self.use_anno {
            tci_anno(p)
        } else {
            self.tci
        }
    }
    fn is_native(&self, tci: u16) -> bool {
        self.native >= 0 && (tci & 0xfff) as i32 == self.native
    }
    fn read(&self, name: &str) -> Option<String> {
        Some(match name {
            "vlan_tci" if self.use_anno => "ANNO".into(),
            "vlan_tci" => self.tci.to_string(),
            "vlan_id" => (self.tci & 0xfff).to_string(),
            "vlan_pcp" => (self.tci >> 13).to_string(),
            "native_vlan" => self.native.to_string(),
            _ => return None,
        })
    }
    fn write(&mut self, name: &str, value: &str) -> Option<Result<(), String>> {
        let v = value.trim();
        let r = match name {
            "vlan_tci" if v == "ANNO" => {
                self.use_anno = true;
                Ok(())
            }
            "vlan_tci" => parse_u64_h(v)
                .and_then(|t| u16::try_from(t).map_err(|_| "out of range".into()))
                .map(|t| {
                    self.tci = t;
                    self.use_anno = false;
                }),
            "vlan_id" => parse_u64_h(v)
                .and_then(|t| {
                    if t <= 0xfff {
                        Ok(t as u16)
                    } else {
                        Err("out of range".into())
                    }
                })
                .map(|t| {
                    self.tci = (self.tci & 0xf000) | t;
                    self.use_anno = false;
                }),
            "vlan_pcp" => parse_u64_h(v)
                .and_then(|t| {
                    if t <= 7 {
                        Ok(t as u16)
                    } else {
                        Err("out of range".into())
                    }
                })
                .map(|t| {
                    self.tci = (self.tci & 0x0fff) | (t << 13);
                }),
            "native_vlan" => match parse_i64(v) {
                Some(n) if (-1..=0xfff).contains(&n) => {
                    self.native = n as i32;
                    Ok(())
                }
                _ => Err("out of range".into()),
            },
            _ => return None,
        };
        Some(r)
    }
}

const VLAN_HANDLERS: [&str; 4] = ["vlan_tci", "vlan_id", "vlan_pcp", "native_vlan"];

// ---------------------------------------------------------------- VLANEncap

/// VLANEncap([VLAN_TCI, VLAN_PCP, VLAN_ID, NATIVE_VLAN, ETHERTYPE]): inserts an 802.1Q shim
/// into Ethernet packets.
pub struct VlanEncap {
    vlan: Vlan,
    tpid: u16,
}

impl Default for VlanEncap {
    fn default() -> Self {
        VlanEncap {
            vlan: Vlan::default(),
            tpid: TPID_8021Q,
        }
    }
}

impl VlanEncap {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        batch.retain_mut(|p| {
            let tci = self.vlan.tci_for(p);
            if self.vlan.is_native(tci) {
                p.set_mac_header(0);
                return true;
            }
            if p.len() < 12 {
                return false;
            }
            p.push(4);
            let d = p.data_mut();
            d.copy_within(4..16, 0);
            d[12..14].copy_from_slice(&self.tpid.to_be_bytes());
            d[14..16].copy_from_slice(&tci.to_be_bytes());
            p.set_mac_header(0);
            true
        });
    }
}

impl Element for VlanEncap {
    element_class!(class: "VLANEncap", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("VLAN_TCI", Kind::P),
                ("VLAN_PCP", Kind::P),
                ("VLAN_ID", Kind::K),
                ("NATIVE_VLAN", Kind::K),
                ("ETHERTYPE", Kind::K),
            ],
        )?;
        self.vlan = Vlan::parse(&b, true)?;
        self.tpid = u16::try_from(b.u64("ETHERTYPE")?.unwrap_or(TPID_8021Q as u64))
            .map_err(|_| "ETHERTYPE: out of range")?;
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        VLAN_HANDLERS.iter().map(|h| HandlerSpec::rw(h)).collect()
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        self.vlan.read(name).map(Ok)
    }
    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        self.vlan.write(name, value)
    }
}

// ---------------------------------------------------------------- VLANDecap

/// VLANDecap([ANNO, ETHERTYPE]): removes an 802.1Q shim (if any), recording the TCI in the
/// VLAN annotation (0 for untagged packets).
pub struct VlanDecap {
    anno: bool,
    tpid: u16,
}

impl Default for VlanDecap {
    fn default() -> Self {
        VlanDecap {
            anno: true,
            tpid: TPID_8021Q,
        }
    }
}

impl VlanDecap {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            let d = p.data();
            let mut tci = 0;
            if d.len() >= 16 && d[12..14] == self.tpid.to_be_bytes() {
                tci = u16::from_be_bytes([d[14], d[15]]);
                p.data_mut().copy_within(0..12, 4);
                p.pull(4);
            }
            p.set_mac_header(0);
            if self.anno {
                set_tci_anno(p, tci);
            }
        }
    }
}

impl Element for VlanDecap {
    element_class!(class: "VLANDecap", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("ANNO", Kind::P), ("ETHERTYPE", Kind::K)])?;
        self.anno = b.bool("ANNO")?.unwrap_or(true);
        self.tpid = u16::try_from(b.u64("ETHERTYPE")?.unwrap_or(TPID_8021Q as u64))
            .map_err(|_| "ETHERTYPE: out of range")?;
        Ok(())
    }
    simple_push_pull!();
}

// ---------------------------------------------------------------- SetVLANAnno

/// SetVLANAnno(VLAN_TCI [, VLAN_PCP], VLAN_ID): sets the VLAN TCI annotation.
#[derive(Default)]
pub struct SetVlanAnno {
    vlan: Vlan,
}

impl SetVlanAnno {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            set_tci_anno(p, self.vlan.tci);
        }
    }
}

impl Element for SetVlanAnno {
    element_class!(class: "SetVLANAnno", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("VLAN_TCI", Kind::P),
                ("VLAN_PCP", Kind::P),
                ("VLAN_ID", Kind::K),
            ],
        )?;
        self.vlan = Vlan::parse(&b, false)?;
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        VLAN_HANDLERS[..3]
            .iter()
            .map(|h| HandlerSpec::rw(h))
            .collect()
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        self.vlan.read(name).map(Ok)
    }
    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        self.vlan.write(name, value)
    }
}

// ---------------------------------------------------------------- EtherVLANEncap

/// EtherVLANEncap(ETHERTYPE, SRC, DST [, VLAN_TCI, VLAN_PCP], VLAN_ID, NATIVE_VLAN): prepends an
/// 802.1Q Ethernet header (a plain one on the native VLAN).
#[derive(Default)]
pub struct EtherVlanEncap {
    ethertype: u16,
    src: [u8; 6],
    dst: [u8; 6],
    vlan: Vlan,
    addrs: AddressInfo,
}

impl EtherVlanEncap {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            let tci = self.vlan.tci_for(p);
            if self.vlan.is_native(tci) {
                p.push(14);
                let d = p.data_mut();
                d[0..6].copy_from_slice(&self.dst);
                d[6..12].copy_from_slice(&self.src);
                d[12..14].copy_from_slice(&self.ethertype.to_be_bytes());
            } else {
                p.push(18);
                let d = p.data_mut();
                d[0..6].copy_from_slice(&self.dst);
                d[6..12].copy_from_slice(&self.src);
                d[12..14].copy_from_slice(&TPID_8021Q.to_be_bytes());
                d[14..16].copy_from_slice(&tci.to_be_bytes());
                d[16..18].copy_from_slice(&self.ethertype.to_be_bytes());
            }
            p.set_mac_header(0);
        }
    }
}

impl Element for EtherVlanEncap {
    element_class!(class: "EtherVLANEncap", ports: "1/1");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("ETHERTYPE", Kind::Mp),
                ("SRC", Kind::Mp),
                ("DST", Kind::Mp),
                ("VLAN_TCI", Kind::P),
                ("VLAN_PCP", Kind::P),
                ("VLAN_ID", Kind::K),
                ("NATIVE_VLAN", Kind::K),
            ],
        )?;
        self.ethertype = u16::try_from(b.u64("ETHERTYPE")?.unwrap_or(0))
            .map_err(|_| "ETHERTYPE: out of range")?;
        self.src = b.eth("SRC", cx.addrs)?.unwrap_or_default();
        self.dst = b.eth("DST", cx.addrs)?.unwrap_or_default();
        self.vlan = Vlan::parse(&b, true)?;
        self.addrs = cx.addrs.clone();
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        let mut v = vec![
            HandlerSpec::rw("src"),
            HandlerSpec::rw("dst"),
            HandlerSpec::rw("ethertype"),
        ];
        v.extend(VLAN_HANDLERS.iter().map(|h| HandlerSpec::rw(h)));
        v
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        match name {
            "src" => Some(Ok(fmt_eth(&self.src))),
            "dst" => Some(Ok(fmt_eth(&self.dst))),
            "ethertype" => Some(Ok(self.ethertype.to_string())),
            n => self.vlan.read(n).map(Ok),
        }
    }
    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        match name {
            "src" | "dst" => Some(match parse_eth(value, &self.addrs) {
                Some(e) if name == "src" => {
                    self.src = e;
                    Ok(())
                }
                Some(e) => {
                    self.dst = e;
                    Ok(())
                }
                None => Err("expected Ethernet address".into()),
            }),
            "ethertype" => Some(
                parse_u64_h(value)
                    .and_then(|v| u16::try_from(v).map_err(|_| "out of range".into()))
                    .map(|v| self.ethertype = v),
            ),
            n => self.vlan.write(n, value),
        }
    }
}

// ---------------------------------------------------------------- StripEtherVLANHeader

/// StripEtherVLANHeader([NATIVE_VLAN]): removes an 802.1Q Ethernet header (TCI to the VLAN
/// annotation) or a plain one (native VLAN to the annotation); with a negative NATIVE_VLAN,
/// untagged packets go to output 1.
#[derive(Default)]
pub struct StripEtherVlanHeader {
    native: i32,
}

impl StripEtherVlanHeader {
    fn check(&mut self, p: &mut Packet, _ctx: &mut Ctx<'_>) -> bool {
        let d = p.data();
        if d.len() >= 18 && d[12..14] == TPID_8021Q.to_be_bytes() {
            let tci = u16::from_be_bytes([d[14], d[15]]);
            set_tci_anno(p, tci);
            p.pull(18);
            true
        } else if self.native >= 0 {
            set_tci_anno(p, self.native as u16);
            p.pull(14);
            true
        } else {
            false
        }
    }
}

impl Element for StripEtherVlanHeader {
    element_class!(class: "StripEtherVLANHeader", ports: "1/1-2", processing: "a/ah");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("NATIVE_VLAN", Kind::P)])?;
        let n = b.i64("NATIVE_VLAN")?.unwrap_or(0);
        if n > 0xfff {
            return Err("bad NATIVE_VLAN".into());
        }
        self.native = n.max(-1) as i32;
        Ok(())
    }
    crate::extra_filter_push_pull!();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::elements::shared::test_util::sim_router;
    use crate::MemEnv;

    #[test]
    fn vlan_encap_decap_roundtrip() {
        let env = MemEnv::default();
        let conf =
            "InfiniteSource(DATA \\<060708090a0b 000102030405 0800 45000014>, LIMIT 1, STOP true)
              -> e :: VLANEncap(VLAN_ID 10, VLAN_PCP 5) -> Print(tagged, -1)
              -> VLANDecap -> Print(plain, -1) -> SetVLANAnno(VLAN_ID 7)
              -> EtherVLANEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b, ANNO) -> Print(ether, -1)
              -> VLANEncap(VLAN_ID 0) -> Print(native, -1) -> Discard;";
        let mut r = sim_router(conf, &env);
        r.run_to_completion(100);
        let ch = env.chatter.borrow().clone();
        assert!(
            ch.contains("tagged:   22 | 06070809 0a0b0001 02030405 8100a00a 08004500 0014"),
            "{ch}"
        );
        assert!(
            ch.contains("plain:   18 | 06070809 0a0b0001 02030405 08004500 0014"),
            "{ch}"
        );
        assert!(
            ch.contains("ether:   36 | 06070809 0a0b0001 02030405 81000007 0800"),
            "{ch}"
        );
        // VLAN 0 is the default native VLAN: no tag is added.
        assert!(
            ch.contains("native:   36 | 06070809 0a0b0001 02030405 81000007"),
            "{ch}"
        );
        assert_eq!(r.read_handler("e.vlan_tci").unwrap(), "40970");
        assert_eq!(r.read_handler("e.vlan_id").unwrap(), "10");
        r.write_handler("e.vlan_pcp", "1").unwrap();
        assert_eq!(r.read_handler("e.vlan_tci").unwrap(), "8202");
    }

    #[test]
    fn vlan_strip_ether_vlan_header() {
        // Expected lines are those of Click's own test/ethernet/EtherVLANEncap-01.
        let env = MemEnv::default();
        let conf = "InfiniteSource(DATA \\<AAABACAD>, LIMIT 1, STOP true)
              -> EtherVLANEncap(0x0800, 1:1:1:1:1:1, 2:2:2:2:2:2, 1) -> Print(a)
              -> StripEtherVLANHeader -> Print(b)
              -> EtherVLANEncap(0x0800, 1:1:1:1:1:1, 2:2:2:2:2:2, ANNO, NATIVE_VLAN 1) -> Print(e)
              -> StripEtherVLANHeader -> SetVLANAnno(2, 1)
              -> EtherVLANEncap(0x0800, 1:1:1:1:1:1, 2:2:2:2:2:2, ANNO, NATIVE_VLAN 1) -> Print(f)
              -> s :: StripEtherVLANHeader(-1) -> Discard; s[1] -> Discard;";
        let mut r = sim_router(conf, &env);
        r.run_to_completion(100);
        let ch = env.chatter.borrow().clone();
        for line in [
            "a:   22 | 02020202 02020101 01010101 81000001 0800aaab acad",
            "b:    4 | aaabacad",
            "e:   18 | 02020202 02020101 01010101 0800aaab acad",
            "f:   22 | 02020202 02020101 01010101 81002002 0800aaab acad",
        ] {
            assert!(ch.contains(line), "{line} in {ch}");
        }
    }
}
