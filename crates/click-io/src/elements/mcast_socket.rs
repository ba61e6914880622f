//! McastSocket: Click's multicast UDP transport (elements/userlevel/mcastsocket.cc).
//!
//! Packets pushed or pulled into input 0 are sent as UDP datagrams to MCASTIP:MCASTPORT;
//! datagrams arriving for that group leave output 0 as packets holding the UDP payload.
//! With a SOURCEIP the sender is bound to SOURCEIP[:SOURCEPORT], sends and joins on that
//! address's interface, and the element's own looped-back datagrams are dropped.

use std::io;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::Duration;

use click::args::{self, Kind};
use click::packet::EXTRA_LENGTH_ANNO_OFFSET;
use click::{ConfigureCx, Ctx, Element, Packet, PacketBatch};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// Click's `Packet::default_headroom` (userlevel), McastSocket's default HEADROOM.
const CLICK_DEFAULT_HEADROOM: usize = 28;
/// Datagrams read per task run before the task yields to the rest of the router.
const RECV_BURST: usize = 32;
/// Packets pulled per task run in pull mode.
const SEND_BURST: usize = 32;

const ARGS: &[(&str, Kind)] = &[
    ("MCASTIP", Kind::Mp),
    ("MCASTPORT", Kind::Mp),
    ("SOURCEIP", Kind::P),
    ("SOURCEPORT", Kind::P),
    ("SNAPLEN", Kind::K),
    ("HEADROOM", Kind::K),
    ("TIMESTAMP", Kind::K),
    ("RCVBUF", Kind::K),
    ("SNDBUF", Kind::K),
    ("LOOP", Kind::K),
];

/// The two sockets of an initialized element (dropping them closes them).
struct Sockets {
    recv: Socket,
    send: Socket,
}

/// Multicast UDP transport ("x/y": packets do not flow from input to output).
pub struct McastSocketElement {
    mcast: SocketAddrV4,
    /// SOURCEIP:SOURCEPORT; the port is the bound one once initialized (0 = not given).
    source: SocketAddrV4,
    snaplen: usize,
    headroom: usize,
    timestamp: bool,
    rcvbuf: Option<usize>,
    sndbuf: Option<usize>,
    loop_: bool,
    /// None before initialize and after a fatal socket error (Click's cleanup()).
    socks: Option<Sockets>,
    receiving: bool,
    pulling: bool,
    /// A pulled packet the send socket had no room for yet (Click's `_wq`).
    pending: Option<Packet>,
    scratch: Vec<u8>,
}

impl Default for McastSocketElement {
    fn default() -> Self {
        McastSocketElement {
            mcast: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            source: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            snaplen: 2048,
            headroom: CLICK_DEFAULT_HEADROOM,
            timestamp: true,
            rcvbuf: None,
            sndbuf: None,
            loop_: true,
            socks: None,
            receiving: false,
            pulling: false,
            pending: None,
            scratch: Vec::new(),
        }
    }
}

/// The OS error text alone, as Click prints `strerror(errno)`.
fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// `KEY: parse error`, Click's message for an argument its parser rejects.
fn parse_error(key: &str) -> String {
    format!("{key}: parse error")
}

/// An optional argument parsed by `f`.
fn typed<T>(
    b: &args::Bound,
    key: &str,
    f: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, String> {
    b.str(key)
        .map(|v| f(v).ok_or_else(|| parse_error(key)))
        .transpose()
}

/// An optional non-negative integer up to `max` (Click reads these into an `int`; a
/// negative value leaves the default).
fn size_arg(b: &args::Bound, key: &str, max: i64) -> Result<Option<usize>, String> {
    match typed(b, key, args::parse_i64)? {
        None => Ok(None),
        Some(v) if v < 0 => Ok(None),
        Some(v) if v > max => Err(format!("{key}: out of range, at most {max}")),
        Some(v) => usize::try_from(v).map(Some).map_err(|_| parse_error(key)),
    }
}

fn udp_port(b: &args::Bound, key: &str, cx: &ConfigureCx<'_>) -> Result<Option<u16>, String> {
    match b.str(key) {
        None => Ok(None),
        Some(s) => match click::elements::shared::parse_port_in(s, "udp", cx) {
            Some(p) => Ok(Some(p)),
            // Click's IPPortArg messages.
            None if args::parse_u64(s).is_some() => Err(format!("{key}: overflow, range 0-65535")),
            None => Err(parse_error(key)),
        },
    }
}

/// Did a send fail only for lack of buffer space (try again later)?
fn is_transient(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS)
}

impl McastSocketElement {
    /// Creates, binds and joins both sockets as Click's initialize() does.
    fn open(&mut self) -> Result<Sockets, String> {
        let step = |what: &str, e: io::Error| format!("{what}: {}", strerror(&e));
        let new = || Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP));
        let recv = new().map_err(|e| step("socket", e))?;
        let send = new().map_err(|e| step("socket", e))?;
        if let Some(n) = self.sndbuf {
            send.set_send_buffer_size(n)
                .map_err(|e| step("setsockopt(SO_SNDBUF)", e))?;
        }
        if let Some(n) = self.rcvbuf {
            recv.set_recv_buffer_size(n)
                .map_err(|e| step("setsockopt(SO_RCVBUF)", e))?;
        }
        // Several listeners (other processes on this host) may share the group and port.
        recv.set_reuse_address(true)
            .map_err(|e| step("setsockopt(SO_REUSEADDR)", e))?;
        recv.bind(&SockAddr::from(self.mcast))
            .map_err(|e| step("bind", e))?;
        let src_ip = *self.source.ip();
        if !src_ip.is_unspecified() {
            send.bind(&SockAddr::from(self.source))
                .map_err(|e| step("bind", e))?;
            if self.source.port() == 0 {
                // The kernel chose the port: own datagrams are recognised by it.
                let bound = send
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_socket_ipv4())
                    .ok_or_else(|| "getsockname: no IPv4 address".to_string())?;
                self.source.set_port(bound.port());
            }
            send.set_multicast_if_v4(&src_ip)
                .map_err(|e| step("setsockopt(IP_MULTICAST_IF)", e))?;
        }
        recv.join_multicast_v4(self.mcast.ip(), &src_ip)
            .map_err(|e| step("setsockopt(IP_ADD_MEMBERSHIP)", e))?;
        send.set_multicast_loop_v4(self.loop_)
            .map_err(|e| step("setsockopt(IP_MULTICAST_LOOP)", e))?;
        // socket2 opens sockets close-on-exec already.
        for s in [&recv, &send] {
            s.set_nonblocking(true).map_err(|e| step("fcntl", e))?;
        }
        Ok(Sockets { recv, send })
    }

    /// Click's `declaration()`: `name :: McastSocket`.
    fn declaration(ctx: &Ctx<'_>) -> String {
        format!("{} :: McastSocket", ctx.name())
    }

    /// A fatal socket error: say so and close both sockets (Click's cleanup()); later
    /// packets are dropped.
    fn fail(&mut self, e: &io::Error, ctx: &mut Ctx<'_>) {
        let msg = format!("{}: {}", Self::declaration(ctx), strerror(e));
        ctx.chatter(&msg);
        self.socks = None;
        self.pending = None;
    }

    /// One `sendto`. Err(p) hands the packet back when the socket has no room now.
    fn write_packet(&mut self, p: Packet, ctx: &mut Ctx<'_>) -> Result<(), Packet> {
        let dest = SockAddr::from(self.mcast);
        loop {
            let Some(s) = self.socks.as_ref() else {
                return Ok(());
            };
            match s.send.send_to(p.data(), &dest) {
                Ok(_) => return Ok(()),
                Err(e) if is_transient(&e) => return Err(p),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.fail(&e, ctx);
                    return Ok(());
                }
            }
        }
    }

    /// Reads up to RECV_BURST datagrams; returns how many became packets.
    fn receive(&mut self, ctx: &mut Ctx<'_>) -> usize {
        let mut batch: PacketBatch = Vec::new();
        let mut reads = 0;
        self.scratch.resize(self.snaplen, 0);
        while reads < RECV_BURST {
            let Some(s) = self.socks.as_ref() else { break };
            // SAFETY: `[u8]` and `[MaybeUninit<u8>]` have the same layout, and the socket only
            // writes initialized bytes into the buffer.
            let buf = unsafe {
                &mut *(self.scratch.as_mut_slice() as *mut [u8] as *mut [MaybeUninit<u8>])
            };
            // MSG_TRUNC: the datagram's real length even when it exceeds SNAPLEN.
            let (len, from) = match s.recv.recv_from_with_flags(buf, libc::MSG_TRUNC) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.fail(&e, ctx);
                    break;
                }
            };
            reads += 1;
            if !self.source.ip().is_unspecified() && from.as_socket_ipv4() == Some(self.source) {
                // Our own datagram, looped back.
                continue;
            }
            let kept = len.min(self.snaplen);
            let mut p = Packet::make(self.headroom, &self.scratch[..kept], self.snaplen - kept);
            if len > self.snaplen {
                p.set_anno_u32(
                    EXTRA_LENGTH_ANNO_OFFSET,
                    u32::try_from(len - self.snaplen).unwrap_or(u32::MAX),
                );
            }
            if self.timestamp {
                p.timestamp = ctx.now();
            }
            batch.push(p);
        }
        let n = batch.len();
        ctx.output(0, batch);
        if reads == RECV_BURST {
            // More may be waiting: come back before the driver polls again.
            ctx.reschedule();
        }
        n
    }

    /// Pull mode: sends what the input has; returns whether a packet was sent.
    fn send_pulled(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let mut any = false;
        for _ in 0..SEND_BURST {
            if self.socks.is_none() {
                return any;
            }
            let p = match self.pending.take() {
                Some(p) => p,
                None => match ctx.pull(0, 1).pop() {
                    Some(p) => p,
                    None => break,
                },
            };
            any = true;
            if let Err(p) = self.write_packet(p, ctx) {
                // Socket buffer full: keep the packet and try again on the next round.
                self.pending = Some(p);
                ctx.reschedule();
                return any;
            }
        }
        if any || ctx.upstream_active() {
            ctx.reschedule();
        }
        any
    }
}

impl Element for McastSocketElement {
    click::element_class! {
        class: "McastSocket",
        ports: "0-1/0-1",
        processing: "a/h",
        flow: "x/y",
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = args::bind(conf, ARGS)?;
        // Every bad argument is reported, in order, as Click does.
        let mut errors = Vec::new();
        let mut keep = |r: Result<(), String>| {
            if let Err(e) = r {
                errors.push(e);
            }
        };
        let ip = |key: &str| typed(&b, key, |v| args::parse_ip(v, cx.addrs));
        keep(ip("MCASTIP").map(|v| self.mcast.set_ip(v.unwrap_or(Ipv4Addr::UNSPECIFIED))));
        keep(udp_port(&b, "MCASTPORT", cx).map(|p| self.mcast.set_port(p.unwrap_or(0))));
        keep(ip("SOURCEIP").map(|v| self.source.set_ip(v.unwrap_or(Ipv4Addr::UNSPECIFIED))));
        keep(udp_port(&b, "SOURCEPORT", cx).map(|p| self.source.set_port(p.unwrap_or(0))));
        // 65535: the largest UDP payload; larger buffers would only waste memory.
        keep(size_arg(&b, "SNAPLEN", 65535).map(|v| self.snaplen = v.unwrap_or(self.snaplen)));
        keep(size_arg(&b, "HEADROOM", 65535).map(|v| self.headroom = v.unwrap_or(self.headroom)));
        let flag = |key: &str| typed(&b, key, args::parse_bool);
        keep(flag("TIMESTAMP").map(|v| self.timestamp = v.unwrap_or(self.timestamp)));
        keep(size_arg(&b, "RCVBUF", i64::from(i32::MAX)).map(|v| self.rcvbuf = v));
        keep(size_arg(&b, "SNDBUF", i64::from(i32::MAX)).map(|v| self.sndbuf = v));
        keep(flag("LOOP").map(|v| self.loop_ = v.unwrap_or(self.loop_)));
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.socks = Some(self.open()?);
        self.receiving = ctx.noutputs() > 0;
        self.pulling = ctx.ninputs() > 0 && ctx.input_is_pull(0);
        if self.pulling {
            ctx.reschedule();
        }
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        // Click blocks a pushed packet until the socket takes it.
        for p in batch {
            let mut p = p;
            loop {
                match self.write_packet(p, ctx) {
                    Ok(()) => break,
                    Err(back) => {
                        p = back;
                        let Some(s) = self.socks.as_ref() else { break };
                        wait_writable(s.send.as_raw_fd());
                    }
                }
            }
        }
    }
    fn has_task(&self) -> bool {
        true
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let mut work = false;
        if self.receiving {
            work |= self.receive(ctx) > 0;
        }
        if self.pulling {
            work |= self.send_pulled(ctx);
        }
        work
    }
    fn io_fd(&self) -> Option<i32> {
        if !self.receiving {
            return None;
        }
        self.socks.as_ref().map(|s| s.recv.as_raw_fd())
    }
    fn cleanup(&mut self, _ctx: &mut Ctx<'_>) {
        self.socks = None;
        self.pending = None;
    }
}

/// Blocks until `fd` is writable (ENOBUFS reports writable at once, so pause briefly then).
fn wait_writable(fd: i32) {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, 1000) };
    if n > 0 {
        std::thread::sleep(Duration::from_micros(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_like_strerror() {
        let e = io::Error::from_raw_os_error(libc::EADDRNOTAVAIL);
        assert_eq!(strerror(&e), "Cannot assign requested address");
        assert_eq!(strerror(&io::Error::other("plain")), "plain");
    }

    #[test]
    fn only_a_full_buffer_is_transient() {
        assert!(is_transient(&io::Error::from_raw_os_error(libc::ENOBUFS)));
        assert!(is_transient(&io::Error::from_raw_os_error(libc::EAGAIN)));
        assert!(!is_transient(&io::Error::from_raw_os_error(
            libc::ENETUNREACH
        )));
    }

    #[test]
    fn size_arguments() {
        let b = args::bind("RCVBUF -1, SNDBUF 4096, SNAPLEN x", ARGS_FOR_SIZES).unwrap();
        assert_eq!(size_arg(&b, "RCVBUF", 100_000), Ok(None));
        assert_eq!(size_arg(&b, "SNDBUF", 100_000), Ok(Some(4096)));
        assert_eq!(
            size_arg(&b, "SNDBUF", 1000),
            Err("SNDBUF: out of range, at most 1000".to_string())
        );
        assert_eq!(
            size_arg(&b, "SNAPLEN", 100_000),
            Err("SNAPLEN: parse error".to_string())
        );
    }

    const ARGS_FOR_SIZES: &[(&str, Kind)] = &[
        ("RCVBUF", Kind::K),
        ("SNDBUF", Kind::K),
        ("SNAPLEN", Kind::K),
    ];
}
