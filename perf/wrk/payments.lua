-- wrk script for perf/ceiling.sh: POST /payments with a unique correlationId each, paced to a
-- constant rate. wrk is closed-loop (a connection sends its next request only after the answer);
-- here each thread keeps one schedule of send times, 1/rate apart, and delay() hands the next slot
-- to whichever connection asks, so with enough idle connections the arrivals stay on the schedule
-- whatever the latency (an open model, as long as connections > rate x latency). A slot that is
-- already past is sent at once: after a stall the thread catches up, as an open-loop client would.
--
-- Arguments (after `--`): RATE_PER_THREAD NONCE. NONCE (8 hex digits) keeps runs' ids apart.
-- The id is `<nonce>-<thread, 4 hex>-4000-8000-<counter, 12 hex>`: a valid UUID shape (version 4,
-- variant 8), unique across threads and runs.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } rinha_timespec;
int clock_gettime(int clock_id, rinha_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local now_spec = ffi.new("rinha_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_spec)
  return tonumber(now_spec.tv_sec) * 1000 + tonumber(now_spec.tv_nsec) / 1e6
end

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_number", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local interval_ms, nonce, counter, next_ms, prefix
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  local rate = tonumber(args[1])
  assert(rate and rate > 0, "payments.lua: RATE_PER_THREAD must be a positive number")
  interval_ms = 1000 / rate
  nonce = args[2] or "00000000"
  assert(#nonce == 8, "payments.lua: NONCE must be 8 hex digits")
  prefix = string.format("%s-%04x-4", nonce, thread_number)
  counter = 0
  next_ms = nil
end

function delay()
  local now = now_ms()
  if next_ms == nil then next_ms = now end
  next_ms = next_ms + interval_ms
  local wait = next_ms - now
  if wait < 0 then return 0 end
  return wait
end

function request()
  counter = counter + 1
  local id = string.format("%s000-8000-%012x", prefix, counter)
  local body = '{"correlationId":"' .. id .. '","amount":19.90}'
  return wrk.format("POST", "/payments", headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"duration_us":%d,"requests":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.duration, summary.requests, summary.bytes, errors.connect, errors.read,
    errors.write, errors.status, errors.timeout, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max,
    latency.mean))
end
