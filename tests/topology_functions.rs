//! The shipped Click functions pass or drop the benchmark traffic as documented, run through
//! the reference Click (env `COO_BENCH_REFERENCE_CLICK`) with the DPDK ports replaced by a
//! packet source (port 0), Idle (port 1 input) and a Counter (port 1 output).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// 64-byte Ethernet/IPv4 frame (without FCS) from `src` to 198.19.0.1, port 1024 → 5001.
fn frame(src: [u8; 4], proto: u8) -> Vec<u8> {
    let payload = [0u8; 18];
    let mut l4 = Vec::new();
    l4.extend(1024u16.to_be_bytes());
    l4.extend(5001u16.to_be_bytes());
    l4.extend((8 + payload.len() as u16).to_be_bytes());
    l4.extend([0, 0]);
    l4.extend(payload);
    let mut ip = vec![0x45, 0];
    ip.extend((20 + l4.len() as u16).to_be_bytes());
    ip.extend([0, 0, 0, 0, 64, proto, 0, 0]);
    ip.extend(src);
    ip.extend([198, 19, 0, 1]);
    let sum = netwire::checksum::checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend(ip);
    f.extend(l4);
    f
}

/// Frames sent through port 0 → port 1 of `function`, as counted by reference Click.
fn passed(click: &Path, function: &Path, frame: &[u8]) -> u64 {
    let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
    let mut text = std::fs::read_to_string(function).unwrap();
    let mut handler = "tx1.count".to_owned();
    // A declared output (`out1 :: ToDPDKDevice(1);`) keeps its name; an inline one gets `tx1`.
    if let Some(pos) = text.find(":: ToDPDKDevice(1);") {
        let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
        let name = text[line_start..pos].trim().to_owned();
        text = text.replace(
            &format!("{name} :: ToDPDKDevice(1);"),
            &format!("{name} :: Counter; {name} -> Discard;"),
        );
        handler = format!("{name}.count");
    } else {
        text = text.replace("ToDPDKDevice(1)", "tx1 :: Counter -> Discard");
    }
    let text = text
        .replace(
            "FromDPDKDevice(0)",
            &format!("InfiniteSource(DATA \\<{hex}>, LIMIT 10, STOP true)"),
        )
        .replace("FromDPDKDevice(1)", "Idle")
        .replace("ToDPDKDevice(0)", "Discard");
    let out = Command::new(click)
        .arg("-e")
        .arg(&text)
        .arg("-h")
        .arg(&handler)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}: click failed: {}\n{text}",
        function.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .trim()
        .rsplit(|c: char| c.is_whitespace() || c == ':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}: no count in {stdout:?}", function.display()))
}

#[test]
fn shipped_functions_pass_and_drop_as_documented() {
    let Some(click) = std::env::var_os("COO_BENCH_REFERENCE_CLICK").map(PathBuf::from) else {
        eprintln!(
            "skipped: COO_BENCH_REFERENCE_CLICK is not set (path of the reference click binary)"
        );
        return;
    };
    if !click.is_file() {
        eprintln!("skipped: {} does not exist", click.display());
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("topologies/functions");
    let udp = frame([198, 18, 0, 1], 17);
    let blocked = frame([198, 18, 200, 1], 17);
    let tcp = frame([198, 18, 0, 1], 6);
    // (function, passed udp, passed udp from 198.18.200.1, passed tcp) out of 10 each.
    for (name, want) in [
        ("forward.click", [10, 10, 10]),
        ("firewall-ipfilter.click", [10, 0, 10]),
        ("firewall-classifier.click", [10, 0, 10]),
        ("firewall.click", [0, 0, 10]),
        ("nat.click", [10, 10, 10]),
        ("router.click", [10, 10, 10]),
    ] {
        let f = dir.join(name);
        let got = [
            passed(&click, &f, &udp),
            passed(&click, &f, &blocked),
            passed(&click, &f, &tcp),
        ];
        assert_eq!(got, want, "{name}: frames passed (udp, blocked udp, tcp)");
    }
}
