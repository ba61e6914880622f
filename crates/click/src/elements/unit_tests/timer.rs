//! TimerTest([DELAY, SCHEDULE, BENCHMARK]): Click's `timertest.cc` on coo-click's element
//! timers. With DELAY or SCHEDULE its timer is set at initialisation; when it fires it
//! prints `EXPIRY: NAME :: TimerTest fired`. Handlers `scheduled` (rw), `expiry`,
//! `schedule_after` and `unschedule` drive the timer. Click's BENCHMARK mode times its C++
//! timer heap and is not supported.

use crate::any_impl;
use crate::args::{bind, parse_bool, parse_time, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::packet::Timestamp;

/// See the module docs.
#[derive(Default)]
pub struct TimerTest {
    delay: Timestamp,
    schedule: bool,
    /// When the timer fires (or last fired, or would fire again when rescheduled).
    expiry: Timestamp,
}

const TIMER: u32 = 0;

impl TimerTest {
    fn schedule_at(&mut self, at: Timestamp, ctx: &mut Ctx<'_>) {
        self.expiry = at;
        ctx.schedule_timer(TIMER, at);
    }
}

impl Element for TimerTest {
    fn class_name(&self) -> &'static str {
        "TimerTest"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("BENCHMARK", Kind::K),
                ("DELAY", Kind::K),
                ("SCHEDULE", Kind::K),
            ],
        )?;
        if b.i64("BENCHMARK")?.is_some_and(|n| n > 0) {
            return Err("BENCHMARK is not supported (it times Click's C++ timer heap)".into());
        }
        self.delay = b
            .time("DELAY")?
            .map_or(Timestamp::ZERO, Timestamp::from_secs_f64);
        self.schedule = b.bool("SCHEDULE")?.unwrap_or(false);
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        if self.schedule || !self.delay.is_zero() {
            self.schedule_at(ctx.now() + self.delay, ctx);
        }
        Ok(())
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        let msg = format!("{}: {} :: TimerTest fired", self.expiry, ctx.name());
        ctx.chatter(&msg);
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::rw("scheduled"),
            HandlerSpec::r("expiry"),
            HandlerSpec::w("schedule_after"),
            HandlerSpec::w("unschedule"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, ctx: &mut Ctx<'_>) -> ReadResult {
        match name {
            "scheduled" => Some(Ok(crate::elements::bool_str(ctx.timer_scheduled(TIMER)))),
            "expiry" => Some(Ok(self.expiry.to_string())),
            _ => None,
        }
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        match name {
            "scheduled" => Some(match parse_bool(v) {
                Some(true) => {
                    self.schedule_at(self.expiry, ctx);
                    Ok(())
                }
                Some(false) => {
                    ctx.unschedule_timer(TIMER);
                    Ok(())
                }
                None => Err("syntax error".into()),
            }),
            "schedule_after" => Some(match parse_time(v) {
                Some(d) => {
                    self.schedule_at(ctx.now() + Timestamp::from_secs_f64(d), ctx);
                    Ok(())
                }
                None => Err("syntax error".into()),
            }),
            "unschedule" => {
                ctx.unschedule_timer(TIMER);
                Some(Ok(()))
            }
            _ => None,
        }
    }
    any_impl!();
}
