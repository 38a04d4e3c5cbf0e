// Steady load for perf/faults.sh: POST /payments at RATE per second for DURATION_S seconds (open
// model, constant-arrival-rate), and, at the same time, the consistency audit every 250 ms.
//
// The audit compares the backend's GET /payments-summary with both processors' admin summaries
// over [now - 15 s, now - 1.5 s] (the preview's tighter margin). Only *answered* audits count: all
// three answered 200 within the client timeout. An audit the backend could not answer (it was
// down) is counted apart, because the contest's check would see the backend failing, not its
// books disagreeing.
//
// Every payment not accepted is logged as `FAILED <correlationId> <status>`, so perf/faults.sh can
// tell whether a processor has it anyway (paid though refused: negative lag).
//
// Environment: BACKEND_URL, DEFAULT_URL, FALLBACK_URL, TOKEN (123), RATE (400), DURATION_S (20),
// VUS (300), VUS_MAX (2000), RESULTS_FILE (JSON written by handleSummary).
import http from 'k6/http';
import { sleep } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import * as lib from './lib.js';

const RATE = Number(__ENV.RATE || 400);
const DURATION_S = Number(__ENV.DURATION_S || 20);
const TOKEN = __ENV.TOKEN || '123';
const CLIENT_TIMEOUT = '1500ms';
const AUDIT_INTERVAL_S = 0.25;
const AUDIT_WINDOW_START_MS = 15000;
const AUDIT_WINDOW_END_MS = 1500;

const accepted = new Counter('payments_accepted');
const failed = new Counter('payments_failed');
const auditsAnswered = new Counter('audits_answered');
const auditsUnanswered = new Counter('audits_unanswered');
const auditDifferences = new Counter('audit_differences');
const auditsDiffering = new Counter('audits_differing');

export const options = lib.rateOptions({
  rate: RATE,
  durationS: DURATION_S,
  vusMax: 2000,
  exec: 'pay',
  scenarios: {
    audit: { executor: 'constant-vus', vus: 1, duration: `${DURATION_S}s`, exec: 'audit' },
  },
});

export function pay() {
  const { correlationId, response, accepted: ok } = lib.postPayment(19.9);
  if (ok) {
    accepted.add(1);
  } else {
    failed.add(1);
    console.log(`FAILED ${correlationId} ${response.status}`);
  }
}

function count(response, path) {
  if (response.status !== 200) return null;
  try {
    const value = path(JSON.parse(response.body));
    return typeof value === 'number' ? value : null;
  } catch (error) {
    return null;
  }
}

export function audit() {
  const now = Date.now();
  const from = new Date(now - AUDIT_WINDOW_START_MS).toISOString();
  const to = new Date(now - AUDIT_WINDOW_END_MS).toISOString();
  const admin = { headers: { 'X-Rinha-Token': TOKEN }, timeout: CLIENT_TIMEOUT };
  const query = `from=${from}&to=${to}`;
  const [ofDefault, ofFallback, ofBackend] = http.batch([
    ['GET', `${lib.DEFAULT_URL}/admin/payments-summary?${query}`, null, admin],
    ['GET', `${lib.FALLBACK_URL}/admin/payments-summary?${query}`, null, admin],
    ['GET', `${lib.BACKEND_URL}/payments-summary?${query}`, null, { timeout: CLIENT_TIMEOUT }],
  ]);
  const counts = [
    count(ofDefault, (body) => body.totalRequests),
    count(ofFallback, (body) => body.totalRequests),
    count(ofBackend, (body) => body.default.totalRequests),
    count(ofBackend, (body) => body.fallback.totalRequests),
  ];
  if (counts.some((value) => value === null)) {
    auditsUnanswered.add(1);
  } else {
    const difference = Math.abs(counts[2] - counts[0]) + Math.abs(counts[3] - counts[1]);
    auditsAnswered.add(1);
    auditDifferences.add(difference);
    auditsDiffering.add(difference > 0 ? 1 : 0);
    if (difference > 0) {
      console.warn(
        `AUDIT difference ${difference} in [${from}, ${to}] at ${exec.instance.currentTestRunDuration} ms: ` +
          `backend ${counts[2]}/${counts[3]} vs processors ${counts[0]}/${counts[1]}`,
      );
    }
  }
  sleep(AUDIT_INTERVAL_S);
}

export function handleSummary(data) {
  const total = (name) => lib.metricCount(data, name);
  const latency = (stat) => {
    const value = lib.trendValue(data, 'payment_accepted_duration', stat);
    return Number.isNaN(value) ? null : value;
  };
  const result = {
    rate: RATE,
    duration_s: DURATION_S,
    accepted: total('payments_accepted'),
    failed: total('payments_failed'),
    dropped_iterations: total('dropped_iterations'),
    p50_ms: latency('p(50)'),
    p99_ms: latency('p(99)'),
    max_ms: latency('max'),
    audits_answered: total('audits_answered'),
    audits_unanswered: total('audits_unanswered'),
    audit_differences: total('audit_differences'),
    audits_differing: total('audits_differing'),
  };
  const line =
    `rate ${RATE}/s for ${DURATION_S} s: accepted ${result.accepted}, failed ${result.failed}, ` +
    `p99 ${Number(result.p99_ms).toFixed(2)} ms, audits ${result.audits_answered} answered ` +
    `(${result.audits_unanswered} unanswered), differences ${result.audit_differences}\n`;
  return lib.rateSummary(line, result);
}
