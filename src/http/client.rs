//! A small HTTP/1.1 client with a keep-alive connection pool per origin, for calls to payment
//! processors.
//!
//! # Outcomes
//! What the caller must know is whether a request *may have reached* the server, because a
//! payment whose fate is unknown must not be sent to another processor. So errors are split:
//! [`ClientError::NotSent`] (connect failed: the server never saw it) and
//! [`ClientError::Ambiguous`] (timeout, reset or garbage after the request was written).
//!
//! # Bounds
//! At most `idle_max` idle connections are kept; a response head must fit in
//! [`RESPONSE_BUFFER_BYTES`] and a body in [`RESPONSE_BODY_BYTES_MAX`]. A connection whose exchange
//! timed out or failed is dropped, never reused: its stream position is unknown.

use std::{cell::RefCell, io, mem::MaybeUninit, time::Duration};

use monoio::{
    buf::IoBufMut,
    io::{AsyncReadRent, AsyncWriteRentExt},
};

use super::stream::{Endpoint, Stream};

/// Read buffer per pooled connection: processor responses are under 200 bytes.
pub const RESPONSE_BUFFER_BYTES: usize = 4096;

/// Largest response body accepted.
pub const RESPONSE_BODY_BYTES_MAX: usize = 2048;

/// Headers per response we are willing to parse.
const RESPONSE_HEADERS_MAX: usize = 32;

const _: () = assert!(RESPONSE_BODY_BYTES_MAX < RESPONSE_BUFFER_BYTES);

/// Why a request got no response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// The connection could not be made: the request was never sent.
    NotSent,
    /// The request was (or may have been) sent, and no usable response came back in time.
    Ambiguous,
}

/// A parsed URL of the form `http://host:port[/...]` (the path is ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// The `Host` header value.
    pub host: String,
}

impl Origin {
    /// Parses `http://host[:port]`. `https://` is refused with a clear message: this build speaks
    /// plain HTTP to processors.
    ///
    /// # Errors
    /// A message naming the URL.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url:?}: only http:// processor URLs are supported"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            return Err(format!("{url:?}: missing host"));
        }
        let address = if authority.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok())
        {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(Self { endpoint: Endpoint::parse(&address)?, host: authority.to_string() })
    }
}

/// A pooled connection with its buffers, reused across requests.
struct Connection {
    stream: Stream,
    read_buffer: Vec<u8>,
    write_buffer: Vec<u8>,
}

/// A keep-alive client for one origin. Per thread; not `Send`.
pub struct HttpClient {
    origin: Origin,
    idle: RefCell<Vec<Connection>>,
    idle_max: usize,
}

impl HttpClient {
    /// A client for `origin` keeping at most `idle_max` idle connections.
    pub fn new(origin: Origin, idle_max: usize) -> Self {
        Self { origin, idle: RefCell::new(Vec::with_capacity(idle_max)), idle_max }
    }

    /// The origin this client talks to.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Sends one request and waits at most `timeout` for the whole response.
    ///
    /// # Returns
    /// The status code; the body is appended to `body_out`.
    ///
    /// # Errors
    /// [`ClientError`], see the module docs.
    pub async fn request(
        &self,
        method: &str,
        path: &[u8],
        body: &[u8],
        timeout: Duration,
        body_out: &mut Vec<u8>,
    ) -> Result<u16, ClientError> {
        let pooled = self.idle.borrow_mut().pop();
        let mut connection = match pooled {
            Some(connection) => connection,
            None => match monoio::time::timeout(timeout, self.origin.endpoint.connect()).await {
                Ok(Ok(stream)) => Connection {
                    stream,
                    read_buffer: Vec::with_capacity(RESPONSE_BUFFER_BYTES),
                    write_buffer: Vec::with_capacity(RESPONSE_BUFFER_BYTES),
                },
                Ok(Err(_)) | Err(_) => return Err(ClientError::NotSent),
            },
        };
        connection.write_buffer.clear();
        encode_request(&mut connection.write_buffer, method, path, &self.origin.host, body);
        let exchange = exchange(&mut connection, body_out);
        match monoio::time::timeout(timeout, exchange).await {
            Ok(Ok((status, keep_alive))) => {
                if keep_alive {
                    let mut idle = self.idle.borrow_mut();
                    if idle.len() < self.idle_max {
                        idle.push(connection);
                    }
                }
                Ok(status)
            }
            // Dropping the connection is the only safe cancellation: its position is unknown.
            Ok(Err(_)) | Err(_) => Err(ClientError::Ambiguous),
        }
    }
}

fn encode_request(out: &mut Vec<u8>, method: &str, path: &[u8], host: &str, body: &[u8]) {
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(host.as_bytes());
    if !body.is_empty() || method == "POST" || method == "PUT" {
        out.extend_from_slice(b"\r\nContent-Type: application/json\r\nContent-Length: ");
        out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

/// Writes the request and reads one response. Returns the status and whether the connection may
/// be reused.
async fn exchange(connection: &mut Connection, body_out: &mut Vec<u8>) -> io::Result<(u16, bool)> {
    let request = std::mem::take(&mut connection.write_buffer);
    let (result, request) = connection.stream.write_all(request).await;
    connection.write_buffer = request;
    result?;
    connection.read_buffer.clear();
    loop {
        if let Some(parsed) = parse_response(&connection.read_buffer)? {
            body_out.extend_from_slice(&connection.read_buffer[parsed.body.clone()]);
            // Anything after the response would be a response we never asked for.
            let clean = parsed.len == connection.read_buffer.len();
            return Ok((parsed.status, parsed.keep_alive && clean));
        }
        let filled = connection.read_buffer.len();
        if filled == connection.read_buffer.capacity() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "response too large"));
        }
        let buffer = std::mem::take(&mut connection.read_buffer);
        // slice_mut: a Vec's IoBufMut writes at offset 0 and would clobber what was read.
        let (result, slice) = connection.stream.read(buffer.slice_mut(filled..)).await;
        connection.read_buffer = slice.into_inner();
        if result? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed before a response"));
        }
    }
}

/// A complete response at the front of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedResponse {
    /// Status code.
    pub status: u16,
    /// Where the (de-chunked, if it was chunked and in one chunk) body lies in the buffer.
    pub body: std::ops::Range<usize>,
    /// Total bytes of the response.
    pub len: usize,
    /// Whether the server keeps the connection open.
    pub keep_alive: bool,
}

/// Parses a response with a `Content-Length` body, or a chunked body of at most one data chunk
/// (what small JSON answers look like), or no body (`204`, `304`, `1xx`).
///
/// # Returns
/// `Ok(None)` while incomplete.
///
/// # Errors
/// `InvalidData` for malformed or oversized responses.
pub fn parse_response(buffer: &[u8]) -> io::Result<Option<ParsedResponse>> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut headers: [MaybeUninit<httparse::Header<'_>>; RESPONSE_HEADERS_MAX] =
        [const { MaybeUninit::uninit() }; RESPONSE_HEADERS_MAX];
    let mut response = httparse::Response::new(&mut []);
    let head_len = match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut response, buffer, &mut headers)
    {
        Ok(httparse::Status::Complete(head_len)) => head_len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(invalid("malformed response head")),
    };
    let status = response.code.ok_or_else(|| invalid("no status"))?;
    let mut keep_alive = response.version == Some(1);
    let mut content_length = None;
    let mut chunked = false;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            let text = std::str::from_utf8(header.value).map_err(|_| invalid("content-length"))?;
            let length: usize = text.trim().parse().map_err(|_| invalid("content-length"))?;
            if length > RESPONSE_BODY_BYTES_MAX || content_length.replace(length).is_some() {
                return Err(invalid("content-length"));
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = header.value.eq_ignore_ascii_case(b"chunked");
            if !chunked {
                return Err(invalid("transfer-encoding"));
            }
        } else if header.name.eq_ignore_ascii_case("connection") {
            if header.value.eq_ignore_ascii_case(b"close") {
                keep_alive = false;
            } else if header.value.eq_ignore_ascii_case(b"keep-alive") {
                keep_alive = true;
            }
        }
    }
    if status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(Some(ParsedResponse { status, body: head_len..head_len, len: head_len, keep_alive }));
    }
    if chunked {
        return parse_chunked(buffer, head_len).map(|parsed| {
            parsed.map(|(body, len)| ParsedResponse { status, body, len, keep_alive })
        });
    }
    let Some(length) = content_length else {
        // A body delimited by close: we cannot tell where it ends on a kept connection.
        return Err(invalid("response without content-length"));
    };
    if buffer.len() < head_len + length {
        return Ok(None);
    }
    let body = head_len..head_len + length;
    Ok(Some(ParsedResponse { status, body, len: head_len + length, keep_alive }))
}

/// Parses `size CRLF data CRLF 0 CRLF CRLF` (at most one data chunk; no trailers).
fn parse_chunked(buffer: &[u8], start: usize) -> io::Result<Option<(std::ops::Range<usize>, usize)>> {
    let invalid = || io::Error::new(io::ErrorKind::InvalidData, "bad chunked body");
    let mut position = start;
    let mut body: Option<std::ops::Range<usize>> = None;
    // At most two chunk headers: one data chunk and the last (zero) chunk.
    for _ in 0..2 {
        let rest = &buffer[position.min(buffer.len())..];
        let Some(line_end) = rest.windows(2).position(|pair| pair == b"\r\n") else {
            return if rest.len() > 20 { Err(invalid()) } else { Ok(None) };
        };
        let size_text = std::str::from_utf8(&rest[..line_end]).map_err(|_| invalid())?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid())?;
        if size > RESPONSE_BODY_BYTES_MAX {
            return Err(invalid());
        }
        let data_start = position + line_end + 2;
        if size == 0 {
            if buffer.len() < data_start + 2 {
                return Ok(None);
            }
            if &buffer[data_start..data_start + 2] != b"\r\n" {
                return Err(invalid());
            }
            return Ok(Some((body.unwrap_or(data_start..data_start), data_start + 2)));
        }
        if body.is_some() {
            return Err(invalid());
        }
        if buffer.len() < data_start + size + 2 {
            return Ok(None);
        }
        body = Some(data_start..data_start + size);
        position = data_start + size + 2;
    }
    Err(invalid())
}
