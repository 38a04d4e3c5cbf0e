//! rinha-rs: a payment-routing backend built for the Rinha de Backend 2025 rules.
//!
//! # Module map
//! - [`net`]: endpoints (`host:port` or `unix:/path`), listeners and streams over TCP and Unix
//!   sockets. No protocol.
//! - [`http`]: HTTP/1.1 on monoio: a bounded request parser, canned responses, the server connection
//!   loop and a small keep-alive client, over TLS (monoio-rustls) for `https://`. Knows nothing
//!   about payments or the contest: contest headers (`X-Rinha-Token`, `Retry-After`) are passed in.
//! - [`redis`]: a minimal pipelined RESP2 client (framing by `redis-protocol`, bounds checked by us).
//!   Knows nothing about payments.
//! - [`payment`]: domain types (payments, processors and their health reports); the JSON codecs
//!   (simd-json and serde for the bodies, hand-written writers for the answers) and the timestamp
//!   codecs. Pure: no I/O.
//! - [`store`]: the Redis keys, value codecs and Lua scripts that make up the payment ledger, shared
//!   by the API and the worker so that both sides agree on one data layout.
//! - [`api`]: `POST /payments`, `GET /payments-summary`, `POST /purge-payments`. Never calls a
//!   processor.
//! - [`worker`]: drains the queue, chooses a processor, calls it, records the outcome.
//! - [`processor_sim`]: the project's stand-in for the official payment processor. Serves a bound
//!   listener; the binary (or a test) builds the runtime.
//! - `logger`: the `log` facade's stderr back end, installed by the binaries.
//! - [`number`] and `backoff`: pure leaves (std only) that any module may use: the one parser
//!   of digits and decimals, and the one retry pause.
//! - [`config`] and [`runtime`]: used by the binaries only; library code takes values as parameters
//!   and never reads the environment.
//!
//! # Dependency rules
//! Within the crate (`tests/module_edges.rs` checks every `crate::` path against these):
//! - `number` and `backoff` are pure leaves (std only) that any module may use; they use none.
//!   Besides the leaves:
//! - `net`, `payment`, `logger` and `runtime` use no other module.
//! - `http` and `redis` use `net` only, not each other.
//! - `store` uses `redis` and `payment`.
//! - `api` and `worker` use `http`, `net`, `redis`, `store` and `payment`; neither uses the other.
//! - `processor_sim` uses `http`, `net` and `payment`.
//! - `config` uses `net`, `http` (origins, TLS), `logger`, `worker` and `processor_sim` (their
//!   settings types). Nothing in the library uses `config` or `runtime`; the binaries do.
//!
//! Outside the crate, `net`, `http` and `redis` use monoio, local-sync, httparse, itoa, bytes,
//! redis-protocol, rustls, monoio-rustls, webpki-roots, socket2, the `log` facade and std. State
//! is per thread (`Rc<RefCell<_>>`); anything that crosses threads goes through Redis or an
//! explicit channel.

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, rust_2018_idioms)]

pub mod api;
pub(crate) mod backoff;
pub mod config;
pub mod http;
pub(crate) mod logger;
pub mod net;
pub mod number;
pub mod payment;
pub mod processor_sim;
pub mod redis;
pub mod runtime;
pub mod store;
pub mod worker;
