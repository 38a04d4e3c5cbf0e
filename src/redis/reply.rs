//! Reply framing: check first, then parse.
//!
//! [`check_reply`] walks the bytes of one RESP2 reply without allocating and enforces our bounds:
//! nesting at most [`DEPTH_MAX`], arrays of at most [`ARRAY_LEN_MAX`] elements, bulk strings of at
//! most [`BULK_BYTES_MAX`] and lines of at most [`LINE_BYTES_MAX`]. Only then is the frame handed to
//! `redis-protocol`, whose recursive decoder would otherwise follow any depth and length the wire
//! asks for. An incomplete reply is `Ok(None)`, an expected condition, not an error.

use bytes::BytesMut;
use redis_protocol::resp2::{decode::decode_bytes_mut, types::BytesFrame};

/// A parsed reply. Bulk strings share memory with the connection's read buffer.
pub type Reply = BytesFrame;

/// Deepest nesting accepted: our scripts return flat arrays (depth 1); two more levels of slack.
pub const DEPTH_MAX: usize = 3;

/// Most elements in one array reply. The largest we ask for is a batch of taken payments.
pub const ARRAY_LEN_MAX: usize = 65_536;

/// Largest bulk string accepted. Our values are under 100 bytes.
pub const BULK_BYTES_MAX: usize = 1024 * 1024;

/// Longest simple string, error or integer line, terminator excluded.
pub const LINE_BYTES_MAX: usize = 4096;

/// Why reply bytes were refused. The connection closes on any of these: the stream's framing is
/// lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// Not RESP2: unknown type byte, bad length, bad integer, missing CRLF.
    Malformed,
    /// Nesting deeper than [`DEPTH_MAX`].
    TooDeep,
    /// A length over one of the bounds.
    TooLong,
}

/// Checks that `buffer` starts with one complete, well-formed reply within our bounds.
///
/// # Returns
/// `Ok(Some(len))` with the reply's length in bytes, or `Ok(None)` if more bytes are needed.
///
/// # Errors
/// A [`ReplyError`] for bytes that can never become an acceptable reply.
pub fn check_reply(buffer: &[u8]) -> Result<Option<usize>, ReplyError> {
    check_at(buffer, 0, 0)
}

fn check_at(buffer: &[u8], start: usize, depth: usize) -> Result<Option<usize>, ReplyError> {
    let Some(&kind) = buffer.get(start) else { return Ok(None) };
    let Some((line, after_line)) = read_line(buffer, start + 1)? else { return Ok(None) };
    match kind {
        b'+' | b'-' => Ok(Some(after_line)),
        b':' => parse_integer(line).map(|_| Some(after_line)),
        b'$' => {
            let Some(length) = parse_length(line, BULK_BYTES_MAX)? else {
                return Ok(Some(after_line));
            };
            let end = after_line + length;
            if buffer.len() < end + 2 {
                return Ok(None);
            }
            if &buffer[end..end + 2] != b"\r\n" {
                return Err(ReplyError::Malformed);
            }
            Ok(Some(end + 2))
        }
        b'*' => {
            let Some(count) = parse_length(line, ARRAY_LEN_MAX)? else {
                return Ok(Some(after_line));
            };
            if count > 0 && depth + 1 > DEPTH_MAX {
                return Err(ReplyError::TooDeep);
            }
            let mut position = after_line;
            for _ in 0..count {
                match check_at(buffer, position, depth + 1)? {
                    Some(next) => position = next,
                    None => return Ok(None),
                }
            }
            Ok(Some(position))
        }
        _ => Err(ReplyError::Malformed),
    }
}

/// Finds the line starting at `start`: `Ok(Some((line, index after CRLF)))`, `Ok(None)` while the
/// CRLF has not arrived. A bare `\r` or `\n` inside a line is malformed.
fn read_line(buffer: &[u8], start: usize) -> Result<Option<(&[u8], usize)>, ReplyError> {
    let window_end = buffer.len().min(start + LINE_BYTES_MAX + 2);
    let window = buffer.get(start..window_end).unwrap_or(&[]);
    match window.iter().position(|byte| *byte == b'\r' || *byte == b'\n') {
        Some(index) if window[index] == b'\n' => Err(ReplyError::Malformed),
        Some(index) if index > LINE_BYTES_MAX => Err(ReplyError::TooLong),
        Some(index) => match window.get(index + 1) {
            Some(b'\n') => Ok(Some((&window[..index], start + index + 2))),
            Some(_) => Err(ReplyError::Malformed),
            None => Ok(None),
        },
        None if window.len() > LINE_BYTES_MAX => Err(ReplyError::TooLong),
        None => Ok(None),
    }
}

/// The length of a bulk string or array (`$` or `*` line), at most `length_max`.
///
/// # Returns
/// `None` for `-1`, the null bulk string or array.
///
/// # Errors
/// `Malformed` for any other negative or non-integer length, `TooLong` past `length_max`.
fn parse_length(line: &[u8], length_max: usize) -> Result<Option<usize>, ReplyError> {
    let length = parse_integer(line)?;
    if length == -1 {
        return Ok(None);
    }
    let length = usize::try_from(length).map_err(|_| ReplyError::Malformed)?;
    if length > length_max {
        return Err(ReplyError::TooLong);
    }
    Ok(Some(length))
}

fn parse_integer(line: &[u8]) -> Result<i64, ReplyError> {
    crate::number::parse_signed_digits(line).ok_or(ReplyError::Malformed)
}

/// Takes one checked reply off the front of `buffer`.
///
/// # Returns
/// `Ok(None)` when the reply is incomplete; the buffer is left untouched.
///
/// # Errors
/// A [`ReplyError`] from the check. A frame that passed the check and that `redis-protocol`
/// still refuses is reported as `Malformed`.
pub fn take_reply(buffer: &mut BytesMut) -> Result<Option<Reply>, ReplyError> {
    let Some(length) = check_reply(buffer)? else { return Ok(None) };
    match decode_bytes_mut(buffer) {
        Ok(Some((frame, consumed, _))) => {
            // Paired with the check: both framers must agree on where the reply ends.
            assert_eq!(consumed, length, "check and decode disagree on the reply length");
            Ok(Some(frame))
        }
        Ok(None) | Err(_) => Err(ReplyError::Malformed),
    }
}
