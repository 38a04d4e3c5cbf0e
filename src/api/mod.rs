//! The public API: `POST /payments`, `GET /payments-summary`, `POST /purge-payments`.
//!
//! # Hot path
//! `POST /payments` parses the body (simd-json with per-thread reusable buffers), pushes
//! `<correlationId>:<cents>` onto the Redis queue through this thread's pipelined connection, and
//! answers `202` only after Redis acknowledged the push, so an accepted payment never lives only in
//! this process's memory. The API never calls a processor: the worker does.
//!
//! # Errors
//! Bad input gets a `400` with a short reason and keeps the connection; unknown routes `404`, known
//! routes with the wrong method `405`; a body over the parser's bound `413`. If Redis does not
//! take the payment within `ENQUEUE_DEADLINE_MS` the answer is `503` and the payment is never
//! paid.
//!
//! # A lost reply
//! A push whose reply was lost (the connection broke, Redis restarted) may have run. It is sent
//! again once the connection is back: TAKE drops a second copy of an id, so a payment queued
//! twice is paid once. Each push carries a cutoff (`ENQUEUE_CUTOFF_MS` after acceptance) past
//! which Redis drops it, so a push stuck in a stalled Redis cannot land after its client got its
//! answer. If no attempt is confirmed before the deadline, the API answers `503` and also
//! withdraws the payment (`Store::cancel`), for a copy that did land before its reply was lost:
//! the client was told it failed.

pub(crate) mod route;
pub mod summary;

use std::{
    cell::RefCell,
    rc::Rc,
    time::{Duration, Instant, SystemTime},
};

use crate::{
    backoff::Backoff,
    http::{
        request::Request,
        response::{self, write_json_with, write_text, Status},
        server::{serve, Handler, Next},
    },
    net::Endpoint,
    payment::{unix_ms, write_summary, CorrelationId, JsonParser, PaymentRequest},
    redis::{Client, RedisError},
    store::{Store, StoreError, SCRIPTS},
};
use route::{route, Route};

/// Listen backlog: the burst of connections k6 and nginx open at start-up must not be refused.
pub(crate) const LISTEN_BACKLOG: i32 = 4096;

/// How long `POST /payments` waits for Redis to confirm the payment, retries included, before it
/// answers `503` (ms). Under the load test's 1500 ms client timeout, with room for nginx and the
/// answer's trip: an answer after the client gave up would be a payment the client counts as
/// failed.
pub(crate) const ENQUEUE_DEADLINE_MS: u64 = 1000;

/// The latest Redis may run a payment's push, counted from its acceptance (ms). Earlier than
/// [`ENQUEUE_DEADLINE_MS`] by the time a reply may take to come back: a push Redis runs after it
/// is dropped by Redis itself (`Store::enqueue_by`), so one that waited in a stalled Redis past
/// the client's answer never lands.
pub(crate) const ENQUEUE_CUTOFF_MS: i64 = 800;

const _: () = assert!(ENQUEUE_CUTOFF_MS > 0 && (ENQUEUE_CUTOFF_MS as u64) < ENQUEUE_DEADLINE_MS);

/// How long a summary waits for Redis before answering `503` (ms): an answer after the client's
/// timeout helps nobody, and a stalled Redis must not pile up requests.
pub(crate) const SUMMARY_DEADLINE_MS: u64 = 1000;

/// How long the withdrawal of an unconfirmed payment keeps trying to reach Redis (ms). Past
/// this, the payment may be paid although its client was told `503`; that is logged.
const CANCEL_TRY_MS: u64 = 60_000;

/// What became of an enqueue.
enum Enqueued {
    /// Redis confirmed the push.
    Confirmed,
    /// Nothing was sent, or Redis refused: the payment is not queued.
    NotQueued,
    /// No attempt was confirmed, and one may have run.
    Unconfirmed,
}

/// The API's per-thread state.
pub(crate) struct Api {
    store: Store,
    /// simd-json's working memory and tape, reused across requests so parsing does not allocate.
    json: RefCell<JsonParser>,
    /// A copy of the body: simd-json parses in place and the request borrows the read buffer.
    body_scratch: RefCell<Vec<u8>>,
}

impl Api {
    /// Builds the API state over this thread's store.
    pub(crate) fn new(store: Store) -> Self {
        Self {
            store,
            json: RefCell::new(JsonParser::new(crate::http::request::BODY_BYTES_MAX)),
            body_scratch: RefCell::new(Vec::with_capacity(crate::http::request::BODY_BYTES_MAX)),
        }
    }

    async fn create_payment(&self, body: &[u8], out: &mut Vec<u8>) {
        let parsed = {
            let mut scratch = self.body_scratch.borrow_mut();
            scratch.clear();
            scratch.extend_from_slice(body);
            self.json.borrow_mut().parse_payment_request(&mut scratch)
        };
        let payment = match parsed {
            Ok(payment) => payment,
            Err(error) => return write_text(out, Status::BadRequest, error.reason().as_bytes()),
        };
        match self.enqueue(&payment).await {
            Enqueued::Confirmed => out.extend_from_slice(response::ACCEPTED),
            Enqueued::NotQueued => out.extend_from_slice(response::UNAVAILABLE),
            Enqueued::Unconfirmed => {
                out.extend_from_slice(response::UNAVAILABLE);
                withdraw(self.store.clone(), payment.correlation_id);
            }
        }
    }

    /// Pushes the payment, again after a lost reply, until Redis confirms it or the deadline
    /// passes (see the module docs).
    async fn enqueue(&self, payment: &PaymentRequest) -> Enqueued {
        let accepted_at_ms = unix_ms(SystemTime::now());
        let deadline = Instant::now() + Duration::from_millis(ENQUEUE_DEADLINE_MS);
        let mut maybe_queued = false;
        // Bounded by the deadline: every pass waits for a reply or for the connection.
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            let cutoff_ms = accepted_at_ms + ENQUEUE_CUTOFF_MS;
            let attempt = self.store.enqueue_by(payment, accepted_at_ms, cutoff_ms);
            match monoio::time::timeout(remaining, attempt).await {
                Ok(Ok(true)) => return Enqueued::Confirmed,
                // Too late for Redis: this push did not land (an earlier one may have).
                Ok(Ok(false)) => break,
                Ok(Err(StoreError::Redis(RedisError::Unavailable))) => {}
                Ok(Err(StoreError::Redis(RedisError::ConnectionLost))) => maybe_queued = true,
                Ok(Err(error)) => {
                    // An error reply: the push did not run (but an earlier attempt may have).
                    log_store_error("enqueue", &error);
                    break;
                }
                Err(_) => {
                    // Redis holds the command and has not answered (stopped, overloaded).
                    maybe_queued = true;
                    break;
                }
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if self.store.client().wait_connected(remaining).await.is_err() {
                break;
            }
        }
        log::debug!("enqueue not confirmed within {ENQUEUE_DEADLINE_MS} ms");
        if maybe_queued {
            Enqueued::Unconfirmed
        } else {
            Enqueued::NotQueued
        }
    }

    async fn summary(&self, query: &[u8], out: &mut Vec<u8>) {
        let window = match summary::parse_window(query) {
            Ok(window) => window,
            Err(error) => return write_text(out, Status::BadRequest, error.reason().as_bytes()),
        };
        let deadline = Duration::from_millis(SUMMARY_DEADLINE_MS);
        let answer =
            monoio::time::timeout(deadline, self.store.summary(window.from_ms, window.to_ms))
                .await
                .unwrap_or(Err(StoreError::Redis(RedisError::Unavailable)));
        match answer {
            Ok((default, fallback)) => {
                write_json_with(out, Status::Ok, |body| write_summary(body, default, fallback))
            }
            Err(error) => {
                log_store_error("summary", &error);
                out.extend_from_slice(response::UNAVAILABLE);
            }
        }
    }

    async fn purge(&self, out: &mut Vec<u8>) {
        match self.store.purge().await {
            Ok(()) => {
                log::info!("purged the queue and the ledger");
                response::write_json(out, Status::Ok, b"{\"message\":\"payments purged\"}");
            }
            Err(error) => {
                log_store_error("purge", &error);
                out.extend_from_slice(response::UNAVAILABLE);
            }
        }
    }
}

/// Withdraws an unconfirmed payment in the background (the client already has its `503`),
/// retrying until Redis answers or [`CANCEL_TRY_MS`] passes. On the same connection as the
/// unconfirmed push, the withdrawal runs after it: Redis executes one connection's commands in
/// order.
#[cold]
fn withdraw(store: Store, correlation_id: CorrelationId) {
    monoio::spawn(async move {
        let started = Instant::now();
        let bound = Duration::from_millis(CANCEL_TRY_MS);
        // A fixed pause: the wait for the connection above already spaces the tries.
        let mut backoff = Backoff::new(10, 1, 10);
        while started.elapsed() < bound {
            match store.cancel(&correlation_id).await {
                Ok(true) => {
                    log::info!(
                        "{correlation_id:?}: answered 503 and withdrawn; it will not be paid"
                    );
                    return;
                }
                Ok(false) => {
                    log::warn!(
                        "{correlation_id:?}: answered 503, but a worker took it before it could be \
withdrawn; it will be paid"
                    );
                    return;
                }
                Err(_) => {
                    let _ = store.client().wait_connected(Duration::from_secs(1)).await;
                    monoio::time::sleep(backoff.next_delay()).await;
                }
            }
        }
        log::warn!(
            "{correlation_id:?}: answered 503 and redis stayed unreachable for {CANCEL_TRY_MS} ms; \
it may be paid"
        );
    });
}

#[cold]
fn log_store_error(operation: &str, error: &StoreError) {
    match error {
        StoreError::Redis(RedisError::Unavailable) => {
            log::debug!("{operation}: {error}")
        }
        _ => log::warn!("{operation}: {error}"),
    }
}

impl Handler for Api {
    async fn handle(&self, request: &Request<'_>, body: &[u8], out: &mut Vec<u8>) -> Next {
        match route(request.method, request.path) {
            Route::CreatePayment => self.create_payment(body, out).await,
            Route::Summary => self.summary(request.query, out).await,
            Route::Purge => self.purge(out).await,
            Route::MethodNotAllowed => out.extend_from_slice(response::METHOD_NOT_ALLOWED),
            Route::NotFound => out.extend_from_slice(response::NOT_FOUND),
        }
        Next::KeepOpen
    }
}

/// Serves the API on this thread: connects to Redis, binds `listen`, and serves forever.
///
/// # Errors
/// Only a failure to bind; Redis outages are ridden out (requests get `503` meanwhile).
pub async fn run(listen: Endpoint, redis: Endpoint) -> std::io::Result<()> {
    let client = Client::start(redis, SCRIPTS);
    let listener = listen.bind(LISTEN_BACKLOG)?;
    log::info!("api listening on {listen}");
    serve(listener, Rc::new(Api::new(Store::new(client)))).await;
    Ok(())
}
