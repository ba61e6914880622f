//! Click's `click_random()`: at user level it is glibc's `random()` (the TYPE_3 additive
//! feedback generator), so an element choosing at random after `RandomSeed(N)` makes the same
//! choices as reference Click. One generator per thread, like Click's one per process.

use std::cell::RefCell;

/// Largest value [`random`] returns (Click's `CLICK_RAND_MAX`).
pub const RAND_MAX: u32 = 0x7FFF_FFFF;

const DEG: usize = 31;
const SEP: usize = 3;

/// glibc's `random_r` state.
struct Glibc {
    r: [u32; DEG],
    front: usize,
    rear: usize,
}

impl Glibc {
    fn seeded(seed: u32) -> Glibc {
        let mut g = Glibc {
            r: [0; DEG],
            front: SEP,
            rear: 0,
        };
        // glibc keeps the seed in an int32 and replaces 0 by 1.
        let mut word = if seed == 0 { 1 } else { seed as i32 as i64 };
        g.r[0] = word as u32;
        for i in 1..DEG {
            // 16807 * word % (2^31 - 1) without overflow (Schrage's method, as glibc).
            let hi = word / 127_773;
            let lo = word % 127_773;
            word = 16_807 * lo - 2_836 * hi;
            if word < 0 {
                word += 2_147_483_647;
            }
            g.r[i] = word as u32;
        }
        for _ in 0..DEG * 10 {
            g.next();
        }
        g
    }

    fn next(&mut self) -> u32 {
        let v = self.r[self.front].wrapping_add(self.r[self.rear]);
        self.r[self.front] = v;
        self.front += 1;
        if self.front >= DEG {
            self.front = 0;
            self.rear += 1;
        } else {
            self.rear += 1;
            if self.rear >= DEG {
                self.rear = 0;
            }
        }
        v >> 1
    }
}

thread_local! {
    static STATE: RefCell<Glibc> = RefCell::new(Glibc::seeded(initial_seed()));
}

/// Click seeds from the clock and /dev/urandom before configuring; any varying seed will do.
fn initial_seed() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    (t ^ (t >> 32) ^ std::process::id() as u64) as u32
}

/// `click_srandom(seed)`.
pub fn srandom(seed: u32) {
    STATE.with(|s| *s.borrow_mut() = Glibc::seeded(seed));
}

/// `click_random()`: a value in `0..=RAND_MAX`.
pub fn random() -> u32 {
    STATE.with(|s| s.borrow_mut().next())
}

/// `click_random(low, high)`: a value in `low..=high` drawn exactly as Click draws it.
pub fn random_range(low: u32, high: u32) -> u32 {
    if low > high {
        return low;
    }
    if high - low > RAND_MAX {
        loop {
            let r = (random() << 17) ^ (random() >> 14);
            if r <= high - low {
                return r + low;
            }
        }
    } else if high == low + 1 {
        low + ((random() >> 14) & 1)
    } else {
        let count = (RAND_MAX + 1) / (high - low + 1);
        let max = count * (high - low + 1);
        loop {
            let r = random();
            if r < max {
                return r / count + low;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_glibc_random_after_srandom_1() {
        // First outputs of glibc's random() after srandom(1) (the classic rand() sequence).
        srandom(1);
        let got: Vec<u32> = (0..5).map(|_| random()).collect();
        assert_eq!(
            got,
            vec![1804289383, 846930886, 1681692777, 1714636915, 1957747793]
        );
    }

    #[test]
    fn ranges_stay_inside_bounds() {
        srandom(7);
        for _ in 0..1000 {
            let v = random_range(1024, 65534);
            assert!((1024..=65534).contains(&v));
        }
        assert_eq!(random_range(5, 3), 5);
    }
}
