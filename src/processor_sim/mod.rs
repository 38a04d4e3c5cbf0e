//! The project's stand-in for the official payment processor (section 3 of
//! `shared/docs/rinha-2025.md`), configurable at run time through the same admin endpoints the
//! load test uses, so the worker can be tested against slow, failing and saturated processors.
//!
//! # Key components
//! - `Simulator`: the `Handler` that answers every route, with its in-memory state.
//! - [`SimSettings`]: the plain start-up settings (the binary builds them from the environment
//!   through `config::sim`; tests build them directly).
//! - [`serve`]: serves a bound listener on the current runtime. Building the runtime is the
//!   caller's job: the binary's, or the tests' (`tests/common/sim.rs`, which also holds the
//!   blocking client the tests drive a simulator with).
//! - [`behaviour`], `ledger`, `limiter`: the rules, the books and the concurrency limiter,
//!   each testable alone.
//!
//! # Behaviour, in the processor's order
//! `POST /payments`: a malformed body is `400` at once; then (1) the FIFO concurrency limiter
//! (`429` with `Retry-After: 5` when in progress and waiting are both full; the permit is held to
//! the end), (2) the configured delay, (3) failure mode gives `500` with nothing stored, (4) the
//! insert: `422` for a duplicate, else `200`. Delay and failure are read when the request reaches
//! that step, so a change made during a delay applies to step 3.
//!
//! # Dependency rules
//! `http` (server, request, response), `net`, `payment` and std; never `runtime`. The contest's
//! own HTTP details (the `X-Rinha-Token` header, `Retry-After: 5`) are defined here and handed to
//! `http` as data. State lives on one thread (`Cell`/`RefCell` in an `Rc`): the real
//! processor's answers are cheap and the delays are timers, so one thread is plenty.

pub mod behaviour;
pub(crate) mod ledger;
pub(crate) mod limiter;

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
    time::{Duration, Instant},
};

use serde::Deserialize;

use self::{
    behaviour::{route, Admission, Fault, Fee, HealthLimiter, Route},
    ledger::{InsertError, Ledger, StoredPayment},
    limiter::ConcurrencyLimiter,
};
use crate::{
    http::{
        request::{percent_decode, query_value, Request, BODY_BYTES_MAX},
        response::{
            write_json, write_json_with, write_response, write_text, Status, METHOD_NOT_ALLOWED,
            NOT_FOUND, NO_CONTENT,
        },
        server::{Handler, Next},
    },
    net::Listener,
    payment::{
        parse_timestamp_us, write_cents, write_timestamp_us, Buffers, CorrelationId,
        AMOUNT_CENTS_MAX, CORRELATION_ID_BYTES,
    },
};

/// The listen backlog: the load test opens hundreds of connections to a processor at once.
pub const LISTEN_BACKLOG: i32 = 4096;

/// Upper bound of [`SimSettings::inflight_max`]; the contest's processor uses 800.
pub(crate) const INFLIGHT_MAX_BOUND: usize = 100_000;

/// Upper bound of [`SimSettings::queue_max`]; the contest's processor uses 500.
pub(crate) const QUEUE_MAX_BOUND: usize = 100_000;

/// Upper bound of [`SimSettings::health_window_ms`]: one hour.
pub(crate) const HEALTH_WINDOW_MS_BOUND: u64 = 3_600_000;

/// Upper bound of [`SimSettings::health_queue_max`]; the contest's processor uses 2.
pub(crate) const HEALTH_QUEUE_MAX_BOUND: usize = 1000;

/// The longest admin token accepted, at start-up or through the admin endpoint.
pub(crate) const TOKEN_BYTES_MAX: usize = 256;

/// The longest delay the admin endpoint accepts: ten minutes, far beyond any client timeout.
pub(crate) const DELAY_MS_MAX: u64 = 600_000;

/// The longest `from`/`to` query value, before percent-decoding (an RFC 3339 timestamp with
/// microseconds and every `:` escaped is 31 bytes).
const TIMESTAMP_QUERY_BYTES_MAX: usize = 64;

/// The simulator's start-up settings: what the environment configures, as plain values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimSettings {
    /// The fee reported by the admin summary (`feePerTransaction`, and `totalFee` from it).
    pub fee: Fee,
    /// The initial admin token (`X-Rinha-Token`); the admin endpoint can change it.
    pub token: String,
    /// Requests in progress at once (limiter step 1).
    pub inflight_max: usize,
    /// Requests waiting for the limiter, oldest first; beyond it, `429`.
    pub queue_max: usize,
    /// The service-health rate-limit window.
    pub health_window_ms: u64,
    /// Service-health calls queued for later windows; beyond it, `429`.
    pub health_queue_max: usize,
    /// The fault injected at start-up ([`Fault::None`]: normal answers).
    pub fault: Fault,
}

impl Default for SimSettings {
    /// The contest processor's values, with the preview test's default fee (5%).
    fn default() -> Self {
        Self {
            fee: Fee::parse("0.05").expect("a valid literal fee"),
            token: "123".to_string(),
            inflight_max: 800,
            queue_max: 500,
            health_window_ms: 5000,
            health_queue_max: 2,
            fault: Fault::None,
        }
    }
}

impl SimSettings {
    /// Checks every bound, so that a simulator never starts with a setting it cannot honour.
    ///
    /// # Errors
    /// A message naming the first setting out of bounds.
    pub fn validate(&self) -> Result<(), String> {
        validate_token(&self.token)?;
        if !(1..=INFLIGHT_MAX_BOUND).contains(&self.inflight_max) {
            return Err(format!("inflight_max must be in 1..={INFLIGHT_MAX_BOUND}"));
        }
        if self.queue_max > QUEUE_MAX_BOUND {
            return Err(format!("queue_max must be in 0..={QUEUE_MAX_BOUND}"));
        }
        if !(1..=HEALTH_WINDOW_MS_BOUND).contains(&self.health_window_ms) {
            return Err(format!("health_window_ms must be in 1..={HEALTH_WINDOW_MS_BOUND}"));
        }
        if self.health_queue_max > HEALTH_QUEUE_MAX_BOUND {
            return Err(format!("health_queue_max must be in 0..={HEALTH_QUEUE_MAX_BOUND}"));
        }
        Ok(())
    }
}

/// Checks a token: not empty, at most [`TOKEN_BYTES_MAX`] bytes, and printable ASCII so that it
/// can travel in a header.
///
/// # Errors
/// A message saying which rule failed.
pub(crate) fn validate_token(token: &str) -> Result<(), String> {
    if token.is_empty() || token.len() > TOKEN_BYTES_MAX {
        return Err(format!("token must be 1..={TOKEN_BYTES_MAX} bytes"));
    }
    if !token.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err("token must be printable ASCII without spaces".to_string());
    }
    Ok(())
}

/// Serves `listener` on the current thread's runtime forever.
///
/// # Panics
/// If `settings` are out of bounds (callers validate first; see [`SimSettings::validate`]).
pub async fn serve(listener: Listener, settings: SimSettings) {
    let simulator = Rc::new(Simulator::new(settings));
    crate::http::server::serve(listener, simulator).await;
}

/// Reusable memory for decoding JSON bodies: simd-json parses in place, so the body is copied
/// into `body` first (the connection's read buffer is shared and immutable here).
struct Scratch {
    /// The copy of the body that simd-json rewrites in place; [`BODY_BYTES_MAX`] reserved.
    body: Vec<u8>,
    /// simd-json's working memory, sized for the largest body once.
    buffers: Buffers,
}

impl Scratch {
    /// Decodes `body` as `T`; `None` for anything malformed.
    fn decode<'a, T: Deserialize<'a>>(&'a mut self, body: &[u8]) -> Option<T> {
        assert!(body.len() <= BODY_BYTES_MAX, "the HTTP parser bounds bodies");
        self.body.clear();
        self.body.extend_from_slice(body);
        simd_json::serde::from_slice_with_buffers(&mut self.body, &mut self.buffers).ok()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentBody<'a> {
    #[serde(borrow)]
    correlation_id: &'a str,
    amount: f64,
    #[serde(borrow)]
    requested_at: &'a str,
}

#[derive(Deserialize)]
struct TokenBody<'a> {
    #[serde(borrow)]
    token: &'a str,
}

#[derive(Deserialize)]
struct DelayBody {
    delay: u64,
}

#[derive(Deserialize)]
struct FailureBody {
    failure: bool,
}

#[derive(Deserialize)]
struct FaultBody<'a> {
    #[serde(borrow)]
    fault: &'a str,
}

/// The header that carries the admin token, as the official processor names it.
pub const TOKEN_HEADER: &str = "X-Rinha-Token";

/// Sent with every `429`: the official processor asks callers to wait five seconds.
const RETRY_AFTER: &[u8] = b"Retry-After: 5\r\n";

/// The processor's `429 Too Many Requests`, with its `Retry-After`.
fn write_too_many_requests(out: &mut Vec<u8>) {
    write_response(
        out,
        Status::TooManyRequests,
        RETRY_AFTER,
        b"text/plain",
        b"too many requests\n",
    );
}

/// What [`Fault::Garbage`] sends: not an HTTP status line.
const GARBAGE: &[u8] = b"\x00\xffSPAM 200 not-http\r\n\x1b[0m\r\n\r\n";

/// What [`Fault::BadBody`] sends: a `200` whose body is not JSON (correctly framed).
const BAD_BODY: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"message\":pa";

/// One payment as `POST /payments` delivers it, validated.
struct NewPayment {
    /// The lower-cased correlation id, the ledger's key.
    id: CorrelationId,
    /// What the ledger keeps.
    stored: StoredPayment,
}

/// A simulated payment processor: its configuration as changed at run time, its books, and its
/// two limiters. Shared by the connections of one thread.
pub(crate) struct Simulator {
    /// The fee the admin summary reports.
    fee: Fee,
    /// The current admin token.
    token: RefCell<String>,
    /// The delay applied to each `POST /payments`, in milliseconds.
    delay_ms: Cell<u64>,
    /// Failure mode: `POST /payments` answers `500` and stores nothing.
    failing: Cell<bool>,
    /// The fault injected into answers to `POST /payments`.
    fault: Cell<Fault>,
    /// The recorded payments.
    ledger: RefCell<Ledger>,
    /// The concurrency limiter of `POST /payments` and `GET /payments/{id}`.
    limiter: ConcurrencyLimiter,
    /// The global rate limit of `GET /payments/service-health`.
    health: RefCell<HealthLimiter>,
    /// Memory for decoding bodies, reused by every request (never borrowed across an await).
    scratch: RefCell<Scratch>,
}

impl Simulator {
    /// A simulator with no payments, no delay and failure mode off.
    ///
    /// # Panics
    /// If `settings` are out of bounds.
    pub(crate) fn new(settings: SimSettings) -> Self {
        if let Err(message) = settings.validate() {
            panic!("invalid simulator settings: {message}");
        }
        Self {
            fee: settings.fee,
            token: RefCell::new(settings.token),
            delay_ms: Cell::new(0),
            failing: Cell::new(false),
            fault: Cell::new(settings.fault),
            ledger: RefCell::new(Ledger::new()),
            limiter: ConcurrencyLimiter::new(settings.inflight_max, settings.queue_max),
            health: RefCell::new(HealthLimiter::new(
                Duration::from_millis(settings.health_window_ms),
                settings.health_queue_max,
            )),
            scratch: RefCell::new(Scratch {
                body: Vec::with_capacity(BODY_BYTES_MAX),
                buffers: Buffers::new(BODY_BYTES_MAX),
            }),
        }
    }

    /// `POST /payments`, then the configured fault applied to its answer.
    async fn create_payment(&self, body: &[u8], out: &mut Vec<u8>) -> Next {
        if self.fault.get() == Fault::Busy {
            write_too_many_requests(out);
            return Next::KeepOpen;
        }
        let start = out.len();
        self.process_payment(body, out).await;
        // Read after processing: a fault switched on meanwhile applies to this answer.
        let fault = self.fault.get();
        match fault {
            Fault::None | Fault::Busy => Next::KeepOpen,
            Fault::Reset | Fault::Silent => {
                out.truncate(start);
                if fault == Fault::Reset {
                    Next::Reset
                } else {
                    Next::Hang
                }
            }
            Fault::Truncated => {
                let half = start + (out.len() - start) / 2;
                out.truncate(half);
                Next::Close
            }
            Fault::Garbage => {
                out.truncate(start);
                out.extend_from_slice(GARBAGE);
                Next::Close
            }
            Fault::BadBody => {
                if out[start..].starts_with(b"HTTP/1.1 200") {
                    out.truncate(start);
                    out.extend_from_slice(BAD_BODY);
                }
                Next::KeepOpen
            }
        }
    }

    /// The processor's own steps for `POST /payments` (module docs).
    async fn process_payment(&self, body: &[u8], out: &mut Vec<u8>) {
        let Some(payment) = self.decode_payment(body) else {
            write_text(out, Status::BadRequest, b"malformed payment\n");
            return;
        };
        let Some(_permit) = self.limiter.acquire().await else {
            write_too_many_requests(out);
            return;
        };
        let delay_ms = self.delay_ms.get();
        if delay_ms > 0 {
            monoio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        // Read after the delay: a failure switched on meanwhile applies to this request.
        if self.failing.get() {
            write_text(out, Status::InternalServerError, b"processor failure\n");
            return;
        }
        let inserted = self.ledger.borrow_mut().insert(payment.id, payment.stored);
        match inserted {
            Ok(()) => {
                write_json(out, Status::Ok, b"{\"message\":\"payment processed successfully\"}")
            }
            Err(InsertError::Duplicate) => {
                write_text(out, Status::UnprocessableEntity, b"payment already processed\n")
            }
            Err(InsertError::Full) => {
                log::warn!("ledger full; purge the simulator");
                write_text(out, Status::InternalServerError, b"ledger full\n");
            }
        }
    }

    /// Decodes and validates a payment body. The amount is rounded to cents, as the processor
    /// stores it; amounts below zero or above [`AMOUNT_CENTS_MAX`] are refused.
    fn decode_payment(&self, body: &[u8]) -> Option<NewPayment> {
        let mut scratch = self.scratch.borrow_mut();
        let parsed: PaymentBody<'_> = scratch.decode(body)?;
        let id = parse_correlation_id(parsed.correlation_id.as_bytes())?;
        let scaled = parsed.amount * 100.0;
        if !scaled.is_finite() || scaled < 0.0 || scaled > AMOUNT_CENTS_MAX as f64 {
            return None;
        }
        let amount_cents = scaled.round() as u64;
        let requested_at_us = parse_timestamp_us(parsed.requested_at.as_bytes())?;
        assert!(amount_cents <= AMOUNT_CENTS_MAX);
        Some(NewPayment { id, stored: StoredPayment { amount_cents, requested_at_us } })
    }

    async fn get_payment(&self, id: &[u8], out: &mut Vec<u8>) {
        let Some(id) = parse_correlation_id(id) else {
            out.extend_from_slice(NOT_FOUND);
            return;
        };
        let Some(_permit) = self.limiter.acquire().await else {
            write_too_many_requests(out);
            return;
        };
        let Some(payment) = self.ledger.borrow().get(&id) else {
            out.extend_from_slice(NOT_FOUND);
            return;
        };
        write_json_with(out, Status::Ok, |out| {
            out.extend_from_slice(b"{\"correlationId\":\"");
            out.extend_from_slice(id.as_bytes());
            out.extend_from_slice(b"\",\"amount\":");
            write_cents(out, payment.amount_cents);
            out.extend_from_slice(b",\"requestedAt\":\"");
            write_timestamp_us(out, payment.requested_at_us);
            out.extend_from_slice(b"\"}");
        });
    }

    async fn service_health(&self, out: &mut Vec<u8>) {
        let admission = self.health.borrow_mut().admit(Instant::now());
        match admission {
            Admission::Now => {}
            Admission::At(slot) => {
                monoio::time::sleep(slot.saturating_duration_since(Instant::now())).await;
            }
            Admission::Refused => {
                write_too_many_requests(out);
                return;
            }
        }
        // The state when the call's window opens, not when it arrived.
        let failing = self.failing.get();
        let delay_ms = self.delay_ms.get();
        write_json_with(out, Status::Ok, |out| {
            out.extend_from_slice(b"{\"failing\":");
            out.extend_from_slice(if failing { b"true" } else { b"false" });
            out.extend_from_slice(b",\"minResponseTime\":");
            out.extend_from_slice(itoa::Buffer::new().format(delay_ms).as_bytes());
            out.push(b'}');
        });
    }

    fn admin_summary(&self, query: &[u8], out: &mut Vec<u8>) {
        let (Some(from_us), Some(to_us)) = (query_bound(query, b"from"), query_bound(query, b"to"))
        else {
            write_text(out, Status::BadRequest, b"from and to must be RFC 3339 timestamps\n");
            return;
        };
        let totals = self.ledger.borrow().totals(from_us, to_us);
        let fee_cents = self.fee.fee_cents(totals.amount_cents);
        write_json_with(out, Status::Ok, |out| {
            out.extend_from_slice(b"{\"totalRequests\":");
            out.extend_from_slice(itoa::Buffer::new().format(totals.requests).as_bytes());
            out.extend_from_slice(b",\"totalAmount\":");
            write_cents(out, totals.amount_cents);
            out.extend_from_slice(b",\"totalFee\":");
            write_cents(out, fee_cents);
            out.extend_from_slice(b",\"feePerTransaction\":");
            out.extend_from_slice(self.fee.text().as_bytes());
            out.push(b'}');
        });
    }

    fn set_token(&self, body: &[u8], out: &mut Vec<u8>) {
        let mut scratch = self.scratch.borrow_mut();
        let Some(parsed) = scratch.decode::<TokenBody<'_>>(body) else {
            write_text(out, Status::BadRequest, b"expected {\"token\": \"...\"}\n");
            return;
        };
        if let Err(message) = validate_token(parsed.token) {
            write_text(out, Status::BadRequest, message.as_bytes());
            return;
        }
        let mut token = self.token.borrow_mut();
        token.clear();
        token.push_str(parsed.token);
        log::info!("admin: token changed");
        out.extend_from_slice(NO_CONTENT);
    }

    fn set_delay(&self, body: &[u8], out: &mut Vec<u8>) {
        let decoded = self.scratch.borrow_mut().decode::<DelayBody>(body);
        let Some(DelayBody { delay: delay_ms }) =
            decoded.filter(|parsed| parsed.delay <= DELAY_MS_MAX)
        else {
            write_text(out, Status::BadRequest, b"expected {\"delay\": milliseconds}\n");
            return;
        };
        let was_ms = self.delay_ms.replace(delay_ms);
        log::info!("admin: delay {was_ms} ms -> {delay_ms} ms");
        write_json_with(out, Status::Ok, |out| {
            out.extend_from_slice(b"{\"config\":\"delay\",\"was\":");
            out.extend_from_slice(itoa::Buffer::new().format(was_ms).as_bytes());
            out.extend_from_slice(b",\"is\":");
            out.extend_from_slice(itoa::Buffer::new().format(delay_ms).as_bytes());
            out.push(b'}');
        });
    }

    fn set_failure(&self, body: &[u8], out: &mut Vec<u8>) {
        let decoded = self.scratch.borrow_mut().decode::<FailureBody>(body);
        let Some(FailureBody { failure }) = decoded else {
            write_text(out, Status::BadRequest, b"expected {\"failure\": true|false}\n");
            return;
        };
        let was = self.failing.replace(failure);
        log::info!("admin: failure {was} -> {failure}");
        let text = |flag: bool| if flag { &b"true"[..] } else { &b"false"[..] };
        write_json_with(out, Status::Ok, |out| {
            out.extend_from_slice(b"{\"config\":\"failure\",\"was\":");
            out.extend_from_slice(text(was));
            out.extend_from_slice(b",\"is\":");
            out.extend_from_slice(text(failure));
            out.push(b'}');
        });
    }

    fn set_fault(&self, body: &[u8], out: &mut Vec<u8>) {
        let decoded = self
            .scratch
            .borrow_mut()
            .decode::<FaultBody<'_>>(body)
            .map(|parsed| Fault::parse(parsed.fault));
        let fault = match decoded {
            Some(Ok(fault)) => fault,
            Some(Err(message)) => {
                write_text(out, Status::BadRequest, message.as_bytes());
                return;
            }
            None => {
                write_text(out, Status::BadRequest, b"expected {\"fault\": \"none|reset|...\"}\n");
                return;
            }
        };
        let was = self.fault.replace(fault);
        log::info!("admin: fault {} -> {}", was.name(), fault.name());
        write_json_with(out, Status::Ok, |out| {
            out.extend_from_slice(b"{\"config\":\"fault\",\"was\":\"");
            out.extend_from_slice(was.name().as_bytes());
            out.extend_from_slice(b"\",\"is\":\"");
            out.extend_from_slice(fault.name().as_bytes());
            out.extend_from_slice(b"\"}");
        });
    }

    /// Every recorded id, one per line. Allocates the whole list: an admin call of the test bed,
    /// made once per fault case, never on the payment path.
    fn payment_ids(&self, out: &mut Vec<u8>) {
        let ledger = self.ledger.borrow();
        let mut body = Vec::with_capacity(ledger.len() * (CORRELATION_ID_BYTES + 1));
        for id in ledger.ids() {
            body.extend_from_slice(id.as_bytes());
            body.push(b'\n');
        }
        write_text(out, Status::Ok, &body);
    }

    fn purge(&self, out: &mut Vec<u8>) {
        let mut ledger = self.ledger.borrow_mut();
        let purged = ledger.len();
        ledger.purge();
        log::info!("admin: purged {purged} payments");
        write_json(out, Status::Ok, b"{\"message\":\"All payments purged.\"}");
    }

    fn authorized(&self, token: Option<&[u8]>) -> bool {
        token == Some(self.token.borrow().as_bytes())
    }
}

impl Handler for Simulator {
    async fn handle(&self, request: &Request<'_>, body: &[u8], out: &mut Vec<u8>) -> Next {
        let route = route(request.method, request.path);
        let admin = matches!(
            route,
            Route::AdminSummary
                | Route::SetToken
                | Route::SetDelay
                | Route::SetFailure
                | Route::SetFault
                | Route::PaymentIds
                | Route::Purge
        );
        if admin && !self.authorized(request.header(TOKEN_HEADER)) {
            write_text(out, Status::Unauthorized, b"invalid X-Rinha-Token\n");
            return Next::KeepOpen;
        }
        match route {
            Route::CreatePayment => return self.create_payment(body, out).await,
            Route::ServiceHealth => self.service_health(out).await,
            Route::GetPayment(id) => self.get_payment(id, out).await,
            Route::AdminSummary => self.admin_summary(request.query, out),
            Route::SetToken => self.set_token(body, out),
            Route::SetDelay => self.set_delay(body, out),
            Route::SetFailure => self.set_failure(body, out),
            Route::SetFault => self.set_fault(body, out),
            Route::PaymentIds => self.payment_ids(out),
            Route::Purge => self.purge(out),
            Route::MethodNotAllowed => out.extend_from_slice(METHOD_NOT_ALLOWED),
            Route::NotFound => out.extend_from_slice(NOT_FOUND),
        }
        Next::KeepOpen
    }
}

/// Parses a correlation id as a GUID would be: hex digits in either case, compared lower-cased.
fn parse_correlation_id(text: &[u8]) -> Option<CorrelationId> {
    if text.len() != CORRELATION_ID_BYTES {
        return None;
    }
    let mut lower = [0u8; CORRELATION_ID_BYTES];
    for (target, source) in lower.iter_mut().zip(text) {
        *target = source.to_ascii_lowercase();
    }
    CorrelationId::parse(&lower).ok()
}

/// One bound of the admin summary.
///
/// # Returns
/// `Some(None)` when the bound is absent or empty (unbounded), `Some(Some(us))` when it parses,
/// `None` when it is present but not an RFC 3339 UTC timestamp.
fn query_bound(query: &[u8], name: &[u8]) -> Option<Option<i64>> {
    let Some(value) = query_value(query, name).filter(|value| !value.is_empty()) else {
        return Some(None);
    };
    if value.len() > TIMESTAMP_QUERY_BYTES_MAX {
        return None;
    }
    let mut decoded = [0u8; TIMESTAMP_QUERY_BYTES_MAX];
    let decoded = percent_decode(value, &mut decoded)?;
    parse_timestamp_us(decoded).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_compare_case_insensitively() {
        let upper = parse_correlation_id(b"4A7901B8-7D26-4D9D-AA19-4DC1C7CF60B3").unwrap();
        let lower = parse_correlation_id(b"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3").unwrap();
        assert_eq!(upper, lower);
        assert_eq!(parse_correlation_id(b"not-a-uuid"), None);
        assert_eq!(parse_correlation_id(b"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60bz"), None);
    }

    #[test]
    fn query_bounds() {
        let query = b"from=2025-07-10T12:34:56.123456Z&to=2025-07-10T12%3A34%3A57.000Z&bad=x";
        assert_eq!(query_bound(query, b"from"), Some(Some(1_752_150_896_123_456)));
        assert_eq!(query_bound(query, b"to"), Some(Some(1_752_150_897_000_000)));
        assert_eq!(query_bound(query, b"bad"), None);
        assert_eq!(query_bound(query, b"missing"), Some(None));
        assert_eq!(query_bound(b"from=", b"from"), Some(None));
    }

    #[test]
    fn default_settings_are_valid_and_bounds_are_checked() {
        let settings = SimSettings::default();
        assert_eq!(settings.validate(), Ok(()));
        let bad = [
            SimSettings { inflight_max: 0, ..SimSettings::default() },
            SimSettings { queue_max: QUEUE_MAX_BOUND + 1, ..SimSettings::default() },
            SimSettings { health_window_ms: 0, ..SimSettings::default() },
            SimSettings { health_queue_max: HEALTH_QUEUE_MAX_BOUND + 1, ..SimSettings::default() },
            SimSettings { token: String::new(), ..SimSettings::default() },
            SimSettings { token: "a b".to_string(), ..SimSettings::default() },
        ];
        for settings in bad {
            assert!(settings.validate().is_err(), "{settings:?}");
        }
    }
}
