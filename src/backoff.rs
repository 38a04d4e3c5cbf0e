//! The pause between retries, shared by every retry loop: the accept loop, the Redis
//! reconnection, and the worker's and the API's retries of a store call.
//!
//! Each loop keeps one [`Backoff`]: the first pause, a factor, and a cap. A loop that recovers
//! calls [`Backoff::reset`]. No loop uses jitter: every retry here waits on a single local
//! resource (one Redis, one listener), so there is no herd of clients to spread out.
//!
//! # Dependency rules
//! std only, no clock: the caller sleeps for what [`Backoff::next_delay`] returns.

use std::time::Duration;

/// A geometric sequence of pauses: `first_ms`, `first_ms * factor`, ... up to `cap_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// The first pause, and the pause after a reset (ms).
    first_ms: u64,
    /// How much each pause grows over the one before (1: a fixed pause).
    factor: u64,
    /// The longest pause (ms).
    cap_ms: u64,
    /// The pause the next call to [`Backoff::next_delay`] returns (ms).
    next_ms: u64,
}

impl Backoff {
    /// A backoff starting at `first_ms` and growing by `factor` up to `cap_ms`.
    ///
    /// # Panics
    /// If `first_ms` is zero or above `cap_ms`, or `factor` is zero (programmer errors).
    pub(crate) const fn new(first_ms: u64, factor: u64, cap_ms: u64) -> Self {
        assert!(first_ms > 0, "a zero first pause never grows");
        assert!(first_ms <= cap_ms, "the first pause is above the cap");
        assert!(factor > 0, "a zero factor gives zero pauses");
        Self { first_ms, factor, cap_ms, next_ms: first_ms }
    }

    /// The pause before the next retry; the one after it is `factor` times longer, up to the cap.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay_ms = self.next_ms;
        self.next_ms = self.next_ms.saturating_mul(self.factor).min(self.cap_ms);
        assert!(delay_ms >= self.first_ms && delay_ms <= self.cap_ms);
        Duration::from_millis(delay_ms)
    }

    /// Whether the next pause is already the cap: the loop has been failing for a while.
    pub(crate) fn is_at_cap(&self) -> bool {
        self.next_ms == self.cap_ms
    }

    /// Starts again from the first pause, after a success.
    pub(crate) fn reset(&mut self) {
        self.next_ms = self.first_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence(mut backoff: Backoff, count: usize) -> Vec<u64> {
        (0..count).map(|_| backoff.next_delay().as_millis() as u64).collect()
    }

    #[test]
    fn sequences_table() {
        let cases: &[(Backoff, &[u64])] = &[
            // The Redis reconnection and the worker's take loop (caps 500 and 1000 ms).
            (Backoff::new(1, 2, 500), &[1, 2, 4, 8, 16, 32, 64, 128, 256, 500, 500]),
            (Backoff::new(1, 2, 1000), &[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1000]),
            // The accept loop.
            (Backoff::new(1, 2, 100), &[1, 2, 4, 8, 16, 32, 64, 100, 100]),
            // The worker's and recorder's retries of a store call.
            (Backoff::new(20, 2, 1000), &[20, 40, 80, 160, 320, 640, 1000, 1000]),
            (Backoff::new(20, 2, 500), &[20, 40, 80, 160, 320, 500, 500]),
            // The API's withdrawal: a fixed pause.
            (Backoff::new(10, 1, 10), &[10, 10, 10]),
            // A first pause equal to the cap, and a factor that would overflow.
            (Backoff::new(7, 2, 7), &[7, 7]),
            (Backoff::new(u64::MAX / 2, u64::MAX, u64::MAX), &[u64::MAX / 2, u64::MAX, u64::MAX]),
        ];
        for (backoff, expected) in cases {
            assert_eq!(sequence(*backoff, expected.len()), *expected, "{backoff:?}");
        }
    }

    #[test]
    fn reset_starts_again_and_the_cap_is_reported() {
        let mut backoff = Backoff::new(1, 2, 4);
        assert!(!backoff.is_at_cap());
        assert_eq!(sequence(backoff, 3), [1, 2, 4]);
        backoff.next_delay();
        backoff.next_delay();
        assert!(backoff.is_at_cap());
        backoff.reset();
        assert!(!backoff.is_at_cap());
        assert_eq!(backoff.next_delay(), Duration::from_millis(1));
    }

    #[test]
    #[should_panic(expected = "above the cap")]
    fn a_first_pause_above_the_cap_is_a_programmer_error() {
        let _ = Backoff::new(10, 2, 5);
    }
}
