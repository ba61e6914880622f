//! A simulated device under test: deterministic (seeded), pure, for testing the search.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::search::TrialRequest;
use crate::trial::{assess, GeneratorTiming, SoundnessLimits, TrialPurpose, TrialRecord};

/// Device model: no loss up to the knee, a quadratic loss ramp up to `capacity_pps`, and above
/// it every frame beyond the capacity is dropped.
#[derive(Debug, Clone)]
pub struct SimulatedDevice {
    pub capacity_pps: f64,
    /// Knee as a fraction below the capacity where loss starts (0 = sharp cliff).
    pub knee_fraction: f64,
    /// Loss ratio reached at the capacity (end of the ramp).
    pub loss_at_capacity: f64,
    /// Relative standard deviation of the capacity from trial to trial.
    pub noise: f64,
    /// Fastest rate the simulated generator can send (None = unlimited).
    pub generator_max_pps: Option<f64>,
    /// Relative standard deviation of the generator's maximum from trial to trial.
    pub generator_jitter: f64,
    /// Probability that a trial at the capacity loses a few frames even below it (scales
    /// with (rate / capacity)^4): a noisy, oversubscribed device.
    pub sporadic: f64,
    /// Descheduling stalls of the chain: (stalls per second, longest stall in ms, frames
    /// the queues absorb). See [`SimulatedDevice::with_stalls`].
    pub stalls: Option<(f64, f64, f64)>,
    /// Stalls of the generator: (stalls per second, longest stall in ms).
    pub generator_stalls: Option<(f64, f64)>,
    rng: StdRng,
}

impl SimulatedDevice {
    pub fn new(capacity_pps: f64, seed: u64) -> SimulatedDevice {
        SimulatedDevice {
            capacity_pps,
            knee_fraction: 0.0,
            loss_at_capacity: 0.0,
            noise: 0.0,
            generator_max_pps: None,
            generator_jitter: 0.0,
            sporadic: 0.0,
            stalls: None,
            generator_stalls: None,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn with_knee(mut self, knee_fraction: f64, loss_at_capacity: f64) -> Self {
        self.knee_fraction = knee_fraction;
        self.loss_at_capacity = loss_at_capacity;
        self
    }

    pub fn with_noise(mut self, noise: f64) -> Self {
        self.noise = noise;
        self
    }

    pub fn with_generator_max(mut self, pps: f64) -> Self {
        self.generator_max_pps = Some(pps);
        self
    }

    pub fn with_generator_jitter(mut self, jitter: f64) -> Self {
        self.generator_jitter = jitter;
        self
    }

    pub fn with_sporadic_loss(mut self, probability: f64) -> Self {
        self.sporadic = probability;
        self
    }

    /// The chain is descheduled now and then: stalls arrive as a Poisson process of
    /// `rate_per_s`, each lasting uniformly between `stall_ms / 4` and `stall_ms`; during a
    /// stall of `s` seconds the queues absorb `buffer_frames` and the rest of the `rate · s`
    /// frames that arrive are lost. So a stall costs nothing at low rates and loses frames
    /// at rates the device otherwise forwards losslessly — the sporadic loss of a shared host.
    pub fn with_stalls(mut self, rate_per_s: f64, stall_ms: f64, buffer_frames: f64) -> Self {
        self.stalls = Some((rate_per_s, stall_ms, buffer_frames));
        self
    }

    /// The generator is descheduled now and then (Poisson, `rate_per_s`, stalls uniform in
    /// [`stall_ms / 4`, `stall_ms`]); it catches up with a burst, reported in
    /// `TrialRecord::generator` (so `assess` flags `catch-up-burst` beyond 2 ms). When the
    /// chain has a buffer (see [`SimulatedDevice::with_stalls`]) the burst overflows it the
    /// same way.
    pub fn with_generator_stalls(mut self, rate_per_s: f64, stall_ms: f64) -> Self {
        self.generator_stalls = Some((rate_per_s, stall_ms));
        self
    }

    /// Stall durations (seconds) during `duration_s` for a Poisson process of `rate_per_s`.
    fn draw_stalls(&mut self, rate_per_s: f64, stall_ms: f64, duration_s: f64) -> Vec<f64> {
        let mut out = Vec::new();
        if rate_per_s <= 0.0 || stall_ms <= 0.0 {
            return out;
        }
        let mut t = 0.0;
        loop {
            let u: f64 = self.rng.gen_range(f64::MIN_POSITIVE..1.0);
            t += -u.ln() / rate_per_s;
            if t >= duration_s {
                return out;
            }
            out.push(self.rng.gen_range(stall_ms / 4.0..=stall_ms) / 1e3);
        }
    }

    /// Loss ratio at `rate` for a device whose capacity is `capacity`.
    fn loss_ratio(&self, rate: f64, capacity: f64) -> f64 {
        let knee = capacity * (1.0 - self.knee_fraction);
        if rate <= knee {
            0.0
        } else if rate <= capacity {
            let x = (rate - knee) / (capacity - knee).max(f64::MIN_POSITIVE);
            self.loss_at_capacity * x * x
        } else {
            // Beyond capacity the device forwards what it did at capacity; the rest is lost.
            1.0 - capacity * (1.0 - self.loss_at_capacity) / rate
        }
    }

    /// The noiseless highest rate with loss ≤ `loss_pct` (the truth a search should find).
    pub fn true_rate(&self, loss_pct: f64) -> f64 {
        let thr = loss_pct / 100.0;
        self.highest_rate(|rate| self.loss_ratio(rate, self.capacity_pps) <= thr)
    }

    /// Like [`SimulatedDevice::true_rate`], but counting whole frames as a noiseless trial of
    /// `duration_s` does: at a low rate the threshold is a fraction of a frame, and a device
    /// that loses 0.6 frames on average loses one in the trial — the truth a search of that
    /// duration can find.
    pub fn true_rate_in_frames(&self, loss_pct: f64, duration_s: f64) -> f64 {
        self.highest_rate(|rate| {
            let (sent, lost) = self.frames(rate, self.capacity_pps, duration_s);
            sent == 0 || 100.0 * lost as f64 / sent as f64 <= loss_pct
        })
    }

    /// The highest rate (bisection up to 10 × the capacity) at which `passes` holds; loss
    /// grows with the rate, so it holds below that rate and not above.
    fn highest_rate(&self, passes: impl Fn(f64) -> bool) -> f64 {
        let (mut lo, mut hi) = (0.0, self.capacity_pps * 10.0);
        for _ in 0..200 {
            let mid = (lo + hi) / 2.0;
            if passes(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Frames sent and lost (to the device's loss curve alone) in `duration_s` at `rate`,
    /// capacity `capacity`: whole frames, as a trial counts them.
    fn frames(&self, rate: f64, capacity: f64, duration_s: f64) -> (u64, u64) {
        let sent = (rate * duration_s).round() as u64;
        let lost = ((sent as f64) * self.loss_ratio(rate, capacity)).round() as u64;
        (sent, lost)
    }

    /// One standard normal sample (Box–Muller; avoids an extra dependency).
    fn gaussian(&mut self) -> f64 {
        let u1: f64 = self.rng.gen_range(f64::MIN_POSITIVE..1.0);
        let u2: f64 = self.rng.gen_range(0.0..1.0);
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Runs one simulated trial and assesses its soundness.
    pub fn trial(&mut self, req: &TrialRequest) -> TrialRecord {
        let jitter = 1.0 + self.generator_jitter * self.gaussian();
        let achieved = match self.generator_max_pps.map(|g| g * jitter) {
            Some(g) if req.rate_pps > g => g,
            _ => req.rate_pps,
        };
        let capacity = self.capacity_pps * (1.0 + self.noise * self.gaussian());
        let (sent, mut lost) = self.frames(achieved, capacity, req.duration_s);
        // Longer trials are more likely to catch a sporadic loss.
        let p = (self.sporadic * (achieved / self.capacity_pps).powi(4) * req.duration_s).min(1.0);
        if self.sporadic > 0.0 && self.rng.gen_range(0.0..1.0) < p {
            lost += self.rng.gen_range(1..10);
        }
        let mut generator = None;
        let buffer = self.stalls.map(|s| s.2);
        let mut stall_lost = 0.0;
        if let Some((per_s, ms, buffer)) = self.stalls {
            for s in self.draw_stalls(per_s, ms, req.duration_s) {
                stall_lost += (achieved * s - buffer).max(0.0);
            }
        }
        if let Some((per_s, ms)) = self.generator_stalls {
            let stalls = self.draw_stalls(per_s, ms, req.duration_s);
            if let Some(buffer) = buffer {
                for s in &stalls {
                    stall_lost += (achieved * s - buffer).max(0.0);
                }
            }
            let longest = stalls.iter().copied().fold(0.0, f64::max);
            generator = Some(GeneratorTiming {
                max_lateness_us: longest * 1e6,
                max_burst_frames: (achieved * longest).round() as u64,
                catchup_frames: stalls.iter().map(|s| (achieved * s).round() as u64).sum(),
                stalls_over_1ms: stalls.iter().filter(|s| **s > 1e-3).count() as u64,
            });
        }
        lost += stall_lost.round() as u64;
        let mut record = TrialRecord {
            purpose: Some(TrialPurpose::Search),
            requested_rate_pps: req.rate_pps,
            requested_duration_s: req.duration_s,
            sent,
            received: sent - lost.min(sent),
            lost: lost.min(sent),
            achieved_tx_pps: achieved,
            elapsed_s: req.duration_s,
            generator,
            ..Default::default()
        };
        assess(&mut record, &SoundnessLimits::default());
        record
    }
}
