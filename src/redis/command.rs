//! Command encoding: every command is a RESP2 array of bulk strings, written by hand.
//!
//! A command is `*<count>\r\n` followed by `$<length>\r\n<bytes>\r\n` per argument. This is the
//! API's hottest step after parsing (one command per payment), so it is written straight into the
//! connection's outgoing buffer: one `reserve` for the whole command, decimal lengths through
//! `itoa`, no intermediate frames. `redis-protocol` is still the reply decoder (`super::reply`), and
//! the tests check that it reads back what this writes.

/// The most arguments one command may carry (name included). Our largest is an `EVALSHA` with
/// a handful of keys and arguments.
pub const ARGUMENTS_MAX: usize = 16;

/// Bytes of a header line at most: the type byte, a `usize` in decimal (20 digits), CRLF.
const HEADER_BYTES_MAX: usize = 1 + 20 + 2;

/// Appends the command `arguments[0] arguments[1..]` to `out`.
///
/// # Panics
/// If `arguments` is empty or longer than [`ARGUMENTS_MAX`]: commands are built by this crate,
/// never from peer input, so that is a programmer error.
pub fn encode_command(out: &mut Vec<u8>, arguments: &[&[u8]]) {
    assert!(!arguments.is_empty(), "a command has a name");
    assert!(arguments.len() <= ARGUMENTS_MAX, "too many arguments");
    let payload_bytes: usize = arguments.iter().map(|argument| argument.len()).sum();
    let bound = HEADER_BYTES_MAX * (1 + arguments.len()) + 2 * arguments.len() + payload_bytes;
    out.reserve(bound);
    let start = out.len();
    push_header(out, b'*', arguments.len());
    for argument in arguments {
        push_header(out, b'$', argument.len());
        out.extend_from_slice(argument);
        out.extend_from_slice(b"\r\n");
    }
    // Paired with the reserve: a bound too small would have reallocated on the hot path.
    debug_assert!(out.len() - start <= bound);
}

/// Appends `<kind><length>\r\n`.
fn push_header(out: &mut Vec<u8>, kind: u8, length: usize) {
    let mut digits = itoa::Buffer::new();
    out.push(kind);
    out.extend_from_slice(digits.format(length).as_bytes());
    out.extend_from_slice(b"\r\n");
}
