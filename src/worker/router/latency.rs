//! The latency estimator of one processor: what response time to expect, whether a slow answer
//! latched it out, and how old an attempt may get before the processor is suspected of turning
//! slow. `DESIGN.md` §4–5 explain why each rule exists.
//!
//! Pure: every instant comes in as an argument.

/// Weight of a new latency sample in the moving average: reacts within a handful of answers.
pub(crate) const LATENCY_SMOOTHING: f64 = 0.2;

/// Allowance over the expected response time before an attempt in flight makes its processor
/// suspect (ms). Jitter on a loaded machine may now and then exceed it; that costs little: new
/// payments wait (within the hold) until the late answer arrives, while every payment sent to a
/// processor that really turned slow is a late record waiting to happen.
pub(crate) const SUSPICION_SLACK_MS: i64 = 100;

/// Factor on the expected response time before an attempt in flight makes its processor suspect.
pub(crate) const SUSPICION_FACTOR: f64 = 1.25;

const _: () = assert!(SUSPICION_SLACK_MS > 0);

/// What a successful answer says about the processor's speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SpeedNews {
    /// The attempt started before the newest success's: old news, it says nothing of the speed.
    Stale,
    /// Answered within the bound: the processor is fast, and any slow latch is lifted.
    Fast,
    /// A recovery probe answered slower than the bound: it may have sat out a delay that is over
    /// now, so the speed is unknown, not slow.
    SatOutOldDelay,
    /// Answered slower than the bound: the slow latch is set.
    Slow,
}

/// The response-time evidence about one processor.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct LatencyEstimator {
    /// Smoothed response time (`None` until the first success or report).
    average_ms: Option<f64>,
    /// When `average_ms` last changed (`None`: never). An estimate older than the health TTL is
    /// forgotten: with no health report and no traffic it would otherwise keep a slow processor
    /// out forever.
    updated_ms: Option<i64>,
    /// Set when an answer took longer than the bound: the processor stays out until a health
    /// report polled later says its delay is back under the bound, or until nothing has been
    /// heard for a health TTL. One slow answer is enough, because the average of a few fast
    /// answers and one slow one looks fast, and a slow processor is never probed with payments.
    slow_since_ms: Option<i64>,
    /// Start of the newest attempt that succeeded (`None`: none yet). Evidence about the speed
    /// from an attempt started before it is old news: a fast answer to a later attempt outweighs a
    /// slow one to an earlier attempt still finishing, which was caught in the previous regime.
    newest_success_started_ms: Option<i64>,
}

impl LatencyEstimator {
    /// The smoothed response time, if any evidence has come in (ms).
    #[cfg(test)]
    pub(crate) fn average_ms(&self) -> Option<f64> {
        self.average_ms
    }

    /// Since when the slow latch is set, if it is.
    #[cfg(test)]
    pub(crate) fn slow_since_ms(&self) -> Option<i64> {
        self.slow_since_ms
    }

    /// Start of the newest attempt that succeeded, if any: attempts in flight that started
    /// before it belong to a past regime.
    pub(crate) fn newest_success_started_ms(&self) -> Option<i64> {
        self.newest_success_started_ms
    }

    /// Takes a health report's delay: it replaces the estimate, being the processor's own word
    /// and the only news of a processor we stopped using. A delay over the bound sets the latch; a
    /// delay under it lifts a latch set at or before the poll.
    pub(crate) fn report(&mut self, delay_ms: u64, polled_at_ms: i64, latency_max_ms: u64) {
        self.average_ms = Some(delay_ms as f64);
        self.updated_ms = Some(polled_at_ms);
        if delay_ms > latency_max_ms {
            self.slow_since_ms = Some(polled_at_ms);
        } else if self.slow_since_ms.is_some_and(|since_ms| since_ms <= polled_at_ms) {
            self.slow_since_ms = None;
        }
    }

    /// Takes a success to an attempt started at `started_ms` and answered at `now_ms`.
    ///
    /// `new_regime`: the first success after signs of trouble starts a new estimate, since the old
    /// one (often a failing processor's reported delay) says nothing about it. `recovery_probe`:
    /// the attempt was a recovery probe, which may have sat out an old delay.
    pub(crate) fn success(
        &mut self,
        started_ms: i64,
        now_ms: i64,
        new_regime: bool,
        recovery_probe: bool,
        latency_max_ms: u64,
    ) -> SpeedNews {
        let sample_ms = (now_ms - started_ms).max(0) as f64;
        self.average_ms = Some(match self.average_ms {
            Some(average_ms) if !new_regime => {
                average_ms + LATENCY_SMOOTHING * (sample_ms - average_ms)
            }
            _ => sample_ms,
        });
        self.updated_ms = Some(now_ms);
        let newest = self.newest_success_started_ms.is_none_or(|newest_ms| started_ms >= newest_ms);
        if !newest {
            return SpeedNews::Stale;
        }
        self.newest_success_started_ms = Some(started_ms);
        if sample_ms <= latency_max_ms as f64 {
            self.slow_since_ms = None;
            SpeedNews::Fast
        } else if recovery_probe {
            SpeedNews::SatOutOldDelay
        } else {
            self.slow_since_ms = Some(now_ms);
            SpeedNews::Slow
        }
    }

    /// The response time to expect now (ms): the estimate while it is fresh (0 when there is none
    /// or it is stale), or infinity while the slow latch holds.
    pub(crate) fn expected_ms(&self, now_ms: i64, health_ttl_ms: i64) -> f64 {
        let latched = self.slow_since_ms.is_some_and(|since_ms| now_ms - since_ms < health_ttl_ms);
        if latched {
            return f64::INFINITY;
        }
        let fresh = self.updated_ms.is_some_and(|updated_ms| now_ms - updated_ms < health_ttl_ms);
        if fresh {
            self.average_ms.unwrap_or(0.0)
        } else {
            0.0
        }
    }

    /// How old an attempt may get before the processor is suspected of turning slow (ms):
    /// [`SUSPICION_FACTOR`] times the expected time plus [`SUSPICION_SLACK_MS`], and never more
    /// than `latency_max_ms`. Every payment sent to a processor that has turned slow is a late
    /// record waiting to happen (DESIGN.md §4), so the sooner new payments stop, the fewer are
    /// exposed: a processor answering in 100 ms is suspected after 225 ms, not 1250 ms. One that
    /// really answers in 1000 ms is never suspected before the bound itself.
    pub(crate) fn suspicion_age_ms(
        &self,
        now_ms: i64,
        health_ttl_ms: i64,
        latency_max_ms: u64,
    ) -> f64 {
        let expected_ms = self.expected_ms(now_ms, health_ttl_ms);
        (SUSPICION_FACTOR * expected_ms + SUSPICION_SLACK_MS as f64).min(latency_max_ms as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_752_150_896_000;
    const TTL_MS: i64 = 10_000;
    const MAX_MS: u64 = 1250;

    #[test]
    fn the_average_follows_successes_and_a_new_regime_restarts_it() {
        let mut estimator = LatencyEstimator::default();
        assert_eq!(estimator.expected_ms(NOW, TTL_MS), 0.0, "no evidence: presumed fast");
        assert_eq!(estimator.success(NOW - 100, NOW, false, false, MAX_MS), SpeedNews::Fast);
        assert_eq!(estimator.average_ms(), Some(100.0), "the first sample is the estimate");
        estimator.success(NOW - 200, NOW, false, false, MAX_MS);
        assert_eq!(estimator.average_ms(), Some(100.0 + LATENCY_SMOOTHING * 100.0));
        estimator.success(NOW + 1, NOW + 11, true, false, MAX_MS);
        assert_eq!(estimator.average_ms(), Some(10.0), "a new regime forgets the average");
        assert_eq!(estimator.expected_ms(NOW + TTL_MS + 10, TTL_MS), 10.0);
        assert_eq!(estimator.expected_ms(NOW + TTL_MS + 11, TTL_MS), 0.0, "stale: forgotten");
    }

    #[test]
    fn speed_news_by_age_speed_and_kind_of_attempt() {
        // (started, answered, recovery probe, news, latched after)
        let cases = [
            (NOW, NOW + 20, false, SpeedNews::Fast, false),
            (NOW, NOW + 1250, false, SpeedNews::Fast, false),
            (NOW, NOW + 1251, false, SpeedNews::Slow, true),
            (NOW, NOW + 2000, true, SpeedNews::SatOutOldDelay, false),
            (NOW - 1, NOW + 5000, false, SpeedNews::Stale, false),
        ];
        for (started_ms, now_ms, probe, news, latched) in cases {
            let mut estimator = LatencyEstimator::default();
            estimator.success(NOW, NOW + 10, false, false, MAX_MS);
            assert_eq!(estimator.success(started_ms, now_ms, false, probe, MAX_MS), news);
            assert_eq!(estimator.slow_since_ms().is_some(), latched, "{news:?}");
        }
    }

    #[test]
    fn a_report_sets_or_lifts_the_latch_by_when_it_was_polled() {
        let mut estimator = LatencyEstimator::default();
        estimator.report(2000, NOW, MAX_MS);
        assert_eq!(estimator.slow_since_ms(), Some(NOW));
        assert_eq!(estimator.expected_ms(NOW + 1, TTL_MS), f64::INFINITY);
        estimator.success(NOW, NOW + 1300, false, false, MAX_MS);
        estimator.report(0, NOW + 1200, MAX_MS);
        assert_eq!(estimator.slow_since_ms(), Some(NOW + 1300), "polled before the slow answer");
        estimator.report(0, NOW + 1300, MAX_MS);
        assert_eq!(estimator.slow_since_ms(), None, "polled at or after it");
        assert_eq!(estimator.expected_ms(NOW + 1301, TTL_MS), 0.0);
    }

    #[test]
    fn suspicion_scales_with_the_expected_time_up_to_the_bound() {
        // (reported delay, suspicion age)
        let cases = [(0, 100.0), (100, 225.0), (900, 1225.0), (1000, 1250.0), (1250, 1250.0)];
        for (delay_ms, age_ms) in cases {
            let mut estimator = LatencyEstimator::default();
            estimator.report(delay_ms, NOW, MAX_MS);
            assert_eq!(estimator.suspicion_age_ms(NOW, TTL_MS, MAX_MS), age_ms, "{delay_ms}");
        }
    }
}
