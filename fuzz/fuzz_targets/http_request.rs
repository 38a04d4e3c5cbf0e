//! Fuzz target for `rinha::http::request::parse_request`.
//!
//! Oracles: no panic; a prefix of the input (cut at a point the fuzzer chooses with the first two
//! bytes) parses to `Ok(None)` or to exactly what the whole input parses to; a complete request
//! lies within the input, and the bytes after it (the next pipelined request) parse too.
#![no_main]

mod oracle;

use libfuzzer_sys::fuzz_target;
use rinha::http::request::parse_request;

fuzz_target!(|data: &[u8]| {
    let Some((input, whole)) = oracle::split_prefix_agrees(data, parse_request, &Ok(None)) else {
        return;
    };
    if let Ok(Some(request)) = whole {
        assert!(request.body_start <= request.len && request.len <= input.len());
        assert!(request.len > 0);
        let _ = parse_request(&input[request.len..]);
    }
});
