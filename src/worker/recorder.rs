//! Batched recording of paid payments.
//!
//! Settle tasks hand every payment a processor has (answered `200` or `422`) to the thread's
//! [`Recorder`] and end. One recorder task writes them to the ledger with one script call per batch
//! of at most [`RECORD_BATCH_MAX`]. It writes a batch once its oldest payment has waited
//! [`RECORD_LINGER_MS`], or as soon as the batch is full, and after the previous call has returned.
//! Batching matters because Redis is shared with the API's hot path: a batch pays for one command
//! parse, one Lua call and one reply instead of one per payment, and the call is most of the cost.
//! The linger gathers the answers to one take, which arrive within a few milliseconds of each
//! other, into one call; it adds at most 5 ms to the time between a processor's answer and our
//! ledger, against the 250 ms of slack that the router leaves inside the audit's 1.5 s (DESIGN.md
//! §4). A payment answered late, more than [`LINGER_REQUESTED_AGE_MAX_MS`] after its `requestedAt`
//! (a processor that turned slow under it), is nearer that margin: its batch is written at once.
//!
//! A payment handed to the recorder is still in the processing hash until its batch is written, so
//! a crash before that loses nothing: recovery finds it and the processor answers `422` again.

use std::{
    cell::{Cell, RefCell},
    collections::VecDeque,
    future::poll_fn,
    rc::Rc,
    task::{Poll, Waker},
    time::{Duration, Instant},
};

use super::retry_until_stored;
use crate::{
    backoff::Backoff,
    store::{
        codec::{push_record_entry, RECORD_ENTRY_BYTES_MAX},
        ProcessingKeys, Store, TakenPayment,
    },
};

/// Payments per script call at most: bounds how long one call holds Redis (about 20 µs each).
pub(crate) const RECORD_BATCH_MAX: usize = 100;

/// How long the oldest queued payment waits for others to share its script call, unless the batch
/// fills first (ms).
pub(crate) const RECORD_LINGER_MS: u64 = 5;

/// The oldest `requestedAt` (ms before it is queued) for which a payment's batch may linger: past
/// it the batch is written at once. A processor answering in its usual tens of milliseconds leaves
/// its payments far inside the audit's margin; one that answered only after seconds (the final
/// profile's switch of the default to 2000 ms catches the attempts already sent) leaves the ledger
/// only the milliseconds of the answer itself, and the linger would add to them.
pub(crate) const LINGER_REQUESTED_AGE_MAX_MS: i64 = 250;

/// Longest pause between retries of a failed batch (ms), and the longest wait for Redis to come
/// back before that pause.
const RETRY_BACKOFF_MS_MAX: u64 = 500;

/// The pauses between retries of a failed batch: 20 ms, doubling up to [`RETRY_BACKOFF_MS_MAX`].
const RETRY_BACKOFF: Backoff = Backoff::new(20, 2, RETRY_BACKOFF_MS_MAX);

/// How long a retry waits for Redis to come back after a connection error.
const RETRY_BOUND: Duration = Duration::from_millis(RETRY_BACKOFF_MS_MAX);

/// The queue of payments to record, shared by the settle tasks and the recorder task.
#[derive(Default)]
pub(crate) struct Recorder {
    queue: RefCell<VecDeque<TakenPayment>>,
    /// When the oldest queued payment was queued; `None` while the queue is empty. After a drain
    /// that leaves payments behind it is kept: they are younger, and writing them at once is the
    /// right thing for a queue that outgrew a batch.
    oldest_queued_at: Cell<Option<Instant>>,
    /// A queued payment was answered more than [`LINGER_REQUESTED_AGE_MAX_MS`] after its
    /// `requestedAt`: write without lingering. Cleared when the queue empties.
    late: Cell<bool>,
    /// Payments queued or in the batch being written.
    unsettled: Cell<usize>,
    waker: RefCell<Option<Waker>>,
}

impl Recorder {
    /// Queues a payment for recording; `now_ms` is the wall clock (ms since the epoch).
    pub(crate) fn push(&self, taken: TakenPayment, now_ms: i64) {
        let mut queue = self.queue.borrow_mut();
        if queue.is_empty() {
            self.oldest_queued_at.set(Some(Instant::now()));
        }
        if now_ms - taken.requested_at_ms > LINGER_REQUESTED_AGE_MAX_MS {
            self.late.set(true);
        }
        queue.push_back(taken);
        self.unsettled.set(self.unsettled.get() + 1);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Payments handed over and not yet written: they still count against the in-flight bound.
    pub(crate) fn unsettled(&self) -> usize {
        self.unsettled.get()
    }

    /// Waits until at least `count` payments are queued, or a late one is.
    async fn queued(&self, count: usize) {
        poll_fn(|context| {
            if self.queue.borrow().len() >= count || self.late.get() {
                return Poll::Ready(());
            }
            *self.waker.borrow_mut() = Some(context.waker().clone());
            Poll::Pending
        })
        .await;
    }

    /// Moves the oldest payments, at most a batch, into `batch` as record entries.
    fn drain_into(&self, batch: &mut Vec<u8>) -> usize {
        let mut queue = self.queue.borrow_mut();
        let count = queue.len().min(RECORD_BATCH_MAX);
        batch.clear();
        for taken in queue.drain(..count) {
            push_record_entry(batch, &taken);
        }
        if queue.is_empty() {
            self.oldest_queued_at.set(None);
            self.late.set(false);
        }
        count
    }
}

/// How much longer a batch of `queued` payments, the oldest queued `oldest_age` ago, waits for
/// more before it is written: until the oldest has waited [`RECORD_LINGER_MS`], and not at all
/// once the batch is full or holds a `late` payment.
fn linger(queued: usize, oldest_age: Duration, late: bool) -> Duration {
    assert!(queued > 0, "only a queue with payments lingers");
    if queued >= RECORD_BATCH_MAX || late {
        return Duration::ZERO;
    }
    Duration::from_millis(RECORD_LINGER_MS).saturating_sub(oldest_age)
}

/// Writes queued payments forever, one batch at a time, retrying a failed batch until Redis takes
/// it (recording is idempotent).
pub(crate) async fn run(recorder: Rc<Recorder>, store: Store, processing: ProcessingKeys) {
    let mut batch = Vec::with_capacity(RECORD_BATCH_MAX * RECORD_ENTRY_BYTES_MAX);
    loop {
        recorder.queued(1).await;
        let oldest_age = recorder.oldest_queued_at.get().map_or(Duration::ZERO, |at| at.elapsed());
        let wait = linger(recorder.queue.borrow().len(), oldest_age, recorder.late.get());
        if !wait.is_zero() {
            monoio::select! {
                () = monoio::time::sleep(wait) => {}
                () = recorder.queued(RECORD_BATCH_MAX) => {}
            }
        }
        let count = recorder.drain_into(&mut batch);
        assert!(count > 0, "the queue only shrinks here");
        // After a lost connection (Redis restarting) the batch is written again as soon as Redis
        // is back, because these payments are already in the processors' books and the audit
        // allows 1.5 s.
        let record = || store.record(&processing, &batch);
        let operation = format_args!("record of {count} payments");
        retry_until_stored(&store, RETRY_BACKOFF, RETRY_BOUND, &operation, record).await;
        assert!(recorder.unsettled.get() >= count);
        recorder.unsettled.set(recorder.unsettled.get() - count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::{CorrelationId, PaymentRequest, Processor};

    /// When the tests' payments were taken (`requestedAt`), and a clock just after it.
    const REQUESTED_AT_MS: i64 = 1_764_590_000_000;
    const SOON_MS: i64 = REQUESTED_AT_MS + 20;

    fn taken(index: usize) -> TakenPayment {
        let id = format!("00000000-0000-4000-8000-{index:012}");
        TakenPayment {
            payment: PaymentRequest {
                correlation_id: CorrelationId::parse(id.as_bytes()).unwrap(),
                amount_cents: 1990,
            },
            processor: Processor::Default,
            requested_at_ms: REQUESTED_AT_MS,
            accepted_at_ms: REQUESTED_AT_MS,
        }
    }

    #[test]
    fn a_drain_takes_the_oldest_batch_and_keeps_the_oldest_instant_while_payments_are_left() {
        let recorder = Recorder::default();
        assert_eq!(recorder.oldest_queued_at.get(), None);
        recorder.push(taken(0), SOON_MS);
        let first = recorder.oldest_queued_at.get().expect("set by the first push");
        for index in 1..RECORD_BATCH_MAX + 20 {
            recorder.push(taken(index), SOON_MS);
        }
        assert_eq!(recorder.oldest_queued_at.get(), Some(first), "later pushes keep it");
        assert_eq!(recorder.unsettled(), RECORD_BATCH_MAX + 20);

        let mut batch = Vec::new();
        assert_eq!(recorder.drain_into(&mut batch), RECORD_BATCH_MAX);
        let mut expected = Vec::new();
        for index in 0..RECORD_BATCH_MAX {
            push_record_entry(&mut expected, &taken(index));
        }
        assert_eq!(batch, expected, "the oldest, in order");
        assert_eq!(recorder.oldest_queued_at.get(), Some(first), "20 left: written at once");

        assert_eq!(recorder.drain_into(&mut batch), 20);
        assert_eq!(recorder.oldest_queued_at.get(), None);
        assert_eq!(recorder.unsettled(), RECORD_BATCH_MAX + 20, "until the write returns");
    }

    #[test]
    fn a_batch_waits_until_its_oldest_payment_has_lingered_or_it_is_full() {
        let ms = Duration::from_millis;
        let linger_max = ms(RECORD_LINGER_MS);
        // (queued, age of the oldest, wait before writing)
        let cases: [(usize, Duration, Duration); 9] = [
            (1, Duration::ZERO, linger_max), // a lone answer waits for its take's others
            (1, ms(2), linger_max - ms(2)),  // counted from the oldest, not from now
            (1, linger_max, Duration::ZERO),
            (1, ms(1_000), Duration::ZERO), // left behind by a slow write: at once
            (RECORD_BATCH_MAX - 1, Duration::ZERO, linger_max),
            (RECORD_BATCH_MAX - 1, ms(1), linger_max - ms(1)),
            (RECORD_BATCH_MAX, Duration::ZERO, Duration::ZERO), // full: no reason to wait
            (RECORD_BATCH_MAX + 1, Duration::ZERO, Duration::ZERO),
            (5 * RECORD_BATCH_MAX, ms(1), Duration::ZERO),
        ];
        for (queued, oldest_age, wait) in cases {
            let late = false;
            assert_eq!(linger(queued, oldest_age, late), wait, "{queued} queued, {oldest_age:?}");
            assert_eq!(linger(queued, oldest_age, true), Duration::ZERO, "a late one: at once");
        }
    }

    #[test]
    fn a_payment_answered_long_after_its_requested_at_is_written_without_lingering() {
        let recorder = Recorder::default();
        // (ms between requestedAt and the push, late)
        let cases = [(0, false), (20, false), (LINGER_REQUESTED_AGE_MAX_MS, false)];
        for (age_ms, late) in cases {
            recorder.push(taken(0), REQUESTED_AT_MS + age_ms);
            assert_eq!(recorder.late.get(), late, "answered {age_ms} ms after requestedAt");
        }
        recorder.push(taken(1), REQUESTED_AT_MS + LINGER_REQUESTED_AGE_MAX_MS + 1);
        assert!(recorder.late.get(), "past the age bound");
        recorder.push(taken(2), SOON_MS);
        assert!(recorder.late.get(), "a timely payment after it does not clear it");
        let mut batch = Vec::new();
        recorder.drain_into(&mut batch);
        assert!(!recorder.late.get(), "cleared once the queue is empty");
    }

    #[test]
    #[should_panic(expected = "only a queue with payments lingers")]
    fn an_empty_queue_does_not_linger() {
        linger(0, Duration::ZERO, false);
    }
}
