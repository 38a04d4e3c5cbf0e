//! Payment domain types and the codecs for the payloads the backend reads and writes.
//!
//! Money is `u64` cents end to end: JSON amounts are converted to cents once, on input, and printed
//! back from cents as exact decimals. Timestamps are milliseconds since the Unix epoch (`i64`), or
//! microseconds where the processor simulator needs them.
//!
//! JSON input is parsed by `simd-json` (with reusable [`Buffers`] so the hot path does not allocate
//! its working memory); JSON output is small and fixed-shape, so it is written directly into the
//! caller's buffer with `itoa`.
//!
//! Pure: no I/O, no clock. Callers pass `now` in.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use simd_json::Buffers;
use simd_json::{prelude::*, Tape};

/// Length of a textual UUID, `8-4-4-4-12` hex digits with dashes.
pub const CORRELATION_ID_BYTES: usize = 36;

/// The largest amount accepted, in cents. Bounds every sum we compute: a billion payments of this
/// size still fit in an `u64` (1e13 * 1e9 < 1.8e19), and it is far above any real payment.
pub const AMOUNT_CENTS_MAX: u64 = 10_000_000_000_000;

/// A validated correlation id, kept as its 36 ASCII bytes so it can be copied without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CorrelationId([u8; CORRELATION_ID_BYTES]);

impl CorrelationId {
    /// Validates the textual form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits, either case).
    ///
    /// # Errors
    /// [`PaymentError::CorrelationIdInvalid`] when the length, a dash or a digit is wrong.
    pub fn parse(text: &[u8]) -> Result<Self, PaymentError> {
        if text.len() != CORRELATION_ID_BYTES {
            return Err(PaymentError::CorrelationIdInvalid);
        }
        for (index, byte) in text.iter().enumerate() {
            let valid = match index {
                8 | 13 | 18 | 23 => *byte == b'-',
                _ => byte.is_ascii_hexdigit(),
            };
            if !valid {
                return Err(PaymentError::CorrelationIdInvalid);
            }
        }
        let mut bytes = [0u8; CORRELATION_ID_BYTES];
        bytes.copy_from_slice(text);
        Ok(Self(bytes))
    }

    /// The id as bytes, exactly as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The id as text (always ASCII, checked by [`CorrelationId::parse`]).
    pub fn as_str(&self) -> &str {
        // The bytes were checked to be ASCII hex digits and dashes.
        std::str::from_utf8(&self.0).expect("correlation id is ASCII")
    }
}

impl std::fmt::Debug for CorrelationId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Why a payment payload was refused. Each variant becomes a `400` with `PaymentError::reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentError {
    /// The body is not a JSON object with exactly the expected fields (a field of the wrong type
    /// is reported as that field's own error).
    JsonInvalid,
    /// `correlationId` is not a textual UUID.
    CorrelationIdInvalid,
    /// `amount` is zero, negative, has more than two decimal places, or is absurdly large.
    AmountInvalid,
    /// `requestedAt` is not an RFC 3339 UTC timestamp.
    RequestedAtInvalid,
}

impl PaymentError {
    /// A short reason for the response body.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::JsonInvalid => "body must be a JSON object with correlationId and amount",
            Self::CorrelationIdInvalid => "correlationId must be a UUID",
            Self::AmountInvalid => "amount must be a positive decimal with at most 2 places",
            Self::RequestedAtInvalid => "requestedAt must be an RFC 3339 UTC timestamp",
        }
    }
}

/// A payment as the API accepts it: `{"correlationId": uuid, "amount": decimal}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentRequest {
    /// Unique per payment; duplicates are accepted and paid once.
    pub correlation_id: CorrelationId,
    /// The amount in cents.
    pub amount_cents: u64,
}

/// A reusable JSON parser for the payloads this crate reads: simd-json's working buffers and its
/// tape are kept between calls, so parsing a payment allocates nothing once they have grown to the
/// size of the largest body seen.
pub struct JsonParser {
    buffers: Buffers,
    /// The tape of the last parse, emptied; `'static` only while empty (see [`Tape::reset`]).
    tape: Option<Tape<'static>>,
}

impl JsonParser {
    /// A parser sized for bodies up to `body_bytes_max`.
    pub fn new(body_bytes_max: usize) -> Self {
        Self { buffers: Buffers::new(body_bytes_max), tape: Some(Tape(Vec::with_capacity(64))) }
    }

    /// Parses `body` (in place: simd-json rewrites escapes) and hands the root value to `read`.
    fn with_value<T>(
        &mut self,
        body: &mut [u8],
        read: impl FnOnce(simd_json::tape::Value<'_, '_>) -> Result<T, PaymentError>,
    ) -> Result<T, PaymentError> {
        let mut tape: Tape<'_> = self.tape.take().unwrap_or_else(|| Tape(Vec::new())).reset();
        let result = match simd_json::fill_tape(body, &mut self.buffers, &mut tape) {
            Ok(()) => read(tape.as_value()),
            Err(_) => Err(PaymentError::JsonInvalid),
        };
        self.tape = Some(tape.reset());
        result
    }

    /// Parses the body of `POST /payments`: exactly the fields `correlationId` and `amount`.
    ///
    /// # Errors
    /// The first [`PaymentError`] found.
    pub fn parse_payment_request(
        &mut self,
        body: &mut [u8],
    ) -> Result<PaymentRequest, PaymentError> {
        self.with_value(body, |value| {
            let object = value.as_object().ok_or(PaymentError::JsonInvalid)?;
            if object.len() != 2 {
                return Err(PaymentError::JsonInvalid);
            }
            let correlation_id = object.get("correlationId").ok_or(PaymentError::JsonInvalid)?;
            let amount = object.get("amount").ok_or(PaymentError::JsonInvalid)?;
            let correlation_id =
                correlation_id.as_str().ok_or(PaymentError::CorrelationIdInvalid)?;
            let correlation_id = CorrelationId::parse(correlation_id.as_bytes())?;
            let amount_cents = amount_to_cents(json_number(amount)?)?;
            Ok(PaymentRequest { correlation_id, amount_cents })
        })
    }
}

/// A JSON number (integer or decimal) as `f64`; anything else is an invalid amount.
fn json_number(value: simd_json::tape::Value<'_, '_>) -> Result<f64, PaymentError> {
    value.cast_f64().ok_or(PaymentError::AmountInvalid)
}

/// Parses the body of `POST /payments` with a one-off parser (tests and cold paths; the API keeps
/// a [`JsonParser`] per thread).
///
/// # Errors
/// The first [`PaymentError`] found.
pub fn parse_payment_request(
    body: &mut [u8],
    buffers: &mut Buffers,
) -> Result<PaymentRequest, PaymentError> {
    let mut parser =
        JsonParser { buffers: std::mem::replace(buffers, Buffers::new(0)), tape: None };
    let result = parser.parse_payment_request(body);
    *buffers = parser.buffers;
    result
}

/// Converts a JSON amount to cents, refusing more than two decimal places.
///
/// A JSON decimal such as `19.90` arrives as the nearest `f64`; scaled by 100 it lands within a
/// few ulps of an integer exactly when the text had at most two places. Up to
/// [`AMOUNT_CENTS_MAX`] (1e13 cents) an ulp is under 0.002 cent, while a third decimal place is at
/// least 0.1 cent away from an integer, so a fixed tolerance of 0.01 cent separates the two.
///
/// # Errors
/// [`PaymentError::AmountInvalid`] for non-positive, non-finite, over-precise or huge amounts.
pub fn amount_to_cents(amount: f64) -> Result<u64, PaymentError> {
    const TOLERANCE_CENTS: f64 = 0.01;
    if !amount.is_finite() || amount <= 0.0 {
        return Err(PaymentError::AmountInvalid);
    }
    let scaled = amount * 100.0;
    if scaled > AMOUNT_CENTS_MAX as f64 {
        return Err(PaymentError::AmountInvalid);
    }
    let rounded = scaled.round();
    if (scaled - rounded).abs() > TOLERANCE_CENTS || rounded < 1.0 {
        return Err(PaymentError::AmountInvalid);
    }
    Ok(rounded as u64)
}

/// Appends `cents` as an exact decimal with two places: `1990` -> `19.90`.
pub fn write_cents(out: &mut Vec<u8>, cents: u64) {
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(digits.format(cents / 100).as_bytes());
    let fraction = (cents % 100) as u8;
    out.extend_from_slice(&[b'.', b'0' + fraction / 10, b'0' + fraction % 10]);
}

/// Appends the body a processor receives, with `requestedAt` at millisecond precision.
pub fn write_processor_payment(out: &mut Vec<u8>, payment: &PaymentRequest, requested_at_ms: i64) {
    out.extend_from_slice(b"{\"correlationId\":\"");
    out.extend_from_slice(payment.correlation_id.as_bytes());
    out.extend_from_slice(b"\",\"amount\":");
    write_cents(out, payment.amount_cents);
    out.extend_from_slice(b",\"requestedAt\":\"");
    write_timestamp_ms(out, requested_at_ms);
    out.extend_from_slice(b"\"}");
}

/// Totals for one processor in a summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Number of payments recorded.
    pub requests: u64,
    /// Sum of their amounts, in cents.
    pub amount_cents: u64,
}

/// Appends the `GET /payments-summary` body:
/// `{"default":{"totalRequests":N,"totalAmount":X.YY},"fallback":{...}}`.
pub fn write_summary(out: &mut Vec<u8>, default: Totals, fallback: Totals) {
    out.extend_from_slice(b"{\"default\":");
    write_totals(out, default);
    out.extend_from_slice(b",\"fallback\":");
    write_totals(out, fallback);
    out.push(b'}');
}

fn write_totals(out: &mut Vec<u8>, totals: Totals) {
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(b"{\"totalRequests\":");
    out.extend_from_slice(digits.format(totals.requests).as_bytes());
    out.extend_from_slice(b",\"totalAmount\":");
    write_cents(out, totals.amount_cents);
    out.push(b'}');
}

/// Parses an RFC 3339 UTC timestamp (`2025-07-10T12:34:56.000Z`, any sub-second precision down to
/// microseconds, or none) into milliseconds since the epoch. Sub-millisecond digits are truncated.
pub fn parse_timestamp_ms(text: &[u8]) -> Option<i64> {
    parse_timestamp_us(text).map(|micros| micros.div_euclid(1000))
}

/// Parses an RFC 3339 UTC timestamp into microseconds since the epoch (nanoseconds truncated).
/// Only the `Z` suffix is accepted: every party in the contest speaks UTC.
pub fn parse_timestamp_us(text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?;
    if !text.ends_with('Z') || text.len() < 20 {
        return None;
    }
    // RFC 3339 wants at least one digit after the dot; humantime lets `56.Z` through.
    if text.contains(".Z") {
        return None;
    }
    let time = humantime::parse_rfc3339(text).ok()?;
    let since_epoch = time.duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(since_epoch.as_micros()).ok()
}

/// Appends `2025-07-10T12:34:56.789Z` for `millis` since the epoch (which must not be negative).
pub fn write_timestamp_ms(out: &mut Vec<u8>, millis: i64) {
    assert!(millis >= 0, "timestamps before 1970 are never produced");
    let time = UNIX_EPOCH + Duration::from_millis(millis as u64);
    let mut text = [0u8; 24];
    format_rfc3339_millis(time, &mut text);
    out.extend_from_slice(&text);
}

/// Appends `2025-07-10T12:34:56.789123Z` for `micros` since the epoch.
pub fn write_timestamp_us(out: &mut Vec<u8>, micros: i64) {
    assert!(micros >= 0, "timestamps before 1970 are never produced");
    let time = UNIX_EPOCH + Duration::from_micros(micros as u64);
    use std::io::Write;
    // humantime's Display for micros writes exactly 27 bytes; a Vec write cannot fail.
    write!(out, "{}", humantime::format_rfc3339_micros(time)).expect("write to Vec");
}

fn format_rfc3339_millis(time: SystemTime, text: &mut [u8; 24]) {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(&mut text[..]);
    // Always 24 bytes for years 1970..=9999; the cursor write cannot overflow.
    write!(cursor, "{}", humantime::format_rfc3339_millis(time)).expect("24-byte timestamp");
    assert_eq!(cursor.position(), 24);
}

/// Milliseconds since the epoch for `time`.
pub(crate) fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_millis() as i64).unwrap_or(0)
}

/// The two payment processors. The default is always the cheaper one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Processor {
    /// The cheaper processor.
    Default,
    /// The dearer processor, used when the default is failing or too slow.
    Fallback,
}

impl Processor {
    /// Both processors, default first.
    pub const ALL: [Processor; 2] = [Processor::Default, Processor::Fallback];

    /// One-byte code used in the ledger (`d` or `f`).
    pub fn code(self) -> u8 {
        match self {
            Self::Default => b'd',
            Self::Fallback => b'f',
        }
    }

    /// The processor for a ledger code.
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            b'd' => Some(Self::Default),
            b'f' => Some(Self::Fallback),
            _ => None,
        }
    }

    /// The index of this processor in arrays of two (default 0, fallback 1).
    pub fn index(self) -> usize {
        match self {
            Self::Default => 0,
            Self::Fallback => 1,
        }
    }

    /// The name used in logs and in the summary.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Fallback => "fallback",
        }
    }
}

/// The processor's self-reported health (`GET /payments/service-health`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Failure mode is on.
    pub failing: bool,
    /// The configured delay, in milliseconds.
    pub min_response_time: u64,
}

/// A health report and when it was polled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthReport {
    /// The processor's answer.
    pub health: Health,
    /// When it was polled (ms since the epoch).
    pub polled_at_ms: i64,
}
