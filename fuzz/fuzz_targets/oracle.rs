//! The oracle every fuzz target shares (included as a module by each target, not a target of its
//! own): the fuzzer's first two bytes choose a cut point in the rest of the input, and the prefix
//! up to it must parse as incomplete or to exactly what the whole input parses to.

use std::fmt::Debug;

/// Splits `data` into a cut point and an input, and asserts the prefix oracle for `parse`, whose
/// incomplete result is `incomplete`.
///
/// # Returns
/// The input and what `parse` gives for the whole of it; `None` if `data` is too short to hold a
/// cut point.
pub fn split_prefix_agrees<'a, R: PartialEq + Debug>(
    data: &'a [u8],
    parse: impl Fn(&'a [u8]) -> R,
    incomplete: &R,
) -> Option<(&'a [u8], R)> {
    let [high, low, input @ ..] = data else {
        return None;
    };
    let split = usize::from(u16::from_be_bytes([*high, *low])) % (input.len() + 1);
    let whole = parse(input);
    let prefix = parse(&input[..split]);
    assert!(prefix == *incomplete || prefix == whole, "prefix {prefix:?} whole {whole:?}");
    Some((input, whole))
}
