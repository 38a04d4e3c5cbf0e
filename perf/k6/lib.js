// Shared code of the contest load profiles (preview.js, final.js): scenarios, the consistency
// check, the stage driver and the score of shared/docs/rinha-2025.md, sections 5 and 6. The
// profiles themselves (amount, fees, windows) are perf/profiles.json. Also the pieces of the
// fixed-rate loads (rate.js, faults.js): their scenario, one payment, their summary output.
//
// Only k6 built-ins are imported: the test must run with no network but loopback.
//
// Environment (all optional):
//   BACKEND_URL  (http://127.0.0.1:9999)  DEFAULT_URL (http://127.0.0.1:8001)
//   FALLBACK_URL (http://127.0.0.1:8002)  TOKEN (admin token to install on the processors; 123)
//   DURATION_S, MAX_USERS (alias MAX_REQUESTS, as the official harness names it): override the
//   schedule's; AUDIT=1: consistency check every 250 ms instead of every 10 s;
//   RESULTS_DIR: where handleSummary writes its files (default: the working directory);
//   PARTICIPANT: the name written in the results JSON.

import http from 'k6/http';
import crypto from 'k6/crypto';
import exec from 'k6/execution';
import { sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';

const INITIAL_TOKEN = '123';
const CLIENT_TIMEOUT = '1500ms';
const ACCEPTED_STATUSES = [200, 201, 202, 204];
const CHECK_WINDOW_START_MS = 15000;
const CHECK_INTERVAL_S = 10;
const AUDIT_INTERVAL_S = 0.25;
const TREND_STATS = ['avg', 'p(50)', 'p(90)', 'p(99)', 'max', 'count'];
// The final test's end-of-run summary covers the last 360 s of a 300 s test: 60 s of margin.
const END_WINDOW_MARGIN_S = 60;

export const BACKEND_URL = __ENV.BACKEND_URL || 'http://127.0.0.1:9999';
export const DEFAULT_URL = __ENV.DEFAULT_URL || 'http://127.0.0.1:8001';
export const FALLBACK_URL = __ENV.FALLBACK_URL || 'http://127.0.0.1:8002';
const TOKEN = __ENV.TOKEN || INITIAL_TOKEN;
const AUDIT = ['1', 'true', 'yes'].includes(String(__ENV.AUDIT || '').toLowerCase());

const processors = { default: DEFAULT_URL, fallback: FALLBACK_URL };

// Metrics. handleSummary reads a counter that never received a value as 0.
const acceptedPayments = new Counter('transactions_success');
const failedPayments = new Counter('transactions_failure');
const inconsistencyCount = new Counter('payments_inconsistency');
const consistencyChecks = new Counter('consistency_checks');
const inconsistentChecks = new Counter('consistency_checks_inconsistent');
const paymentDuration = new Trend('payment_accepted_duration', true);
const endTotals = {
  defaultRequests: new Counter('default_total_requests'),
  defaultAmount: new Counter('default_total_amount'),
  defaultFee: new Counter('default_total_fee'),
  fallbackRequests: new Counter('fallback_total_requests'),
  fallbackAmount: new Counter('fallback_total_amount'),
  fallbackFee: new Counter('fallback_total_fee'),
  backendRequests: new Counter('backend_total_requests'),
  processorRequests: new Counter('processors_total_requests'),
};

/** A random (version 4) UUID from k6's crypto.randomBytes. */
export function uuidv4() {
  const bytes = new Uint8Array(crypto.randomBytes(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  let hex = '';
  for (let i = 0; i < 16; i++) {
    hex += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    if (i === 3 || i === 5 || i === 7 || i === 9) hex += '-';
  }
  return hex;
}

/** Round half away from zero to 2 places, as big.js's round(2) does for the official score. */
export function round2(value) {
  return (Math.sign(value) * Math.round(Math.abs(value) * 100 + 1e-9)) / 100;
}

function adminParams(name) {
  return {
    headers: { 'Content-Type': 'application/json', 'X-Rinha-Token': TOKEN },
    timeout: CLIENT_TIMEOUT,
    tags: { name },
  };
}

function backendParams(name) {
  return {
    headers: { 'Content-Type': 'application/json' },
    timeout: CLIENT_TIMEOUT,
    tags: { name },
  };
}

function parseJson(response, what) {
  if (response.status !== 200) {
    console.error(`${what}: HTTP ${response.status} ${response.error || ''}`);
    return null;
  }
  try {
    return JSON.parse(response.body);
  } catch (error) {
    console.error(`${what}: unreadable body ${String(response.body).slice(0, 200)}`);
    return null;
  }
}

function summaryQuery(fromIso, toIso) {
  return fromIso ? `?from=${fromIso}&to=${toIso}` : '';
}

function processorSummaryRequest(service, fromIso, toIso) {
  const url = `${processors[service]}/admin/payments-summary${summaryQuery(fromIso, toIso)}`;
  return ['GET', url, null, adminParams(`GET /admin/payments-summary (${service})`)];
}

function backendSummaryRequest(fromIso, toIso) {
  const url = `${BACKEND_URL}/payments-summary${summaryQuery(fromIso, toIso)}`;
  return ['GET', url, null, backendParams('GET /payments-summary')];
}

/**
 * The three summaries over [fromIso, toIso] (all time without bounds), read in one batch:
 * { ofDefault, ofFallback, ofBackend }, each empty when it did not answer (WHAT names it in the
 * error line).
 */
function readSummaries(fromIso, toIso, what) {
  const [defaultResponse, fallbackResponse, backendResponse] = http.batch([
    processorSummaryRequest('default', fromIso, toIso),
    processorSummaryRequest('fallback', fromIso, toIso),
    backendSummaryRequest(fromIso, toIso),
  ]);
  return {
    ofDefault:
      parseJson(defaultResponse, `${what}default admin summary`) || emptyProcessorSummary(),
    ofFallback:
      parseJson(fallbackResponse, `${what}fallback admin summary`) || emptyProcessorSummary(),
    ofBackend: parseJson(backendResponse, `${what}backend summary`) || emptyBackendSummary(),
  };
}

/**
 * One POST /payments of AMOUNT under a fresh id. `accepted` is the contest's success (200, 201,
 * 202 or 204); an accepted payment's duration goes into payment_accepted_duration.
 */
export function postPayment(amount) {
  const correlationId = uuidv4();
  const body = JSON.stringify({ correlationId, amount });
  const response = http.post(`${BACKEND_URL}/payments`, body, backendParams('POST /payments'));
  const accepted = ACCEPTED_STATUSES.includes(response.status);
  if (accepted) paymentDuration.add(response.timings.duration);
  return { correlationId, response, accepted };
}

/**
 * The options of a fixed-rate load (rate.js, faults.js): RATE POST /payments per second for
 * DURATION_S seconds, open model (constant-arrival-rate), so a slow server gets more concurrent
 * requests instead of fewer. VUS (300) are preallocated, VUS_MAX (vusMax) at most; `exec` names
 * the payment function when it is not the default export; `scenarios` are added beside it.
 */
export function rateOptions({ rate, durationS, vusMax, exec, scenarios = {} }) {
  const payments = {
    executor: 'constant-arrival-rate',
    rate,
    timeUnit: '1s',
    duration: `${durationS}s`,
    preAllocatedVUs: Number(__ENV.VUS || 300),
    maxVUs: Number(__ENV.VUS_MAX || vusMax),
  };
  if (exec) payments.exec = exec;
  return { summaryTrendStats: TREND_STATS, scenarios: { payments, ...scenarios } };
}

/** handleSummary's answer for a fixed-rate load: LINE on stdout, RESULT as JSON in RESULTS_FILE. */
export function rateSummary(line, result) {
  const output = { stdout: line };
  if (__ENV.RESULTS_FILE) output[__ENV.RESULTS_FILE] = JSON.stringify(result, null, 2);
  return output;
}

function emptyProcessorSummary() {
  return { totalRequests: 0, totalAmount: 0, totalFee: 0, feePerTransaction: 0 };
}

function emptyBackendSummary() {
  return {
    default: { totalRequests: 0, totalAmount: 0 },
    fallback: { totalRequests: 0, totalAmount: 0 },
  };
}

function applyProcessorConfig(service, config, why) {
  const delay = http.put(
    `${processors[service]}/admin/configurations/delay`,
    JSON.stringify({ delay: Number(config.delay || 0) }),
    adminParams('PUT /admin/configurations/delay'),
  );
  const failure = http.put(
    `${processors[service]}/admin/configurations/failure`,
    JSON.stringify({ failure: config.failure === true }),
    adminParams('PUT /admin/configurations/failure'),
  );
  if (delay.status !== 200 || failure.status !== 200) {
    exec.test.abort(
      `${why}: ${service} processor refused its configuration ` +
        `(delay HTTP ${delay.status}, failure HTTP ${failure.status})`,
    );
  }
}

/**
 * Read a schedule (JSON text, see perf/schedules/*.json) and apply the environment overrides.
 * Stages at or after the end of the run are dropped, so a short smoke run keeps its early stages.
 */
export function loadSchedule(scheduleText) {
  const schedule = JSON.parse(scheduleText);
  const durationS = Number(__ENV.DURATION_S || schedule.duration_s);
  const maxUsers = Number(__ENV.MAX_USERS || __ENV.MAX_REQUESTS || schedule.max_users);
  if (!(durationS > 0) || !(maxUsers >= 1)) {
    throw new Error(`bad schedule: duration_s=${durationS}, max_users=${maxUsers}`);
  }
  const stages = (schedule.stages || [])
    .filter((stage) => Number(stage.at_s) < durationS)
    .sort((a, b) => Number(a.at_s) - Number(b.at_s));
  return { name: schedule.name || 'custom', durationS, maxUsers, stages };
}

/**
 * Everything a profile script (preview.js, final.js) exports, for the profile NAME of
 * perf/profiles.json: its amount, fees, consistency window, end-of-test totals and results file,
 * written there once for k6 and for the shell side alike. SCHEDULE=/abs/path.json replaces the
 * profile's schedule. Must run in the init context (it calls open()).
 */
export function profileTest(name) {
  const entry = JSON.parse(open('../profiles.json'))[name];
  if (!entry) throw new Error(`no profile ${name} in perf/profiles.json`);
  const schedule = loadSchedule(open(__ENV.SCHEDULE || `../${entry.schedule}`));
  const profile = {
    name,
    amount: entry.amount,
    checkUpperMarginMs: entry.check_upper_margin_ms,
    endSummarySource: entry.end_summary_source,
    resultsFile: entry.results_file,
    fees: entry.fees,
  };
  return buildTest(profile, schedule);
}

/**
 * Build everything a profile script exports.
 * profile: { name: 'preview'|'final', amount, checkUpperMarginMs, endSummarySource:
 *            'backend'|'processors', resultsFile, fees: {default, fallback} }
 */
export function buildTest(profile, schedule) {
  const options = {
    summaryTrendStats: TREND_STATS,
    setupTimeout: '30s',
    teardownTimeout: '30s',
    scenarios: {
      payments: {
        exec: 'payments',
        executor: 'ramping-vus',
        startVUs: 1,
        gracefulRampDown: '0s',
        stages: [{ target: schedule.maxUsers, duration: `${schedule.durationS}s` }],
      },
      payments_consistency: {
        exec: 'checkConsistency',
        executor: 'constant-vus',
        vus: 1,
        duration: `${schedule.durationS}s`,
      },
    },
  };
  if (schedule.stages.length > 0) {
    options.scenarios.processor_stages = {
      exec: 'driveStages',
      executor: 'per-vu-iterations',
      vus: 1,
      iterations: 1,
      maxDuration: `${schedule.durationS + 5}s`,
    };
  }

  function setup() {
    for (const service of ['default', 'fallback']) {
      if (TOKEN !== INITIAL_TOKEN) {
        const response = http.put(
          `${processors[service]}/admin/configurations/token`,
          JSON.stringify({ token: TOKEN }),
          {
            headers: { 'Content-Type': 'application/json', 'X-Rinha-Token': INITIAL_TOKEN },
            timeout: CLIENT_TIMEOUT,
          },
        );
        if (response.status !== 204) {
          exec.test.abort(
            `setup: ${service} processor refused the token (HTTP ${response.status})`,
          );
        }
      }
      const purge = http.post(
        `${processors[service]}/admin/purge-payments`,
        null,
        adminParams('POST /admin/purge-payments'),
      );
      if (purge.status !== 200) {
        exec.test.abort(`setup: ${service} processor purge failed (HTTP ${purge.status})`);
      }
      applyProcessorConfig(service, { delay: 0, failure: false }, 'setup');
    }
    const purge = http.post(
      `${BACKEND_URL}/purge-payments`,
      null,
      backendParams('POST /purge-payments'),
    );
    if (purge.status !== 200) {
      console.warn(`setup: backend POST /purge-payments answered HTTP ${purge.status}`);
    }
    return { startedAtMs: Date.now() };
  }

  function payments() {
    const { accepted } = postPayment(profile.amount);
    acceptedPayments.add(accepted ? 1 : 0);
    failedPayments.add(accepted ? 0 : 1);
    sleep(1);
  }

  function checkConsistency() {
    const now = Date.now();
    const fromIso = new Date(now - CHECK_WINDOW_START_MS).toISOString();
    const toIso = new Date(now - profile.checkUpperMarginMs).toISOString();
    const { ofDefault, ofFallback, ofBackend } = readSummaries(fromIso, toIso, '');
    const inconsistencies =
      Math.abs(ofBackend.default.totalRequests - ofDefault.totalRequests) +
      Math.abs(ofBackend.fallback.totalRequests - ofFallback.totalRequests);
    inconsistencyCount.add(inconsistencies);
    consistencyChecks.add(1);
    inconsistentChecks.add(inconsistencies > 0 ? 1 : 0);
    if (inconsistencies > 0) {
      console.warn(
        `inconsistency ${inconsistencies} in [${fromIso}, ${toIso}]: ` +
          `default backend ${ofBackend.default.totalRequests} ` +
          `vs processor ${ofDefault.totalRequests}, ` +
          `fallback backend ${ofBackend.fallback.totalRequests} ` +
          `vs processor ${ofFallback.totalRequests}`,
      );
    }
    sleep(AUDIT ? AUDIT_INTERVAL_S : CHECK_INTERVAL_S);
  }

  function driveStages() {
    const startedAtMs = exec.scenario.startTime;
    for (const stage of schedule.stages) {
      const waitMs = startedAtMs + Number(stage.at_s) * 1000 - Date.now();
      if (waitMs > 0) sleep(waitMs / 1000);
      applyProcessorConfig('default', stage.default || {}, `stage at ${stage.at_s} s`);
      applyProcessorConfig('fallback', stage.fallback || {}, `stage at ${stage.at_s} s`);
      console.log(
        `stage at ${stage.at_s} s: default ${JSON.stringify(stage.default)}, ` +
          `fallback ${JSON.stringify(stage.fallback)}`,
      );
    }
  }

  function teardown() {
    const toIso = new Date().toISOString();
    const fromIso = new Date(
      Date.now() - (schedule.durationS + END_WINDOW_MARGIN_S) * 1000,
    ).toISOString();
    const { ofDefault, ofFallback, ofBackend } = readSummaries(fromIso, toIso, 'end: ');
    const defaultFeeRate = Number(ofDefault.feePerTransaction) || profile.fees.default;
    const fallbackFeeRate = Number(ofFallback.feePerTransaction) || profile.fees.fallback;
    // Final: the processors' books. Preview: what the backend says it paid.
    const source =
      profile.endSummarySource === 'backend'
        ? { default: ofBackend.default, fallback: ofBackend.fallback }
        : { default: ofDefault, fallback: ofFallback };
    endTotals.defaultRequests.add(Number(source.default.totalRequests));
    endTotals.defaultAmount.add(Number(source.default.totalAmount));
    endTotals.defaultFee.add(defaultFeeRate * Number(source.default.totalAmount));
    endTotals.fallbackRequests.add(Number(source.fallback.totalRequests));
    endTotals.fallbackAmount.add(Number(source.fallback.totalAmount));
    endTotals.fallbackFee.add(fallbackFeeRate * Number(source.fallback.totalAmount));
    endTotals.backendRequests.add(
      ofBackend.default.totalRequests + ofBackend.fallback.totalRequests,
    );
    endTotals.processorRequests.add(ofDefault.totalRequests + ofFallback.totalRequests);
  }

  function handleSummary(data) {
    const score = computeScore(data, profile, schedule);
    const table = scoreTable(score, data, profile, schedule);
    const directory = __ENV.RESULTS_DIR ? `${__ENV.RESULTS_DIR}/` : './';
    const output = { stdout: table };
    output[`${directory}${profile.resultsFile}`] = JSON.stringify(
      officialResults(score, schedule),
      null,
      2,
    );
    if (__ENV.RESULTS_DIR) {
      output[`${directory}score.txt`] = table;
      output[`${directory}score.json`] = JSON.stringify(score, null, 2);
      output[`${directory}k6-summary.json`] = JSON.stringify(data, null, 2);
    }
    return output;
  }

  return { options, setup, payments, checkConsistency, driveStages, teardown, handleSummary };
}

export function metricCount(data, name) {
  const metric = data.metrics[name];
  return metric ? metric.values.count : 0;
}

export function trendValue(data, name, stat) {
  const metric = data.metrics[name];
  return metric && metric.values[stat] !== undefined ? metric.values[stat] : NaN;
}

/** The score of rules section 5, from the metrics of this run. */
export function computeScore(data, profile, schedule) {
  const p99 = round2(trendValue(data, 'http_req_duration{expected_response:true}', 'p(99)'));
  const bonus = Math.max(round2((11 - p99) * 0.02), 0);
  const inconsistencies = metricCount(data, 'payments_inconsistency');
  const fine = inconsistencies > 0 ? 0.35 : 0;
  const defaultAmount = round2(metricCount(data, 'default_total_amount'));
  const fallbackAmount = round2(metricCount(data, 'fallback_total_amount'));
  const defaultFee = metricCount(data, 'default_total_fee');
  const fallbackFee = metricCount(data, 'fallback_total_fee');
  const gross = round2(defaultAmount + fallbackAmount);
  const fees = defaultFee + fallbackFee;
  const net = gross - fees;
  const accepted = metricCount(data, 'transactions_success');
  const recorded =
    metricCount(data, 'default_total_requests') + metricCount(data, 'fallback_total_requests');
  return {
    profile: profile.name,
    schedule: schedule.name,
    duration_s: schedule.durationS,
    max_users: schedule.maxUsers,
    p99_ms: p99,
    bonus,
    inconsistencies,
    consistency_checks: metricCount(data, 'consistency_checks'),
    consistency_checks_inconsistent: metricCount(data, 'consistency_checks_inconsistent'),
    fine,
    accepted,
    failed: metricCount(data, 'transactions_failure'),
    recorded,
    lag: accepted - recorded,
    backend_total_requests: metricCount(data, 'backend_total_requests'),
    processors_total_requests: metricCount(data, 'processors_total_requests'),
    default: {
      requests: metricCount(data, 'default_total_requests'),
      amount: defaultAmount,
      fee: defaultFee,
    },
    fallback: {
      requests: metricCount(data, 'fallback_total_requests'),
      amount: fallbackAmount,
      fee: fallbackFee,
    },
    gross,
    fees,
    net,
    score: net * (1 + bonus - fine),
    http_requests: metricCount(data, 'http_reqs'),
    payment_p50_ms: trendValue(data, 'payment_accepted_duration', 'p(50)'),
    payment_p99_ms: trendValue(data, 'payment_accepted_duration', 'p(99)'),
    payment_max_ms: trendValue(data, 'payment_accepted_duration', 'max'),
  };
}

/** The results JSON with the official test's field names (rinha-test/*-results.json). */
function officialResults(score, schedule) {
  return {
    timestamp: new Date().toISOString(),
    participante: __ENV.PARTICIPANT || 'anonymous',
    total_liquido: score.score,
    total_bruto: score.gross,
    total_taxas: score.fees,
    descricao:
      "'total_liquido' is the score: net * (1 + p99.bonus - multa.porcentagem), " +
      'net = total_bruto - total_taxas',
    p99: {
      valor: `${score.p99_ms}ms`,
      bonus: `${round2(score.bonus * 100)}%`,
      max_requests: String(schedule.maxUsers),
      descricao: 'bonus = max(round((11 - p99) * 0.02, 2), 0)',
    },
    multa: {
      porcentagem: score.fine,
      total: score.net * score.fine,
      composicao: {
        num_inconsistencias: score.inconsistencies,
        descricao: "a 35% fine when 'num_inconsistencias' > 0",
      },
    },
    caixa_dois: {
      detectado: score.lag < 0,
      descricao: 'negative lag: more payments recorded than accepted (disqualifying)',
    },
    lag: {
      num_pagamentos_total: score.recorded,
      num_pagamentos_solicitados: score.accepted,
      lag: score.lag,
      descricao: 'accepted POST /payments minus payments recorded',
    },
    pagamentos_solicitados: {
      qtd_sucesso: score.accepted,
      qtd_falha: score.failed,
      descricao:
        "'qtd_sucesso': POST /payments answered 200/201/202/204; 'qtd_falha': anything else",
    },
    pagamentos_realizados_default: {
      total_bruto: score.default.amount,
      num_pagamentos: score.default.requests,
      total_taxas: score.default.fee,
      descricao: 'payments recorded through the default processor',
    },
    pagamentos_realizados_fallback: {
      total_bruto: score.fallback.amount,
      num_pagamentos: score.fallback.requests,
      total_taxas: score.fallback.fee,
      descricao: 'payments recorded through the fallback processor',
    },
  };
}

function pad(text, width) {
  const value = String(text);
  return value.length >= width ? value : ' '.repeat(width - value.length) + value;
}

function money(value) {
  return Number(value).toFixed(2);
}

function scoreTable(score, data, profile, schedule) {
  const lines = [];
  const feeText =
    `fees ${round2(profile.fees.default * 100)}% / ` + `${round2(profile.fees.fallback * 100)}%`;
  lines.push('');
  lines.push(
    `=== rinha score: ${profile.name} profile, schedule ${schedule.name}, ` +
      `${schedule.maxUsers} users, ${schedule.durationS} s, ${feeText}` +
      `${AUDIT ? ', audit' : ''} ===`,
  );
  lines.push(
    `p99 (all successful requests) ${pad(score.p99_ms.toFixed(2), 12)} ms` +
      `   bonus ${round2(score.bonus * 100)}%`,
  );
  lines.push(
    `POST /payments accepted p50/p99/max ${score.payment_p50_ms.toFixed(2)} / ` +
      `${score.payment_p99_ms.toFixed(2)} / ${score.payment_max_ms.toFixed(2)} ms`,
  );
  lines.push(
    `inconsistencies ${pad(score.inconsistencies, 24)}   fine ${score.fine * 100}%` +
      `   (${score.consistency_checks_inconsistent} of ${score.consistency_checks} checks)`,
  );
  lines.push(
    `lag ${pad(score.lag, 36)}   accepted ${score.accepted}, recorded ${score.recorded}, ` +
      `failed POSTs ${score.failed}`,
  );
  lines.push(
    `end totals: backend ${score.backend_total_requests}, ` +
      `processors ${score.processors_total_requests}`,
  );
  lines.push(`             ${pad('payments', 10)} ${pad('amount', 14)} ${pad('fees', 12)}`);
  lines.push(
    `default      ${pad(score.default.requests, 10)} ${pad(money(score.default.amount), 14)} ` +
      `${pad(money(score.default.fee), 12)}`,
  );
  lines.push(
    `fallback     ${pad(score.fallback.requests, 10)} ${pad(money(score.fallback.amount), 14)} ` +
      `${pad(money(score.fallback.fee), 12)}`,
  );
  lines.push(`gross ${money(score.gross)}   fees ${money(score.fees)}   net ${money(score.net)}`);
  lines.push(`SCORE ${money(score.score)}`);
  lines.push(`http requests ${score.http_requests}, iterations ${metricCount(data, 'iterations')}`);
  lines.push('');
  return lines.join('\n');
}
