//! Engine behaviour through the public API (no I/O: MemEnv + SimClock).
#![allow(clippy::unwrap_used)]

use click::{MemEnv, Registry, Router, RouterOptions, SimClock};

fn sim(text: &str, env: MemEnv) -> Result<Router, click::ConfigError> {
    let opts = RouterOptions {
        clock: Box::new(SimClock::default()),
        env: Box::new(env),
        defines: Vec::new(),
    };
    Router::with_options(text, "config", &Registry::standard(), opts)
}

#[test]
fn counter_counts_and_source_stops() {
    let mut r = sim(
        "s :: InfiniteSource(LIMIT 100, BURST 32, STOP true) -> c :: Counter -> Discard",
        MemEnv::default(),
    )
    .unwrap();
    assert!(r.run_to_completion(10_000));
    assert_eq!(r.read_handler("c.count").unwrap(), "100");
    assert_eq!(r.read_handler("s.count").unwrap(), "100");
    assert_eq!(
        r.read_handler("c.byte_count").unwrap(),
        (100 * 69).to_string()
    );
}

#[test]
fn queue_unqueue_with_notifier_sleeps_when_empty() {
    let mut r = sim("InfiniteSource(LIMIT 10, STOP true) -> q :: Queue(5) -> u :: Unqueue(BURST 2) -> c :: Counter -> Discard", MemEnv::default()).unwrap();
    assert!(r.run_to_completion(10_000));
    let c: u64 = r.read_handler("c.count").unwrap().parse().unwrap();
    let d: u64 = r.read_handler("q.drops").unwrap().parse().unwrap();
    let l: u64 = r.read_handler("q.length").unwrap().parse().unwrap();
    assert_eq!(c + d + l, 10);
}

#[test]
fn push_pull_errors_read_like_click() {
    let e = sim(
        "i :: InfiniteSource -> q :: Queue -> t :: Tee -> Discard; t[1] -> Discard",
        MemEnv::default(),
    )
    .unwrap_err();
    assert!(e.during_init);
    assert_eq!(
        e.messages,
        vec!["'q :: Queue' pull output 0 connected to 't :: Tee' push input 0".to_string()]
    );
    let e = sim(
        "i :: InfiniteSource -> q :: Queue -> Counter -> t :: Tee -> Discard; t[1] -> Discard",
        MemEnv::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.messages,
        vec![
            "agnostic 'Counter@3 :: Counter' in mixed context: pull input 0, push output 0"
                .to_string()
        ]
    );
    let e = sim(
        "Idle -> q :: Queue -> Discard; Idle -> q2 :: Queue",
        MemEnv::default(),
    )
    .unwrap_err();
    assert!(
        e.messages
            .iter()
            .any(|m| m == "config:1: 'q2 :: Queue' output 0 unused"),
        "{:?}",
        e.messages
    );
}

#[test]
fn unknown_class_suggests() {
    let e = sim("x :: InfiniteSourc -> Discard", MemEnv::default()).unwrap_err();
    assert!(
        e.messages[0].contains("unknown element class 'InfiniteSourc'")
            && e.messages[0].contains("InfiniteSource"),
        "{:?}",
        e.messages
    );
}

#[test]
fn ipsummary_roundtrip_through_ipfilter() {
    let mut env = MemEnv::default();
    env.files.insert(
        "in".into(),
        b"!data src sport dst dport proto\n1.0.0.1 10 2.0.0.2 80 T\n1.0.0.1 11 2.0.0.2 53 U\n3.0.0.1 12 2.0.0.2 80 T\n".to_vec(),
    );
    let out = env.outputs.clone();
    let mut r = sim(
        "FromIPSummaryDump(in, STOP true) -> IPFilter(allow src 1.0.0.1 && tcp, deny all) -> ToIPSummaryDump(out, FIELDS src sport proto)",
        env,
    )
    .unwrap();
    r.run_to_completion(10_000);
    r.cleanup();
    let text = String::from_utf8(out.borrow()["out"].clone()).unwrap();
    assert_eq!(
        text,
        "!IPSummaryDump 1.3\n!data ip_src sport ip_proto\n1.0.0.1 10 T\n"
    );
}

#[test]
fn script_waits_in_simulated_time_and_stops() {
    let mut r = sim(
        "s :: Script(export x 1, wait 5s, set x $(add $x 41), stop)",
        MemEnv::default(),
    )
    .unwrap();
    let t0 = r.now();
    assert!(r.run_to_completion(10_000));
    assert!((r.now() - t0).as_secs_f64() >= 5.0);
    assert_eq!(r.read_handler("s.x").unwrap(), "42");
}

#[test]
fn driver_manager_waits_for_stop() {
    let mut r = sim(
        "InfiniteSource(LIMIT 5, STOP true) -> c :: Counter -> Discard; DriverManager(wait_stop, write c.reset, stop)",
        MemEnv::default(),
    )
    .unwrap();
    assert!(r.run_to_completion(10_000));
    assert_eq!(r.read_handler("c.count").unwrap(), "0");
}

#[test]
fn global_handlers() {
    let mut r = sim(
        "x :: Idle; y :: Counter; Idle -> y -> Idle",
        MemEnv::default(),
    )
    .unwrap();
    assert_eq!(r.read_handler("list").unwrap(), "4\nx\ny\nIdle@3\nIdle@4\n");
    assert!(r
        .read_handler("flatconfig")
        .unwrap()
        .contains("y :: Counter;"));
    assert!(r.read_handler("classes").unwrap().contains("IPRewriter\n"));
    r.write_handler("stop", "").unwrap();
    assert!(r.stopped());
    assert!(matches!(
        r.read_handler("nope.count"),
        Err(click::HandlerError::NoElement(_))
    ));
}

#[test]
fn malformed_packets_do_not_panic() {
    // Short, garbage packets through every IP-ish element.
    let cfg = "InfiniteSource(DATA \\<45 00 ff>, LIMIT 3, STOP true) -> MarkIPHeader -> DecIPTTL -> IPFilter(allow tcp port 80, allow all) -> GetIPAddress(16) -> s :: StaticIPLookup(0/0 0) -> IPRewriter(pattern 1.1.1.1 1024-2000 - - 0 0) -> SetIPChecksum -> SetUDPChecksum -> EtherRewrite(1:1:1:1:1:1, 2:2:2:2:2:2) -> CheckIPHeader -> Discard";
    let mut r = sim(cfg, MemEnv::default()).unwrap();
    assert!(r.run_to_completion(10_000));
}

#[test]
fn bypass_detour_through_itself_in_pull_mode() {
    // The detour b[1] -> d -> [1]b pulls back through the same Bypass; switching it on from
    // inside a pull (COUNT_CALL) must route the next packets through the detour, once each.
    let mut r = sim(
        "s :: InfiniteSource(LIMIT 4, STOP true) -> PullNull \
         -> Counter(COUNT_CALL 3 b.active true) -> b :: Bypass -> main :: Counter -> Discard; \
         b[1] -> detour :: Counter -> [1]b;",
        MemEnv::default(),
    )
    .unwrap();
    assert!(r.run_to_completion(10_000));
    assert_eq!(r.read_handler("main.count").unwrap(), "4");
    assert_eq!(r.read_handler("detour.count").unwrap(), "1");
    assert_eq!(r.read_handler("b.active").unwrap(), "true");
}
