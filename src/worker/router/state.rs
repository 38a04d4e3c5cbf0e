//! One processor's state machine: its [`Condition`] (healthy, failing, speed unknown), changed
//! only by [`ProcessorState::apply`], and the [`Phase`] and [`Speed`] it is in at a given instant.
//!
//! Time-driven edges (a rest that ends, a `429` that wears off, a failing report that goes
//! stale, an attempt that has been out too long) are not events: each state keeps the instant
//! that ends it, and [`ProcessorState::phase`] and [`ProcessorState::speed`] read the state at
//! `now_ms`. So nothing needs a clock or a timer, and a query never changes the state.
//! `DESIGN.md` §5 is the transition table this file implements, row for row.

use std::collections::BTreeMap;

use super::{
    latency::{LatencyEstimator, SpeedNews},
    outcome::{Attempt, HealthReport, PayOutcome},
    RouterSettings,
};

/// What the router makes of a processor's failures, changed only by events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Condition {
    /// No sign of failure, and its speed is known: it gets payments while it is fast.
    Healthy,
    /// No sign of failure, but the success that ended its failure was a recovery probe that
    /// answered slower than the bound: it may have sat out a delay that is over now. It is sent
    /// one payment at a time (speed probes) until a later attempt answers.
    SpeedUnknown,
    /// Signs of failure: a failure streak, or a failing health report polled after the last
    /// success. It rests `failure_rest_ms` after the latest sign, then is probed.
    Failing {
        /// When the failing report that is a sign was polled (`None`: the sign is a streak). The
        /// report stops being a sign a health TTL after it was polled.
        report_polled_at_ms: Option<i64>,
        /// What it returns to when the signs clear: [`Condition::SpeedUnknown`] if set, else
        /// [`Condition::Healthy`]. While it is set, probes are speed probes.
        speed_unknown: bool,
    },
}

impl Condition {
    fn speed_unknown(self) -> bool {
        match self {
            Self::Healthy => false,
            Self::SpeedUnknown => true,
            Self::Failing { speed_unknown, .. } => speed_unknown,
        }
    }

    fn with_speed_unknown(self, unknown: bool) -> Self {
        match self {
            Self::Healthy | Self::SpeedUnknown if unknown => Self::SpeedUnknown,
            Self::Healthy | Self::SpeedUnknown => Self::Healthy,
            Self::Failing { report_polled_at_ms, .. } => {
                Self::Failing { report_polled_at_ms, speed_unknown: unknown }
            }
        }
    }

    /// The condition once every sign of failure is gone.
    fn cleared(self) -> Self {
        Self::Healthy.with_speed_unknown(self.speed_unknown())
    }
}

/// Whether a processor may be sent attempts at an instant, leaving its speed aside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// It answered `429`: left alone until `until_ms`. Back-pressure, not failure.
    Busy {
        /// When the back-pressure wears off.
        until_ms: i64,
    },
    /// Resting after its latest sign of failure, until `until_ms`.
    Resting {
        /// When the rest ends and probing may start.
        until_ms: i64,
    },
    /// One payment at a time finds out what the processor does now.
    Probing(ProbeKind),
    /// No sign of trouble: it gets payments while it is fast.
    Usable,
}

/// Why a processor is probed, which decides what a slow answer to the probe means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProbeKind {
    /// It showed signs of failure and has rested. A failing processor stores nothing, so a probe
    /// costs at most one payment's time. A slow answer to it is not held against its speed: it
    /// may have sat out the old delay, so the speed becomes unknown.
    Recovery,
    /// Its speed is unknown. A slow answer to a speed probe latches it out.
    Speed,
}

/// Whether a processor is fast enough for the audit at an instant (`DESIGN.md` §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Speed {
    /// Its expected response time is within the bound and no attempt is out for too long.
    Fast,
    /// Its expected response time is over the bound, or the slow latch holds.
    Slow,
    /// An attempt started after the newest success has been out longer than the suspicion age.
    Suspected,
}

/// What kind of attempt was registered, by the processor's phase when it started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AttemptKind {
    /// Sent while the processor was usable, or a retry sent whatever its phase.
    Payment,
    /// Sent while probing for recovery: may sit out an old delay.
    RecoveryProbe,
    /// Sent while probing for speed.
    SpeedProbe,
}

/// What happens to a processor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A health report came in. It counts from when it was polled, not from `now_ms`: a report
    /// read from Redis may be seconds old, and an older one than the newest known is ignored.
    Reported(HealthReport),
    /// An attempt was sent.
    Started(Attempt),
    /// An attempt was answered (or timed out, or failed to connect).
    Answered {
        /// The attempt, as [`Event::Started`] registered it.
        attempt: Attempt,
        /// What it told us.
        outcome: PayOutcome,
    },
    /// The plan sent a probe: the next is due one probe interval later.
    ProbePlanned,
}

/// What the router knows of one processor.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ProcessorState {
    /// The state machine proper.
    condition: Condition,
    /// Failures (5xx, unreachable, ambiguous) since the last success; a streak of
    /// `failure_streak_max` is a sign of failure.
    failure_streak: u32,
    /// When the last failure was answered (`None`: never). While a failing report stands, every
    /// failure since is a fresh sign, so the rest counts from the later of the two.
    last_failure_ms: Option<i64>,
    /// When the last success (200/422) was answered (`None`: never). A failing report polled
    /// before it is old news.
    last_success_ms: Option<i64>,
    /// Until when a `429` keeps it out (`None`: it never answered `429`).
    busy_until_ms: Option<i64>,
    /// The newest health report.
    health: Option<HealthReport>,
    /// The response-time evidence.
    latency: LatencyEstimator,
    /// Attempts in flight, by kind. The oldest one's age is a latency the router sees before any
    /// answer comes back.
    inflight: BTreeMap<Attempt, AttemptKind>,
    /// When the last probe was planned (`None`: never). Probes go one per interval, even while an
    /// earlier one is still out: a probe sent into a long delay must not hide the recovery.
    last_probe_ms: Option<i64>,
}

impl Default for ProcessorState {
    fn default() -> Self {
        Self {
            condition: Condition::Healthy,
            failure_streak: 0,
            last_failure_ms: None,
            last_success_ms: None,
            busy_until_ms: None,
            health: None,
            latency: LatencyEstimator::default(),
            inflight: BTreeMap::new(),
            last_probe_ms: None,
        }
    }
}

impl ProcessorState {
    /// The state machine's state.
    #[cfg(test)]
    pub(crate) fn condition(&self) -> Condition {
        self.condition
    }

    /// Failures since the last success.
    #[cfg(test)]
    pub(crate) fn failure_streak(&self) -> u32 {
        self.failure_streak
    }

    /// The newest health report.
    #[cfg(test)]
    pub(crate) fn health(&self) -> Option<HealthReport> {
        self.health
    }

    /// The response-time evidence.
    pub(crate) fn latency(&self) -> &LatencyEstimator {
        &self.latency
    }

    /// Attempts in flight.
    #[cfg(test)]
    pub(crate) fn inflight_count(&self) -> usize {
        self.inflight.len()
    }

    /// Takes `event`, which happened at `now_ms`, into account.
    pub(crate) fn apply(&mut self, event: Event, now_ms: i64, settings: &RouterSettings) {
        match event {
            Event::Reported(report) => self.reported(report, settings),
            Event::Started(attempt) => {
                let kind = match self.phase(now_ms, settings) {
                    Phase::Probing(ProbeKind::Recovery) => AttemptKind::RecoveryProbe,
                    Phase::Probing(ProbeKind::Speed) => AttemptKind::SpeedProbe,
                    Phase::Busy { .. } | Phase::Resting { .. } | Phase::Usable => {
                        AttemptKind::Payment
                    }
                };
                let known = self.inflight.insert(attempt, kind);
                assert!(known.is_none(), "an attempt is started once");
            }
            Event::Answered { attempt, outcome } => {
                self.answered(attempt, outcome, now_ms, settings)
            }
            Event::ProbePlanned => {
                debug_assert!(matches!(self.phase(now_ms, settings), Phase::Probing(_)));
                self.last_probe_ms = Some(now_ms);
            }
        }
    }

    /// A newer report replaces the estimate (the processor's own word), and is a sign of failure
    /// if it says `failing` and was polled after the last success; an older one is ignored.
    fn reported(&mut self, report: HealthReport, settings: &RouterSettings) {
        if self.health.is_some_and(|known| known.polled_at_ms >= report.polled_at_ms) {
            return;
        }
        self.health = Some(report);
        self.latency.report(
            report.health.min_response_time,
            report.polled_at_ms,
            settings.latency_max_ms,
        );
        let sign = report.health.failing
            && self.last_success_ms.is_none_or(|success_ms| success_ms < report.polled_at_ms);
        let streak = self.failure_streak >= settings.failure_streak_max;
        let speed_unknown = self.condition.speed_unknown();
        self.condition = if sign {
            Condition::Failing { report_polled_at_ms: Some(report.polled_at_ms), speed_unknown }
        } else if streak {
            Condition::Failing { report_polled_at_ms: None, speed_unknown }
        } else {
            self.condition.cleared()
        };
    }

    fn answered(
        &mut self,
        attempt: Attempt,
        outcome: PayOutcome,
        now_ms: i64,
        settings: &RouterSettings,
    ) {
        // The first success after any sign of trouble starts a new latency regime.
        let new_regime = self.phase(now_ms, settings) != Phase::Usable;
        let kind = self.inflight.remove(&attempt);
        debug_assert!(kind.is_some(), "observed an attempt that was not started");
        let kind = kind.unwrap_or(AttemptKind::Payment);
        if outcome.is_recorded() {
            self.succeeded(now_ms);
            // Only successes say how long a payment takes to be recorded: a failing processor's
            // delay may change by the time it recovers, and 429s are answered at once.
            let news = self.latency.success(
                attempt.started_ms,
                now_ms,
                new_regime,
                kind == AttemptKind::RecoveryProbe,
                settings.latency_max_ms,
            );
            self.condition = match news {
                SpeedNews::Stale => self.condition,
                SpeedNews::Fast | SpeedNews::Slow => self.condition.with_speed_unknown(false),
                SpeedNews::SatOutOldDelay => self.condition.with_speed_unknown(true),
            };
        } else if outcome.is_failure() {
            self.failed(now_ms, settings);
        } else if outcome == PayOutcome::Busy {
            self.busy_until_ms = Some(now_ms + settings.busy_rest_ms);
        } else {
            assert!(matches!(outcome, PayOutcome::Refused(_)));
        }
    }

    /// A success ends the streak and clears a failing report polled before it.
    fn succeeded(&mut self, now_ms: i64) {
        self.failure_streak = 0;
        self.last_success_ms = Some(now_ms);
        self.condition = match self.condition {
            Condition::Failing { report_polled_at_ms: Some(polled_at_ms), speed_unknown }
                if now_ms < polled_at_ms =>
            {
                Condition::Failing { report_polled_at_ms: Some(polled_at_ms), speed_unknown }
            }
            condition => condition.cleared(),
        };
    }

    /// A failure extends the streak; a full streak is a sign of failure.
    fn failed(&mut self, now_ms: i64, settings: &RouterSettings) {
        self.failure_streak = self.failure_streak.saturating_add(1);
        self.last_failure_ms = Some(now_ms);
        if self.failure_streak >= settings.failure_streak_max {
            self.condition = match self.condition {
                Condition::Failing { .. } => self.condition,
                condition => Condition::Failing {
                    report_polled_at_ms: None,
                    speed_unknown: condition.speed_unknown(),
                },
            };
        }
    }

    /// The latest sign of failure that still stands at `now_ms`, if any.
    fn latest_sign_ms(&self, now_ms: i64, settings: &RouterSettings) -> Option<i64> {
        let Condition::Failing { report_polled_at_ms, .. } = self.condition else {
            return None;
        };
        // Only a success ends a streak, and a success leaves `Failing` unless a report stands.
        debug_assert!(
            report_polled_at_ms.is_some() || self.failure_streak >= settings.failure_streak_max
        );
        let last_failure_ms = self.last_failure_ms.unwrap_or(i64::MIN);
        let reported_ms = report_polled_at_ms
            .filter(|polled_at_ms| now_ms - polled_at_ms < settings.health_ttl_ms)
            .map(|polled_at_ms| polled_at_ms.max(last_failure_ms));
        let streak_ms =
            (self.failure_streak >= settings.failure_streak_max).then_some(last_failure_ms);
        reported_ms.max(streak_ms)
    }

    /// The phase at `now_ms`.
    pub(crate) fn phase(&self, now_ms: i64, settings: &RouterSettings) -> Phase {
        if let Some(until_ms) = self.busy_until_ms.filter(|until_ms| now_ms < *until_ms) {
            return Phase::Busy { until_ms };
        }
        let speed_unknown = self.condition.speed_unknown();
        match self.latest_sign_ms(now_ms, settings) {
            Some(sign_ms) if now_ms - sign_ms < settings.failure_rest_ms => {
                Phase::Resting { until_ms: sign_ms + settings.failure_rest_ms }
            }
            Some(_) if speed_unknown => Phase::Probing(ProbeKind::Speed),
            Some(_) => Phase::Probing(ProbeKind::Recovery),
            // A failing report gone stale with no streak reads as no sign at all.
            None if speed_unknown => Phase::Probing(ProbeKind::Speed),
            None => Phase::Usable,
        }
    }

    /// The age of the oldest attempt in flight that started after the newest success (older
    /// ones belong to a past regime), in ms.
    pub(crate) fn oldest_inflight_age_ms(&self, now_ms: i64) -> i64 {
        let newest_ms = self.latency.newest_success_started_ms().unwrap_or(i64::MIN);
        self.inflight
            .range(Attempt { started_ms: newest_ms, id: 0 }..)
            .next()
            .map_or(0, |(attempt, _)| (now_ms - attempt.started_ms).max(0))
    }

    /// The speed at `now_ms`.
    pub(crate) fn speed(&self, now_ms: i64, settings: &RouterSettings) -> Speed {
        let expected_ms = self.latency.expected_ms(now_ms, settings.health_ttl_ms);
        if expected_ms > settings.latency_max_ms as f64 {
            return Speed::Slow;
        }
        let suspicion_age_ms =
            self.latency.suspicion_age_ms(now_ms, settings.health_ttl_ms, settings.latency_max_ms);
        if self.oldest_inflight_age_ms(now_ms) as f64 > suspicion_age_ms {
            return Speed::Suspected;
        }
        Speed::Fast
    }

    /// Whether a probe is due at `now_ms`: the processor is probing, and no probe was planned in
    /// the last `interval_ms`.
    pub(crate) fn may_probe(
        &self,
        now_ms: i64,
        interval_ms: i64,
        settings: &RouterSettings,
    ) -> bool {
        matches!(self.phase(now_ms, settings), Phase::Probing(_))
            && self.last_probe_ms.is_none_or(|probe_ms| now_ms - probe_ms >= interval_ms)
    }
}
