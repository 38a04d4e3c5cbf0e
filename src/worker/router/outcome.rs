//! What the router is told: the outcome of an attempt, a processor's health, and the attempt
//! itself. Plain values with no I/O, so the router can be tested, and read, without the HTTP
//! client. `worker::processor` turns HTTP answers into these types; it depends on this module,
//! never the other way round.

pub(crate) use crate::payment::{Health, HealthReport};

/// What a `POST /payments` attempt tells us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PayOutcome {
    /// `200`: recorded now, at the `requestedAt` we sent.
    Accepted,
    /// `422`: the processor already has this correlation id, recorded by an earlier attempt of
    /// ours with the same `requestedAt`.
    AlreadyRecorded,
    /// `429`: back-pressure; nothing recorded by this attempt.
    Busy,
    /// `5xx`: failure mode; nothing recorded by this attempt.
    Failed,
    /// Another `4xx`: the processor refused the payload; nothing recorded.
    Refused(u16),
    /// The connection could not be made; nothing sent.
    Unreachable,
    /// Timeout or reset after sending: it may or may not be recorded.
    Ambiguous,
}

impl PayOutcome {
    /// Whether the processor has the payment (so it must be recorded under this attempt).
    pub(crate) fn is_recorded(self) -> bool {
        matches!(self, Self::Accepted | Self::AlreadyRecorded)
    }

    /// Whether this attempt certainly did not record the payment.
    pub(crate) fn is_definitely_not_recorded(self) -> bool {
        matches!(self, Self::Busy | Self::Failed | Self::Refused(_) | Self::Unreachable)
    }

    /// Whether this outcome is a sign of failure (it counts towards a failure streak). A `429` is
    /// back-pressure, not failure, and a refused payload says nothing of the processor's health.
    pub(crate) fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::Unreachable | Self::Ambiguous)
    }
}

/// One attempt sent to a processor, as the router registered it.
///
/// Ordered by start, then id, so the oldest attempt in flight is the first of a sorted set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Attempt {
    /// When it was sent (ms since the epoch).
    pub(crate) started_ms: i64,
    /// Unique per router, in the order attempts were registered.
    pub(crate) id: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_is_recorded_or_not_or_ambiguous() {
        let cases = [
            (PayOutcome::Accepted, true, false, false),
            (PayOutcome::AlreadyRecorded, true, false, false),
            (PayOutcome::Busy, false, true, false),
            (PayOutcome::Failed, false, true, true),
            (PayOutcome::Refused(400), false, true, false),
            (PayOutcome::Unreachable, false, true, true),
            (PayOutcome::Ambiguous, false, false, true),
        ];
        for (outcome, recorded, not_recorded, failure) in cases {
            assert_eq!(outcome.is_recorded(), recorded, "{outcome:?}");
            assert_eq!(outcome.is_definitely_not_recorded(), not_recorded, "{outcome:?}");
            assert!(!(recorded && not_recorded), "{outcome:?}");
            assert_eq!(outcome.is_failure(), failure, "{outcome:?}");
        }
    }

    #[test]
    fn attempts_sort_by_start_then_id() {
        let early = Attempt { started_ms: 10, id: 9 };
        let late = Attempt { started_ms: 11, id: 1 };
        assert!(early < late);
        assert!(Attempt { started_ms: 10, id: 1 } < early);
    }
}
