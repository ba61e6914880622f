//! Standard elements, as Click's elements/standard: sources and sinks, counters, paint,
//! switches and tees, length edits, Print/Message, timestamps, and configuration-only classes
//! (AddressInfo, ...). Queues and schedulers have their own domain (`queues`).

pub mod bypass;
pub mod clipboard;
pub mod counters;
pub mod info;
pub mod length;
pub mod paint;
pub mod pass_through;
pub mod print;
pub mod sinks;
pub mod sources;
pub mod store_data;
pub mod switches;
pub mod timestamps;

pub use bypass::Bypass;
pub use clipboard::Clipboard;
pub use counters::{AverageCounter, Counter};
pub use info::{parse_address_info, Info, RandomSeed};
pub use length::{CheckLength, Pad, Resize, Strip, Truncate};
pub use paint::{CheckPaint, Paint, PaintSwitch, PaintTee};
pub use pass_through::{Null, PassThrough};
pub use print::{Message, Print};
pub use sinks::{Discard, Idle};
pub use sources::{FastUDPFlows, InfiniteSource};
pub use store_data::StoreData;
pub use switches::{Hub, RandomSample, RatedSplitter, Switch, Tee};
pub use timestamps::{AdjustTimestamp, SetTimestamp, TimestampAccum};

use crate::registry::Registry;

/// Register the standard classes.
pub fn register(r: &mut Registry) {
    r.register("Idle", || Box::<Idle>::default());
    r.register("Discard", || Box::new(Discard::new()));
    r.register("Null", || Box::new(Null::new("Null", "a")));
    r.register("PushNull", || Box::new(Null::new("PushNull", "h")));
    r.register("PullNull", || Box::new(Null::new("PullNull", "l")));
    r.register("InfiniteSource", || {
        Box::new(InfiniteSource::new("InfiniteSource"))
    });
    r.register("RatedSource", || {
        Box::new(InfiniteSource::new("RatedSource"))
    });
    r.register("TimedSource", || {
        Box::new(InfiniteSource::new("TimedSource"))
    });
    r.register("Counter", || Box::<Counter>::default());
    r.register("AverageCounter", || Box::<AverageCounter>::default());
    r.register("Tee", || Box::<Tee>::default());
    r.register("Paint", || Box::<Paint>::default());
    r.register("CheckPaint", || Box::<CheckPaint>::default());
    r.register("PaintSwitch", || Box::<PaintSwitch>::default());
    r.register("Strip", || {
        Box::new(Strip {
            n: 0,
            unstrip: false,
        })
    });
    r.register("Unstrip", || {
        Box::new(Strip {
            n: 0,
            unstrip: true,
        })
    });
    r.register("Print", || Box::<Print>::default());
    for c in [
        "Switch",
        "StaticSwitch",
        "RoundRobinSwitch",
        "HashSwitch",
        "RandomSwitch",
    ] {
        r.register(c, move || Box::new(Switch::new(c)));
    }
    r.register("RandomSample", || Box::<RandomSample>::default());
    r.register("RatedSplitter", || Box::new(RatedSplitter::default()));
    r.register("SetTimestamp", || Box::<SetTimestamp>::default());
    r.register("Align", || Box::new(PassThrough("Align")));
    r.register("AlignmentInfo", || Box::new(Info("AlignmentInfo")));
    r.register("AddressInfo", || Box::new(Info("AddressInfo")));
    r.register("IPRewriterPatterns", || {
        Box::new(Info("IPRewriterPatterns"))
    });
    r.register("ScheduleInfo", || Box::new(Info("ScheduleInfo")));
    r.register("PortInfo", || Box::new(Info("PortInfo")));
    r.register("RandomSeed", || Box::<RandomSeed>::default());
    r.register("StaticThreadSched", || Box::new(Info("StaticThreadSched")));
    r.register("Truncate", || Box::<Truncate>::default());
    r.register("FastUDPFlows", || Box::<FastUDPFlows>::default());
    r.register("Message", || Box::<Message>::default());
    r.register("Hub", || Box::<Hub>::default());
    r.register("Resize", || Box::<Resize>::default());
    r.register("AdjustTimestamp", || Box::<AdjustTimestamp>::default());
    r.register("PaintTee", || Box::<PaintTee>::default());
    r.register("CheckLength", || Box::<CheckLength>::default());
    r.register("Pad", || Box::<Pad>::default());
    r.register("TimestampAccum", || Box::<TimestampAccum>::default());
    r.register("Bypass", || Box::<Bypass>::default());
    r.register("Clipboard", || Box::<Clipboard>::default());
    r.register("StoreData", || Box::<StoreData>::default());
}

/// Each expected value below is what reference Click 2.1 prints for the same configuration.
#[cfg(test)]
mod tests {
    use crate::elements::shared::test_util::sim_router;
    use crate::MemEnv;

    /// Run `conf` to completion on simulated time and read `handlers`; also return chatter.
    fn run(conf: &str, handlers: &[&str]) -> (Vec<String>, String) {
        let env = MemEnv::default();
        let mut r = sim_router(conf, &env);
        r.run_to_completion(10_000);
        let values = handlers
            .iter()
            .map(|h| match r.read_handler(h) {
                Ok(v) => v.trim_end().to_string(),
                Err(e) => panic!("{h}: {e}"),
            })
            .collect();
        let chatter = env.chatter.borrow().clone();
        (values, chatter)
    }

    #[test]
    fn source_and_counter_count_packets_and_bytes() {
        let (v, _) = run(
            "s :: InfiniteSource(LENGTH 60, LIMIT 7, BURST 3, STOP true) -> c :: Counter -> Discard",
            &["c.count", "c.byte_count", "s.count"],
        );
        assert_eq!(v, ["7", "420", "7"]);
    }

    #[test]
    fn counter_reset_starts_over() {
        let env = MemEnv::default();
        let mut r = sim_router(
            "InfiniteSource(LIMIT 3, STOP true) -> c :: Counter -> Discard",
            &env,
        );
        r.run_to_completion(1000);
        assert_eq!(r.read_handler("c.count").ok().as_deref(), Some("3"));
        assert!(r.write_handler("c.reset", "").is_ok());
        assert_eq!(r.read_handler("c.count").ok().as_deref(), Some("0"));
    }

    #[test]
    fn tee_copies_to_every_output() {
        let (v, _) = run(
            "InfiniteSource(LIMIT 5, STOP true) -> t :: Tee(3); t[0] -> a :: Counter -> Discard; \
             t[1] -> b :: Counter -> Discard; t[2] -> c :: Counter -> Discard;",
            &["a.count", "b.count", "c.count"],
        );
        assert_eq!(v, ["5", "5", "5"]);
    }

    #[test]
    fn switch_sends_to_its_output_or_drops() {
        let (v, _) = run(
            "InfiniteSource(LIMIT 4, STOP true) -> s :: Switch(1); s[0] -> a :: Counter -> Discard; \
             s[1] -> b :: Counter -> Discard; s[2] -> c :: Counter -> Discard;",
            &["a.count", "b.count", "c.count", "s.switch"],
        );
        assert_eq!(v, ["0", "4", "0", "1"]);
        let (v, _) = run(
            "InfiniteSource(LIMIT 5, STOP true) -> Switch(-1) -> a :: Counter -> Discard;",
            &["a.count"],
        );
        assert_eq!(v, ["0"]);
    }

    #[test]
    fn hub_sends_an_input_to_every_other_output() {
        let (v, _) = run(
            "InfiniteSource(LIMIT 2, STOP true) -> h :: Hub; h[0] -> a :: Counter -> Discard; \
             h[1] -> b :: Counter -> Discard; Idle -> [1]h",
            &["a.count", "b.count"],
        );
        assert_eq!(v, ["0", "2"]);
    }

    #[test]
    fn paint_then_check_and_switch_on_the_color() {
        let (v, _) = run(
            "InfiniteSource(LIMIT 6, STOP true) -> Paint(2) -> cp :: CheckPaint(2) -> ps :: PaintSwitch; \
             cp[1] -> x :: Counter -> Discard; ps[0] -> p0 :: Counter -> Discard; \
             ps[1] -> p1 :: Counter -> Discard; ps[2] -> p2 :: Counter -> Discard;",
            &["x.count", "p0.count", "p1.count", "p2.count"],
        );
        assert_eq!(v, ["0", "0", "0", "6"]);
    }

    #[test]
    fn strip_unstrip_truncate_pad_resize_change_lengths() {
        let (v, _) = run(
            "InfiniteSource(LENGTH 60, LIMIT 4, STOP true) -> Strip(14) -> a :: Counter -> Unstrip(4) \
             -> b :: Counter -> Truncate(20) -> c :: Counter -> Discard",
            &["a.byte_count", "b.byte_count", "c.byte_count"],
        );
        assert_eq!(v, ["184", "200", "80"]);
        let (v, _) = run(
            "InfiniteSource(LENGTH 20, LIMIT 2, STOP true) -> Pad -> a :: Counter -> Pad(100) \
             -> b :: Counter -> Discard;",
            &["a.byte_count", "b.byte_count"],
        );
        assert_eq!(v, ["40", "200"]);
        let (v, _) = run(
            "InfiniteSource(LENGTH 60, LIMIT 5, STOP true) -> Resize(-10, 6) -> c :: Counter \
             -> CheckLength(50) -> ok :: Counter -> Discard",
            &["c.byte_count", "ok.count"],
        );
        assert_eq!(v, ["280", "0"]);
    }

    #[test]
    fn random_sample_draws_from_clicks_generator() {
        let (v, _) = run(
            "RandomSeed(7); InfiniteSource(LIMIT 1000, STOP true) -> rs :: RandomSample(0.25); \
             rs[0] -> a :: Counter -> Discard; rs[1] -> b :: Counter -> Discard",
            &["a.count", "b.count"],
        );
        assert_eq!(v, ["245", "755"]);
    }

    #[test]
    fn print_and_message_chatter_like_click() {
        let (_, chatter) = run(
            "InfiniteSource(DATA \\<0102030405>, LIMIT 1, STOP true) -> Print(hi) -> Discard",
            &[],
        );
        assert_eq!(chatter, "hi:    5 | 01020304 05\n");
        let (_, chatter) = run(
            "InfiniteSource(LENGTH 60, LIMIT 2, STOP true) -> SetTimestamp(1.5) \
             -> Print(t, TIMESTAMP true, MAXLENGTH 4) -> Discard",
            &[],
        );
        assert_eq!(
            chatter,
            "t: 1.500000:   60 | 52616e64\nt: 1.500000:   60 | 52616e64\n"
        );
        let (_, chatter) = run("Message(\"hello there\"); Idle -> Discard", &[]);
        assert_eq!(
            chatter,
            "test:1: While configuring 'Message@1 :: Message':\n  hello there\n"
        );
    }

    #[test]
    fn every_class_reports_the_name_it_is_registered_under() {
        let reg = crate::Registry::standard();
        for class in reg.class_names() {
            let Some(e) = reg.create(&class) else {
                panic!("{class}: no factory");
            };
            assert_eq!(e.class_name(), class);
            // Port counts and processing codes use only Click's syntax.
            assert!(
                e.port_count()
                    .chars()
                    .all(|c| c.is_ascii_digit() || "-/=+".contains(c)),
                "{class}: ports {}",
                e.port_count()
            );
            assert!(
                e.processing().chars().all(|c| "ahl/".contains(c)),
                "{class}: processing {}",
                e.processing()
            );
        }
    }
}
