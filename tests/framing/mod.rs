//! The stream properties that every framing parser under test must have, shared by
//! `tests/http_request.rs`, `tests/http_response.rs` and `tests/redis_reply.rs`: a table of named
//! cases, every strict prefix of a whole input is incomplete, what follows a whole input is
//! ignored, and bytes arriving one at a time frame the same items as bytes arriving at once.
//!
//! Each parser is passed in as a function of the bytes, so the assertions are written once and
//! each file keeps only what is its own (the expected values, and how it takes an item off its
//! buffer).

// Each test crate uses the part it needs (the RESP tests keep their own `BytesMut` receiver).
#![allow(dead_code)]

use std::fmt::Debug;

/// A named table input.
pub type Case = (&'static str, Vec<u8>);

/// Makes one named `#[test]` per case, each calling the file's own `check_case(input, expected)`,
/// and `fn table() -> Vec<Case>` with every input, for the stream properties below.
macro_rules! cases {
    ($($name:ident: $input:expr => $expected:expr;)*) => {
        $(
            #[test]
            fn $name() {
                check_case(&$input[..], $expected);
            }
        )*
        /// Every input of the table, for the prefix and stream tests.
        fn table() -> Vec<framing::Case> {
            vec![$((stringify!($name), $input.to_vec())),*]
        }
    };
}
pub(crate) use cases;

/// The inputs of `table` that `consumed` finds whole (`Some(bytes consumed)`). Each must be
/// exactly one item, consuming all of its bytes, and there must be at least `count_min` of them
/// (a filter that emptied the table by accident would make every property below vacuous).
pub fn complete_inputs(
    table: Vec<Case>,
    consumed: impl Fn(&[u8]) -> Option<usize>,
    count_min: usize,
) -> Vec<Case> {
    let inputs: Vec<Case> =
        table.into_iter().filter(|(_, input)| consumed(input).is_some()).collect();
    for (name, input) in &inputs {
        assert_eq!(consumed(input), Some(input.len()), "{name}: one item, all of its bytes");
    }
    assert!(inputs.len() >= count_min, "only {} complete cases", inputs.len());
    inputs
}

/// Every strict prefix of every input parses to `incomplete`.
pub fn assert_every_strict_prefix_is_incomplete<R: PartialEq + Debug>(
    inputs: &[Case],
    parse: impl Fn(&[u8]) -> R,
    incomplete: &R,
) {
    for (name, input) in inputs {
        assert!(!input.is_empty(), "{name}");
        for end in 0..input.len() {
            assert_eq!(parse(&input[..end]), *incomplete, "{name}: prefix of {end} bytes");
        }
    }
}

/// Bytes after a whole input (`suffix`, chosen to be invalid on its own) change nothing.
pub fn assert_what_follows_is_ignored<R: PartialEq + Debug>(
    inputs: &[Case],
    suffix: &[u8],
    parse: impl Fn(&[u8]) -> R,
) {
    for (name, input) in inputs {
        let mut extended = input.clone();
        extended.extend_from_slice(suffix);
        assert_eq!(parse(&extended), parse(input), "{name}");
    }
}

/// Concatenates the inputs into one stream and delivers it whole, then one byte at a time:
/// `receive` must frame the same items both ways, one per input, with no bytes left over.
///
/// `receive` takes the chunks in arrival order and returns the items and the leftover length.
pub fn assert_byte_at_a_time_equals_whole<T: PartialEq + Debug>(
    inputs: &[Case],
    receive: impl Fn(Vec<Vec<u8>>) -> (Vec<T>, usize),
) {
    let stream: Vec<u8> = inputs.iter().flat_map(|(_, input)| input.iter().copied()).collect();
    let (whole, whole_left) = receive(vec![stream.clone()]);
    let (bytewise, bytewise_left) = receive(stream.iter().map(|byte| vec![*byte]).collect());
    assert_eq!(whole.len(), inputs.len());
    assert_eq!(bytewise, whole);
    assert_eq!((whole_left, bytewise_left), (0, 0));
}

/// Simulates a connection over a `Vec` buffer: `chunks` arrive one after another, and after each
/// arrival `take` is asked for every whole item at the buffer's front (`Some((item, length))`),
/// which is then drained. Returns the items and the length of what is left.
pub fn receive<T>(
    chunks: Vec<Vec<u8>>,
    take: impl Fn(&[u8]) -> Option<(T, usize)>,
) -> (Vec<T>, usize) {
    let mut buffer = Vec::new();
    let mut items = Vec::new();
    for chunk in chunks {
        buffer.extend_from_slice(&chunk);
        while let Some((item, length)) = take(&buffer) {
            assert!(length > 0 && length <= buffer.len());
            buffer.drain(..length);
            items.push(item);
        }
    }
    (items, buffer.len())
}

/// The property every framing parser has on any input: the prefix of `bytes` cut at `split` (any
/// point from empty to whole) parses to `incomplete` or to exactly what the whole parses to.
///
/// # Errors
/// A proptest failure naming both results.
pub fn assert_prefix_agrees<R: PartialEq + Debug>(
    bytes: &[u8],
    split: proptest::sample::Index,
    parse: impl Fn(&[u8]) -> R,
    incomplete: &R,
) -> Result<(), proptest::test_runner::TestCaseError> {
    let whole = parse(bytes);
    let prefix = parse(&bytes[..split.index(bytes.len() + 1)]);
    proptest::prop_assert!(
        prefix == *incomplete || prefix == whole,
        "prefix {prefix:?} whole {whole:?}"
    );
    Ok(())
}
