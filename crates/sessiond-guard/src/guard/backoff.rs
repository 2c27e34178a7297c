//! Exponential back-off with jitter between reconnection attempts, so that
//! resource servers cut off together do not all come back in the same
//! millisecond when sessiond does.
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

/// Delays of `first`, 2 × `first`, 4 × `first` … up to `max`, each scaled
/// by a random factor in [0.5, 1.5) and never above `max`.
#[derive(Debug)]
pub(crate) struct Backoff {
    first: Duration,
    max: Duration,
    failures: u32,
    random: RandomState,
}

impl Backoff {
    pub(crate) fn new(first: Duration, max: Duration) -> Self {
        Self { first, max, failures: 0, random: RandomState::new() }
    }

    /// The delay before the next attempt, after one more failure.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let doubled = self.first.saturating_mul(1u32.checked_shl(self.failures.min(20)).unwrap_or(u32::MAX));
        self.failures = self.failures.saturating_add(1);
        // A fresh keyed hash is a cheap uniform sample without a RNG crate.
        let sample = self.random.hash_one(self.failures) % 1000;
        let factor = 0.5 + sample as f64 / 1000.0;
        doubled.min(self.max).mul_f64(factor).min(self.max)
    }

    /// A connection worked: start again from the first delay.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_jitter_and_resets() {
        let first = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        let mut b = Backoff::new(first, max);
        let d0 = b.next_delay();
        assert!(d0 >= first / 2 && d0 < first * 3 / 2, "{d0:?}");
        let d1 = b.next_delay();
        assert!(d1 >= first && d1 < first * 3, "{d1:?}");
        for _ in 0..40 {
            assert!(b.next_delay() <= max);
        }
        let late = b.next_delay();
        assert!(late >= max / 2, "{late:?}");
        b.reset();
        assert!(b.next_delay() < first * 3 / 2);
    }
}
