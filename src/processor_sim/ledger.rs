//! The simulator's books: every payment it recorded, keyed by correlation id.
//!
//! # Invariants
//! - A correlation id is recorded at most once (a second insert reports a duplicate and changes
//!   nothing), which is what makes a `422` mean "already recorded".
//! - At most [`PAYMENTS_MAX`] payments, so a simulator left running across many load tests
//!   without a purge cannot grow without bound.
//!
//! Pure data: no I/O, no clock. One ledger per simulator, owned by its single thread.

use std::collections::HashMap;

use crate::payment::{CorrelationId, Totals};

/// The most payments kept between purges. The final test records about 90,000 per processor, so
/// this is ten final runs without a purge, at about 100 bytes each (100 MB at worst).
pub(crate) const PAYMENTS_MAX: usize = 1_000_000;

/// Room reserved at start-up. Modest, because tests start many simulators in one process; the
/// map grows past it during a load test, which is fine for a test double off the measured path.
pub(crate) const PAYMENTS_RESERVED: usize = 16_384;

const _: () = assert!(PAYMENTS_RESERVED <= PAYMENTS_MAX);

/// One recorded payment, as the processor keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StoredPayment {
    /// The amount in cents (rounded to two places on input).
    pub amount_cents: u64,
    /// The `requestedAt` sent, in microseconds since the epoch, as the summary filters on it.
    pub requested_at_us: i64,
}

/// Why an insert recorded nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InsertError {
    /// The id was already recorded: `422`.
    Duplicate,
    /// [`PAYMENTS_MAX`] reached: the simulator refuses as a failing processor would (`500`).
    Full,
}

/// The recorded payments.
#[derive(Debug)]
pub(crate) struct Ledger {
    /// Payments by correlation id (lower-cased, as a GUID compares case-insensitively).
    payments: HashMap<CorrelationId, StoredPayment>,
}

impl Default for Ledger {
    fn default() -> Self {
        Self::new()
    }
}

impl Ledger {
    /// An empty ledger with [`PAYMENTS_RESERVED`] slots allocated up front.
    pub(crate) fn new() -> Self {
        Self { payments: HashMap::with_capacity(PAYMENTS_RESERVED) }
    }

    /// Records a payment unless its id is already recorded.
    ///
    /// # Errors
    /// [`InsertError::Duplicate`] or [`InsertError::Full`]; nothing changes in either case.
    pub(crate) fn insert(
        &mut self,
        id: CorrelationId,
        payment: StoredPayment,
    ) -> Result<(), InsertError> {
        if self.payments.contains_key(&id) {
            return Err(InsertError::Duplicate);
        }
        if self.payments.len() >= PAYMENTS_MAX {
            return Err(InsertError::Full);
        }
        self.payments.insert(id, payment);
        assert!(self.payments.len() <= PAYMENTS_MAX);
        Ok(())
    }

    /// The payment recorded under `id`, if any.
    pub(crate) fn get(&self, id: &CorrelationId) -> Option<StoredPayment> {
        self.payments.get(id).copied()
    }

    /// The ids of every payment recorded, in no particular order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = &CorrelationId> {
        self.payments.keys()
    }

    /// Number of payments recorded.
    pub(crate) fn len(&self) -> usize {
        self.payments.len()
    }

    /// Whether nothing is recorded.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.payments.is_empty()
    }

    /// Forgets every payment, keeping the allocation for the next run.
    pub(crate) fn purge(&mut self) {
        self.payments.clear();
        assert!(self.payments.is_empty());
    }

    /// Totals of the payments with `from_us <= requested_at_us <= to_us` (a missing bound is
    /// unbounded), the SQL `BETWEEN` of the real processor.
    ///
    /// A scan: the summary is asked once every few seconds and the ledger holds about 100,000
    /// payments, well under a millisecond, which does not justify a second, ordered index.
    pub(crate) fn totals(&self, from_us: Option<i64>, to_us: Option<i64>) -> Totals {
        let from_us = from_us.unwrap_or(i64::MIN);
        let to_us = to_us.unwrap_or(i64::MAX);
        let mut totals = Totals::default();
        for payment in self.payments.values() {
            if from_us <= payment.requested_at_us && payment.requested_at_us <= to_us {
                totals.requests += 1;
                // Cannot overflow: PAYMENTS_MAX * AMOUNT_CENTS_MAX < u64::MAX.
                totals.amount_cents += payment.amount_cents;
            }
        }
        assert!(totals.requests <= self.payments.len() as u64);
        totals
    }
}

const _: () =
    assert!((PAYMENTS_MAX as u128) * (crate::payment::AMOUNT_CENTS_MAX as u128) < u64::MAX as u128);

#[cfg(test)]
mod tests {
    use super::*;

    fn id(last: u8) -> CorrelationId {
        let mut text = *b"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b0";
        text[35] = b'0' + last;
        CorrelationId::parse(&text).unwrap()
    }

    fn payment(amount_cents: u64, requested_at_us: i64) -> StoredPayment {
        StoredPayment { amount_cents, requested_at_us }
    }

    #[test]
    fn duplicate_changes_nothing() {
        let mut ledger = Ledger::new();
        assert_eq!(ledger.insert(id(1), payment(1990, 10)), Ok(()));
        assert_eq!(ledger.insert(id(1), payment(5, 20)), Err(InsertError::Duplicate));
        assert_eq!(ledger.get(&id(1)), Some(payment(1990, 10)));
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger.get(&id(2)), None);
    }

    #[test]
    fn totals_bounds_are_inclusive() {
        let mut ledger = Ledger::new();
        ledger.insert(id(1), payment(100, 10)).unwrap();
        ledger.insert(id(2), payment(200, 20)).unwrap();
        ledger.insert(id(3), payment(300, 30)).unwrap();
        let totals = |from, to| {
            let found = ledger.totals(from, to);
            (found.requests, found.amount_cents)
        };
        assert_eq!(totals(None, None), (3, 600));
        assert_eq!(totals(Some(10), Some(30)), (3, 600));
        assert_eq!(totals(Some(11), Some(29)), (1, 200));
        assert_eq!(totals(Some(20), Some(20)), (1, 200));
        assert_eq!(totals(Some(21), None), (1, 300));
        assert_eq!(totals(None, Some(19)), (1, 100));
        assert_eq!(totals(Some(31), Some(40)), (0, 0));
    }

    #[test]
    fn purge_empties() {
        let mut ledger = Ledger::new();
        ledger.insert(id(1), payment(100, 10)).unwrap();
        ledger.purge();
        assert!(ledger.is_empty());
        assert_eq!(ledger.totals(None, None), Totals::default());
        assert_eq!(ledger.insert(id(1), payment(100, 10)), Ok(()));
    }
}
