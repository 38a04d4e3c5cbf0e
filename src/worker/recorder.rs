//! Batched recording of paid payments.
//!
//! Settle tasks hand every payment a processor has (answered `200` or `422`) to the thread's
//! [`Recorder`] and end. One recorder task writes them to the ledger with one script call per batch
//! of at most [`RECORD_BATCH_MAX`], as soon as the previous call has returned: under load a batch
//! forms while the previous one is in flight, with no timer, so a payment is recorded within about
//! one Redis round trip of its answer (the consistency audit allows 1.5 s). Batching matters
//! because Redis is shared with the API's hot path: a batch pays for one command parse, one Lua
//! call and one reply instead of one per payment.
//!
//! A payment handed to the recorder is still in the processing hash until its batch is written, so
//! a crash before that loses nothing: recovery finds it and the processor answers `422` again.

use std::{
    cell::{Cell, RefCell},
    collections::VecDeque,
    future::poll_fn,
    rc::Rc,
    task::{Poll, Waker},
    time::Duration,
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
    /// Payments queued or in the batch being written.
    unsettled: Cell<usize>,
    waker: RefCell<Option<Waker>>,
}

impl Recorder {
    /// Queues a payment for recording.
    pub(crate) fn push(&self, taken: TakenPayment) {
        self.queue.borrow_mut().push_back(taken);
        self.unsettled.set(self.unsettled.get() + 1);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Payments handed over and not yet written: they still count against the in-flight bound.
    pub(crate) fn unsettled(&self) -> usize {
        self.unsettled.get()
    }
}

/// Writes queued payments forever, one batch at a time, retrying a failed batch until Redis takes
/// it (recording is idempotent).
pub(crate) async fn run(recorder: Rc<Recorder>, store: Store, processing: ProcessingKeys) {
    let mut batch = Vec::with_capacity(RECORD_BATCH_MAX * RECORD_ENTRY_BYTES_MAX);
    loop {
        let count = poll_fn(|context| {
            let mut queue = recorder.queue.borrow_mut();
            if queue.is_empty() {
                *recorder.waker.borrow_mut() = Some(context.waker().clone());
                return Poll::Pending;
            }
            batch.clear();
            let count = queue.len().min(RECORD_BATCH_MAX);
            for taken in queue.drain(..count) {
                push_record_entry(&mut batch, &taken);
            }
            Poll::Ready(count)
        })
        .await;
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
