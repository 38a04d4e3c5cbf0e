//! The routing policy: which processor gets the next attempt, or none (hold the payment).
//!
//! A pure state machine: no I/O and no clock. Each processor has a [`state::Condition`] changed
//! only by [`Router::apply`] (a health report, an attempt sent, an attempt answered, a probe
//! planned), and the dispatcher asks [`Router::plan`] what to do with the queue. The caller
//! always passes `now_ms`, so the unit tests run without a clock. `DESIGN.md` §5 is the
//! transition table and the plan, and explains every constant.
//!
//! # Layout
//! - [`outcome`]: what the router is told ([`PayOutcome`], [`HealthReport`], [`Attempt`]); plain
//!   values that `worker::processor` produces, so the router imports no I/O.
//! - [`state`]: one processor's state machine and the [`Phase`] and [`Speed`] it is in.
//! - [`latency`]: the latency estimator (average, slow latch, suspicion age).
//! - [`hold`]: how long a payment may wait for the default, priced from the fees.
//!
//! # The rule in one paragraph
//! A processor is *eligible* when it is usable (no sign of failure, not pushing back with `429`)
//! and *fast*: its expected response time is at most `latency_max_ms`. That bound is below the
//! consistency audit's margin, so a payment is in our books before its `requestedAt` can enter an
//! audited window. The default gets every payment while it is eligible. While it is not, a payment
//! waits for it for at most `hold_max_ms`, counted from the payment's acceptance or from the start
//! of the default's outage, whichever is earlier; after that it goes to an eligible fallback. With
//! no eligible processor, payments wait in the queue. A processor that showed signs of failure is
//! rested for `failure_rest_ms`, then *probed* with one payment at a time until one succeeds.

pub(crate) mod hold;
pub(crate) mod latency;
pub(crate) mod outcome;
pub(crate) mod state;

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) use hold::{hold_max_ms_for_fees, END_GRACE_MS, HOLD_HORIZON_MS};
pub(crate) use outcome::{Attempt, Health, HealthReport, PayOutcome};
#[cfg(test)]
pub(crate) use state::{Condition, ProbeKind};
pub(crate) use state::{Event, Phase, ProcessorState, Speed};

use crate::payment::Processor;

/// Tunables of the policy, each explained in `DESIGN.md` §5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RouterSettings {
    /// Expected response time above which a processor is not used (ms).
    pub(crate) latency_max_ms: u64,
    /// Longest a payment waits for the default while the fallback could take it (ms).
    pub(crate) hold_max_ms: i64,
    /// Consecutive failures after which a processor is rested.
    pub(crate) failure_streak_max: u32,
    /// How long a processor is rested after its latest sign of failure (ms).
    pub(crate) failure_rest_ms: i64,
    /// How long a processor that answered `429` is left alone (ms).
    pub(crate) busy_rest_ms: i64,
    /// How long a health report is trusted (ms); the cluster polls every 5 s.
    pub(crate) health_ttl_ms: i64,
}

/// The audit's margin in the preview test (the smaller of the two official ones), in ms: a
/// payment must be in our books within this long of its `requestedAt`.
pub(crate) const AUDIT_MARGIN_MS: u64 = 1500;

/// Slack kept under the audit margin for the answer's trip, the ledger write and scheduling
/// jitter on a loaded machine (ms).
pub(crate) const AUDIT_SLACK_MS: u64 = 250;

const _: () = assert!(AUDIT_SLACK_MS < AUDIT_MARGIN_MS);

/// Interval between probes of a recovering default while the fallback takes the payments (ms).
/// A probe of a failing processor costs one payment's time; a recovery noticed a second late
/// costs a second of payments at the dearer fee.
pub(crate) const PROBE_INTERVAL_COSTLY_MS: i64 = 100;

impl RouterSettings {
    /// The defaults for the given fees (basis points). The hold is
    /// [`hold::hold_max_ms_default`]: fee-priced, capped at [`hold::END_GRACE_MS`].
    pub(crate) fn for_fees(fee_default_basis_points: u32, fee_fallback_basis_points: u32) -> Self {
        Self {
            latency_max_ms: AUDIT_MARGIN_MS - AUDIT_SLACK_MS,
            hold_max_ms: hold::hold_max_ms_default(
                fee_default_basis_points,
                fee_fallback_basis_points,
            ),
            failure_streak_max: 3,
            failure_rest_ms: 1000,
            busy_rest_ms: 250,
            health_ttl_ms: 10_000,
        }
    }
}

/// Whether a processor may be sent attempts, leaving its speed aside: [`Phase`] in three words.
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Availability {
    /// No sign of trouble ([`Phase::Usable`]).
    Usable,
    /// One payment at a time ([`Phase::Probing`]).
    Probe,
    /// Resting after a failure, or pushing back with `429`.
    Out,
}

/// What to do with the payments waiting in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Send any payment to this processor.
    Send(Processor),
    /// Send exactly one payment (the oldest) to this processor, to probe it.
    Probe(Processor),
    /// Send to this processor only payments accepted at or before this instant (ms); the others
    /// keep waiting for the default.
    SendAcceptedBy(Processor, i64),
    /// Send nothing.
    Hold,
}

/// The router's whole state: one [`ProcessorState`] per processor.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Router {
    settings: RouterSettings,
    states: [ProcessorState; 2],
    /// Since when the default has not been eligible (`None`: it is).
    default_out_since_ms: Option<i64>,
    /// The id of the last attempt registered (0: none yet).
    attempt_id_last: u64,
}

impl Router {
    /// A router that knows nothing yet (both processors presumed healthy and fast).
    ///
    /// # Panics
    /// If a setting is negative, or the failure streak is empty.
    pub(crate) fn new(settings: RouterSettings) -> Self {
        assert!(settings.hold_max_ms >= 0, "a hold is a duration");
        assert!(settings.failure_rest_ms >= 0 && settings.busy_rest_ms >= 0);
        assert!(settings.health_ttl_ms > 0);
        assert!(settings.failure_streak_max > 0, "a streak of 0 failures would rest at once");
        Self {
            settings,
            states: [ProcessorState::default(), ProcessorState::default()],
            default_out_since_ms: None,
            attempt_id_last: 0,
        }
    }

    /// What the router knows of `processor`.
    #[cfg(test)]
    pub(crate) fn state(&self, processor: Processor) -> &ProcessorState {
        &self.states[processor.index()]
    }

    /// Takes `event`, which happened to `processor` at `now_ms`, into account: the one way the
    /// state changes (`DESIGN.md` §5, transition table).
    pub(crate) fn apply(&mut self, processor: Processor, event: Event, now_ms: i64) {
        self.states[processor.index()].apply(event, now_ms, &self.settings);
    }

    /// Registers an attempt sent to `processor` at `now_ms` (an [`Event::Started`]); the attempt
    /// is then answered with [`Event::Answered`].
    pub(crate) fn attempt_started(&mut self, processor: Processor, now_ms: i64) -> Attempt {
        self.attempt_id_last += 1;
        let attempt = Attempt { started_ms: now_ms, id: self.attempt_id_last };
        self.apply(processor, Event::Started(attempt), now_ms);
        attempt
    }

    /// The phase of `processor` at `now_ms`.
    pub(crate) fn phase(&self, processor: Processor, now_ms: i64) -> Phase {
        self.states[processor.index()].phase(now_ms, &self.settings)
    }

    /// The speed of `processor` at `now_ms`.
    pub(crate) fn speed(&self, processor: Processor, now_ms: i64) -> Speed {
        self.states[processor.index()].speed(now_ms, &self.settings)
    }

    /// Whether `processor` may be sent attempts now, leaving its speed aside.
    #[cfg(test)]
    pub(crate) fn availability(&self, processor: Processor, now_ms: i64) -> Availability {
        match self.phase(processor, now_ms) {
            Phase::Usable => Availability::Usable,
            Phase::Probing(_) => Availability::Probe,
            Phase::Busy { .. } | Phase::Resting { .. } => Availability::Out,
        }
    }

    /// The response time to expect from `processor` now (ms): the smoothed observations (or the
    /// reported delay), or the latch's infinity after a slow answer.
    pub(crate) fn expected_latency_ms(&self, processor: Processor, now_ms: i64) -> f64 {
        self.states[processor.index()].latency().expected_ms(now_ms, self.settings.health_ttl_ms)
    }

    /// How old an attempt to `processor` may get before it is suspected of turning slow (ms);
    /// see [`latency::LatencyEstimator::suspicion_age_ms`].
    pub(crate) fn suspicion_age_ms(&self, processor: Processor, now_ms: i64) -> f64 {
        let settings = &self.settings;
        self.states[processor.index()].latency().suspicion_age_ms(
            now_ms,
            settings.health_ttl_ms,
            settings.latency_max_ms,
        )
    }

    /// Whether `processor` is usable and fast enough for the audit.
    pub(crate) fn is_eligible(&self, processor: Processor, now_ms: i64) -> bool {
        self.phase(processor, now_ms) == Phase::Usable
            && self.speed(processor, now_ms) == Speed::Fast
    }

    /// What to do with queued payments now (`DESIGN.md` §5, Plan). Remembers when the default's
    /// outage started, and plans a probe with [`Event::ProbePlanned`].
    pub(crate) fn plan(&mut self, now_ms: i64) -> Plan {
        let (default, fallback) = (Processor::Default, Processor::Fallback);
        if self.is_eligible(default, now_ms) {
            self.default_out_since_ms = None;
            return Plan::Send(default);
        }
        let out_since_ms = *self.default_out_since_ms.get_or_insert(now_ms);
        let fallback_eligible = self.is_eligible(fallback, now_ms);
        // While the dearer fallback takes the payments, every moment the default's recovery goes
        // unnoticed costs money: probe it ten times as often.
        let interval_ms = if fallback_eligible {
            PROBE_INTERVAL_COSTLY_MS
        } else {
            self.settings.failure_rest_ms
        };
        if self.may_probe(default, now_ms, interval_ms) {
            self.apply(default, Event::ProbePlanned, now_ms);
            return Plan::Probe(default);
        }
        if fallback_eligible {
            return if now_ms - out_since_ms >= self.settings.hold_max_ms {
                Plan::Send(fallback)
            } else {
                Plan::SendAcceptedBy(fallback, now_ms - self.settings.hold_max_ms)
            };
        }
        if self.may_probe(fallback, now_ms, self.settings.failure_rest_ms) {
            self.apply(fallback, Event::ProbePlanned, now_ms);
            return Plan::Probe(fallback);
        }
        Plan::Hold
    }

    fn may_probe(&self, processor: Processor, now_ms: i64, interval_ms: i64) -> bool {
        self.states[processor.index()].may_probe(now_ms, interval_ms, &self.settings)
    }
}
