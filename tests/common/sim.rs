//! Driving a processor simulator from tests: [`start`] runs one in this process, on its own
//! thread and runtime, and [`SimClient`] speaks its routes (the contest's and the admin ones)
//! through the one test HTTP client, [`super::http`].
//!
//! The simulator library only serves a bound listener (`processor_sim::serve`); wiring a runtime
//! to it is the binary's job, and here the tests'.

use std::{io, time::Duration};

use rinha::{
    net::Endpoint,
    processor_sim::{self, SimSettings, LISTEN_BACKLOG, TOKEN_HEADER},
};

use super::http::{request_with_timeout, Address, Response, READ_TIMEOUT_DEFAULT};

/// Runs a simulator on a new thread (with its own runtime) listening on `endpoint`. The thread
/// serves until the process ends.
///
/// # Returns
/// The bound TCP port (useful with `127.0.0.1:0`), or 0 for a Unix socket. The listener is bound
/// before this returns, so a client may connect at once.
///
/// # Errors
/// Invalid settings (`InvalidInput`), a thread that could not start, or the bind error.
pub fn start(settings: SimSettings, endpoint: Endpoint) -> io::Result<u16> {
    settings.validate().map_err(|message| io::Error::new(io::ErrorKind::InvalidInput, message))?;
    let (sender, receiver) = std::sync::mpsc::sync_channel::<io::Result<u16>>(1);
    std::thread::Builder::new().name("processor-sim".to_string()).spawn(move || {
        rinha::runtime::block_on(move || async move {
            match endpoint.bind(LISTEN_BACKLOG) {
                Ok(listener) => {
                    // The receiver waits for exactly this message; it cannot be gone yet.
                    let _ = sender.send(Ok(listener.local_port().unwrap_or(0)));
                    processor_sim::serve(listener, settings).await;
                }
                Err(error) => {
                    let _ = sender.send(Err(error));
                }
            }
        });
    })?;
    receiver.recv().map_err(|_| io::Error::other("the simulator thread ended before binding"))?
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

/// A client for one simulator at `127.0.0.1:port`.
#[derive(Clone, Debug)]
pub struct SimClient {
    /// Where the simulator listens.
    address: Address,
    /// Read timeout for each response.
    read_timeout: Duration,
}

impl SimClient {
    /// A client for the simulator on `127.0.0.1:port`, as [`start`] returns it.
    pub fn new(port: u16) -> Self {
        Self { address: Address::Tcp(port), read_timeout: READ_TIMEOUT_DEFAULT }
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
    /// As [`request_with_timeout`].
    pub fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Response> {
        request_with_timeout(&self.address, self.read_timeout, method, target, headers, body)
    }

    /// Sends an admin request carrying `token`.
    fn send_admin(
        &self,
        token: &str,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> io::Result<Response> {
        self.send(method, target, &[(TOKEN_HEADER, token)], body)
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
    ) -> io::Result<Response> {
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
    pub fn get_payment(&self, correlation_id: &str) -> io::Result<Response> {
        self.send("GET", &format!("/payments/{correlation_id}"), &[], b"")
    }

    /// `GET /payments/service-health`.
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn service_health(&self) -> io::Result<Response> {
        self.send("GET", "/payments/service-health", &[], b"")
    }

    /// `GET /admin/payments-summary` with optional bounds `[from, to]` (sent unencoded, as the load
    /// test does).
    ///
    /// # Errors
    /// As [`SimClient::send`]; also an error when the status is not 200 or the body does not
    /// have the expected fields.
    pub fn summary(&self, token: &str, bounds: [Option<&str>; 2]) -> io::Result<AdminSummary> {
        let response = self.summary_response(token, bounds)?;
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
    pub fn summary_response(&self, token: &str, bounds: [Option<&str>; 2]) -> io::Result<Response> {
        let mut target = "/admin/payments-summary".to_string();
        let bounds = [("from", bounds[0]), ("to", bounds[1])];
        let mut separator = '?';
        for (name, value) in bounds {
            if let Some(value) = value {
                target.push_str(&format!("{separator}{name}={value}"));
                separator = '&';
            }
        }
        self.send_admin(token, "GET", &target, b"")
    }

    /// `PUT /admin/configurations/delay`.
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn set_delay(&self, token: &str, delay_ms: u64) -> io::Result<Response> {
        let body = format!("{{\"delay\":{delay_ms}}}");
        self.send_admin(token, "PUT", "/admin/configurations/delay", body.as_bytes())
    }

    /// `PUT /admin/configurations/failure`.
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn set_failure(&self, token: &str, failing: bool) -> io::Result<Response> {
        let body = format!("{{\"failure\":{failing}}}");
        self.send_admin(token, "PUT", "/admin/configurations/failure", body.as_bytes())
    }

    /// `PUT /admin/configurations/fault` (see `behaviour::Fault` for the names).
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn set_fault(&self, token: &str, fault: &str) -> io::Result<Response> {
        let body = format!("{{\"fault\":\"{fault}\"}}");
        self.send_admin(token, "PUT", "/admin/configurations/fault", body.as_bytes())
    }

    /// `PUT /admin/configurations/token`.
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn set_token(&self, token: &str, new_token: &str) -> io::Result<Response> {
        let body = format!("{{\"token\":\"{new_token}\"}}");
        self.send_admin(token, "PUT", "/admin/configurations/token", body.as_bytes())
    }

    /// `POST /admin/purge-payments`.
    ///
    /// # Errors
    /// As [`SimClient::send`].
    pub fn purge(&self, token: &str) -> io::Result<Response> {
        self.send_admin(token, "POST", "/admin/purge-payments", b"")
    }
}

/// Parses `{"totalRequests":N,"totalAmount":X.YY,"totalFee":F.FF,"feePerTransaction":fee}`.
pub fn parse_summary(body: &str) -> Option<AdminSummary> {
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

/// `123.45` -> 12345, exactly; at most two decimal places (see `rinha::number::parse_decimal`).
pub fn decimal_to_cents(text: &str) -> Option<u64> {
    rinha::number::parse_decimal(text.as_bytes(), 2).ok()
}
