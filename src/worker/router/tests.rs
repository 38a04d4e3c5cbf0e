//! The router's tests: the transition table of `DESIGN.md` §5 row for row
//! ([`transition_table`]), the plan's decision table, and scenarios that string transitions
//! together. No clock and no sleep: every instant is an argument.

use super::*;
use Processor::{Default as D, Fallback as F};

const NOW: i64 = 1_752_150_896_000;
const PREVIEW_FEES: (u32, u32) = (500, 1500);
const FINAL_FEES: (u32, u32) = (700, 1000);

/// A router with the fee-priced hold, uncapped (as `HOLD_MAX_MS` can configure it), so the
/// tables exercise the hold logic at both fee pairs.
fn router(fees: (u32, u32)) -> Router {
    let hold_max_ms = hold_max_ms_for_fees(fees.0, fees.1, HOLD_HORIZON_MS);
    Router::new(RouterSettings { hold_max_ms, ..RouterSettings::for_fees(fees.0, fees.1) })
}

fn health(failing: bool, min_response_time: u64, polled_at_ms: i64) -> HealthReport {
    HealthReport { health: Health { failing, min_response_time }, polled_at_ms }
}

/// Feeds `processor` a health report, as the health task does when it reads one.
fn report(router: &mut Router, processor: Processor, report: HealthReport) {
    router.apply(processor, Event::Reported(report), report.polled_at_ms);
}

/// Feeds `processor` the answer to `attempt`, received at `now_ms`.
fn answer(
    router: &mut Router,
    processor: Processor,
    attempt: Attempt,
    outcome: PayOutcome,
    now_ms: i64,
) {
    router.apply(processor, Event::Answered { attempt, outcome }, now_ms);
}

/// Runs one attempt of `latency_ms` ending at `end_ms` with `outcome`.
fn attempt(
    router: &mut Router,
    processor: Processor,
    outcome: PayOutcome,
    latency_ms: i64,
    end_ms: i64,
) {
    let started = router.attempt_started(processor, end_ms - latency_ms);
    answer(router, processor, started, outcome, end_ms);
}

/// `n` failed attempts (5xx) of 3 ms each, the last answered at `end_ms`.
fn failures(router: &mut Router, n: usize, end_ms: i64) {
    for _ in 0..n {
        attempt(router, D, PayOutcome::Failed, 3, end_ms);
    }
}

/// A failing report polled at `NOW`, then a recovery probe sent at `NOW + 1000` that sat out a
/// 2 s delay and was stored: the speed is unknown.
fn sat_out_old_delay(router: &mut Router) {
    report(router, D, health(true, 0, NOW));
    attempt(router, D, PayOutcome::Accepted, 2000, NOW + 3000);
}

/// One row of the transition table of `DESIGN.md` §5: the events that lead to it, then the
/// condition, phase and speed of the default at `at_ms`.
struct Transition {
    row: &'static str,
    given: fn(&mut Router),
    at_ms: i64,
    condition: Condition,
    phase: Phase,
    speed: Speed,
}

const HEALTHY: Condition = Condition::Healthy;
const SPEED_UNKNOWN: Condition = Condition::SpeedUnknown;
const FAILING_STREAK: Condition =
    Condition::Failing { report_polled_at_ms: None, speed_unknown: false };

const fn failing_report(polled_at_ms: i64) -> Condition {
    Condition::Failing { report_polled_at_ms: Some(polled_at_ms), speed_unknown: false }
}

#[test]
fn transition_table() {
    use Phase::{Busy, Probing, Resting, Usable};
    use ProbeKind::{Recovery, Speed as SpeedProbe};
    use Speed::{Fast, Slow, Suspected};
    let rows = [
        Transition {
            row: "T1 healthy: a failure short of a streak changes nothing",
            given: |router| failures(router, 2, NOW),
            at_ms: NOW + 1,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "T2 healthy: a full failure streak rests it",
            given: |router| failures(router, 3, NOW),
            at_ms: NOW + 1,
            condition: FAILING_STREAK,
            phase: Resting { until_ms: NOW + 1000 },
            speed: Fast,
        },
        Transition {
            row: "T3 healthy: a failing report polled after the last success rests it",
            given: |router| {
                attempt(router, D, PayOutcome::Accepted, 5, NOW - 100);
                report(router, D, health(true, 0, NOW));
            },
            at_ms: NOW + 1,
            condition: failing_report(NOW),
            phase: Resting { until_ms: NOW + 1000 },
            speed: Fast,
        },
        Transition {
            row: "T4 healthy: a failing report polled before the last success is old news",
            given: |router| {
                attempt(router, D, PayOutcome::Accepted, 5, NOW);
                report(router, D, health(true, 0, NOW - 100));
            },
            at_ms: NOW + 1,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "T5 failing: the rest ends, recovery probes follow",
            given: |router| report(router, D, health(true, 0, NOW)),
            at_ms: NOW + 1000,
            condition: failing_report(NOW),
            phase: Probing(Recovery),
            speed: Fast,
        },
        Transition {
            row: "T6 failing: a failure restarts the rest",
            given: |router| {
                report(router, D, health(true, 0, NOW));
                failures(router, 1, NOW + 1500);
            },
            at_ms: NOW + 1501,
            condition: failing_report(NOW),
            phase: Resting { until_ms: NOW + 2500 },
            speed: Fast,
        },
        Transition {
            row: "T7 failing: a success within the bound makes it healthy",
            given: |router| {
                report(router, D, health(true, 0, NOW));
                attempt(router, D, PayOutcome::Accepted, 20, NOW + 1020);
            },
            at_ms: NOW + 1021,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "T8 failing: a recovery probe slower than the bound leaves the speed unknown",
            given: sat_out_old_delay,
            at_ms: NOW + 3001,
            condition: SPEED_UNKNOWN,
            phase: Probing(SpeedProbe),
            speed: Slow,
        },
        Transition {
            row: "T9 failing (report): a newer healthy report makes it healthy",
            given: |router| {
                report(router, D, health(true, 0, NOW));
                report(router, D, health(false, 0, NOW + 5000));
            },
            at_ms: NOW + 5001,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "T10 failing (report): a health TTL later the report is no sign any more",
            given: |router| report(router, D, health(true, 0, NOW)),
            at_ms: NOW + 10_000,
            condition: failing_report(NOW),
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "T11 failing (streak): a healthy report does not end a streak",
            given: |router| {
                failures(router, 3, NOW);
                report(router, D, health(false, 0, NOW + 1));
            },
            at_ms: NOW + 2,
            condition: FAILING_STREAK,
            phase: Resting { until_ms: NOW + 1000 },
            speed: Fast,
        },
        Transition {
            row: "T12 failing (report): a success before the report was polled leaves it",
            given: |router| {
                report(router, D, health(true, 0, NOW + 10));
                attempt(router, D, PayOutcome::Accepted, 5, NOW);
            },
            at_ms: NOW + 1,
            condition: failing_report(NOW + 10),
            phase: Resting { until_ms: NOW + 1010 },
            speed: Fast,
        },
        Transition {
            row: "T13 speed unknown: an answer within the bound makes it healthy",
            given: |router| {
                sat_out_old_delay(router);
                attempt(router, D, PayOutcome::Accepted, 20, NOW + 3021);
            },
            at_ms: NOW + 3022,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "T14 speed unknown: a speed probe slower than the bound latches it out",
            given: |router| {
                sat_out_old_delay(router);
                attempt(router, D, PayOutcome::Accepted, 2000, NOW + 5001);
            },
            at_ms: NOW + 5002,
            condition: HEALTHY,
            phase: Usable,
            speed: Slow,
        },
        Transition {
            row: "T15 speed unknown: an answer older than the newest success says nothing",
            given: |router| {
                report(router, D, health(true, 0, NOW));
                let older = router.attempt_started(D, NOW + 1000);
                let newer = router.attempt_started(D, NOW + 1001);
                answer(router, D, newer, PayOutcome::Accepted, NOW + 3001);
                answer(router, D, older, PayOutcome::Accepted, NOW + 3500);
            },
            at_ms: NOW + 3501,
            condition: SPEED_UNKNOWN,
            phase: Probing(SpeedProbe),
            speed: Slow,
        },
        Transition {
            row: "T16 speed unknown, then failing: rested, then probed for speed",
            given: |router| {
                sat_out_old_delay(router);
                failures(router, 3, NOW + 3100);
            },
            at_ms: NOW + 4100,
            condition: Condition::Failing { report_polled_at_ms: None, speed_unknown: true },
            phase: Probing(SpeedProbe),
            speed: Slow,
        },
        Transition {
            row: "T17 any: a 429 keeps it out for the busy rest",
            given: |router| attempt(router, D, PayOutcome::Busy, 1, NOW),
            at_ms: NOW + 249,
            condition: HEALTHY,
            phase: Busy { until_ms: NOW + 250 },
            speed: Fast,
        },
        Transition {
            row: "T18 busy: the 429 wears off",
            given: |router| attempt(router, D, PayOutcome::Busy, 1, NOW),
            at_ms: NOW + 250,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "T19 any: a refused payload (4xx) changes nothing",
            given: |router| attempt(router, D, PayOutcome::Refused(400), 1, NOW),
            at_ms: NOW + 1,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "S1 no evidence: presumed fast",
            given: |_| {},
            at_ms: NOW,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "S2 a report at the bound: fast",
            given: |router| report(router, D, health(false, 1250, NOW)),
            at_ms: NOW + 1,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "S3 a report over the bound: slow (latched at its poll)",
            given: |router| report(router, D, health(false, 1251, NOW)),
            at_ms: NOW + 1,
            condition: HEALTHY,
            phase: Usable,
            speed: Slow,
        },
        Transition {
            row: "S4 an answer slower than the bound latches it out",
            given: |router| attempt(router, D, PayOutcome::Accepted, 1300, NOW),
            at_ms: NOW + 1,
            condition: HEALTHY,
            phase: Usable,
            speed: Slow,
        },
        Transition {
            row: "S5 latched: a report under the bound polled after the latch lifts it",
            given: |router| {
                attempt(router, D, PayOutcome::Accepted, 1300, NOW);
                report(router, D, health(false, 0, NOW + 1));
            },
            at_ms: NOW + 2,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "S6 latched: a report polled before the latch does not lift it",
            given: |router| {
                attempt(router, D, PayOutcome::Accepted, 1300, NOW);
                report(router, D, health(false, 0, NOW - 1));
            },
            at_ms: NOW + 1,
            condition: HEALTHY,
            phase: Usable,
            speed: Slow,
        },
        Transition {
            row: "S7 latched: no news for a health TTL forgets the latch and the estimate",
            given: |router| attempt(router, D, PayOutcome::Accepted, 1300, NOW),
            at_ms: NOW + 10_000,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "S8 latched: a fast answer to a newer attempt lifts the latch",
            given: |router| {
                attempt(router, D, PayOutcome::Accepted, 1300, NOW);
                attempt(router, D, PayOutcome::Accepted, 20, NOW + 100);
            },
            at_ms: NOW + 101,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "S9 an attempt out for the suspicion age (1.25 × 100 + 100 ms): still fast",
            given: |router| {
                report(router, D, health(false, 100, NOW));
                router.attempt_started(D, NOW);
            },
            at_ms: NOW + 225,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
        Transition {
            row: "S10 an attempt out longer than the suspicion age: suspected",
            given: |router| {
                report(router, D, health(false, 100, NOW));
                router.attempt_started(D, NOW);
            },
            at_ms: NOW + 226,
            condition: HEALTHY,
            phase: Usable,
            speed: Suspected,
        },
        Transition {
            row: "S11 an attempt started before the newest success is not suspected",
            given: |router| {
                report(router, D, health(false, 100, NOW));
                router.attempt_started(D, NOW);
                attempt(router, D, PayOutcome::Accepted, 20, NOW + 30);
            },
            at_ms: NOW + 1000,
            condition: HEALTHY,
            phase: Usable,
            speed: Fast,
        },
    ];
    for row in rows {
        let mut router = router(FINAL_FEES);
        (row.given)(&mut router);
        assert_eq!(router.state(D).condition(), row.condition, "{}", row.row);
        assert_eq!(router.phase(D, row.at_ms), row.phase, "{}", row.row);
        assert_eq!(router.speed(D, row.at_ms), row.speed, "{}", row.row);
        let eligible = row.phase == Phase::Usable && row.speed == Speed::Fast;
        assert_eq!(router.is_eligible(D, row.at_ms), eligible, "{}", row.row);
        assert_eq!(router.phase(F, row.at_ms), Phase::Usable, "{}: only D changed", row.row);
    }
}

#[test]
fn default_settings_keep_under_the_audit_margin_and_cap_the_hold() {
    let settings = RouterSettings::for_fees(700, 1000);
    assert_eq!(settings.latency_max_ms, 1250);
    assert!(settings.latency_max_ms < AUDIT_MARGIN_MS);
    assert_eq!(settings.hold_max_ms, END_GRACE_MS, "the default hold is capped by the end grace");
    assert_eq!(RouterSettings::for_fees(1000, 1000).hold_max_ms, 0);
    assert_eq!(RouterSettings::for_fees(995, 1000).hold_max_ms, 55, "a tiny saving holds briefly");
}

/// One row of the decision table: the conditions, then the plan expected.
struct Case {
    name: &'static str,
    fees: (u32, u32),
    default: (bool, u64),
    fallback: (bool, u64),
    default_out_for_ms: i64,
    expected: Plan,
}

#[test]
fn decision_table_from_health_reports() {
    let hold_preview = 11_764;
    let hold_final = 3_333;
    let cases = [
        Case {
            name: "both healthy",
            fees: FINAL_FEES,
            default: (false, 0),
            fallback: (false, 0),
            default_out_for_ms: 0,
            expected: Plan::Send(D),
        },
        Case {
            name: "default 1000 ms is still fast",
            fees: FINAL_FEES,
            default: (false, 1000),
            fallback: (false, 0),
            default_out_for_ms: 0,
            expected: Plan::Send(D),
        },
        Case {
            name: "fallback failing, default healthy",
            fees: FINAL_FEES,
            default: (false, 100),
            fallback: (true, 0),
            default_out_for_ms: 0,
            expected: Plan::Send(D),
        },
        Case {
            name: "default failing, young outage, final fees",
            fees: FINAL_FEES,
            default: (true, 0),
            fallback: (false, 0),
            default_out_for_ms: 1000,
            expected: Plan::SendAcceptedBy(F, NOW - hold_final),
        },
        Case {
            name: "default failing, old outage, final fees",
            fees: FINAL_FEES,
            default: (true, 0),
            fallback: (false, 0),
            default_out_for_ms: hold_final,
            expected: Plan::Send(F),
        },
        Case {
            name: "default failing, young outage, preview fees",
            fees: PREVIEW_FEES,
            default: (true, 100),
            fallback: (false, 0),
            default_out_for_ms: 5000,
            expected: Plan::SendAcceptedBy(F, NOW - hold_preview),
        },
        Case {
            name: "default failing, old outage, preview fees",
            fees: PREVIEW_FEES,
            default: (true, 100),
            fallback: (false, 0),
            default_out_for_ms: 12_000,
            expected: Plan::Send(F),
        },
        Case {
            name: "default slow, fallback fast, old outage",
            fees: FINAL_FEES,
            default: (false, 2000),
            fallback: (false, 0),
            default_out_for_ms: 5000,
            expected: Plan::Send(F),
        },
        Case {
            name: "default slow, fallback slow",
            fees: FINAL_FEES,
            default: (false, 2000),
            fallback: (false, 1500),
            default_out_for_ms: 5000,
            expected: Plan::Hold,
        },
        Case {
            name: "default slow, fallback failing",
            fees: FINAL_FEES,
            default: (false, 5000),
            fallback: (true, 0),
            default_out_for_ms: 5000,
            expected: Plan::Hold,
        },
        Case {
            name: "both failing",
            fees: PREVIEW_FEES,
            default: (true, 0),
            fallback: (true, 0),
            default_out_for_ms: 20_000,
            expected: Plan::Hold,
        },
        Case {
            name: "default failing and slow, fallback 1000 ms",
            fees: FINAL_FEES,
            default: (true, 2000),
            fallback: (false, 1000),
            default_out_for_ms: 10_000,
            expected: Plan::Send(F),
        },
        Case {
            name: "equal fees never hold",
            fees: (1000, 1000),
            default: (true, 0),
            fallback: (false, 0),
            default_out_for_ms: 1,
            expected: Plan::Send(F),
        },
    ];
    for case in cases {
        let mut router = router(case.fees);
        let start = NOW - case.default_out_for_ms;
        report(&mut router, D, health(case.default.0, case.default.1, start));
        report(&mut router, F, health(case.fallback.0, case.fallback.1, start));
        // The outage starts when the router first sees it; the reports stay fresh.
        router.plan(start);
        report(&mut router, D, health(case.default.0, case.default.1, NOW - 1));
        report(&mut router, F, health(case.fallback.0, case.fallback.1, NOW - 1));
        assert_eq!(router.plan(NOW), case.expected, "{}", case.name);
    }
}

#[test]
fn the_hold_counts_from_the_start_of_the_outage() {
    let mut router = router(FINAL_FEES);
    report(&mut router, D, health(true, 0, NOW - 500));
    assert_eq!(router.plan(NOW - 500), Plan::SendAcceptedBy(F, NOW - 500 - 3_333));
    assert_eq!(router.plan(NOW), Plan::SendAcceptedBy(F, NOW - 3_333), "young outage");
    // Still failing (a newer report), the outage is now older than the hold.
    report(&mut router, D, health(true, 0, NOW + 2_800));
    assert_eq!(router.plan(NOW + 2_833), Plan::Send(F), "old outage: everything goes");
}

#[test]
fn a_failing_report_rests_the_processor_then_one_payment_probes_it() {
    let mut router = router(PREVIEW_FEES);
    report(&mut router, D, health(true, 0, NOW));
    assert_eq!(router.availability(D, NOW + 999), Availability::Out);
    assert_eq!(router.plan(NOW + 999), Plan::SendAcceptedBy(F, NOW + 999 - 11_764));
    assert_eq!(router.availability(D, NOW + 1000), Availability::Probe);
    assert_eq!(router.plan(NOW + 1000), Plan::Probe(D), "probe one rest after the report");
    let probe = router.attempt_started(D, NOW + 1000);
    assert_ne!(router.plan(NOW + 1001), Plan::Probe(D), "one probe per rest period");
    answer(&mut router, D, probe, PayOutcome::Failed, NOW + 1002);
    assert_eq!(router.availability(D, NOW + 1003), Availability::Out, "the failed probe rests it");
    assert_eq!(router.plan(NOW + 2002), Plan::Probe(D));
    attempt(&mut router, D, PayOutcome::Accepted, 2, NOW + 2004);
    assert_eq!(router.plan(NOW + 2005), Plan::Send(D), "a successful probe ends the outage");
}

#[test]
fn a_recovered_processor_is_judged_by_its_new_speed_not_its_reported_delay() {
    let mut router = router(FINAL_FEES);
    // Failing with a 5 s delay, as reported; the probe finds it fast again.
    report(&mut router, D, health(true, 5000, NOW));
    assert!(!router.is_eligible(D, NOW));
    assert_eq!(router.plan(NOW + 1000), Plan::Probe(D), "a failing processor is probed");
    attempt(&mut router, D, PayOutcome::Accepted, 3, NOW + 1003);
    assert!(router.is_eligible(D, NOW + 1004), "the first success starts a new estimate");
    // Failing and slow answers do not feed the estimate: they say nothing of the next regime.
    let mut router = self::router(FINAL_FEES);
    for step in 0..5 {
        attempt(&mut router, D, PayOutcome::Failed, 2000, NOW + step);
    }
    assert_eq!(router.state(D).latency().average_ms(), None);
    assert_eq!(router.state(D).latency().slow_since_ms(), None);
}

#[test]
fn both_out_holds_and_both_probing_probes_the_default_first() {
    let mut router = router(PREVIEW_FEES);
    report(&mut router, D, health(true, 0, NOW));
    report(&mut router, F, health(true, 0, NOW));
    assert_eq!(router.plan(NOW + 1), Plan::Hold);
    assert_eq!(router.plan(NOW + 1000), Plan::Probe(D));
    let probe = router.attempt_started(D, NOW + 1000);
    assert_eq!(router.plan(NOW + 1001), Plan::Probe(F), "the fallback is probed meanwhile");
    router.attempt_started(F, NOW + 1001);
    assert_eq!(router.plan(NOW + 1002), Plan::Hold);
    answer(&mut router, D, probe, PayOutcome::Accepted, NOW + 1010);
    assert_eq!(router.plan(NOW + 1011), Plan::Send(D));
}

#[test]
fn a_probe_that_sat_out_the_old_delay_leads_to_another_probe_not_a_latch() {
    let mut router = router(PREVIEW_FEES);
    report(&mut router, D, health(true, 2000, NOW));
    assert_eq!(router.plan(NOW + 1000), Plan::Probe(D));
    // The processor recovers while this probe sleeps; it is stored and answers after 2 s.
    let probe = router.attempt_started(D, NOW + 1000);
    answer(&mut router, D, probe, PayOutcome::Accepted, NOW + 3000);
    assert_eq!(
        router.state(D).latency().slow_since_ms(),
        Some(NOW),
        "only the report's latch, not the probe's"
    );
    assert_eq!(router.availability(D, NOW + 3001), Availability::Probe);
    assert_eq!(router.plan(NOW + 3001), Plan::Probe(D), "its speed is asked again");
    attempt(&mut router, D, PayOutcome::Accepted, 20, NOW + 3021);
    assert_eq!(router.plan(NOW + 3022), Plan::Send(D));
    // A slow answer to a probe sent after the recovery: slow for real, latched.
    let mut router = self::router(PREVIEW_FEES);
    report(&mut router, D, health(true, 2000, NOW));
    router.plan(NOW + 1000);
    let probe = router.attempt_started(D, NOW + 1000);
    answer(&mut router, D, probe, PayOutcome::Accepted, NOW + 3000);
    router.plan(NOW + 3001);
    let second = router.attempt_started(D, NOW + 3001);
    answer(&mut router, D, second, PayOutcome::Accepted, NOW + 5001);
    assert_eq!(router.state(D).latency().slow_since_ms(), Some(NOW + 5001));
    assert!(!router.is_eligible(D, NOW + 5002));
}

#[test]
fn the_default_is_probed_more_often_while_the_fallback_takes_the_payments() {
    let mut router = router(FINAL_FEES);
    report(&mut router, D, health(true, 0, NOW));
    assert_eq!(router.plan(NOW + 1000), Plan::Probe(D));
    router.attempt_started(D, NOW + 1000);
    assert_eq!(router.plan(NOW + 1050), Plan::SendAcceptedBy(F, NOW + 1050 - 3_333), "F pays");
    assert_eq!(router.plan(NOW + 1100), Plan::Probe(D), "and the default is probed again");
    // With no fallback to pay, probing once per rest period is enough.
    let mut router = self::router(FINAL_FEES);
    report(&mut router, D, health(true, 0, NOW));
    report(&mut router, F, health(true, 0, NOW));
    assert_eq!(router.plan(NOW + 1000), Plan::Probe(D));
    router.attempt_started(D, NOW + 1000);
    assert_eq!(router.plan(NOW + 1000), Plan::Probe(F));
    router.attempt_started(F, NOW + 1000);
    assert_eq!(router.plan(NOW + 1100), Plan::Hold);
}

#[test]
fn a_probe_stuck_in_an_old_delay_does_not_hide_a_recovery() {
    let mut router = router(PREVIEW_FEES);
    report(&mut router, D, health(true, 2000, NOW));
    assert_eq!(router.plan(NOW + 1000), Plan::Probe(D));
    let stuck = router.attempt_started(D, NOW + 1000);
    // The processor recovers while that probe sleeps in its 2 s delay; the next one goes out.
    assert_eq!(router.plan(NOW + 2000), Plan::Probe(D), "a probe per rest period");
    attempt(&mut router, D, PayOutcome::Accepted, 20, NOW + 2020);
    assert_eq!(router.plan(NOW + 2021), Plan::Send(D), "fast again, despite the stuck probe");
    // The stuck probe finally lands, slow: older evidence than the fast one, so ignored.
    answer(&mut router, D, stuck, PayOutcome::Accepted, NOW + 3000);
    assert_eq!(router.plan(NOW + 3001), Plan::Send(D));
    // But a slow answer to a newer attempt latches it out.
    attempt(&mut router, D, PayOutcome::Accepted, 1500, NOW + 4600);
    assert!(!router.is_eligible(D, NOW + 4601));
}

#[test]
fn a_recovering_default_gets_payments_again() {
    let mut router = router(PREVIEW_FEES);
    report(&mut router, D, health(true, 0, NOW));
    assert_eq!(router.plan(NOW + 1), Plan::SendAcceptedBy(F, NOW + 1 - 11_764));
    report(&mut router, D, health(false, 0, NOW + 5000));
    assert_eq!(router.plan(NOW + 5001), Plan::Send(D));
    // And the outage clock restarts from zero at the next outage.
    report(&mut router, D, health(true, 0, NOW + 10_000));
    assert_eq!(router.plan(NOW + 10_001), Plan::SendAcceptedBy(F, NOW + 10_001 - 11_764));
}

#[test]
fn a_success_after_a_failing_report_clears_it_and_a_stale_report_is_ignored() {
    let mut router = router(FINAL_FEES);
    report(&mut router, D, health(true, 0, NOW - 100));
    attempt(&mut router, D, PayOutcome::Accepted, 5, NOW);
    assert!(router.is_eligible(D, NOW + 1));
    let mut router = self::router(FINAL_FEES);
    report(&mut router, D, health(true, 0, NOW - 20_000));
    assert!(router.is_eligible(D, NOW));
}

#[test]
fn observed_failures_rest_the_processor_then_it_is_probed_again() {
    let mut router = router(FINAL_FEES);
    for _ in 0..2 {
        attempt(&mut router, D, PayOutcome::Failed, 3, NOW);
    }
    assert!(router.is_eligible(D, NOW), "two failures are not a streak yet");
    attempt(&mut router, D, PayOutcome::Failed, 3, NOW);
    assert!(!router.is_eligible(D, NOW + 1));
    assert_eq!(router.availability(D, NOW + 1000), Availability::Probe, "rest is over: probe");
    assert!(!router.is_eligible(D, NOW + 1000), "probed, not flooded");
    attempt(&mut router, D, PayOutcome::Accepted, 3, NOW + 1003);
    assert_eq!(router.state(D).failure_streak(), 0);
    assert!(router.is_eligible(D, NOW + 1004));
}

#[test]
fn busy_is_back_pressure_not_failure() {
    let mut router = router(FINAL_FEES);
    attempt(&mut router, D, PayOutcome::Busy, 1, NOW);
    assert_eq!(router.state(D).failure_streak(), 0);
    assert!(!router.is_eligible(D, NOW + 1));
    assert!(router.is_eligible(D, NOW + 250));
}

#[test]
fn an_attempt_in_flight_too_long_makes_the_processor_slow_before_any_answer() {
    let mut router = router(FINAL_FEES);
    report(&mut router, D, health(false, 0, NOW - 1));
    let started = NOW;
    let id = router.attempt_started(D, started);
    assert!(router.is_eligible(D, NOW + 100), "within the estimate plus slack");
    assert!(!router.is_eligible(D, NOW + 101), "a processor answering at once, 101 ms late");
    answer(&mut router, D, id, PayOutcome::Accepted, NOW + 1260);
    assert!(router.state(D).inflight_count() == 0);
    assert!(!router.is_eligible(D, NOW + 1261), "one slow answer keeps it out");
    report(&mut router, D, health(false, 1000, NOW + 1200));
    assert!(
        !router.is_eligible(D, NOW + 1262),
        "a report polled before the slow answer is old news"
    );
    report(&mut router, D, health(false, 0, NOW + 2000));
    assert!(router.is_eligible(D, NOW + 2001), "a later report under the bound lets it back");
}

#[test]
fn latency_average_follows_observations_and_a_report_resets_it() {
    let mut router = router(FINAL_FEES);
    for step in 0..30 {
        attempt(&mut router, D, PayOutcome::Accepted, 1100, NOW + step);
    }
    assert!(router.is_eligible(D, NOW + 100), "1100 ms is under the bound");
    for step in 0..30 {
        attempt(&mut router, D, PayOutcome::Accepted, 2000, NOW + step);
    }
    assert!(!router.is_eligible(D, NOW + 100));
    report(&mut router, D, health(false, 0, NOW + 100));
    assert!(router.is_eligible(D, NOW + 101));
    for step in 0..30 {
        attempt(&mut router, D, PayOutcome::Accepted, 10, NOW + 200 + step);
    }
    assert!(router.expected_latency_ms(D, NOW + 300) < 20.0);
}

#[test]
fn suspicion_scales_with_the_expected_time_up_to_the_bound() {
    let mut router = router(FINAL_FEES);
    report(&mut router, D, health(false, 100, NOW));
    assert_eq!(router.suspicion_age_ms(D, NOW), 225.0);
    report(&mut router, D, health(false, 1000, NOW + 1));
    assert_eq!(router.suspicion_age_ms(D, NOW + 1), 1250.0, "capped at the bound");
    let started = NOW + 10;
    router.attempt_started(D, started);
    assert!(router.is_eligible(D, started + 1000), "a 1000 ms processor at 1000 ms is fine");
    assert!(!router.is_eligible(D, started + 1251));
}

#[test]
fn a_stale_slow_estimate_is_forgotten_so_the_processor_is_tried_again() {
    let mut router = router(FINAL_FEES);
    for step in 0..10 {
        attempt(&mut router, D, PayOutcome::Accepted, 5000, NOW + step);
    }
    assert!(!router.is_eligible(D, NOW + 100));
    assert!(!router.is_eligible(D, NOW + 9_000), "fresh evidence of slowness holds");
    assert!(router.is_eligible(D, NOW + 10_010), "no news for a health TTL: probe again");
}

#[test]
fn an_older_report_does_not_replace_a_newer_one() {
    let mut router = router(FINAL_FEES);
    report(&mut router, D, health(false, 0, NOW));
    report(&mut router, D, health(true, 0, NOW - 1));
    assert_eq!(router.state(D).health(), Some(health(false, 0, NOW)));
}
