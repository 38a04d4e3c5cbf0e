//! The values the backend keeps in Redis, one codec each, with the Lua side of every layout that a
//! script reads or writes.
//!
//! # One field order
//! A payment's fields always appear in one order, and each value is a run of them:
//!
//! `<id>` `:` `<cents>` `:` `<accepted at ms>` `:` `<d|f>` `:` `<requestedAt ms>`
//!
//! | value | where | layout |
//! |---|---|---|
//! | queue entry | `rinha:queue` items | `<id>:<cents>:<accepted at ms>`: the first three fields |
//! | processing entry | `rinha:processing:<worker>:<thread>`, field `<id>` | `<cents>:<accepted at ms>:<d\|f>:<requestedAt ms>`: all five, the id being the hash field |
//! | record entry | RECORD's batch, `,`-joined | `<id>:<cents>:<accepted at ms>:<d\|f>:<requestedAt ms>`: all five |
//! | take record | `rinha:processing:<worker>:<thread>:take` | `<ticket>\|<queue entry>,<queue entry>…` |
//! | ledger entry | `rinha:ledger:<second>`, field `<id>` | `<cents>:<d\|f>:<ms within the second, 3 digits>` |
//! | health report | `rinha:health:<d\|f>` | `<failing 0\|1>:<minResponseTime>:<polled at ms>` |
//!
//! So TAKE turns a queue entry into a processing entry by dropping `<id>:` and appending the
//! attempt, and a record entry is `<id>:` and the processing entry. Numbers are decimal ASCII
//! without sign or padding (except the ledger's three millisecond digits).
//!
//! # Who encodes and who decodes
//! Each value is encoded in one place and decoded in one place, on either side of the Lua
//! boundary. The Rust half is below; the Lua half is a macro beside it that the scripts splice in
//! with `concat!` (`store::scripts`). `tests/store_codec.rs` checks the Rust pairs, and
//! `tests/store.rs` runs each script on values the Rust side encoded and decodes what it wrote.

use super::TakenPayment;
use crate::{
    payment::{CorrelationId, PaymentRequest, Processor, CORRELATION_ID_BYTES},
    payment::{Health, HealthReport},
};

/// Separates the fields of a value.
pub(crate) const FIELD_SEPARATOR: u8 = b':';
/// Separates the entries of a list packed into one string (RECORD's batch, the take record).
pub(crate) const LIST_SEPARATOR: u8 = b',';
/// Separates a take record's ticket from the entries it took.
pub(crate) const TICKET_SEPARATOR: u8 = b'|';

/// Most decimal digits of a `u64` or a non-negative `i64`.
const NUMBER_DIGITS_MAX: usize = 20;

/// An encoded value in a fixed buffer of `N` bytes, so encoding allocates nothing.
#[derive(Clone, Copy)]
pub struct Encoded<const N: usize> {
    bytes: [u8; N],
    length: usize,
}

impl<const N: usize> Encoded<N> {
    fn new() -> Self {
        Self { bytes: [0; N], length: 0 }
    }

    fn push(&mut self, bytes: &[u8]) -> &mut Self {
        assert!(self.length + bytes.len() <= N, "an encoded value outgrew its bound");
        self.bytes[self.length..self.length + bytes.len()].copy_from_slice(bytes);
        self.length += bytes.len();
        self
    }

    fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.push(&[FIELD_SEPARATOR]).push(bytes)
    }

    fn number(&mut self, number: u64) -> &mut Self {
        self.push(itoa::Buffer::new().format(number).as_bytes())
    }

    fn number_field(&mut self, number: u64) -> &mut Self {
        self.push(&[FIELD_SEPARATOR]).number(number)
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.length]
    }
}

impl<const N: usize> std::fmt::Debug for Encoded<N> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}", self.as_bytes().escape_ascii())
    }
}

/// A time as a field: every time this code writes is at or after the epoch.
fn time_ms(time_ms: i64) -> u64 {
    assert!(time_ms >= 0, "timestamps before 1970 are never written");
    time_ms as u64
}

/// Reads a field of 1 to 18 decimal digits: more than any amount or time this code writes, and few
/// enough that an `i64` cannot overflow. No sign, no spaces.
fn parse_decimal(text: &[u8]) -> Option<i64> {
    if text.len() > 18 {
        return None;
    }
    i64::try_from(crate::number::parse_digits(text)?).ok()
}

/// Splits a value into its fields and reads them in order; `finish` refuses leftovers.
struct Fields<'a>(std::slice::Split<'a, u8, fn(&u8) -> bool>);

impl<'a> Fields<'a> {
    fn new(value: &'a [u8]) -> Self {
        Self(value.split(|byte| *byte == FIELD_SEPARATOR))
    }

    fn number(&mut self) -> Option<i64> {
        parse_decimal(self.0.next()?)
    }

    fn amount_cents(&mut self) -> Option<u64> {
        u64::try_from(self.number()?).ok()
    }

    fn processor(&mut self) -> Option<Processor> {
        match self.0.next()? {
            [code] => Processor::from_code(*code),
            _ => None,
        }
    }

    fn finish<T>(mut self, value: T) -> Option<T> {
        self.0.next().is_none().then_some(value)
    }
}

// ---------------------------------------------------------------------------------------------
// Queue entry: `<id>:<cents>:<accepted at ms>`. Encoded by the API (ENQUEUE, REQUEUE), decoded by
// TAKE in Lua and by `Store::take` in Rust (TAKE returns the entries it took).

/// Longest queue entry: the id and two numbers.
pub const QUEUE_ENTRY_BYTES_MAX: usize = CORRELATION_ID_BYTES + 2 * (1 + NUMBER_DIGITS_MAX);

/// Encodes a queue entry.
///
/// # Panics
/// If `accepted_at_ms` is negative.
pub fn encode_queue_entry(
    payment: &PaymentRequest,
    accepted_at_ms: i64,
) -> Encoded<QUEUE_ENTRY_BYTES_MAX> {
    let mut entry = Encoded::new();
    entry
        .push(payment.correlation_id.as_bytes())
        .number_field(payment.amount_cents)
        .number_field(time_ms(accepted_at_ms));
    entry
}

/// Decodes a queue entry into the payment and its acceptance time.
pub fn decode_queue_entry(entry: &[u8]) -> Option<(PaymentRequest, i64)> {
    let id = entry.get(..CORRELATION_ID_BYTES)?;
    let rest = entry[CORRELATION_ID_BYTES..].strip_prefix(&[FIELD_SEPARATOR])?;
    let correlation_id = CorrelationId::parse(id).ok()?;
    let mut fields = Fields::new(rest);
    let amount_cents = fields.amount_cents()?;
    let accepted_at_ms = fields.number()?;
    fields.finish((PaymentRequest { correlation_id, amount_cents }, accepted_at_ms))
}

/// The Lua half of the queue entry: TAKE decodes it into id, cents and acceptance, and turns it
/// into a processing entry by dropping `<id>:` (`string.sub(entry, QUEUE_ENTRY_REST)`).
macro_rules! lua_queue_entry {
    () => {
        r#"
-- Queue entry (store::codec): <id>:<cents>:<accepted at ms>.
local function decode_queue_entry(entry)
  return string.match(entry, '^(....................................):(%d+):(%d+)$')
end
local QUEUE_ENTRY_REST = 38
"#
    };
}
pub(crate) use lua_queue_entry;

// ---------------------------------------------------------------------------------------------
// Processing entry: field `<id>`, value `<cents>:<accepted at ms>:<d|f>:<requestedAt ms>`. Encoded
// by TAKE in Lua (a first attempt) and by `Store::restamp` and `Store::requeue` in Rust; decoded by
// `Store::recover`, and compared whole by REQUEUE.

/// Longest processing entry: three numbers and a processor code.
pub const PROCESSING_ENTRY_BYTES_MAX: usize = 3 * NUMBER_DIGITS_MAX + 2 + 3;

/// Encodes the processing entry of `taken`'s current attempt (the hash field is its id).
///
/// # Panics
/// If a time is negative.
pub fn encode_processing_entry(taken: &TakenPayment) -> Encoded<PROCESSING_ENTRY_BYTES_MAX> {
    let mut entry = Encoded::new();
    entry
        .number(taken.payment.amount_cents)
        .number_field(time_ms(taken.accepted_at_ms))
        .field(&[taken.processor.code()])
        .number_field(time_ms(taken.requested_at_ms));
    entry
}

/// Decodes a processing entry and its hash field, the id.
pub fn decode_processing_entry(id: &[u8], entry: &[u8]) -> Option<TakenPayment> {
    let correlation_id = CorrelationId::parse(id).ok()?;
    let mut fields = Fields::new(entry);
    let amount_cents = fields.amount_cents()?;
    let accepted_at_ms = fields.number()?;
    let processor = fields.processor()?;
    let requested_at_ms = fields.number()?;
    fields.finish(TakenPayment {
        payment: PaymentRequest { correlation_id, amount_cents },
        processor,
        requested_at_ms,
        accepted_at_ms,
    })
}

/// The Lua half of the processing entry: TAKE appends the attempt to the rest of a queue entry.
macro_rules! lua_processing_entry {
    () => {
        r#"
-- Processing entry (store::codec): <cents>:<accepted at ms>:<d|f>:<requestedAt ms>.
local function encode_processing_entry(queue_entry_rest, processor, requested_at)
  return queue_entry_rest .. ':' .. processor .. ':' .. requested_at
end
"#
    };
}
pub(crate) use lua_processing_entry;

// ---------------------------------------------------------------------------------------------
// Record entry: `<id>:<cents>:<accepted at ms>:<d|f>:<requestedAt ms>`, `,`-joined into RECORD's
// batch. Encoded by the recorder in Rust, decoded by RECORD in Lua.

/// Longest record entry with its list separator.
pub const RECORD_ENTRY_BYTES_MAX: usize = CORRELATION_ID_BYTES + 1 + PROCESSING_ENTRY_BYTES_MAX + 1;

/// Appends `taken`'s record entry and a list separator to RECORD's batch.
pub fn push_record_entry(batch: &mut Vec<u8>, taken: &TakenPayment) {
    let start = batch.len();
    batch.extend_from_slice(taken.payment.correlation_id.as_bytes());
    batch.push(FIELD_SEPARATOR);
    batch.extend_from_slice(encode_processing_entry(taken).as_bytes());
    batch.push(LIST_SEPARATOR);
    assert!(batch.len() - start <= RECORD_ENTRY_BYTES_MAX);
}

/// The Lua half of the record batch: RECORD checks every entry before it writes anything, so a
/// batch this code did not write fails whole instead of half-applied.
macro_rules! lua_record_entry {
    () => {
        r#"
-- Record entries (store::codec): <id>:<cents>:<accepted at ms>:<d|f>:<requestedAt ms>, ','-joined.
local function decode_record_batch(batch)
  local entries = {}
  for entry in string.gmatch(batch, '[^,]+') do
    local id, cents, _, processor, at =
      string.match(entry, '^(....................................):(%d+):(%d+):([df]):(%d+)$')
    if not id then return nil end
    entries[#entries + 1] = {id, cents, processor, tonumber(at)}
  end
  return entries
end
"#
    };
}
pub(crate) use lua_record_entry;

// ---------------------------------------------------------------------------------------------
// Take record: `<ticket>|<queue entry>,<queue entry>…`. Encoded by TAKE in Lua, decoded by
// `Store::take` after a lost reply.

/// The queue entries of a take record if it carries `ticket` (the call that wrote it is this one),
/// or `None` (another call wrote it: this one never ran).
pub fn decode_take_record<'a>(
    record: &'a [u8],
    ticket: &[u8],
) -> Option<impl Iterator<Item = &'a [u8]>> {
    let entries = record.strip_prefix(ticket)?.strip_prefix(&[TICKET_SEPARATOR])?;
    Some(entries.split(|byte| *byte == LIST_SEPARATOR))
}

/// The Lua half of the take record.
macro_rules! lua_take_record {
    () => {
        r#"
-- Take record (store::codec): <ticket>|<queue entry>,<queue entry>...
local function encode_take_record(ticket, entries)
  return ticket .. '|' .. table.concat(entries, ',')
end
"#
    };
}
pub(crate) use lua_take_record;

// ---------------------------------------------------------------------------------------------
// Ledger entry: field `<id>`, value `<cents>:<d|f>:<ms within the second, 3 digits>`. Only Lua
// reads and writes it: RECORD encodes, SUMMARY decodes, both with the functions below.

/// The Lua codec of the ledger entry, shared by RECORD and SUMMARY.
macro_rules! lua_ledger_entry {
    () => {
        r#"
-- Ledger entry (store::codec): <cents>:<d|f>:<ms within the second, 3 digits>.
local function encode_ledger_entry(cents, processor, millisecond)
  return cents .. ':' .. processor .. ':' .. string.format('%03d', millisecond)
end
local function decode_ledger_entry(entry)
  local cents, processor, millisecond = string.match(entry, '^(%d+):([df]):(%d%d%d)$')
  return tonumber(cents), processor, tonumber(millisecond)
end
"#
    };
}
pub(crate) use lua_ledger_entry;

// ---------------------------------------------------------------------------------------------
// Health report: `<failing 0|1>:<minResponseTime>:<polled at ms>`. Encoded and decoded by
// `Store::publish_health` and `Store::health`; `perf/lib/sampler.py` reads it too.

/// Longest health report.
pub const HEALTH_REPORT_BYTES_MAX: usize = 1 + 2 * (1 + NUMBER_DIGITS_MAX);

/// Encodes a health report.
///
/// # Panics
/// If the poll time is negative.
pub fn encode_health_report(report: &HealthReport) -> Encoded<HEALTH_REPORT_BYTES_MAX> {
    let mut value = Encoded::new();
    value
        .push(if report.health.failing { b"1" } else { b"0" })
        .number_field(report.health.min_response_time)
        .number_field(time_ms(report.polled_at_ms));
    value
}

/// Decodes a health report.
pub fn decode_health_report(value: &[u8]) -> Option<HealthReport> {
    let mut fields = Fields::new(value);
    let failing = match fields.0.next()? {
        b"0" => false,
        b"1" => true,
        _ => return None,
    };
    let min_response_time = u64::try_from(fields.number()?).ok()?;
    let polled_at_ms = fields.number()?;
    fields.finish(HealthReport { health: Health { failing, min_response_time }, polled_at_ms })
}
