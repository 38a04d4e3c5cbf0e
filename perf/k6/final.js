// Final profile of the contest (shared/docs/rinha-2025.md, section 6): 603 users over 300 s,
// amount 20.05, fees 7% / 10%, consistency window [now - 15 s, now - 2 s], end-of-test totals
// from the processors' admin summaries. SCHEDULE=/abs/path.json replaces perf/schedules/final.json.
import { buildTest, loadSchedule } from './lib.js';

const schedule = loadSchedule(open(__ENV.SCHEDULE || '../schedules/final.json'));
const test = buildTest(
  {
    name: 'final',
    amount: 20.05,
    checkUpperMarginMs: 2000,
    endSummarySource: 'processors',
    resultsFile: 'final-results.json',
    fees: { default: 0.07, fallback: 0.1 },
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
