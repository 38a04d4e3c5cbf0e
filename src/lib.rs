//! rinha-rs: a payment-routing backend built for the Rinha de Backend 2025 rules.
//!
//! # Module map
//! - [`http`]: HTTP/1.1 on monoio: a bounded request parser, canned responses, the server connection
//!   loop and a small keep-alive client. Knows nothing about payments.
//! - [`redis`]: a minimal pipelined RESP2 client (framing by `redis-protocol`, bounds checked by us).
//!   Knows nothing about payments.
//! - [`payment`]: domain types and hand-written JSON and timestamp codecs. Pure, std only.
//! - [`store`]: the Redis keys and Lua scripts that make up the payment ledger, shared by the API and
//!   the worker so that both sides agree on one data layout.
//! - [`api`]: `POST /payments`, `GET /payments-summary`, `POST /purge-payments`. Never calls a
//!   processor.
//! - [`worker`]: drains the queue, chooses a processor, calls it, records the outcome.
//! - [`processor_sim`]: the project's stand-in for the official payment processor.
//! - [`logger`]: the `log` facade's stderr back end, installed by the binaries.
//! - [`number`] and [`backoff`]: pure leaves (std only) that any module may use: the one parser
//!   of digits and decimals, and the one retry pause.
//! - [`config`] and [`runtime`]: used by the binaries only; library code takes values as parameters
//!   and never reads the environment.
//!
//! # Dependency rules
//! `http` and `redis` use only monoio, httparse, redis-protocol and std. `payment` is std only. `api`
//! and `worker` use `http`, `redis`, `store` and `payment`. `processor_sim` uses `http` and `payment`.
//! Any module may use the pure leaves `number` and `backoff`, which use std only.
//! State is per thread (`Rc<RefCell<_>>`); anything that crosses threads goes through Redis or an
//! explicit channel.

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, rust_2018_idioms)]

pub mod api;
pub mod backoff;
pub mod config;
pub mod http;
pub mod logger;
pub mod net;
pub mod number;
pub mod payment;
pub mod processor_sim;
pub mod redis;
pub mod runtime;
pub mod store;
pub mod worker;
