//! HTTP/1.1 on monoio, just enough for this service and its test doubles.
//!
//! # Key components
//! - [`request`]: a bounded request parser over a caller-owned buffer (`httparse` for the head).
//! - `response`: canned responses and a writer for small dynamic ones.
//! - `server`: the connection loop (keep-alive, pipelining, one write per batch of requests).
//! - [`client`]: a keep-alive client with a per-origin connection pool, for the worker.
//! - [`tls`]: a rustls client stream over [`crate::net::Stream`], for `https://` processors.
//!
//! # Dependency rules
//! [`crate::net`] for sockets; monoio, httparse, rustls (with webpki-roots, in [`tls`]) and std.
//! Nothing here knows about payments or the contest: headers and statuses that the contest
//! defines are passed in by the code that knows it.

pub mod client;
pub mod request;
pub(crate) mod response;
pub(crate) mod server;
pub mod tls;
