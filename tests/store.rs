//! The Redis client and the ledger scripts against a real `redis-server`, under both monoio
//! drivers (io_uring and epoll).
//!
//! Method: the summary script is checked against a brute-force model: random payments with
//! random `requestedAt` are recorded, then random windows (including every edge of a recorded
//! instant, ±1 ms, and second boundaries) are summed both by Redis and by filtering the model.
//! Recording twice, taking duplicates and recovering the processing hash are checked directly.

mod common;

use std::time::Duration;

use common::{on_both_drivers, Redis};
use rinha::{
    net::Endpoint,
    payment::{CorrelationId, PaymentRequest, Processor, Totals},
    redis::{Client, Reply},
    store::{Store, TakenPayment, SCRIPTS},
};

async fn connect(redis: &Redis) -> Store {
    let client = Client::start(Endpoint::parse(&redis.url()).unwrap(), SCRIPTS);
    client.wait_connected(Duration::from_secs(10)).await.unwrap();
    Store::new(client)
}

fn id(index: u64) -> CorrelationId {
    CorrelationId::parse(format!("00000000-0000-4000-8000-{index:012x}").as_bytes()).unwrap()
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

#[test]
fn summary_matches_a_brute_force_model_on_random_windows() {
    let redis = Redis::start();
    on_both_drivers(|| async {
        let store = connect(&redis).await;
        store.purge().await.unwrap();
        let base_ms: i64 = 1_752_150_896_000;
        let mut random = Random(0x5eed_1234_abcd_ef01);
        let mut model: Vec<TakenPayment> = Vec::new();
        for index in 0..400 {
            let taken = TakenPayment {
                payment: PaymentRequest {
                    correlation_id: id(index),
                    amount_cents: 1 + random.below(100_000),
                },
                processor: if random.below(3) == 0 {
                    Processor::Fallback
                } else {
                    Processor::Default
                },
                requested_at_ms: base_ms + random.below(6_000) as i64,
                accepted_at_ms: base_ms,
            };
            assert!(store.record(b"rinha:processing:model", &taken).await.unwrap());
            model.push(taken);
        }
        let brute = |from: Option<i64>, to: Option<i64>| {
            let mut totals = [Totals::default(); 2];
            for taken in &model {
                let at = taken.requested_at_ms;
                if from.is_none_or(|from| at >= from) && to.is_none_or(|to| at <= to) {
                    let sums = &mut totals[taken.processor.index()];
                    sums.requests += 1;
                    sums.amount_cents += taken.payment.amount_cents;
                }
            }
            (totals[0], totals[1])
        };
        let mut windows: Vec<(Option<i64>, Option<i64>)> = vec![(None, None)];
        for taken in model.iter().take(60) {
            let at = taken.requested_at_ms;
            windows.extend([
                (Some(at), Some(at)),
                (Some(at + 1), None),
                (None, Some(at - 1)),
                (Some(at), None),
                (None, Some(at)),
            ]);
        }
        for second in 0..7 {
            let edge = base_ms + second * 1000;
            windows.extend([
                (Some(edge), Some(edge + 999)),
                (Some(edge - 1), Some(edge)),
                (Some(edge + 1), Some(edge + 998)),
            ]);
        }
        for _ in 0..100 {
            let from = base_ms - 500 + random.below(7_000) as i64;
            windows.push((Some(from), Some(from + random.below(4_000) as i64)));
        }
        windows.push((Some(base_ms + 5_000), Some(base_ms + 1_000)));
        for (from, to) in windows {
            assert_eq!(
                store.summary(from, to).await.unwrap(),
                brute(from, to),
                "window {from:?}..={to:?}"
            );
        }
        // Recording again changes nothing.
        for taken in model.iter().take(50) {
            assert!(!store.record(b"rinha:processing:model", taken).await.unwrap());
        }
        assert_eq!(store.summary(None, None).await.unwrap(), brute(None, None));
    });
}

#[test]
fn take_drops_duplicates_and_recover_returns_the_stamped_attempts() {
    let redis = Redis::start();
    on_both_drivers(|| async {
        let store = connect(&redis).await;
        store.purge().await.unwrap();
        let key: &[u8] = b"rinha:processing:take-test";
        let _ = store.client().request(&[b"DEL", key]).await.unwrap();
        for index in [1, 2, 2, 3, 1, 4] {
            let payment = PaymentRequest { correlation_id: id(index), amount_cents: 100 * index };
            store.enqueue(&payment, 1_752_150_890_000 + index as i64).await.unwrap();
        }
        let mut taken = Vec::new();
        store
            .take(key, 10, Processor::Fallback, 1_752_150_896_123, None, &mut taken)
            .await
            .unwrap();
        let ids: Vec<CorrelationId> =
            taken.iter().map(|taken| taken.payment.correlation_id).collect();
        assert_eq!(ids, [id(1), id(2), id(3), id(4)], "FIFO order, duplicates dropped");
        assert!(taken.iter().all(|taken| taken.processor == Processor::Fallback
            && taken.requested_at_ms == 1_752_150_896_123));
        let accepted: Vec<i64> = taken.iter().map(|taken| taken.accepted_at_ms).collect();
        assert_eq!(
            accepted,
            [1_752_150_890_001, 1_752_150_890_002, 1_752_150_890_003, 1_752_150_890_004]
        );
        let mut recovered = store.recover(key).await.unwrap();
        recovered.sort_by_key(|taken| taken.payment.correlation_id.as_str().to_string());
        assert_eq!(recovered, taken);
        // A new attempt's stamp replaces the old one; recording settles it.
        let restamped = TakenPayment {
            processor: Processor::Default,
            requested_at_ms: 1_752_150_899_000,
            ..taken[0]
        };
        store.stamp(key, &restamped).await.unwrap();
        assert!(store.recover(key).await.unwrap().contains(&restamped));
        store.record(key, &restamped).await.unwrap();
        assert_eq!(store.recover(key).await.unwrap().len(), 3);
        // Once taken, an id never comes back, even if enqueued again.
        store.enqueue(&PaymentRequest { correlation_id: id(1), amount_cents: 1 }, 5).await.unwrap();
        let mut again = Vec::new();
        store.take(key, 10, Processor::Default, 0, None, &mut again).await.unwrap();
        assert!(again.is_empty());
    });
}

#[test]
fn a_batch_record_adds_each_payment_once_even_when_repeated() {
    let redis = Redis::start();
    on_both_drivers(|| async {
        let store = connect(&redis).await;
        store.purge().await.unwrap();
        let key: &[u8] = b"rinha:processing:batch-test";
        let payments: Vec<TakenPayment> = (0..250u64)
            .map(|index| TakenPayment {
                payment: PaymentRequest {
                    correlation_id: id(5000 + index),
                    amount_cents: 100 + index,
                },
                processor: if index % 4 == 0 { Processor::Fallback } else { Processor::Default },
                requested_at_ms: 1_752_150_896_000 + (index as i64) * 37,
                accepted_at_ms: 0,
            })
            .collect();
        for taken in &payments {
            store.stamp(key, taken).await.unwrap();
        }
        let mut packed = Vec::new();
        for taken in payments.iter().chain(payments.iter().take(10)) {
            rinha::store::pack_record(&mut packed, taken);
        }
        assert_eq!(
            store.record_packed(key, &packed).await.unwrap(),
            250,
            "repeats in a batch add nothing"
        );
        assert_eq!(
            store.record_packed(key, &packed).await.unwrap(),
            0,
            "a replayed batch adds nothing"
        );
        assert!(store.recover(key).await.unwrap().is_empty(), "every recorded payment is settled");
        let mut expected = [Totals::default(); 2];
        for taken in &payments {
            expected[taken.processor.index()].requests += 1;
            expected[taken.processor.index()].amount_cents += taken.payment.amount_cents;
        }
        assert_eq!(store.summary(None, None).await.unwrap(), (expected[0], expected[1]));
    });
}

#[test]
fn requeue_puts_a_payment_back_at_the_old_end_once() {
    let redis = Redis::start();
    on_both_drivers(|| async {
        let store = connect(&redis).await;
        store.purge().await.unwrap();
        let key: &[u8] = b"rinha:processing:requeue-test";
        let _ = store.client().request(&[b"DEL", key]).await.unwrap();
        for index in 1..=3u64 {
            let payment = PaymentRequest { correlation_id: id(700 + index), amount_cents: 5 };
            store.enqueue(&payment, 100 * index as i64).await.unwrap();
        }
        let mut taken = Vec::new();
        store.take(key, 1, Processor::Default, 1_000, None, &mut taken).await.unwrap();
        assert_eq!(taken[0].payment.correlation_id, id(701));
        store.requeue(key, &taken[0]).await.unwrap();
        assert!(store.recover(key).await.unwrap().is_empty(), "no longer in processing");
        // A replayed requeue (lost reply) must not queue it twice, even after it was taken again.
        let mut again = Vec::new();
        store.take(key, 1, Processor::Fallback, 2_000, None, &mut again).await.unwrap();
        assert_eq!(again[0].payment.correlation_id, id(701), "back first, as the oldest");
        assert_eq!(again[0].accepted_at_ms, 100, "acceptance time kept for the hold");
        store.requeue(key, &taken[0]).await.unwrap();
        assert_eq!(store.recover(key).await.unwrap(), again, "the newer attempt is untouched");
        assert_eq!(
            store.client().request(&[b"LLEN", b"rinha:queue"]).await.unwrap(),
            Reply::Integer(2)
        );
    });
}

#[test]
fn take_with_a_cutoff_takes_only_payments_accepted_by_then_oldest_first() {
    let redis = Redis::start();
    on_both_drivers(|| async {
        let store = connect(&redis).await;
        store.purge().await.unwrap();
        let key: &[u8] = b"rinha:processing:cutoff-test";
        for index in 1..=6u64 {
            let payment = PaymentRequest { correlation_id: id(100 + index), amount_cents: 1 };
            store.enqueue(&payment, 1000 * index as i64).await.unwrap();
        }
        let mut taken = Vec::new();
        store.take(key, 10, Processor::Fallback, 7_000, Some(3_000), &mut taken).await.unwrap();
        let accepted: Vec<i64> = taken.iter().map(|taken| taken.accepted_at_ms).collect();
        assert_eq!(accepted, [1000, 2000, 3000], "inclusive cutoff, FIFO");
        taken.clear();
        store.take(key, 2, Processor::Default, 7_000, None, &mut taken).await.unwrap();
        let accepted: Vec<i64> = taken.iter().map(|taken| taken.accepted_at_ms).collect();
        assert_eq!(accepted, [4000, 5000], "the count bounds a take");
        assert_eq!(
            store.client().request(&[b"LLEN", b"rinha:queue"]).await.unwrap(),
            Reply::Integer(1)
        );
    });
}

#[test]
fn many_concurrent_commands_are_pipelined_and_answered_in_order() {
    let redis = Redis::start();
    on_both_drivers(|| async {
        let store = connect(&redis).await;
        let client = store.client().clone();
        let mut handles = Vec::new();
        for index in 0..2000u32 {
            let client = client.clone();
            handles.push(monoio::spawn(async move {
                let key = format!("pipeline:{index}");
                let value = format!("value-{index}");
                client.request(&[b"SET", key.as_bytes(), value.as_bytes()]).await.unwrap();
                let reply = client.request(&[b"GET", key.as_bytes()]).await.unwrap();
                assert_eq!(reply, Reply::BulkString(value.into_bytes().into()));
            }));
        }
        for handle in handles {
            handle.await;
        }
        let reply = client.request(&[b"NOSUCHCOMMAND"]).await.unwrap();
        assert!(matches!(reply, Reply::Error(_)), "an error reply is a reply: {reply:?}");
        // The connection is still in sync after the error.
        assert_eq!(client.request(&[b"PING"]).await.unwrap(), Reply::SimpleString("PONG".into()));
    });
}
