//! Exponential backoff with jitter for retrying a source that stopped answering.

use rand::Rng;
use std::time::Duration;

/// Grows the delay after each failure (with jitter, so many watches do not retry in
/// step) and starts over after a success.
#[derive(Clone, Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff that starts at `base` and never waits longer than `cap`.
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The delay before the next retry: between half and all of `base * 2^attempts`, capped.
    pub fn next_delay(&mut self) -> Duration {
        let full = self
            .base
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        let half = full / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
        half + Duration::from_millis(jitter)
    }

    /// Forgets the failures after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// The longest wait between two retries of a watch. A source that comes back is read
/// again within this plus one failed attempt (a connect gives up after 5 s at most):
/// within 15 s, so the header does not call a recovered source stale for long.
pub const CAP: Duration = Duration::from_secs(8);

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new(Duration::from_millis(500), CAP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_within_bounds_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
        let expected_full = [1, 2, 4, 8, 8, 8];
        for full in expected_full {
            let d = b.next_delay();
            let full = Duration::from_secs(full);
            assert!(
                d >= full / 2 && d <= full + Duration::from_millis(1),
                "{d:?} vs {full:?}"
            );
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(1001));
    }

    #[test]
    fn the_default_never_waits_longer_than_the_cap() {
        let mut b = Backoff::default();
        for _ in 0..40 {
            assert!(b.next_delay() <= CAP + Duration::from_millis(1));
        }
    }
}
