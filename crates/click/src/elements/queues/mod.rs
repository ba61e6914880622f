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

/// Expected values are what reference Click 2.1 prints for the same configuration.
#[cfg(test)]
mod tests {
    use crate::elements::shared::test_util::sim_router;
    use crate::MemEnv;

    fn read(r: &mut crate::Router, h: &str) -> String {
        match r.read_handler(h) {
            Ok(v) => v.trim_end().to_string(),
            Err(e) => panic!("{h}: {e}"),
        }
    }

    #[test]
    fn full_queue_drops_to_output_1_and_warns_once() {
        let env = MemEnv::default();
        let mut r = sim_router(
            "InfiniteSource(LIMIT 5, BURST 5, STOP true) -> q :: Queue(2); q[0] -> Idle; \
             q[1] -> d :: Counter -> Discard",
            &env,
        );
        r.run_to_completion(1000);
        assert_eq!(read(&mut r, "d.count"), "3");
        assert_eq!(read(&mut r, "q.drops"), "3");
        assert_eq!(read(&mut r, "q.length"), "2");
        assert_eq!(read(&mut r, "q.highwater_length"), "2");
        assert_eq!(env.chatter.borrow().as_str(), "q :: Queue: overflow\n");
    }

    #[test]
    fn round_robin_sched_pulls_from_every_input() {
        let env = MemEnv::default();
        let mut r = sim_router(
            "InfiniteSource(LIMIT 6, STOP true) -> q1 :: Queue -> rr :: RoundRobinSched \
             -> u :: Unqueue -> c :: Counter -> Discard; Idle -> q2 :: Queue -> [1]rr",
            &env,
        );
        r.run_to_completion(1000);
        assert_eq!(read(&mut r, "c.count"), "6");
        assert_eq!(read(&mut r, "q1.length"), "0");
    }
}
