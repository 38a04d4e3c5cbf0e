// Preview profile of the contest (shared/docs/rinha-2025.md, section 6): 550 users over 60 s,
// consistency window [now - 15 s, now - 1.5 s], end-of-test totals from the backend's own summary.
// Its amount and fees are perf/profiles.json's "preview". SCHEDULE=/abs/path.json replaces
// perf/schedules/preview.json.
import { profileTest } from './lib.js';

export const { options, setup, teardown, handleSummary, payments, checkConsistency, driveStages } =
  profileTest('preview');
