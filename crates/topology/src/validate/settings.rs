//! Settings: link impairments (netem), traffic profile and benchmark parameters.

use std::net::Ipv4Addr;

use super::Checker;
use crate::bench::BenchmarkMode;
use crate::error::ErrorKind;
use crate::spec::SpecConn;
use crate::traffic::{FrameSize, TrafficDirection};

pub(super) fn impairments(ck: &mut Checker<'_>, conns: &[SpecConn]) {
    for (index, conn) in conns.iter().enumerate() {
        let Some(imp) = &conn.impairment else {
            continue;
        };
        let link = conn
            .link
            .clone()
            .unwrap_or_else(|| format!("of connection {index}"));
        let mut problems = Vec::new();
        if !(0.0..=100.0).contains(&imp.loss_pct) || imp.loss_pct.is_nan() {
            problems.push(format!("loss_pct {} is not within 0..=100", imp.loss_pct));
        }
        if imp.jitter_us > 0 && imp.delay_us == 0 {
            problems.push("jitter_us needs a non-zero delay_us (netem)".to_owned());
        }
        if imp.rate_mbit == Some(0) {
            problems.push("rate_mbit must be > 0 (omit it for no limit)".to_owned());
        }
        for reason in problems {
            let at = ck.at_key("impairment");
            ck.push(
                ErrorKind::InvalidImpairment {
                    link: link.clone(),
                    reason,
                },
                at,
            );
        }
    }
}

fn in_benchmark_range(addr: Ipv4Addr) -> bool {
    let [a, b, ..] = addr.octets();
    a == 198 && (b == 18 || b == 19)
}

pub(super) fn settings(ck: &mut Checker<'_>) {
    let traffic = ck.spec.traffic.clone();
    let bench = ck.spec.benchmark.clone();
    let src = ck
        .spec
        .traffic_source
        .clone()
        .unwrap_or_else(|| ck.spec.main.clone());
    for (field, addr) in [
        ("traffic.flows.src_ip", traffic.flows.src_ip),
        ("traffic.flows.dst_ip", traffic.flows.dst_ip),
    ] {
        if !in_benchmark_range(addr) {
            let key = field.rsplit('.').next().unwrap_or(field);
            ck.push(
                ErrorKind::AddressOutsideBenchmarkRange {
                    field: field.to_owned(),
                    address: addr.to_string(),
                },
                src.find_pair(key, &addr.to_string()),
            );
        }
    }
    let mut bad = Vec::new();
    if traffic.flows.count == 0 {
        bad.push(("traffic.flows.count", "must be at least 1".to_owned()));
    }
    if traffic.frame_sizes.entries().is_empty() {
        bad.push(("traffic.frame_sizes", "must not be empty".to_owned()));
    }
    for size in traffic.frame_sizes.entries() {
        let FrameSize::Bytes(size) = size else {
            continue;
        };
        if !(60..=9216).contains(&size) {
            bad.push((
                "traffic.frame_sizes",
                format!("{size} is not within 60..=9216 bytes"),
            ));
        } else if size < traffic.protocol.min_frame() {
            // Never silently measured at another size.
            let at = src.find_key("frame_sizes", 0);
            ck.push(
                ErrorKind::FrameTooSmall {
                    size,
                    protocol: format!("{:?}", traffic.protocol).to_uppercase(),
                    min: traffic.protocol.min_frame(),
                },
                at,
            );
        }
    }
    if traffic.warmup_s.is_nan() || traffic.warmup_s < 0.0 {
        bad.push(("traffic.warmup_s", "must be >= 0".to_owned()));
    }
    if matches!(
        bench.mode,
        BenchmarkMode::FixedRate | BenchmarkMode::Latency
    ) {
        let at = ck.spec.main.find_key("mode", 0);
        ck.push(
            ErrorKind::UnsupportedMode {
                mode: serde_json::to_value(bench.mode)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            },
            at,
        );
    }
    if bench.trial_duration_s.is_nan() || bench.trial_duration_s <= 0.0 {
        bad.push(("benchmark.trial_duration_s", "must be > 0".to_owned()));
    }
    if !(0.0..=100.0).contains(&bench.ndr_loss_pct) || !(0.0..=100.0).contains(&bench.pdr_loss_pct)
    {
        bad.push((
            "benchmark.ndr_loss_pct/pdr_loss_pct",
            "must be within 0..=100".to_owned(),
        ));
    } else if bench.ndr_loss_pct > bench.pdr_loss_pct {
        bad.push((
            "benchmark.ndr_loss_pct",
            "must not exceed pdr_loss_pct".to_owned(),
        ));
    }
    if bench.precision_pct.is_nan() || bench.precision_pct <= 0.0 {
        bad.push(("benchmark.precision_pct", "must be > 0".to_owned()));
    }
    if bench.min_rate_pps == 0 || bench.min_rate_pps > bench.max_rate_pps {
        bad.push((
            "benchmark.min_rate_pps",
            "must be > 0 and <= max_rate_pps".to_owned(),
        ));
    }
    if bench.repetitions == 0 {
        bad.push(("benchmark.repetitions", "must be at least 1".to_owned()));
    }
    if bench
        .latency_loads_pct
        .iter()
        .any(|l| !(*l > 0.0 && *l <= 100.0))
    {
        bad.push((
            "benchmark.latency_loads_pct",
            "every load must be within (0, 100]".to_owned(),
        ));
    }
    for (field, reason) in bad {
        let (file, key) = match field.split_once('.') {
            Some(("traffic", key)) => (&src, key),
            Some((_, key)) => (&ck.spec.main, key),
            None => (&ck.spec.main, field),
        };
        let at = file.find_key(key.split('/').next().unwrap_or(key), 0);
        ck.push(
            ErrorKind::InvalidSetting {
                field: field.to_owned(),
                reason,
            },
            at,
        );
    }
}

/// Replies start at the Outgoing Point: a bidirectional profile needs exactly one.
pub(super) fn direction(ck: &mut Checker<'_>, outgoing_points: usize) {
    if ck.spec.traffic.direction != TrafficDirection::Both || outgoing_points <= 1 {
        return;
    }
    let src = ck
        .spec
        .traffic_source
        .clone()
        .unwrap_or_else(|| ck.spec.main.clone());
    let at = src.find_key("direction", 0);
    ck.push(
        ErrorKind::InvalidSetting {
            field: "traffic.direction".to_owned(),
            reason: format!(
                "\"both\" needs exactly one Outgoing Point (replies start there); this chain has \
                 {outgoing_points}"
            ),
        },
        at,
    );
}

#[cfg(test)]
mod tests {
    use super::super::testing::{good_with, rules, GOOD};
    use super::*;

    fn all(json: &str) -> Vec<String> {
        rules(json, |ck, parts| {
            impairments(ck, parts.conns);
            settings(ck);
            direction(ck, parts.ops.len());
        })
    }

    #[test]
    fn defaults_pass() {
        assert_eq!(all(GOOD), Vec::<String>::new());
    }

    #[test]
    fn jitter_without_delay_is_an_invalid_impairment() {
        let json = good_with(
            r#""link": "ab"}"#,
            r#""link": "ab", "impairment": {"jitter_us": 5}}"#,
        );
        assert_eq!(all(&json), ["invalid-impairment"]);
    }

    #[test]
    fn replies_need_exactly_one_outgoing_point() {
        let both = good_with(
            r#""connections""#,
            r#""traffic": {"direction": "both"}, "connections""#,
        );
        assert_eq!(all(&both), Vec::<String>::new());
        let two = both.replacen(
            r#""outgoing": [{"id": "sink", "link": "out"}]"#,
            r#""outgoing": [{"id": "sink", "link": "out"}, {"id": "s2", "link": "o2"}]"#,
            1,
        );
        assert_eq!(all(&two), ["invalid-setting"]);
    }

    #[test]
    fn benchmark_range_is_198_18_slash_15() {
        assert!(in_benchmark_range(
            "198.19.255.1".parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
        ));
        assert!(!in_benchmark_range(Ipv4Addr::new(10, 0, 0, 1)));
    }
}
