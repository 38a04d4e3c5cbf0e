//! The public API: `POST /payments`, `GET /payments-summary`, `POST /purge-payments`.
//!
//! # Hot path
//! `POST /payments` parses the body (simd-json with per-thread reusable buffers), pushes
//! `<correlationId>:<cents>` onto the Redis queue through this thread's pipelined connection, and
//! answers `202` only after Redis acknowledged the push, so an accepted payment never lives only in
//! this process's memory. The API never calls a processor: the worker does.
//!
//! # Errors
//! Bad input gets a `400` with a short reason and keeps the connection; unknown routes `404`, known
//! routes with the wrong method `405`; a body over the parser's bound `413`. If Redis is down the
//! answer is `503` and nothing was kept.

pub mod route;
pub mod summary;

use std::{cell::RefCell, rc::Rc, time::SystemTime};

use crate::{
    http::{
        request::Request,
        response::{self, write_json_with, write_text, Status},
        server::{serve, Handler},
        stream::Endpoint,
    },
    payment::{unix_ms, write_summary, JsonParser},
    redis::{Client, RedisError},
    store::{Store, StoreError, SCRIPTS},
};
use route::{route, Route};

/// Listen backlog: the burst of connections k6 and nginx open at start-up must not be refused.
pub const LISTEN_BACKLOG: i32 = 4096;

/// The API's per-thread state.
pub struct Api {
    store: Store,
    /// simd-json's working memory and tape, reused across requests so parsing does not allocate.
    json: RefCell<JsonParser>,
    /// A copy of the body: simd-json parses in place and the request borrows the read buffer.
    body_scratch: RefCell<Vec<u8>>,
}

impl Api {
    /// Builds the API state over this thread's store.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            json: RefCell::new(JsonParser::new(crate::http::request::BODY_BYTES_MAX)),
            body_scratch: RefCell::new(Vec::with_capacity(crate::http::request::BODY_BYTES_MAX)),
        }
    }

    async fn create_payment(&self, body: &[u8], out: &mut Vec<u8>) {
        let parsed = {
            let mut scratch = self.body_scratch.borrow_mut();
            scratch.clear();
            scratch.extend_from_slice(body);
            self.json.borrow_mut().parse_payment_request(&mut scratch)
        };
        let payment = match parsed {
            Ok(payment) => payment,
            Err(error) => return write_text(out, Status::BadRequest, error.reason().as_bytes()),
        };
        match self.store.enqueue(&payment, unix_ms(SystemTime::now())).await {
            Ok(()) => out.extend_from_slice(response::ACCEPTED),
            Err(error) => {
                log_store_error("enqueue", &error);
                out.extend_from_slice(response::UNAVAILABLE);
            }
        }
    }

    async fn summary(&self, query: &[u8], out: &mut Vec<u8>) {
        let window = match summary::parse_window(query) {
            Ok(window) => window,
            Err(error) => return write_text(out, Status::BadRequest, error.reason().as_bytes()),
        };
        match self.store.summary(window.from_ms, window.to_ms).await {
            Ok((default, fallback)) => {
                write_json_with(out, Status::Ok, |body| write_summary(body, default, fallback))
            }
            Err(error) => {
                log_store_error("summary", &error);
                out.extend_from_slice(response::UNAVAILABLE);
            }
        }
    }

    async fn purge(&self, out: &mut Vec<u8>) {
        match self.store.purge().await {
            Ok(()) => {
                crate::log::info(format_args!("purged the queue and the ledger"));
                response::write_json(out, Status::Ok, b"{\"message\":\"payments purged\"}");
            }
            Err(error) => {
                log_store_error("purge", &error);
                out.extend_from_slice(response::UNAVAILABLE);
            }
        }
    }
}

#[cold]
fn log_store_error(operation: &str, error: &StoreError) {
    match error {
        StoreError::Redis(RedisError::Unavailable) => {
            crate::log::debug(format_args!("{operation}: {error}"))
        }
        _ => crate::log::warn(format_args!("{operation}: {error}")),
    }
}

impl Handler for Api {
    async fn handle(&self, request: &Request<'_>, body: &[u8], out: &mut Vec<u8>) -> bool {
        match route(request.method, request.path) {
            Route::CreatePayment => self.create_payment(body, out).await,
            Route::Summary => self.summary(request.query, out).await,
            Route::Purge => self.purge(out).await,
            Route::MethodNotAllowed => out.extend_from_slice(response::METHOD_NOT_ALLOWED),
            Route::NotFound => out.extend_from_slice(response::NOT_FOUND),
        }
        true
    }
}

/// Serves the API on this thread: connects to Redis, binds `listen`, and serves forever.
///
/// # Errors
/// Only a failure to bind; Redis outages are ridden out (requests get `503` meanwhile).
pub async fn run(listen: Endpoint, redis: Endpoint) -> std::io::Result<()> {
    let client = Client::start(redis, SCRIPTS);
    let listener = listen.bind(LISTEN_BACKLOG)?;
    crate::log::info(format_args!("api listening on {listen}"));
    serve(listener, Rc::new(Api::new(Store::new(client)))).await;
    Ok(())
}
