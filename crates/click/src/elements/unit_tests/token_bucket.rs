//! TokenBucketTest: the checks of Click's `tokenbuckettest.cc`, run against
//! [`crate::token_bucket::TokenBucket`] (times are 1 ms ticks, Click's user-level jiffies).

use super::ALL_PASS;
use crate::any_impl;
use crate::args::split_args;
use crate::element::{ConfigureCx, Element};
use crate::token_bucket::TokenBucket;

/// See the module docs.
#[derive(Default)]
pub struct TokenBucketTest;

impl Element for TokenBucketTest {
    fn class_name(&self) -> &'static str {
        "TokenBucketTest"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        if !split_args(conf).is_empty() {
            return Err("too many arguments".into());
        }
        run_checks()?;
        cx.messages.push(ALL_PASS.into());
        Ok(())
    }
    any_impl!();
}

/// Click's `CLICK_HZ` at user level.
const HZ: i64 = 1000;
/// Click's `UINT_MAX`.
const UINT_MAX: u64 = u32::MAX as u64;

fn run_checks() -> Result<(), String> {
    let mut tb = TokenBucket::default();
    tb.assign(1024, 2048);
    check!(backtick tb.rate() >= 1022 && tb.rate() <= 1026);
    check!(backtick tb.capacity() >= 2046 && tb.capacity() <= 2050);
    tb.set_full();
    tb.refill_ticks(0);
    check!(backtick tb.remove_if(1024));
    check!(backtick tb.remove_if(1024));
    check!(backtick !tb.remove_if(1024));
    tb.refill_ticks(HZ * 99 / 100);
    check!(backtick !tb.remove_if(1024));
    tb.refill_ticks(HZ);
    check!(backtick tb.remove_if(1024));
    check!(backtick !tb.remove_if(1024));

    let mut tb2 = TokenBucket::new(1024 * 1024 * 1024, 1); // will change capacity
    check!(backtick tb2.full());
    check!(backtick tb2.remove_if(1000));

    let mut tb3 = TokenBucket::new(1, 1024 * 1024 * 1024);
    check!(backtick tb3.remove_if(2 * (UINT_MAX / HZ as u64)));

    let mut tb4 = TokenBucket::new(2, 1); // rate ends up very slightly less than 2
    tb4.refill_ticks(0);
    tb4.clear();
    let until = tb4.time_until_contains(1).unwrap_or(u64::MAX);
    tb4.refill_ticks(i64::try_from(until).unwrap_or(i64::MAX));
    check!(backtick tb4.contains(1));
    tb4.refill_ticks(0);
    tb4.clear();
    let done_at = tb4.time_until_contains(1).unwrap_or(u64::MAX);
    let mut cur_time = 0u64;
    while cur_time < done_at {
        check!(backtick cur_time == done_at - 1 || !tb4.contains(1));
        check!(backtick tb4.time_until_contains(1).unwrap_or(u64::MAX) <= done_at - cur_time);
        cur_time += 1;
        tb4.refill_ticks(i64::try_from(cur_time).unwrap_or(i64::MAX));
    }
    check!(backtick tb4.contains(1));

    tb4.assign_unlimited(true);
    check!(backtick tb4.rate() == TokenBucket::MAX_TOKENS);
    check!(backtick tb4.capacity() == TokenBucket::MAX_TOKENS);
    // Click runs this block twice.
    for _ in 0..2 {
        tb4.assign_unlimited(false);
        tb4.clear();
        // Click refills to "now"; an idle bucket must stay empty however late that is.
        tb4.refill_ticks(i64::MAX / 2);
        check!(backtick tb4.rate() == 0);
        check!(backtick tb4.capacity() == TokenBucket::MAX_TOKENS);
        check!(backtick tb4.empty());
        tb4.assign(0, 1024);
        check!(backtick tb4.rate() == 0);
        check!(backtick tb4.capacity() == 1024);
    }
    Ok(())
}
