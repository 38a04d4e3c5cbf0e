//! The payment ledger in Redis: the keys, the value codecs, the Lua scripts, and typed operations
//! over them.
//!
//! Shared by the API (enqueue, cancel, summary, purge) and the worker (take, restamp, record,
//! requeue, recover, health), so both sides agree on one data layout. `DESIGN.md` §2 lists the
//! keys and §3 explains why each step is atomic.
//!
//! - `keys`: every key, built here and nowhere else.
//! - [`codec`]: every value, one field order, each encoded and decoded in one place; the Lua side
//!   of each layout sits beside its Rust side.
//! - `scripts`: the Lua scripts, addressed by `Script`.

pub mod codec;
pub(crate) mod keys;
pub(crate) mod scripts;

use std::{cell::Cell, rc::Rc, time::Duration};

use crate::{
    payment::HealthReport,
    payment::{CorrelationId, PaymentRequest, Processor, Totals},
    redis::{Client, RedisError, Reply},
};
use codec::{
    decode_health_report, decode_processing_entry, decode_queue_entry, decode_take_record,
    encode_health_report, encode_processing_entry, encode_queue_entry,
};
pub use keys::ProcessingKeys;
pub(crate) use scripts::Script;
pub use scripts::SCRIPTS;

/// Why a store operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The connection was down or failed (see [`RedisError`] for what that implies).
    Redis(RedisError),
    /// Redis answered something this code never asks for: a bug, or a foreign database.
    UnexpectedReply(String),
}

impl From<RedisError> for StoreError {
    fn from(error: RedisError) -> Self {
        Self::Redis(error)
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Redis(error) => write!(formatter, "{error}"),
            Self::UnexpectedReply(reply) => write!(formatter, "unexpected redis reply: {reply}"),
        }
    }
}

fn unexpected(reply: &Reply) -> StoreError {
    StoreError::UnexpectedReply(format!("{reply:?}"))
}

/// A payment taken from the queue, with the attempt it is stamped for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TakenPayment {
    /// The payment.
    pub payment: PaymentRequest,
    /// Processor of the current attempt.
    pub processor: Processor,
    /// `requestedAt` of the current attempt, in milliseconds.
    pub requested_at_ms: i64,
    /// When the API accepted the payment (ms), for the hold bound.
    pub accepted_at_ms: i64,
}

/// Typed access to the ledger over this thread's Redis client.
#[derive(Clone)]
pub struct Store {
    client: Client,
    /// Distinguishes this process's take tickets from an earlier run's (see [`Store::take`]).
    nonce: u128,
    /// The last take ticket's counter, shared by the clones of this store.
    tickets: Rc<Cell<u64>>,
}

/// Longest take ticket: a nanosecond timestamp, a dot and a counter.
const TICKET_BYTES_MAX: usize = 40 + 1 + 20;

/// Formats `value` into `buffer` and returns the digits.
fn digits(buffer: &mut itoa::Buffer, value: impl itoa::Integer) -> &[u8] {
    buffer.format(value).as_bytes()
}

/// Formats an optional bound: its digits, or `-` (none), as the scripts read it.
fn bound(buffer: &mut itoa::Buffer, value: Option<i64>) -> &[u8] {
    match value {
        Some(value) => digits(buffer, value),
        None => b"-",
    }
}

impl Store {
    /// Wraps a client started with [`SCRIPTS`].
    pub fn new(client: Client) -> Self {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        Self { client, nonce, tickets: Rc::new(Cell::new(0)) }
    }

    /// After a failed call: if it failed on the connection (Redis restarting), waits up to
    /// `bound` for Redis to answer again and returns `true` once it does, so the caller retries at
    /// once; for any other error, or if Redis stays away, returns `false` (the caller backs off).
    pub(crate) async fn reconnected_after(&self, error: &StoreError, bound: Duration) -> bool {
        matches!(error, StoreError::Redis(_)) && self.client.wait_connected(bound).await.is_ok()
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn run(
        &self,
        script: Script,
        keys: &[&[u8]],
        arguments: &[&[u8]],
    ) -> Result<Reply, RedisError> {
        self.client.eval(script.index(), keys, arguments).await
    }

    /// Appends an accepted payment to the queue if Redis runs the push by `cutoff_ms` (see
    /// `Script::Enqueue`).
    ///
    /// # Returns
    /// `true` once Redis has it; `false` if Redis ran the push after the cutoff and dropped it.
    ///
    /// # Errors
    /// [`StoreError`]; with `Redis(ConnectionLost)` the payment may or may not be queued.
    pub async fn enqueue_by(
        &self,
        payment: &PaymentRequest,
        accepted_at_ms: i64,
        cutoff_ms: i64,
    ) -> Result<bool, StoreError> {
        let entry = encode_queue_entry(payment, accepted_at_ms);
        let mut cutoff = itoa::Buffer::new();
        let arguments: [&[u8]; 2] = [entry.as_bytes(), digits(&mut cutoff, cutoff_ms)];
        match self.run(Script::Enqueue, &[keys::QUEUE], &arguments).await? {
            Reply::Integer(-1) => Ok(false),
            Reply::Integer(length) if length > 0 => Ok(true),
            other => Err(unexpected(&other)),
        }
    }

    /// Withdraws a payment whose enqueue was never confirmed (see [`Script::Cancel`]).
    ///
    /// # Returns
    /// `true` if withdrawn (it will never be paid), `false` if a worker had already taken it.
    ///
    /// # Errors
    /// [`StoreError`]; withdrawing is idempotent, so the caller retries until it gets an answer.
    pub(crate) async fn cancel(&self, correlation_id: &CorrelationId) -> Result<bool, StoreError> {
        match self.run(Script::Cancel, &[keys::SEEN], &[correlation_id.as_bytes()]).await? {
            Reply::Integer(withdrawn) => Ok(withdrawn == 1),
            other => Err(unexpected(&other)),
        }
    }

    /// Takes up to `count` payments for a first attempt on `processor` at `requested_at_ms`,
    /// moving them to the processing hash of `processing` (see `Script::Take`).
    ///
    /// If the connection fails before the reply arrives, the call may have run: this waits for
    /// Redis to answer again and reads the thread's take record, so `out` gets exactly what the
    /// call took.
    ///
    /// # Errors
    /// [`StoreError`]; nothing was taken when the error is `Redis(Unavailable)` (not sent).
    pub async fn take(
        &self,
        processing: &ProcessingKeys,
        count: usize,
        processor: Processor,
        requested_at_ms: i64,
        accepted_by_ms: Option<i64>,
        out: &mut Vec<TakenPayment>,
    ) -> Result<(), StoreError> {
        let (mut count_digits, mut at_digits) = (itoa::Buffer::new(), itoa::Buffer::new());
        let mut cutoff_digits = itoa::Buffer::new();
        let mut ticket = [0u8; TICKET_BYTES_MAX];
        let ticket = self.next_ticket(&mut ticket);
        let keys: [&[u8]; 4] = [keys::QUEUE, keys::SEEN, processing.hash(), processing.take()];
        let arguments: [&[u8]; 5] = [
            digits(&mut count_digits, count),
            &[processor.code()],
            digits(&mut at_digits, requested_at_ms),
            bound(&mut cutoff_digits, accepted_by_ms),
            ticket,
        ];
        let reply = match self.run(Script::Take, &keys, &arguments).await {
            Ok(reply) => reply,
            Err(RedisError::ConnectionLost) => {
                return self.take_lost(processing, ticket, processor, requested_at_ms, out).await
            }
            Err(error) => return Err(error.into()),
        };
        let Reply::Array(entries) = reply else { return Err(unexpected(&reply)) };
        for entry in &entries {
            let Reply::BulkString(bytes) = entry else { return Err(unexpected(entry)) };
            let (payment, accepted_at_ms) =
                decode_queue_entry(bytes).ok_or_else(|| unexpected(entry))?;
            out.push(TakenPayment { payment, processor, requested_at_ms, accepted_at_ms });
        }
        Ok(())
    }

    /// A ticket unique to this store's process start and call: `<nonce>.<counter>`. The nonce is
    /// the start time in nanoseconds, not the pid, because a restarted container often gets the
    /// same pid.
    fn next_ticket<'a>(&self, buffer: &'a mut [u8; TICKET_BYTES_MAX]) -> &'a [u8] {
        let counter = self.tickets.get().wrapping_add(1);
        self.tickets.set(counter);
        let mut nonce = itoa::Buffer::new();
        let nonce = nonce.format(self.nonce).as_bytes();
        let mut count = itoa::Buffer::new();
        let count = count.format(counter).as_bytes();
        let length = nonce.len() + 1 + count.len();
        assert!(length <= TICKET_BYTES_MAX);
        buffer[..nonce.len()].copy_from_slice(nonce);
        buffer[nonce.len()] = b'.';
        buffer[nonce.len() + 1..length].copy_from_slice(count);
        &buffer[..length]
    }

    /// Settles a TAKE whose reply was lost: waits until Redis answers again (it may be
    /// restarting), then reads the take record. If it holds this call's ticket, the call ran and
    /// its payments are pushed to `out`; otherwise the call never ran (or Redis lost it along
    /// with its effects, which are one atomic unit in the AOF), and nothing was taken.
    ///
    /// # Errors
    /// [`StoreError::UnexpectedReply`] for a take record this code did not write.
    async fn take_lost(
        &self,
        processing: &ProcessingKeys,
        ticket: &[u8],
        processor: Processor,
        requested_at_ms: i64,
        out: &mut Vec<TakenPayment>,
    ) -> Result<(), StoreError> {
        // Bounded per round; the loop itself ends only when Redis answers: until then the
        // worker can take nothing anyway.
        let mut rounds: u64 = 0;
        let record = loop {
            rounds += 1;
            if rounds.is_multiple_of(10) {
                log::warn!("a take's reply was lost; still waiting for redis");
            }
            if self.client.wait_connected(Duration::from_secs(1)).await.is_err() {
                continue;
            }
            match self.client.request(&[b"GET", processing.take()]).await {
                Ok(Reply::BulkString(record)) => break Some(record),
                Ok(Reply::Null) => break None,
                Ok(other) => return Err(unexpected(&other)),
                Err(_) => continue,
            }
        };
        let Some(entries) = record.as_deref().and_then(|record| decode_take_record(record, ticket))
        else {
            return Ok(());
        };
        for entry in entries {
            let (payment, accepted_at_ms) = decode_queue_entry(entry).ok_or_else(|| {
                StoreError::UnexpectedReply(format!("{:?}", entry.escape_ascii()))
            })?;
            out.push(TakenPayment { payment, processor, requested_at_ms, accepted_at_ms });
        }
        log::info!("a take's reply was lost; its ticket says it took {} payments", out.len());
        Ok(())
    }

    /// Stamps a taken payment in the processing hash with a new attempt: a TAKE that answered
    /// late gets a fresh `requestedAt` before anything is sent (recovery retries with the stamp it
    /// finds there). Must complete before the attempt is sent.
    ///
    /// # Errors
    /// [`StoreError`]; the stamp is a plain overwrite, so the caller retries until it succeeds.
    pub async fn restamp(
        &self,
        processing: &ProcessingKeys,
        taken: &TakenPayment,
    ) -> Result<(), StoreError> {
        let entry = encode_processing_entry(taken);
        let id = taken.payment.correlation_id;
        let command: [&[u8]; 4] = [b"HSET", processing.hash(), id.as_bytes(), entry.as_bytes()];
        match self.client.request(&command).await? {
            Reply::Integer(_) => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Records a batch of record entries ([`codec::push_record_entry`]) in one script call (see
    /// `Script::Record`).
    ///
    /// # Returns
    /// How many of the batch were added (the others were recorded before).
    ///
    /// # Errors
    /// [`StoreError`]; recording is idempotent, so the caller retries the whole batch.
    pub async fn record(
        &self,
        processing: &ProcessingKeys,
        batch: &[u8],
    ) -> Result<u64, StoreError> {
        let keys: [&[u8]; 2] = [processing.hash(), keys::SECONDS];
        match self.run(Script::Record, &keys, &[batch]).await? {
            Reply::Integer(added) if added >= 0 => Ok(added as u64),
            other => Err(unexpected(&other)),
        }
    }

    /// Moves a payment that no processor has (every attempt was definitely refused, or an
    /// ambiguous one has settled as absent) from the processing hash back to the old end of the
    /// queue (see `Script::Requeue`).
    ///
    /// # Errors
    /// [`StoreError`]; the move is atomic and conditional on the processing entry, so repeating
    /// it after a lost reply is harmless.
    pub async fn requeue(
        &self,
        processing: &ProcessingKeys,
        taken: &TakenPayment,
    ) -> Result<(), StoreError> {
        let queue_entry = encode_queue_entry(&taken.payment, taken.accepted_at_ms);
        let processing_entry = encode_processing_entry(taken);
        let keys: [&[u8]; 3] = [keys::QUEUE, keys::SEEN, processing.hash()];
        let arguments: [&[u8]; 3] = [
            taken.payment.correlation_id.as_bytes(),
            queue_entry.as_bytes(),
            processing_entry.as_bytes(),
        ];
        match self.run(Script::Requeue, &keys, &arguments).await? {
            Reply::Integer(_) => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// The processing hash after a crash: every payment taken and not settled, with the
    /// processor and `requestedAt` of its last stamped attempt.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn recover(
        &self,
        processing: &ProcessingKeys,
    ) -> Result<Vec<TakenPayment>, StoreError> {
        let reply = self.client.request(&[b"HGETALL", processing.hash()]).await?;
        let Reply::Array(fields) = reply else { return Err(unexpected(&reply)) };
        let mut recovered = Vec::with_capacity(fields.len() / 2);
        for pair in fields.chunks(2) {
            let [Reply::BulkString(id), Reply::BulkString(entry)] = pair else {
                return Err(StoreError::UnexpectedReply(format!("{pair:?}")));
            };
            let taken = decode_processing_entry(id, entry)
                .ok_or_else(|| StoreError::UnexpectedReply(format!("{pair:?}")))?;
            recovered.push(taken);
        }
        Ok(recovered)
    }

    /// Totals per processor for `from_ms <= requestedAt <= to_ms` (`None`: unbounded).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn summary(
        &self,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<(Totals, Totals), StoreError> {
        let (mut from_digits, mut to_digits) = (itoa::Buffer::new(), itoa::Buffer::new());
        let arguments = [bound(&mut from_digits, from_ms), bound(&mut to_digits, to_ms)];
        let reply = self.run(Script::Summary, &[keys::SECONDS], &arguments).await?;
        let Reply::Array(values) = &reply else { return Err(unexpected(&reply)) };
        let mut numbers = [0u64; 4];
        if values.len() != 4 {
            return Err(unexpected(&reply));
        }
        for (number, value) in numbers.iter_mut().zip(values) {
            match value {
                Reply::Integer(integer) if *integer >= 0 => *number = *integer as u64,
                _ => return Err(unexpected(&reply)),
            }
        }
        Ok((
            Totals { requests: numbers[0], amount_cents: numbers[1] },
            Totals { requests: numbers[2], amount_cents: numbers[3] },
        ))
    }

    /// Deletes the queue, the seen set and the ledger.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn purge(&self) -> Result<(), StoreError> {
        let keys: [&[u8]; 3] = [keys::QUEUE, keys::SEEN, keys::SECONDS];
        match self.run(Script::Purge, &keys, &[]).await? {
            Reply::Integer(_) => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// The health report of `processor` last published by the cluster's poller, if any (a value
    /// this code cannot read counts as none).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn health(&self, processor: Processor) -> Result<Option<HealthReport>, StoreError> {
        match self.client.request(&[b"GET", &keys::health(processor)]).await? {
            Reply::BulkString(value) => Ok(decode_health_report(&value)),
            Reply::Null => Ok(None),
            other => Err(unexpected(&other)),
        }
    }

    /// Publishes a health report of `processor` for every worker thread.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn publish_health(
        &self,
        processor: Processor,
        report: &HealthReport,
    ) -> Result<(), StoreError> {
        let value = encode_health_report(report);
        match self.client.request(&[b"SET", &keys::health(processor), value.as_bytes()]).await? {
            Reply::SimpleString(_) => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Tries to become the cluster's single health poller of `processor` for `ttl_ms`
    /// (`SET NX PX`); `owner` names the holder for a human reading Redis.
    ///
    /// # Returns
    /// Whether this caller holds the lock now.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn lock_health(
        &self,
        processor: Processor,
        owner: &str,
        ttl_ms: u64,
    ) -> Result<bool, StoreError> {
        let mut ttl = itoa::Buffer::new();
        let key = keys::health_lock(processor);
        let command: [&[u8]; 6] =
            [b"SET", &key, owner.as_bytes(), b"NX", b"PX", digits(&mut ttl, ttl_ms)];
        match self.client.request(&command).await? {
            Reply::SimpleString(_) => Ok(true),
            Reply::Null => Ok(false),
            other => Err(unexpected(&other)),
        }
    }

    /// Sets the health lock of `processor` to expire `ttl_ms` from now, whoever holds it.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn expire_health_lock(
        &self,
        processor: Processor,
        ttl_ms: u64,
    ) -> Result<(), StoreError> {
        let mut ttl = itoa::Buffer::new();
        let key = keys::health_lock(processor);
        match self.client.request(&[b"PEXPIRE", &key, digits(&mut ttl, ttl_ms)]).await? {
            Reply::Integer(_) => Ok(()),
            other => Err(unexpected(&other)),
        }
    }
}
