//! Every Redis key the backend uses, built here and nowhere else.
//!
//! The Lua scripts name two families of keys they build themselves (a ledger hash per second, and
//! the malformed list); they get those names from the macros below through `concat!`, so the
//! Rust and Lua spellings cannot drift apart.

use crate::payment::Processor;

/// The prefix of the ledger hash of one second, `rinha:ledger:<second>`, as a literal for the
/// scripts' `concat!`.
macro_rules! ledger_prefix {
    () => {
        "rinha:ledger:"
    };
}
pub(crate) use ledger_prefix;

/// The list of queue entries this code cannot read, as a literal for the scripts' `concat!`.
macro_rules! malformed_key {
    () => {
        "rinha:malformed"
    };
}
pub(crate) use malformed_key;

/// The list of accepted payments waiting to be taken: pushed left, taken right.
pub(crate) const QUEUE: &[u8] = b"rinha:queue";
/// Every correlation id ever taken (`1`) or withdrawn by the API (`c`).
pub(crate) const SEEN: &[u8] = b"rinha:seen";
/// The seconds that have a ledger hash.
pub(crate) const SECONDS: &[u8] = b"rinha:seconds";
/// Queue entries TAKE could not read (never expected; kept for a human).
#[cfg(test)]
pub(crate) const MALFORMED: &[u8] = malformed_key!().as_bytes();
/// The prefix of a ledger hash: `rinha:ledger:<second of requestedAt>`.
#[cfg(test)]
pub(crate) const LEDGER_PREFIX: &[u8] = ledger_prefix!().as_bytes();

/// The keys of one worker thread's payments in flight: its processing hash
/// `rinha:processing:<worker>:<thread>` and the take key `<processing hash>:take` beside it, where
/// TAKE leaves a ticket for a reply lost on the way (see `Store::take`). Built once per thread, so a
/// TAKE formats no key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessingKeys {
    hash: Vec<u8>,
    take: Vec<u8>,
}

/// The prefix of every processing hash (`perf/` counts `rinha:processing:*` as the payments in
/// flight).
const PROCESSING_PREFIX: &str = "rinha:processing:";
/// The suffix that turns a processing hash's key into its take key.
const TAKE_SUFFIX: &str = ":take";

impl ProcessingKeys {
    /// The keys of thread `thread_index` of worker `worker_id`. The worker id must be stable across
    /// restarts: recovery finds what the previous run left under the same keys.
    pub fn new(worker_id: &str, thread_index: usize) -> Self {
        assert!(!worker_id.is_empty());
        let hash = format!("{PROCESSING_PREFIX}{worker_id}:{thread_index}").into_bytes();
        let mut take = Vec::with_capacity(hash.len() + TAKE_SUFFIX.len());
        take.extend_from_slice(&hash);
        take.extend_from_slice(TAKE_SUFFIX.as_bytes());
        Self { hash, take }
    }

    /// The processing hash: correlation id → processing entry (see `store::codec`).
    pub fn hash(&self) -> &[u8] {
        &self.hash
    }

    /// The take key: the last TAKE's ticket and what it took (see `store::codec`).
    pub fn take(&self) -> &[u8] {
        &self.take
    }
}

/// The published health report of `processor`: `rinha:health:<d|f>`.
pub(crate) fn health(processor: Processor) -> [u8; 14] {
    let mut key = *b"rinha:health:?";
    key[13] = processor.code();
    key
}

/// The lock held by the cluster's single health poller of `processor`:
/// `rinha:health-lock:<d|f>`.
pub(crate) fn health_lock(processor: Processor) -> [u8; 19] {
    let mut key = *b"rinha:health-lock:?";
    key[18] = processor.code();
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_spelled_as_documented() {
        let keys = ProcessingKeys::new("worker-1", 3);
        assert_eq!(keys.hash(), b"rinha:processing:worker-1:3");
        assert_eq!(keys.take(), b"rinha:processing:worker-1:3:take");
        assert_eq!(&health(Processor::Default), b"rinha:health:d");
        assert_eq!(&health(Processor::Fallback), b"rinha:health:f");
        assert_eq!(&health_lock(Processor::Default), b"rinha:health-lock:d");
        assert_eq!(&health_lock(Processor::Fallback), b"rinha:health-lock:f");
        assert_eq!(LEDGER_PREFIX, b"rinha:ledger:");
        assert_eq!(MALFORMED, b"rinha:malformed");
    }
}
