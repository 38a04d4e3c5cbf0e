//! Integration tests of the processor simulator against section 3 of the rules.
//!
//! # Method
//! Each test starts its own simulator on `127.0.0.1:0` (a thread with its own runtime, through
//! `common::sim::start`) and talks to it with the blocking `common::sim::SimClient`: raw HTTP/1.1
//! over `std::net::TcpStream`, one request per connection, responses framed by Content-Length.
//! Bodies are compared byte for byte where the rules fix them.
//!
//! Timing: assertions use lower bounds only (a delayed answer took at least the delay). Tests of
//! concurrency need requests to overlap; they leave generous margins (hundreds of milliseconds
//! against delays of seconds) and never assert that something was fast.

use std::{
    sync::{Arc, Barrier},
    thread,
    time::{Duration, Instant},
};

mod common;

use common::{
    http::Response,
    sim::{decimal_to_cents, parse_summary, start, SimClient},
};
use rinha::{
    net::Endpoint,
    processor_sim::{behaviour::Fee, SimSettings},
};

const TOKEN: &str = "123";

fn simulator(settings: SimSettings) -> SimClient {
    let endpoint = Endpoint::parse("127.0.0.1:0").expect("a valid endpoint");
    let port = start(settings, endpoint).expect("the simulator starts");
    assert_ne!(port, 0);
    SimClient::new(port)
}

fn default_simulator() -> SimClient {
    simulator(SimSettings::default())
}

fn id(number: u64) -> String {
    format!("4a7901b8-7d26-4d9d-aa19-{number:012x}")
}

fn summary_text(client: &SimClient, from: Option<&str>, to: Option<&str>) -> String {
    let response = client.summary_response(TOKEN, [from, to]).unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    response.text()
}

/// Posts payments `id(0)`, `id(1)` and `id(2)` of `amount`, all at one `requestedAt`; each must
/// be accepted (`200`).
fn post_three(client: &SimClient, amount: &str) {
    for number in 0..3 {
        let response =
            client.post_payment(&id(number), amount, "2025-07-15T12:34:56.000Z").unwrap();
        assert_status(&response, 200);
    }
}

fn assert_status(response: &Response, status: u16) {
    assert_eq!(response.status, status, "body: {}", response.text());
}

#[test]
fn payment_then_duplicate_gives_200_then_422() {
    let client = default_simulator();
    let first = client.post_payment(&id(1), "19.90", "2025-07-15T12:34:56.000Z").unwrap();
    assert_status(&first, 200);
    assert_eq!(first.text(), "{\"message\":\"payment processed successfully\"}");
    assert_eq!(first.header("content-type"), Some("application/json"));
    let duplicate = client.post_payment(&id(1), "5.00", "2025-07-15T12:35:00.000Z").unwrap();
    assert_status(&duplicate, 422);
    // The first payment stays as recorded.
    let stored = client.get_payment(&id(1)).unwrap();
    assert_status(&stored, 200);
    assert!(stored.text().contains("\"amount\":19.90"), "{}", stored.text());
    let summary = client.summary(TOKEN, [None, None]).unwrap();
    assert_eq!((summary.total_requests, summary.total_amount_cents), (1, 1990));
}

#[test]
fn malformed_bodies_give_400() {
    let client = default_simulator();
    let valid_id = id(7);
    let at = "\"requestedAt\":\"2025-07-15T12:34:56.000Z\"";
    let with_id = |rest: &str| format!("{{\"correlationId\":\"{valid_id}\",{rest}}}");
    let cases: &[(&str, String)] = &[
        ("empty", String::new()),
        ("not json", "hello".to_string()),
        ("truncated", "{\"correlationId\":".to_string()),
        ("array", "[1,2]".to_string()),
        ("missing amount", with_id(at)),
        ("missing requestedAt", with_id("\"amount\":1.00")),
        ("missing correlationId", format!("{{\"amount\":1.00,{at}}}")),
        ("id not a uuid", format!("{{\"correlationId\":\"abc\",\"amount\":1.00,{at}}}")),
        ("id as number", format!("{{\"correlationId\":5,\"amount\":1.00,{at}}}")),
        ("amount as string", with_id(&format!("\"amount\":\"1.00\",{at}"))),
        ("negative amount", with_id(&format!("\"amount\":-1.00,{at}"))),
        ("date not a timestamp", with_id("\"amount\":1.00,\"requestedAt\":\"yesterday\"")),
        ("date without zone", with_id("\"amount\":1.00,\"requestedAt\":\"2025-07-15T12:34:56\"")),
    ];
    for (name, body) in cases {
        let response = client.send("POST", "/payments", &[], body.as_bytes()).unwrap();
        assert_eq!(response.status, 400, "case {name}: {}", response.text());
    }
    // Nothing was stored by any of them, and the valid id is still free.
    assert_eq!(client.summary(TOKEN, [None, None]).unwrap().total_requests, 0);
    let valid = client.post_payment(&valid_id, "1.00", "2025-07-15T12:34:56.000Z").unwrap();
    assert_status(&valid, 200);
}

#[test]
fn delay_applies_to_payments() {
    let client = default_simulator();
    let changed = client.set_delay(TOKEN, 400).unwrap();
    assert_status(&changed, 200);
    let started = Instant::now();
    let response = client.post_payment(&id(1), "1.00", "2025-07-15T12:34:56.000Z").unwrap();
    assert_status(&response, 200);
    assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
}

#[test]
fn failure_gives_500_and_stores_nothing() {
    let client = default_simulator();
    assert_status(&client.set_failure(TOKEN, true).unwrap(), 200);
    let before = summary_text(&client, None, None);
    let failed = client.post_payment(&id(1), "1.00", "2025-07-15T12:34:56.000Z").unwrap();
    assert_status(&failed, 500);
    assert_eq!(summary_text(&client, None, None), before);
    assert_status(&client.get_payment(&id(1)).unwrap(), 404);
    // Once recovered, the same id is new to the processor: it was never recorded.
    assert_status(&client.set_failure(TOKEN, false).unwrap(), 200);
    let retried = client.post_payment(&id(1), "1.00", "2025-07-15T12:34:56.000Z").unwrap();
    assert_status(&retried, 200);
}

#[test]
fn failure_switched_on_during_the_delay_applies() {
    let client = default_simulator();
    assert_status(&client.set_delay(TOKEN, 1500).unwrap(), 200);
    let payer = {
        let client = client.clone();
        thread::spawn(move || client.post_payment(&id(1), "1.00", "2025-07-15T12:34:56.000Z"))
    };
    // Well inside the 1.5 s delay of the payment above.
    thread::sleep(Duration::from_millis(300));
    assert_status(&client.set_failure(TOKEN, true).unwrap(), 200);
    let response = payer.join().unwrap().unwrap();
    assert_status(&response, 500);
    assert_eq!(client.summary(TOKEN, [None, None]).unwrap().total_requests, 0);
}

#[test]
fn limiter_queues_then_refuses_with_retry_after() {
    let delay_ms = 1500;
    let client = simulator(SimSettings { inflight_max: 2, queue_max: 1, ..SimSettings::default() });
    assert_status(&client.set_delay(TOKEN, delay_ms).unwrap(), 200);
    let started = Instant::now();
    let payers: Vec<_> = (0..3)
        .map(|number| {
            let client = client.clone();
            thread::spawn(move || {
                let response = client.post_payment(&id(number), "1.00", "2025-07-15T12:34:56.000Z");
                (response.unwrap(), started.elapsed())
            })
        })
        .collect();
    // Let the three reach the limiter (two in progress, one waiting); far less than the delay.
    thread::sleep(Duration::from_millis(400));
    let refused = client.post_payment(&id(3), "1.00", "2025-07-15T12:34:56.000Z").unwrap();
    assert_status(&refused, 429);
    assert_eq!(refused.header("retry-after"), Some("5"));
    let mut elapsed: Vec<Duration> = Vec::new();
    for payer in payers {
        let (response, took) = payer.join().unwrap();
        assert_status(&response, 200);
        elapsed.push(took);
    }
    // The queued one waited for a permit, then for its own delay.
    elapsed.sort();
    assert!(elapsed[2] >= Duration::from_millis(2 * delay_ms), "{elapsed:?}");
    let summary = client.summary(TOKEN, [None, None]).unwrap();
    assert_eq!(summary.total_requests, 3);
    assert_status(&client.get_payment(&id(3)).unwrap(), 404);
}

#[test]
fn health_grants_one_now_queues_two_and_refuses_the_rest() {
    let window = Duration::from_millis(1000);
    let client = simulator(SimSettings {
        health_window_ms: window.as_millis() as u64,
        health_queue_max: 2,
        ..SimSettings::default()
    });
    let barrier = Arc::new(Barrier::new(4));
    let started = Instant::now();
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let (client, barrier) = (client.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                let response = client.service_health().unwrap();
                (response, started.elapsed())
            })
        })
        .collect();
    let mut answered: Vec<Duration> = Vec::new();
    let mut refused = 0;
    for caller in callers {
        let (response, took) = caller.join().unwrap();
        match response.status {
            200 => {
                assert_eq!(response.text(), "{\"failing\":false,\"minResponseTime\":0}");
                answered.push(took);
            }
            429 => {
                assert_eq!(response.header("retry-after"), Some("5"));
                refused += 1;
            }
            other => panic!("unexpected status {other}: {}", response.text()),
        }
    }
    assert_eq!((answered.len(), refused), (3, 1));
    // The queued calls were answered one and two windows after the first.
    answered.sort();
    assert!(answered[1] >= window, "{answered:?}");
    assert!(answered[2] >= 2 * window, "{answered:?}");
}

#[test]
fn queued_health_call_reports_the_state_when_its_window_opens() {
    let client = simulator(SimSettings { health_window_ms: 1500, ..SimSettings::default() });
    let first = client.service_health().unwrap();
    assert_status(&first, 200);
    assert_eq!(first.text(), "{\"failing\":false,\"minResponseTime\":0}");
    let queued = {
        let client = client.clone();
        thread::spawn(move || client.service_health().unwrap())
    };
    thread::sleep(Duration::from_millis(300));
    assert_status(&client.set_delay(TOKEN, 77).unwrap(), 200);
    assert_status(&client.set_failure(TOKEN, true).unwrap(), 200);
    let queued = queued.join().unwrap();
    assert_status(&queued, 200);
    assert_eq!(queued.text(), "{\"failing\":true,\"minResponseTime\":77}");
}

#[test]
fn get_payment_returns_the_stored_fields_or_404() {
    let client = default_simulator();
    let correlation_id = "4A7901B8-7D26-4D9D-AA19-4DC1C7CF60B3";
    let posted =
        client.post_payment(correlation_id, "19.9", "2025-07-15T12:34:56.123456Z").unwrap();
    assert_status(&posted, 200);
    let expected = "{\"correlationId\":\"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3\",\"amount\":19.90,\
\"requestedAt\":\"2025-07-15T12:34:56.123456Z\"}";
    for lookup in [correlation_id, "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3"] {
        let found = client.get_payment(lookup).unwrap();
        assert_status(&found, 200);
        assert_eq!(found.text(), expected);
    }
    let millis = client.post_payment(&id(2), "0.01", "2025-07-15T12:34:56.120Z").unwrap();
    assert_status(&millis, 200);
    let found = client.get_payment(&id(2)).unwrap();
    assert!(found.text().contains("\"amount\":0.01"), "{}", found.text());
    assert!(found.text().contains("\"requestedAt\":\"2025-07-15T12:34:56.120000Z\""));
    assert_status(&client.get_payment(&id(99)).unwrap(), 404);
    assert_status(&client.get_payment("not-a-uuid").unwrap(), 404);
}

#[test]
fn amounts_are_rounded_to_cents() {
    let client = default_simulator();
    assert_status(&client.post_payment(&id(1), "10.004", "2025-07-15T12:34:56.000Z").unwrap(), 200);
    assert_status(&client.post_payment(&id(2), "10.006", "2025-07-15T12:34:56.000Z").unwrap(), 200);
    assert_status(&client.post_payment(&id(3), "20", "2025-07-15T12:34:56.000Z").unwrap(), 200);
    let summary = client.summary(TOKEN, [None, None]).unwrap();
    assert_eq!(summary.total_amount_cents, 1000 + 1001 + 2000);
}

#[test]
fn get_payment_is_never_delayed_nor_failed() {
    let client = default_simulator();
    assert_status(&client.post_payment(&id(1), "1.00", "2025-07-15T12:34:56.000Z").unwrap(), 200);
    assert_status(&client.set_delay(TOKEN, 60_000).unwrap(), 200);
    assert_status(&client.set_failure(TOKEN, true).unwrap(), 200);
    // Far below the 60 s delay: a GET that were delayed would time out here.
    let patient = client.clone().with_read_timeout(Duration::from_secs(20));
    assert_status(&patient.get_payment(&id(1)).unwrap(), 200);
    assert_status(&patient.get_payment(&id(2)).unwrap(), 404);
}

#[test]
fn admin_endpoints_require_the_token() {
    let client = default_simulator();
    let calls: [(&str, &str, &[u8]); 5] = [
        ("GET", "/admin/payments-summary", b""),
        ("PUT", "/admin/configurations/token", b"{\"token\":\"x\"}"),
        ("PUT", "/admin/configurations/delay", b"{\"delay\":1}"),
        ("PUT", "/admin/configurations/failure", b"{\"failure\":true}"),
        ("POST", "/admin/purge-payments", b""),
    ];
    for (method, path, body) in calls {
        let wrong = client.send(method, path, &[("X-Rinha-Token", "nope")], body).unwrap();
        assert_eq!(wrong.status, 401, "{method} {path} with a wrong token");
        let missing = client.send(method, path, &[], body).unwrap();
        assert_eq!(missing.status, 401, "{method} {path} without a token");
    }
    // Nothing above took effect.
    let health = client.service_health().unwrap();
    assert_eq!(health.text(), "{\"failing\":false,\"minResponseTime\":0}");
}

#[test]
fn token_change_takes_effect() {
    let client = default_simulator();
    let changed = client.set_token(TOKEN, "s3cret").unwrap();
    assert_status(&changed, 204);
    assert!(changed.body.is_empty());
    assert_status(&client.summary_response(TOKEN, [None, None]).unwrap(), 401);
    assert_status(&client.summary_response("s3cret", [None, None]).unwrap(), 200);
    assert_status(&client.set_token("s3cret", "").unwrap(), 400);
    assert_status(&client.summary_response("s3cret", [None, None]).unwrap(), 200);
}

#[test]
fn delay_and_failure_report_was_and_is() {
    let client = default_simulator();
    assert_eq!(
        client.set_delay(TOKEN, 235).unwrap().text(),
        "{\"config\":\"delay\",\"was\":0,\"is\":235}"
    );
    assert_eq!(
        client.set_delay(TOKEN, 0).unwrap().text(),
        "{\"config\":\"delay\",\"was\":235,\"is\":0}"
    );
    let on = client.set_failure(TOKEN, true).unwrap();
    assert_status(&on, 200);
    assert_eq!(on.text(), "{\"config\":\"failure\",\"was\":false,\"is\":true}");
    let off = client.set_failure(TOKEN, false).unwrap();
    assert_eq!(off.text(), "{\"config\":\"failure\",\"was\":true,\"is\":false}");
    let headers = [("X-Rinha-Token", TOKEN)];
    for body in [&b"{\"delay\":-1}"[..], b"{\"delay\":\"5\"}", b"{}", b"nope"] {
        let response = client.send("PUT", "/admin/configurations/delay", &headers, body).unwrap();
        assert_eq!(response.status, 400, "{}", String::from_utf8_lossy(body));
    }
    let response =
        client.send("PUT", "/admin/configurations/failure", &headers, b"{\"failure\":1}");
    assert_status(&response.unwrap(), 400);
}

#[test]
fn purge_empties_the_books() {
    let client = default_simulator();
    post_three(&client, "2.50");
    assert_eq!(client.summary(TOKEN, [None, None]).unwrap().total_requests, 3);
    let purged = client.purge(TOKEN).unwrap();
    assert_status(&purged, 200);
    assert_eq!(purged.text(), "{\"message\":\"All payments purged.\"}");
    let summary = client.summary(TOKEN, [None, None]).unwrap();
    assert_eq!((summary.total_requests, summary.total_amount_cents), (0, 0));
    assert_status(&client.get_payment(&id(0)).unwrap(), 404);
    // A purged id may be paid again.
    assert_status(&client.post_payment(&id(0), "2.50", "2025-07-15T12:34:56.000Z").unwrap(), 200);
}

#[test]
fn summary_bounds_are_inclusive_to_the_microsecond() {
    let client = default_simulator();
    let payments = [
        (1, "1.00", "2025-07-15T12:34:56.123455Z"),
        (2, "10.00", "2025-07-15T12:34:56.123456Z"),
        (3, "100.00", "2025-07-15T12:34:56.123457Z"),
    ];
    for (number, amount, requested_at) in payments {
        assert_status(&client.post_payment(&id(number), amount, requested_at).unwrap(), 200);
    }
    let count = |from: Option<&str>, to: Option<&str>| {
        let summary = client.summary(TOKEN, [from, to]).unwrap();
        (summary.total_requests, summary.total_amount_cents)
    };
    let exact = Some("2025-07-15T12:34:56.123456Z");
    let after = Some("2025-07-15T12:34:56.123457Z");
    let before = Some("2025-07-15T12:34:56.123455Z");
    assert_eq!(count(None, None), (3, 11100));
    assert_eq!(count(exact, exact), (1, 1000));
    assert_eq!(count(exact, None), (2, 11000));
    assert_eq!(count(after, None), (1, 10000));
    assert_eq!(count(None, exact), (2, 1100));
    assert_eq!(count(None, before), (1, 100));
    assert_eq!(count(after, before), (0, 0));
    // Millisecond bounds, as the load test sends them: .123 is before all three, .124 after.
    assert_eq!(
        count(Some("2025-07-15T12:34:56.123Z"), Some("2025-07-15T12:34:56.124Z")),
        (3, 11100)
    );
    assert_eq!(count(None, Some("2025-07-15T12:34:56.123Z")), (0, 0));
    // Percent-encoded colons are understood too.
    assert_eq!(count(Some("2025-07-15T12%3A34%3A56.123456Z"), None), (2, 11000));
    for bad in ["yesterday", "2025-07-15", "2025-07-15T12:34:56.123"] {
        let response = client.summary_response(TOKEN, [Some(bad), None]).unwrap();
        assert_eq!(response.status, 400, "from={bad}");
        let response = client.summary_response(TOKEN, [None, Some(bad)]).unwrap();
        assert_eq!(response.status, 400, "to={bad}");
    }
}

#[test]
fn summary_fee_is_exact() {
    let client = default_simulator();
    post_three(&client, "19.90");
    // 59.70 * 0.05 = 2.985, rounded half up.
    assert_eq!(
        summary_text(&client, None, None),
        "{\"totalRequests\":3,\"totalAmount\":59.70,\"totalFee\":2.99,\"feePerTransaction\":0.05}"
    );
    let fallback =
        simulator(SimSettings { fee: Fee::parse("0.07").unwrap(), ..SimSettings::default() });
    post_three(&fallback, "20.05");
    // 60.15 * 0.07 = 4.2105.
    assert_eq!(
        summary_text(&fallback, None, None),
        "{\"totalRequests\":3,\"totalAmount\":60.15,\"totalFee\":4.21,\"feePerTransaction\":0.07}"
    );
    assert_eq!(
        summary_text(&fallback, Some("2030-01-01T00:00:00.000Z"), None),
        "{\"totalRequests\":0,\"totalAmount\":0.00,\"totalFee\":0.00,\"feePerTransaction\":0.07}"
    );
}

#[test]
fn unknown_route_is_404_and_wrong_method_is_405() {
    let client = default_simulator();
    assert_status(&client.send("GET", "/nowhere", &[], b"").unwrap(), 404);
    assert_status(&client.send("GET", "/payments-summary", &[], b"").unwrap(), 404);
    assert_status(&client.send("GET", "/payments", &[], b"").unwrap(), 405);
    assert_status(&client.send("DELETE", "/payments", &[], b"").unwrap(), 405);
    assert_status(&client.send("POST", "/payments/service-health", &[], b"").unwrap(), 405);
    assert_status(&client.send("PUT", &format!("/payments/{}", id(1)), &[], b"").unwrap(), 405);
    let headers = [("X-Rinha-Token", TOKEN)];
    assert_status(&client.send("GET", "/admin/purge-payments", &headers, b"").unwrap(), 405);
}

#[test]
fn start_refuses_invalid_settings() {
    let endpoint = Endpoint::parse("127.0.0.1:0").unwrap();
    let error =
        start(SimSettings { inflight_max: 0, ..SimSettings::default() }, endpoint).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

/// Sends one payment on a raw connection and reads until the simulator closes it or `bound`
/// passes. Returns what arrived, and how the read ended.
fn raw_payment(port: u16, number: u64, bound: Duration) -> (Vec<u8>, std::io::Result<()>) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(bound)).unwrap();
    let body = format!(
        "{{\"correlationId\":\"{}\",\"amount\":1.00,\"requestedAt\":\"2025-07-15T12:34:56.000Z\"}}",
        id(number)
    );
    let request = format!(
        "POST /payments HTTP/1.1\r\nHost: p\r\nContent-Type: application/json\r\n\
Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut received = Vec::new();
    let ended = stream.read_to_end(&mut received).map(drop);
    (received, ended)
}

fn fault_simulator() -> (SimClient, u16) {
    let endpoint = Endpoint::parse("127.0.0.1:0").expect("a valid endpoint");
    let port = start(SimSettings::default(), endpoint).expect("the simulator starts");
    (SimClient::new(port), port)
}

#[test]
fn fault_modes_are_switched_by_the_admin_api_only() {
    let (client, _) = fault_simulator();
    let changed = client.set_fault(TOKEN, "reset").unwrap();
    assert_status(&changed, 200);
    assert_eq!(changed.text(), "{\"config\":\"fault\",\"was\":\"none\",\"is\":\"reset\"}");
    assert_status(&client.set_fault(TOKEN, "sometimes").unwrap(), 400);
    assert_status(&client.set_fault("wrong", "none").unwrap(), 401);
    let back = client.set_fault(TOKEN, "none").unwrap();
    assert_eq!(back.text(), "{\"config\":\"fault\",\"was\":\"reset\",\"is\":\"none\"}");
    // The contest's endpoints have no such switch, and the fault stays off.
    for method in ["POST", "PUT"] {
        let response = client.send(method, "/payments/fault", &[], b"{\"fault\":\"reset\"}");
        let status = response.unwrap().status;
        assert!(status == 404 || status == 405, "{method}: {status}");
    }
    let paid = client.post_payment(&id(1), "1.00", "2025-07-15T12:34:56.000Z").unwrap();
    assert_status(&paid, 200);
}

#[test]
fn each_fault_mode_strikes_the_answer_after_the_payment_is_recorded() {
    let (client, port) = fault_simulator();
    let bound = Duration::from_secs(30);
    // reset: no answer, the connection is aborted (RST), and the payment is in the books.
    assert_status(&client.set_fault(TOKEN, "reset").unwrap(), 200);
    let (received, ended) = raw_payment(port, 1, bound);
    assert!(received.is_empty(), "{}", received.escape_ascii());
    let error = ended.expect_err("a reset is an error on read");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
    assert_status(&client.get_payment(&id(1)).unwrap(), 200);
    // silent: nothing arrives and the connection stays open (the read times out).
    assert_status(&client.set_fault(TOKEN, "silent").unwrap(), 200);
    let (received, ended) = raw_payment(port, 2, Duration::from_millis(500));
    assert!(received.is_empty(), "{}", received.escape_ascii());
    let error = ended.expect_err("the read must time out");
    assert!(
        matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
        "{error}"
    );
    assert_status(&client.get_payment(&id(2)).unwrap(), 200);
    // truncated: the first half of the real answer, then a close.
    assert_status(&client.set_fault(TOKEN, "truncated").unwrap(), 200);
    let (received, ended) = raw_payment(port, 3, bound);
    ended.unwrap();
    let full = b"HTTP/1.1 200 OK\r\n";
    assert!(received.starts_with(&full[..8]), "{}", received.escape_ascii());
    assert!(!received.windows(4).any(|window| window == b"\r\n\r\n"), "a whole head arrived");
    assert_status(&client.get_payment(&id(3)).unwrap(), 200);
    // garbage: bytes that are not HTTP, then a close.
    assert_status(&client.set_fault(TOKEN, "garbage").unwrap(), 200);
    let (received, ended) = raw_payment(port, 4, bound);
    ended.unwrap();
    assert!(!received.is_empty() && !received.starts_with(b"HTTP/"));
    assert_status(&client.get_payment(&id(4)).unwrap(), 200);
    // bad-body: a 200 whose body is not JSON.
    assert_status(&client.set_fault(TOKEN, "bad-body").unwrap(), 200);
    let response = client.post_payment(&id(5), "1.00", "2025-07-15T12:34:56.000Z").unwrap();
    assert_status(&response, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&response.body).is_err());
    assert_status(&client.get_payment(&id(5)).unwrap(), 200);
    // busy: 429 with Retry-After, and nothing recorded.
    assert_status(&client.set_fault(TOKEN, "busy").unwrap(), 200);
    let response = client.post_payment(&id(6), "1.00", "2025-07-15T12:34:56.000Z").unwrap();
    assert_status(&response, 429);
    assert_eq!(response.header("retry-after"), Some("5"));
    assert_status(&client.get_payment(&id(6)).unwrap(), 404);
    // Back to normal: the health endpoint and lookups were never affected.
    assert_status(&client.set_fault(TOKEN, "none").unwrap(), 200);
    assert_status(&client.service_health().unwrap(), 200);
    assert_eq!(client.summary(TOKEN, [None, None]).unwrap().total_requests, 5);
    // The ids of the recorded payments (1 to 5), for the fault suite.
    let ids = client.send("GET", "/admin/payment-ids", &[("X-Rinha-Token", TOKEN)], b"").unwrap();
    assert_status(&ids, 200);
    let mut listed: Vec<String> = ids.text().lines().map(str::to_string).collect();
    listed.sort();
    assert_eq!(listed, (1..=5).map(id).collect::<Vec<_>>());
    let refused = client.send("GET", "/admin/payment-ids", &[], b"").unwrap();
    assert_status(&refused, 401);
}

#[test]
fn parses_a_summary() {
    let body = "{\"totalRequests\":3,\"totalAmount\":59.70,\"totalFee\":2.99,\
\"feePerTransaction\":0.05}";
    let summary = parse_summary(body).unwrap();
    assert_eq!(summary.total_requests, 3);
    assert_eq!(summary.total_amount_cents, 5970);
    assert_eq!(summary.total_fee_cents, 299);
    assert_eq!(summary.fee_per_transaction, "0.05");
}

#[test]
fn decimals_to_cents() {
    assert_eq!(decimal_to_cents("0.00"), Some(0));
    assert_eq!(decimal_to_cents("19.9"), Some(1990));
    assert_eq!(decimal_to_cents("7"), Some(700));
    assert_eq!(decimal_to_cents("1.234"), None);
    assert_eq!(decimal_to_cents("-1.00"), None);
    assert_eq!(decimal_to_cents(".5"), None);
}
