//! The worker: takes payments from the Redis queue, pays them through a processor, records them.
//!
//! # Flow (per thread)
//! 1. **Recover**: every payment left in this thread's processing hash by a previous run is
//!    resumed as *ambiguous* on the processor and `requestedAt` it was stamped with.
//! 2. **Dispatch**: while in-flight payments are under the bound, ask the `router::Router` for a
//!    plan; if it names a processor, take a batch from the queue with [`Store::take`] (all
//!    payments, or only those that have waited out the hold), which stamps each payment with that
//!    processor and `requestedAt = now` atomically, and start one `settle` task per payment. If
//!    it holds, the payments wait in Redis. A take that came back short is followed by a pause
//!    (`take_pause_ms`), so that each take, a Lua call of fixed cost, carries more payments.
//! 3. **Settle** (per payment): attempt, then record on `200`/`422`, re-route with a fresh stamp
//!    after a definite refusal, or resolve on the same processor after an ambiguous attempt.
//!
//! # Exactly once
//! See `DESIGN.md`: a payment is sent to a second processor only once the first certainly does not
//! have it, and it is recorded only once a processor said it has it, under the `requestedAt` that
//! processor stored.

pub(crate) mod health;
pub(crate) mod processor;
pub(crate) mod recorder;
pub(crate) mod router;

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
    time::{Duration, SystemTime},
};

use crate::{
    backoff::Backoff,
    http::{client::Origin, tls::TlsConfig},
    net::Endpoint,
    payment::unix_ms,
    redis::Client,
    store::{ProcessingKeys, Store, StoreError, TakenPayment, SCRIPTS},
};
use processor::{LookupOutcome, ProcessorClient};
use recorder::Recorder;
use router::{Attempt, Event, PayOutcome, Plan, Router, RouterSettings};

/// Everything a worker thread needs, built from `config::WorkerConfig`.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// The Redis server.
    pub(crate) redis: Endpoint,
    /// Names this worker's processing hashes; must be stable across restarts of the same worker
    /// so that recovery finds what the previous run left.
    pub(crate) worker_id: String,
    /// The processors, default first.
    pub(crate) processors: [Origin; 2],
    /// TLS for `https://` processors: built once at start-up and shared, so every thread uses
    /// the same roots and session cache.
    pub(crate) processor_tls: TlsConfig,
    /// Payments in flight (taken and not settled) per thread at most.
    pub(crate) inflight_max: usize,
    /// Payments taken from the queue in one step at most.
    pub(crate) take_batch_max: usize,
    /// Payments taken from the queue per second at most (a backlog drains at this rate).
    pub(crate) take_rate_max: u32,
    /// How long an attempt may take before it counts as ambiguous (ms).
    pub(crate) timeout_ms: u64,
    /// How long after its last ambiguous attempt a payment that the processor does not have may
    /// be re-routed (ms): longer than any attempt can stay in flight inside a processor.
    pub(crate) settle_ms: i64,
    /// The routing policy's tunables.
    pub(crate) router: RouterSettings,
}

/// Pause after a take that came back short under a plan that holds some payments back (a cutoff
/// or a probe), before asking again (ms). Such a take stops at a payment that may not go yet, not
/// at the end of the queue, and the hold (`HOLD_MAX_MS`, at most 800 ms) is counted to the
/// millisecond from acceptance: this pause is added to every held payment's wait, so it stays
/// short.
const IDLE_POLL_MS: u64 = 10;

/// Longest pause after a take that came back short under a plan that sends every payment (ms):
/// after an empty take, and in proportion to the part of the batch that was missing after a
/// partial one (see [`take_pause_ms`]). Every take is a Lua call whose fixed cost is tens of
/// microseconds of Redis CPU whatever it carries, so at the contest's rates a longer pause means
/// fewer and fuller calls: at 300 payments/s the takes settle near 10 payments and a 36 ms pause,
/// against about 4 and 10 ms with a fixed 10 ms pause; an idle worker asks 25 times a second
/// instead of 100. The pause is only added to a payment's time in the queue, which nothing scores
/// (its `requestedAt` is stamped when it is taken), and to how late the last payments of the
/// test are paid: 40 ms of the second that the load test waits after its last payment, which is
/// why a slow processor does not get it (see [`TAKE_PAUSE_LATENCY_MAX_MS`]).
const TAKE_PAUSE_MS_MAX: u64 = 40;

/// The slowest expected response time (ms) for which a take to that processor pauses up to
/// [`TAKE_PAUSE_MS_MAX`]; a slower one pauses [`SLOW_TAKE_PAUSE_MS`]. The load test reads the
/// processors' books about 1 s after its last payment (1005 ms in our runs: every user sleeps 1 s
/// after each), so a payment accepted at the very end must be taken, paid and answered within
/// that second. With the final profile's 1000 ms delay that leaves about 5 ms: the 40 ms pause
/// left 18 of 18,356 payments unpaid at the end of a 60 s run (`./run-tests.sh --final --duration
/// 60`, lag 18), a 10 ms pause 5 in another, and the build before the long pause, which paused
/// 10 ms, 12 in one of two. At 500 ms or less, 40 ms is far inside the second.
const TAKE_PAUSE_LATENCY_MAX_MS: f64 = 500.0;

/// Pause after a short take to a processor slower than [`TAKE_PAUSE_LATENCY_MAX_MS`] (ms): short,
/// because such a processor leaves the last payments of a test only a few milliseconds. It costs
/// more takes while a processor is slow, a few hundred a second at the contest's rates, each one
/// a few tens of microseconds of Redis CPU.
const SLOW_TAKE_PAUSE_MS: u64 = 2;
const _: () = assert!(SLOW_TAKE_PAUSE_MS < IDLE_POLL_MS);
const _: () = assert!(IDLE_POLL_MS < TAKE_PAUSE_MS_MAX);

/// How long the dispatcher pauses after a take under `plan` that asked for `requested` payments
/// and got `taken` (ms), when the plan's processor is expected to answer in
/// `expected_latency_ms`.
///
/// A full take means more are waiting: no pause. A short one under [`Plan::Send`] drained the
/// queue, and the pause grows with the part of the batch that was missing, so that the next take
/// finds about as many as the rate brings in that time, up to [`TAKE_PAUSE_MS_MAX`], if the
/// processor is fast ([`TAKE_PAUSE_LATENCY_MAX_MS`]), and [`SLOW_TAKE_PAUSE_MS`] to a slower one;
/// a short one under a cutoff or a probe waits [`IDLE_POLL_MS`], and [`Plan::Hold`]
/// [`HOLD_POLL_MS`].
fn take_pause_ms(plan: Plan, taken: usize, requested: usize, expected_latency_ms: f64) -> u64 {
    if let Plan::Hold = plan {
        return HOLD_POLL_MS;
    }
    assert!(requested > 0, "a take asks for at least one payment");
    assert!(taken <= requested, "a take gets at most what it asked for");
    if taken == requested {
        return 0;
    }
    match plan {
        Plan::Send(_) if expected_latency_ms <= TAKE_PAUSE_LATENCY_MAX_MS => {
            let missing = (requested - taken) as u64;
            (TAKE_PAUSE_MS_MAX * missing).div_ceil(requested as u64)
        }
        Plan::Send(_) => SLOW_TAKE_PAUSE_MS,
        Plan::SendAcceptedBy(..) | Plan::Probe(_) | Plan::Hold => IDLE_POLL_MS,
    }
}

/// Payments the token bucket must hold before the next take (or the whole batch, if smaller).
/// While a backlog drains at `WORKER_TAKE_RATE_MAX`, the bucket is emptied by every take: waiting
/// for one token would make the takes 2 or 3 payments each, 500 Lua calls a second at 1500/s, and
/// waiting for 25 makes them 25 each, 60 calls a second, at the same rate. Below the rate the
/// bucket refills faster than the takes empty it, so this never waits.
const TAKE_TOKENS_MIN: usize = 25;

/// How long the dispatcher waits for the bucket to go from `tokens` to `tokens_min` at `rate`
/// tokens a second (ms, rounded up, at least 1).
fn refill_wait_ms(tokens: f64, tokens_min: f64, rate: u32) -> u64 {
    assert!(rate > 0, "the take rate is positive");
    assert!(tokens < tokens_min, "only a short bucket waits");
    let missing = tokens_min - tokens;
    // Finite and positive: the cast saturates anyway.
    ((missing * 1000.0 / f64::from(rate)).ceil() as u64).max(1)
}

/// Pause when the in-flight bound is reached, before looking for room again (ms).
const FULL_POLL_MS: u64 = 2;

/// Pause while the router holds payments (both processors unusable) (ms).
const HOLD_POLL_MS: u64 = 10;

/// Longest pause between retries of one payment, or of a failing take (ms).
const RETRY_BACKOFF_MS_MAX: u64 = 1000;

/// The pauses between retries of one payment's store call or processor attempt: 20 ms, doubling
/// up to [`RETRY_BACKOFF_MS_MAX`].
const RETRY_BACKOFF: Backoff = Backoff::new(20, 2, RETRY_BACKOFF_MS_MAX);

/// How long a retry loop waits for Redis to come back after a connection error.
const RETRY_BOUND: Duration = Duration::from_millis(RETRY_BACKOFF_MS_MAX);

/// The state shared by the tasks of one worker thread.
struct Context {
    store: Store,
    processing: ProcessingKeys,
    processors: Rc<[ProcessorClient; 2]>,
    router: Rc<RefCell<Router>>,
    timeout: Duration,
    settle_ms: i64,
    inflight: Cell<usize>,
    recorder: Rc<Recorder>,
    counters: Counters,
}

/// What this thread did, logged every [`STATS_INTERVAL_S`] seconds so a run can be followed.
#[derive(Default)]
struct Counters {
    taken: Cell<u64>,
    paid: [Cell<u64>; 2],
    requeued: Cell<u64>,
    ambiguous: Cell<u64>,
}

/// Interval between the worker's progress lines.
const STATS_INTERVAL_S: u64 = 5;

fn bump(counter: &Cell<u64>, by: u64) {
    counter.set(counter.get() + by);
}

async fn log_stats(context: Rc<Context>) {
    loop {
        monoio::time::sleep(Duration::from_secs(STATS_INTERVAL_S)).await;
        let counters = &context.counters;
        log::info!(
            "taken {} paid default {} fallback {} requeued {} ambiguous {} in flight {} recording {}",
            counters.taken.get(),
            counters.paid[0].get(),
            counters.paid[1].get(),
            counters.requeued.get(),
            counters.ambiguous.get(),
            context.inflight.get(),
            context.recorder.unsettled(),
        );
    }
}

fn now_ms() -> i64 {
    unix_ms(SystemTime::now())
}

/// Runs worker thread `thread_index` forever.
pub async fn run(settings: WorkerSettings, thread_index: usize) {
    let client = Client::start(settings.redis.clone(), SCRIPTS);
    while client.wait_connected(Duration::from_secs(5)).await.is_err() {
        log::warn!("waiting for redis at {}", settings.redis);
    }
    let tls = &settings.processor_tls;
    let processors = settings.processors.clone().map(|url| ProcessorClient::new(url, tls.clone()));
    let processors = Rc::new(processors);
    let router = Rc::new(RefCell::new(Router::new(settings.router)));
    let context = Rc::new(Context {
        store: Store::new(client),
        processing: ProcessingKeys::new(&settings.worker_id, thread_index),
        processors: processors.clone(),
        router: router.clone(),
        timeout: Duration::from_millis(settings.timeout_ms),
        settle_ms: settings.settle_ms,
        inflight: Cell::new(0),
        recorder: Rc::new(Recorder::default()),
        counters: Counters::default(),
    });
    monoio::spawn(log_stats(context.clone()));
    monoio::spawn(recorder::run(
        context.recorder.clone(),
        context.store.clone(),
        context.processing.clone(),
    ));
    let owner = format!("{}:{thread_index}:{}", settings.worker_id, std::process::id());
    monoio::spawn(health::run(context.store.clone(), processors, router, owner));
    recover(&context).await;
    dispatch(&context, settings.inflight_max, settings.take_batch_max, settings.take_rate_max)
        .await;
}

/// Resumes every payment a previous run left in this thread's processing hash.
async fn recover(context: &Rc<Context>) {
    let recovered = loop {
        match context.store.recover(&context.processing).await {
            Ok(recovered) => break recovered,
            Err(error) => {
                log::warn!("recovery read failed: {error}; retrying");
                monoio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    if !recovered.is_empty() {
        log::info!("recovering {} unsettled payments", recovered.len());
    }
    for taken in recovered {
        // The previous run may have sent it: ambiguous until that processor tells.
        start_settle(context, taken, Some(now_ms()));
    }
}

fn start_settle(context: &Rc<Context>, taken: TakenPayment, pinned_since_ms: Option<i64>) {
    context.inflight.set(context.inflight.get() + 1);
    // Registered now, not when the task first runs: the router must see a probe in flight before
    // the dispatcher asks it for the next plan, or it would send a second probe.
    let attempt = context.router.borrow_mut().attempt_started(taken.processor, now_ms());
    let context = context.clone();
    monoio::spawn(async move {
        settle(&context, taken, pinned_since_ms, attempt).await;
        context.inflight.set(context.inflight.get() - 1);
    });
}

/// Takes payments from the queue whenever the router names a processor and there is room.
///
/// A token bucket bounds the take rate: a backlog left by an outage drains at `take_rate_max`
/// instead of all at once, because every payment costs Redis CPU and Redis also serves the API's
/// hot path under a small CPU quota; a burst there shows up directly in the API's p99.
async fn dispatch(
    context: &Rc<Context>,
    inflight_max: usize,
    take_batch_max: usize,
    take_rate_max: u32,
) {
    let mut batch = Vec::with_capacity(take_batch_max);
    let mut error_backoff = Backoff::new(1, 2, RETRY_BACKOFF_MS_MAX);
    // Tokens are payments; the bucket holds at most one batch, refilled at take_rate_max per second.
    let mut tokens = take_batch_max as f64;
    let tokens_min = take_batch_max.min(TAKE_TOKENS_MIN) as f64;
    let mut refilled_at = std::time::Instant::now();
    loop {
        let elapsed_s = refilled_at.elapsed().as_secs_f64();
        refilled_at = std::time::Instant::now();
        tokens = (tokens + elapsed_s * f64::from(take_rate_max)).min(take_batch_max as f64);
        if tokens < tokens_min {
            let wait_ms = refill_wait_ms(tokens, tokens_min, take_rate_max);
            monoio::time::sleep(Duration::from_millis(wait_ms)).await;
            continue;
        }
        let unsettled = context.inflight.get() + context.recorder.unsettled();
        let room = inflight_max.saturating_sub(unsettled);
        if room == 0 {
            monoio::time::sleep(Duration::from_millis(FULL_POLL_MS)).await;
            continue;
        }
        let now = now_ms();
        let plan = context.router.borrow_mut().plan(now);
        let (processor, accepted_by_ms, count_max) = match plan {
            Plan::Send(processor) => (processor, None, take_batch_max),
            Plan::SendAcceptedBy(processor, cutoff_ms) => {
                (processor, Some(cutoff_ms), take_batch_max)
            }
            Plan::Probe(processor) => (processor, None, 1),
            Plan::Hold => {
                monoio::time::sleep(Duration::from_millis(HOLD_POLL_MS)).await;
                continue;
            }
        };
        let count = room.min(count_max).min(tokens as usize);
        let taken = context
            .store
            .take(&context.processing, count, processor, now, accepted_by_ms, &mut batch)
            .await;
        match taken {
            Ok(()) => error_backoff.reset(),
            Err(StoreError::Redis(error)) => {
                // Nothing was taken (a lost reply is settled inside `take`): take again as soon
                // as Redis is back.
                log::warn!("take failed: {error}; waiting for redis");
                let _ = context.store.client().wait_connected(RETRY_BOUND).await;
                continue;
            }
            Err(error) => {
                log::warn!("take failed: {error}");
                monoio::time::sleep(error_backoff.next_delay()).await;
                continue;
            }
        }
        if now_ms() - now > STAMP_STALE_MS && !batch.is_empty() {
            restamp(context, &mut batch).await;
        }
        let taken_count = batch.len();
        tokens -= taken_count as f64;
        bump(&context.counters.taken, taken_count as u64);
        for taken in batch.drain(..) {
            start_settle(context, taken, None);
        }
        let expected_ms = context.router.borrow().expected_latency_ms(processor, now_ms());
        let pause_ms = take_pause_ms(plan, taken_count, count, expected_ms);
        if pause_ms > 0 {
            monoio::time::sleep(Duration::from_millis(pause_ms)).await;
        }
    }
}

/// How old a TAKE's `requestedAt` may be when its reply arrives before the payments it took are
/// stamped again (ms). TAKE stamps the time the worker *sent* it; a Redis that was stopped or
/// restarting runs it, and answers, seconds later. Sent with that stamp, a payment would enter
/// the processor's books with a `requestedAt` already inside the audited window, ahead of our
/// ledger (§4 of DESIGN.md).
const STAMP_STALE_MS: i64 = 250;

/// Gives every payment of `batch` a fresh `requestedAt`, in the processing hash first: no
/// attempt has been sent yet, and the stamp must be in Redis before one is (recovery retries
/// with the stamp it finds there).
async fn restamp(context: &Context, batch: &mut [TakenPayment]) {
    let fresh_ms = now_ms();
    log::info!(
        "a take answered {} ms late; stamping its {} payments again",
        fresh_ms - batch[0].requested_at_ms,
        batch.len()
    );
    for taken in batch.iter_mut() {
        taken.requested_at_ms = fresh_ms;
        let taken = &*taken;
        let stamp = move || context.store.restamp(&context.processing, taken);
        retry_until_stored(&context.store, RETRY_BACKOFF, RETRY_BOUND, &"stamp", stamp).await;
    }
}

/// Drives one payment until a processor has it (then it is recorded) or until no processor can
/// have it (then it goes back to the queue, to be routed again by the dispatcher).
///
/// `pinned_since_ms` is set while an earlier attempt on `taken.processor` is ambiguous: the
/// payment then stays on that processor, with the same `requestedAt`, until the processor says it
/// has it, or says it does not have it `settle_ms` after the last ambiguous attempt.
async fn settle(
    context: &Context,
    taken: TakenPayment,
    mut pinned_since_ms: Option<i64>,
    first_attempt: Attempt,
) {
    let processor = taken.processor;
    let mut backoff = RETRY_BACKOFF;
    let mut registered = Some(first_attempt);
    loop {
        let attempt = match registered.take() {
            Some(first) => first,
            None => context.router.borrow_mut().attempt_started(processor, now_ms()),
        };
        let outcome = pay_watched(context, &taken).await;
        let answered = Event::Answered { attempt, outcome };
        context.router.borrow_mut().apply(processor, answered, now_ms());
        if outcome.is_recorded() {
            return record(context, &taken);
        }
        if outcome == PayOutcome::Ambiguous {
            bump(&context.counters.ambiguous, 1);
            pinned_since_ms = Some(now_ms());
        }
        let Some(since_ms) = pinned_since_ms else {
            // Certainly not recorded anywhere: the dispatcher routes it again, with a fresh stamp.
            debug_assert!(outcome.is_definitely_not_recorded());
            return requeue(context, &taken).await;
        };
        monoio::time::sleep(backoff.next_delay()).await;
        match context.processors[processor.index()].lookup(&taken.payment, context.timeout).await {
            LookupOutcome::Found => return record(context, &taken),
            LookupOutcome::NotFound if now_ms() - since_ms >= context.settle_ms => {
                log::info!(
                    "{:?}: not at {} {} ms after its last ambiguous attempt; routing it again",
                    taken.payment.correlation_id,
                    processor.name(),
                    context.settle_ms
                );
                return requeue(context, &taken).await;
            }
            // Not there yet, or no answer: try the same processor again, same requestedAt.
            LookupOutcome::NotFound | LookupOutcome::Unknown => {}
        }
    }
}

/// How long an attempt may go unanswered before the worker starts asking the processor whether
/// it has the payment anyway (ms), at the least, and how often it asks after that. A processor
/// that recorded a payment and never answered (a hung or reset connection, a client timeout)
/// would otherwise have it in its books for up to `PROCESSOR_TIMEOUT_MS` before our ledger: the
/// audit allows 1.5 s. Each ask is one `GET /payments/{id}`, which the processor never delays.
/// An attempt is only asked about once it is overdue (see [`first_lookup_after_ms`]), so a
/// processor that is merely slow, and answers in its usual time, is never asked.
const EARLY_LOOKUP_MS: u64 = 500;
const EARLY_LOOKUP_INTERVAL_MS: u64 = 250;

/// The timeout of one early lookup: short, so a processor that answers nothing at all does not
/// hold the watcher (the attempt itself keeps its own timeout).
const EARLY_LOOKUP_TIMEOUT: Duration = Duration::from_millis(1000);

/// Sends one attempt and, while it is out past [`EARLY_LOOKUP_MS`], asks the processor whether it
/// has the payment. A `200` to the lookup settles the attempt as [`PayOutcome::AlreadyRecorded`]
/// (the processor has it, under the `requestedAt` we sent) and drops the unanswered attempt,
/// closing its connection.
async fn pay_watched(context: &Context, taken: &TakenPayment) -> PayOutcome {
    let processor = &context.processors[taken.processor.index()];
    let suspicion_age_ms = context.router.borrow().suspicion_age_ms(taken.processor, now_ms());
    let first_lookup = Duration::from_millis(first_lookup_after_ms(suspicion_age_ms));
    let pay = processor.pay(&taken.payment, taken.requested_at_ms, context.timeout);
    let watch = async {
        monoio::time::sleep(first_lookup).await;
        // Bounded by the attempt's own timeout: when `pay` ends, this future is dropped.
        loop {
            if processor.lookup(&taken.payment, EARLY_LOOKUP_TIMEOUT).await == LookupOutcome::Found
            {
                return;
            }
            monoio::time::sleep(Duration::from_millis(EARLY_LOOKUP_INTERVAL_MS)).await;
        }
    };
    monoio::select! {
        outcome = pay => outcome,
        () = watch => {
            log::debug!(
                "{:?}: found at {} before its answer",
                taken.payment.correlation_id,
                taken.processor.name()
            );
            PayOutcome::AlreadyRecorded
        }
    }
}

/// When the first early lookup of an attempt goes out (ms after it was sent): once the attempt is
/// overdue by the router's measure (its suspicion age: 1.25 × the expected time + 100 ms, at most
/// the 1250 ms latency bound), and never before [`EARLY_LOOKUP_MS`]. A processor answering in
/// 1000 ms is then not asked at 500 and 750 ms for payments it has not recorded yet (it records
/// when its delay is over); one that recorded and went silent is still found within the bound,
/// inside the audit's 1.5 s.
fn first_lookup_after_ms(suspicion_age_ms: f64) -> u64 {
    // The age is finite and capped at the latency bound; the cast saturates anyway.
    (suspicion_age_ms.ceil() as u64).max(EARLY_LOOKUP_MS)
}

/// Puts a payment no processor has back in the queue, retrying until Redis takes it.
async fn requeue(context: &Context, taken: &TakenPayment) {
    bump(&context.counters.requeued, 1);
    let requeue = move || context.store.requeue(&context.processing, taken);
    retry_until_stored(&context.store, RETRY_BACKOFF, RETRY_BOUND, &"requeue", requeue).await;
}

/// Calls `call` until the store takes it (every caller's call is idempotent), and returns its
/// result.
///
/// After a lost connection it calls again as soon as Redis is back (waiting at most `bound`);
/// after any other error, or if Redis is not back by then, it first sleeps the next pause of
/// `backoff`. The pause grows with every failure, slept or not.
pub(crate) async fn retry_until_stored<T, F>(
    store: &Store,
    mut backoff: Backoff,
    bound: Duration,
    operation: &dyn std::fmt::Display,
    mut call: impl FnMut() -> F,
) -> T
where
    F: std::future::Future<Output = Result<T, StoreError>>,
{
    loop {
        let error = match call().await {
            Ok(value) => return value,
            Err(error) => error,
        };
        log::warn!("{operation} failed: {error}; retrying");
        let delay = backoff.next_delay();
        if !store.reconnected_after(&error, bound).await {
            monoio::time::sleep(delay).await;
        }
    }
}

/// Hands a payment a processor has to the recorder (see [`recorder`]).
fn record(context: &Context, taken: &TakenPayment) {
    bump(&context.counters.paid[taken.processor.index()], 1);
    context.recorder.push(*taken, now_ms());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::Processor;
    use router::{Health, HealthReport};

    #[test]
    fn the_pause_after_a_take_follows_the_plan_and_how_full_the_take_came_back() {
        let send = Plan::Send(Processor::Default);
        let cutoff = Plan::SendAcceptedBy(Processor::Fallback, 1_000);
        let probe = Plan::Probe(Processor::Default);
        // (plan, taken, requested, pause ms), to a processor answering in 100 ms
        let cases: [(Plan, usize, usize, u64); 13] = [
            (send, 100, 100, 0),               // full: more are waiting
            (send, 0, 100, TAKE_PAUSE_MS_MAX), // the queue was empty
            (send, 50, 100, TAKE_PAUSE_MS_MAX / 2),
            (send, 10, 100, 36), // 300/s settles here
            (send, 99, 100, 1),  // rounded up: never 0 when short
            (send, 3, 3, 0),     // a take cut by the rate or the room, full
            (send, 0, 3, TAKE_PAUSE_MS_MAX),
            (cutoff, 100, 100, 0),
            (cutoff, 5, 100, IDLE_POLL_MS), // held payments wait at most 10 ms more
            (cutoff, 0, 100, IDLE_POLL_MS),
            (probe, 1, 1, 0),
            (probe, 0, 1, IDLE_POLL_MS),
            (Plan::Hold, 0, 0, HOLD_POLL_MS),
        ];
        for (plan, taken, requested, pause_ms) in cases {
            assert_eq!(
                take_pause_ms(plan, taken, requested, 100.0),
                pause_ms,
                "{plan:?} {taken}/{requested}"
            );
        }
    }

    #[test]
    fn a_slow_processor_keeps_the_short_pause_so_the_last_payments_are_paid_in_time() {
        let send = Plan::Send(Processor::Default);
        // (expected response time ms, taken, requested, pause ms)
        let cases: [(f64, usize, usize, u64); 7] = [
            (0.0, 0, 100, TAKE_PAUSE_MS_MAX),
            (TAKE_PAUSE_LATENCY_MAX_MS, 0, 100, TAKE_PAUSE_MS_MAX), // at the bound: fast
            (TAKE_PAUSE_LATENCY_MAX_MS + 1.0, 0, 100, SLOW_TAKE_PAUSE_MS),
            (1000.0, 0, 100, SLOW_TAKE_PAUSE_MS), // the final's 30-60 s phase
            (1000.0, 99, 100, SLOW_TAKE_PAUSE_MS),
            (1000.0, 100, 100, 0), // full: still no pause
            (f64::INFINITY, 0, 100, SLOW_TAKE_PAUSE_MS),
        ];
        for (expected_ms, taken, requested, pause_ms) in cases {
            assert_eq!(
                take_pause_ms(send, taken, requested, expected_ms),
                pause_ms,
                "{expected_ms} ms, {taken}/{requested}"
            );
        }
    }

    #[test]
    fn a_fuller_take_never_pauses_longer() {
        let send = Plan::Send(Processor::Default);
        for requested in 1..=100 {
            let pauses: Vec<u64> =
                (0..=requested).map(|taken| take_pause_ms(send, taken, requested, 0.0)).collect();
            assert!(pauses.windows(2).all(|pair| pair[0] >= pair[1]), "{requested}: {pauses:?}");
            assert_eq!(pauses[0], TAKE_PAUSE_MS_MAX, "{requested}: empty");
            assert_eq!(pauses[requested], 0, "{requested}: full");
            assert!(pauses[..requested].iter().all(|pause| *pause > 0), "{requested}: short");
        }
    }

    #[test]
    fn a_short_bucket_waits_for_a_batch_worth_taking() {
        // (tokens, tokens wanted, rate per second, wait ms)
        let cases: [(f64, f64, u32, u64); 6] = [
            (0.0, 25.0, 1500, 17), // a drain at the default rate: 25 every 16.7 ms
            (24.5, 25.0, 1500, 1), // never less than 1 ms
            (10.0, 25.0, 1500, 10),
            (0.0, 25.0, 100, 250),
            (0.0, 1.0, 1500, 1), // a batch of one
            (0.5, 25.0, 1000, 25),
        ];
        for (tokens, tokens_min, rate, wait_ms) in cases {
            assert_eq!(
                refill_wait_ms(tokens, tokens_min, rate),
                wait_ms,
                "{tokens} of {tokens_min}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "at most what it asked for")]
    fn a_take_that_got_more_than_it_asked_for_is_a_bug() {
        take_pause_ms(Plan::Send(Processor::Default), 2, 1, 0.0);
    }

    #[test]
    fn early_lookups_wait_until_the_attempt_is_overdue() {
        let settings = RouterSettings::for_fees(700, 1000);
        let latency_max = settings.latency_max_ms as f64;
        // (what the router expects of the processor, first lookup after ms)
        let cases: [(Option<u64>, u64); 5] = [
            (None, EARLY_LOOKUP_MS),               // nothing known: presumed fast
            (Some(5), EARLY_LOOKUP_MS), // a fast processor: a hung attempt is asked at 500
            (Some(320), EARLY_LOOKUP_MS), // 1.25 × 320 + 100 = 500
            (Some(500), 725),           // the final's 500 ms phase
            (Some(1000), settings.latency_max_ms), // 1000 ms: asked at the bound, not at 500/750
        ];
        for (expected_ms, first_ms) in cases {
            let mut router = Router::new(settings);
            if let Some(ms) = expected_ms {
                let report = HealthReport {
                    health: Health { failing: false, min_response_time: ms },
                    polled_at_ms: 1_000,
                };
                router.apply(Processor::Default, Event::Reported(report), 1_000);
            }
            let age = router.suspicion_age_ms(Processor::Default, 1_001);
            assert!(age <= latency_max, "{expected_ms:?}: capped at the bound");
            assert_eq!(first_lookup_after_ms(age), first_ms, "{expected_ms:?}");
        }
    }
}
