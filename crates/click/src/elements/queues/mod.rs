//! Queues and scheduling: Queue and its variants, Unqueue/RatedUnqueue, the pull-side
//! schedulers and switches (RoundRobinSched, PrioSched, PullSwitch, PullTee), and rate shaping
//! (BandwidthRatedUnqueue, Shaper, LinkUnqueue, DelayShaper, StrideSched, TimedSink, ...).

pub mod queue;
pub mod schedulers;
pub mod shaping;
pub mod unqueue;

pub use queue::Queue;
pub use schedulers::{PullSwitch, PullTee, Sched};
pub use unqueue::Unqueue;

use crate::registry::Registry;

/// Register the queue and scheduling classes.
pub fn register(r: &mut Registry) {
    for c in [
        "Queue",
        "SimpleQueue",
        "NotifierQueue",
        "FullNoteQueue",
        "ThreadSafeQueue",
        "QuickNoteQueue",
        "FrontDropQueue",
    ] {
        r.register(c, move || Box::new(Queue::new(c)));
    }
    r.register("MixedQueue", || Box::new(Queue::new("MixedQueue")));
    r.register("Unqueue", || Box::new(Unqueue::new(false)));
    r.register("RatedUnqueue", || Box::new(Unqueue::new(true)));
    r.register("RoundRobinSched", || Box::new(Sched::new(false)));
    r.register("PrioSched", || Box::new(Sched::new(true)));
    for c in ["PullSwitch", "SimplePullSwitch", "InputSwitch"] {
        r.register(c, move || Box::new(PullSwitch::new(c)));
    }
    r.register("PullTee", || Box::<PullTee>::default());
    shaping::register(r);
}
