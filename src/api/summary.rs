//! `GET /payments-summary` query parsing: `from` and `to`, optional, RFC 3339 timestamps.

use crate::{
    http::request::{percent_decode, query_value},
    payment::parse_timestamp_ms,
};

/// The longest bound accepted, after percent-decoding. `2025-07-10T12:34:56.123456789Z` is 30.
const BOUND_BYTES_MAX: usize = 64;

/// The parsed bounds, in milliseconds; `None` is unbounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummaryWindow {
    /// Lower bound, inclusive.
    pub from_ms: Option<i64>,
    /// Upper bound, inclusive.
    pub to_ms: Option<i64>,
}

/// Which bound could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowError {
    /// `from` is not a timestamp.
    From,
    /// `to` is not a timestamp.
    To,
}

impl WindowError {
    /// A short reason for the `400` body.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::From => "from must be an ISO 8601 UTC timestamp like 2025-07-10T12:34:56.000Z",
            Self::To => "to must be an ISO 8601 UTC timestamp like 2025-07-10T12:34:56.000Z",
        }
    }
}

/// Parses `from` and `to` out of a query string. An empty value counts as absent, which is what
/// a client that builds `?from=&to=` from empty fields means.
///
/// # Errors
/// The first bound that is present and not a timestamp.
pub fn parse_window(query: &[u8]) -> Result<SummaryWindow, WindowError> {
    Ok(SummaryWindow {
        from_ms: parse_bound(query_value(query, b"from")).map_err(|()| WindowError::From)?,
        to_ms: parse_bound(query_value(query, b"to")).map_err(|()| WindowError::To)?,
    })
}

fn parse_bound(value: Option<&[u8]>) -> Result<Option<i64>, ()> {
    let Some(value) = value.filter(|value| !value.is_empty()) else { return Ok(None) };
    let mut decoded = [0u8; BOUND_BYTES_MAX];
    let decoded = percent_decode(value, &mut decoded).ok_or(())?;
    parse_timestamp_ms(decoded).map(Some).ok_or(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE_MS: i64 = 1_752_150_896_000; // 2025-07-10T12:34:56.000Z

    #[test]
    fn windows_table() {
        let cases: &[(&str, Result<SummaryWindow, WindowError>)] = &[
            ("", Ok(SummaryWindow { from_ms: None, to_ms: None })),
            (
                "from=2025-07-10T12:34:56.000Z&to=2025-07-10T12:35:56.999Z",
                Ok(SummaryWindow { from_ms: Some(BASE_MS), to_ms: Some(BASE_MS + 60_999) }),
            ),
            (
                "from=2025-07-10T12:34:56.123Z",
                Ok(SummaryWindow { from_ms: Some(BASE_MS + 123), to_ms: None }),
            ),
            ("to=2025-07-10T12:34:56Z", Ok(SummaryWindow { from_ms: None, to_ms: Some(BASE_MS) })),
            (
                "from=2025-07-10T12%3A34%3A56.000Z",
                Ok(SummaryWindow { from_ms: Some(BASE_MS), to_ms: None }),
            ),
            ("from=&to=", Ok(SummaryWindow { from_ms: None, to_ms: None })),
            (
                "other=1&to=2025-07-10T12:34:56.001Z",
                Ok(SummaryWindow { from_ms: None, to_ms: Some(BASE_MS + 1) }),
            ),
            ("from=yesterday", Err(WindowError::From)),
            ("from=2025-07-10T12:34:56.000Z&to=2025-13-10T12:34:56.000Z", Err(WindowError::To)),
            ("from=2025-07-10T12:34:56.000", Err(WindowError::From)),
            ("from=%zz", Err(WindowError::From)),
            ("from=%3", Err(WindowError::From)),
        ];
        for (query, expected) in cases {
            assert_eq!(parse_window(query.as_bytes()), *expected, "{query}");
        }
    }

    #[test]
    fn an_overlong_bound_is_refused_not_truncated() {
        let long = format!("from=2025-07-10T12:34:56.{}Z", "0".repeat(80));
        assert_eq!(parse_window(long.as_bytes()), Err(WindowError::From));
    }
}
