//! Tests of the RESP2 reply framing, `rinha::redis::reply`, and of its pair, `encode_command`
//! (whose exact bytes are tested in `tests/redis_command.rs`).
//!
//! # Method
//! - *Table:* the `cases!` macro makes one named `#[test]` per input. A valid reply must report
//!   exactly its own length; an invalid one names the exact [`ReplyError`] variant. Expectations
//!   come from the RESP2 specification and from the module's documented bounds (`DEPTH_MAX`,
//!   `ARRAY_LEN_MAX`, `BULK_BYTES_MAX`, `LINE_BYTES_MAX`), tested at the bound and one past it.
//! - *Partial:* every strict prefix of every valid case gives `Ok(None)`; feeding a `BytesMut` one
//!   byte at a time and taking replies off its front yields the same frames as feeding it whole.
//! - *Pipelined:* two replies and half a third give two frames through `take_reply` and leave the
//!   half reply in the buffer.
//! - *Adversarial:* `$-2`, nesting past `DEPTH_MAX` (also 100 000 levels, which must not overflow
//!   the stack), `*999999999`, huge bulk lengths, bare `\r`/`\n`, integers with junk.
//! - *Properties* (`proptest`): random bytes never panic `check_reply` or `take_reply` (whose
//!   check and decode must agree, or it panics), and a prefix gives `Ok(None)` or the whole's
//!   result; frames generated from a model within the bounds are encoded by hand, and
//!   `check_reply` gives exactly their length, every strict prefix gives `Ok(None)`, and
//!   `take_reply` gives back the model. `encode_command` followed by `take_reply` gives back the
//!   arguments as an array of bulk strings.

mod framing;

use bytes::BytesMut;
use framing::{
    assert_byte_at_a_time_equals_whole, assert_every_strict_prefix_is_incomplete,
    assert_what_follows_is_ignored, cases, complete_inputs,
};
use proptest::prelude::*;
use rinha::redis::{
    command::{encode_command, ARGUMENTS_MAX},
    reply::{
        check_reply, take_reply, Reply, ReplyError, ARRAY_LEN_MAX, BULK_BYTES_MAX, DEPTH_MAX,
        LINE_BYTES_MAX,
    },
};

/// A reply as a test model. Both null encodings decode to the same `Reply::Null`.
#[derive(Clone, Debug)]
enum Frame {
    Simple(Vec<u8>),
    Error(String),
    Integer(i64),
    Bulk(Vec<u8>),
    NullBulk,
    NullArray,
    Array(Vec<Frame>),
}

/// What a [`Frame`] decodes to, comparable with a decoded [`Reply`].
#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Simple(Vec<u8>),
    Error(String),
    Integer(i64),
    Bulk(Vec<u8>),
    Null,
    Array(Vec<Value>),
}

impl Frame {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Simple(text) => {
                out.push(b'+');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Error(text) => out.extend_from_slice(format!("-{text}\r\n").as_bytes()),
            Frame::Integer(number) => out.extend_from_slice(format!(":{number}\r\n").as_bytes()),
            Frame::Bulk(bytes) => {
                out.extend_from_slice(format!("${}\r\n", bytes.len()).as_bytes());
                out.extend_from_slice(bytes);
                out.extend_from_slice(b"\r\n");
            }
            Frame::NullBulk => out.extend_from_slice(b"$-1\r\n"),
            Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Frame::Array(items) => {
                out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
                for item in items {
                    item.encode(out);
                }
            }
        }
    }

    fn encoded(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    fn value(&self) -> Value {
        match self {
            Frame::Simple(text) => Value::Simple(text.clone()),
            Frame::Error(text) => Value::Error(text.clone()),
            Frame::Integer(number) => Value::Integer(*number),
            Frame::Bulk(bytes) => Value::Bulk(bytes.clone()),
            Frame::NullBulk | Frame::NullArray => Value::Null,
            Frame::Array(items) => Value::Array(items.iter().map(Frame::value).collect()),
        }
    }

    /// Levels of non-empty arrays, outermost included.
    fn depth(&self) -> usize {
        match self {
            Frame::Array(items) if !items.is_empty() => {
                1 + items.iter().map(Frame::depth).max().unwrap_or(0)
            }
            _ => 0,
        }
    }
}

fn value_of(reply: &Reply) -> Value {
    match reply {
        Reply::SimpleString(bytes) => Value::Simple(bytes.to_vec()),
        Reply::Error(text) => Value::Error(text.to_string()),
        Reply::Integer(number) => Value::Integer(*number),
        Reply::BulkString(bytes) => Value::Bulk(bytes.to_vec()),
        Reply::Null => Value::Null,
        Reply::Array(items) => Value::Array(items.iter().map(value_of).collect()),
    }
}

/// What a table case expects.
#[derive(Debug)]
enum Expected {
    /// A complete reply spanning the whole input, decoding to the value.
    Complete(Value),
    Incomplete,
    Error(ReplyError),
}

fn check_case(input: &[u8], expected: Expected) {
    match expected {
        Expected::Complete(value) => {
            assert_eq!(check_reply(input), Ok(Some(input.len())));
            let mut buffer = BytesMut::from(input);
            let reply = take_reply(&mut buffer).expect("valid").expect("complete");
            assert_eq!(value_of(&reply), value);
            assert!(buffer.is_empty(), "take_reply consumes the reply");
        }
        Expected::Incomplete => {
            assert_eq!(check_reply(input), Ok(None));
            let mut buffer = BytesMut::from(input);
            assert_eq!(take_reply(&mut buffer), Ok(None));
            assert_eq!(&buffer[..], input, "an incomplete reply stays in the buffer");
        }
        Expected::Error(error) => {
            assert_eq!(check_reply(input), Err(error));
            assert_eq!(take_reply(&mut BytesMut::from(input)), Err(error));
        }
    }
}

fn bulk(text: &str) -> Value {
    Value::Bulk(text.as_bytes().to_vec())
}

/// `levels` nested one-element arrays around `:1`.
fn nested(levels: usize) -> Vec<u8> {
    let mut out = b"*1\r\n".repeat(levels);
    out.extend_from_slice(b":1\r\n");
    out
}

fn nested_value(levels: usize) -> Value {
    (0..levels).fold(Value::Integer(1), |inner, _| Value::Array(vec![inner]))
}

/// A simple string whose content is `length` bytes of `x`.
fn simple_line(length: usize) -> Vec<u8> {
    let mut out = vec![b'+'];
    out.resize(1 + length, b'x');
    out.extend_from_slice(b"\r\n");
    out
}

cases! {
    simple_string: b"+OK\r\n" => Expected::Complete(Value::Simple(b"OK".to_vec()));
    empty_simple_string: b"+\r\n" => Expected::Complete(Value::Simple(Vec::new()));
    error: b"-ERR unknown command\r\n"
        => Expected::Complete(Value::Error("ERR unknown command".into()));
    integer_zero: b":0\r\n" => Expected::Complete(Value::Integer(0));
    integer_negative: b":-12\r\n" => Expected::Complete(Value::Integer(-12));
    integer_max: b":9223372036854775807\r\n" => Expected::Complete(Value::Integer(i64::MAX));
    integer_min: b":-9223372036854775808\r\n" => Expected::Complete(Value::Integer(i64::MIN));
    bulk_string: b"$5\r\nhello\r\n" => Expected::Complete(bulk("hello"));
    empty_bulk_string: b"$0\r\n\r\n" => Expected::Complete(bulk(""));
    bulk_string_holding_crlf: b"$4\r\na\r\nb\r\n" => Expected::Complete(bulk("a\r\nb"));
    bulk_string_binary: b"$3\r\n\x00\xff\n\r\n"
        => Expected::Complete(Value::Bulk(vec![0, 0xff, b'\n']));
    null_bulk_string: b"$-1\r\n" => Expected::Complete(Value::Null);
    null_array: b"*-1\r\n" => Expected::Complete(Value::Null);
    empty_array: b"*0\r\n" => Expected::Complete(Value::Array(Vec::new()));
    flat_array: b"*3\r\n$3\r\nfoo\r\n:-7\r\n$-1\r\n"
        => Expected::Complete(Value::Array(vec![bulk("foo"), Value::Integer(-7), Value::Null]));
    mixed_array: b"*4\r\n+a\r\n-b\r\n*0\r\n*-1\r\n"
        => Expected::Complete(Value::Array(vec![
            Value::Simple(b"a".to_vec()),
            Value::Error("b".into()),
            Value::Array(Vec::new()),
            Value::Null,
        ]));
    nesting_at_depth_max: nested(DEPTH_MAX) => Expected::Complete(nested_value(DEPTH_MAX));
    line_at_the_limit: simple_line(LINE_BYTES_MAX)
        => Expected::Complete(Value::Simple(vec![b'x'; LINE_BYTES_MAX]));

    empty_input: b"" => Expected::Incomplete;
    type_byte_only: b"$" => Expected::Incomplete;
    line_without_lf: b"+OK\r" => Expected::Incomplete;
    bulk_without_data: b"$5\r\nhel" => Expected::Incomplete;
    bulk_without_final_lf: b"$5\r\nhello\r" => Expected::Incomplete;
    array_missing_elements: b"*2\r\n:1\r\n" => Expected::Incomplete;
    array_at_length_limit: format!("*{ARRAY_LEN_MAX}\r\n").as_bytes() => Expected::Incomplete;
    bulk_at_length_limit: format!("${BULK_BYTES_MAX}\r\n").as_bytes() => Expected::Incomplete;

    null_bulk_minus_two: b"$-2\r\n" => Expected::Error(ReplyError::Malformed);
    null_array_minus_two: b"*-2\r\n" => Expected::Error(ReplyError::Malformed);
    nested_bulk_minus_two: b"*1\r\n$-2\r\n" => Expected::Error(ReplyError::Malformed);
    unknown_type_byte: b"?x\r\n" => Expected::Error(ReplyError::Malformed);
    resp3_null_is_not_resp2: b"_\r\n" => Expected::Error(ReplyError::Malformed);
    resp3_map_is_not_resp2: b"%1\r\n+a\r\n+b\r\n" => Expected::Error(ReplyError::Malformed);
    crlf_alone: b"\r\n" => Expected::Error(ReplyError::Malformed);
    bare_lf_in_simple_string: b"+a\nb\r\n" => Expected::Error(ReplyError::Malformed);
    bare_lf_as_terminator: b"+OK\n" => Expected::Error(ReplyError::Malformed);
    bare_cr_in_simple_string: b"+a\rb\r\n" => Expected::Error(ReplyError::Malformed);
    bare_lf_in_error: b"-E\nR\r\n" => Expected::Error(ReplyError::Malformed);
    integer_with_junk: b":12a\r\n" => Expected::Error(ReplyError::Malformed);
    integer_with_space: b": 1\r\n" => Expected::Error(ReplyError::Malformed);
    integer_with_plus: b":+1\r\n" => Expected::Error(ReplyError::Malformed);
    integer_empty: b":\r\n" => Expected::Error(ReplyError::Malformed);
    integer_decimal: b":1.5\r\n" => Expected::Error(ReplyError::Malformed);
    integer_overflow: b":9223372036854775808\r\n" => Expected::Error(ReplyError::Malformed);
    bulk_length_not_a_number: b"$abc\r\n" => Expected::Error(ReplyError::Malformed);
    bulk_length_plus: b"$+5\r\nhello\r\n" => Expected::Error(ReplyError::Malformed);
    bulk_length_empty: b"$\r\n" => Expected::Error(ReplyError::Malformed);
    bulk_data_longer_than_length: b"$5\r\nhelloXY\r\n" => Expected::Error(ReplyError::Malformed);
    error_in_array_element: b"*2\r\n:1\r\n?\r\n" => Expected::Error(ReplyError::Malformed);
    nesting_past_depth_max: nested(DEPTH_MAX + 1) => Expected::Error(ReplyError::TooDeep);
    nesting_100000_levels: nested(100_000) => Expected::Error(ReplyError::TooDeep);
    array_past_length_limit: format!("*{}\r\n", ARRAY_LEN_MAX + 1).as_bytes()
        => Expected::Error(ReplyError::TooLong);
    array_length_999999999: b"*999999999\r\n" => Expected::Error(ReplyError::TooLong);
    array_length_i64_max: b"*9223372036854775807\r\n" => Expected::Error(ReplyError::TooLong);
    bulk_past_length_limit: format!("${}\r\n", BULK_BYTES_MAX + 1).as_bytes()
        => Expected::Error(ReplyError::TooLong);
    bulk_length_i64_max: b"$9223372036854775807\r\n" => Expected::Error(ReplyError::TooLong);
    bulk_length_overflow: b"$99999999999999999999\r\n" => Expected::Error(ReplyError::Malformed);
    unterminated_line_past_the_limit: simple_line(LINE_BYTES_MAX + 1)[..LINE_BYTES_MAX + 2]
        => Expected::Error(ReplyError::TooLong);
    terminated_line_far_past_the_limit: simple_line(LINE_BYTES_MAX * 2)
        => Expected::Error(ReplyError::TooLong);
}

#[test]
fn terminated_line_one_past_the_limit() {
    // read_line's window holds LINE_BYTES_MAX + 2 bytes, so it sees this line's `\r` but never its
    // `\n`, and answers "incomplete" however many bytes arrive: the reader waits forever.
    let line = simple_line(LINE_BYTES_MAX + 1);
    assert_eq!(check_reply(&line), Err(ReplyError::TooLong));
    let mut more = line.clone();
    more.extend_from_slice(&[b'+'; 10_000]);
    assert_eq!(check_reply(&more), Err(ReplyError::TooLong));
}

#[test]
fn nesting_at_depth_max_within_an_array_that_is_wide() {
    // Depth is per branch, not summed over siblings.
    let mut input = b"*3\r\n".to_vec();
    for _ in 0..3 {
        input.extend_from_slice(&nested(DEPTH_MAX - 1));
    }
    assert_eq!(check_reply(&input), Ok(Some(input.len())));
}

#[test]
fn error_text_that_is_not_utf8_is_malformed_for_take_reply() {
    // The check accepts any byte but CR and LF in an error line; redis-protocol keeps errors as
    // `str`, so `take_reply` must turn its refusal into `Malformed`, not panic.
    let input = b"-\xff\r\n";
    assert_eq!(check_reply(input), Ok(Some(input.len())));
    assert_eq!(take_reply(&mut BytesMut::from(&input[..])), Err(ReplyError::Malformed));
}

fn valid_table_inputs() -> Vec<framing::Case> {
    complete_inputs(table(), |input| check_reply(input).ok().flatten(), 15)
}

#[test]
fn every_strict_prefix_of_a_valid_reply_is_incomplete() {
    assert_every_strict_prefix_is_incomplete(&valid_table_inputs(), check_reply, &Ok(None));
}

#[test]
fn a_valid_reply_ignores_what_follows() {
    assert_what_follows_is_ignored(&valid_table_inputs(), b"?\n\r\xff", check_reply);
}

/// Simulates a connection: `chunks` are appended to one `BytesMut` and every complete reply is
/// taken off its front by `take_reply` after each arrival (so a partial reply must be left in the
/// buffer untouched). Returns the values and the length of what is left.
fn receive(chunks: Vec<Vec<u8>>) -> (Vec<Value>, usize) {
    let mut buffer = BytesMut::new();
    let mut values = Vec::new();
    for chunk in chunks {
        buffer.extend_from_slice(&chunk);
        while let Some(reply) = take_reply(&mut buffer).expect("valid stream") {
            values.push(value_of(&reply));
        }
    }
    (values, buffer.len())
}

#[test]
fn byte_at_a_time_equals_whole() {
    assert_byte_at_a_time_equals_whole(&valid_table_inputs(), receive);
}

#[test]
fn pipelined_two_replies_and_half_a_third() {
    let first: &[u8] = b"*2\r\n$3\r\nfoo\r\n:1\r\n";
    let second: &[u8] = b"+OK\r\n";
    let third: &[u8] = b"*2\r\n$3\r\nbar\r\n:";
    let bytes = [first, second, third].concat();

    let first_len = check_reply(&bytes).unwrap().unwrap();
    let second_len = check_reply(&bytes[first_len..]).unwrap().unwrap();
    assert_eq!((first_len, second_len), (first.len(), second.len()));
    assert_eq!(check_reply(&bytes[first_len + second_len..]), Ok(None));

    let mut buffer = BytesMut::from(&bytes[..]);
    let one = take_reply(&mut buffer).unwrap().unwrap();
    let two = take_reply(&mut buffer).unwrap().unwrap();
    assert_eq!(value_of(&one), Value::Array(vec![bulk("foo"), Value::Integer(1)]));
    assert_eq!(value_of(&two), Value::Simple(b"OK".to_vec()));
    assert_eq!(take_reply(&mut buffer), Ok(None));
    assert_eq!(&buffer[..], third, "the half reply stays for the next read");
}

fn leaf_frame() -> impl Strategy<Value = Frame> {
    let line_byte = any::<u8>().prop_filter("CR or LF", |byte| *byte != b'\r' && *byte != b'\n');
    prop_oneof![
        prop::collection::vec(line_byte, 0..40).prop_map(Frame::Simple),
        "[ -~]{0,40}".prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        prop::collection::vec(any::<u8>(), 0..100).prop_map(Frame::Bulk),
        Just(Frame::NullBulk),
        Just(Frame::NullArray),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    leaf_frame()
        .prop_recursive(DEPTH_MAX as u32, 64, 6, |inner| {
            prop::collection::vec(inner, 0..6).prop_map(Frame::Array)
        })
        .prop_filter("within DEPTH_MAX", |frame| frame.depth() <= DEPTH_MAX)
}

/// Bytes that replies are made of, and a few RESP3 and non-UTF-8 ones.
const RESP_NOISE: &[u8] = b"+-:$*_%0123456789-1\r\n\r\nab\xff";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic_and_prefixes_agree(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        split in any::<prop::sample::Index>(),
    ) {
        framing::assert_prefix_agrees(&bytes, split, check_reply, &Ok(None))?;
        let _ = take_reply(&mut BytesMut::from(&bytes[..]));
    }

    #[test]
    fn resp_shaped_bytes_never_panic_and_prefixes_agree(
        bytes in prop::collection::vec(prop::sample::select(RESP_NOISE.to_vec()), 0..300),
        split in any::<prop::sample::Index>(),
    ) {
        framing::assert_prefix_agrees(&bytes, split, check_reply, &Ok(None))?;
        let mut buffer = BytesMut::from(&bytes[..]);
        // Take replies until the stream fails or runs dry: the check-decode assertion inside
        // take_reply must hold for every reply the check accepts.
        while let Ok(Some(_)) = take_reply(&mut buffer) {}
    }

    #[test]
    fn model_frames_have_their_exact_length(
        frame in frame(),
        trailer in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let encoded = frame.encoded();
        prop_assert_eq!(check_reply(&encoded), Ok(Some(encoded.len())));
        let mut extended = encoded.clone();
        extended.extend_from_slice(&trailer);
        prop_assert_eq!(check_reply(&extended), Ok(Some(encoded.len())));
        let mut buffer = BytesMut::from(&extended[..]);
        let reply = take_reply(&mut buffer).unwrap().unwrap();
        prop_assert_eq!(value_of(&reply), frame.value());
        prop_assert_eq!(&buffer[..], &trailer[..]);
    }

    #[test]
    fn every_strict_prefix_of_a_model_frame_is_incomplete(frame in frame()) {
        let encoded = frame.encoded();
        for end in 0..encoded.len() {
            prop_assert_eq!(check_reply(&encoded[..end]), Ok(None), "prefix of {} bytes", end);
        }
    }

    #[test]
    fn model_frames_pipeline(
        frames in prop::collection::vec(frame(), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut stream: Vec<u8> = frames.iter().flat_map(Frame::encoded).collect();
        let extra = frames[0].encoded();
        let kept = cut.index(extra.len());
        stream.extend_from_slice(&extra[..kept]);
        let (values, left) = receive(vec![stream.clone()]);
        let expected: Vec<Value> = frames.iter().map(Frame::value).collect();
        prop_assert_eq!(&values, &expected);
        prop_assert_eq!(left, kept);
        let (bytewise, _) = receive(stream.iter().map(|byte| vec![*byte]).collect());
        prop_assert_eq!(bytewise, expected);
    }

    #[test]
    fn too_deep_model_frames_are_refused(levels in (DEPTH_MAX + 1)..64, leaf in leaf_frame()) {
        let mut encoded = b"*1\r\n".repeat(levels);
        leaf.encode(&mut encoded);
        prop_assert_eq!(check_reply(&encoded), Err(ReplyError::TooDeep));
    }

    #[test]
    fn encode_command_then_take_reply_round_trips(
        arguments in prop::collection::vec(
            prop::collection::vec(any::<u8>(), 0..64),
            1..=ARGUMENTS_MAX,
        ),
    ) {
        let slices: Vec<&[u8]> = arguments.iter().map(Vec::as_slice).collect();
        let mut out = Vec::new();
        encode_command(&mut out, &slices);
        prop_assert_eq!(check_reply(&out), Ok(Some(out.len())));
        let reply = take_reply(&mut BytesMut::from(&out[..])).unwrap().unwrap();
        let expected = Value::Array(arguments.iter().cloned().map(Value::Bulk).collect());
        prop_assert_eq!(value_of(&reply), expected);
    }
}
