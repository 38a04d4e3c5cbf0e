//! Fuzz target for `rinha::http::client::parse_response`.
//!
//! Oracles: no panic; a prefix of the input (cut at a point the fuzzer chooses with the first two
//! bytes) parses to `Ok(None)` or to the same result as the whole input; a complete response and
//! its body lie within the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rinha::http::client::parse_response;

fuzz_target!(|data: &[u8]| {
    let [high, low, input @ ..] = data else {
        return;
    };
    let split = usize::from(u16::from_be_bytes([*high, *low])) % (input.len() + 1);
    let simplify = |result: std::io::Result<_>| result.map_err(|error| error.to_string());
    let whole = simplify(parse_response(input));
    let prefix = simplify(parse_response(&input[..split]));
    assert!(
        prefix == Ok(None) || prefix == whole,
        "prefix {prefix:?} whole {whole:?}"
    );
    if let Ok(Some(response)) = whole {
        assert!(response.body.start <= response.body.end && response.body.end <= response.len);
        assert!(response.len <= input.len());
    }
});
