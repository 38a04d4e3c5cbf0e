//! Responses: canned byte strings for the fixed answers, and a writer for small dynamic ones.
//!
//! Every response carries `Content-Length`, so keep-alive and pipelining work without chunking.
//! Error responses that follow a framing error also carry `Connection: close`, because the server
//! closes after them.

use super::request::ParseError;

/// `202 Accepted`, empty body: the answer to an accepted payment.
pub(crate) static ACCEPTED: &[u8] = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";

/// `204 No Content`.
pub(crate) static NO_CONTENT: &[u8] = b"HTTP/1.1 204 No Content\r\n\r\n";

/// `404 Not Found` with a short body.
pub(crate) static NOT_FOUND: &[u8] =
    b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nnot found\n";

/// `405 Method Not Allowed` with a short body.
pub(crate) static METHOD_NOT_ALLOWED: &[u8] = b"HTTP/1.1 405 Method Not Allowed\r\nContent-Type: \
text/plain\r\nContent-Length: 19\r\n\r\nmethod not allowed\n";

/// `503 Service Unavailable`: the backing store could not take the request; nothing was kept.
pub(crate) static UNAVAILABLE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: \
text/plain\r\nContent-Length: 20\r\n\r\nstore not available\n";

/// `413` sent when a request's head does not fit in the read buffer.
pub(crate) static HEAD_TOO_LARGE: &[u8] = b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: \
text/plain\r\nConnection: close\r\nContent-Length: 22\r\n\r\nrequest head too large\n";

/// HTTP status codes the services answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// 200
    Ok,
    /// 400
    BadRequest,
    /// 401
    Unauthorized,
    /// 422
    UnprocessableEntity,
    /// 429
    TooManyRequests,
    /// 500
    InternalServerError,
}

impl Status {
    fn status_line(self) -> &'static [u8] {
        match self {
            Self::Ok => b"HTTP/1.1 200 OK\r\n",
            Self::BadRequest => b"HTTP/1.1 400 Bad Request\r\n",
            Self::Unauthorized => b"HTTP/1.1 401 Unauthorized\r\n",
            Self::UnprocessableEntity => b"HTTP/1.1 422 Unprocessable Entity\r\n",
            Self::TooManyRequests => b"HTTP/1.1 429 Too Many Requests\r\n",
            Self::InternalServerError => b"HTTP/1.1 500 Internal Server Error\r\n",
        }
    }
}

/// Appends a complete response with a JSON body.
pub(crate) fn write_json(out: &mut Vec<u8>, status: Status, body: &[u8]) {
    write_response(out, status, b"", b"application/json", body);
}

/// Appends a complete response with a plain-text body (reasons for 4xx answers).
pub(crate) fn write_text(out: &mut Vec<u8>, status: Status, body: &[u8]) {
    write_response(out, status, b"", b"text/plain", body);
}

/// Appends a complete response whose head carries `headers` (whole lines, each ended by CRLF,
/// or empty) before `Content-Type` and `Content-Length`. Headers that a protocol on top of HTTP
/// defines (a processor's `Retry-After`) come from the code that knows that protocol.
///
/// # Panics
/// If `headers` is not empty and does not end with CRLF: the head would run into the next line.
pub(crate) fn write_response(
    out: &mut Vec<u8>,
    status: Status,
    headers: &[u8],
    content_type: &[u8],
    body: &[u8],
) {
    assert!(headers.is_empty() || headers.ends_with(b"\r\n"), "header lines end with CRLF");
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(status.status_line());
    out.extend_from_slice(headers);
    out.extend_from_slice(b"Content-Type: ");
    out.extend_from_slice(content_type);
    out.extend_from_slice(b"\r\nContent-Length: ");
    out.extend_from_slice(digits.format(body.len()).as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

/// Appends a JSON response whose body is produced by `write_body` straight into `out`, with the
/// Content-Length patched in afterwards (a fixed-width field, so nothing moves).
pub(crate) fn write_json_with(
    out: &mut Vec<u8>,
    status: Status,
    write_body: impl FnOnce(&mut Vec<u8>),
) {
    out.extend_from_slice(status.status_line());
    out.extend_from_slice(b"Content-Type: application/json\r\nContent-Length: ");
    let length_at = out.len();
    out.extend_from_slice(b"          \r\n\r\n");
    let body_at = out.len();
    write_body(out);
    let body_len = out.len() - body_at;
    assert!(body_len < 10_000_000_000, "Content-Length field is 10 digits wide");
    let mut digits = itoa::Buffer::new();
    let text = digits.format(body_len).as_bytes();
    out[length_at..length_at + text.len()].copy_from_slice(text);
}

/// The canned answer for a request the parser refused; the server closes the connection after it.
#[cold]
pub(crate) fn parse_error_response(error: ParseError) -> &'static [u8] {
    match error {
        ParseError::Malformed => {
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\
Connection: close\r\nContent-Length: 18\r\n\r\nmalformed request\n"
        }
        ParseError::TooManyHeaders => {
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\
Connection: close\r\nContent-Length: 17\r\n\r\ntoo many headers\n"
        }
        ParseError::ContentLengthInvalid => {
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: \
text/plain\r\nConnection: close\r\nContent-Length: 23\r\n\r\ninvalid content-length\n"
        }
        ParseError::BodyTooLarge => {
            b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: \
text/plain\r\nConnection: close\r\nContent-Length: 15\r\n\r\nbody too large\n"
        }
        ParseError::TransferEncodingUnsupported => {
            b"HTTP/1.1 501 Not Implemented\r\n\
Content-Type: text/plain\r\nConnection: close\r\nContent-Length: 30\r\n\r\n\
transfer-encoding unsupported\n"
        }
        ParseError::VersionUnsupported => {
            b"HTTP/1.1 505 HTTP Version Not Supported\r\n\
Content-Type: text/plain\r\nConnection: close\r\nContent-Length: 20\r\n\r\nversion unsupported\n"
        }
    }
}
