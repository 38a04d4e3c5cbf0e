//! A small HTTP/1.1 client with a keep-alive connection pool per origin, for calls to payment
//! processors, over plain TCP (`http://`) or TLS (`https://`, through [`super::tls`]).
//!
//! # Outcomes
//! What the caller must know is whether a request *may have reached* the server, because a
//! payment whose fate is unknown must not be sent to another processor. So errors are split:
//! [`ClientError::NotSent`] (connect or TLS handshake failed: the server never saw it) and
//! [`ClientError::Ambiguous`] (timeout, reset or garbage after the request was written).
//!
//! # Bounds
//! At most `idle_max` idle connections are kept; a response head must fit in
//! `RESPONSE_BUFFER_BYTES` and a body in [`RESPONSE_BODY_BYTES_MAX`]. A connection whose exchange
//! timed out or failed is dropped, never reused: its stream position is unknown.
//!
//! # Performance
//! The plain path is what it was before TLS: the request buffer is handed to the socket and the
//! response is read straight into the pooled read buffer. TLS connections are boxed so that a
//! pooled plain connection stays small; their handshake runs once per connection, not per request.

use std::{cell::RefCell, io, mem::MaybeUninit, time::Duration};

use monoio::{
    buf::IoBufMut,
    io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt},
};
use rustls::pki_types::ServerName;

use super::{
    request::CONTENT_LENGTH_DIGITS_MAX,
    tls::{self, TlsConfig, TlsStream},
};
use crate::net::{Endpoint, Stream};

/// Read buffer per pooled connection: processor responses are under 200 bytes.
pub(crate) const RESPONSE_BUFFER_BYTES: usize = 4096;

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

/// How an origin is spoken to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `http://`: HTTP/1.1 over plain TCP, default port 80.
    Http,
    /// `https://`: HTTP/1.1 over TLS (rustls), default port 443.
    Https {
        /// Sent as SNI and checked against the server's certificate: the URL's host without
        /// port or IPv6 brackets. An IP address is checked against the certificate's IP names.
        server_name: ServerName<'static>,
    },
}

impl Scheme {
    /// The port used when the URL names none.
    pub(crate) fn default_port(&self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https { .. } => 443,
        }
    }
}

/// A parsed URL of the form `http[s]://host[:port][/...]` (path, query and fragment ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Plain or TLS, with the TLS server name.
    pub scheme: Scheme,
    /// Where to connect.
    pub endpoint: Endpoint,
    /// The `Host` header value: the authority as written in the URL.
    pub host: String,
}

impl Origin {
    /// Parses `http://host[:port]` or `https://host[:port]` (scheme case-insensitive); the host
    /// may be a name, an IPv4 address or a bracketed IPv6 address.
    ///
    /// # Errors
    /// A message naming the URL: another scheme, no host, user information, a bad port (not
    /// 1 to 65535), or (for https) a host that is not a valid TLS server name.
    pub fn parse(url: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("{url:?}: {why}");
        let has_prefix = |prefix: &str| {
            url.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        };
        let (https, rest) = if has_prefix("http://") {
            (false, &url["http://".len()..])
        } else if has_prefix("https://") {
            (true, &url["https://".len()..])
        } else {
            return Err(bad("only http:// and https:// processor URLs are supported"));
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(bad("user information is not supported"));
        }
        let (host, port) = split_authority(authority).map_err(bad)?;
        let scheme = if https {
            let server_name = ServerName::try_from(host.to_string())
                .map_err(|_| bad("host is not a valid TLS server name"))?;
            Scheme::Https { server_name }
        } else {
            Scheme::Http
        };
        let port = port.unwrap_or(scheme.default_port());
        let address =
            if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let endpoint = Endpoint::parse(&address).map_err(|error| bad(&error))?;
        Ok(Self { scheme, endpoint, host: authority.to_string() })
    }
}

/// Splits `host[:port]` or `[ipv6][:port]` into the bare host and the port, if any.
fn split_authority(authority: &str) -> Result<(&str, Option<u16>), &'static str> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or("unclosed [ in the host")?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or("unexpected text after ]")?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("missing host");
    }
    let Some(port) = port else { return Ok((host, None)) };
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok((host, Some(port))),
        _ => Err("the port must be a number from 1 to 65535"),
    }
}

/// The byte stream under a pooled connection.
enum Transport {
    /// `http://`: the socket itself.
    Plain(Stream),
    /// `https://`: boxed, because rustls' state is large and most pools hold plain connections.
    Tls(Box<TlsStream>),
}

/// A pooled connection with its buffers, reused across requests.
struct Connection {
    transport: Transport,
    read_buffer: Vec<u8>,
    write_buffer: Vec<u8>,
}

impl Connection {
    /// Sends the whole of `write_buffer`.
    async fn send(&mut self) -> io::Result<()> {
        match &mut self.transport {
            Transport::Plain(stream) => write_all(stream, &mut self.write_buffer).await,
            Transport::Tls(stream) => write_all(&mut **stream, &mut self.write_buffer).await,
        }
    }

    /// Appends what the next read brings to `read_buffer`; `0` at end of stream.
    async fn receive(&mut self) -> io::Result<usize> {
        match &mut self.transport {
            Transport::Plain(stream) => read_more(stream, &mut self.read_buffer).await,
            Transport::Tls(stream) => read_more(&mut **stream, &mut self.read_buffer).await,
        }
    }
}

/// Writes all of `buffer`, handing the `Vec` itself to the stream and taking it back.
async fn write_all(stream: &mut impl AsyncWriteRent, buffer: &mut Vec<u8>) -> io::Result<()> {
    let (result, returned) = stream.write_all(std::mem::take(buffer)).await;
    *buffer = returned;
    result.map(drop)
}

/// One read appended to `buffer`'s contents, into its spare capacity; `0` at end of stream.
async fn read_more(stream: &mut impl AsyncReadRent, buffer: &mut Vec<u8>) -> io::Result<usize> {
    let filled = buffer.len();
    // A read into no room returns 0, which would look like the peer closing.
    assert!(filled < buffer.capacity());
    // slice_mut: a Vec's IoBufMut writes at offset 0 and would clobber what was read.
    let (result, slice) = stream.read(std::mem::take(buffer).slice_mut(filled..)).await;
    *buffer = slice.into_inner();
    result
}

/// A keep-alive client for one origin. Per thread; not `Send`.
pub struct HttpClient {
    origin: Origin,
    /// Present whenever the origin is https (checked at construction).
    tls: Option<TlsConfig>,
    idle: RefCell<Vec<Connection>>,
    idle_max: usize,
}

impl HttpClient {
    /// A client for the `http://` origin `origin` keeping at most `idle_max` idle connections.
    ///
    /// # Panics
    /// If `origin` is https: use [`HttpClient::with_tls`].
    #[cfg(test)]
    pub(crate) fn new(origin: Origin, idle_max: usize) -> Self {
        assert_eq!(origin.scheme, Scheme::Http, "an https origin needs HttpClient::with_tls");
        Self { origin, tls: None, idle: RefCell::new(Vec::with_capacity(idle_max)), idle_max }
    }

    /// A client for `origin` of either scheme; `tls` is used only when it is https.
    pub fn with_tls(origin: Origin, idle_max: usize, tls: TlsConfig) -> Self {
        Self { origin, tls: Some(tls), idle: RefCell::new(Vec::with_capacity(idle_max)), idle_max }
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
            // Nothing of the request is written before the handshake completes, so a failed or
            // timed-out connect or handshake leaves the server without it.
            None => match monoio::time::timeout(timeout, self.connect()).await {
                Ok(Ok(connection)) => connection,
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

    /// Opens a new connection: TCP, then the TLS handshake for https.
    async fn connect(&self) -> io::Result<Connection> {
        let stream = self.origin.endpoint.connect().await?;
        let transport = match (&self.origin.scheme, &self.tls) {
            (Scheme::Http, _) => Transport::Plain(stream),
            (Scheme::Https { server_name }, Some(tls)) => {
                let stream = tls::connect(stream, tls, server_name.clone()).await?;
                Transport::Tls(Box::new(stream))
            }
            (Scheme::Https { .. }, None) => unreachable!("HttpClient::new refuses https origins"),
        };
        Ok(Connection {
            transport,
            read_buffer: Vec::with_capacity(RESPONSE_BUFFER_BYTES),
            write_buffer: Vec::with_capacity(RESPONSE_BUFFER_BYTES),
        })
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
    connection.send().await?;
    connection.read_buffer.clear();
    loop {
        if let Some(parsed) = parse_response(&connection.read_buffer)? {
            body_out.extend_from_slice(&connection.read_buffer[parsed.body.clone()]);
            // Anything after the response would be a response we never asked for.
            let clean = parsed.len == connection.read_buffer.len();
            return Ok((parsed.status, parsed.keep_alive && clean));
        }
        if connection.read_buffer.len() == connection.read_buffer.capacity() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "response too large"));
        }
        if connection.receive().await? == 0 {
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
    let head_len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buffer,
        &mut headers,
    ) {
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
            let text = header.value.trim_ascii();
            let length = (text.len() <= CONTENT_LENGTH_DIGITS_MAX)
                .then(|| crate::number::parse_digits(text))
                .flatten()
                .and_then(|length| usize::try_from(length).ok())
                .ok_or_else(|| invalid("content-length"))?;
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
        return Ok(Some(ParsedResponse {
            status,
            body: head_len..head_len,
            len: head_len,
            keep_alive,
        }));
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

/// Longest chunk-size line accepted (size and extensions), CRLF excluded.
const CHUNK_LINE_BYTES_MAX: usize = 256;

/// Parses `size [;ext] CRLF data CRLF 0 CRLF CRLF` (at most one data chunk; no trailers). The
/// verdict never depends on how the bytes were split: a line is judged on its length whether or
/// not its CRLF has arrived.
fn parse_chunked(
    buffer: &[u8],
    start: usize,
) -> io::Result<Option<(std::ops::Range<usize>, usize)>> {
    let invalid = || io::Error::new(io::ErrorKind::InvalidData, "bad chunked body");
    let mut position = start;
    let mut body: Option<std::ops::Range<usize>> = None;
    // At most two chunk headers: one data chunk and the last (zero) chunk.
    for _ in 0..2 {
        let rest = &buffer[position.min(buffer.len())..];
        let window = &rest[..rest.len().min(CHUNK_LINE_BYTES_MAX + 2)];
        // The size part is judged on what has arrived, so a split never changes the verdict.
        let size_end = window.iter().position(|byte| *byte == b';' || *byte == b'\r');
        let size_part = &window[..size_end.unwrap_or(window.len())];
        let digits = size_part.iter().filter(|byte| !matches!(byte, b' ' | b'\t')).count();
        if digits > 8
            || !size_part
                .iter()
                .all(|byte| byte.is_ascii_hexdigit() || matches!(byte, b' ' | b'\t'))
        {
            return Err(invalid());
        }
        let Some(line_end) = window.windows(2).position(|pair| pair == b"\r\n") else {
            return if window.len() > CHUNK_LINE_BYTES_MAX + 1 { Err(invalid()) } else { Ok(None) };
        };
        let size_text = std::str::from_utf8(&rest[..line_end]).map_err(|_| invalid())?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        if size_text.is_empty()
            || size_text.len() > 8
            || !size_text.bytes().all(|byte| byte.is_ascii_hexdigit())
        {
            return Err(invalid());
        }
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
        if &buffer[data_start + size..data_start + size + 2] != b"\r\n" {
            return Err(invalid());
        }
        body = Some(data_start..data_start + size);
        position = data_start + size + 2;
    }
    Err(invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "processor.example";

    /// `(url, expected endpoint, expected Host header, https server name)` for URLs that parse.
    const VALID: &[(&str, &str, &str, Option<&str>)] = &[
        ("http://127.0.0.1:8001", "127.0.0.1:8001", "127.0.0.1:8001", None),
        ("http://processor", "processor:80", "processor", None),
        ("http://processor/", "processor:80", "processor", None),
        ("http://processor:8080/payments?x=1", "processor:8080", "processor:8080", None),
        ("HTTP://Processor:1", "Processor:1", "Processor:1", None),
        ("http://[::1]", "[::1]:80", "[::1]", None),
        ("http://[::1]:9000/", "[::1]:9000", "[::1]:9000", None),
        ("https://processor.example", "processor.example:443", "processor.example", Some(NAME)),
        (
            "https://processor.example:8443/x",
            "processor.example:8443",
            "processor.example:8443",
            Some(NAME),
        ),
        ("https://localhost?q", "localhost:443", "localhost", Some("localhost")),
        ("HTTPS://127.0.0.1:9443", "127.0.0.1:9443", "127.0.0.1:9443", Some("127.0.0.1")),
        ("https://[::1]:9443", "[::1]:9443", "[::1]:9443", Some("::1")),
    ];

    #[test]
    fn valid_urls_parse() {
        for &(url, endpoint, host, server_name) in VALID {
            let origin = Origin::parse(url).unwrap_or_else(|error| panic!("{url}: {error}"));
            assert_eq!(origin.endpoint, Endpoint::Tcp(endpoint.to_string()), "{url}");
            assert_eq!(origin.host, host, "{url}");
            let expected = server_name.map(|name| ServerName::try_from(name.to_string()).unwrap());
            match (&origin.scheme, expected) {
                (Scheme::Http, None) => assert_eq!(origin.scheme.default_port(), 80),
                (Scheme::Https { server_name }, Some(expected)) => {
                    assert_eq!(server_name, &expected, "{url}");
                    assert_eq!(origin.scheme.default_port(), 443);
                }
                (scheme, expected) => panic!("{url}: scheme {scheme:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn bad_urls_are_refused_naming_the_url() {
        for url in [
            "",
            "127.0.0.1:8001",
            "ftp://processor",
            "unix:/tmp/processor.sock",
            "http://",
            "https://",
            "http:///payments",
            "http://:8001",
            "http://processor:",
            "http://processor:0",
            "http://processor:65536",
            "http://processor:80a",
            "http://::1",
            "http://[::1",
            "http://[::1]x",
            "http://user@processor",
            "https://bad_name!",
            "https://-leading-dash.example",
        ] {
            let error = Origin::parse(url).expect_err(url);
            assert!(error.contains(&format!("{url:?}")), "{url}: {error}");
        }
    }

    #[test]
    #[should_panic(expected = "with_tls")]
    fn a_plain_client_refuses_an_https_origin() {
        let _ = HttpClient::new(Origin::parse("https://processor.example").unwrap(), 1);
    }
}
