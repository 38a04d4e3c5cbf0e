//! Fuzz target for `rinha::http::request::parse_request`.
//!
//! Oracles: no panic; a prefix of the input (cut at a point the fuzzer chooses with the first two
//! bytes) parses to `Ok(None)` or to exactly what the whole input parses to; a complete request
//! lies within the input, and the bytes after it (the next pipelined request) parse too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rinha::http::request::parse_request;

fuzz_target!(|data: &[u8]| {
    let [high, low, input @ ..] = data else {
        return;
    };
    let split = usize::from(u16::from_be_bytes([*high, *low])) % (input.len() + 1);
    let whole = parse_request(input);
    let prefix = parse_request(&input[..split]);
    assert!(
        prefix == Ok(None) || prefix == whole,
        "prefix {prefix:?} whole {whole:?}"
    );
    if let Ok(Some(request)) = whole {
        assert!(request.body_start <= request.len && request.len <= input.len());
        assert!(request.len > 0);
        let _ = parse_request(&input[request.len..]);
    }
});
