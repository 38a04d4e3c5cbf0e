//! End-to-end tests of the data path: a real `redis-server` on a private socket, two processor
//! simulators, the API and the worker as the built binaries, driven over HTTP.
//!
//! Method: each test builds its own stack, sends payments through the API, waits (bounded) until
//! the backend has settled them, then checks the three books against each other: the backend's
//! summary, each simulator's admin summary, and each simulator's per-payment lookup (every
//! payment in exactly one processor). Conditions (delay, failure) are set through the
//! simulators' admin endpoints, as the contest's load test does.

mod common;

use common::*;

/// The end-to-end tests' stack: `common::Stack` on a fresh Redis, with its worker started.
fn stack(worker_environment: &[(&str, &str)]) -> Stack {
    let mut stack = Stack::without_worker(Redis::start(), "e2e");
    stack.start_worker(worker_environment);
    stack
}

#[test]
fn payments_flow_to_default_when_it_is_healthy() {
    let stack = stack(&[]);
    let ids = stack.pay_and_settle(60);
    let (default, fallback) = stack.api.summary("");
    assert_eq!(default, (60, 60 * 1990));
    assert_eq!(fallback, (0, 0));
    stack.assert_settled(&ids);
}

#[test]
fn a_failing_default_sends_payments_to_fallback() {
    // A short hold, so the payments do not wait the preview fees' 11.8 s for the default.
    let stack = stack(&[("HOLD_MAX_MS", "300")]);
    stack.default.set_failure(true);
    let ids = stack.pay_and_settle(40);
    let (_, fallback) = stack.api.summary("");
    // The first attempts may reach default before the worker learns it is failing; every one of
    // those failed (nothing stored), so all 40 are paid by fallback.
    assert_eq!(fallback, (40, 40 * 1990));
    assert_eq!(stack.default.admin_summary(""), (0, 0));
    stack.assert_settled(&ids);
}

#[test]
fn a_default_that_recovers_within_the_hold_gets_the_payments() {
    let stack = stack(&[("HOLD_MAX_MS", "30000")]);
    stack.default.set_failure(true);
    // Let the worker learn that the default fails (its first attempts fail and rest it).
    let early = stack.pay_many(5);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let ids = stack.pay_many(20);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        stack.fallback.admin_summary(""),
        (0, 0),
        "the fallback must not take held payments"
    );
    stack.default.set_failure(false);
    stack.wait_recorded(25);
    assert_eq!(stack.api.summary("").0, (25, 25 * 1990), "all paid by the default");
    stack.assert_settled(&early);
    stack.assert_each_paid_once(&ids);
}

#[test]
fn a_slow_default_is_not_used_and_the_fallback_takes_over() {
    // 1600 ms is beyond the router's 1250 ms bound: paying there would break the audit.
    let stack = stack(&[("HOLD_MAX_MS", "0")]);
    stack.default.set_delay(1600);
    // The worker learns the delay from its first payments: in flight too long, then slow answers.
    let learning = stack.pay_and_settle(5);
    let ids = stack.pay_many(30);
    stack.wait_recorded(35);
    for id in &ids {
        assert!(stack.fallback.has_payment(id), "{id} was sent to the slow default");
    }
    stack.assert_settled(&learning);
    stack.assert_each_paid_once(&ids);
}

#[test]
fn both_failing_holds_payments_and_pays_them_once_one_recovers() {
    let stack = stack(&[]);
    stack.default.set_failure(true);
    stack.fallback.set_failure(true);
    let ids = stack.pay_many(30);
    // While both fail, nothing can be recorded anywhere.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(stack.api.summary(""), ((0, 0), (0, 0)));
    stack.assert_books_agree("");
    stack.default.set_failure(false);
    stack.wait_recorded(30);
    stack.assert_settled(&ids);
}

#[test]
fn a_repeated_correlation_id_is_accepted_and_paid_once() {
    let stack = stack(&[]);
    let id = uuid();
    for _ in 0..5 {
        assert_eq!(stack.api.pay(&id, "10.00"), 202);
    }
    let others = stack.pay_many(10);
    stack.wait_recorded(11);
    // Give any stray duplicate the time to (wrongly) show up before checking.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (default, fallback) = stack.api.summary("");
    assert_eq!(default.0 + fallback.0, 11);
    assert_eq!(default.1 + fallback.1, 1000 + 10 * 1990);
    stack.assert_settled(&others);
    stack.assert_each_paid_once(&[id]);
}

/// Milliseconds since the epoch of a simulator's `requestedAt` (microsecond text).
fn millis_of(requested_at: &str) -> i64 {
    rinha::payment::parse_timestamp_ms(requested_at.as_bytes()).unwrap()
}

fn iso(millis: i64) -> String {
    let mut out = Vec::new();
    rinha::payment::write_timestamp_ms(&mut out, millis);
    String::from_utf8(out).unwrap()
}

#[test]
fn summary_equals_processors_for_windows_cut_at_exact_milliseconds() {
    let stack = stack(&[]);
    stack.default.set_delay(0);
    let mut ids = Vec::new();
    // Spread payments over a few seconds so windows cross second boundaries.
    for _ in 0..8 {
        ids.extend(stack.pay_many(15));
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    stack.wait_recorded(ids.len() as u64);
    let mut stamps: Vec<i64> = ids
        .iter()
        .map(|id| {
            millis_of(
                &stack
                    .default
                    .requested_at(id)
                    .or_else(|| stack.fallback.requested_at(id))
                    .unwrap(),
            )
        })
        .collect();
    stamps.sort_unstable();
    let first = stamps[0];
    let last = *stamps.last().unwrap();
    let middle = stamps[stamps.len() / 2];
    let mut windows = vec![
        String::new(),
        format!("?from={}&to={}", iso(first), iso(last)),
        format!("?from={}&to={}", iso(first + 1), iso(last - 1)),
        format!("?from={}&to={}", iso(middle), iso(middle)),
        format!("?from={}", iso(middle)),
        format!("?to={}", iso(middle)),
        format!("?from={}", iso(middle + 1)),
        format!("?to={}", iso(middle - 1)),
        format!("?from={}&to={}", iso(last + 1), iso(last + 100_000)),
        format!("?from={}&to={}", iso(last), iso(first)),
    ];
    // Every second boundary inside the run, both sides.
    let mut boundary = (first / 1000 + 1) * 1000;
    while boundary <= last {
        windows.push(format!("?from={}&to={}", iso(first), iso(boundary - 1)));
        windows.push(format!("?from={}&to={}", iso(boundary), iso(last)));
        boundary += 1000;
    }
    for window in &windows {
        stack.assert_books_agree(window);
    }
    // The edges really cut: a one-instant window at `middle` counts exactly the payments there.
    let at_middle = stamps.iter().filter(|stamp| **stamp == middle).count() as u64;
    let (default, fallback) =
        stack.api.summary(&format!("?from={}&to={}", iso(middle), iso(middle)));
    assert_eq!(default.0 + fallback.0, at_middle);
}

#[test]
fn a_processor_slower_than_the_client_timeout_causes_no_double_payment() {
    // Attempts time out after 300 ms while the default takes 900 ms: every first attempt is
    // ambiguous and lands later. The worker must resolve each on the default, never pay twice.
    let stack = stack(&[("PROCESSOR_TIMEOUT_MS", "300"), ("AMBIGUOUS_SETTLE_MS", "5000")]);
    stack.default.set_delay(900);
    let ids = stack.pay_and_settle(25);
    stack.default.set_delay(0);
    // Let any wrong second payment land before auditing.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    stack.assert_each_paid_once(&ids);
    stack.assert_books_agree("");
    let (default, fallback) = stack.api.summary("");
    assert_eq!(default.0 + fallback.0, 25);
}

#[test]
fn a_worker_killed_mid_run_loses_and_duplicates_nothing_after_restart() {
    let mut stack = Stack::without_worker(Redis::start(), "e2e");
    stack.default.set_delay(150);
    let ids = stack.pay_many(300);
    let environment: &[(&str, &str)] = &[("WORKER_INFLIGHT_MAX", "40")];
    let mut worker = start_worker(&stack.redis, &stack.default, &stack.fallback, environment);
    wait_until("some payments recorded", || {
        let (default, fallback) = stack.api.summary("");
        default.0 + fallback.0 >= 40
    });
    worker.kill();
    let (default, fallback) = stack.api.summary("");
    assert!(default.0 + fallback.0 < 300, "the kill must land mid-run");
    // Payments the dead worker had sent may still be landing in the processor right now.
    stack.start_worker(environment);
    stack.wait_recorded(300);
    std::thread::sleep(std::time::Duration::from_millis(500));
    stack.assert_each_paid_once(&ids);
    stack.assert_books_agree("");
    assert_eq!(stack.redis.cli(&["HLEN", "rinha:processing:test-worker:0"]), "0");
}

#[test]
fn the_backend_summary_never_counts_a_payment_the_processor_does_not_have() {
    // Sampled while payments flow: every sample of our books must be at most the processors'
    // (a payment is recorded by us only after the processor has it).
    let stack = stack(&[]);
    stack.default.set_delay(50);
    let ids = stack.pay_many(80);
    for _ in 0..40 {
        let (default, fallback) = stack.api.summary("");
        let default_books = stack.default.admin_summary("");
        let fallback_books = stack.fallback.admin_summary("");
        assert!(default.0 <= default_books.0 && fallback.0 <= fallback_books.0);
    }
    stack.wait_recorded(80);
    stack.assert_each_paid_once(&ids);
}

#[test]
fn purge_resets_the_backend_books() {
    let stack = stack(&[]);
    stack.pay_many(10);
    stack.wait_recorded(10);
    let response = request(&stack.api.address, "POST", "/purge-payments", &[], "").unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(stack.api.summary(""), ((0, 0), (0, 0)));
    // A payment whose id was seen before the purge is a new payment after it.
    stack.pay_many(3);
    stack.wait_recorded(3);
}
