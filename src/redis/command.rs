//! Command encoding: every command is a RESP2 array of bulk strings, encoded by `redis-protocol`.

use redis_protocol::resp2::{encode::encode_borrowed, types::BorrowedFrame};

/// The most arguments one command may carry (name included). Our largest is an `EVALSHA` with
/// a handful of keys and arguments.
pub const ARGUMENTS_MAX: usize = 16;

/// Appends the command `arguments[0] arguments[1..]` to `out`.
///
/// # Panics
/// If `arguments` is empty or longer than [`ARGUMENTS_MAX`]: commands are built by this crate,
/// never from peer input, so that is a programmer error.
pub fn encode_command(out: &mut Vec<u8>, arguments: &[&[u8]]) {
    assert!(!arguments.is_empty() && arguments.len() <= ARGUMENTS_MAX);
    let mut frames = [const { BorrowedFrame::Null }; ARGUMENTS_MAX];
    for (frame, argument) in frames.iter_mut().zip(arguments) {
        *frame = BorrowedFrame::BulkString(argument);
    }
    let frame = BorrowedFrame::Array(&frames[..arguments.len()]);
    let length = frame.encode_len(false);
    let start = out.len();
    out.resize(start + length, 0);
    let written =
        encode_borrowed(&mut out[start..], &frame, false).expect("buffer sized by encode_len");
    assert_eq!(written, length);
}
