//! Per-command latency distributions for INFO latencystats: a log-linear histogram of
//! nanoseconds, like the HDR histograms Redis keeps, precise to about 3%.

/// Values below this are counted exactly.
const EXACT_BELOW: u64 = 64;
/// Sub-buckets per power of two above `EXACT_BELOW`: 32 gives about 3% precision.
const SUB_BUCKET_BITS: u32 = 5;
const SUB_BUCKETS: usize = 1 << SUB_BUCKET_BITS;
/// Powers of two covered above `EXACT_BELOW` (up to 2^40 ns, about 18 minutes).
const POWERS: usize = 40 - 6;

#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    counts: Box<[u32]>,
    total: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: vec![0; EXACT_BELOW as usize + POWERS * SUB_BUCKETS].into_boxed_slice(),
            total: 0,
        }
    }
}

fn bucket_of(ns: u64) -> usize {
    if ns < EXACT_BELOW {
        return ns as usize;
    }
    let power = 63 - ns.leading_zeros(); // >= 6
    let sub = ((ns >> (power - SUB_BUCKET_BITS)) as usize) & (SUB_BUCKETS - 1);
    let index = EXACT_BELOW as usize + (power as usize - 6) * SUB_BUCKETS + sub;
    index.min(EXACT_BELOW as usize + POWERS * SUB_BUCKETS - 1)
}

/// The highest value a bucket holds (what HDR histograms report for a percentile).
fn highest_in(bucket: usize) -> u64 {
    if bucket < EXACT_BELOW as usize {
        return bucket as u64;
    }
    let above = bucket - EXACT_BELOW as usize;
    let power = (above / SUB_BUCKETS) as u32 + 6;
    let sub = (above % SUB_BUCKETS) as u64;
    let step = 1u64 << (power - SUB_BUCKET_BITS);
    (1u64 << power) + (sub + 1) * step - 1
}

impl LatencyHistogram {
    pub fn record(&mut self, ns: u64) {
        let bucket = bucket_of(ns.max(1));
        self.counts[bucket] = self.counts[bucket].saturating_add(1);
        self.total += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The value at `percentile` (0-100), in nanoseconds.
    pub fn value_at(&self, percentile: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let wanted = ((percentile / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += u64::from(count);
            if seen >= wanted {
                return highest_in(bucket);
            }
        }
        highest_in(self.counts.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_three_percent() {
        let mut h = LatencyHistogram::default();
        for ns in 1..=100_000u64 {
            h.record(ns);
        }
        for (p, exact) in [(50.0, 50_000u64), (99.0, 99_000), (99.9, 99_900)] {
            let got = h.value_at(p);
            let error = (got as f64 - exact as f64).abs() / exact as f64;
            assert!(error < 0.035, "p{p}: {got} vs {exact}");
        }
        assert_eq!(h.value_at(100.0), highest_in(bucket_of(100_000)));
    }

    #[test]
    fn buckets_are_monotonic_and_cover_their_values() {
        let mut previous = 0;
        for ns in (1..5_000_000u64).step_by(997) {
            let b = bucket_of(ns);
            assert!(b >= previous);
            assert!(
                highest_in(b) >= ns,
                "{ns} above its bucket's top {}",
                highest_in(b)
            );
            previous = b;
        }
    }

    #[test]
    fn empty_histograms_report_zero() {
        assert_eq!(LatencyHistogram::default().value_at(99.0), 0);
    }
}
