//! Differential tests for the second batch of Click elements (ARP, encapsulation, IPPrint,
//! Script/DriverManager, FromDump/ToDump, FromIPSummaryDump/ToIPSummaryDump, switches,
//! IPAddrPairRewriter with RoundRobinIPMapper, ICMPError/ICMPPingResponder, IPFragmenter,
//! IPGWOptions, IPInputCombo/IPOutputCombo, ARPPrint, VLAN elements, TimestampAccum, schedulers, PaintTee/CheckLength/Pad/SetIPDSCP/MarkIPCE): every case runs the same configuration, with the
//! same input files, through reference Click and through `coo-click` (both with `--simtime`),
//! then compares standard output (which carries `-h` handler values and Script prints), exit
//! status, selected standard error, and every output file (pcap files record by record,
//! IP summary dumps as text).
//!
//! Needs the reference Click binary in `COO_BENCH_REFERENCE_CLICK`; without it the test prints
//! why it skips. Differences that are known and not yet fixed are listed in `KNOWN`: they are
//! printed, not failed, so the list documents the engine's remaining gaps.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Three packets as an IP summary dump (TCP, UDP, TCP with TTL 1).
const IPSUM_IN: &str = "!IPSummaryDump 1.3
!data timestamp ip_src ip_dst sport dport ip_proto ip_len ip_ttl ip_id
1.000000 10.0.0.1 10.0.0.2 1234 80 T 60 64 1
1.500000 10.0.0.3 10.0.0.4 53 5353 U 100 32 2
2.000000 10.0.0.1 10.0.0.9 1234 443 T 40 1 3
";

/// An ARP request for 10.0.0.7 from 10.0.0.1 (Ethernet + ARP, hex).
const ARP_REQ: &str = "\\<ffffffffffff 000102030405 0806 0001 0800 06 04 0001 000102030405 0a000001 000000000000 0a000007>";
/// An ARP reply 10.0.0.2 is-at 00:00:00:00:00:02, to 10.0.0.1.
const ARP_REPLY: &str = "\\<000000000001 000000000002 0806 0001 0800 06 04 0002 000000000002 0a000002 000000000001 0a000001>";
/// An ICMP echo request 10.0.0.1 -> 10.0.0.2 with 8 payload bytes (valid checksums).
const PING: &str =
    "\\<45000024 00070000 400166d0 0a000001 0a000002 08005435 12340001 61626364 65666768>";
/// A 20-byte IPv4 header 10.0.0.1 -> 10.0.0.2, protocol UDP.
const IP_HDR: &str = "\\<45000014 00000000 40110000 0a000001 0a000002>";

struct Case {
    name: &'static str,
    config: String,
    handlers: &'static [&'static str],
    /// Compare standard error too (elements that print, like IPPrint).
    stderr: bool,
    /// Compare pcap timestamps (only meaningful when packets come from input files).
    timestamps: bool,
}

/// (case, artifact) pairs that differ today; see the module comment.
const KNOWN: &[(&str, &str)] = &[];

fn cases() -> Vec<Case> {
    let c = |name, config: String, handlers, stderr, timestamps| Case {
        name,
        config,
        handlers,
        stderr,
        timestamps,
    };
    vec![
        c(
            "ipsum_roundtrip",
            "FromIPSummaryDump(in.ipsum, STOP true) -> c :: Counter
               -> ToIPSummaryDump(out.ipsum, CONTENTS timestamp ip_src ip_dst sport dport ip_proto ip_len ip_ttl ip_id payload_len)"
                .into(),
            &["c.count", "c.byte_count"],
            true,
            true,
        ),
        c(
            "ipsum_to_pcap",
            "FromIPSummaryDump(in.ipsum, STOP true, CHECKSUM true)
               -> EtherEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b) -> ToDump(out.pcap)"
                .into(),
            &[],
            true,
            true,
        ),
        c(
            "udpipencap",
            "InfiniteSource(DATA \"hello\", LIMIT 5, STOP true) -> u :: UDPIPEncap(1.0.0.1, 1234, 2.0.0.2, 5678, true) -> t :: Tee;
             t[0] -> ToIPSummaryDump(out.ipsum, CONTENTS ip_src ip_dst sport dport ip_proto ip_len ip_id ip_ttl ip_sum udp_len payload);
             t[1] -> EtherEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b) -> ToDump(out.pcap)"
                .into(),
            &["u.src", "u.sport", "u.dst", "u.dport"],
            true,
            false,
        ),
        c(
            "ipsum_passthrough",
            // CHECKSUM is explicit: Click's UDPIPEncap leaves it uninitialised when omitted.
            "InfiniteSource(DATA \"hello\", LIMIT 2, STOP true) -> UDPIPEncap(1.0.0.1, 1234, 2.0.0.2, 5678, true)
               -> ToIPSummaryDump(out.ipsum, CONTENTS ip_src ip_dst) -> EtherEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b) -> ToDump(out.pcap)"
                .into(),
            &[],
            true,
            false,
        ),
        c(
            "ipencap",
            format!(
                "InfiniteSource(DATA {IP_HDR}, LIMIT 3, STOP true) -> e :: IPEncap(4, 1.1.1.1, 2.2.2.2, TTL 7, DF true, DSCP 5)
                   -> MarkIPHeader -> GetIPAddress(IP src) -> ToDump(out.pcap, ENCAP IP) -> Discard"
            ),
            &["e.src", "e.dst"],
            true,
            false,
        ),
        c(
            "ipencap_named_proto",
            format!("InfiniteSource(DATA {IP_HDR}, LIMIT 1, STOP true) -> IPEncap(ipip, 1.1.1.1, 2.2.2.2) -> ToDump(out.pcap, ENCAP IP)"),
            &[],
            true,
            false,
        ),
        c(
            "arp_responder",
            format!(
                "InfiniteSource(DATA {ARP_REQ}, LIMIT 2, STOP true) -> CheckARPHeader(14)
                   -> ar :: ARPResponder(10.0.0.0/24 1.2.3.4 00:aa:bb:cc:dd:ee) -> ToDump(out.pcap); ar[1] -> Discard"
            ),
            &["ar.table"],
            true,
            false,
        ),
        c(
            "arp_querier",
            format!(
                "InfiniteSource(DATA {IP_HDR}, LIMIT 3, STOP false) -> GetIPAddress(16) -> [0]q :: ARPQuerier(10.0.0.1/24, 00:00:00:00:00:01);
                 q[0] -> ToDump(ip.pcap); q[1] -> ToDump(arp.pcap);
                 InfiniteSource(DATA {ARP_REPLY}, LIMIT 1, STOP true) -> [1]q;"
            ),
            &["q.responses", "q.drops", "q.ipaddr", "q.count", "q.length", "q.queries", "q.stats"],
            true,
            false,
        ),
        c(
            "arp_querier_script",
            format!(
                "InfiniteSource(DATA {IP_HDR}, LIMIT 3, STOP false) -> GetIPAddress(16) -> [0]q :: ARPQuerier(10.0.0.1/24, 00:00:00:00:00:01);
                 q[0] -> ToDump(ip.pcap); q[1] -> ToDump(arp.pcap); Idle -> [1]q;
                 DriverManager(wait 10ms, print q.count, print q.length, write q.insert 10.0.0.2 0:0:0:0:0:2, print q.length, print q.broadcast, stop)"
            ),
            &["q.queries"],
            true,
            false,
        ),
        c(
            "ipprint",
            "FromDump(in.pcap, STOP true) -> Strip(14) -> CheckIPHeader
               -> IPPrint(x, CONTENTS hex, TTL true, ID true, LENGTH true) -> IPPrint(y) -> Discard"
                .into(),
            &[],
            true,
            true,
        ),
        c(
            "fromdump_ipsum",
            "FromDump(in.pcap, STOP true) -> Strip(14) -> CheckIPHeader
               -> ToIPSummaryDump(out.ipsum, CONTENTS timestamp ip_src ip_dst sport dport ip_proto ip_len tcp_seq udp_len)"
                .into(),
            &[],
            true,
            true,
        ),
        c(
            "fromdump_todump",
            "FromDump(in.pcap, STOP true) -> c :: Counter -> ToDump(out.pcap)".into(),
            &["c.count"],
            true,
            true,
        ),
        c(
            "rr_ip_mapper",
            "FromIPSummaryDump(in.ipsum, STOP true) -> rw :: IPAddrPairRewriter(rr);
             rr :: RoundRobinIPMapper(- - 198.18.0.1 - 0 0, - - 198.18.0.2 - 0 0);
             rw[0] -> ToIPSummaryDump(out.ipsum, CONTENTS ip_src ip_dst sport dport ip_proto)"
                .into(),
            &[],
            true,
            true,
        ),
        c(
            "switches",
            "FromIPSummaryDump(in.ipsum, STOP true) -> t :: Tee(4);
             t[0] -> rr :: RoundRobinSwitch; rr[0] -> a0 :: Counter -> Discard; rr[1] -> a1 :: Counter -> Discard;
             t[1] -> hs :: HashSwitch(12, 4); hs[0] -> b0 :: Counter -> Discard; hs[1] -> b1 :: Counter -> Discard; hs[2] -> b2 :: Counter -> Discard;
             t[2] -> ss :: StaticSwitch(1); ss[0] -> Discard; ss[1] -> c1 :: Counter -> Discard;
             t[3] -> sw :: Switch(0); sw[0] -> d0 :: Counter -> Discard; sw[1] -> d1 :: Counter -> Discard;"
                .into(),
            &["a0.count", "a1.count", "b0.count", "b1.count", "b2.count", "c1.count", "d0.count", "sw.switch"],
            true,
            false,
        ),
        c(
            "check_arp_store_ether",
            "InfiniteSource(DATA \\<0001 0800 06 04 0001 000000000001 0a000001 000000000000 0a000002>, LIMIT 2, STOP false)
               -> ch :: CheckARPHeader -> se :: StoreEtherAddress(00:11:22:33:44:55, 8) -> ToDump(a.pcap);
             InfiniteSource(DATA \\<0001 0800 06>, LIMIT 1, STOP true) -> ch; ch[1] -> bad :: Counter -> Discard; se[1] -> Discard;"
                .into(),
            &["ch.drops", "bad.count", "se.addr"],
            true,
            false,
        ),
        c(
            "icmp_ping_and_error",
            format!(
                "InfiniteSource(DATA {PING}, LIMIT 2, STOP true) -> CheckIPHeader -> ch :: CheckICMPHeader -> t :: Tee;
                 t[0] -> pr :: ICMPPingResponder -> EtherEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b) -> ToDump(reply.pcap); pr[1] -> Discard;
                 t[1] -> e :: ICMPError(192.168.1.1, timeexceeded) -> EtherEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b) -> ToDump(err.pcap);"
            ),
            &["ch.drops", "e.src", "e.mtu"],
            true,
            false,
        ),
        c(
            "ip_fragmenter",
            "FromIPSummaryDump(in.ipsum, STOP true, CHECKSUM true) -> CheckIPHeader -> f :: IPFragmenter(48)
               -> EtherEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b) -> ToDump(frag.pcap); f[1] -> Discard"
                .into(),
            &["f.fragments", "f.drops"],
            true,
            true,
        ),
        c(
            "ip_gw_options",
            "InfiniteSource(DATA \\<4800002c 00010000 40060000 0a000001 0a000002 07070400 00000000 0a0b0c0d 0e0f1011 12131415 16171819>, LIMIT 1)
               -> MarkIPHeader -> SetIPChecksum -> CheckIPHeader -> g :: IPGWOptions(9.9.9.9)
               -> EtherEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b) -> ToDump(ok.pcap);
             g[1] -> EtherEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b) -> ToDump(bad.pcap);
             InfiniteSource(DATA \\<4800002c 00010000 40060000 0a000001 0a000002 07ff0400 00000000 0a0b0c0d 0e0f1011 12131415 16171819>, LIMIT 1, STOP true)
               -> MarkIPHeader -> SetIPChecksum -> CheckIPHeader -> g;"
                .into(),
            &["g.drops"],
            true,
            false,
        ),
        c(
            "ip_combos",
            "FromDump(in.pcap, STOP true) -> ic :: IPInputCombo(1, INTERFACES 10.0.0.254/24) -> oc :: IPOutputCombo(1, 10.0.0.254, 60);
             oc[0] -> EtherEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b) -> ToDump(o0.pcap); oc[1] -> c1 :: Counter -> Discard;
             oc[2] -> Discard; oc[3] -> EtherEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b) -> ToDump(o3.pcap);
             oc[4] -> EtherEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b) -> ToDump(o4.pcap)"
                .into(),
            &["ic.drops", "c1.count"],
            true,
            true,
        ),
        c(
            "schedulers",
            "InfiniteSource(LIMIT 6, STOP false) -> Paint(1) -> q0 :: Queue; InfiniteSource(LIMIT 6, STOP false) -> Paint(2) -> q1 :: Queue;
             rr :: RoundRobinSched; q0 -> [0]rr; q1 -> [1]rr; rr -> u :: Unqueue(LIMIT 4) -> ps :: PaintSwitch;
             ps[0] -> Discard; ps[1] -> a :: Counter -> Discard; ps[2] -> b :: Counter -> Discard;
             InfiniteSource(LIMIT 6, STOP false) -> Paint(1) -> p0 :: Queue; InfiniteSource(LIMIT 6, STOP false) -> Paint(2) -> p1 :: Queue;
             pr :: PrioSched; p0 -> [0]pr; p1 -> [1]pr; pr -> Unqueue(LIMIT 8) -> ps2 :: PaintSwitch;
             ps2[0] -> Discard; ps2[1] -> c :: Counter -> Discard; ps2[2] -> d :: Counter -> Discard;
             DriverManager(wait 1s, stop)"
                .into(),
            &["a.count", "b.count", "c.count", "d.count"],
            true,
            false,
        ),
        c(
            "painttee_checklength_tos",
            format!(
                "InfiniteSource(DATA {IP_HDR}, LIMIT 3, STOP true) -> MarkIPHeader -> SetIPChecksum
                   -> Paint(3) -> pt :: PaintTee(3) -> cl :: CheckLength(19) -> Discard;
                 pt[1] -> copies :: Counter -> Pad(30) -> SetIPDSCP(46) -> MarkIPCE(true) -> Print(ce, -1) -> CheckIPHeader -> ok :: Counter -> Discard;
                 cl[1] -> long :: Counter -> Discard;"
            ),
            &["copies.count", "long.count", "ok.count", "pt.color", "cl.length"],
            true,
            false,
        ),
        c(
            "pullswitch_pulltee",
            "InfiniteSource(LIMIT 3, STOP false) -> q0 :: Queue; InfiniteSource(LIMIT 5, STOP false) -> q1 :: Queue;
             sw :: PullSwitch(1); q0 -> [0]sw; q1 -> [1]sw; sw -> t :: PullTee(2) -> Unqueue -> a :: Counter -> Discard;
             t[1] -> b :: Counter -> Discard;
             DriverManager(wait 1s, print a.count, write sw.switch 0, wait 1s, print a.count, write sw.switch 7, print sw.switch, stop)"
                .into(),
            &["b.count"],
            true,
            false,
        ),
        c(
            "vlan",
            "InfiniteSource(DATA \\<060708090a0b 000102030405 0800 45000014>, LIMIT 1, STOP true)
               -> e :: VLANEncap(VLAN_ID 10, VLAN_PCP 5) -> Print(tagged, -1)
               -> VLANDecap -> Print(plain, -1) -> SetVLANAnno(VLAN_ID 7)
               -> EtherVLANEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b, ANNO) -> Print(ether, -1)
               -> VLANEncap(VLAN_ID 0) -> Print(native, -1) -> VLANEncap(ANNO, NATIVE_VLAN -1) -> Print(anno, -1) -> Discard;"
                .into(),
            &["e.vlan_tci", "e.vlan_id", "e.vlan_pcp"],
            true,
            false,
        ),
        c(
            "timestamp_accum",
            "InfiniteSource(LIMIT 4, STOP false) -> SetTimestamp -> q :: Queue -> Unqueue -> t :: TimestampAccum -> Discard;
             DriverManager(wait 1s, print t.count, write t.reset_counts, print t.count, print t.average_time, stop)"
                .into(),
            &[],
            true,
            false,
        ),
        c(
            "arp_print",
            format!(
                "InfiniteSource(DATA {ARP_REQ}, LIMIT 1, STOP false) -> CheckARPHeader(14) -> a :: ARPPrint(req, TIMESTAMP false, ETHER true) -> Discard;
                 InfiniteSource(DATA {ARP_REPLY}, LIMIT 1, STOP true) -> CheckARPHeader(14) -> ARPPrint(rep, TIMESTAMP false, OUTFILE out.txt) -> Discard;"
            ),
            &["a.active"],
            true,
            false,
        ),
        c(
            "script_loop",
            "Script(set x 0, label begin_loop, print $x, set x $(add $x 1), goto begin_loop $(lt $x 5), print \"done, $x\", stop)".into(),
            &[],
            true,
            false,
        ),
        c(
            "script_arith",
            "s :: Script(TYPE PASSIVE, return $(add $1 $2 10));
             t :: Script(TYPE PASSIVE, goto neg $(lt $1 0), returnq \"pos\", label neg, return neg);
             Script(print $(s.run 1 2), print $(t.run -4), print $(t.run 4), print $(sub 10 5 2), print $(div 7 2),
                    print $(idiv 7 2), print $(mod 7 3), print $(eq 10 0xA), print $(le 9 8), print $(not true),
                    print $(if true a b), print $(in foo bar foo), print $(sprintf \"%05x\" 127), print $(length abcdef),
                    print $(div 1 3), write nosuch.h, print $?, stop)"
                .into(),
            &[],
            true,
            false,
        ),
        c(
            "driver_manager",
            "src :: InfiniteSource(LIMIT 3, STOP true) -> c :: Counter -> Discard;
             DriverManager(pause, wait 5ms, print \"count $(c.count)\", write c.reset, stop)"
                .into(),
            &["c.count"],
            true,
            false,
        ),
    ]
}

struct Run {
    rc: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    dir: PathBuf,
}

fn run(bin: &Path, dir: &Path, case: &Case, inputs: &[(&str, Vec<u8>)]) -> Run {
    std::fs::create_dir_all(dir).expect("create case dir");
    for (n, d) in inputs {
        std::fs::write(dir.join(n), d).expect("write input file");
    }
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir)
        .arg("--simtime")
        .arg("-e")
        .arg(&case.config);
    for h in case.handlers {
        cmd.arg("-h").arg(h);
    }
    let out = run_bounded(cmd);
    Run {
        rc: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
        dir: dir.to_path_buf(),
    }
}

/// Run with a time bound so a hung engine fails the test instead of blocking CI.
fn run_bounded(mut cmd: Command) -> std::process::Output {
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn click engine");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if child.try_wait().expect("wait engine").is_some() {
            return child.wait_with_output().expect("engine output");
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            return child.wait_with_output().expect("engine output");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A pcap file reduced to what both engines must agree on: link type, snap length and, per
/// record, (timestamp in µs if wanted, caplen, len, bytes). Click may write nanosecond pcap.
fn pcap_view(d: &[u8], timestamps: bool) -> Result<String, String> {
    if d.len() < 24 {
        return Err(format!("short pcap ({} bytes)", d.len()));
    }
    let magic = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
    let (be, nsec) = match magic {
        0xa1b2c3d4 => (false, false),
        0xa1b23c4d => (false, true),
        0xd4c3b2a1 => (true, false),
        0x4d3cb2a1 => (true, true),
        m => return Err(format!("bad pcap magic {m:08x}")),
    };
    let u32at = |o: usize| -> u32 {
        let b = [d[o], d[o + 1], d[o + 2], d[o + 3]];
        if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let mut s = format!("snaplen {} linktype {}\n", u32at(16), u32at(20));
    let mut o = 24;
    while o + 16 <= d.len() {
        let (sec, frac, cap, len) = (u32at(o), u32at(o + 4), u32at(o + 8) as usize, u32at(o + 12));
        let usec = if nsec { frac / 1000 } else { frac };
        let end = (o + 16 + cap).min(d.len());
        let hex: String = d[o + 16..end].iter().map(|b| format!("{b:02x}")).collect();
        if timestamps {
            s.push_str(&format!("{sec}.{usec:06} "));
        }
        s.push_str(&format!("{cap} {len} {hex}\n"));
        o = end;
    }
    Ok(s)
}

fn artifact(dir: &Path, name: &str, timestamps: bool) -> String {
    let Ok(d) = std::fs::read(dir.join(name)) else {
        return "<missing>".into();
    };
    if name.ends_with(".pcap") {
        pcap_view(&d, timestamps).unwrap_or_else(|e| format!("<{e}>"))
    } else {
        String::from_utf8_lossy(&d).into_owned()
    }
}

fn reference_click() -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var_os("COO_BENCH_REFERENCE_CLICK")?);
    p.is_file().then_some(p)
}

#[test]
fn click_elements2_differential() {
    let Some(refclick) = reference_click() else {
        eprintln!("skipped: COO_BENCH_REFERENCE_CLICK is unset or not a file (reference Click needed for this differential test)");
        return;
    };
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_coo-click"));
    let root = std::env::temp_dir().join(format!("coo-bench-elements2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);

    // Input files: the summary dump, and a pcap made from it by reference Click itself.
    let mut inputs: Vec<(&str, Vec<u8>)> = vec![("in.ipsum", IPSUM_IN.as_bytes().to_vec())];
    let gen = root.join("gen");
    let mk = Case {
        name: "gen",
        config: "FromIPSummaryDump(in.ipsum, STOP true, CHECKSUM true) -> EtherEncap(0x0800, 0:1:2:3:4:5, 6:7:8:9:a:b) -> ToDump(in.pcap)".into(),
        handlers: &[],
        stderr: false,
        timestamps: true,
    };
    let g = run(&refclick, &gen, &mk, &inputs);
    assert_eq!(
        g.rc,
        Some(0),
        "reference Click could not make the input pcap: {}",
        String::from_utf8_lossy(&g.stderr)
    );
    inputs.push((
        "in.pcap",
        std::fs::read(gen.join("in.pcap")).expect("generated pcap"),
    ));

    let mut failures = Vec::new();
    let (mut same, mut known) = (0, 0);
    for case in cases() {
        let r = run(&refclick, &root.join("ref").join(case.name), &case, &inputs);
        let o = run(&ours, &root.join("ours").join(case.name), &case, &inputs);
        let mut files: Vec<String> = std::fs::read_dir(&r.dir)
            .expect("reference case dir")
            .chain(std::fs::read_dir(&o.dir).expect("our case dir"))
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| !inputs.iter().any(|(i, _)| i == n))
            .collect();
        files.sort();
        files.dedup();
        let mut checks: Vec<(String, String, String)> = vec![
            ("rc".into(), format!("{:?}", r.rc), format!("{:?}", o.rc)),
            (
                "stdout".into(),
                String::from_utf8_lossy(&r.stdout).into_owned(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
            ),
        ];
        if case.stderr {
            checks.push((
                "stderr".into(),
                String::from_utf8_lossy(&r.stderr).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            ));
        }
        for f in files {
            let (a, b) = (
                artifact(&r.dir, &f, case.timestamps),
                artifact(&o.dir, &f, case.timestamps),
            );
            checks.push((f, a, b));
        }
        for (what, a, b) in checks {
            let is_known = KNOWN.contains(&(case.name, what.as_str()));
            if a == b {
                same += 1;
                if is_known {
                    eprintln!(
                        "note: {}/{what} now matches reference Click; remove it from KNOWN",
                        case.name
                    );
                }
            } else if is_known {
                known += 1;
                eprintln!(
                    "known difference {}/{what}:\n--- reference\n{a}\n--- coo-click\n{b}",
                    case.name
                );
            } else {
                failures.push(format!(
                    "{}/{what}:\n--- reference\n{a}\n--- coo-click\n{b}",
                    case.name
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    eprintln!("click_elements2_differential: {same} artifacts identical, {known} known differences, {} unexpected", failures.len());
    assert!(
        failures.is_empty(),
        "differences from reference Click:\n{}",
        failures.join("\n")
    );
}
