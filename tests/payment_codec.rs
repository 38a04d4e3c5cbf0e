//! Tests of the payment codecs in `rinha::payment` (and the summary window built on them).
//!
//! # Method
//! - *Tables:* `payment_cases!` makes one named `#[test]` per `POST /payments` body, with the exact
//!   `PaymentError` expected. Valid bodies follow the contest's payload (section 2 of the rules):
//!   keys in either order, any JSON whitespace, amounts as JSON numbers with up to two decimal
//!   places. What simd-json does with JSON corner cases (`1e2`, `020`, `NaN`) is pinned here.
//! - *Exact bytes* for the JSON we write (`write_cents`, `write_summary`,
//!   `write_processor_payment`), against the shapes in the rules, not against the code.
//! - *Round trips* (`proptest`): every cent amount up to `AMOUNT_CENTS_MAX`, written as
//!   `{cents/100}.{cents%100:02}`, parses back to exactly that many cents, and `write_cents` prints
//!   that same text; every millisecond and microsecond timestamp from 1970 to 2100 survives
//!   write-then-parse; a processor payload written by `write_processor_payment` reads back, field by
//!   field, through a plain JSON reader (the crate itself never parses that payload).
//! - *Robustness:* random bytes never panic any parser.
//!
//! Epoch seconds used below were computed independently (`date -u -d ... +%s`).

use proptest::prelude::*;
use rinha::{
    api::summary::{parse_window, SummaryWindow, WindowError},
    http::request::BODY_BYTES_MAX,
    payment::{
        amount_to_cents, parse_payment_request, parse_timestamp_ms, parse_timestamp_us,
        write_cents, write_processor_payment, write_summary, write_timestamp_ms,
        write_timestamp_us, Buffers, CorrelationId, JsonParser, PaymentError, PaymentRequest,
        Totals, AMOUNT_CENTS_MAX, CORRELATION_ID_BYTES,
    },
};

const ID: &str = "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3";

/// 2025-07-10T12:34:56.000Z in milliseconds (`date -u -d 2025-07-10T12:34:56Z +%s` = 1752150896).
const BASE_MS: i64 = 1_752_150_896_000;

/// 2100-01-01T00:00:00Z in milliseconds (`date -u -d 2100-01-01T00:00:00Z +%s` = 4102444800).
const YEAR_2100_MS: i64 = 4_102_444_800_000;

fn parse_body(body: &str) -> Result<PaymentRequest, PaymentError> {
    let mut bytes = body.as_bytes().to_vec();
    parse_payment_request(&mut bytes, &mut Buffers::default())
}

fn id(text: &str) -> CorrelationId {
    CorrelationId::parse(text.as_bytes()).expect("valid id")
}

macro_rules! payment_cases {
    ($($name:ident: $body:expr => $expected:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let body: String = $body.into();
                let expected: Result<u64, PaymentError> = $expected;
                let expected = expected
                    .map(|amount_cents| PaymentRequest { correlation_id: id(ID), amount_cents });
                assert_eq!(parse_body(&body), expected, "{body}");
            }
        )*
    };
}

/// `{"correlationId": ID, "amount": <amount>}`.
fn body(amount: &str) -> String {
    format!(r#"{{"correlationId": "{ID}", "amount": {amount}}}"#)
}

payment_cases! {
    contest_example: body("19.90") => Ok(1990);
    keys_reversed: format!(r#"{{"amount":19.90,"correlationId":"{ID}"}}"#) => Ok(1990);
    compact: format!(r#"{{"correlationId":"{ID}","amount":19.90}}"#) => Ok(1990);
    all_json_whitespace:
        format!("\n\t {{ \r\n\"correlationId\" :\t\"{ID}\" ,\n \"amount\" : 19.90 \n}} \r\n")
        => Ok(1990);
    one_decimal: body("19.9") => Ok(1990);
    integer_amount: body("20") => Ok(2000);
    one_cent: body("0.01") => Ok(1);
    ten_cents: body("0.1") => Ok(10);
    large_amount: body("123456789.99") => Ok(12_345_678_999);
    maximum_amount: body("100000000000.00") => Ok(AMOUNT_CENTS_MAX);
    // Trailing zeros do not add precision: 19.900 is the decimal 19.90.
    trailing_zero_third_decimal: body("19.900") => Ok(1990);
    // JSON numbers may use exponents; 1e2 is exactly 100 and 1.99E1 is 19.9.
    exponent: body("1e2") => Ok(10_000);
    exponent_fraction: body("1.99E1") => Ok(1990);
    negative_exponent: body("1990e-2") => Ok(1990);
    escaped_id_character: format!(r#"{{"correlationId":"\u0034{}","amount":1}}"#, &ID[1..])
        => Ok(100);

    amount_zero: body("0") => Err(PaymentError::AmountInvalid);
    amount_zero_decimal: body("0.00") => Err(PaymentError::AmountInvalid);
    amount_negative: body("-19.90") => Err(PaymentError::AmountInvalid);
    amount_negative_zero: body("-0.0") => Err(PaymentError::AmountInvalid);
    amount_three_decimals: body("19.901") => Err(PaymentError::AmountInvalid);
    amount_below_one_cent: body("0.001") => Err(PaymentError::AmountInvalid);
    amount_half_cent: body("0.005") => Err(PaymentError::AmountInvalid);
    amount_three_decimals_hundreds: body("100.001") => Err(PaymentError::AmountInvalid);
    amount_over_maximum: body("100000000000.01") => Err(PaymentError::AmountInvalid);
    amount_far_over_maximum: body("1e300") => Err(PaymentError::AmountInvalid);
    amount_tiny_exponent: body("1e-300") => Err(PaymentError::AmountInvalid);
    // A present field of the wrong JSON type is reported as that field's error (`json_number`:
    // "anything else is an invalid amount"); JsonInvalid is for the object's shape.
    amount_string: body("\"19.90\"") => Err(PaymentError::AmountInvalid);
    amount_null: body("null") => Err(PaymentError::AmountInvalid);
    amount_bool: body("true") => Err(PaymentError::AmountInvalid);
    amount_object: body("{}") => Err(PaymentError::AmountInvalid);
    amount_array: body("[19.90]") => Err(PaymentError::AmountInvalid);
    amount_nan: body("NaN") => Err(PaymentError::JsonInvalid);
    amount_infinity: body("Infinity") => Err(PaymentError::JsonInvalid);
    amount_leading_zero: body("020") => Err(PaymentError::JsonInvalid);
    amount_trailing_dot: body("20.") => Err(PaymentError::JsonInvalid);
    amount_leading_dot: body(".5") => Err(PaymentError::JsonInvalid);
    amount_plus: body("+5") => Err(PaymentError::JsonInvalid);
    amount_comma: body("19,90") => Err(PaymentError::JsonInvalid);
    missing_amount: format!(r#"{{"correlationId":"{ID}"}}"#) => Err(PaymentError::JsonInvalid);
    missing_id: r#"{"amount":19.90}"#.to_string() => Err(PaymentError::JsonInvalid);
    extra_field: format!(r#"{{"correlationId":"{ID}","amount":19.90,"requestedAt":"x"}}"#)
        => Err(PaymentError::JsonInvalid);
    duplicate_amount: format!(r#"{{"correlationId":"{ID}","amount":19.90,"amount":1}}"#)
        => Err(PaymentError::JsonInvalid);
    duplicate_id: format!(r#"{{"correlationId":"{ID}","correlationId":"{ID}","amount":1}}"#)
        => Err(PaymentError::JsonInvalid);
    key_wrong_case: format!(r#"{{"correlationid":"{ID}","amount":1}}"#)
        => Err(PaymentError::JsonInvalid);
    snake_case_key: format!(r#"{{"correlation_id":"{ID}","amount":1}}"#)
        => Err(PaymentError::JsonInvalid);
    id_number: r#"{"correlationId":42,"amount":1}"#.to_string()
        => Err(PaymentError::CorrelationIdInvalid);
    id_null: r#"{"correlationId":null,"amount":1}"#.to_string()
        => Err(PaymentError::CorrelationIdInvalid);
    id_not_a_uuid: r#"{"correlationId":"hello","amount":1}"#.to_string()
        => Err(PaymentError::CorrelationIdInvalid);
    id_with_braces: format!(r#"{{"correlationId":"{{{ID}}}","amount":1}}"#)
        => Err(PaymentError::CorrelationIdInvalid);
    id_37_chars: format!(r#"{{"correlationId":"{ID}0","amount":1}}"#)
        => Err(PaymentError::CorrelationIdInvalid);
    id_35_chars: format!(r#"{{"correlationId":"{}","amount":1}}"#, &ID[1..])
        => Err(PaymentError::CorrelationIdInvalid);
    id_empty: r#"{"correlationId":"","amount":1}"#.to_string()
        => Err(PaymentError::CorrelationIdInvalid);
    // The id is checked before the amount: the first error found is reported.
    id_and_amount_both_invalid: r#"{"correlationId":"x","amount":-1}"#.to_string()
        => Err(PaymentError::CorrelationIdInvalid);
    empty_body: "" => Err(PaymentError::JsonInvalid);
    whitespace_body: "  \n" => Err(PaymentError::JsonInvalid);
    null_body: "null" => Err(PaymentError::JsonInvalid);
    empty_object: "{}" => Err(PaymentError::JsonInvalid);
    array_body: format!(r#"[{{"correlationId":"{ID}","amount":1}}]"#)
        => Err(PaymentError::JsonInvalid);
    trailing_garbage: format!("{} x", body("1")) => Err(PaymentError::JsonInvalid);
    trailing_object: format!("{}{{}}", body("1")) => Err(PaymentError::JsonInvalid);
    truncated: body("1")[..20].to_string() => Err(PaymentError::JsonInvalid);
    not_json: "correlationId=x&amount=1" => Err(PaymentError::JsonInvalid);
}

#[test]
fn three_decimals_are_refused_for_large_amounts() {
    // 1e-6 * rounded cents exceeds the 0.1 cent a third decimal adds once rounded >= 100_000.
    for amount in ["1000.001", "10000.001", "123456.789", "99999999.999"] {
        assert_eq!(parse_body(&body(amount)), Err(PaymentError::AmountInvalid), "{amount}");
    }
}

#[test]
fn a_json_parser_serves_many_parses() {
    // The API keeps one `JsonParser` per connection; its tape and buffers are reused, so a failed
    // parse or a larger body must not affect the next result.
    let mut parser = JsonParser::new(BODY_BYTES_MAX);
    let big = format!(r#"{{"correlationId":"{ID}",{}"amount":1}}"#, " ".repeat(3000));
    for round in 0..3 {
        let cases: [(&str, Result<u64, PaymentError>); 5] = [
            (&body("19.90"), Ok(1990)),
            ("{\"correlationId\":", Err(PaymentError::JsonInvalid)),
            (&big, Ok(100)),
            (&body("-1"), Err(PaymentError::AmountInvalid)),
            (&body("0.01"), Ok(1)),
        ];
        for (text, expected) in cases {
            let mut bytes = text.as_bytes().to_vec();
            let parsed =
                parser.parse_payment_request(&mut bytes).map(|payment| payment.amount_cents);
            assert_eq!(parsed, expected, "round {round}: {text}");
        }
    }
}

#[test]
fn timestamp_with_an_empty_fraction_is_refused() {
    assert_eq!(parse_timestamp_us(b"2025-07-10T12:34:56.Z"), None);
}

#[test]
fn amount_to_cents_refuses_non_finite_and_non_positive() {
    for amount in
        [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, -0.01, f64::MIN_POSITIVE, f64::MAX]
    {
        assert_eq!(amount_to_cents(amount), Err(PaymentError::AmountInvalid), "{amount}");
    }
    assert_eq!(amount_to_cents(19.9), Ok(1990));
    assert_eq!(amount_to_cents(0.29), Ok(29), "0.29 * 100 is 28.999999999999996 in f64");
}

#[test]
fn the_same_buffers_serve_many_parses() {
    // The hot path reuses one `Buffers`; an earlier parse, even a failed one, must not leak
    // into the next.
    let mut buffers = Buffers::default();
    for (text, expected) in [
        (body("19.90"), Ok(1990)),
        (body("\"x\""), Err(PaymentError::AmountInvalid)),
        ("[".repeat(50), Err(PaymentError::JsonInvalid)),
        (format!(r#"{{"amount":0.01,"correlationId":"{ID}"}}"#), Ok(1)),
        ("{".repeat(50), Err(PaymentError::JsonInvalid)),
        (body("20"), Ok(2000)),
    ] {
        let mut bytes = text.clone().into_bytes();
        let parsed =
            parse_payment_request(&mut bytes, &mut buffers).map(|payment| payment.amount_cents);
        assert_eq!(parsed, expected, "{text}");
    }
}

#[test]
fn correlation_id_table() {
    let valid = [
        ID,
        "4A7901B8-7D26-4D9D-AA19-4DC1C7CF60B3",
        "4a7901B8-7d26-4D9d-aA19-4dc1c7cf60b3",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ];
    for text in valid {
        let parsed = CorrelationId::parse(text.as_bytes()).unwrap_or_else(|_| panic!("{text}"));
        assert_eq!(parsed.as_bytes(), text.as_bytes(), "kept exactly as received");
        assert_eq!(parsed.as_str(), text);
    }
    let invalid = [
        "",
        &ID[..35],
        &format!("{ID}0"),
        &format!("{{{ID}}}"),
        &format!("urn:uuid:{ID}"),
        "4a7901b87d264d9daa194dc1c7cf60b3",
        "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3 ",
        " 4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b",
        "4a7901b8-7d26-4d9d-aa194-dc1c7cf60b3",
        "4a7901b8_7d26_4d9d_aa19_4dc1c7cf60b3",
        "4a7901g8-7d26-4d9d-aa19-4dc1c7cf60b3",
        "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b\u{e9}",
        "------------------------------------",
    ];
    for text in invalid {
        assert_eq!(
            CorrelationId::parse(text.as_bytes()),
            Err(PaymentError::CorrelationIdInvalid),
            "{text:?}"
        );
    }
    assert_eq!(ID.len(), CORRELATION_ID_BYTES);
}

#[test]
fn write_cents_table() {
    let cases: &[(u64, &str)] = &[
        (0, "0.00"),
        (1, "0.01"),
        (10, "0.10"),
        (99, "0.99"),
        (100, "1.00"),
        (1990, "19.90"),
        (41_554_234_598, "415542345.98"),
        (AMOUNT_CENTS_MAX, "100000000000.00"),
        (u64::MAX, "184467440737095516.15"),
    ];
    for (cents, text) in cases {
        let mut out = b"x".to_vec();
        write_cents(&mut out, *cents);
        assert_eq!(out, format!("x{text}").as_bytes(), "appends {cents}");
    }
}

#[test]
fn write_summary_has_the_contest_shape() {
    let mut out = Vec::new();
    let default = Totals { requests: 43_236, amount_cents: 41_554_234_598 };
    let fallback = Totals { requests: 423_545, amount_cents: 32_934_734 };
    write_summary(&mut out, default, fallback);
    let expected = concat!(
        r#"{"default":{"totalRequests":43236,"totalAmount":415542345.98},"#,
        r#""fallback":{"totalRequests":423545,"totalAmount":329347.34}}"#,
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);

    let mut empty = Vec::new();
    write_summary(&mut empty, Totals::default(), Totals::default());
    let expected = concat!(
        r#"{"default":{"totalRequests":0,"totalAmount":0.00},"#,
        r#""fallback":{"totalRequests":0,"totalAmount":0.00}}"#,
    );
    assert_eq!(String::from_utf8(empty).unwrap(), expected);
}

#[test]
fn write_processor_payment_has_the_processor_shape() {
    let mut out = Vec::new();
    let payment = PaymentRequest { correlation_id: id(ID), amount_cents: 1990 };
    write_processor_payment(&mut out, &payment, BASE_MS + 7);
    let expected = format!(
        r#"{{"correlationId":"{ID}","amount":19.90,"requestedAt":"2025-07-10T12:34:56.007Z"}}"#
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

/// Reads back a processor payload as the official processor would: any JSON parser, the three
/// fields by name. Returns (correlation id, amount in cents, `requestedAt` in microseconds).
fn read_processor_payload(out: &mut [u8]) -> (String, u64, i64) {
    use simd_json::prelude::*;
    let value = simd_json::to_owned_value(out).expect("the payload is JSON");
    let id = value.get("correlationId").and_then(|id| id.as_str()).expect("correlationId");
    let amount = value.get("amount").and_then(|amount| amount.cast_f64()).expect("amount");
    let requested_at = value.get("requestedAt").and_then(|at| at.as_str()).expect("requestedAt");
    let requested_at_us = parse_timestamp_us(requested_at.as_bytes()).expect("an RFC 3339 time");
    (id.to_string(), amount_to_cents(amount).expect("two decimal places"), requested_at_us)
}

#[test]
fn timestamp_table() {
    let cases: &[(&str, Option<i64>)] = &[
        ("1970-01-01T00:00:00Z", Some(0)),
        ("1970-01-01T00:00:00.000001Z", Some(1)),
        ("2025-07-10T12:34:56Z", Some(BASE_MS * 1000)),
        ("2025-07-10T12:34:56.000Z", Some(BASE_MS * 1000)),
        ("2025-07-10T12:34:56.1Z", Some(BASE_MS * 1000 + 100_000)),
        ("2025-07-10T12:34:56.123Z", Some(BASE_MS * 1000 + 123_000)),
        ("2025-07-10T12:34:56.123456Z", Some(BASE_MS * 1000 + 123_456)),
        ("2025-07-10T12:34:56.123456789Z", Some(BASE_MS * 1000 + 123_456)),
        ("2024-02-29T00:00:00Z", Some(1_709_164_800_000_000)),
        ("1999-12-31T23:59:59.999999Z", Some(946_684_799_999_999)),
        ("2100-01-01T00:00:00.000Z", Some(YEAR_2100_MS * 1000)),
        ("2025-07-10T12:34:56.000", None),
        ("2025-07-10T12:34:56.000+00:00", None),
        ("2025-07-10T12:34:56.000-03:00", None),
        ("2025-07-10 12:34:56.000Z", None),
        ("2025-07-10t12:34:56.000z", None),
        ("2025-13-10T12:34:56.000Z", None),
        ("2025-02-29T00:00:00Z", None),
        ("2025-07-10T24:00:00Z", None),
        ("2025-07-10T12:60:00Z", None),
        ("1969-12-31T23:59:59.999Z", None),
        ("2025-07-10", None),
        ("2025-07-10Z", None),
        ("20250710T123456Z", None),
        ("Z", None),
        ("", None),
        ("2025-07-10T12:34:56.00aZ", None),
        ("1752150896000", None),
    ];
    for (text, micros) in cases {
        assert_eq!(parse_timestamp_us(text.as_bytes()), *micros, "{text}");
        // Milliseconds truncate the microseconds (all cases are after 1970, so floor = truncate).
        assert_eq!(
            parse_timestamp_ms(text.as_bytes()),
            micros.map(|micros| micros / 1000),
            "{text}"
        );
    }
}

#[test]
fn write_timestamp_table() {
    let cases: &[(i64, &str)] = &[
        (0, "1970-01-01T00:00:00.000Z"),
        (1, "1970-01-01T00:00:00.001Z"),
        (BASE_MS, "2025-07-10T12:34:56.000Z"),
        (BASE_MS + 999, "2025-07-10T12:34:56.999Z"),
        (YEAR_2100_MS, "2100-01-01T00:00:00.000Z"),
    ];
    for (millis, text) in cases {
        let mut out = Vec::new();
        write_timestamp_ms(&mut out, *millis);
        assert_eq!(String::from_utf8(out).unwrap(), *text);
        let mut out = Vec::new();
        write_timestamp_us(&mut out, millis * 1000 + 7);
        assert_eq!(String::from_utf8(out).unwrap(), text.replace('Z', "007Z"));
    }
}

#[test]
#[should_panic]
fn write_timestamp_ms_refuses_negative() {
    write_timestamp_ms(&mut Vec::new(), -1);
}

#[test]
fn summary_window_accepts_what_the_contest_sends() {
    // `toISOString()` output, unencoded, both bounds inclusive to the millisecond.
    let query = b"from=2025-07-10T12:34:56.000Z&to=2025-07-10T12:35:56.999Z";
    assert_eq!(
        parse_window(query),
        Ok(SummaryWindow { from_ms: Some(BASE_MS), to_ms: Some(BASE_MS + 60_999) })
    );
    assert_eq!(parse_window(b""), Ok(SummaryWindow { from_ms: None, to_ms: None }));
    assert_eq!(parse_window(b"from=2025-07-10T12:34:56.000Z&to=soon"), Err(WindowError::To));
    assert_eq!(parse_window(b"from=x&to=soon"), Err(WindowError::From));
}

/// `{cents / 100}.{cents % 100:02}`: the text a client sends for an amount with two places.
fn amount_text(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// A UUID in random letter case.
fn correlation_id_text() -> impl Strategy<Value = String> {
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
}

/// JSON whitespace.
fn blank() -> impl Strategy<Value = String> {
    "[ \t\r\n]{0,3}"
}

/// Bytes that our JSON payloads are made of.
const JSON_NOISE: &[u8] = b"{}[]\":,0123456789.eE-+ correlationIdamountrequestedAt\\u";

fn parse_cents(body: &str) -> Result<u64, PaymentError> {
    parse_body(body).map(|payment| payment.amount_cents)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn every_two_place_amount_parses_to_its_cents(
        cents in prop_oneof![1..=10_000u64, 1..=AMOUNT_CENTS_MAX],
    ) {
        let text = amount_text(cents);
        prop_assert_eq!(parse_cents(&body(&text)), Ok(cents), "{}", text);
        let mut written = Vec::new();
        write_cents(&mut written, cents);
        prop_assert_eq!(String::from_utf8(written).unwrap(), text);
    }

    #[test]
    fn one_place_and_integer_amounts_parse(units in 1..=1_000_000_000u64, tenths in 0..10u64) {
        let text = format!("{units}.{tenths}");
        prop_assert_eq!(parse_cents(&body(&text)), Ok(units * 100 + tenths * 10));
        prop_assert_eq!(parse_cents(&body(&units.to_string())), Ok(units * 100));
    }

    #[test]
    fn three_decimals_are_refused_below_100(cents in 0..10_000u64, thousandth in 1..10u64) {
        // Contest amounts are around 19.90; the full range is in the ignored test above.
        let text = format!("{}{thousandth}", amount_text(cents));
        prop_assert_eq!(parse_body(&body(&text)), Err(PaymentError::AmountInvalid), "{}", text);
    }

    #[test]
    fn three_decimals_are_refused_at_any_size(
        cents in 0..AMOUNT_CENTS_MAX,
        thousandth in 1..10u64,
    ) {
        let text = format!("{}{thousandth}", amount_text(cents));
        prop_assert_eq!(parse_body(&body(&text)), Err(PaymentError::AmountInvalid), "{}", text);
    }

    #[test]
    fn payment_bodies_in_any_layout_parse(
        id in correlation_id_text(),
        cents in 1..=AMOUNT_CENTS_MAX,
        amount_first in any::<bool>(),
        spaces in prop::collection::vec(blank(), 8),
    ) {
        let id_member = format!(r#""correlationId"{}:{}"{id}""#, spaces[0], spaces[1]);
        let amount_member = format!(r#""amount"{}:{}{}"#, spaces[2], spaces[3], amount_text(cents));
        let (first, second) =
            if amount_first { (amount_member, id_member) } else { (id_member, amount_member) };
        let [outer, inner, before_comma, after_comma] =
            [&spaces[4], &spaces[5], &spaces[6], &spaces[7]];
        let text = format!(
            "{outer}{{{inner}{first}{before_comma},{after_comma}{second}{inner}}}{outer}"
        );
        let parsed = parse_body(&text)
            .map_err(|error| TestCaseError::fail(format!("{error:?}: {text}")))?;
        prop_assert_eq!(parsed.correlation_id.as_bytes(), id.as_bytes());
        prop_assert_eq!(parsed.amount_cents, cents);
    }

    #[test]
    fn millisecond_timestamps_round_trip(millis in 0..=YEAR_2100_MS) {
        let mut out = Vec::new();
        write_timestamp_ms(&mut out, millis);
        prop_assert_eq!(out.len(), 24);
        prop_assert_eq!(parse_timestamp_ms(&out), Some(millis));
        prop_assert_eq!(parse_timestamp_us(&out), Some(millis * 1000));
        // The summary endpoint reads exactly this format, as the contest's toISOString() sends it.
        let query = [b"from=".as_slice(), &out, b"&to=", &out].concat();
        let window = SummaryWindow { from_ms: Some(millis), to_ms: Some(millis) };
        prop_assert_eq!(parse_window(&query), Ok(window));
    }

    #[test]
    fn microsecond_timestamps_round_trip(micros in 0..=YEAR_2100_MS * 1000) {
        let mut out = Vec::new();
        write_timestamp_us(&mut out, micros);
        prop_assert_eq!(out.len(), 27);
        prop_assert_eq!(parse_timestamp_us(&out), Some(micros));
        prop_assert_eq!(parse_timestamp_ms(&out), Some(micros / 1000));
    }

    #[test]
    fn processor_payments_round_trip(
        id in correlation_id_text(),
        cents in 1..=AMOUNT_CENTS_MAX,
        millis in 0..=YEAR_2100_MS,
    ) {
        let correlation_id = CorrelationId::parse(id.as_bytes()).unwrap();
        let payment = PaymentRequest { correlation_id, amount_cents: cents };
        let mut out = Vec::new();
        write_processor_payment(&mut out, &payment, millis);
        let (read_id, read_cents, read_us) = read_processor_payload(&mut out);
        prop_assert_eq!(CorrelationId::parse(read_id.as_bytes()), Ok(payment.correlation_id));
        prop_assert_eq!(read_cents, cents);
        prop_assert_eq!(read_us, millis * 1000);
    }

    #[test]
    fn summaries_are_valid_json_with_exact_totals(
        requests in any::<[u32; 2]>(),
        cents in prop::array::uniform2(0..=AMOUNT_CENTS_MAX),
    ) {
        let totals = |index: usize| Totals {
            requests: u64::from(requests[index]),
            amount_cents: cents[index],
        };
        let mut out = Vec::new();
        write_summary(&mut out, totals(0), totals(1));
        let text = String::from_utf8(out.clone()).unwrap();
        let value = simd_json::to_owned_value(&mut out)
            .map_err(|error| TestCaseError::fail(format!("{error}: {text}")))?;
        use simd_json::prelude::*;
        for (index, name) in ["default", "fallback"].into_iter().enumerate() {
            let section = value.get(name).expect("section");
            let count = section.get("totalRequests").and_then(|value| value.as_u64());
            prop_assert_eq!(count, Some(u64::from(requests[index])));
            let amount = section.get("totalAmount").and_then(|value| value.as_f64()).unwrap();
            prop_assert_eq!(amount_to_cents(amount).unwrap_or(0), cents[index]);
        }
    }

    #[test]
    fn random_bytes_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_timestamp_us(&bytes);
        let _ = CorrelationId::parse(&bytes);
        let _ = parse_window(&bytes);
        let _ = parse_payment_request(&mut bytes, &mut Buffers::default());
    }

    #[test]
    fn json_shaped_bytes_never_panic(
        mut bytes in prop::collection::vec(prop::sample::select(JSON_NOISE.to_vec()), 0..200),
    ) {
        let _ = parse_payment_request(&mut bytes, &mut Buffers::default());
    }
}
