// Fixed-rate load for perf/bench.sh and perf/profile.sh: POST /payments at RATE per second
// (default 600, the contest's peak) for DURATION_S seconds, open model (constant-arrival-rate), so
// a slow server gets more concurrent requests instead of fewer.
//
// Environment: BACKEND_URL (http://127.0.0.1:9999), RATE (600), DURATION_S (20), VUS (300,
// preallocated), VUS_MAX (1200), PURGE=1 (purge backend and simulators in setup), DEFAULT_URL,
// FALLBACK_URL (for PURGE), RESULTS_FILE (JSON: latency of accepted requests, counts).
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import { uuidv4, BACKEND_URL, DEFAULT_URL, FALLBACK_URL } from './lib.js';

const RATE = Number(__ENV.RATE || 600);
const DURATION_S = Number(__ENV.DURATION_S || 20);
const ACCEPTED_STATUSES = [200, 201, 202, 204];

const accepted = new Counter('payments_accepted');
const refused = new Counter('payments_refused');
const acceptedDuration = new Trend('payment_accepted_duration', true);

export const options = {
  summaryTrendStats: ['avg', 'p(50)', 'p(90)', 'p(99)', 'max', 'count'],
  scenarios: {
    payments: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: `${DURATION_S}s`,
      preAllocatedVUs: Number(__ENV.VUS || 300),
      maxVUs: Number(__ENV.VUS_MAX || 1200),
    },
  },
};

export function setup() {
  if (__ENV.PURGE !== '1') return;
  const admin = { headers: { 'X-Rinha-Token': __ENV.TOKEN || '123' } };
  for (const url of [DEFAULT_URL, FALLBACK_URL]) {
    http.post(`${url}/admin/purge-payments`, null, admin);
  }
  http.post(`${BACKEND_URL}/purge-payments`);
}

export default function () {
  const response = http.post(
    `${BACKEND_URL}/payments`,
    JSON.stringify({ correlationId: uuidv4(), amount: 19.9 }),
    { headers: { 'Content-Type': 'application/json' }, timeout: '1500ms' },
  );
  if (ACCEPTED_STATUSES.includes(response.status)) {
    accepted.add(1);
    acceptedDuration.add(response.timings.duration);
  } else {
    refused.add(1);
  }
}

export function handleSummary(data) {
  const trend = data.metrics.payment_accepted_duration;
  const values = trend ? trend.values : {};
  const count = (name) => (data.metrics[name] ? data.metrics[name].values.count : 0);
  const result = {
    rate: RATE,
    duration_s: DURATION_S,
    accepted: count('payments_accepted'),
    refused: count('payments_refused'),
    dropped_iterations: count('dropped_iterations'),
    p50_ms: values['p(50)'],
    p90_ms: values['p(90)'],
    p99_ms: values['p(99)'],
    max_ms: values.max,
  };
  const line =
    `rate ${RATE}/s for ${DURATION_S} s: accepted ${result.accepted}, refused ` +
    `${result.refused}, dropped ${result.dropped_iterations}, ` +
    `p50 ${Number(result.p50_ms).toFixed(3)} ms, ` +
    `p99 ${Number(result.p99_ms).toFixed(3)} ms, max ${Number(result.max_ms).toFixed(3)} ms\n`;
  const output = { stdout: line };
  if (__ENV.RESULTS_FILE) output[__ENV.RESULTS_FILE] = JSON.stringify(result, null, 2);
  return output;
}
