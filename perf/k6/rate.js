// Fixed-rate load for perf/bench.sh, perf/profile.sh and perf/aof-cost.sh: POST /payments at RATE
// per second (default 600, the contest's peak) for DURATION_S seconds, open model
// (constant-arrival-rate, lib.js's rateOptions), so a slow server gets more concurrent requests
// instead of fewer.
//
// Environment: BACKEND_URL (http://127.0.0.1:9999), RATE (600), DURATION_S (20), VUS (300,
// preallocated), VUS_MAX (1200), PURGE=1 (purge backend and simulators in setup), DEFAULT_URL,
// FALLBACK_URL (for PURGE), RESULTS_FILE (JSON: latency of accepted requests, counts).
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import * as lib from './lib.js';

const RATE = Number(__ENV.RATE || 600);
const DURATION_S = Number(__ENV.DURATION_S || 20);

const accepted = new Counter('payments_accepted');
const refused = new Counter('payments_refused');

export const options = lib.rateOptions({ rate: RATE, durationS: DURATION_S, vusMax: 1200 });

export function setup() {
  if (__ENV.PURGE !== '1') return;
  const admin = { headers: { 'X-Rinha-Token': __ENV.TOKEN || '123' } };
  for (const url of [lib.DEFAULT_URL, lib.FALLBACK_URL]) {
    http.post(`${url}/admin/purge-payments`, null, admin);
  }
  http.post(`${lib.BACKEND_URL}/purge-payments`);
}

export default function () {
  (lib.postPayment(19.9).accepted ? accepted : refused).add(1);
}

export function handleSummary(data) {
  const latency = (stat) => lib.trendValue(data, 'payment_accepted_duration', stat);
  const result = {
    rate: RATE,
    duration_s: DURATION_S,
    accepted: lib.metricCount(data, 'payments_accepted'),
    refused: lib.metricCount(data, 'payments_refused'),
    dropped_iterations: lib.metricCount(data, 'dropped_iterations'),
    p50_ms: latency('p(50)'),
    p90_ms: latency('p(90)'),
    p99_ms: latency('p(99)'),
    max_ms: latency('max'),
  };
  const line =
    `rate ${RATE}/s for ${DURATION_S} s: accepted ${result.accepted}, refused ` +
    `${result.refused}, dropped ${result.dropped_iterations}, ` +
    `p50 ${Number(result.p50_ms).toFixed(3)} ms, ` +
    `p99 ${Number(result.p99_ms).toFixed(3)} ms, max ${Number(result.max_ms).toFixed(3)} ms\n`;
  return lib.rateSummary(line, result);
}
