//! The one blocking HTTP/1.1 client of the tests: one request per connection over a std
//! `TcpStream` or `UnixStream`, the response framed by its `Content-Length`.
//!
//! # Why blocking and std only
//! Tests drive the binaries and in-process simulators from plain threads; a blocking client needs
//! no runtime of its own, and a fresh connection per request makes concurrent tests trivial (each
//! thread opens its own). It allocates freely: it is never on a measured path.
//!
//! # Bounds
//! A response head of at most [`RESPONSE_HEAD_BYTES_MAX`], a body of at most
//! [`RESPONSE_BODY_BYTES_MAX`], and a read timeout on every request.

use std::{
    io::{self, Read, Write},
    net::TcpStream,
    os::unix::net::UnixStream,
    path::PathBuf,
    time::Duration,
};

/// The largest response head read.
pub const RESPONSE_HEAD_BYTES_MAX: usize = 16 * 1024;

/// The largest response body read.
pub const RESPONSE_BODY_BYTES_MAX: usize = 1024 * 1024;

/// The default read timeout: generous, because tests set processor delays of several seconds.
pub const READ_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);

/// Where an HTTP server listens.
#[derive(Clone, Debug)]
pub enum Address {
    /// `127.0.0.1:port`.
    Tcp(u16),
    /// A Unix socket path.
    Unix(PathBuf),
}

/// One response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (exactly `Content-Length` bytes).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (ASCII case ignored).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as text (lossy), for assertions and messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// If the body is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("{error} in {:?}", self.text()))
    }
}

trait Duplex: Read + Write {}
impl<T: Read + Write> Duplex for T {}

fn connect(address: &Address, read_timeout: Duration) -> io::Result<Box<dyn Duplex>> {
    Ok(match address {
        Address::Tcp(port) => {
            let stream = TcpStream::connect(("127.0.0.1", *port))?;
            stream.set_read_timeout(Some(read_timeout))?;
            stream.set_nodelay(true)?;
            Box::new(stream)
        }
        Address::Unix(path) => {
            let stream = UnixStream::connect(path)?;
            stream.set_read_timeout(Some(read_timeout))?;
            Box::new(stream)
        }
    })
}

/// Sends raw bytes on a new connection and reads until the peer closes (or the default read
/// timeout passes).
///
/// # Errors
/// Connect and write errors.
pub fn raw_exchange(address: &Address, bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = connect(address, READ_TIMEOUT_DEFAULT)?;
    stream.write_all(bytes)?;
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received);
    Ok(received)
}

/// One request on a fresh connection, with the default read timeout.
///
/// # Errors
/// As [`request_with_timeout`].
pub fn request(
    address: &Address,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: impl AsRef<[u8]>,
) -> io::Result<Response> {
    request_with_timeout(address, READ_TIMEOUT_DEFAULT, method, target, headers, body.as_ref())
}

/// One request on a fresh connection (`Connection: close`), waiting at most `read_timeout` for
/// each read of the response. A body goes with `Content-Type: application/json`; every request
/// carries a `Content-Length`.
///
/// # Errors
/// Connect and I/O errors, a timeout, or a response that is malformed or over the bounds.
pub fn request_with_timeout(
    address: &Address,
    read_timeout: Duration,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Response> {
    let mut stream = connect(address, read_timeout)?;
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: test\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes)?;
    read_response(&mut *stream)
}

/// Reads one response framed by Content-Length (none means an empty body).
fn read_response(stream: &mut dyn Duplex) -> io::Result<Response> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_len = loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > RESPONSE_HEAD_BYTES_MAX {
            return Err(io::Error::other("response head too large"));
        }
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed before a response"));
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = std::str::from_utf8(&buffer[..head_len])
        .map_err(|_| io::Error::other("response head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();
    let content_length = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map(|(_, value)| value.parse::<usize>())
        .transpose()
        .map_err(|_| io::Error::other("bad Content-Length"))?
        .unwrap_or(0);
    if content_length > RESPONSE_BODY_BYTES_MAX {
        return Err(io::Error::other("response body too large"));
    }
    let mut body = buffer[head_len..].to_vec();
    while body.len() < content_length {
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed mid-body"));
        }
        body.extend_from_slice(&chunk[..read]);
    }
    body.truncate(content_length);
    Ok(Response { status, headers, body })
}
