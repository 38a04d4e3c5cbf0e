//! The processor's concurrency limiter: up to `in_progress_max` requests in progress, up to
//! `waiting_max` more waiting in arrival order, and an immediate refusal beyond that.
//!
//! # Why our own
//! `local_sync`'s semaphore is FIFO too, but it cannot say how many tasks wait, and the bound on
//! waiters is the point here (past it the processor answers `429` at once). A queue of oneshot
//! senders makes both the order and the bound explicit.
//!
//! # Invariants
//! - A permit released while someone waits is handed to the oldest waiter directly, so
//!   `in_progress` never drops and rises again, and a newcomer cannot overtake the queue.
//! - A waiter whose future is dropped (its connection went away) gives back a permit it was handed
//!   and is skipped by later releases.
//!
//! Single-threaded (`Cell`, `RefCell`): one limiter per simulator thread.

use std::{
    cell::{Cell, RefCell},
    collections::VecDeque,
};

use local_sync::oneshot;

/// Limits the requests in progress; see the module documentation.
#[derive(Debug)]
pub(crate) struct ConcurrencyLimiter {
    /// Permits currently held (including ones handed to a waiter that has not woken yet).
    in_progress: Cell<usize>,
    /// The most permits held at once.
    in_progress_max: usize,
    /// One sender per waiting request, oldest first.
    waiting: RefCell<VecDeque<oneshot::Sender<()>>>,
    /// The most requests waiting at once.
    waiting_max: usize,
}

/// A held permit; dropping it lets the oldest waiter in, or frees the slot.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    /// The limiter the permit returns to.
    limiter: &'a ConcurrencyLimiter,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.release();
    }
}

/// A waiter in the queue, until it receives its permit. Dropping it early gives back a permit
/// that was handed to it in the meantime.
struct Waiter<'a> {
    /// The limiter to give a handed-over permit back to.
    limiter: &'a ConcurrencyLimiter,
    /// Completes when a release hands this waiter its permit.
    receiver: oneshot::Receiver<()>,
    /// Whether the permit arrived and now belongs to a [`Permit`].
    received: bool,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if self.received {
            return;
        }
        // After close() no sender can succeed, so try_recv tells exactly whether one did before.
        self.receiver.close();
        if self.receiver.try_recv().is_ok() {
            self.limiter.release();
        }
    }
}

impl ConcurrencyLimiter {
    /// A limiter with nothing in progress; the queue's memory is allocated here, once.
    ///
    /// # Panics
    /// If `in_progress_max` is zero (nothing could ever run).
    pub(crate) fn new(in_progress_max: usize, waiting_max: usize) -> Self {
        assert!(in_progress_max > 0, "at least one request must be able to run");
        Self {
            in_progress: Cell::new(0),
            in_progress_max,
            waiting: RefCell::new(VecDeque::with_capacity(waiting_max)),
            waiting_max,
        }
    }

    /// Takes a permit: at once if one is free and nobody waits, else after every older waiter.
    ///
    /// # Returns
    /// `None` at once when the queue is full too (the caller answers `429`).
    pub(crate) async fn acquire(&self) -> Option<Permit<'_>> {
        let receiver = {
            let mut waiting = self.waiting.borrow_mut();
            if self.in_progress.get() < self.in_progress_max && waiting.is_empty() {
                self.in_progress.set(self.in_progress.get() + 1);
                return Some(Permit { limiter: self });
            }
            if waiting.len() >= self.waiting_max {
                // Waiters whose futures were dropped still hold a place; reclaim them first.
                waiting.retain(|sender| !sender.is_closed());
                if waiting.len() >= self.waiting_max {
                    return None;
                }
            }
            let (sender, receiver) = oneshot::channel();
            waiting.push_back(sender);
            assert!(waiting.len() <= self.waiting_max);
            receiver
        };
        let mut waiter = Waiter { limiter: self, receiver, received: false };
        // The sender is only ever used to hand over a permit, and is dropped unused only when
        // the limiter itself is, which cannot happen while `self` is borrowed here.
        (&mut waiter.receiver).await.expect("the limiter outlives its waiters");
        waiter.received = true;
        Some(Permit { limiter: self })
    }

    /// Requests holding a permit now.
    #[cfg(test)]
    pub(crate) fn in_progress(&self) -> usize {
        self.in_progress.get()
    }

    /// Requests waiting now (counting waiters that left but were not reclaimed yet).
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.borrow().len()
    }

    fn release(&self) {
        assert!(self.in_progress.get() > 0, "a release without a permit");
        let mut waiting = self.waiting.borrow_mut();
        // Bounded by the queue length: each pass removes one sender.
        while let Some(sender) = waiting.pop_front() {
            if sender.send(()).is_ok() {
                // The permit moves to the waiter; in_progress is unchanged.
                return;
            }
        }
        self.in_progress.set(self.in_progress.get() - 1);
        assert!(self.in_progress.get() < self.in_progress_max);
    }
}

#[cfg(test)]
mod tests {
    use std::{cell::RefCell, future::Future, rc::Rc, time::Duration};

    use super::*;

    fn run(test: impl std::future::Future<Output = ()>) {
        monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()
            .unwrap()
            .block_on(test);
    }

    async fn settle() {
        monoio::time::sleep(Duration::from_millis(1)).await;
    }

    #[test]
    fn admits_then_queues_then_refuses() {
        run(async {
            let limiter = ConcurrencyLimiter::new(2, 1);
            let first = limiter.acquire().await.unwrap();
            let _second = limiter.acquire().await.unwrap();
            assert_eq!(limiter.in_progress(), 2);
            let order = RefCell::new(Vec::new());
            let queued = async {
                let _permit = limiter.acquire().await.unwrap();
                order.borrow_mut().push("queued");
            };
            let refused = async {
                settle().await;
                assert!(limiter.acquire().await.is_none());
                assert_eq!(limiter.waiting(), 1);
                order.borrow_mut().push("refused");
                drop(first);
            };
            monoio::join!(queued, refused);
            assert_eq!(*order.borrow(), ["refused", "queued"]);
            assert_eq!(limiter.in_progress(), 1);
            assert_eq!(limiter.waiting(), 0);
        });
    }

    #[test]
    fn waiters_are_served_oldest_first() {
        run(async {
            let limiter = Rc::new(ConcurrencyLimiter::new(1, 3));
            let order = Rc::new(RefCell::new(Vec::new()));
            let holder = limiter.acquire().await.unwrap();
            let mut handles = Vec::new();
            for index in 0..3 {
                let (limiter, order) = (limiter.clone(), order.clone());
                handles.push(monoio::spawn(async move {
                    let _permit = limiter.acquire().await.unwrap();
                    order.borrow_mut().push(index);
                    settle().await;
                }));
                settle().await;
            }
            assert_eq!(limiter.waiting(), 3);
            drop(holder);
            for handle in handles {
                handle.await;
            }
            assert_eq!(*order.borrow(), [0, 1, 2]);
            assert_eq!(limiter.in_progress(), 0);
        });
    }

    #[test]
    fn a_dropped_waiter_gives_its_place_back() {
        run(async {
            let limiter = ConcurrencyLimiter::new(1, 1);
            let holder = limiter.acquire().await.unwrap();
            {
                let waiting = std::pin::pin!(limiter.acquire());
                // Poll once so it joins the queue, then drop it.
                let polled = monoio::time::timeout(Duration::from_millis(1), waiting).await;
                assert!(polled.is_err());
            }
            // The abandoned place is reclaimed: a new waiter fits, and gets the permit.
            let (next, ()) = monoio::join!(limiter.acquire(), async { drop(holder) });
            assert!(next.is_some());
            drop(next);
            assert_eq!(limiter.in_progress(), 0);
        });
    }

    #[test]
    fn a_permit_handed_to_a_waiter_that_left_is_given_back() {
        run(async {
            let limiter = ConcurrencyLimiter::new(1, 1);
            let holder = limiter.acquire().await.unwrap();
            let mut waiting = Box::pin(limiter.acquire());
            // Poll once so it joins the queue.
            std::future::poll_fn(|context| {
                assert!(waiting.as_mut().poll(context).is_pending());
                std::task::Poll::Ready(())
            })
            .await;
            assert_eq!(limiter.waiting(), 1);
            // The permit goes to the waiter, which then leaves without ever running.
            drop(holder);
            assert_eq!(limiter.in_progress(), 1);
            drop(waiting);
            assert_eq!(limiter.in_progress(), 0);
            assert!(limiter.acquire().await.is_some());
        });
    }
}
