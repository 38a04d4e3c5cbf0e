//! A small blocking HTTP/1.1 client for driving a simulator from tests: one request per
//! connection over `std::net::TcpStream`, the response framed by its `Content-Length`.
//!
//! # Why blocking and std only
//! Tests run on plain threads next to the simulator's runtime thread; a blocking client needs no
//! runtime of its own, and a fresh connection per request makes concurrent tests trivial (each
//! thread opens its own). Not for production paths: it allocates freely.
//!
//! # Bounds
//! A response head of at most [`RESPONSE_HEAD_BYTES_MAX`], a body of at most
//! [`RESPONSE_BODY_BYTES_MAX`], and a read timeout on every request.

use std::{
    io::{self, Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpStream},
    time::Duration,
};

/// The largest response head read.
pub const RESPONSE_HEAD_BYTES_MAX: usize = 16 * 1024;

/// The largest response body read.
pub const RESPONSE_BODY_BYTES_MAX: usize = 1024 * 1024;

/// The default read timeout: generous, because tests set delays of several seconds.
pub const READ_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);

/// One response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimResponse {
    /// The status code.
    pub status: u16,
    /// The headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (exactly `Content-Length` bytes).
    pub body: Vec<u8>,
}

impl SimResponse {
    /// The first header named `name` (case-insensitive).
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
}

/// The admin summary, with money in exact cents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminSummary {
    /// `totalRequests`.
    pub total_requests: u64,
    /// `totalAmount`, in cents.
    pub total_amount_cents: u64,
    /// `totalFee`, in cents.
    pub total_fee_cents: u64,
    /// `feePerTransaction`, as printed.
    pub fee_per_transaction: String,
}

/// A client for one simulator at `127.0.0.1:port` (or any address).
#[derive(Clone, Debug)]
pub struct SimClient {
    /// Where the simulator listens.
    address: SocketAddr,
    /// Read timeout for each response.
    read_timeout: Duration,
}

impl SimClient {
    /// A client for the simulator on `127.0.0.1:port`, as [`super::start`] returns it.
    pub fn new(port: u16) -> Self {
        Self::for_address(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// A client for the simulator at `address`.
    pub fn for_address(address: SocketAddr) -> Self {
        Self { address, read_timeout: READ_TIMEOUT_DEFAULT }
    }

    /// The same client with another read timeout.
    ///
    /// # Panics
    /// If `read_timeout` is zero (std refuses it).
    pub fn with_read_timeout(self, read_timeout: Duration) -> Self {
        assert!(!read_timeout.is_zero());
        Self { read_timeout, ..self }
    }

    /// Sends one request on a fresh connection and reads one response.
    ///
    /// # Errors
    /// Connect and I/O errors, a timeout, or a response that is malformed or over the bounds.
    pub fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<SimResponse> {
        let mut stream = TcpStream::connect(self.address)?;
        stream.set_read_timeout(Some(self.read_timeout))?;
        stream.set_nodelay(true)?;
        let mut request = format!("{method} {target} HTTP/1.1\r\nHost: processor\r\n");
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
        read_response(&mut stream)
    }

    /// `POST /payments` with the given fields, inserted verbatim (`amount` as a JSON number).
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn post_payment(
        &self,
        correlation_id: &str,
        amount: &str,
        requested_at: &str,
    ) -> io::Result<SimResponse> {
        let body = format!(
            "{{\"correlationId\":\"{correlation_id}\",\"amount\":{amount},\
\"requestedAt\":\"{requested_at}\"}}"
        );
        self.send("POST", "/payments", &[], body.as_bytes())
    }

    /// `GET /payments/{correlation_id}`.
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn get_payment(&self, correlation_id: &str) -> io::Result<SimResponse> {
        self.send("GET", &format!("/payments/{correlation_id}"), &[], b"")
    }

    /// `GET /payments/service-health`.
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn service_health(&self) -> io::Result<SimResponse> {
        self.send("GET", "/payments/service-health", &[], b"")
    }

    /// `GET /admin/payments-summary` with optional bounds (sent unencoded, as the load test does).
    ///
    /// # Errors
    /// As [`SimClient::send`]; also an error when the status is not 200 or the body does not
    /// have the expected fields.
    pub fn summary(
        &self,
        token: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> io::Result<AdminSummary> {
        let response = self.summary_response(token, from, to)?;
        if response.status != 200 {
            return Err(io::Error::other(format!("summary answered {}", response.status)));
        }
        parse_summary(&response.text())
            .ok_or_else(|| io::Error::other(format!("unexpected summary {:?}", response.text())))
    }

    /// `GET /admin/payments-summary`, the raw response (for status checks).
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn summary_response(
        &self,
        token: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> io::Result<SimResponse> {
        let mut target = "/admin/payments-summary".to_string();
        let bounds = [("from", from), ("to", to)];
        let mut separator = '?';
        for (name, value) in bounds {
            if let Some(value) = value {
                target.push_str(&format!("{separator}{name}={value}"));
                separator = '&';
            }
        }
        self.send("GET", &target, &[(crate::processor_sim::TOKEN_HEADER, token)], b"")
    }

    /// `PUT /admin/configurations/delay`.
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn set_delay(&self, token: &str, delay_ms: u64) -> io::Result<SimResponse> {
        let body = format!("{{\"delay\":{delay_ms}}}");
        self.send(
            "PUT",
            "/admin/configurations/delay",
            &[(crate::processor_sim::TOKEN_HEADER, token)],
            body.as_bytes(),
        )
    }

    /// `PUT /admin/configurations/failure`.
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn set_failure(&self, token: &str, failing: bool) -> io::Result<SimResponse> {
        let body = format!("{{\"failure\":{failing}}}");
        let headers = [(crate::processor_sim::TOKEN_HEADER, token)];
        self.send("PUT", "/admin/configurations/failure", &headers, body.as_bytes())
    }

    /// `PUT /admin/configurations/fault` (see `behaviour::Fault` for the names).
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn set_fault(&self, token: &str, fault: &str) -> io::Result<SimResponse> {
        let body = format!("{{\"fault\":\"{fault}\"}}");
        let headers = [(crate::processor_sim::TOKEN_HEADER, token)];
        self.send("PUT", "/admin/configurations/fault", &headers, body.as_bytes())
    }

    /// `PUT /admin/configurations/token`.
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn set_token(&self, token: &str, new_token: &str) -> io::Result<SimResponse> {
        let body = format!("{{\"token\":\"{new_token}\"}}");
        self.send(
            "PUT",
            "/admin/configurations/token",
            &[(crate::processor_sim::TOKEN_HEADER, token)],
            body.as_bytes(),
        )
    }

    /// `POST /admin/purge-payments`.
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn purge(&self, token: &str) -> io::Result<SimResponse> {
        self.send(
            "POST",
            "/admin/purge-payments",
            &[(crate::processor_sim::TOKEN_HEADER, token)],
            b"",
        )
    }
}

/// Reads one response framed by Content-Length.
fn read_response(stream: &mut TcpStream) -> io::Result<SimResponse> {
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
    Ok(SimResponse { status, headers, body })
}

/// Parses `{"totalRequests":N,"totalAmount":X.YY,"totalFee":F.FF,"feePerTransaction":fee}`.
fn parse_summary(body: &str) -> Option<AdminSummary> {
    Some(AdminSummary {
        total_requests: json_field(body, "totalRequests")?.parse().ok()?,
        total_amount_cents: decimal_to_cents(json_field(body, "totalAmount")?)?,
        total_fee_cents: decimal_to_cents(json_field(body, "totalFee")?)?,
        fee_per_transaction: json_field(body, "feePerTransaction")?.to_string(),
    })
}

/// The raw text of a flat JSON object's numeric field.
fn json_field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":");
    let start = body.find(&key)? + key.len();
    let rest = &body[start..];
    let end = rest.find([',', '}'])?;
    Some(rest[..end].trim())
}

/// `123.45` -> 12345, exactly; at most two decimal places (see [`crate::number::parse_decimal`]).
pub fn decimal_to_cents(text: &str) -> Option<u64> {
    crate::number::parse_decimal(text.as_bytes(), 2).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_summary() {
        let body = "{\"totalRequests\":3,\"totalAmount\":59.70,\"totalFee\":2.99,\
\"feePerTransaction\":0.05}";
        let summary = parse_summary(body).unwrap();
        assert_eq!(summary.total_requests, 3);
        assert_eq!(summary.total_amount_cents, 5970);
        assert_eq!(summary.total_fee_cents, 299);
        assert_eq!(summary.fee_per_transaction, "0.05");
    }

    #[test]
    fn decimals_to_cents() {
        assert_eq!(decimal_to_cents("0.00"), Some(0));
        assert_eq!(decimal_to_cents("19.9"), Some(1990));
        assert_eq!(decimal_to_cents("7"), Some(700));
        assert_eq!(decimal_to_cents("1.234"), None);
        assert_eq!(decimal_to_cents("-1.00"), None);
        assert_eq!(decimal_to_cents(".5"), None);
    }
}
