//! How far a campaign has got and how long it will still take: "trial n of about m, time
//! left". The number of trials a search needs is not known in advance; it is estimated from
//! the searches done so far (before the first one ends, from the search's precision).

use std::time::Instant;

use measure::SearchConfig;

/// Work still planned, in units the campaign counts as it goes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Work {
    /// NDR/PDR searches (one per variant, round and frame size).
    pub searches: usize,
    /// Warm-ups (one per variant and round, and one before each variant's latency points).
    pub warmups: usize,
    /// Latency points.
    pub latency: usize,
}

impl Work {
    fn minus(self, other: Work) -> Work {
        Work {
            searches: self.searches.saturating_sub(other.searches),
            warmups: self.warmups.saturating_sub(other.warmups),
            latency: self.latency.saturating_sub(other.latency),
        }
    }
}

pub(crate) struct Estimator {
    started: Instant,
    /// Seconds per trial assumed before any trial has run.
    first_trial_s: f64,
    /// Trials per search assumed before any search has ended.
    prior_per_search: f64,
    left: Work,
    trials_done: usize,
    searches_done: usize,
    trials_of_done_searches: usize,
    /// Trials of the search under way.
    in_search: usize,
}

impl Estimator {
    pub fn new(search: &SearchConfig, planned: Work) -> Estimator {
        // Bisection from the full range down to the final precision, plus a couple of
        // full-length trials per goal at the final bounds.
        let halvings = (100.0 / search.precision_pct.max(1e-3))
            .log2()
            .ceil()
            .max(1.0);
        Estimator {
            started: Instant::now(),
            first_trial_s: search.final_duration_s.max(0.1),
            prior_per_search: halvings + 2.0 * search.goals.len() as f64 + 2.0,
            left: planned,
            trials_done: 0,
            searches_done: 0,
            trials_of_done_searches: 0,
            in_search: 0,
        }
    }

    fn per_search(&self) -> f64 {
        if self.searches_done == 0 {
            self.prior_per_search.max(self.in_search as f64 + 1.0)
        } else {
            self.trials_of_done_searches as f64 / self.searches_done as f64
        }
    }

    /// A trial is about to start: returns (its number from 1, trials in the whole campaign
    /// (≥ the number), seconds left).
    pub fn trial_starts(&mut self, purpose: measure::TrialPurpose) -> (usize, usize, f64) {
        use measure::TrialPurpose;
        let n = self.trials_done + 1;
        // Trials expected after this one.
        let current_search_left = if purpose == TrialPurpose::Search {
            (self.per_search() - (self.in_search as f64 + 1.0)).max(0.0)
        } else {
            0.0
        };
        let later_searches = self
            .left
            .searches
            .saturating_sub(usize::from(purpose == TrialPurpose::Search));
        // The warm-up under way is no longer in `left` (see `warmup_started`).
        let latency = match purpose {
            TrialPurpose::Latency => self.left.latency.saturating_sub(1),
            _ => self.left.latency,
        };
        let warmups = self.left.warmups;
        let after = current_search_left
            + later_searches as f64 * self.per_search()
            + (warmups + latency) as f64;
        let about = n + after.round() as usize;
        let per_trial_s = if self.trials_done == 0 {
            self.first_trial_s
        } else {
            self.started.elapsed().as_secs_f64() / self.trials_done as f64
        };
        // This trial and every one after it.
        let seconds_left = (about - n + 1) as f64 * per_trial_s;
        (n, about, seconds_left)
    }

    pub fn trial_done(&mut self, purpose: measure::TrialPurpose) {
        self.trials_done += 1;
        if purpose == measure::TrialPurpose::Search {
            self.in_search += 1;
        }
    }

    /// A warm-up phase (configure + warm-up trials, retries included) starts.
    pub fn warmup_started(&mut self) {
        self.left.warmups = self.left.warmups.saturating_sub(1);
    }

    pub fn search_done(&mut self) {
        self.left.searches = self.left.searches.saturating_sub(1);
        self.searches_done += 1;
        self.trials_of_done_searches += self.in_search;
        self.in_search = 0;
    }

    pub fn latency_point_done(&mut self) {
        self.left.latency = self.left.latency.saturating_sub(1);
    }

    /// Work that will not happen (a variant failed, the latency phase is skipped).
    pub fn forget(&mut self, work: Work) {
        self.left = self.left.minus(work);
    }
}
