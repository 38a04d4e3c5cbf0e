// Final profile of the contest (shared/docs/rinha-2025.md, section 6): 603 users over 300 s,
// consistency window [now - 15 s, now - 2 s], end-of-test totals from the processors' admin
// summaries. Its amount and fees are perf/profiles.json's "final". SCHEDULE=/abs/path.json
// replaces perf/schedules/final.json.
import { profileTest } from './lib.js';

export const { options, setup, teardown, handleSummary, payments, checkConsistency, driveStages } =
  profileTest('final');
