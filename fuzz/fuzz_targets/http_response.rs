//! Fuzz target for `rinha::http::client::parse_response`.
//!
//! Oracles: no panic; a prefix of the input (cut at a point the fuzzer chooses with the first two
//! bytes) parses to `Ok(None)` or to the same result as the whole input; a complete response and
//! its body lie within the input.
#![no_main]

mod oracle;

use libfuzzer_sys::fuzz_target;
use rinha::http::client::parse_response;

fuzz_target!(|data: &[u8]| {
    let parse = |input: &[u8]| parse_response(input).map_err(|error| error.to_string());
    let Some((input, whole)) = oracle::split_prefix_agrees(data, parse, &Ok(None)) else {
        return;
    };
    if let Ok(Some(response)) = whole {
        assert!(response.body.start <= response.body.end && response.body.end <= response.len);
        assert!(response.len <= input.len());
    }
});
