//! The Lua scripts, addressed by name.
//!
//! Every connection loads [`SCRIPTS`] when it connects (`redis::Client::start`), and a script is
//! then run by its [`Script`], whose discriminant is its place in [`SCRIPTS`]: the order is that of
//! [`Script::ALL`], built here and checked at compile time, so no index is kept in step by hand.
//!
//! The scripts read and write the layouts of `store::codec` through the Lua codec functions spliced
//! in from there, and build the keys they cannot be passed from the prefixes of `store::keys`.

use super::{
    codec::{
        lua_ledger_entry, lua_processing_entry, lua_queue_entry, lua_record_entry, lua_take_record,
    },
    keys::{ledger_prefix, malformed_key},
};

/// A script of the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Script {
    /// `(queue; entry, cutoff)`: pushes a queue entry unless Redis runs this past the cutoff.
    Enqueue,
    /// `(seen; id)`: withdraws a payment the API could not confirm.
    Cancel,
    /// `(queue, seen, processing, take; n, processor, requestedAt, cutoff, ticket)`: moves payments
    /// from the queue to a processing hash.
    Take,
    /// `(processing, seconds; batch)`: records paid payments in the ledger, once each.
    Record,
    /// `(queue, seen, processing; id, queue entry, processing entry)`: puts a payment no processor
    /// has back in the queue.
    Requeue,
    /// `(seconds; from, to)`: sums the ledger over a window.
    Summary,
    /// `(queue, seen, seconds)`: deletes the queue, the seen set and the ledger.
    Purge,
}

impl Script {
    /// Every script, in the order of [`SCRIPTS`].
    pub(crate) const ALL: [Script; 7] = [
        Script::Enqueue,
        Script::Cancel,
        Script::Take,
        Script::Record,
        Script::Requeue,
        Script::Summary,
        Script::Purge,
    ];

    /// Its place in [`SCRIPTS`], for `redis::Client::eval`.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// Its Lua source.
    pub(crate) const fn source(self) -> &'static str {
        match self {
            Script::Enqueue => ENQUEUE,
            Script::Cancel => CANCEL,
            Script::Take => TAKE,
            Script::Record => RECORD,
            Script::Requeue => REQUEUE,
            Script::Summary => SUMMARY,
            Script::Purge => PURGE,
        }
    }
}

const SOURCES: [&str; Script::ALL.len()] = {
    let mut sources = [""; Script::ALL.len()];
    let mut index = 0;
    while index < Script::ALL.len() {
        // A script's discriminant is its place in ALL, so `index()` addresses SCRIPTS.
        assert!(Script::ALL[index].index() == index);
        sources[index] = Script::ALL[index].source();
        index += 1;
    }
    sources
};

/// The scripts every connection loads, indexed by `Script::index`.
pub const SCRIPTS: &[&str] = &SOURCES;

/// Pushes a queue entry (`ARGV[1]`) only if Redis runs this before the cutoff `ARGV[2]` (Unix ms,
/// by Redis's clock: the same host clock as the API's in the contest stack). A push that waited in
/// a stalled Redis until its client was answered `503` must not land: Redis may run a
/// connection's backlog over several event-loop turns, with other clients' commands (a worker's
/// TAKE) in between, so a withdrawal queued behind it could come too late. Returns the queue
/// length, or `-1` when too late (nothing pushed).
const ENQUEUE: &str = r#"
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if now_ms > tonumber(ARGV[2]) then return -1 end
return redis.call('LPUSH', KEYS[1], ARGV[1])
"#;

/// Withdraws a payment whose push may have run but was never confirmed to the client (the API
/// answered `503`): marks its id as taken unless a TAKE already took it, so that a queued copy is
/// dropped by TAKE instead of being paid. `1`: withdrawn (no processor will get it); `0`: a TAKE
/// already took it and it will be paid.
const CANCEL: &str = r#"
if redis.call('HSETNX', KEYS[1], ARGV[1], 'c') == 1 then return 1 end
-- A repeated call after a lost reply finds its own mark.
if redis.call('HGET', KEYS[1], ARGV[1]) == 'c' then return 1 end
return 0
"#;

/// Pops up to `n` queue entries (oldest first, and only those accepted at or before `ARGV[4]`
/// unless it is `-`), drops ids already in `seen`, and moves the rest into the worker thread's
/// processing hash stamped with the processor and `requestedAt` of their first attempt, all in
/// one atomic step: a payment is always either in the queue or in a processing hash, never only
/// in memory.
///
/// A call that took something also writes the take record `<ticket ARGV[5]>|<entry>,<entry>...`
/// to the thread's take key (`KEYS[4]`): if the connection fails before the reply arrives, the
/// worker reads that key once Redis answers again and settles what the call took.
///
/// Commands per call, not per payment, wherever the batch allows: one `RPOP` with a count (after
/// one `LRANGE` to find the cutoff, when there is one), one `HSETNX` per payment (the duplicate
/// check), one `HSET` of every processing entry and one `SET` of the take record.
const TAKE: &str = concat!(
    lua_queue_entry!(),
    lua_processing_entry!(),
    lua_take_record!(),
    r#"
local n = tonumber(ARGV[1])
local cutoff = ARGV[4] ~= '-' and tonumber(ARGV[4]) or nil
if cutoff then
  -- The oldest n, oldest last; take those accepted by the cutoff, up to the first that is not.
  local oldest = redis.call('LRANGE', KEYS[1], -n, -1)
  local eligible = 0
  for i = #oldest, 1, -1 do
    local _, _, accepted = decode_queue_entry(oldest[i])
    if accepted and tonumber(accepted) > cutoff then break end
    eligible = eligible + 1
  end
  n = eligible
end
if n == 0 then return {} end
local popped = redis.call('RPOP', KEYS[1], n)
if not popped then return {} end
local out, fields = {}, {}
for _, entry in ipairs(popped) do
  local id = decode_queue_entry(entry)
  if not id then
    -- Never written by this code; kept aside for a human rather than blocking the queue.
    redis.call('LPUSH', '"#,
    malformed_key!(),
    r#"', entry)
  elseif redis.call('HSETNX', KEYS[2], id, '1') == 1 then
    local rest = string.sub(entry, QUEUE_ENTRY_REST)
    fields[#fields + 1] = id
    fields[#fields + 1] = encode_processing_entry(rest, ARGV[2], ARGV[3])
    out[#out + 1] = entry
  end
end
if #out > 0 then
  redis.call('HSET', KEYS[3], unpack(fields))
  redis.call('SET', KEYS[4], encode_take_record(ARGV[5], out))
end
return out
"#
);

/// Records paid payments, each in the ledger hash of its `requestedAt` second, once (a second
/// record of the same id changes nothing), and removes them from the processing hash. `ARGV[1]`
/// is a batch of record entries: one script call for a batch costs Redis far less than one per
/// payment, and Redis is the hot path's shared resource. A batch this code did not write is
/// refused whole, before anything is written.
///
/// Only the `HSETNX` that makes recording idempotent is per payment. The totals of each second
/// and processor are summed in the script and added with one `HINCRBY` each; the second goes into
/// `seconds` when the first entry of either processor lands in its hash (the count added equals
/// the count now), which is the only time it can be missing; the processing entries go in one
/// `HDEL`.
const RECORD: &str = concat!(
    lua_record_entry!(),
    lua_ledger_entry!(),
    r#"
local entries = decode_record_batch(ARGV[1])
if not entries then return redis.error_reply('malformed record batch') end
local added, ids = 0, {}
-- Per second, in the order first seen: {second, {d = {count, cents}, f = {count, cents}}}.
local seconds, sums = {}, {}
for _, entry in ipairs(entries) do
  local id, cents, processor, at = entry[1], entry[2], entry[3], entry[4]
  local second = math.floor(at / 1000)
  local key = '"#,
    ledger_prefix!(),
    r#"' .. string.format('%d', second)
  if redis.call('HSETNX', key, id, encode_ledger_entry(cents, processor, at - second * 1000)) == 1 then
    local second_sums = sums[key]
    if not second_sums then
      second_sums = {d = {0, 0}, f = {0, 0}}
      sums[key] = second_sums
      seconds[#seconds + 1] = {key, second}
    end
    local processor_sums = second_sums[processor]
    processor_sums[1] = processor_sums[1] + 1
    processor_sums[2] = processor_sums[2] + tonumber(cents)
    added = added + 1
  end
  ids[#ids + 1] = id
end
for _, pair in ipairs(seconds) do
  local key, second = pair[1], pair[2]
  for _, processor in ipairs({'d', 'f'}) do
    local processor_sums = sums[key][processor]
    if processor_sums[1] > 0 then
      -- '%d': plain digits for HINCRBY, whatever Redis's conversion of a Lua number to text.
      local count = redis.call('HINCRBY', key, processor .. '#n', string.format('%d', processor_sums[1]))
      redis.call('HINCRBY', key, processor .. '#a', string.format('%d', processor_sums[2]))
      if count == processor_sums[1] then
        redis.call('ZADD', KEYS[2], second, string.format('%d', second))
      end
    end
  end
end
if #ids > 0 then redis.call('HDEL', KEYS[1], unpack(ids)) end
return added
"#
);

/// Puts a payment that no processor has back at the old end of the queue, with its acceptance
/// time, and forgets that it was taken, in one atomic step: the payment moves from the processing
/// hash to the queue without ever being in neither. The dispatcher then routes it like any other
/// queued payment, so a held payment waits in Redis, not in a polling task.
///
/// It acts only if the processing entry is still the attempt the caller knows (`ARGV[3]`), so a
/// retry after a lost reply cannot queue a payment that was already requeued and taken again.
const REQUEUE: &str = r#"
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[1], ARGV[2])
return 1
"#;

/// Sums the ledger for `from <= requestedAt <= to` (milliseconds, `-` for unbounded): whole
/// seconds from their totals, the two edge seconds entry by entry.
const SUMMARY: &str = concat!(
    lua_ledger_entry!(),
    r#"
local from_ms, to_ms
local low, high = '-inf', '+inf'
if ARGV[1] ~= '-' then from_ms = tonumber(ARGV[1]); low = math.floor(from_ms / 1000) end
if ARGV[2] ~= '-' then to_ms = tonumber(ARGV[2]); high = math.floor(to_ms / 1000) end
local totals = {d = {0, 0}, f = {0, 0}}
if from_ms and to_ms and from_ms > to_ms then return {0, 0, 0, 0} end
for _, second in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], low, high)) do
  local key = '"#,
    ledger_prefix!(),
    r#"' .. second
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
      -- The totals' fields are short; every other field is an id.
      if string.len(all[i]) == 36 then
        local cents, processor, millisecond = decode_ledger_entry(all[i + 1])
        local at = base + millisecond
        if (not from_ms or at >= from_ms) and (not to_ms or at <= to_ms) then
          local sums = totals[processor]
          sums[1] = sums[1] + 1
          sums[2] = sums[2] + cents
        end
      end
    end
  end
end
return {totals.d[1], totals.d[2], totals.f[1], totals.f[2]}
"#
);

/// Deletes the queue, the seen set and the whole ledger.
const PURGE: &str = concat!(
    r#"
for _, second in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  redis.call('DEL', '"#,
    ledger_prefix!(),
    r#"' .. second)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 1
"#
);
