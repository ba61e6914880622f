//! Minimal DHCPv4 (RFC 2131) for the management network: message encoding, the server's
//! reply rule (static MAC → address table) and a client for the guest init.
//! std + libc only: this file is also compiled into the static guest init.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use netwire::MacAddr;

pub const DISCOVER: u8 = 1;
pub const OFFER: u8 = 2;
pub const REQUEST: u8 = 3;
pub const ACK: u8 = 5;
pub const NAK: u8 = 6;
const MAGIC: [u8; 4] = [99, 130, 83, 99];
/// Lease time the server grants: 0xffffffff = infinite (RFC 2131 §3.3), so a guest never
/// renews and the server is needed only until every guest is up. A guest that reboots needs
/// `coo-bench up` again.
pub const LEASE_INFINITE: u32 = u32::MAX;

/// The fields we use of a DHCP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// 1 = BOOTREQUEST (client), 2 = BOOTREPLY (server).
    pub op: u8,
    pub xid: u32,
    pub flags: u16,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    pub chaddr: MacAddr,
    pub msg_type: u8,
    pub requested: Option<Ipv4Addr>,
    pub server_id: Option<Ipv4Addr>,
    pub subnet_mask: Option<Ipv4Addr>,
    pub lease_secs: Option<u32>,
}

impl Msg {
    /// A client request.
    pub fn request(msg_type: u8, xid: u32, chaddr: MacAddr) -> Msg {
        Msg {
            op: 1,
            xid,
            flags: 0x8000, // broadcast the reply: we have no address yet
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            chaddr,
            msg_type,
            requested: None,
            server_id: None,
            subnet_mask: None,
            lease_secs: None,
        }
    }
}

/// Encodes a message (BOOTP header + magic + options).
pub fn encode(m: &Msg) -> Vec<u8> {
    let mut b = vec![0u8; 236];
    b[0] = m.op;
    b[1] = 1; // Ethernet
    b[2] = 6;
    b[4..8].copy_from_slice(&m.xid.to_be_bytes());
    b[10..12].copy_from_slice(&m.flags.to_be_bytes());
    b[12..16].copy_from_slice(&m.ciaddr.octets());
    b[16..20].copy_from_slice(&m.yiaddr.octets());
    b[20..24].copy_from_slice(&m.siaddr.octets());
    b[28..34].copy_from_slice(&m.chaddr.0);
    b.extend_from_slice(&MAGIC);
    b.extend_from_slice(&[53, 1, m.msg_type]);
    let mut ip_opt = |code: u8, ip: Option<Ipv4Addr>| {
        if let Some(ip) = ip {
            b.extend_from_slice(&[code, 4]);
            b.extend_from_slice(&ip.octets());
        }
    };
    ip_opt(50, m.requested);
    ip_opt(54, m.server_id);
    ip_opt(1, m.subnet_mask);
    if let Some(l) = m.lease_secs {
        b.extend_from_slice(&[51, 4]);
        b.extend_from_slice(&l.to_be_bytes());
    }
    b.push(255);
    // Some clients drop replies shorter than the BOOTP minimum of 300 bytes.
    if b.len() < 300 {
        b.resize(300, 0);
    }
    b
}

/// Decodes a message; None when it is not DHCP.
pub fn decode(b: &[u8]) -> Option<Msg> {
    if b.len() < 240 || b[236..240] != MAGIC || b[1] != 1 || b[2] != 6 {
        return None;
    }
    let ip = |o: usize| Ipv4Addr::new(b[o], b[o + 1], b[o + 2], b[o + 3]);
    let mut chaddr = [0u8; 6];
    chaddr.copy_from_slice(&b[28..34]);
    let mut m = Msg {
        op: b[0],
        xid: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        flags: u16::from_be_bytes([b[10], b[11]]),
        ciaddr: ip(12),
        yiaddr: ip(16),
        siaddr: ip(20),
        chaddr: MacAddr(chaddr),
        msg_type: 0,
        requested: None,
        server_id: None,
        subnet_mask: None,
        lease_secs: None,
    };
    let mut i = 240;
    while i < b.len() {
        let code = b[i];
        if code == 255 {
            break;
        }
        if code == 0 {
            i += 1;
            continue;
        }
        let len = usize::from(*b.get(i + 1)?);
        let v = b.get(i + 2..i + 2 + len)?;
        let v_ip = || (len == 4).then(|| Ipv4Addr::new(v[0], v[1], v[2], v[3]));
        match code {
            53 if len == 1 => m.msg_type = v[0],
            50 => m.requested = v_ip(),
            54 => m.server_id = v_ip(),
            1 => m.subnet_mask = v_ip(),
            51 if len == 4 => m.lease_secs = Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]])),
            _ => {}
        }
        i += 2 + len;
    }
    (m.msg_type != 0).then_some(m)
}

/// The server's answer to a client message, from a static lease table.
pub fn reply(
    req: &Msg,
    lookup: &dyn Fn(&MacAddr) -> Option<Ipv4Addr>,
    server_ip: Ipv4Addr,
    mask: Ipv4Addr,
) -> Option<Msg> {
    if req.op != 1 {
        return None;
    }
    let ip = lookup(&req.chaddr)?;
    let msg_type = match req.msg_type {
        DISCOVER => OFFER,
        REQUEST => {
            let wanted = req.requested.unwrap_or(req.ciaddr);
            let for_us = req.server_id.is_none_or(|s| s == server_ip);
            if !for_us {
                return None;
            }
            if wanted == ip {
                ACK
            } else {
                NAK
            }
        }
        _ => return None,
    };
    Some(Msg {
        op: 2,
        xid: req.xid,
        flags: req.flags,
        ciaddr: Ipv4Addr::UNSPECIFIED,
        yiaddr: if msg_type == NAK {
            Ipv4Addr::UNSPECIFIED
        } else {
            ip
        },
        siaddr: server_ip,
        chaddr: req.chaddr,
        msg_type,
        requested: None,
        server_id: Some(server_ip),
        subnet_mask: (msg_type != NAK).then_some(mask),
        lease_secs: (msg_type != NAK).then_some(LEASE_INFINITE),
    })
}

/// A UDP socket bound to `port` on `ifname` only, allowed to broadcast.
pub fn bound_socket(ifname: &str, port: u16) -> Result<UdpSocket, String> {
    let s = UdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))
        .map_err(|e| format!("bind :{port}: {e}"))?;
    s.set_broadcast(true).map_err(|e| e.to_string())?;
    // SAFETY: valid fd and a byte buffer of the given length.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            ifname.as_ptr().cast(),
            ifname.len() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(format!(
            "SO_BINDTODEVICE {ifname}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(s)
}

/// Acquires an address for `mac` on `ifname` (which must be up): DISCOVER → OFFER →
/// REQUEST → ACK, retrying until `timeout`. Returns (address, prefix length).
pub fn client_acquire(
    ifname: &str,
    mac: MacAddr,
    timeout: Duration,
) -> Result<(Ipv4Addr, u8), String> {
    let s = bound_socket(ifname, 68)?;
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(|e| e.to_string())?;
    let bcast = SocketAddr::from((Ipv4Addr::BROADCAST, 67));
    let start = Instant::now();
    let xid = u32::from_be_bytes([mac.0[2], mac.0[3], mac.0[4], mac.0[5]])
        ^ start.elapsed().subsec_nanos()
        ^ std::process::id();
    let mut buf = [0u8; 1500];
    let mut wait_for = |want: u8, send: &Msg| -> Result<Option<Msg>, String> {
        s.send_to(&encode(send), bcast)
            .map_err(|e| format!("send: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            let Ok((n, _)) = s.recv_from(&mut buf) else {
                continue;
            };
            match decode(&buf[..n]) {
                Some(m) if m.op == 2 && m.xid == xid && m.chaddr == mac => {
                    if m.msg_type == want {
                        return Ok(Some(m));
                    }
                    if m.msg_type == NAK {
                        return Ok(None);
                    }
                }
                _ => {}
            }
        }
        Ok(None)
    };
    while start.elapsed() < timeout {
        let Some(offer) = wait_for(OFFER, &Msg::request(DISCOVER, xid, mac))? else {
            continue;
        };
        let mut req = Msg::request(REQUEST, xid, mac);
        req.requested = Some(offer.yiaddr);
        req.server_id = offer.server_id;
        if let Some(ack) = wait_for(ACK, &req)? {
            let mask = ack
                .subnet_mask
                .or(offer.subnet_mask)
                .unwrap_or(Ipv4Addr::new(255, 255, 0, 0));
            return Ok((ack.yiaddr, u32::from(mask).count_ones() as u8));
        }
    }
    Err(format!("no DHCP lease on {ifname} within {timeout:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x52, 0x54, 0, 1, 2, 3]);
    const SERVER: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
    const MASK: Ipv4Addr = Ipv4Addr::new(255, 255, 0, 0);

    fn table(m: &MacAddr) -> Option<Ipv4Addr> {
        (*m == MAC).then_some(Ipv4Addr::new(198, 19, 255, 20))
    }

    #[test]
    fn encode_decode_round_trip() {
        let mut m = Msg::request(REQUEST, 0xdeadbeef, MAC);
        m.requested = Some(Ipv4Addr::new(198, 19, 255, 20));
        m.server_id = Some(SERVER);
        let b = encode(&m);
        assert!(b.len() >= 300);
        assert_eq!(decode(&b), Some(m));
        assert_eq!(decode(&b[..200]), None);
    }

    #[test]
    fn server_offers_then_acks_the_table_address() {
        let d = Msg::request(DISCOVER, 7, MAC);
        let offer = reply(&d, &table, SERVER, MASK).unwrap();
        assert_eq!(
            (offer.msg_type, offer.yiaddr, offer.xid),
            (OFFER, Ipv4Addr::new(198, 19, 255, 20), 7)
        );
        assert_eq!(offer.subnet_mask, Some(MASK));
        assert_eq!(offer.lease_secs, Some(LEASE_INFINITE));
        let mut r = Msg::request(REQUEST, 7, MAC);
        r.requested = Some(offer.yiaddr);
        r.server_id = Some(SERVER);
        assert_eq!(reply(&r, &table, SERVER, MASK).unwrap().msg_type, ACK);
        r.requested = Some(Ipv4Addr::new(198, 19, 255, 99));
        assert_eq!(reply(&r, &table, SERVER, MASK).unwrap().msg_type, NAK);
        // Unknown MACs get nothing: no dynamic pool.
        let other = Msg::request(DISCOVER, 8, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(reply(&other, &table, SERVER, MASK), None);
        // Requests for another server are ignored.
        let mut r2 = Msg::request(REQUEST, 9, MAC);
        r2.server_id = Some(Ipv4Addr::new(198, 19, 0, 2));
        assert_eq!(reply(&r2, &table, SERVER, MASK), None);
    }
}
