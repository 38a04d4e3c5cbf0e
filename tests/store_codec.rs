//! Tests of the ledger value codecs in `rinha::store`: the queue entry
//! `<correlationId>:<cents>:<accepted at ms>` and the processing entry
//! `<cents>:<d|f>:<requestedAt ms>:<accepted at ms>` (layouts from the module's key table).
//!
//! # Method
//! - *Exact bytes and tables:* the encoded queue entry is compared with the documented layout;
//!   decoders get valid and invalid inputs, each refused one for a stated reason.
//! - *Pairs* (`proptest`): encode-then-decode gives the payment back for every correlation id
//!   and every amount the API can accept (`1..=AMOUNT_CENTS_MAX`). The processing entry is built
//!   the way `TAKE_SCRIPT` builds it in Lua (`cents .. ':' .. code .. ':' .. requestedAt .. ':' ..
//!   accepted`, with `cents` and `accepted` matched out of the queue value by the script's
//!   pattern), so the Rust decoder is checked against the script's layout.
//! - *Robustness:* random bytes never panic a decoder.

use proptest::prelude::*;
use rinha::{
    payment::{CorrelationId, PaymentRequest, Processor, AMOUNT_CENTS_MAX, CORRELATION_ID_BYTES},
    store::{decode_processing, decode_queued, encode_queued, TakenPayment, QUEUED_BYTES_MAX},
};

const ID: &str = "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3";

fn payment(id: &str, amount_cents: u64) -> PaymentRequest {
    PaymentRequest { correlation_id: CorrelationId::parse(id.as_bytes()).unwrap(), amount_cents }
}

/// 2025-07-10T12:34:56.000Z in milliseconds.
const ACCEPTED_MS: i64 = 1_752_150_896_000;

fn encoded(payment: &PaymentRequest, accepted_at_ms: i64) -> Vec<u8> {
    let mut out = [0u8; QUEUED_BYTES_MAX];
    let length = encode_queued(&mut out, payment, accepted_at_ms);
    out[..length].to_vec()
}

/// What `TAKE_SCRIPT` stores in the processing hash for a queue value: it matches
/// `^.{36}:(%d+):(%d+)$` for `cents` and `accepted`, then writes
/// `cents .. ':' .. ARGV[2] .. ':' .. ARGV[3] .. ':' .. accepted`.
fn processing_value(queued: &[u8], processor: Processor, requested_at_ms: i64) -> Vec<u8> {
    let text = std::str::from_utf8(queued).unwrap();
    assert_eq!(text.as_bytes()[CORRELATION_ID_BYTES], b':');
    let (cents, accepted) = text[CORRELATION_ID_BYTES + 1..].split_once(':').unwrap();
    assert!(!cents.is_empty() && cents.bytes().all(|byte| byte.is_ascii_digit()));
    assert!(!accepted.is_empty() && accepted.bytes().all(|byte| byte.is_ascii_digit()));
    format!("{cents}:{}:{requested_at_ms}:{accepted}", processor.code() as char).into_bytes()
}

#[test]
fn queue_entry_layout() {
    assert_eq!(
        encoded(&payment(ID, 1990), ACCEPTED_MS),
        format!("{ID}:1990:{ACCEPTED_MS}").as_bytes()
    );
    assert_eq!(encoded(&payment(ID, 1), 0), format!("{ID}:1:0").as_bytes());
    assert_eq!(
        encoded(&payment(ID, AMOUNT_CENTS_MAX), ACCEPTED_MS),
        format!("{ID}:10000000000000:{ACCEPTED_MS}").as_bytes()
    );
    // The id is kept exactly as received, upper case included.
    let upper = ID.to_ascii_uppercase();
    assert_eq!(encoded(&payment(&upper, 5), 7), format!("{upper}:5:7").as_bytes());
}

#[test]
fn queue_entry_of_the_largest_numbers_fits_the_buffer() {
    // The buffer is sized for two 20-digit numbers; encoding must not panic even past the API's
    // bounds.
    let bytes = encoded(&payment(ID, u64::MAX), i64::MAX);
    assert_eq!(bytes, format!("{ID}:{}:{}", u64::MAX, i64::MAX).as_bytes());
}

#[test]
#[should_panic]
fn queue_entry_refuses_a_negative_acceptance_time() {
    encoded(&payment(ID, 1), -1);
}

#[test]
fn decode_queued_table() {
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
            decode_queued(text.as_bytes()),
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
        assert_eq!(decode_queued(text.as_bytes()), None, "{text:?}");
    }
}

#[test]
fn decode_processing_table() {
    let taken = |cents, processor, requested_at_ms, accepted_at_ms| TakenPayment {
        payment: payment(ID, cents),
        processor,
        requested_at_ms,
        accepted_at_ms,
    };
    let valid: &[(&str, TakenPayment)] = &[
        (
            "1990:d:1752150896001:1752150896000",
            taken(1990, Processor::Default, 1_752_150_896_001, ACCEPTED_MS),
        ),
        ("1:f:0:0", taken(1, Processor::Fallback, 0, 0)),
        (
            "10000000000000:d:4102444800000:4102444799999",
            taken(AMOUNT_CENTS_MAX, Processor::Default, 4_102_444_800_000, 4_102_444_799_999),
        ),
    ];
    for (value, expected) in valid {
        assert_eq!(decode_processing(ID.as_bytes(), value.as_bytes()), Some(*expected), "{value}");
    }
    let invalid = [
        "",
        "1990",
        "1990:d",
        "1990:d:1",
        "1990:d:1:",
        "1990::1:1",
        "1990:x:1:1",
        "1990:D:1:1",
        "1990:df:1:1",
        "1990:d:1:1:1",
        "1990:d:-1:1",
        "1990:d:1:-1",
        "-1990:d:1:1",
        "19.90:d:1:1",
        ":d:1:1",
        "1990:d:1:1 ",
        "1990:d:1000000000000000000:1",
    ];
    for value in invalid {
        assert_eq!(decode_processing(ID.as_bytes(), value.as_bytes()), None, "{value:?}");
    }
    for id in ["", &ID[..35], "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60bg"] {
        assert_eq!(decode_processing(id.as_bytes(), b"1990:d:1:1"), None, "{id:?}");
    }
}

fn correlation_id_text() -> impl Strategy<Value = String> {
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
}

fn processor() -> impl Strategy<Value = Processor> {
    prop::sample::select(Processor::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn queue_entries_round_trip(
        id in correlation_id_text(),
        cents in prop_oneof![1..=10_000u64, 1..=AMOUNT_CENTS_MAX],
        accepted_at_ms in 0..=4_102_444_800_000i64,
    ) {
        let payment = payment(&id, cents);
        let bytes = encoded(&payment, accepted_at_ms);
        prop_assert!(bytes.len() <= QUEUED_BYTES_MAX);
        prop_assert_eq!(decode_queued(&bytes), Some((payment, accepted_at_ms)));
    }

    #[test]
    fn processing_entries_round_trip_through_the_take_script_layout(
        id in correlation_id_text(),
        cents in 1..=AMOUNT_CENTS_MAX,
        processor in processor(),
        requested_at_ms in 0..=4_102_444_800_000i64,
        accepted_at_ms in 0..=4_102_444_800_000i64,
    ) {
        let payment = payment(&id, cents);
        let queued = encoded(&payment, accepted_at_ms);
        let value = processing_value(&queued, processor, requested_at_ms);
        let expected = TakenPayment { payment, processor, requested_at_ms, accepted_at_ms };
        prop_assert_eq!(decode_processing(id.as_bytes(), &value), Some(expected));
    }

    #[test]
    fn random_bytes_never_panic(id in prop::collection::vec(any::<u8>(), 0..50),
                                value in prop::collection::vec(any::<u8>(), 0..80)) {
        let _ = decode_queued(&value);
        let _ = decode_processing(&id, &value);
    }

    #[test]
    fn entry_shaped_bytes_never_panic(
        id in correlation_id_text(),
        value in prop::collection::vec(prop::sample::select(b"0123456789:dfx-".to_vec()), 0..60),
    ) {
        let mut queued = id.clone().into_bytes();
        queued.extend_from_slice(&value);
        let _ = decode_queued(&queued);
        let _ = decode_processing(id.as_bytes(), &value);
    }
}
