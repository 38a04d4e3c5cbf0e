//! A minimal pipelined RESP2 client for Redis.
//!
//! # Key components
//! - [`reply`]: a bounded check of reply bytes (depth, lengths, syntax), then framing by
//!   `redis-protocol` into owned [`Reply`] frames that share the read buffer's memory.
//! - [`command`]: command encoding, by hand (an array of bulk strings, lengths through `itoa`).
//! - `connection`: one connection per thread, shared by every task of that thread; commands from
//!   concurrent tasks are pipelined and flushed together in one write, replies are matched to
//!   callers in order.
//!
//! # Dependency rules
//! [`crate::net`] for sockets; monoio, local-sync, bytes, itoa, redis-protocol and std. Nothing
//! here knows about payments.

pub mod command;
pub(crate) mod connection;
pub mod reply;

pub use connection::{Client, RedisError};
pub use reply::Reply;
