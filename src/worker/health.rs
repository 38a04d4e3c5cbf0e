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
    redis::{Client, Reply},
    worker::{
        processor::ProcessorClient,
        router::{Event, Health, HealthReport, Router},
    },
};

/// How often each thread reads the published health (ms). Cheap: one `GET` per processor.
pub const HEALTH_READ_INTERVAL_MS: u64 = 250;

/// The processors' limit: one health call per this many milliseconds, cluster-wide.
pub const HEALTH_POLL_INTERVAL_MS: i64 = 5000;

/// How long to wait for a health answer: a call queued behind two others is answered within two
/// windows (10 s).
pub const HEALTH_TIMEOUT: Duration = Duration::from_millis(11_000);

/// How long the poller's lock lasts while its call is out: a little longer than the call may take.
const HEALTH_LOCK_POLLING_MS: u64 = 12_000;

fn health_key(processor: Processor) -> [u8; 14] {
    let mut key = *b"rinha:health:?";
    key[13] = processor.code();
    key
}

fn lock_key(processor: Processor) -> [u8; 19] {
    let mut key = *b"rinha:health-lock:?";
    key[18] = processor.code();
    key
}

/// Encodes a published report: `<failing 0|1>:<minResponseTime>:<polled at ms>`.
pub fn encode_report(report: &HealthReport) -> Vec<u8> {
    format!(
        "{}:{}:{}",
        u8::from(report.health.failing),
        report.health.min_response_time,
        report.polled_at_ms
    )
    .into_bytes()
}

/// Decodes a published report.
pub fn decode_report(value: &[u8]) -> Option<HealthReport> {
    let text = std::str::from_utf8(value).ok()?;
    let mut fields = text.split(':');
    let failing = match fields.next()? {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    let min_response_time = fields.next()?.parse().ok()?;
    let polled_at_ms = fields.next()?.parse().ok()?;
    fields
        .next()
        .is_none()
        .then_some(HealthReport { health: Health { failing, min_response_time }, polled_at_ms })
}

/// Runs forever on this thread: reads published health into `router`, and polls a processor
/// whenever the published report is older than the poll interval and this thread wins the lock.
pub async fn run(
    client: Client,
    processors: Rc<[ProcessorClient; 2]>,
    router: Rc<RefCell<Router>>,
    owner: String,
) {
    loop {
        for processor in Processor::ALL {
            let key = health_key(processor);
            let published = match client.request(&[b"GET", &key]).await {
                Ok(Reply::BulkString(value)) => decode_report(&value),
                _ => None,
            };
            let now_ms = unix_ms(std::time::SystemTime::now());
            if let Some(report) = published {
                router.borrow_mut().apply(processor, Event::Reported(report), now_ms);
            }
            let stale = published
                .is_none_or(|report| now_ms - report.polled_at_ms >= HEALTH_POLL_INTERVAL_MS);
            if stale && try_lock(&client, processor, &owner).await {
                let processors = processors.clone();
                let router = router.clone();
                let client = client.clone();
                monoio::spawn(async move {
                    poll(&client, &processors[processor.index()], processor, &router).await;
                });
            }
        }
        monoio::time::sleep(Duration::from_millis(HEALTH_READ_INTERVAL_MS)).await;
    }
}

async fn try_lock(client: &Client, processor: Processor, owner: &str) -> bool {
    let key = lock_key(processor);
    let mut interval = itoa::Buffer::new();
    let interval = interval.format(HEALTH_LOCK_POLLING_MS).as_bytes();
    matches!(
        client.request(&[b"SET", &key, owner.as_bytes(), b"NX", b"PX", interval]).await,
        Ok(Reply::SimpleString(_))
    )
}

/// Keeps the lock for one more window from now, so the next poll waits for the processor's next
/// window whatever happened to this one.
async fn hold_lock_one_window(client: &Client, processor: Processor) {
    let key = lock_key(processor);
    let mut interval = itoa::Buffer::new();
    let interval = interval.format(HEALTH_POLL_INTERVAL_MS).as_bytes();
    let _ = client.request(&[b"PEXPIRE", &key, interval]).await;
}

async fn poll(
    client: &Client,
    processor_client: &ProcessorClient,
    processor: Processor,
    router: &RefCell<Router>,
) {
    let answer = processor_client.health(HEALTH_TIMEOUT).await;
    hold_lock_one_window(client, processor).await;
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
    let key = health_key(processor);
    let _ = client.request(&[b"SET", &key, &encode_report(&report)]).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trip_and_rejects() {
        let report = HealthReport {
            health: Health { failing: true, min_response_time: 250 },
            polled_at_ms: 1_752_150_896_123,
        };
        assert_eq!(decode_report(&encode_report(&report)), Some(report));
        for bad in ["", "2:0:0", "1:x:0", "1:0", "1:0:0:0", "0:-1:5"] {
            assert_eq!(decode_report(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(&health_key(Processor::Default)[..14], b"rinha:health:d");
        assert_eq!(&lock_key(Processor::Fallback)[..19], b"rinha:health-lock:f");
    }
}
