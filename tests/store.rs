//! The Redis client and the ledger scripts against a real `redis-server`, under both monoio
//! drivers (io_uring and epoll).
//!
//! Method: the summary script is checked against a brute-force model: random payments with
//! random `requestedAt` are recorded, then random windows (including every edge of a recorded
//! instant, ±1 ms, and second boundaries) are summed both by Redis and by filtering the model.
//! Recording twice, taking duplicates and recovering the processing hash are checked directly.
//!
//! Layouts: each script runs on values the Rust codecs of `rinha::store::codec` encoded, and what
//! it writes is read back raw and compared with the Rust encoding (processing entries, queue
//! entries, take records) or with the documented layout (ledger entries, which only Lua reads and
//! writes), so the two sides of every layout agree byte for byte.

mod common;

use std::time::Duration;

use common::{on_both_drivers, Redis};
use rinha::{
    net::Endpoint,
    payment::{CorrelationId, PaymentRequest, Processor, Totals, AMOUNT_CENTS_MAX},
    payment::{Health, HealthReport},
    redis::{Client, Reply},
    store::{
        codec::{
            decode_queue_entry, decode_take_record, encode_processing_entry, encode_queue_entry,
            push_record_entry,
        },
        ProcessingKeys, Store, TakenPayment, SCRIPTS,
    },
};

async fn connect(redis: &Redis) -> Store {
    let client = Client::start(Endpoint::parse(&redis.url()).unwrap(), SCRIPTS);
    client.wait_connected(Duration::from_secs(10)).await.unwrap();
    Store::new(client)
}

/// A store on an empty ledger, and the processing keys `name` with nothing in them.
async fn fresh(redis: &Redis, name: &str) -> (Store, ProcessingKeys) {
    let store = connect(redis).await;
    store.purge().await.unwrap();
    let keys = ProcessingKeys::new(name, 0);
    let _ = store.client().request(&[b"DEL", keys.hash(), keys.take()]).await.unwrap();
    (store, keys)
}

/// Queues a payment with no cutoff to speak of.
async fn enqueue(store: &Store, payment: &PaymentRequest, accepted_at_ms: i64) {
    assert!(store.enqueue_by(payment, accepted_at_ms, i64::MAX).await.unwrap());
}

/// Records one payment with a batch of one; whether it was added.
async fn record_one(store: &Store, processing: &ProcessingKeys, taken: &TakenPayment) -> bool {
    let mut batch = Vec::new();
    push_record_entry(&mut batch, taken);
    store.record(processing, &batch).await.unwrap() == 1
}

async fn hgetall(store: &Store, key: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let Reply::Array(fields) = store.client().request(&[b"HGETALL", key]).await.unwrap() else {
        panic!("HGETALL {key:?}")
    };
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = fields
        .chunks(2)
        .map(|pair| match pair {
            [Reply::BulkString(field), Reply::BulkString(value)] => {
                (field.to_vec(), value.to_vec())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    pairs.sort();
    pairs
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
        let model_keys = ProcessingKeys::new("model", 0);
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
            assert!(record_one(&store, &model_keys, &taken).await);
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
            assert!(!record_one(&store, &model_keys, taken).await);
        }
        assert_eq!(store.summary(None, None).await.unwrap(), brute(None, None));
    });
}

#[test]
fn take_drops_duplicates_and_recover_returns_the_stamped_attempts() {
    let redis = Redis::start();
    on_both_drivers(|| async {
        let (store, key) = fresh(&redis, "take-test").await;
        let key = &key;
        for index in [1, 2, 2, 3, 1, 4] {
            let payment = PaymentRequest { correlation_id: id(index), amount_cents: 100 * index };
            enqueue(&store, &payment, 1_752_150_890_000 + index as i64).await;
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
        store.restamp(key, &restamped).await.unwrap();
        assert!(store.recover(key).await.unwrap().contains(&restamped));
        assert!(record_one(&store, key, &restamped).await);
        assert_eq!(store.recover(key).await.unwrap().len(), 3);
        // Once taken, an id never comes back, even if enqueued again.
        enqueue(&store, &PaymentRequest { correlation_id: id(1), amount_cents: 1 }, 5).await;
        let mut again = Vec::new();
        store.take(key, 10, Processor::Default, 0, None, &mut again).await.unwrap();
        assert!(again.is_empty());
    });
}

#[test]
fn a_batch_record_adds_each_payment_once_even_when_repeated() {
    let redis = Redis::start();
    on_both_drivers(|| async {
        let (store, key) = fresh(&redis, "batch-test").await;
        let key = &key;
        let payments: Vec<TakenPayment> = (0..250u64)
            .map(|index| TakenPayment {
                payment: PaymentRequest {
                    correlation_id: id(5000 + index),
                    // The first second's default total passes 1e14 cents: past what Lua 5.1
                    // prints without an exponent ("%.14g").
                    amount_cents: if index < 20 { AMOUNT_CENTS_MAX } else { 100 + index },
                },
                processor: if index % 4 == 0 { Processor::Fallback } else { Processor::Default },
                requested_at_ms: 1_752_150_896_000 + (index as i64) * 37,
                accepted_at_ms: 0,
            })
            .collect();
        for taken in &payments {
            store.restamp(key, taken).await.unwrap();
        }
        let mut batch = Vec::new();
        for taken in payments.iter().chain(payments.iter().take(10)) {
            push_record_entry(&mut batch, taken);
        }
        assert_eq!(store.record(key, &batch).await.unwrap(), 250, "repeats in a batch add nothing");
        assert_eq!(store.record(key, &batch).await.unwrap(), 0, "a replayed batch adds nothing");
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
        let (store, key) = fresh(&redis, "requeue-test").await;
        let key = &key;
        for index in 1..=3u64 {
            let payment = PaymentRequest { correlation_id: id(700 + index), amount_cents: 5 };
            enqueue(&store, &payment, 100 * index as i64).await;
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
        let (store, key) = fresh(&redis, "cutoff-test").await;
        let key = &key;
        for index in 1..=6u64 {
            let payment = PaymentRequest { correlation_id: id(100 + index), amount_cents: 1 };
            enqueue(&store, &payment, 1000 * index as i64).await;
        }
        let mut taken = Vec::new();
        store.take(key, 10, Processor::Fallback, 7_000, Some(999), &mut taken).await.unwrap();
        assert!(taken.is_empty(), "the oldest is too young: nothing");
        store.take(key, 2, Processor::Fallback, 7_000, Some(3_000), &mut taken).await.unwrap();
        let accepted: Vec<i64> = taken.iter().map(|taken| taken.accepted_at_ms).collect();
        assert_eq!(accepted, [1000, 2000], "the count bounds a take with a cutoff too");
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

#[test]
fn take_writes_the_processing_entries_and_take_record_the_rust_codecs_read() {
    let redis = Redis::start();
    on_both_drivers(|| async {
        let (store, key) = fresh(&redis, "layout-take").await;
        let key = &key;
        let payments: Vec<(PaymentRequest, i64)> = [(1, 1990, 1_752_150_890_001), (2, 1, 0)]
            .into_iter()
            .map(|(index, cents, at)| {
                (PaymentRequest { correlation_id: id(900 + index), amount_cents: cents }, at)
            })
            .collect();
        for (payment, accepted_at_ms) in &payments {
            enqueue(&store, payment, *accepted_at_ms).await;
        }
        // The queue holds exactly what the Rust encoder wrote.
        let Reply::Array(queued) =
            store.client().request(&[b"LRANGE", b"rinha:queue", b"0", b"-1"]).await.unwrap()
        else {
            panic!("LRANGE")
        };
        let queued: Vec<Vec<u8>> = queued
            .iter()
            .map(|entry| match entry {
                Reply::BulkString(bytes) => bytes.to_vec(),
                other => panic!("{other:?}"),
            })
            .collect();
        let expected: Vec<Vec<u8>> = payments
            .iter()
            .rev()
            .map(|(payment, at)| encode_queue_entry(payment, *at).as_bytes().to_vec())
            .collect();
        assert_eq!(queued, expected, "pushed left, newest first");
        let mut taken = Vec::new();
        store
            .take(key, 10, Processor::Fallback, 1_752_150_896_123, None, &mut taken)
            .await
            .unwrap();
        assert_eq!(taken.len(), 2);
        for (taken, (payment, accepted_at_ms)) in taken.iter().zip(&payments) {
            assert_eq!(taken.payment, *payment);
            assert_eq!(taken.accepted_at_ms, *accepted_at_ms);
        }
        // TAKE's Lua wrote the processing entry byte for byte as the Rust encoder does.
        let mut expected: Vec<(Vec<u8>, Vec<u8>)> = taken
            .iter()
            .map(|taken| {
                let entry = encode_processing_entry(taken).as_bytes().to_vec();
                (taken.payment.correlation_id.as_bytes().to_vec(), entry)
            })
            .collect();
        expected.sort();
        assert_eq!(hgetall(&store, key.hash()).await, expected);
        // Its take record holds its ticket and the queue entries it took, oldest first.
        let Reply::BulkString(record) =
            store.client().request(&[b"GET", key.take()]).await.unwrap()
        else {
            panic!("GET take")
        };
        let separator = record.iter().position(|byte| *byte == b'|').unwrap();
        let ticket = &record[..separator];
        let entries: Vec<(PaymentRequest, i64)> = decode_take_record(&record, ticket)
            .unwrap()
            .map(|entry| decode_queue_entry(entry).unwrap())
            .collect();
        assert_eq!(entries, payments);
        assert!(decode_take_record(&record, b"1.1").is_none(), "another call's ticket");
    });
}

#[test]
fn take_sets_aside_a_queue_entry_it_cannot_read() {
    let redis = Redis::start();
    on_both_drivers(|| async {
        let (store, key) = fresh(&redis, "layout-malformed").await;
        let key = &key;
        let _ = store.client().request(&[b"DEL", b"rinha:malformed"]).await.unwrap();
        let foreign = format!("{}:19.90:5", id(950).as_str());
        store.client().request(&[b"LPUSH", b"rinha:queue", foreign.as_bytes()]).await.unwrap();
        let payment = PaymentRequest { correlation_id: id(951), amount_cents: 7 };
        enqueue(&store, &payment, 6).await;
        let mut taken = Vec::new();
        store.take(key, 10, Processor::Default, 10, None, &mut taken).await.unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].payment, payment);
        assert_eq!(
            store.client().request(&[b"LRANGE", b"rinha:malformed", b"0", b"-1"]).await.unwrap(),
            Reply::Array(vec![Reply::BulkString(foreign.into_bytes().into())])
        );
    });
}

#[test]
fn record_writes_ledger_entries_in_the_documented_layout_and_refuses_a_foreign_batch() {
    let redis = Redis::start();
    on_both_drivers(|| async {
        let (store, key) = fresh(&redis, "layout-record").await;
        let key = &key;
        let second: i64 = 1_752_150_896;
        let payments: Vec<TakenPayment> = [
            (1, 1990, 0, Processor::Default),
            (2, 5, 7, Processor::Fallback),
            (3, 10_000_000_000_000, 999, Processor::Default),
        ]
        .into_iter()
        .map(|(index, cents, millisecond, processor)| TakenPayment {
            payment: PaymentRequest { correlation_id: id(960 + index), amount_cents: cents },
            processor,
            requested_at_ms: second * 1000 + millisecond,
            accepted_at_ms: 1,
        })
        .collect();
        let mut batch = Vec::new();
        for taken in &payments {
            store.restamp(key, taken).await.unwrap();
            push_record_entry(&mut batch, taken);
        }
        // A batch this code did not write is refused whole: nothing is recorded or settled.
        let mut foreign = batch.clone();
        foreign.extend_from_slice(b"not-an-entry,");
        assert!(store.record(key, &foreign).await.is_err());
        assert_eq!(store.recover(key).await.unwrap().len(), 3);
        assert_eq!(
            store.summary(None, None).await.unwrap(),
            (Totals::default(), Totals::default())
        );
        assert_eq!(store.record(key, &batch).await.unwrap(), 3);
        let ledger = format!("rinha:ledger:{second}");
        let mut expected: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"d#n".to_vec(), b"2".to_vec()),
            (b"d#a".to_vec(), b"10000000001990".to_vec()),
            (b"f#n".to_vec(), b"1".to_vec()),
            (b"f#a".to_vec(), b"5".to_vec()),
        ];
        for taken in &payments {
            let entry = format!(
                "{}:{}:{:03}",
                taken.payment.amount_cents,
                taken.processor.code() as char,
                taken.requested_at_ms % 1000
            );
            expected.push((taken.payment.correlation_id.as_bytes().to_vec(), entry.into_bytes()));
        }
        expected.sort();
        assert_eq!(hgetall(&store, ledger.as_bytes()).await, expected);
        assert!(store.recover(key).await.unwrap().is_empty());
        // SUMMARY reads the same entries back: an edge window filters them one by one.
        let at = |index: usize| Some(payments[index].requested_at_ms);
        let one = |cents| Totals { requests: 1, amount_cents: cents };
        assert_eq!(store.summary(at(0), at(1)).await.unwrap(), (one(1990), one(5)));
        assert_eq!(
            store.summary(at(2), at(2)).await.unwrap(),
            (one(10_000_000_000_000), Totals::default())
        );
    });
}

#[test]
fn requeue_pushes_the_queue_entry_the_rust_codec_wrote() {
    let redis = Redis::start();
    on_both_drivers(|| async {
        let (store, key) = fresh(&redis, "layout-requeue").await;
        let key = &key;
        let payment = PaymentRequest { correlation_id: id(980), amount_cents: 42 };
        enqueue(&store, &payment, 77).await;
        let mut taken = Vec::new();
        store.take(key, 1, Processor::Default, 1_000, None, &mut taken).await.unwrap();
        store.requeue(key, &taken[0]).await.unwrap();
        assert_eq!(
            store.client().request(&[b"LRANGE", b"rinha:queue", b"0", b"-1"]).await.unwrap(),
            Reply::Array(vec![Reply::BulkString(
                encode_queue_entry(&payment, 77).as_bytes().to_vec().into()
            )])
        );
    });
}

#[test]
fn health_reports_and_the_poller_lock_go_through_the_store() {
    let redis = Redis::start();
    on_both_drivers(|| async {
        let store = connect(&redis).await;
        let keys: [&[u8]; 4] =
            [b"rinha:health:d", b"rinha:health:f", b"rinha:health-lock:d", b"rinha:health-lock:f"];
        let _ = store.client().request(&[&[b"DEL".as_slice()][..], &keys].concat()).await.unwrap();
        assert_eq!(store.health(Processor::Default).await.unwrap(), None);
        let report = HealthReport {
            health: Health { failing: true, min_response_time: 250 },
            polled_at_ms: 1_752_150_896_123,
        };
        store.publish_health(Processor::Fallback, &report).await.unwrap();
        assert_eq!(store.health(Processor::Fallback).await.unwrap(), Some(report));
        assert_eq!(store.health(Processor::Default).await.unwrap(), None);
        assert_eq!(
            store.client().request(&[b"GET", b"rinha:health:f"]).await.unwrap(),
            Reply::BulkString(b"1:250:1752150896123".to_vec().into())
        );
        assert!(store.lock_health(Processor::Default, "a", 60_000).await.unwrap());
        assert!(!store.lock_health(Processor::Default, "b", 60_000).await.unwrap());
        assert!(store.lock_health(Processor::Fallback, "b", 60_000).await.unwrap());
        store.expire_health_lock(Processor::Default, 1).await.unwrap();
        monoio::time::sleep(Duration::from_millis(20)).await;
        assert!(store.lock_health(Processor::Default, "b", 60_000).await.unwrap());
    });
}
