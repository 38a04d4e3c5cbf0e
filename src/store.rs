//! The payment ledger in Redis: the keys, the Lua scripts, and typed operations over them.
//!
//! Shared by the API (enqueue, summary, purge) and the worker (take, record, recover), so both
//! sides agree on one data layout. `DESIGN.md` explains why each step is atomic.
//!
//! # Keys
//! | key | type | content |
//! |---|---|---|
//! | `rinha:queue` | list | accepted payments `<correlationId>:<cents>:<accepted at ms>`, pushed left, taken right |
//! | `rinha:malformed` | list | queue entries this code could not read (never expected) |
//! | `rinha:seen` | hash | correlationId → `1` for every payment ever taken (duplicates dropped) |
//! | `rinha:processing:<worker>:<thread>` | hash | correlationId → `<cents>:<d|f>:<requestedAt ms>:<accepted at ms>`: taken, not yet settled |
//! | `rinha:ledger:<second>` | hash | per second of `requestedAt`: correlationId → `<d|f><ms 3 digits>:<cents>`, plus totals `d#n d#a f#n f#a` |
//! | `rinha:seconds` | sorted set | the seconds that have a ledger hash |
//! | `rinha:health:<d|f>` | string | last health poll `<failing 0|1>:<minResponseTime>:<polled at ms>` |
//! | `rinha:health-lock:<d|f>` | string | held 5 s by the one worker allowed to poll |

use crate::{
    payment::{CorrelationId, PaymentRequest, Processor, Totals, CORRELATION_ID_BYTES},
    redis::{Client, RedisError, Reply},
};

/// The list of accepted payments waiting to be taken.
pub const QUEUE_KEY: &[u8] = b"rinha:queue";
/// Every correlation id ever taken.
pub const SEEN_KEY: &[u8] = b"rinha:seen";
/// The seconds that have a ledger hash.
pub const SECONDS_KEY: &[u8] = b"rinha:seconds";

/// Pops up to `n` payments (oldest first, and only those accepted at or before `ARGV[4]` unless
/// it is `-`), drops duplicates, and moves the rest into the worker's processing hash stamped
/// with the processor and `requestedAt` of their first attempt, all in one atomic step: a
/// payment is always either in the queue or in a processing hash, never only in memory.
///
/// A call that took something also writes `<ticket ARGV[5]>|<value>,<value>...` to the worker
/// thread's take key (`KEYS[4]`): if the connection fails before the reply arrives, the worker
/// reads that key once Redis answers again and settles what the call took, instead of leaving it
/// in the processing hash until its next start-up.
const TAKE_SCRIPT: &str = r#"
local n = tonumber(ARGV[1])
local cutoff = ARGV[4] ~= '-' and tonumber(ARGV[4]) or nil
local out = {}
for _ = 1, 2 * n do
  if #out >= n then break end
  local value = redis.call('LINDEX', KEYS[1], -1)
  if not value then break end
  local cents, accepted = string.match(value, '^' .. string.rep('.', 36) .. ':(%d+):(%d+)$')
  if cutoff and accepted and tonumber(accepted) > cutoff then break end
  redis.call('RPOP', KEYS[1])
  local id = string.sub(value, 1, 36)
  if not cents then
    -- Never written by this code; kept aside for a human rather than blocking the queue.
    redis.call('LPUSH', 'rinha:malformed', value)
  elseif redis.call('HSETNX', KEYS[2], id, '1') == 1 then
    redis.call('HSET', KEYS[3], id, cents .. ':' .. ARGV[2] .. ':' .. ARGV[3] .. ':' .. accepted)
    out[#out + 1] = value
  end
end
if #out > 0 then
  -- The ticket lets a worker whose reply was lost learn what this call took (Store::take_lost).
  redis.call('SET', KEYS[4], ARGV[5] .. '|' .. table.concat(out, ','))
end
return out
"#;

/// Records processed payments, each in the ledger hash of its `requestedAt` second, once (a
/// second record of the same id changes nothing), and removes them from the processing hash.
/// `ARGV[1]` packs the batch as `<id>:<d|f>:<requestedAt ms>:<cents>;...`: one script call for a
/// batch costs Redis far less than one per payment, and Redis is the hot path's shared resource.
const RECORD_SCRIPT: &str = r#"
local added = 0
for id, processor, at, cents in string.gmatch(ARGV[1], '([^:;]+):(%a):(%d+):(%d+)') do
  at = tonumber(at)
  local second = math.floor(at / 1000)
  local key = 'rinha:ledger:' .. string.format('%d', second)
  local entry = processor .. string.format('%03d', at - second * 1000) .. ':' .. cents
  if redis.call('HSETNX', key, id, entry) == 1 then
    redis.call('HINCRBY', key, processor .. '#n', 1)
    redis.call('HINCRBY', key, processor .. '#a', cents)
    redis.call('ZADD', KEYS[2], second, string.format('%d', second))
    added = added + 1
  end
  redis.call('HDEL', KEYS[1], id)
end
return added
"#;

/// Puts a payment that no processor has back at the old end of the queue, with its acceptance
/// time, and forgets that it was taken, in one atomic step: the payment moves from the processing
/// hash to the queue without ever being in neither. The dispatcher then routes it like any other
/// queued payment, so a held payment waits in Redis, not in a polling task.
///
/// It acts only if the processing entry is still the attempt the caller knows (`ARGV[3]`), so a
/// retry after a lost reply cannot queue a payment that was already requeued and taken again.
const REQUEUE_SCRIPT: &str = r#"
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[1], ARGV[2])
return 1
"#;

/// Sums the ledger for `from <= requestedAt <= to` (milliseconds, `-` for unbounded): whole
/// seconds from their totals, the two edge seconds entry by entry.
const SUMMARY_SCRIPT: &str = r#"
local from_ms, to_ms
local low, high = '-inf', '+inf'
if ARGV[1] ~= '-' then from_ms = tonumber(ARGV[1]); low = math.floor(from_ms / 1000) end
if ARGV[2] ~= '-' then to_ms = tonumber(ARGV[2]); high = math.floor(to_ms / 1000) end
local totals = {d = {0, 0}, f = {0, 0}}
if from_ms and to_ms and from_ms > to_ms then return {0, 0, 0, 0} end
for _, second in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], low, high)) do
  local key = 'rinha:ledger:' .. second
  local base = tonumber(second) * 1000
  if (not from_ms or base >= from_ms) and (not to_ms or base + 999 <= to_ms) then
    local sums = redis.call('HMGET', key, 'd#n', 'd#a', 'f#n', 'f#a')
    totals.d[1] = totals.d[1] + tonumber(sums[1] or 0)
    totals.d[2] = totals.d[2] + tonumber(sums[2] or 0)
    totals.f[1] = totals.f[1] + tonumber(sums[3] or 0)
    totals.f[2] = totals.f[2] + tonumber(sums[4] or 0)
  else
    local all = redis.call('HGETALL', key)
    for i = 1, #all, 2 do
      if string.len(all[i]) == 36 then
        local entry = all[i + 1]
        local at = base + tonumber(string.sub(entry, 2, 4))
        if (not from_ms or at >= from_ms) and (not to_ms or at <= to_ms) then
          local sums = totals[string.sub(entry, 1, 1)]
          sums[1] = sums[1] + 1
          sums[2] = sums[2] + tonumber(string.sub(entry, 6))
        end
      end
    end
  end
end
return {totals.d[1], totals.d[2], totals.f[1], totals.f[2]}
"#;

/// Withdraws a payment whose `LPUSH` may have run but was never confirmed to the client (the API
/// answered `503`): marks its id as taken unless a TAKE already took it, so that a queued copy is
/// dropped by TAKE instead of being paid. `1`: withdrawn (no processor will get it); `0`: a TAKE
/// already took it and it will be paid.
const CANCEL_SCRIPT: &str = r#"
if redis.call('HSETNX', KEYS[1], ARGV[1], 'c') == 1 then return 1 end
-- A repeated call after a lost reply finds its own mark.
if redis.call('HGET', KEYS[1], ARGV[1]) == 'c' then return 1 end
return 0
"#;

/// Pushes an accepted payment (`ARGV[1]`) onto the queue only if Redis runs this before the
/// cutoff `ARGV[2]` (Unix ms, by Redis's clock: the same host clock as the API's in the contest
/// stack). A push that waited in a stalled Redis until its client was answered `503` must not
/// land: Redis may run a connection's backlog over several event-loop turns, with other clients'
/// commands (a worker's TAKE) in between, so a withdrawal queued behind it could come too late.
/// Returns the queue length, or `-1` when too late (nothing pushed).
const ENQUEUE_SCRIPT: &str = r#"
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if now_ms > tonumber(ARGV[2]) then return -1 end
return redis.call('LPUSH', KEYS[1], ARGV[1])
"#;

/// Deletes the queue, the seen set and the whole ledger.
const PURGE_SCRIPT: &str = r#"
for _, second in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  redis.call('DEL', 'rinha:ledger:' .. second)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 1
"#;

/// The scripts every connection loads, in the order of the `*_SCRIPT_INDEX` constants.
pub const SCRIPTS: &[&str] = &[
    TAKE_SCRIPT,
    RECORD_SCRIPT,
    SUMMARY_SCRIPT,
    PURGE_SCRIPT,
    REQUEUE_SCRIPT,
    CANCEL_SCRIPT,
    ENQUEUE_SCRIPT,
];
const TAKE_SCRIPT_INDEX: usize = 0;
const RECORD_SCRIPT_INDEX: usize = 1;
const SUMMARY_SCRIPT_INDEX: usize = 2;
const PURGE_SCRIPT_INDEX: usize = 3;
const REQUEUE_SCRIPT_INDEX: usize = 4;
const CANCEL_SCRIPT_INDEX: usize = 5;
const ENQUEUE_SCRIPT_INDEX: usize = 6;

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
    /// Distinguishes this process's take tickets from an earlier run's (see [`TAKE_SCRIPT`]).
    nonce: u128,
    /// The last take ticket's counter, shared by the clones of this store.
    tickets: std::rc::Rc<std::cell::Cell<u64>>,
}

/// Longest take ticket: a nanosecond timestamp, a dot and a counter.
const TICKET_BYTES_MAX: usize = 40 + 1 + 20;

/// The take key of a processing hash: `<processing key>:take` (see [`TAKE_SCRIPT`]).
pub fn take_key(processing_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(processing_key.len() + 5);
    key.extend_from_slice(processing_key);
    key.extend_from_slice(b":take");
    key
}

/// Formats `value` into `buffer` and returns the digits.
fn digits(buffer: &mut itoa::Buffer, value: impl itoa::Integer) -> &[u8] {
    buffer.format(value).as_bytes()
}

impl Store {
    /// Wraps a client started with [`SCRIPTS`].
    pub fn new(client: Client) -> Self {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        Self { client, nonce, tickets: std::rc::Rc::new(std::cell::Cell::new(0)) }
    }

    /// After a failed call: if it failed on the connection (Redis restarting), waits up to
    /// `bound` for Redis to answer again and returns `true` once it does, so the caller retries at
    /// once; for any other error, or if Redis stays away, returns `false` (the caller backs off).
    pub async fn reconnected_after(&self, error: &StoreError, bound: std::time::Duration) -> bool {
        matches!(error, StoreError::Redis(_)) && self.client.wait_connected(bound).await.is_ok()
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Appends an accepted payment to the queue; returns once Redis has it.
    ///
    /// # Errors
    /// [`StoreError`]; with `Redis(ConnectionLost)` the payment may or may not be queued.
    pub async fn enqueue(
        &self,
        payment: &PaymentRequest,
        accepted_at_ms: i64,
    ) -> Result<(), StoreError> {
        let mut value = [0u8; QUEUED_BYTES_MAX];
        let length = encode_queued(&mut value, payment, accepted_at_ms);
        match self.client.request(&[b"LPUSH", QUEUE_KEY, &value[..length]]).await? {
            Reply::Integer(_) => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Appends an accepted payment to the queue if Redis runs the push by `cutoff_ms` (see
    /// [`ENQUEUE_SCRIPT`]).
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
        let mut value = [0u8; QUEUED_BYTES_MAX];
        let length = encode_queued(&mut value, payment, accepted_at_ms);
        let mut cutoff = itoa::Buffer::new();
        let reply = self
            .client
            .eval(
                ENQUEUE_SCRIPT_INDEX,
                &[QUEUE_KEY],
                &[&value[..length], digits(&mut cutoff, cutoff_ms)],
            )
            .await?;
        match reply {
            Reply::Integer(-1) => Ok(false),
            Reply::Integer(length) if length > 0 => Ok(true),
            other => Err(unexpected(&other)),
        }
    }

    /// Withdraws a payment whose enqueue was never confirmed (see [`CANCEL_SCRIPT`]).
    ///
    /// # Returns
    /// `true` if withdrawn (it will never be paid), `false` if a worker had already taken it.
    ///
    /// # Errors
    /// [`StoreError`]; withdrawing is idempotent, so the caller retries until it gets an answer.
    pub async fn cancel(&self, correlation_id: &CorrelationId) -> Result<bool, StoreError> {
        let reply = self
            .client
            .eval(CANCEL_SCRIPT_INDEX, &[SEEN_KEY], &[correlation_id.as_bytes()])
            .await?;
        match reply {
            Reply::Integer(withdrawn) => Ok(withdrawn == 1),
            other => Err(unexpected(&other)),
        }
    }

    /// Takes up to `count` payments for a first attempt on `processor` at `requested_at_ms`,
    /// moving them to `processing_key` (see [`TAKE_SCRIPT`]).
    ///
    /// If the connection fails before the reply arrives, the call may have run: this waits for
    /// Redis to answer again and reads the thread's take key, so `out` gets exactly what the call
    /// took (see [`Store::take_lost`]).
    ///
    /// # Errors
    /// [`StoreError`]; nothing was taken when the error is `Redis(Unavailable)` (not sent).
    pub async fn take(
        &self,
        processing_key: &[u8],
        count: usize,
        processor: Processor,
        requested_at_ms: i64,
        accepted_by_ms: Option<i64>,
        out: &mut Vec<TakenPayment>,
    ) -> Result<(), StoreError> {
        let (mut count_digits, mut at_digits) = (itoa::Buffer::new(), itoa::Buffer::new());
        let mut cutoff_digits = itoa::Buffer::new();
        let cutoff: &[u8] = match accepted_by_ms {
            Some(cutoff) => digits(&mut cutoff_digits, cutoff),
            None => b"-",
        };
        let take_key = take_key(processing_key);
        let mut ticket = [0u8; TICKET_BYTES_MAX];
        let ticket = self.next_ticket(&mut ticket);
        let reply = self
            .client
            .eval(
                TAKE_SCRIPT_INDEX,
                &[QUEUE_KEY, SEEN_KEY, processing_key, &take_key],
                &[
                    digits(&mut count_digits, count),
                    &[processor.code()],
                    digits(&mut at_digits, requested_at_ms),
                    cutoff,
                    ticket,
                ],
            )
            .await;
        let reply = match reply {
            Ok(reply) => reply,
            Err(RedisError::ConnectionLost) => {
                return self.take_lost(&take_key, ticket, processor, requested_at_ms, out).await
            }
            Err(error) => return Err(error.into()),
        };
        let Reply::Array(values) = reply else { return Err(unexpected(&reply)) };
        for value in &values {
            let Reply::BulkString(bytes) = value else { return Err(unexpected(value)) };
            let (payment, accepted_at_ms) =
                decode_queued(bytes).ok_or_else(|| unexpected(value))?;
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
    /// restarting), then reads the take key. If it holds this call's ticket, the call ran and
    /// its payments are pushed to `out`; otherwise the call never ran (or Redis lost it along
    /// with its effects, which are one atomic unit in the AOF), and nothing was taken.
    ///
    /// # Errors
    /// [`StoreError::UnexpectedReply`] for a take key this code did not write.
    async fn take_lost(
        &self,
        take_key: &[u8],
        ticket: &[u8],
        processor: Processor,
        requested_at_ms: i64,
        out: &mut Vec<TakenPayment>,
    ) -> Result<(), StoreError> {
        // Bounded per round; the loop itself ends only when Redis answers: until then the
        // worker can take nothing anyway.
        let mut rounds: u64 = 0;
        let value = loop {
            rounds += 1;
            if rounds.is_multiple_of(10) {
                log::warn!("a take's reply was lost; still waiting for redis");
            }
            if self.client.wait_connected(std::time::Duration::from_secs(1)).await.is_err() {
                continue;
            }
            match self.client.request(&[b"GET", take_key]).await {
                Ok(Reply::BulkString(value)) => break Some(value),
                Ok(Reply::Null) => break None,
                Ok(other) => return Err(unexpected(&other)),
                Err(_) => continue,
            }
        };
        let Some(value) = value else { return Ok(()) };
        let Some(values) = value.strip_prefix(ticket).and_then(|rest| rest.strip_prefix(b"|"))
        else {
            return Ok(());
        };
        for bytes in values.split(|byte| *byte == b',') {
            let (payment, accepted_at_ms) = decode_queued(bytes).ok_or_else(|| {
                StoreError::UnexpectedReply(format!("{:?}", bytes.escape_ascii()))
            })?;
            out.push(TakenPayment { payment, processor, requested_at_ms, accepted_at_ms });
        }
        log::info!("a take's reply was lost; its ticket says it took {} payments", out.len());
        Ok(())
    }

    /// Stamps a payment in the processing hash for a new attempt (after a definitive refusal,
    /// the processor or `requestedAt` may change). Must complete before the attempt is sent.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn stamp(
        &self,
        processing_key: &[u8],
        taken: &TakenPayment,
    ) -> Result<(), StoreError> {
        let value = encode_processing(taken);
        let id = taken.payment.correlation_id;
        match self.client.request(&[b"HSET", processing_key, id.as_bytes(), &value]).await? {
            Reply::Integer(_) => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Records a payment that `taken.processor` has (answered 200 or 422) and settles it.
    ///
    /// # Returns
    /// Whether this call added it (false: it was recorded before).
    ///
    /// # Errors
    /// [`StoreError`]; recording is idempotent, so the caller retries until it succeeds.
    pub async fn record(
        &self,
        processing_key: &[u8],
        taken: &TakenPayment,
    ) -> Result<bool, StoreError> {
        let mut packed = Vec::with_capacity(RECORD_ENTRY_BYTES_MAX);
        pack_record(&mut packed, taken);
        self.record_packed(processing_key, &packed).await.map(|added| added == 1)
    }

    /// Records a batch packed by [`pack_record`] in one script call.
    ///
    /// # Returns
    /// How many of the batch were added (the others were recorded before).
    ///
    /// # Errors
    /// [`StoreError`]; recording is idempotent, so the caller retries the whole batch.
    pub async fn record_packed(
        &self,
        processing_key: &[u8],
        packed: &[u8],
    ) -> Result<u64, StoreError> {
        let reply = self
            .client
            .eval(RECORD_SCRIPT_INDEX, &[processing_key, SECONDS_KEY], &[packed])
            .await?;
        match reply {
            Reply::Integer(added) if added >= 0 => Ok(added as u64),
            other => Err(unexpected(&other)),
        }
    }

    /// Moves a payment that no processor has (every attempt was definitely refused, or an
    /// ambiguous one has settled as absent) from the processing hash back to the old end of the
    /// queue (see [`REQUEUE_SCRIPT`]).
    ///
    /// # Errors
    /// [`StoreError`]; the move is atomic and conditional on the processing entry, so repeating
    /// it after a lost reply is harmless.
    pub async fn requeue(
        &self,
        processing_key: &[u8],
        taken: &TakenPayment,
    ) -> Result<(), StoreError> {
        let mut value = [0u8; QUEUED_BYTES_MAX];
        let length = encode_queued(&mut value, &taken.payment, taken.accepted_at_ms);
        let reply = self
            .client
            .eval(
                REQUEUE_SCRIPT_INDEX,
                &[QUEUE_KEY, SEEN_KEY, processing_key],
                &[
                    taken.payment.correlation_id.as_bytes(),
                    &value[..length],
                    &encode_processing(taken),
                ],
            )
            .await?;
        match reply {
            Reply::Integer(_) => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// The processing hash after a crash: every payment taken and not settled, with the
    /// processor and `requestedAt` of its last stamped attempt.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn recover(&self, processing_key: &[u8]) -> Result<Vec<TakenPayment>, StoreError> {
        let reply = self.client.request(&[b"HGETALL", processing_key]).await?;
        let Reply::Array(fields) = reply else { return Err(unexpected(&reply)) };
        let mut recovered = Vec::with_capacity(fields.len() / 2);
        for pair in fields.chunks(2) {
            let [Reply::BulkString(id), Reply::BulkString(value)] = pair else {
                return Err(StoreError::UnexpectedReply(format!("{pair:?}")));
            };
            let taken = decode_processing(id, value)
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
        let from: &[u8] = match from_ms {
            Some(from) => digits(&mut from_digits, from),
            None => b"-",
        };
        let to: &[u8] = match to_ms {
            Some(to) => digits(&mut to_digits, to),
            None => b"-",
        };
        let reply = self.client.eval(SUMMARY_SCRIPT_INDEX, &[SECONDS_KEY], &[from, to]).await?;
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
        let reply =
            self.client.eval(PURGE_SCRIPT_INDEX, &[QUEUE_KEY, SEEN_KEY, SECONDS_KEY], &[]).await?;
        match reply {
            Reply::Integer(_) => Ok(()),
            other => Err(unexpected(&other)),
        }
    }
}

/// Longest packed record entry: id, code, two numbers of at most 20 digits, separators.
pub const RECORD_ENTRY_BYTES_MAX: usize = CORRELATION_ID_BYTES + 2 + 20 + 1 + 20 + 2;

/// Appends `<id>:<d|f>:<requestedAt ms>:<cents>;` for [`Store::record_packed`].
pub fn pack_record(out: &mut Vec<u8>, taken: &TakenPayment) {
    out.extend_from_slice(taken.payment.correlation_id.as_bytes());
    out.extend_from_slice(&[b':', taken.processor.code(), b':']);
    out.extend_from_slice(itoa::Buffer::new().format(taken.requested_at_ms).as_bytes());
    out.push(b':');
    out.extend_from_slice(itoa::Buffer::new().format(taken.payment.amount_cents).as_bytes());
    out.push(b';');
}

/// Longest queue entry: id, two colons, cents and a timestamp of at most 20 digits each.
pub const QUEUED_BYTES_MAX: usize = CORRELATION_ID_BYTES + 2 + 20 + 20;

/// Writes `<correlationId>:<cents>:<accepted at ms>` into `out`; returns its length.
pub fn encode_queued(
    out: &mut [u8; QUEUED_BYTES_MAX],
    payment: &PaymentRequest,
    accepted_at_ms: i64,
) -> usize {
    assert!(accepted_at_ms >= 0);
    out[..CORRELATION_ID_BYTES].copy_from_slice(payment.correlation_id.as_bytes());
    let mut end = CORRELATION_ID_BYTES;
    for number in [payment.amount_cents, accepted_at_ms as u64] {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(number).as_bytes();
        out[end] = b':';
        out[end + 1..end + 1 + digits.len()].copy_from_slice(digits);
        end += 1 + digits.len();
    }
    end
}

/// Reads `<correlationId>:<cents>:<accepted at ms>`.
pub fn decode_queued(value: &[u8]) -> Option<(PaymentRequest, i64)> {
    if value.len() < CORRELATION_ID_BYTES + 4 || value[CORRELATION_ID_BYTES] != b':' {
        return None;
    }
    let correlation_id = CorrelationId::parse(&value[..CORRELATION_ID_BYTES]).ok()?;
    let mut fields = value[CORRELATION_ID_BYTES + 1..].split(|byte| *byte == b':');
    let amount_cents = u64::try_from(parse_decimal(fields.next()?)?).ok()?;
    let accepted_at_ms = parse_decimal(fields.next()?)?;
    if fields.next().is_some() {
        return None;
    }
    Some((PaymentRequest { correlation_id, amount_cents }, accepted_at_ms))
}

/// Writes a processing entry's value: `<cents>:<d|f>:<requestedAt ms>:<accepted at ms>`, exactly
/// as TAKE writes it.
pub fn encode_processing(taken: &TakenPayment) -> Vec<u8> {
    let mut value = Vec::with_capacity(64);
    value.extend_from_slice(itoa::Buffer::new().format(taken.payment.amount_cents).as_bytes());
    value.extend_from_slice(&[b':', taken.processor.code(), b':']);
    value.extend_from_slice(itoa::Buffer::new().format(taken.requested_at_ms).as_bytes());
    value.push(b':');
    value.extend_from_slice(itoa::Buffer::new().format(taken.accepted_at_ms).as_bytes());
    value
}

/// Reads a processing entry: id and `<cents>:<d|f>:<requestedAt ms>:<accepted at ms>`.
pub fn decode_processing(id: &[u8], value: &[u8]) -> Option<TakenPayment> {
    let correlation_id = CorrelationId::parse(id).ok()?;
    let mut fields = value.split(|byte| *byte == b':');
    let amount_cents = u64::try_from(parse_decimal(fields.next()?)?).ok()?;
    let processor = match fields.next()? {
        [code] => Processor::from_code(*code)?,
        _ => return None,
    };
    let requested_at_ms = parse_decimal(fields.next()?)?;
    let accepted_at_ms = parse_decimal(fields.next()?)?;
    if fields.next().is_some() {
        return None;
    }
    Some(TakenPayment {
        payment: PaymentRequest { correlation_id, amount_cents },
        processor,
        requested_at_ms,
        accepted_at_ms,
    })
}

/// At most 18 digits, the codecs' documented bound (every 18-digit number fits in an `i64`).
fn parse_decimal(text: &[u8]) -> Option<i64> {
    if text.len() > 18 {
        return None;
    }
    i64::try_from(crate::number::parse_digits(text)?).ok()
}
