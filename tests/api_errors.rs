//! The API's answers to bad input, over raw bytes on real sockets (Redis real, no worker).
//!
//! Method: a table of raw requests, each sent on its own connection, with the exact status line
//! expected and whether the server must close afterwards. After every case a valid payment on a
//! fresh connection must still be accepted: bad input never takes the server down. Pipelining and
//! keep-alive after a recoverable error are checked on one connection.

mod common;

use std::{
    io::{Read, Write},
    os::unix::net::UnixStream,
    time::Duration,
};

use common::*;

const VALID_BODY: &str =
    r#"{"correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3","amount":19.90}"#;

fn post(path: &str, body: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
}

fn status_line(response: &[u8]) -> String {
    let text = String::from_utf8_lossy(response);
    text.split("\r\n").next().unwrap_or_default().to_string()
}

#[test]
fn every_route_answers_bad_input_with_its_4xx_and_keeps_serving() {
    let directory = TempDir::new("api-errors");
    let redis = Redis::start();
    let api = Api::start(&redis, &directory.0, "api");
    let huge_body = "x".repeat(5000);
    let many_headers: String = (0..40).map(|index| format!("X-H{index}: v\r\n")).collect();
    let cases: Vec<(&str, String, &str)> = vec![
        ("valid payment", post("/payments", VALID_BODY), "HTTP/1.1 202 Accepted"),
        ("not json", post("/payments", "hello"), "HTTP/1.1 400 Bad Request"),
        ("empty body", post("/payments", ""), "HTTP/1.1 400 Bad Request"),
        (
            "missing amount",
            post("/payments", r#"{"correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3"}"#),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "bad uuid",
            post("/payments", r#"{"correlationId":"nope","amount":1}"#),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "three places",
            post(
                "/payments",
                r#"{"correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3","amount":1.234}"#,
            ),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "negative amount",
            post(
                "/payments",
                r#"{"correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3","amount":-1}"#,
            ),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "zero amount",
            post(
                "/payments",
                r#"{"correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3","amount":0}"#,
            ),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "amount as string",
            post(
                "/payments",
                r#"{"correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3","amount":"1"}"#,
            ),
            "HTTP/1.1 400 Bad Request",
        ),
        ("body too large", post("/payments", &huge_body), "HTTP/1.1 413 Payload Too Large"),
        ("unknown route", "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n".into(), "HTTP/1.1 404 Not Found"),
        (
            "wrong method on payments",
            "GET /payments HTTP/1.1\r\nHost: t\r\n\r\n".into(),
            "HTTP/1.1 405 Method Not Allowed",
        ),
        (
            "wrong method on summary",
            post("/payments-summary", ""),
            "HTTP/1.1 405 Method Not Allowed",
        ),
        (
            "wrong method on purge",
            "GET /purge-payments HTTP/1.1\r\nHost: t\r\n\r\n".into(),
            "HTTP/1.1 405 Method Not Allowed",
        ),
        (
            "odd method",
            "BREW /payments HTTP/1.1\r\nHost: t\r\n\r\n".into(),
            "HTTP/1.1 405 Method Not Allowed",
        ),
        (
            "bad from",
            "GET /payments-summary?from=yesterday HTTP/1.1\r\nHost: t\r\n\r\n".into(),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "bad to",
            "GET /payments-summary?to=2025-99-01T00:00:00.000Z HTTP/1.1\r\nHost: t\r\n\r\n".into(),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "summary ok",
            "GET /payments-summary?from=2025-07-10T12:34:56.000Z HTTP/1.1\r\nHost: t\r\n\r\n"
                .into(),
            "HTTP/1.1 200 OK",
        ),
        ("garbage request line", "HELLO\r\n\r\n".into(), "HTTP/1.1 400 Bad Request"),
        (
            "duplicate content-length",
            "POST /payments HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}".into(),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "non-numeric content-length",
            "POST /payments HTTP/1.1\r\nContent-Length: abc\r\n\r\n".into(),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "chunked body",
            "POST /payments HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(),
            "HTTP/1.1 501 Not Implemented",
        ),
        (
            "too many headers",
            format!("GET /payments-summary HTTP/1.1\r\n{many_headers}\r\n"),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "head larger than the buffer",
            format!("GET /payments-summary HTTP/1.1\r\nX-Big: {}\r\n\r\n", "y".repeat(20_000)),
            "HTTP/1.1 413 Payload Too Large",
        ),
    ];
    for (name, raw, expected) in &cases {
        let mut bytes = raw.clone().into_bytes();
        // Close our side after the request unless the server closes first: ask for a close.
        if !bytes.windows(18).any(|window| window.eq_ignore_ascii_case(b"connection: close\r\n")) {
            let head_end = bytes.windows(2).position(|window| window == b"\r\n").unwrap() + 2;
            bytes.splice(head_end..head_end, b"Connection: close\r\n".iter().copied());
        }
        let response = raw_exchange(&api.address, &bytes).unwrap();
        assert_eq!(
            status_line(&response),
            *expected,
            "case {name}: {}",
            String::from_utf8_lossy(&response)
        );
        assert_eq!(api.pay(&uuid(), "1.00"), 202, "server still serves after {name}");
    }
}

#[test]
fn pipelined_requests_get_ordered_answers_and_a_400_keeps_the_connection() {
    let directory = TempDir::new("api-pipeline");
    let redis = Redis::start();
    let api = Api::start(&redis, &directory.0, "api");
    let Address::Unix(path) = &api.address else { unreachable!() };
    let mut stream = UnixStream::connect(path).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let pipelined = format!(
        "{}{}{}GET /payments-summary HTTP/1.1\r\nHost: t\r\n\r\n",
        post("/payments", VALID_BODY),
        post("/payments", "{}"),
        post("/payments", &VALID_BODY.replace("4a7901b8", "5b7901b8")),
    );
    // Split the write mid-request to exercise the partial path too.
    let (first, second) = pipelined.as_bytes().split_at(pipelined.len() / 2 + 3);
    stream.write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    stream.write_all(second).unwrap();
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    while received.windows(15).filter(|window| window == b"HTTP/1.1 ").count() < 4
        || !received.ends_with(b"}")
    {
        let read = stream.read(&mut chunk).unwrap();
        assert!(read > 0, "connection closed early: {}", String::from_utf8_lossy(&received));
        received.extend_from_slice(&chunk[..read]);
        if received.windows(9).filter(|window| window == b"HTTP/1.1 ").count() >= 4
            && received.ends_with(b"}")
        {
            break;
        }
    }
    let text = String::from_utf8_lossy(&received);
    let statuses: Vec<&str> =
        text.match_indices("HTTP/1.1 ").map(|(at, _)| &text[at + 9..at + 12]).collect();
    assert_eq!(statuses, ["202", "400", "202", "200"], "{text}");
    // Both accepted payments are in the queue, in order.
    assert_eq!(redis.cli(&["LLEN", "rinha:queue"]), "2");
}

#[test]
fn without_redis_payments_are_refused_not_lost() {
    let directory = TempDir::new("api-noredis");
    let redis = Redis::start();
    let api = Api::start(&redis, &directory.0, "api");
    drop(redis);
    // The API must answer 503 (nothing kept), never 202, once Redis is gone.
    wait_until("api notices redis is gone", || api.pay(&uuid(), "1.00") == 503);
}
