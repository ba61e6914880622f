//! Per-stream accounting at the sink: distinct frames, duplicates, reordering (pure).

use serde::{Deserialize, Serialize};

/// Sequence numbers beyond this are not tracked (a trial never sends that many per stream).
pub const MAX_TRACKED_SEQ: u32 = 1 << 28;

/// Tracks which sequence numbers of one stream arrived (a bitmap: exact, 32 MB at most).
#[derive(Debug, Clone, Default)]
pub struct SeqTracker {
    bits: Vec<u64>,
    pub unique: u64,
    pub duplicated: u64,
    pub reordered: u64,
    /// Frames whose sequence number is beyond [`MAX_TRACKED_SEQ`].
    pub out_of_range: u64,
    max_seq: Option<u32>,
}

impl SeqTracker {
    pub fn record(&mut self, seq: u32) {
        if seq >= MAX_TRACKED_SEQ {
            self.out_of_range += 1;
            return;
        }
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.bits.len() {
            // Grow geometrically so a growing stream costs amortised O(1).
            let new_len = (word + 1).max(self.bits.len() * 2).max(1024);
            self.bits.resize(new_len, 0);
        }
        let mask = 1u64 << bit;
        if self.bits[word] & mask != 0 {
            self.duplicated += 1;
            return;
        }
        self.bits[word] |= mask;
        self.unique += 1;
        match self.max_seq {
            Some(m) if seq < m => self.reordered += 1,
            _ => self.max_seq = Some(seq),
        }
    }

    pub fn max_seq(&self) -> Option<u32> {
        self.max_seq
    }

    /// Merges another sink's view of the same stream (a frame seen by both is a duplicate).
    pub fn merge(&mut self, other: &SeqTracker) {
        if other.bits.len() > self.bits.len() {
            self.bits.resize(other.bits.len(), 0);
        }
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            self.duplicated += u64::from((*a & *b).count_ones());
            *a |= *b;
        }
        self.unique = self.bits.iter().map(|w| u64::from(w.count_ones())).sum();
        self.duplicated += other.duplicated;
        self.reordered += other.reordered;
        self.out_of_range += other.out_of_range;
        self.max_seq = match (self.max_seq, other.max_seq) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// What happened to one stream over a trial.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamStats {
    pub stream: u8,
    pub sent: u64,
    pub received: u64,
    /// Missing frames: gaps below the highest sequence seen plus the tail never seen.
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
}

impl StreamStats {
    /// Combines the generator's count with the sinks' merged view; `Err` explains a
    /// contradiction (more distinct frames, or higher sequence numbers, than were sent).
    pub fn from_tracker(stream: u8, sent: u64, t: &SeqTracker) -> Result<StreamStats, String> {
        let seen_span = t.max_seq().map_or(0, |m| u64::from(m) + 1);
        if t.unique > sent || seen_span > sent || t.out_of_range > 0 {
            return Err(format!(
                "stream {stream}: sent {sent} but saw {} distinct frames up to sequence {seen_span} ({} out of range)",
                t.unique, t.out_of_range
            ));
        }
        let gaps = seen_span - t.unique;
        let tail = sent - seen_span;
        Ok(StreamStats {
            stream,
            sent,
            received: t.unique,
            lost: gaps + tail,
            duplicated: t.duplicated,
            reordered: t.reordered,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn in_order_stream_has_no_anomalies() {
        let mut t = SeqTracker::default();
        (0..1000).for_each(|s| t.record(s));
        let s = StreamStats::from_tracker(0, 1000, &t).unwrap();
        assert_eq!(
            (s.received, s.lost, s.duplicated, s.reordered),
            (1000, 0, 0, 0)
        );
    }

    #[test]
    fn gaps_tail_duplicates_and_reordering_are_counted() {
        let mut t = SeqTracker::default();
        for s in [0, 1, 3, 2, 2, 5, 7, 6] {
            t.record(s);
        }
        // sent 10: missing 4, 8, 9 → lost 3; 2 duplicated once; 2 and 6 arrived late
        let s = StreamStats::from_tracker(1, 10, &t).unwrap();
        assert_eq!(s.received, 7);
        assert_eq!(s.lost, 3);
        assert_eq!(s.duplicated, 1);
        assert_eq!(s.reordered, 2);
        assert_eq!(s.received + s.lost, s.sent);
    }

    #[test]
    fn contradictions_are_reported() {
        let mut t = SeqTracker::default();
        t.record(10);
        assert!(StreamStats::from_tracker(0, 5, &t).is_err());
    }

    #[test]
    fn merging_two_sinks_counts_cross_duplicates() {
        let (mut a, mut b) = (SeqTracker::default(), SeqTracker::default());
        (0..100).for_each(|s| a.record(s));
        (50..200).for_each(|s| b.record(s));
        a.merge(&b);
        assert_eq!(a.unique, 200);
        assert_eq!(a.duplicated, 50);
        assert_eq!(a.max_seq(), Some(199));
    }
}
