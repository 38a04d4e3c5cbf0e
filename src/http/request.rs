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
pub const CONTENT_LENGTH_DIGITS_MAX: usize = 9;

/// A complete request, borrowing from the connection's read buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// The path, without the query string.
    pub path: &'a [u8],
    /// The query string without the `?`, empty when absent.
    pub query: &'a [u8],
    /// Value of the `X-Rinha-Token` header, if any (the processor simulator's admin endpoints).
    pub token: Option<&'a [u8]>,
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
    let mut token = None;
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
        } else if header.name.eq_ignore_ascii_case("x-rinha-token") {
            token = Some(header.value);
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
    Ok(Some(Request { method, path, query, token, keep_alive, body_start: head_len, len }))
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
