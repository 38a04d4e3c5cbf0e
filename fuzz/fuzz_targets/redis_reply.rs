//! Fuzz target for `rinha::redis::reply::{check_reply, take_reply}`.
//!
//! Oracles: no panic (in particular `take_reply`'s assertion that our check and redis-protocol's
//! decoder agree on a reply's length); a prefix of the input (cut at a point the fuzzer chooses
//! with the first two bytes) checks to `Ok(None)` or to the same result as the whole input; a
//! reply the check accepts is either taken whole off a `BytesMut`, or refused as `Malformed` by
//! the decoder, and an incomplete one leaves the buffer untouched.
#![no_main]

mod oracle;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rinha::redis::reply::{check_reply, take_reply, ReplyError};

fuzz_target!(|data: &[u8]| {
    let Some((input, whole)) = oracle::split_prefix_agrees(data, check_reply, &Ok(None)) else {
        return;
    };

    let mut buffer = BytesMut::from(input);
    let taken = take_reply(&mut buffer);
    match (whole, taken) {
        (Ok(Some(length)), Ok(Some(_))) => assert_eq!(buffer.len(), input.len() - length),
        (Ok(Some(_)), Err(error)) => assert_eq!(error, ReplyError::Malformed),
        (Ok(None), Ok(None)) => assert_eq!(&buffer[..], input),
        (Err(checked), Err(error)) => assert_eq!(checked, error),
        (whole, taken) => panic!("check {whole:?} but take {taken:?}"),
    }
    // Keep taking: a pipelined stream must never panic either.
    while let Ok(Some(_)) = take_reply(&mut buffer) {}
});
