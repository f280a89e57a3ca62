//! Mergeable duration histograms with fine buckets, so medians and p90s of any period come
//! from summing days (no raw samples stored).
//!
//! Bucket widths: 10 s up to 10 min, 1 min up to 4 h, 10 min up to 7 days, 1 h up to 90 days,
//! then one overflow bucket. A percentile is reported as the middle of its bucket, so it is
//! within half a bucket width of the exact nearest-rank value (±5 s, ±30 s, ±5 min, ±30 min).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// (upper bound of the band in seconds, bucket width in seconds).
const BANDS: [(i64, i64); 4] = [(600, 10), (4 * 3600, 60), (7 * 86400, 600), (90 * 86400, 3600)];

/// The six buckets shown on pages and in CSV, by their upper bounds in seconds (the last is
/// open). Every bound is a fine-bucket bound, so the counts are exact.
pub const DISPLAY_BOUNDS: [i64; 5] = [300, 900, 3600, 4 * 3600, 24 * 3600];
pub const DISPLAY_LABELS: [&str; 6] = ["0–5 min", "5–15 min", "15–60 min", "1–4 h", "4–24 h", "over 24 h"];

/// Index of the fine bucket holding `secs` (negative values count as 0).
pub fn bucket_of(secs: i64) -> u32 {
    let s = secs.max(0);
    let mut base_index = 0i64;
    let mut lower = 0i64;
    for (upper, width) in BANDS {
        if s < upper {
            return (base_index + (s - lower) / width) as u32;
        }
        base_index += (upper - lower) / width;
        lower = upper;
    }
    base_index as u32
}

/// `[lower, upper)` of a fine bucket in seconds; the overflow bucket's upper is `i64::MAX`.
pub fn bucket_range(index: u32) -> (i64, i64) {
    let mut i = i64::from(index);
    let mut lower = 0i64;
    for (upper, width) in BANDS {
        let n = (upper - lower) / width;
        if i < n {
            let lo = lower + i * width;
            return (lo, lo + width);
        }
        i -= n;
        lower = upper;
    }
    (lower, i64::MAX)
}

/// Half the width of the bucket holding `secs`: the precision of a percentile there.
pub fn precision_at(secs: i64) -> i64 {
    let (lo, hi) = bucket_range(bucket_of(secs));
    if hi == i64::MAX { 0 } else { (hi - lo) / 2 }
}

/// Sparse counts by fine bucket index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Histogram(pub BTreeMap<u32, u64>);

impl Histogram {
    pub fn add_secs(&mut self, secs: i64) {
        *self.0.entry(bucket_of(secs)).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (k, v) in &other.0 {
            *self.0.entry(*k).or_default() += v;
        }
    }

    pub fn count(&self) -> u64 {
        self.0.values().sum()
    }

    /// Nearest-rank percentile (`p` in 0..=100): the middle of the bucket holding the sample
    /// of rank ⌈p·n/100⌉. The overflow bucket answers its lower bound. `None` when empty.
    pub fn percentile(&self, p: u32) -> Option<i64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = (u64::from(p) * n).div_ceil(100).max(1);
        let mut seen = 0;
        for (k, v) in &self.0 {
            seen += v;
            if seen >= rank {
                let (lo, hi) = bucket_range(*k);
                return Some(if hi == i64::MAX { lo } else { lo + (hi - lo) / 2 });
            }
        }
        None
    }

    /// Counts in the six display buckets.
    pub fn display(&self) -> [u64; 6] {
        let mut out = [0u64; 6];
        for (k, v) in &self.0 {
            let (lo, _) = bucket_range(*k);
            let slot = DISPLAY_BOUNDS.iter().position(|b| lo < *b).unwrap_or(5);
            out[slot] += v;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_widen() {
        let mut prev_hi = 0;
        for i in 0..3000 {
            let (lo, hi) = bucket_range(i);
            assert_eq!(lo, prev_hi, "bucket {i}");
            assert_eq!(bucket_of(lo), i);
            if hi == i64::MAX {
                break;
            }
            assert_eq!(bucket_of(hi - 1), i);
            prev_hi = hi;
        }
        assert_eq!(bucket_range(bucket_of(599)), (590, 600));
        assert_eq!(bucket_range(bucket_of(600)), (600, 660));
        assert_eq!(bucket_range(bucket_of(4 * 3600 + 1)), (14400, 15000));
        assert_eq!(bucket_range(bucket_of(8 * 86400 + 5)), (8 * 86400, 8 * 86400 + 3600));
        assert_eq!(bucket_range(bucket_of(400 * 86400)).1, i64::MAX);
    }

    #[test]
    fn percentiles_within_half_a_bucket_of_exact() {
        let samples: Vec<i64> = (0..997).map(|i| (i * i * 37) % 200_000 + i).collect();
        let mut h = Histogram::default();
        for s in &samples {
            h.add_secs(*s);
        }
        let mut sorted = samples.clone();
        sorted.sort();
        for p in [1, 10, 50, 90, 99, 100] {
            let rank = ((p as usize * sorted.len()).div_ceil(100)).max(1);
            let exact = sorted[rank - 1];
            let got = h.percentile(p).unwrap();
            assert!((got - exact).abs() <= precision_at(exact), "p{p}: {got} vs {exact}");
        }
        assert_eq!(Histogram::default().percentile(50), None);
    }

    #[test]
    fn display_buckets_split_exactly_on_their_bounds() {
        let mut h = Histogram::default();
        for s in [0, 299, 300, 899, 900, 3599, 3600, 14399, 14400, 86399, 86400, 10_000_000] {
            h.add_secs(s);
        }
        assert_eq!(h.display(), [2, 2, 2, 2, 2, 2]);
    }
}
