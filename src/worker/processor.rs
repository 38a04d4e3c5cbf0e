//! Calls to one payment processor: pay, look up, health. Turns HTTP answers into the outcomes the
//! worker reasons about. The outcomes the router needs ([`PayOutcome`], [`Health`]) are plain
//! values of `router::outcome`, so the router imports nothing of this I/O module.

use std::time::Duration;

use crate::{
    http::{
        client::{ClientError, HttpClient, Origin},
        tls::TlsConfig,
    },
    payment::{write_processor_payment, PaymentRequest},
    worker::router::{Health, PayOutcome},
};

/// Idle keep-alive connections kept per processor and thread. Calls in flight beyond this open
/// extra connections that are closed after use.
pub(crate) const IDLE_CONNECTIONS_MAX: usize = 512;

/// What `GET /payments/{id}` tells us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LookupOutcome {
    /// `200`: the processor has it.
    Found,
    /// `404`: the processor does not have it (yet).
    NotFound,
    /// Anything else: we learned nothing.
    Unknown,
}

/// One processor, as seen from one worker thread.
pub struct ProcessorClient {
    client: HttpClient,
    body: std::cell::RefCell<Vec<u8>>,
}

impl ProcessorClient {
    /// A client for the processor at `origin`; `tls` is used when it is `https://`.
    pub(crate) fn new(origin: Origin, tls: TlsConfig) -> Self {
        Self {
            client: HttpClient::with_tls(origin, IDLE_CONNECTIONS_MAX, tls),
            body: std::cell::RefCell::new(Vec::with_capacity(256)),
        }
    }

    /// Sends `POST /payments` with `requestedAt = requested_at_ms`.
    pub(crate) async fn pay(
        &self,
        payment: &PaymentRequest,
        requested_at_ms: i64,
        timeout: Duration,
    ) -> PayOutcome {
        let mut body = Vec::with_capacity(128);
        write_processor_payment(&mut body, payment, requested_at_ms);
        let mut response = Vec::new();
        match self.client.request("POST", b"/payments", &body, timeout, &mut response).await {
            Ok(200..=299) => PayOutcome::Accepted,
            Ok(422) => PayOutcome::AlreadyRecorded,
            Ok(429) => PayOutcome::Busy,
            Ok(status @ 400..=499) => PayOutcome::Refused(status),
            Ok(_) => PayOutcome::Failed,
            Err(ClientError::NotSent) => PayOutcome::Unreachable,
            Err(ClientError::Ambiguous) => PayOutcome::Ambiguous,
        }
    }

    /// Sends `GET /payments/{correlationId}`.
    pub(crate) async fn lookup(
        &self,
        payment: &PaymentRequest,
        timeout: Duration,
    ) -> LookupOutcome {
        let mut path = Vec::with_capacity(64);
        path.extend_from_slice(b"/payments/");
        path.extend_from_slice(payment.correlation_id.as_bytes());
        let mut response = Vec::new();
        match self.client.request("GET", &path, &[], timeout, &mut response).await {
            Ok(200) => LookupOutcome::Found,
            Ok(404) => LookupOutcome::NotFound,
            _ => LookupOutcome::Unknown,
        }
    }

    /// Sends `GET /payments/service-health`; `None` on any error or a `429`.
    pub(crate) async fn health(&self, timeout: Duration) -> Option<Health> {
        let mut response = self.body.take();
        response.clear();
        let status = self
            .client
            .request("GET", b"/payments/service-health", &[], timeout, &mut response)
            .await;
        let health = match status {
            Ok(200) => simd_json::serde::from_slice::<Health>(&mut response).ok(),
            _ => None,
        };
        self.body.replace(response);
        health
    }
}
