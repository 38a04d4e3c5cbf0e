//! The one parser of digits and decimals (`rinha::number`): a table of every edge, then
//! properties over random input.
//!
//! Method: each table row is an input and the exact result; the properties check that printing a
//! number and parsing it back is the identity, that `parse_digits` agrees with the standard
//! library wherever the standard library is strict enough, and that no input panics.

use proptest::prelude::*;
use rinha::number::{
    parse_decimal, parse_digits, parse_signed_digits, DecimalError, DECIMAL_PLACES_MAX,
};

#[test]
fn digits_and_signed_digits_table() {
    // (text, parse_digits, parse_signed_digits): every input goes through both parsers.
    let cases: &[(&str, Option<u64>, Option<i64>)] = &[
        ("0", Some(0), Some(0)),
        ("7", Some(7), Some(7)),
        ("007", Some(7), Some(7)),
        ("1990", Some(1990), Some(1990)),
        ("42", Some(42), Some(42)),
        ("-0", None, Some(0)),
        ("-1", None, Some(-1)),
        ("-5", None, Some(-5)),
        ("9223372036854775807", Some(i64::MAX as u64), Some(i64::MAX)),
        ("9223372036854775808", Some(1 << 63), None),
        ("-9223372036854775808", None, Some(i64::MIN)),
        ("-9223372036854775809", None, None),
        ("18446744073709551615", Some(u64::MAX), None),
        ("00000000000000000000018446744073709551615", Some(u64::MAX), None),
        // Overflow by one, and values that would wrap to a small number if unchecked.
        ("18446744073709551616", None, None),
        ("18446744073709551621", None, None),
        ("-18446744073709551616", None, None),
        ("99999999999999999999", None, None),
        ("", None, None),
        ("-", None, None),
        ("+5", None, None),
        ("--1", None, None),
        ("- 1", None, None),
        ("1-", None, None),
        (" 5", None, None),
        ("5 ", None, None),
        ("1 0", None, None),
        ("0x10", None, None),
        ("1e3", None, None),
        ("1.0", None, None),
        ("5,5", None, None),
        ("٣", None, None),
    ];
    for (text, digits, signed) in cases {
        assert_eq!(parse_digits(text.as_bytes()), *digits, "digits of {text:?}");
        assert_eq!(parse_signed_digits(text.as_bytes()), *signed, "signed digits of {text:?}");
    }
}

#[test]
fn decimals_table() {
    use DecimalError::*;
    let cases: &[(&str, u32, Result<u64, DecimalError>)] = &[
        // Cents (2 places), as the processors' summaries print them.
        ("19.90", 2, Ok(1990)),
        ("19.9", 2, Ok(1990)),
        ("7", 2, Ok(700)),
        ("0.00", 2, Ok(0)),
        ("0.01", 2, Ok(1)),
        ("007.5", 2, Ok(750)),
        // Zeros past the scale do not change the value; any other digit there is refused, never
        // rounded (neither half up nor down).
        ("1.230", 2, Ok(123)),
        ("1.2300000000000000000000", 2, Ok(123)),
        ("1.234", 2, Err(TooPrecise)),
        ("1.235", 2, Err(TooPrecise)),
        ("1.005", 2, Err(TooPrecise)),
        ("0.001", 2, Err(TooPrecise)),
        // Fees: basis points (4 places) and the simulator's exact fraction (9 places).
        ("0.05", 4, Ok(500)),
        ("0.0001", 4, Ok(1)),
        ("0.00001", 4, Err(TooPrecise)),
        ("0.123456789", 9, Ok(123_456_789)),
        ("0.1234567891", 9, Err(TooPrecise)),
        // No places: an integer, with an all-zero fraction allowed.
        ("12", 0, Ok(12)),
        ("12.000", 0, Ok(12)),
        ("12.5", 0, Err(TooPrecise)),
        // Max digits: the largest value that fits at each scale, and one more.
        ("18446744073709551615", 0, Ok(u64::MAX)),
        ("18446744073709551616", 0, Err(TooLarge)),
        ("184467440737095516.15", 2, Ok(u64::MAX)),
        ("184467440737095516.16", 2, Err(TooLarge)),
        ("184467440737095517", 2, Err(TooLarge)),
        ("99999999999999999999999", 2, Err(TooLarge)),
        ("18.446744073709551615", DECIMAL_PLACES_MAX, Ok(18_446_744_073_709_551_615)),
        ("18.446744073709551616", DECIMAL_PLACES_MAX, Err(TooLarge)),
        // Signs: every quantity we read is non-negative, and `+` is not JSON.
        ("-1.00", 2, Err(Sign)),
        ("+1.00", 2, Err(Sign)),
        ("-0", 2, Err(Sign)),
        // Exponent forms a JSON writer may use: refused, none of our sources writes one.
        ("1e2", 2, Err(Exponent)),
        ("1E2", 2, Err(Exponent)),
        ("1.5e+1", 2, Err(Exponent)),
        ("1.5E-1", 2, Err(Exponent)),
        ("e", 2, Err(Exponent)),
        // Garbage.
        ("", 2, Err(Empty)),
        (".5", 2, Err(Malformed)),
        ("5.", 2, Err(Malformed)),
        (".", 2, Err(Malformed)),
        ("1.2.3", 2, Err(Malformed)),
        ("1,5", 2, Err(Malformed)),
        (" 1.5", 2, Err(Malformed)),
        ("1.5 ", 2, Err(Malformed)),
        ("1 .5", 2, Err(Malformed)),
        ("0x10", 2, Err(Malformed)),
        ("NaN", 2, Err(Malformed)),
        ("inf", 2, Err(Malformed)),
        ("5%", 2, Err(Malformed)),
        ("abc", 2, Err(Malformed)),
        ("hello", 2, Err(Malformed)),
        ("1e2x", 2, Err(Malformed)),
    ];
    for (text, places, expected) in cases {
        assert_eq!(parse_decimal(text.as_bytes(), *places), *expected, "{text:?} at {places}");
    }
}

#[test]
#[should_panic(expected = "above the maximum")]
fn a_scale_above_the_maximum_is_a_programmer_error() {
    let _ = parse_decimal(b"1", DECIMAL_PLACES_MAX + 1);
}

/// `units` printed at `places`, the way `payment::write_cents` prints cents at 2.
fn printed(units: u64, places: u32) -> String {
    if places == 0 {
        return units.to_string();
    }
    let scale = 10u64.pow(places);
    format!("{}.{:0width$}", units / scale, units % scale, width = places as usize)
}

proptest! {
    #[test]
    fn digits_agree_with_the_standard_library(text in "[0-9]{1,25}") {
        prop_assert_eq!(parse_digits(text.as_bytes()), text.parse::<u64>().ok());
    }

    #[test]
    fn signed_digits_agree_with_the_standard_library(text in "-?[0-9]{1,22}") {
        prop_assert_eq!(parse_signed_digits(text.as_bytes()), text.parse::<i64>().ok());
    }

    #[test]
    fn a_printed_decimal_parses_back(units in any::<u64>(), places in 0..=DECIMAL_PLACES_MAX) {
        prop_assert_eq!(parse_decimal(printed(units, places).as_bytes(), places), Ok(units));
    }

    #[test]
    fn trailing_zeros_change_nothing(units in any::<u64>(), places in 1..=9u32, zeros in 1..12usize) {
        let text = format!("{}{}", printed(units, places), "0".repeat(zeros));
        prop_assert_eq!(parse_decimal(text.as_bytes(), places), Ok(units));
    }

    #[test]
    fn a_digit_past_the_scale_is_refused(
        units in 0..1_000_000_000u64,
        places in 1..=9u32,
        digit in 1..=9u8,
    ) {
        let text = format!("{}{digit}", printed(units, places));
        prop_assert_eq!(parse_decimal(text.as_bytes(), places), Err(DecimalError::TooPrecise));
    }

    #[test]
    fn cents_agree_with_the_integer_and_fraction(whole in 0..100_000_000u64, cents in 0..100u64) {
        let text = format!("{whole}.{cents:02}");
        prop_assert_eq!(parse_decimal(text.as_bytes(), 2), Ok(whole * 100 + cents));
        let short = format!("{whole}.{}", cents / 10);
        prop_assert_eq!(parse_decimal(short.as_bytes(), 2), Ok(whole * 100 + cents / 10 * 10));
    }

    #[test]
    fn no_input_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40), places in 0..=DECIMAL_PLACES_MAX) {
        let _ = parse_digits(&bytes);
        let _ = parse_signed_digits(&bytes);
        let _ = parse_decimal(&bytes, places);
    }

    #[test]
    fn number_like_garbage_never_panics_and_never_succeeds_with_a_sign(
        text in "[-+]?[0-9]{0,20}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{0,3})?",
        places in 0..=DECIMAL_PLACES_MAX,
    ) {
        let result = parse_decimal(text.as_bytes(), places);
        if text.starts_with(['+', '-']) {
            prop_assert_eq!(result, Err(DecimalError::Sign));
        }
        if result.is_ok() {
            prop_assert!(!text.contains(['e', 'E']));
        }
    }
}
