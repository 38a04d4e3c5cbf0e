// Preview profile of the contest (shared/docs/rinha-2025.md, section 6): 550 users over 60 s,
// amount 19.90, fees 5% / 15%, consistency window [now - 15 s, now - 1.5 s], end-of-test totals
// from the backend's own summary. SCHEDULE=/abs/path.json replaces perf/schedules/preview.json.
import { buildTest, loadSchedule } from './lib.js';

const schedule = loadSchedule(open(__ENV.SCHEDULE || '../schedules/preview.json'));
const test = buildTest(
  {
    name: 'preview',
    amount: 19.9,
    checkUpperMarginMs: 1500,
    endSummarySource: 'backend',
    resultsFile: 'partial-results.json',
    fees: { default: 0.05, fallback: 0.15 },
  },
  schedule,
);

export const options = test.options;
export const setup = test.setup;
export const teardown = test.teardown;
export const handleSummary = test.handleSummary;
export function payments() {
  test.payments();
}
export function checkConsistency() {
  test.checkConsistency();
}
export function driveStages() {
  test.driveStages();
}
