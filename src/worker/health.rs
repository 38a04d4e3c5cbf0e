//! Health polling, coordinated across every worker thread and process through Redis.
//!
//! The processors allow one `GET /payments/service-health` per 5 s for all callers together, so
//! the cluster elects a poller per processor with `SET rinha:health-lock:<d|f> <owner> NX PX 5000`:
//! whoever gets the lock polls and publishes the answer in `rinha:health:<d|f>`; every thread
//! reads the published answers every [`HEALTH_READ_INTERVAL_MS`] and feeds them to its router.
//! The lock expires on its own, so a dead poller is replaced within 5 s.

use std::{cell::RefCell, rc::Rc, time::Duration};

use crate::{
    payment::{unix_ms, Processor},
    redis::{Client, Reply},
    worker::{
        processor::{Health, ProcessorClient},
        router::{HealthReport, Router},
    },
};

/// How often each thread reads the published health (ms). Cheap: one `GET` per processor.
pub const HEALTH_READ_INTERVAL_MS: u64 = 250;

/// The processors' limit: one health call per this many milliseconds, cluster-wide.
pub const HEALTH_POLL_INTERVAL_MS: i64 = 5000;

/// How long to wait for a health answer. The processor may queue our call into a later window,
/// but the lock spacing keeps us in our own window, so a slow answer means trouble.
const HEALTH_TIMEOUT: Duration = Duration::from_millis(2000);

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
    fields.next().is_none().then_some(HealthReport {
        health: Health { failing, min_response_time },
        polled_at_ms,
    })
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
                router.borrow_mut().set_health(processor, report);
            }
            let stale = published.is_none_or(|report| now_ms - report.polled_at_ms >= HEALTH_POLL_INTERVAL_MS);
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
    let interval = itoa::Buffer::new().format(HEALTH_POLL_INTERVAL_MS).to_string();
    matches!(
        client
            .request(&[b"SET", &key, owner.as_bytes(), b"NX", b"PX", interval.as_bytes()])
            .await,
        Ok(Reply::SimpleString(_))
    )
}

async fn poll(client: &Client, processor_client: &ProcessorClient, processor: Processor, router: &RefCell<Router>) {
    let Some(health) = processor_client.health(HEALTH_TIMEOUT).await else {
        crate::log::debug(format_args!("{} health poll got no answer", processor.name()));
        return;
    };
    let report = HealthReport { health, polled_at_ms: unix_ms(std::time::SystemTime::now()) };
    crate::log::info(format_args!(
        "{} health: failing={} minResponseTime={}",
        processor.name(),
        health.failing,
        health.min_response_time
    ));
    router.borrow_mut().set_health(processor, report);
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
