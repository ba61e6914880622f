//! Queue and its variants (SimpleQueue, NotifierQueue, FullNoteQueue, ThreadSafeQueue,
//! QuickNoteQueue, FrontDropQueue, MixedQueue): push in, pull out, with empty/full notifiers.

use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::elements::parse_u64_h;
use crate::packet::{Packet, PacketBatch};
use std::collections::VecDeque;

/// Queue and its variants: push in, pull out; an optional second push output gets drops.
pub struct Queue {
    class: &'static str,
    /// Set once `capacity` is written: the `config` handler then shows the new keyword.
    reconfigured: bool,
    q: VecDeque<Packet>,
    capacity: usize,
    drops: u64,
    highwater: usize,
    front_drop: bool,
    /// Empty pulls in a row: like Click's NotifierQueue, the empty signal goes off only
    /// after several, so a source refilling the queue now and then keeps its puller awake.
    sleepiness: u8,
}
/// Click's NotifierQueue::SLEEPINESS_TRIGGER.
const SLEEPINESS_TRIGGER: u8 = 9;
impl Queue {
    pub(crate) fn new(class: &'static str) -> Self {
        Queue {
            class,
            reconfigured: false,
            q: VecDeque::new(),
            capacity: 1000,
            drops: 0,
            highwater: 0,
            front_drop: class == "FrontDropQueue",
            sleepiness: 0,
        }
    }
}
impl Element for Queue {
    element_class! {
        self =>
        class: self.class,
        ports: if self.class == "MixedQueue" { "2/1-2" } else { "1/1-2" },
        processing: "h/lh",
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("CAPACITY", Kind::P)])?;
        self.capacity = b.u64("CAPACITY")?.unwrap_or(1000) as usize;
        Ok(())
    }
    fn is_empty_notifier(&self) -> bool {
        true
    }
    fn is_full_notifier(&self) -> bool {
        matches!(
            self.class,
            "Queue" | "FullNoteQueue" | "ThreadSafeQueue" | "QuickNoteQueue"
        )
    }
    fn push(&mut self, port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let mut dropped = Vec::new();
        // MixedQueue's input 1 is LIFO: packets go to the front, and a full queue drops
        // its tail instead of the newcomer.
        let lifo = port == 1;
        for p in batch {
            if lifo {
                self.q.push_front(p);
                if self.q.len() > self.capacity {
                    if let Some(old) = self.q.pop_back() {
                        dropped.push(old);
                    }
                }
            } else if self.q.len() < self.capacity {
                self.q.push_back(p);
            } else if self.front_drop && self.capacity > 0 {
                if let Some(old) = self.q.pop_front() {
                    dropped.push(old);
                }
                self.q.push_back(p);
            } else {
                dropped.push(p);
            }
        }
        self.highwater = self.highwater.max(self.q.len());
        if !dropped.is_empty() {
            // Click warns on the first drop whether or not output 1 takes the drops.
            if self.drops == 0 && self.capacity > 0 {
                // Click's "%p{element}": the declaration, where FullNoteQueue calls itself Queue.
                let class = match self.class {
                    "FullNoteQueue" => "Queue",
                    c => c,
                };
                ctx.chatter(&format!("{} :: {class}: overflow", ctx.name()));
            }
            self.drops += dropped.len() as u64;
            ctx.output(1, dropped);
        }
        if !self.q.is_empty() {
            ctx.set_signal(true);
        }
        if self.q.len() >= self.capacity {
            ctx.set_nonfull(false);
        }
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let n = max.min(self.q.len());
        let b: PacketBatch = self.q.drain(..n).collect();
        if self.class == "QuickNoteQueue" {
            // QuickNoteQueue sleeps as soon as it is empty.
            if self.q.is_empty() {
                ctx.set_signal(false);
            }
        } else if n > 0 {
            self.sleepiness = 0;
        } else if self.sleepiness >= SLEEPINESS_TRIGGER {
            ctx.set_signal(false);
        } else {
            self.sleepiness += 1;
        }
        if self.q.len() < self.capacity {
            ctx.set_nonfull(true);
        }
        b
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("length"),
            HandlerSpec::r("highwater_length"),
            HandlerSpec::rw("capacity"),
            HandlerSpec::r("drops"),
            HandlerSpec::w("reset_counts"),
            HandlerSpec::w("reset"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "length" => self.q.len().to_string(),
            "highwater_length" => self.highwater.to_string(),
            "capacity" => self.capacity.to_string(),
            "drops" => self.drops.to_string(),
            "config" if self.reconfigured => format!("CAPACITY {}", self.capacity),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        match name {
            "capacity" => Some(parse_u64_h(v).map(|c| {
                // Click keeps the oldest packets that fit the new capacity.
                self.capacity = c as usize;
                self.reconfigured = true;
                self.q.truncate(self.capacity);
                ctx.set_nonfull(self.q.len() < self.capacity);
                if self.q.is_empty() {
                    ctx.set_signal(false);
                }
            })),
            "reset_counts" => {
                self.drops = 0;
                self.highwater = self.q.len();
                Some(Ok(()))
            }
            "reset" => {
                self.q.clear();
                ctx.set_signal(false);
                ctx.set_nonfull(true);
                Some(Ok(()))
            }
            _ => None,
        }
    }
}
