//! Exact parsing of the numbers this crate reads as text: unsigned digits (HTTP `Content-Length`,
//! the store's integer fields), signed digits (RESP integers) and fixed-point decimals (fees,
//! summary amounts in cents).
//!
//! One parser per shape, so that every reader agrees on the edges: no sign unless the shape has
//! one, no spaces, no exponent, no overflow, and a decimal is refused rather than rounded when it
//! does not fit the scale asked for.
//!
//! # Dependency rules
//! std only, no I/O, no allocation: any module may use it (`http` and `redis` included).

/// The largest scale [`parse_decimal`] takes: `10^18` still leaves a whole part of up to 18 in an
/// `u64`, and no caller needs more than 9 places.
pub const DECIMAL_PLACES_MAX: u32 = 18;

/// Parses ASCII digits, with no sign, space or separator, into an `u64`.
///
/// # Returns
/// `None` for an empty text, any other byte, or a value above `u64::MAX`. Leading zeros are
/// accepted (`007` is 7).
pub fn parse_digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for byte in text {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
    }
    Some(value)
}

/// Parses an optional `-` followed by ASCII digits into an `i64` (a `+` is refused, as RESP
/// never sends one).
///
/// # Returns
/// `None` for anything [`parse_digits`] refuses after the sign, and outside `i64`'s range.
pub fn parse_signed_digits(text: &[u8]) -> Option<i64> {
    match text.split_first() {
        Some((b'-', digits)) => {
            let magnitude = i128::from(parse_digits(digits)?);
            i64::try_from(-magnitude).ok()
        }
        _ => i64::try_from(parse_digits(text)?).ok(),
    }
}

/// Why [`parse_decimal`] refused a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalError {
    /// Nothing to parse.
    Empty,
    /// A leading `+` or `-`: every decimal we read is a non-negative quantity.
    Sign,
    /// An exponent (`1e2`, `1E-2`): none of our sources writes one.
    Exponent,
    /// A byte other than digits and one point, an empty whole part (`.5`) or an empty fraction
    /// (`5.`).
    Malformed,
    /// A non-zero digit past the scale asked for: refused, never rounded.
    TooPrecise,
    /// The value times `10^places` does not fit in an `u64`.
    TooLarge,
}

/// Parses `digits[.digits]` exactly, as the integer `value * 10^places` (`19.9` at 2 places is
/// `1990`).
///
/// Digits past `places` are accepted only if they are zeros (`0.050` at 2 places is 5), because
/// they do not change the value; any other digit there is [`DecimalError::TooPrecise`].
///
/// # Errors
/// The [`DecimalError`] that describes the first problem found.
///
/// # Panics
/// If `places` is above [`DECIMAL_PLACES_MAX`] (a programmer error).
pub fn parse_decimal(text: &[u8], places: u32) -> Result<u64, DecimalError> {
    assert!(places <= DECIMAL_PLACES_MAX, "decimal scale {places} is above the maximum");
    match text.first() {
        None => return Err(DecimalError::Empty),
        Some(b'+' | b'-') => return Err(DecimalError::Sign),
        Some(_) => {}
    }
    // A number in exponent form, as a JSON writer may print one; other text with an `e` in it
    // is plain garbage.
    let number_byte = |byte: &u8| byte.is_ascii_digit() || b".+-eE".contains(byte);
    if text.iter().any(|byte| byte.eq_ignore_ascii_case(&b'e')) && text.iter().all(number_byte) {
        return Err(DecimalError::Exponent);
    }
    let (whole, fraction) = match text.iter().position(|byte| *byte == b'.') {
        Some(point) => (&text[..point], &text[point + 1..]),
        None => (text, &text[text.len()..]),
    };
    let has_point = whole.len() < text.len();
    let digits_only = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
    if whole.is_empty() || (has_point && fraction.is_empty()) {
        return Err(DecimalError::Malformed);
    }
    if !digits_only(whole) || !digits_only(fraction) {
        return Err(DecimalError::Malformed);
    }
    let (kept, dropped) = fraction.split_at(fraction.len().min(places as usize));
    if dropped.iter().any(|byte| *byte != b'0') {
        return Err(DecimalError::TooPrecise);
    }
    let whole = parse_digits(whole).ok_or(DecimalError::TooLarge)?;
    let scale = 10u64.pow(places);
    // `kept` has at most `places` digits, so padded to `places` it stays under `scale`.
    let padding = 10u64.pow(places - kept.len() as u32);
    let kept = parse_digits(kept).unwrap_or(0) * padding;
    assert!(kept < scale);
    whole.checked_mul(scale).and_then(|value| value.checked_add(kept)).ok_or(DecimalError::TooLarge)
}
