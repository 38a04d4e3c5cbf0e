//! Health polling, coordinated across every worker thread and process through Redis.
//!
//! The processors allow one `GET /payments/service-health` per 5 s for all callers together, and
//! queue up to two early calls into later windows. So the cluster elects one poller per processor
//! with `SET rinha:health-lock:<d|f> <owner> NX PX <timeout + 1 s>`: whoever gets the lock polls
//! and publishes the answer in `rinha:health:<d|f>`. Every thread reads the published answers
//! every [`HEALTH_READ_INTERVAL_MS`] and feeds them to its router.
//!
//! # Staying in step with the processor's windows
//! An early call is not refused, it is *queued* and answered when its window opens, up to 10 s
//! later. So the poll waits long enough for a queued answer ([`HEALTH_TIMEOUT`]), and after any
//! answer (or failure) the lock is re-set to expire [`HEALTH_POLL_INTERVAL_MS`] after it: the next
//! call then leaves one full window after the last answer, which is when the processor's next
//! window opens. Calling on a fixed 5 s beat instead drifts into the queue and stays there: each
//! early call pushes the next window further out. A poller that dies loses its lock within
//! `HEALTH_TIMEOUT + 1 s`.

use std::{cell::RefCell, rc::Rc, time::Duration};

use crate::{
    payment::{unix_ms, Processor},
    store::Store,
    worker::{
        processor::ProcessorClient,
        router::{Event, HealthReport, Router},
    },
};

/// How often each thread reads the published health (ms). Cheap: one `GET` per processor.
pub(crate) const HEALTH_READ_INTERVAL_MS: u64 = 250;

/// The processors' limit: one health call per this many milliseconds, cluster-wide.
pub(crate) const HEALTH_POLL_INTERVAL_MS: i64 = 5000;

/// How long to wait for a health answer: a call queued behind two others is answered within two
/// windows (10 s).
pub(crate) const HEALTH_TIMEOUT: Duration = Duration::from_millis(11_000);

/// How long the poller's lock lasts while its call is out: a little longer than the call may take.
const HEALTH_LOCK_POLLING_MS: u64 = 12_000;

/// Runs forever on this thread: reads published health into `router`, and polls a processor
/// whenever the published report is older than the poll interval and this thread wins the lock.
pub(crate) async fn run(
    store: Store,
    processors: Rc<[ProcessorClient; 2]>,
    router: Rc<RefCell<Router>>,
    owner: String,
) {
    loop {
        for processor in Processor::ALL {
            // A failed read is retried on the next tick.
            let published = store.health(processor).await.ok().flatten();
            let now_ms = unix_ms(std::time::SystemTime::now());
            if let Some(report) = published {
                router.borrow_mut().apply(processor, Event::Reported(report), now_ms);
            }
            let stale = published
                .is_none_or(|report| now_ms - report.polled_at_ms >= HEALTH_POLL_INTERVAL_MS);
            if stale
                && store.lock_health(processor, &owner, HEALTH_LOCK_POLLING_MS).await == Ok(true)
            {
                let processors = processors.clone();
                let router = router.clone();
                let store = store.clone();
                monoio::spawn(async move {
                    poll(&store, &processors[processor.index()], processor, &router).await;
                });
            }
        }
        monoio::time::sleep(Duration::from_millis(HEALTH_READ_INTERVAL_MS)).await;
    }
}

async fn poll(
    store: &Store,
    processor_client: &ProcessorClient,
    processor: Processor,
    router: &RefCell<Router>,
) {
    let answer = processor_client.health(HEALTH_TIMEOUT).await;
    // Keeps the lock for one more window from now, so the next poll waits for the processor's
    // next window whatever happened to this one.
    let _ = store.expire_health_lock(processor, HEALTH_POLL_INTERVAL_MS as u64).await;
    let Some(health) = answer else {
        log::warn!("{} health poll got no answer", processor.name());
        return;
    };
    let report = HealthReport { health, polled_at_ms: unix_ms(std::time::SystemTime::now()) };
    log::info!(
        "{} health: failing={} minResponseTime={}",
        processor.name(),
        health.failing,
        health.min_response_time
    );
    router.borrow_mut().apply(processor, Event::Reported(report), report.polled_at_ms);
    let _ = store.publish_health(processor, &report).await;
}
