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
}
