//! A bounded HTTP/1.1 request parser.
//!
//! The caller owns the buffer; [`parse_request`] looks at the bytes received so far and returns
//! `Ok(None)` while a request is incomplete, so the connection loop can read more and call again.
//! Headers are parsed by `httparse` into an array on the stack; the only headers we act on are
//! `Content-Length`, `Transfer-Encoding` and `Connection`.
//!
//! # Limits
//! At most [`HEADERS_MAX`] headers and [`BODY_BYTES_MAX`] of body; the head may be as large as the
//! caller's buffer, and a buffer that fills up before a request completes is the caller's signal to
//! answer `413` (see `server`).

use std::mem::MaybeUninit;

/// The most headers a request may carry. Real clients (k6, nginx, curl) send fewer than 10.
pub const HEADERS_MAX: usize = 32;

/// The largest body accepted. Our payloads are under 200 bytes; 4 KiB leaves room for clients
/// that pretty-print, and stays well inside the connection's read buffer.
pub const BODY_BYTES_MAX: usize = 4096;

/// Request methods this service distinguishes; anything else is `Other` and gets a `405`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// Any other method.
    Other,
}

/// The most digits a `Content-Length` may have: anything longer is over every body limit anyway,
/// so it is refused as invalid rather than read (`0000000003` included).
pub(crate) const CONTENT_LENGTH_DIGITS_MAX: usize = 9;

/// A complete request, borrowing from the connection's read buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// The path, without the query string.
    pub path: &'a [u8],
    /// The query string without the `?`, empty when absent.
    pub query: &'a [u8],
    /// The head, request line to the blank line, for [`Request::header`]: headers this parser
    /// has no use for are looked up there by whoever needs them, so it names none of them.
    pub head: &'a [u8],
    /// Whether the connection stays open after this request.
    pub keep_alive: bool,
    /// Byte range of the body within the buffer passed to [`parse_request`].
    pub body_start: usize,
    /// Total bytes of this request (head and body): where the next pipelined request starts.
    pub len: usize,
}

impl<'a> Request<'a> {
    /// The body, as a range of the buffer the request was parsed from.
    pub fn body_range(&self) -> std::ops::Range<usize> {
        self.body_start..self.len
    }

    /// The value of the first header called `name` (ASCII case ignored), without surrounding
    /// spaces or tabs; `None` when the request has no such header.
    ///
    /// A scan of the head on every call: meant for headers read on cold paths (an admin token),
    /// not for every request. httparse has already accepted the head, so each line after the
    /// request line is `name: value`, ended by CRLF or a bare LF.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        let is_space = |byte: &u8| *byte == b' ' || *byte == b'\t';
        for line in self.head.split(|byte| *byte == b'\n').skip(1) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = line.iter().position(|byte| *byte == b':') else { continue };
            if !line[..colon].eq_ignore_ascii_case(name.as_bytes()) {
                continue;
            }
            let value = &line[colon + 1..];
            let start = value.iter().position(|byte| !is_space(byte)).unwrap_or(value.len());
            let end = value.iter().rposition(|byte| !is_space(byte)).map_or(start, |end| end + 1);
            return Some(&value[start..end]);
        }
        None
    }
}

/// Why a request was refused before routing. Each variant maps to one canned response that
/// closes the connection, because after a framing error the next request's start is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The request line or a header is malformed.
    Malformed,
    /// More than [`HEADERS_MAX`] headers.
    TooManyHeaders,
    /// Content-Length is not a number, or appears twice.
    ContentLengthInvalid,
    /// The body is larger than [`BODY_BYTES_MAX`].
    BodyTooLarge,
    /// `Transfer-Encoding` (chunked bodies) is not supported by this service.
    TransferEncodingUnsupported,
    /// Not HTTP/1.0 or HTTP/1.1.
    VersionUnsupported,
}

/// Parses the request at the start of `buffer`.
///
/// # Returns
/// `Ok(None)` while the head or body is incomplete; `Ok(Some(request))` once `request.len` bytes
/// hold a whole request.
///
/// # Errors
/// A [`ParseError`] for input that can never become a valid request.
pub fn parse_request(buffer: &[u8]) -> Result<Option<Request<'_>>, ParseError> {
    let mut headers: [MaybeUninit<httparse::Header<'_>>; HEADERS_MAX] =
        [const { MaybeUninit::uninit() }; HEADERS_MAX];
    let mut parsed = httparse::Request::new(&mut []);
    let head_len = match parsed.parse_with_uninit_headers(buffer, &mut headers) {
        Ok(httparse::Status::Complete(head_len)) => head_len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(ParseError::TooManyHeaders),
        Err(httparse::Error::Version) => return Err(ParseError::VersionUnsupported),
        Err(_) => return Err(ParseError::Malformed),
    };
    let version = parsed.version.ok_or(ParseError::Malformed)?;
    let target = parsed.path.ok_or(ParseError::Malformed)?.as_bytes();
    let method = match parsed.method.ok_or(ParseError::Malformed)? {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        _ => Method::Other,
    };
    let mut content_length: Option<usize> = None;
    // HTTP/1.1 keeps the connection by default, HTTP/1.0 closes it by default.
    let mut keep_alive = version == 1;
    for header in parsed.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            if content_length.is_some() {
                return Err(ParseError::ContentLengthInvalid);
            }
            content_length = Some(parse_content_length(header.value)?);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(ParseError::TransferEncodingUnsupported);
        } else if header.name.eq_ignore_ascii_case("connection") {
            keep_alive = connection_keeps_alive(header.value, keep_alive);
        }
    }
    let body_len = content_length.unwrap_or(0);
    if body_len > BODY_BYTES_MAX {
        return Err(ParseError::BodyTooLarge);
    }
    let len = head_len + body_len;
    if buffer.len() < len {
        return Ok(None);
    }
    let (path, query) = split_target(target);
    assert!(head_len <= len && len <= buffer.len());
    let head = &buffer[..head_len];
    Ok(Some(Request { method, path, query, head, keep_alive, body_start: head_len, len }))
}

fn split_target(target: &[u8]) -> (&[u8], &[u8]) {
    match target.iter().position(|byte| *byte == b'?') {
        Some(mark) => (&target[..mark], &target[mark + 1..]),
        None => (target, &[]),
    }
}

/// Digits only, no sign, no spaces, at most [`CONTENT_LENGTH_DIGITS_MAX`] digits.
fn parse_content_length(value: &[u8]) -> Result<usize, ParseError> {
    if value.len() > CONTENT_LENGTH_DIGITS_MAX {
        return Err(ParseError::ContentLengthInvalid);
    }
    let length = crate::number::parse_digits(value).ok_or(ParseError::ContentLengthInvalid)?;
    usize::try_from(length).map_err(|_| ParseError::ContentLengthInvalid)
}

fn connection_keeps_alive(value: &[u8], default: bool) -> bool {
    let mut keep_alive = default;
    for option in value.split(|byte| *byte == b',') {
        let option = option.trim_ascii();
        if option.eq_ignore_ascii_case(b"close") {
            return false;
        }
        if option.eq_ignore_ascii_case(b"keep-alive") {
            keep_alive = true;
        }
    }
    keep_alive
}

/// Returns the value of `name` in a query string (`a=1&b=2`), undecoded, or `None` if absent.
/// The contest sends timestamps unencoded; `%3A`-style escapes are decoded by the caller if needed.
pub fn query_value<'a>(query: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    query.split(|byte| *byte == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|byte| *byte == b'=') {
            Some(equals) => (&pair[..equals], &pair[equals + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        (key == name).then_some(value)
    })
}

/// Decodes the `%XX` escapes of a query value into `out`: the contest sends timestamps
/// unencoded, but a client that encodes sends `:` as `%3A`. `+` is left alone: no value we read
/// (a timestamp) contains one, so it never stands for a space here.
///
/// # Returns
/// The decoded bytes, or `None` if an escape is malformed or the value does not fit in `out`.
pub fn percent_decode<'a>(value: &[u8], out: &'a mut [u8]) -> Option<&'a [u8]> {
    let (mut read, mut written) = (0, 0);
    while read < value.len() {
        let byte = match value[read] {
            b'%' => {
                let high = hex_digit(*value.get(read + 1)?)?;
                let low = hex_digit(*value.get(read + 2)?)?;
                read += 3;
                high * 16 + low
            }
            byte => {
                read += 1;
                byte
            }
        };
        *out.get_mut(written)? = byte;
        written += 1;
    }
    assert!(written <= value.len());
    Some(&out[..written])
}

fn hex_digit(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(bytes: &[u8]) -> Request<'_> {
        parse_request(bytes).expect("valid").expect("complete")
    }

    #[test]
    fn header_ignores_case_and_trims_spaces_and_tabs() {
        let request = parsed(b"GET / HTTP/1.1\r\nHost: a\r\nX-Token: \t secret \t\r\n\r\n");
        assert_eq!(request.header("x-token"), Some(&b"secret"[..]));
        assert_eq!(request.header("X-TOKEN"), Some(&b"secret"[..]));
        assert_eq!(request.header("host"), Some(&b"a"[..]));
        assert_eq!(request.header("x-tok"), None);
        assert_eq!(request.header("missing"), None);
    }

    #[test]
    fn header_takes_the_first_of_two_and_allows_bare_lf_and_empty_values() {
        let request = parsed(b"GET / HTTP/1.1\nA: one\nA: two\nB:\n\n");
        assert_eq!(request.header("a"), Some(&b"one"[..]));
        assert_eq!(request.header("b"), Some(&b""[..]));
    }

    #[test]
    fn header_never_reads_the_request_line_or_the_body() {
        let request = parsed(b"POST /x:y HTTP/1.1\r\nContent-Length: 7\r\n\r\nZ: body");
        assert_eq!(request.header("post /x"), None);
        assert_eq!(request.header("z"), None);
        assert_eq!(request.header("content-length"), Some(&b"7"[..]));
    }
}
