//! Click's TokenBucket in its fixed-point arithmetic (the rounding decides which packet
//! passes): tokens are scaled so that `u32::MAX` is a full bucket, and the bucket refills in
//! whole 1 ms ticks (Click's jiffies at user level).

use crate::packet::Timestamp;

/// Nanoseconds per refill tick.
pub const NS_PER_TICK: i64 = 1_000_000;
/// Ticks per second (Click's `CLICK_HZ`).
const TICKS_PER_SEC: u64 = 1000;

/// A token rate and a token counter in one, like Click's `TokenBucket`. `Default` is an empty
/// bucket of rate 0 at tick 0; [`TokenBucket::new`] starts full, as Click's constructor does.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    /// The rate as configured, in tokens/s (handlers print this one).
    configured_rate: u64,
    scale: u64,
    per_tick: u64,
    /// Ticks from empty to full; `u64::MAX` for an idle (rate 0) bucket.
    until_full: u64,
    tokens: u64,
    tick: i64,
}

impl Default for TokenBucket {
    fn default() -> Self {
        let mut tb = TokenBucket {
            configured_rate: 0,
            scale: 1,
            per_tick: 0,
            until_full: u64::MAX,
            tokens: 0,
            tick: 0,
        };
        tb.assign(0, 0);
        tb
    }
}

impl TokenBucket {
    /// The most tokens a bucket can hold, and the rate of an unlimited one.
    pub const MAX_TOKENS: u64 = u32::MAX as u64;

    /// A full bucket of `rate` tokens/s holding at most `capacity` tokens.
    pub fn new(rate: u64, capacity: u64) -> Self {
        let mut tb = TokenBucket::default();
        tb.assign(rate, capacity);
        tb.set_full();
        tb
    }

    /// Set the rate (tokens/s) and capacity (tokens). Capacity 0 means rate 0 and an unbounded
    /// capacity; a capacity below one tick's worth of tokens is raised to it.
    pub fn assign(&mut self, rate: u64, capacity: u64) {
        let (rate, mut capacity) = if capacity == 0 {
            (0, Self::MAX_TOKENS)
        } else {
            (rate.min(Self::MAX_TOKENS), capacity.min(Self::MAX_TOKENS))
        };
        if rate != 0 {
            capacity = capacity.max((rate - 1) / TICKS_PER_SEC + 1);
        }
        self.configured_rate = rate;
        self.scale = Self::MAX_TOKENS / capacity;
        if rate != 0 {
            self.per_tick = ((rate * self.scale) / TICKS_PER_SEC).max(1);
            self.until_full = (Self::MAX_TOKENS - 1) / self.per_tick + 1;
        } else {
            self.per_tick = 0;
            self.until_full = u64::MAX;
        }
    }

    /// An unlimited rate (always full) or, with `false`, an idle one (never refills).
    pub fn assign_unlimited(&mut self, unlimited: bool) {
        self.scale = 1;
        if unlimited {
            self.configured_rate = Self::MAX_TOKENS;
            self.per_tick = Self::MAX_TOKENS;
            self.until_full = 0;
        } else {
            self.configured_rate = 0;
            self.per_tick = 0;
            self.until_full = u64::MAX;
        }
    }

    /// The rate as configured, in tokens/s.
    pub fn configured_rate(&self) -> u64 {
        self.configured_rate
    }

    /// The rate the fixed-point arithmetic really gives, in tokens/s (rounded).
    pub fn rate(&self) -> u64 {
        let r = (u128::from(self.per_tick) * u128::from(TICKS_PER_SEC)
            + u128::from(self.per_tick / 2))
            / u128::from(self.scale);
        u64::try_from(r)
            .unwrap_or(Self::MAX_TOKENS)
            .min(Self::MAX_TOKENS)
    }

    /// The most tokens the bucket holds.
    pub fn capacity(&self) -> u64 {
        Self::MAX_TOKENS / self.scale
    }

    /// Is the bucket full?
    pub fn full(&self) -> bool {
        self.tokens == Self::MAX_TOKENS
    }

    /// Is the bucket empty?
    pub fn empty(&self) -> bool {
        self.tokens == 0
    }

    /// Empty the bucket.
    pub fn clear(&mut self) {
        self.tokens = 0;
    }

    /// Fill the bucket.
    pub fn set_full(&mut self) {
        self.tokens = Self::MAX_TOKENS;
    }

    /// Add the tokens of the time since the last refill.
    pub fn refill(&mut self, now: Timestamp) {
        self.refill_ticks(now.0.div_euclid(NS_PER_TICK));
    }

    /// Add the tokens of the ticks since the last refill; `tick` is the current tick.
    pub fn refill_ticks(&mut self, tick: i64) {
        // Like Click's unsigned jiffies difference: time going backwards counts as no time.
        let diff = u64::try_from(tick.saturating_sub(self.tick)).unwrap_or(0);
        if diff >= self.until_full {
            self.tokens = Self::MAX_TOKENS;
        } else if diff > 0 {
            self.tokens = diff
                .saturating_mul(self.per_tick)
                .saturating_add(self.tokens)
                .min(Self::MAX_TOKENS);
        }
        self.tick = tick;
    }

    /// `t` tokens in the scaled unit, or `None` when `t` exceeds the capacity.
    fn scaled(&self, t: u64) -> Option<u64> {
        t.checked_mul(self.scale)
            .filter(|&need| need <= Self::MAX_TOKENS)
    }

    /// Does the bucket hold `t` tokens?
    pub fn contains(&self, t: u64) -> bool {
        self.scaled(t).is_some_and(|need| self.tokens >= need)
    }

    /// Take `t` tokens out (down to empty).
    pub fn remove(&mut self, t: u64) {
        let need = self.scaled(t).unwrap_or(Self::MAX_TOKENS);
        self.tokens = self.tokens.saturating_sub(need);
    }

    /// Take `t` tokens out if the bucket holds them; returns whether it did.
    pub fn remove_if(&mut self, t: u64) -> bool {
        let ok = self.contains(t);
        if ok {
            self.remove(t);
        }
        ok
    }

    /// Ticks until the bucket holds `t` tokens; `None` when it never will.
    pub fn time_until_contains(&self, t: u64) -> Option<u64> {
        let need = self.scaled(t)?;
        if need <= self.tokens || self.until_full == 0 {
            Some(0)
        } else {
            // An idle bucket (no tokens per tick) never fills.
            (need - self.tokens - 1)
                .checked_div(self.per_tick)
                .map(|t| t + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_on_first_refill_and_refills_per_tick() {
        let mut tb = TokenBucket::default();
        tb.assign(200, 131076);
        tb.refill(Timestamp::new(1_000_000_000, 0));
        assert!(tb.contains(131076));
        tb.remove(100);
        assert!(!tb.contains(131072));
        // Click's rounding: 96 bytes at 200 B/s take 481 ticks, not 480.
        assert_eq!(tb.time_until_contains(131072), Some(481));
        tb.refill(Timestamp::new(1_000_000_000, 481_000_000));
        assert!(tb.contains(131072));
        tb.remove(u64::from(u32::MAX));
        assert!(tb.empty());
    }

    #[test]
    fn idle_and_unlimited_rates() {
        let mut tb = TokenBucket::new(0, 1024);
        assert_eq!((tb.rate(), tb.capacity()), (0, 1024));
        tb.clear();
        tb.refill_ticks(1_000_000);
        assert!(tb.empty());
        assert_eq!(tb.time_until_contains(1), None);
        tb.assign_unlimited(true);
        assert_eq!(tb.time_until_contains(1), Some(0));
        assert_eq!(tb.rate(), TokenBucket::MAX_TOKENS);
    }
}
