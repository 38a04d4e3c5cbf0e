//! Tests of the Redis value codecs in `rinha::store::codec`: the queue entry
//! `<id>:<cents>:<accepted at ms>`, the processing entry
//! `<cents>:<accepted at ms>:<d|f>:<requestedAt ms>` (field `<id>`), the record entry
//! `<id>:<cents>:<accepted at ms>:<d|f>:<requestedAt ms>,`, the take record
//! `<ticket>|<queue entry>,…` and the health report `<failing>:<minResponseTime>:<polled at ms>`:
//! one field order, each value a run of it (the module's table).
//!
//! # Method
//! - *Exact bytes:* each encoder's output is compared with the documented layout, written out by
//!   hand, including the largest numbers.
//! - *Tables:* each decoder gets valid and invalid inputs, each refused one for a stated reason.
//! - *Pairs* (`proptest`): decode(encode(x)) == x for every value the backend can write, and the
//!   layouts nest as documented: a queue entry is `<id>:` plus the first two fields of the
//!   processing entry, and a record entry is `<id>:` plus the processing entry, which is how TAKE
//!   (Lua) turns one into the other and why RECORD's pattern reads what the recorder writes.
//!   `tests/store.rs` runs the scripts themselves on encoded values.
//! - *Robustness:* random bytes never panic a decoder.

use proptest::prelude::*;
use rinha::{
    payment::{CorrelationId, PaymentRequest, Processor, AMOUNT_CENTS_MAX, CORRELATION_ID_BYTES},
    payment::{Health, HealthReport},
    store::{
        codec::{
            decode_health_report, decode_processing_entry, decode_queue_entry, decode_take_record,
            encode_health_report, encode_processing_entry, encode_queue_entry, push_record_entry,
            HEALTH_REPORT_BYTES_MAX, PROCESSING_ENTRY_BYTES_MAX, QUEUE_ENTRY_BYTES_MAX,
            RECORD_ENTRY_BYTES_MAX,
        },
        TakenPayment,
    },
};

const ID: &str = "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3";

fn payment(id: &str, amount_cents: u64) -> PaymentRequest {
    PaymentRequest { correlation_id: CorrelationId::parse(id.as_bytes()).unwrap(), amount_cents }
}

fn taken(
    cents: u64,
    processor: Processor,
    requested_at_ms: i64,
    accepted_at_ms: i64,
) -> TakenPayment {
    TakenPayment { payment: payment(ID, cents), processor, requested_at_ms, accepted_at_ms }
}

fn report(failing: bool, min_response_time: u64, polled_at_ms: i64) -> HealthReport {
    HealthReport { health: Health { failing, min_response_time }, polled_at_ms }
}

/// 2025-07-10T12:34:56.000Z in milliseconds.
const ACCEPTED_MS: i64 = 1_752_150_896_000;

fn queue_entry(payment: &PaymentRequest, accepted_at_ms: i64) -> Vec<u8> {
    encode_queue_entry(payment, accepted_at_ms).as_bytes().to_vec()
}

fn record_entry(taken: &TakenPayment) -> Vec<u8> {
    let mut batch = Vec::new();
    push_record_entry(&mut batch, taken);
    batch
}

#[test]
fn queue_entry_layout() {
    assert_eq!(
        queue_entry(&payment(ID, 1990), ACCEPTED_MS),
        format!("{ID}:1990:{ACCEPTED_MS}").as_bytes()
    );
    assert_eq!(queue_entry(&payment(ID, 1), 0), format!("{ID}:1:0").as_bytes());
    assert_eq!(
        queue_entry(&payment(ID, AMOUNT_CENTS_MAX), ACCEPTED_MS),
        format!("{ID}:10000000000000:{ACCEPTED_MS}").as_bytes()
    );
    // The id is kept exactly as received, upper case included.
    let upper = ID.to_ascii_uppercase();
    assert_eq!(queue_entry(&payment(&upper, 5), 7), format!("{upper}:5:7").as_bytes());
    // The bound holds the largest numbers; encoding must not panic even past the API's bounds.
    let largest = queue_entry(&payment(ID, u64::MAX), i64::MAX);
    assert_eq!(largest, format!("{ID}:{}:{}", u64::MAX, i64::MAX).as_bytes());
    assert_eq!(largest.len(), QUEUE_ENTRY_BYTES_MAX - 1, "u64::MAX has 20 digits, i64::MAX 19");
}

#[test]
fn processing_and_record_entry_layout() {
    let cases = [
        (
            taken(1990, Processor::Default, ACCEPTED_MS + 1, ACCEPTED_MS),
            "1990:1752150896000:d:1752150896001",
        ),
        (taken(1, Processor::Fallback, 0, 0), "1:0:f:0"),
    ];
    for (taken, layout) in cases {
        assert_eq!(encode_processing_entry(&taken).as_bytes(), layout.as_bytes());
        assert_eq!(record_entry(&taken), format!("{ID}:{layout},").as_bytes());
    }
    let largest = taken(u64::MAX, Processor::Default, i64::MAX, i64::MAX);
    let entry = encode_processing_entry(&largest);
    assert_eq!(entry.as_bytes(), format!("{}:{}:d:{}", u64::MAX, i64::MAX, i64::MAX).as_bytes());
    assert!(entry.as_bytes().len() <= PROCESSING_ENTRY_BYTES_MAX);
    assert!(record_entry(&largest).len() <= RECORD_ENTRY_BYTES_MAX);
}

#[test]
fn health_report_layout() {
    assert_eq!(
        encode_health_report(&report(true, 250, ACCEPTED_MS)).as_bytes(),
        b"1:250:1752150896000"
    );
    assert_eq!(encode_health_report(&report(false, 0, 0)).as_bytes(), b"0:0:0");
    let largest = encode_health_report(&report(false, u64::MAX, i64::MAX));
    assert!(largest.as_bytes().len() <= HEALTH_REPORT_BYTES_MAX);
}

#[test]
#[should_panic]
fn queue_entry_refuses_a_negative_acceptance_time() {
    encode_queue_entry(&payment(ID, 1), -1);
}

#[test]
#[should_panic]
fn processing_entry_refuses_a_negative_request_time() {
    encode_processing_entry(&taken(1, Processor::Default, -1, 0));
}

#[test]
fn decode_queue_entry_table() {
    let valid: &[(String, u64, i64)] = &[
        (format!("{ID}:1990:{ACCEPTED_MS}"), 1990, ACCEPTED_MS),
        (format!("{ID}:0:0"), 0, 0),
        (format!("{ID}:007:08"), 7, 8),
        (format!("{ID}:10000000000000:1"), AMOUNT_CENTS_MAX, 1),
        (
            format!("{ID}:999999999999999999:999999999999999999"),
            999_999_999_999_999_999,
            999_999_999_999_999_999,
        ),
    ];
    for (text, cents, accepted_at_ms) in valid {
        assert_eq!(
            decode_queue_entry(text.as_bytes()),
            Some((payment(ID, *cents), *accepted_at_ms)),
            "{text}"
        );
    }
    let invalid: &[String] = &[
        String::new(),
        ID.to_string(),
        format!("{ID}:"),
        format!("{ID}:1990"),
        format!("{ID}:1990:"),
        format!("{ID}::1"),
        format!("{ID}1990:1"),
        format!("{ID};1990:1"),
        format!("{ID}:19.90:1"),
        format!("{ID}:-1:1"),
        format!("{ID}:1:-1"),
        format!("{ID}:+1:1"),
        format!("{ID}: 1:1"),
        format!("{ID}:1:1 "),
        format!("{ID}:1:1:1"),
        format!("{ID}:1:d"),
        format!("{ID}:1990x:1"),
        // More digits than any amount or time this code writes, and than an i64 holds safely.
        format!("{ID}:1000000000000000000:1"),
        format!("{ID}:1:99999999999999999999"),
        format!("{}:1990:1", &ID[..35]),
        format!("{ID}0:1990:1"),
        format!("{}x:1990:1", &ID[..35]),
        format!("{{{}:1990:1", &ID[1..]),
    ];
    for text in invalid {
        assert_eq!(decode_queue_entry(text.as_bytes()), None, "{text:?}");
    }
}

#[test]
fn decode_processing_entry_table() {
    let valid: &[(&str, TakenPayment)] = &[
        (
            "1990:1752150896000:d:1752150896001",
            taken(1990, Processor::Default, 1_752_150_896_001, ACCEPTED_MS),
        ),
        ("1:0:f:0", taken(1, Processor::Fallback, 0, 0)),
        (
            "10000000000000:4102444799999:d:4102444800000",
            taken(AMOUNT_CENTS_MAX, Processor::Default, 4_102_444_800_000, 4_102_444_799_999),
        ),
    ];
    for (entry, expected) in valid {
        assert_eq!(
            decode_processing_entry(ID.as_bytes(), entry.as_bytes()),
            Some(*expected),
            "{entry}"
        );
    }
    let invalid = [
        "",
        "1990",
        "1990:1",
        "1990:1:d",
        "1990:1:d:",
        "1990:1::1",
        "1990:1:x:1",
        "1990:1:D:1",
        "1990:1:df:1",
        "1990:1:d:1:1",
        "1990:-1:d:1",
        "1990:1:d:-1",
        "-1990:1:d:1",
        "19.90:1:d:1",
        ":1:d:1",
        "1990:1:d:1 ",
        "1990:1:d:1000000000000000000",
        // The layout before the field order was unified: processor before acceptance.
        "1990:d:1:1",
    ];
    for entry in invalid {
        assert_eq!(decode_processing_entry(ID.as_bytes(), entry.as_bytes()), None, "{entry:?}");
    }
    for id in ["", &ID[..35], "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60bg"] {
        assert_eq!(decode_processing_entry(id.as_bytes(), b"1990:1:d:1"), None, "{id:?}");
    }
}

#[test]
fn decode_take_record_table() {
    let first = queue_entry(&payment(ID, 1990), ACCEPTED_MS);
    let second = queue_entry(&payment(ID, 5), 7);
    let mut record = b"1752150896000000000.3|".to_vec();
    record.extend_from_slice(&first);
    record.push(b',');
    record.extend_from_slice(&second);
    let entries: Vec<&[u8]> =
        decode_take_record(&record, b"1752150896000000000.3").unwrap().collect();
    assert_eq!(entries, [first.as_slice(), second.as_slice()]);
    for other in [&b"1752150896000000000.30"[..], b"1752150896000000000.", b"", b"9.3"] {
        assert!(decode_take_record(&record, other).is_none(), "{:?}", other.escape_ascii());
    }
    assert!(decode_take_record(b"1.1", b"1.1").is_none(), "no separator");
}

#[test]
fn decode_health_report_table() {
    assert_eq!(
        decode_health_report(b"1:250:1752150896123"),
        Some(report(true, 250, 1_752_150_896_123))
    );
    assert_eq!(decode_health_report(b"0:0:0"), Some(report(false, 0, 0)));
    for bad in ["", "2:0:0", "1:x:0", "1:0", "1:0:0:0", "0:-1:5", "0:+1:5", "true:0:0", "0:0:0 "] {
        assert_eq!(decode_health_report(bad.as_bytes()), None, "{bad}");
    }
}

fn correlation_id_text() -> impl Strategy<Value = String> {
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
}

fn processor() -> impl Strategy<Value = Processor> {
    prop::sample::select(Processor::ALL.to_vec())
}

/// Any time this code writes: from the epoch to the year 2100.
fn time_ms() -> impl Strategy<Value = i64> {
    0..=4_102_444_800_000i64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn queue_entries_round_trip(
        id in correlation_id_text(),
        cents in prop_oneof![1..=10_000u64, 1..=AMOUNT_CENTS_MAX],
        accepted_at_ms in time_ms(),
    ) {
        let payment = payment(&id, cents);
        let bytes = queue_entry(&payment, accepted_at_ms);
        prop_assert!(bytes.len() <= QUEUE_ENTRY_BYTES_MAX);
        prop_assert_eq!(decode_queue_entry(&bytes), Some((payment, accepted_at_ms)));
    }

    #[test]
    fn processing_and_record_entries_round_trip_and_nest(
        id in correlation_id_text(),
        cents in 1..=AMOUNT_CENTS_MAX,
        processor in processor(),
        requested_at_ms in time_ms(),
        accepted_at_ms in time_ms(),
    ) {
        let payment = payment(&id, cents);
        let taken = TakenPayment { payment, processor, requested_at_ms, accepted_at_ms };
        let entry = encode_processing_entry(&taken);
        prop_assert_eq!(decode_processing_entry(id.as_bytes(), entry.as_bytes()), Some(taken));
        // What TAKE does in Lua: the queue entry without `<id>:`, then `:<d|f>:<requestedAt>`.
        let queued = queue_entry(&payment, accepted_at_ms);
        let mut built = queued[CORRELATION_ID_BYTES + 1..].to_vec();
        built.extend_from_slice(format!(":{}:{requested_at_ms}", processor.code() as char).as_bytes());
        prop_assert_eq!(entry.as_bytes(), built.as_slice());
        // A record entry is `<id>:`, the processing entry and the list separator.
        let record = record_entry(&taken);
        prop_assert!(record.len() <= RECORD_ENTRY_BYTES_MAX);
        prop_assert_eq!(&record[..CORRELATION_ID_BYTES], id.as_bytes());
        prop_assert_eq!(record[CORRELATION_ID_BYTES], b':');
        prop_assert_eq!(record.last(), Some(&b','));
        let inner = &record[CORRELATION_ID_BYTES + 1..record.len() - 1];
        prop_assert_eq!(decode_processing_entry(id.as_bytes(), inner), Some(taken));
    }

    #[test]
    fn health_reports_round_trip(
        failing in any::<bool>(),
        min_response_time in 0..=999_999_999_999_999_999u64,
        polled_at_ms in time_ms(),
    ) {
        let report = HealthReport { health: Health { failing, min_response_time }, polled_at_ms };
        prop_assert_eq!(decode_health_report(encode_health_report(&report).as_bytes()), Some(report));
    }

    #[test]
    fn take_records_round_trip(
        ticket in "[0-9]{1,40}\\.[0-9]{1,20}",
        entries in prop::collection::vec((correlation_id_text(), 1..=AMOUNT_CENTS_MAX, time_ms()), 1..20),
    ) {
        // As TAKE writes it: ticket, `|`, the queue entries joined by `,`.
        let encoded: Vec<Vec<u8>> =
            entries.iter().map(|(id, cents, at)| queue_entry(&payment(id, *cents), *at)).collect();
        let mut record = ticket.clone().into_bytes();
        record.push(b'|');
        record.extend_from_slice(&encoded.join(&b','));
        let decoded: Vec<(PaymentRequest, i64)> = decode_take_record(&record, ticket.as_bytes())
            .unwrap()
            .map(|entry| decode_queue_entry(entry).unwrap())
            .collect();
        let expected: Vec<(PaymentRequest, i64)> =
            entries.iter().map(|(id, cents, at)| (payment(id, *cents), *at)).collect();
        prop_assert_eq!(decoded, expected);
    }

    #[test]
    fn random_bytes_never_panic(id in prop::collection::vec(any::<u8>(), 0..50),
                                value in prop::collection::vec(any::<u8>(), 0..80)) {
        let _ = decode_queue_entry(&value);
        let _ = decode_processing_entry(&id, &value);
        let _ = decode_health_report(&value);
        let _ = decode_take_record(&value, &id).map(|entries| entries.count());
    }

    #[test]
    fn entry_shaped_bytes_never_panic(
        id in correlation_id_text(),
        value in prop::collection::vec(prop::sample::select(b"0123456789:dfx-|,".to_vec()), 0..60),
    ) {
        let mut queued = id.clone().into_bytes();
        queued.extend_from_slice(&value);
        let _ = decode_queue_entry(&queued);
        let _ = decode_processing_entry(id.as_bytes(), &value);
        let _ = decode_health_report(&value);
    }
}
