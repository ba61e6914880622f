//! Unqueue and RatedUnqueue: a task pulls from input and pushes to output.

use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::elements::{bool_str, parse_bool_h, parse_u64_h};
use crate::packet::Timestamp;

/// Unqueue and RatedUnqueue: pull → push with a task.
pub struct Unqueue {
    rated: bool,
    bucket: Option<f64>,
    active: bool,
    limit: Option<u64>,
    burst: usize,
    count: u64,
    rate: f64,
    tokens: f64,
    last: Timestamp,
}
impl Unqueue {
    pub(crate) fn new(rated: bool) -> Self {
        Unqueue {
            rated,
            bucket: None,
            active: true,
            limit: None,
            burst: 1,
            count: 0,
            rate: 0.0,
            tokens: 0.0,
            last: Timestamp::ZERO,
        }
    }
}
impl Element for Unqueue {
    element_class! {
        self =>
        class: if self.rated { "RatedUnqueue" } else { "Unqueue" },
        ports: "1/1",
        processing: "l/h",
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        if self.rated {
            let b = bind(
                conf,
                &[
                    ("RATE", Kind::Mp),
                    ("BURST", Kind::P),
                    ("BURST_SIZE", Kind::K),
                    ("BURST_DURATION", Kind::K),
                    ("BANDWIDTH", Kind::K),
                    ("ACTIVE", Kind::K),
                ],
            )?;
            self.rate = match b.str("RATE") {
                Some(r) if r.contains("bps") || r.contains("Bps") => {
                    b.bandwidth("RATE")?.unwrap_or(0.0) / 64.0
                }
                _ => b.f64("RATE")?.unwrap_or(0.0),
            };
            self.burst = b.u64("BURST")?.unwrap_or(1).max(1) as usize;
            // BURST_SIZE/BURST_DURATION size the token bucket, which starts full.
            let bucket = match (b.u64("BURST_SIZE")?, b.time("BURST_DURATION")?) {
                (Some(s), _) => Some(s as f64),
                (None, Some(d)) => Some((d * self.rate).round()),
                _ => None,
            };
            self.bucket = bucket.map(|s| s.max(1.0));
            self.active = b.bool("ACTIVE")?.unwrap_or(true);
        } else {
            let b = bind(
                conf,
                &[("ACTIVE", Kind::P), ("LIMIT", Kind::K), ("BURST", Kind::K)],
            )?;
            self.active = b.bool("ACTIVE")?.unwrap_or(true);
            self.limit = b.i64("LIMIT")?.filter(|l| *l >= 0).map(|l| l as u64);
            self.burst = b
                .i64("BURST")?
                .map(|b| if b <= 0 { usize::MAX } else { b as usize })
                .unwrap_or(1);
        }
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.last = ctx.now();
        self.tokens = self.bucket.unwrap_or(1.0);
        if self.active {
            ctx.reschedule();
        }
        Ok(())
    }
    fn has_task(&self) -> bool {
        true
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if !self.active {
            return false;
        }
        let mut n = self.burst;
        if let Some(l) = self.limit {
            n = n.min(l.saturating_sub(self.count) as usize);
            if n == 0 {
                return false;
            }
        }
        if self.rated {
            let now = ctx.now();
            let dt = (now - self.last).as_secs_f64().max(0.0);
            self.last = now;
            let cap = self.bucket.unwrap_or(self.burst as f64);
            self.tokens = (self.tokens + dt * self.rate).min(cap);
            let avail = self.tokens.floor() as usize;
            if avail == 0 {
                let wait = ((1.0 - self.tokens) / self.rate.max(1e-9)).max(1e-6);
                // Click's timer works in whole jiffies (1 ms) and fires one jiffy late.
                let wait = ((wait * 1000.0).ceil() + 1.0) / 1000.0;
                ctx.schedule_timer(0, now + Timestamp::from_secs_f64(wait));
                return false;
            }
            n = n.min(avail);
        }
        let b = ctx.pull(0, n);
        let got = b.len();
        if self.rated {
            self.tokens -= got as f64;
        }
        self.count += got as u64;
        ctx.output(0, b);
        if got > 0 || ctx.upstream_active() {
            ctx.reschedule();
        }
        got > 0
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        ctx.reschedule();
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        let mut v = vec![
            HandlerSpec::r("count"),
            HandlerSpec::w("reset"),
            HandlerSpec::rw("active"),
        ];
        if self.rated {
            v.push(HandlerSpec::rw("rate"));
        } else {
            v.push(HandlerSpec::rw("limit"));
            v.push(HandlerSpec::rw("burst"));
        }
        v
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "count" => self.count.to_string(),
            "active" => bool_str(self.active),
            "rate" => format!("{}", self.rate),
            "limit" => self
                .limit
                .map(|l| l.to_string())
                .unwrap_or_else(|| "-1".into()),
            "burst" => self.burst.to_string(),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        let r = match name {
            "reset" => {
                self.count = 0;
                Ok(())
            }
            "active" => parse_bool_h(v).map(|b| self.active = b),
            "rate" => v
                .trim()
                .parse::<f64>()
                .map(|r| self.rate = r)
                .map_err(|_| "expected rate".to_string()),
            "limit" => args::parse_i64(v)
                .map(|l| self.limit = (l >= 0).then_some(l as u64))
                .ok_or_else(|| "expected integer".to_string()),
            "burst" => parse_u64_h(v).map(|b| self.burst = b.max(1) as usize),
            _ => return None,
        };
        ctx.reschedule();
        Some(r)
    }
}
