//! The simulator's rules as pure functions and clock-injected state machines: routing, the
//! service-health rate limit and the fee arithmetic.
//!
//! # Why pure
//! Every rule here decides from its inputs alone (the time is a parameter, never read), so each
//! edge (a call exactly at a window boundary, a fee that rounds up by half a cent) is a unit test
//! that runs in microseconds and never flakes. The handler in `mod.rs` does the waiting and the
//! I/O.
//!
//! # Dependency rules
//! std, the HTTP layer's [`Method`] (a plain enum) and [`crate::number`]; no I/O.

use std::{collections::VecDeque, time::Duration, time::Instant};

use crate::{http::request::Method, number::parse_decimal};

/// The routes of section 3 of the rules, decided from the method and the path alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// `POST /payments`: record a payment.
    CreatePayment,
    /// `GET /payments/service-health`: the rate-limited health answer.
    ServiceHealth,
    /// `GET /payments/{correlationId}`: look a payment up; the id is not validated yet.
    GetPayment(&'a [u8]),
    /// `GET /admin/payments-summary`.
    AdminSummary,
    /// `PUT /admin/configurations/token`.
    SetToken,
    /// `PUT /admin/configurations/delay`.
    SetDelay,
    /// `PUT /admin/configurations/failure`.
    SetFailure,
    /// `PUT /admin/configurations/fault`: this simulator's own fault injection (not a route of
    /// the official processor).
    SetFault,
    /// `GET /admin/payment-ids`: every recorded id, one per line (this simulator's own, for the
    /// fault suite's "paid twice" count).
    PaymentIds,
    /// `POST /admin/purge-payments`.
    Purge,
    /// A known path with the wrong method: `405`.
    MethodNotAllowed,
    /// Anything else: `404`.
    NotFound,
}

/// Decides the route of a request.
///
/// A path matches first and the method second, so a known path with an unexpected method gives
/// [`Route::MethodNotAllowed`] rather than [`Route::NotFound`].
pub(crate) fn route(method: Method, path: &[u8]) -> Route<'_> {
    let (expected, matched) = match path {
        b"/payments" => (Method::Post, Route::CreatePayment),
        b"/payments/service-health" => (Method::Get, Route::ServiceHealth),
        b"/admin/payments-summary" => (Method::Get, Route::AdminSummary),
        b"/admin/configurations/token" => (Method::Put, Route::SetToken),
        b"/admin/configurations/delay" => (Method::Put, Route::SetDelay),
        b"/admin/configurations/failure" => (Method::Put, Route::SetFailure),
        b"/admin/configurations/fault" => (Method::Put, Route::SetFault),
        b"/admin/payment-ids" => (Method::Get, Route::PaymentIds),
        b"/admin/purge-payments" => (Method::Post, Route::Purge),
        _ => match path.strip_prefix(b"/payments/") {
            // One segment only: `/payments/a/b` is no route of the processor.
            Some(id) if !id.is_empty() && !id.contains(&b'/') => {
                (Method::Get, Route::GetPayment(id))
            }
            _ => return Route::NotFound,
        },
    };
    if method == expected {
        matched
    } else {
        Route::MethodNotAllowed
    }
}

/// A fault the simulator injects into its answers to `POST /payments`, switched through
/// `PUT /admin/configurations/fault` or `SIM_FAULT`, never through the contest's endpoints.
///
/// Every fault but [`Fault::Busy`] strikes *after* the payment went through the processor's
/// normal steps (limiter, delay, failure mode, insert): a payment the processor recorded gets no
/// usable answer, which is the case that could make a client pay it twice. Lookups
/// (`GET /payments/{id}`) and the health endpoint answer normally, as the client's way to learn
/// the truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Normal answers.
    None,
    /// Abort the connection (TCP reset) instead of answering.
    Reset,
    /// Never answer; keep the connection open until the client closes it.
    Silent,
    /// Send the first half of the real answer, then close.
    Truncated,
    /// Send bytes that are not HTTP, then close.
    Garbage,
    /// Answer a recorded payment with `200` and a body that is not JSON.
    BadBody,
    /// Answer `429` with `Retry-After: 5` at once, recording nothing: a burst of back-pressure
    /// for as long as it is on.
    Busy,
}

impl Fault {
    /// Every fault, in the order of [`Fault::name`]'s table.
    pub(crate) const ALL: [Fault; 7] = [
        Fault::None,
        Fault::Reset,
        Fault::Silent,
        Fault::Truncated,
        Fault::Garbage,
        Fault::BadBody,
        Fault::Busy,
    ];

    /// The name used by the admin endpoint and `SIM_FAULT`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Reset => "reset",
            Self::Silent => "silent",
            Self::Truncated => "truncated",
            Self::Garbage => "garbage",
            Self::BadBody => "bad-body",
            Self::Busy => "busy",
        }
    }

    /// The fault named `name`.
    ///
    /// # Errors
    /// A message listing the names, for any other text.
    pub(crate) fn parse(name: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|fault| fault.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|fault| fault.name()).collect();
            format!("fault must be one of {}, got {name:?}", names.join(", "))
        })
    }
}

/// The most decimal places a fee may have. Nine keeps `10^scale` and every product below far
/// inside `u128`, and no contest fee has more than two.
pub(crate) const FEE_SCALE_MAX: u32 = 9;

/// A fee per transaction as an exact decimal fraction: `numerator / 10^scale` (`0.05` is 5 / 10^2).
///
/// Kept as a rational rather than an `f64` so that `totalFee` is the exact, correctly rounded
/// product of the total amount and the fee, as the processor's decimal arithmetic gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fee {
    /// The digits of the fee without the decimal point.
    numerator: u64,
    /// How many of those digits are decimal places.
    scale: u32,
    /// The fee printed as `feePerTransaction`: the given text, normalised (`0.050` -> `0.05`).
    text: String,
}

impl Fee {
    /// Parses a decimal fraction in `[0, 1)`: digits, optionally a point and 1..=9 more digits.
    ///
    /// # Errors
    /// A message naming the text when it is not such a decimal.
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid =
            || format!("fee must be a decimal fraction in [0, 1) like 0.05, got {text:?}");
        let units = parse_decimal(text.as_bytes(), FEE_SCALE_MAX).map_err(|_| invalid())?;
        // A fee of 100% or more is not a fee.
        if units >= 10u64.pow(FEE_SCALE_MAX) {
            return Err(invalid());
        }
        // The shortest exact form: `0.050` is 5 / 10^2.
        let (mut numerator, mut scale) = (units, FEE_SCALE_MAX);
        while scale > 0 && numerator % 10 == 0 {
            numerator /= 10;
            scale -= 1;
        }
        assert!(numerator < 10u64.pow(scale).max(1));
        let text = match scale {
            0 => "0".to_string(),
            _ => format!("0.{numerator:0>width$}", width = scale as usize),
        };
        Ok(Self { numerator, scale, text })
    }

    /// The fee as printed in `feePerTransaction`, e.g. `0.05`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The fee on `amount_cents`, in cents, rounded half up (away from zero: amounts are never
    /// negative).
    pub(crate) fn fee_cents(&self, amount_cents: u64) -> u64 {
        let denominator = 10u128.pow(self.scale);
        let product = u128::from(amount_cents) * u128::from(self.numerator);
        let rounded = (2 * product + denominator) / (2 * denominator);
        // A fee under 1 can never exceed the amount it is taken from.
        assert!(rounded <= u128::from(amount_cents));
        rounded as u64
    }
}

/// What the service-health rate limit decided for one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Answer now.
    Now,
    /// Queued: answer at this instant, when the call's window opens.
    At(Instant),
    /// Over the limit and the queue: `429`.
    Refused,
}

/// The global rate limit of `GET /payments/service-health`: one call per window, plus up to
/// `queue_max` calls queued for the following windows.
///
/// Each granted call owns a slot at least one window after the previous slot, so the answers are
/// spaced by at least a window however the calls arrive. Slots still in the future are the queue.
#[derive(Debug)]
pub(crate) struct HealthLimiter {
    /// The length of one window.
    window: Duration,
    /// How many future slots may be handed out at once.
    queue_max: usize,
    /// The latest slot handed out (now or in the future); `None` before the first call.
    slot_last: Option<Instant>,
    /// Slots handed out that have not opened yet, oldest first; never longer than `queue_max`.
    slots_pending: VecDeque<Instant>,
}

impl HealthLimiter {
    /// A limiter with nothing granted yet.
    ///
    /// # Panics
    /// If `window` is zero: a zero window is no limit, which is a configuration error.
    pub(crate) fn new(window: Duration, queue_max: usize) -> Self {
        assert!(!window.is_zero(), "the health window must be positive");
        Self {
            window,
            queue_max,
            slot_last: None,
            slots_pending: VecDeque::with_capacity(queue_max),
        }
    }

    /// Decides a call arriving at `now` (which must not go backwards between calls).
    pub(crate) fn admit(&mut self, now: Instant) -> Admission {
        while self.slots_pending.front().is_some_and(|slot| *slot <= now) {
            self.slots_pending.pop_front();
        }
        let next_slot = match self.slot_last {
            Some(last) => last + self.window,
            None => now,
        };
        if next_slot <= now {
            self.slot_last = Some(now);
            self.slots_pending.clear();
            return Admission::Now;
        }
        if self.slots_pending.len() >= self.queue_max {
            return Admission::Refused;
        }
        self.slots_pending.push_back(next_slot);
        self.slot_last = Some(next_slot);
        assert!(self.slots_pending.len() <= self.queue_max);
        assert!(next_slot > now);
        Admission::At(next_slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_path_and_method() {
        use Method::*;
        use Route::*;
        let cases: &[(Method, &[u8], Route<'_>)] = &[
            (Post, b"/payments", CreatePayment),
            (Get, b"/payments", MethodNotAllowed),
            (Get, b"/payments/service-health", ServiceHealth),
            (Post, b"/payments/service-health", MethodNotAllowed),
            (Get, b"/payments/abc", GetPayment(b"abc")),
            (Put, b"/payments/abc", MethodNotAllowed),
            (Get, b"/payments/", NotFound),
            (Get, b"/payments/a/b", NotFound),
            (Get, b"/admin/payments-summary", AdminSummary),
            (Post, b"/admin/payments-summary", MethodNotAllowed),
            (Put, b"/admin/configurations/token", SetToken),
            (Put, b"/admin/configurations/delay", SetDelay),
            (Put, b"/admin/configurations/failure", SetFailure),
            (Put, b"/admin/configurations/fault", SetFault),
            (Post, b"/admin/configurations/fault", MethodNotAllowed),
            (Get, b"/admin/payment-ids", PaymentIds),
            (Get, b"/admin/configurations/failure", MethodNotAllowed),
            (Post, b"/admin/purge-payments", Purge),
            (Other, b"/admin/purge-payments", MethodNotAllowed),
            (Get, b"/", NotFound),
            (Get, b"/payments-summary", NotFound),
            (Get, b"/admin/configurations", NotFound),
        ];
        for (method, path, expected) in cases {
            assert_eq!(route(*method, path), *expected, "{method:?} {}", path.escape_ascii());
        }
    }

    #[test]
    fn faults_round_trip_by_name_and_refuse_others() {
        for fault in Fault::ALL {
            assert_eq!(Fault::parse(fault.name()), Ok(fault));
        }
        for name in ["", "Reset", "bad_body", "429", " none"] {
            assert!(Fault::parse(name).is_err(), "{name:?}");
        }
    }

    #[test]
    fn fee_parses_exact_decimals() {
        let cases: &[(&str, u64, u32, &str)] = &[
            ("0.05", 5, 2, "0.05"),
            ("0.050", 5, 2, "0.05"),
            ("0.15", 15, 2, "0.15"),
            ("0.07", 7, 2, "0.07"),
            ("0", 0, 0, "0"),
            ("0.0", 0, 0, "0"),
            ("00.1", 1, 1, "0.1"),
            ("0.123456789", 123_456_789, 9, "0.123456789"),
        ];
        for (text, numerator, scale, printed) in cases {
            let fee = Fee::parse(text).unwrap();
            assert_eq!((fee.numerator, fee.scale, fee.text()), (*numerator, *scale, *printed));
        }
    }

    #[test]
    fn fee_refuses_everything_else() {
        for text in
            ["", "1", "1.0", "0.", ".05", "-0.05", "0,05", "5%", "0.1234567891", "0.0 5", "abc"]
        {
            assert!(Fee::parse(text).is_err(), "{text:?} must be refused");
        }
    }

    #[test]
    fn fee_rounds_half_up_exactly() {
        let fee = Fee::parse("0.05").unwrap();
        assert_eq!(fee.fee_cents(0), 0);
        // 99.5 cents -> 100, 99.45 -> 99, 0.5 -> 1, 0.45 -> 0.
        assert_eq!(fee.fee_cents(1990), 100);
        assert_eq!(fee.fee_cents(1989), 99);
        assert_eq!(fee.fee_cents(10), 1);
        assert_eq!(fee.fee_cents(9), 0);
        // 16,750 payments of 19.90 (the preview test at 5%): 333,325.00 -> 16,666.25.
        assert_eq!(fee.fee_cents(16_750 * 1990), 1_666_625);
        let fee = Fee::parse("0.07").unwrap();
        // 140.35 -> 140, 421.05 -> 421.
        assert_eq!(fee.fee_cents(2005), 140);
        assert_eq!(fee.fee_cents(3 * 2005), 421);
        let zero = Fee::parse("0").unwrap();
        assert_eq!(zero.fee_cents(crate::payment::AMOUNT_CENTS_MAX), 0);
        let largest = Fee::parse("0.999999999").unwrap();
        assert!(largest.fee_cents(u64::MAX) < u64::MAX);
    }

    fn window() -> Duration {
        Duration::from_millis(300)
    }

    /// A limiter with a queue of two, filled at `start`: one call now, two queued.
    fn filled_health_limiter(start: Instant) -> HealthLimiter {
        let mut limiter = HealthLimiter::new(window(), 2);
        assert_eq!(limiter.admit(start), Admission::Now);
        assert_eq!(limiter.admit(start), Admission::At(start + window()));
        assert_eq!(limiter.admit(start), Admission::At(start + 2 * window()));
        limiter
    }

    #[test]
    fn health_grants_one_now_queues_two_refuses_the_rest() {
        let start = Instant::now();
        let mut limiter = filled_health_limiter(start);
        assert_eq!(limiter.admit(start), Admission::Refused);
        assert_eq!(limiter.admit(start + Duration::from_millis(1)), Admission::Refused);
    }

    #[test]
    fn health_queue_frees_as_windows_open() {
        let start = Instant::now();
        let mut limiter = filled_health_limiter(start);
        // The first queued slot opens exactly now: it leaves the queue, and the new call gets the
        // window after the last one handed out.
        let opened = start + window();
        assert_eq!(limiter.admit(opened), Admission::At(start + 3 * window()));
        assert_eq!(limiter.admit(opened), Admission::Refused);
        // Long after every slot: a fresh call is answered at once.
        let later = start + 10 * window();
        assert_eq!(limiter.admit(later), Admission::Now);
        assert_eq!(limiter.admit(later), Admission::At(later + window()));
    }

    #[test]
    fn health_window_boundary_is_inclusive() {
        let start = Instant::now();
        let mut limiter = HealthLimiter::new(window(), 0);
        assert_eq!(limiter.admit(start), Admission::Now);
        assert_eq!(limiter.admit(start + window() - Duration::from_nanos(1)), Admission::Refused);
        assert_eq!(limiter.admit(start + window()), Admission::Now);
    }

    #[test]
    fn health_spaced_calls_are_all_immediate() {
        let start = Instant::now();
        let mut limiter = HealthLimiter::new(window(), 2);
        for index in 0..5u32 {
            assert_eq!(limiter.admit(start + index * window()), Admission::Now);
        }
    }
}
