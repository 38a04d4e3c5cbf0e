//! Tests of the HTTP/1.1 request parser, `rinha::http::request`.
//!
//! # Method
//! - *Table:* the `cases!` macro makes one named `#[test]` per input, in the manner of httparse's
//!   `req!`. A complete case must consume exactly the whole input; every error case names the
//!   exact [`ParseError`] variant. Expected values come from HTTP/1.1 (RFC 9112) and from the
//!   parser's documented limits, not from running the parser.
//! - *Partial:* every strict prefix of every complete table case gives `Ok(None)`, and a simulated
//!   connection that receives one byte at a time sees the same requests as one that receives
//!   everything at once.
//! - *Pipelined:* two requests and half of a third give two results whose lengths add up to the
//!   bytes consumed, and leave the third incomplete.
//! - *Adversarial:* header-count, Content-Length and body-size limits at and just past the bound.
//! - *Properties* (`proptest`): random bytes never panic, and a strict prefix of any input is
//!   either `Ok(None)` or the same result as the whole; requests built by a strategy from a
//!   model (method, target, headers, version, body) parse to the model's values, and every split
//!   point gives `Ok(None)` before the end.

mod framing;

use framing::{
    assert_byte_at_a_time_equals_whole, assert_every_strict_prefix_is_incomplete,
    assert_what_follows_is_ignored, cases, complete_inputs, receive,
};
use proptest::prelude::*;
use rinha::http::request::{
    parse_request, percent_decode, query_value, Method, ParseError, Request, BODY_BYTES_MAX,
    HEADERS_MAX,
};

/// An owned copy of a parsed request, so results can be compared and stored.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Parsed {
    method: Method,
    path: Vec<u8>,
    query: Vec<u8>,
    token: Option<Vec<u8>>,
    keep_alive: bool,
    body: Vec<u8>,
    len: usize,
}

impl Parsed {
    fn from_request(buffer: &[u8], request: &Request<'_>) -> Self {
        Self {
            method: request.method,
            path: request.path.to_vec(),
            query: request.query.to_vec(),
            token: request.header("x-rinha-token").map(<[u8]>::to_vec),
            keep_alive: request.keep_alive,
            body: buffer[request.body_range()].to_vec(),
            len: request.len,
        }
    }
}

fn parse_owned(buffer: &[u8]) -> Result<Option<Parsed>, ParseError> {
    parse_request(buffer).map(|parsed| parsed.map(|request| Parsed::from_request(buffer, &request)))
}

/// What a table case expects. A complete request must span the whole input.
#[derive(Debug)]
enum Expected {
    Complete {
        method: Method,
        path: &'static str,
        query: &'static str,
        keep_alive: bool,
        body: &'static str,
    },
    CompleteWithToken {
        token: &'static str,
    },
    Incomplete,
    Error(ParseError),
}

/// A complete request spanning the whole input.
const fn complete(
    method: Method,
    path: &'static str,
    query: &'static str,
    keep_alive: bool,
    body: &'static str,
) -> Expected {
    Expected::Complete { method, path, query, keep_alive, body }
}

/// A complete keep-alive `GET` with no body and no query.
const fn get(path: &'static str) -> Expected {
    complete(Method::Get, path, "", true, "")
}

fn check_case(input: &[u8], expected: Expected) {
    let result = parse_owned(input);
    match expected {
        Expected::Complete { method, path, query, keep_alive, body } => {
            let parsed = result.expect("a valid request").expect("a complete request");
            assert_eq!(parsed.method, method);
            assert_eq!(parsed.path, path.as_bytes());
            assert_eq!(parsed.query, query.as_bytes());
            assert_eq!(parsed.keep_alive, keep_alive);
            assert_eq!(parsed.body, body.as_bytes());
            assert_eq!(parsed.len, input.len(), "a complete case consumes the whole input");
        }
        Expected::CompleteWithToken { token } => {
            let parsed = result.expect("a valid request").expect("a complete request");
            assert_eq!(parsed.token.as_deref(), Some(token.as_bytes()));
            assert_eq!(parsed.len, input.len());
        }
        Expected::Incomplete => assert_eq!(result, Ok(None)),
        Expected::Error(error) => assert_eq!(result, Err(error)),
    }
}

cases! {
    get_root: b"GET / HTTP/1.1\r\n\r\n" => get("/");
    get_with_headers: b"GET /payments-summary HTTP/1.1\r\nHost: api\r\nAccept: */*\r\n\r\n"
        => get("/payments-summary");
    get_with_query: b"GET /payments-summary?from=2025-07-10T12:34:56.000Z&to=x HTTP/1.1\r\n\r\n"
        => Expected::Complete {
            method: Method::Get,
            path: "/payments-summary",
            query: "from=2025-07-10T12:34:56.000Z&to=x",
            keep_alive: true,
            body: "",
        };
    query_splits_at_first_question_mark: b"GET /a?b?c=d HTTP/1.1\r\n\r\n"
        => complete(Method::Get, "/a", "b?c=d", true, "");
    empty_query_after_mark: b"GET /a? HTTP/1.1\r\n\r\n" => get("/a");
    post_with_body: b"POST /payments HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
        => complete(Method::Post, "/payments", "", true, "hello");
    put_with_body: b"PUT /admin HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
        => complete(Method::Put, "/admin", "", true, "{}");
    content_length_zero: b"POST /purge-payments HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
        => complete(Method::Post, "/purge-payments", "", true, "");
    content_length_name_any_case: b"POST / HTTP/1.1\r\ncOnTeNt-LeNgTh: 3\r\n\r\nabc"
        => complete(Method::Post, "/", "", true, "abc");
    content_length_leading_zeros: b"POST / HTTP/1.1\r\nContent-Length: 003\r\n\r\nabc"
        => complete(Method::Post, "/", "", true, "abc");
    // httparse strips the optional whitespace around a field value (RFC 9112 section 5).
    content_length_optional_whitespace: b"POST / HTTP/1.1\r\nContent-Length:   3  \r\n\r\nabc"
        => complete(Method::Post, "/", "", true, "abc");
    body_at_the_limit_is_accepted: &request_with_body(BODY_BYTES_MAX)
        => Expected::Complete {
            method: Method::Post,
            path: "/payments",
            query: "",
            keep_alive: true,
            body: Box::leak("x".repeat(BODY_BYTES_MAX).into_boxed_str()),
        };
    other_methods_are_other: b"DELETE /x HTTP/1.1\r\n\r\n"
        => complete(Method::Other, "/x", "", true, "");
    methods_are_case_sensitive: b"get / HTTP/1.1\r\n\r\n"
        => complete(Method::Other, "/", "", true, "");
    http10_closes_by_default: b"GET / HTTP/1.0\r\n\r\n"
        => complete(Method::Get, "/", "", false, "");
    http10_keep_alive_option: b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n" => get("/");
    http11_connection_close: b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"
        => complete(Method::Get, "/", "", false, "");
    close_wins_in_an_option_list: b"GET / HTTP/1.1\r\nConnection: keep-alive, CLOSE\r\n\r\n"
        => complete(Method::Get, "/", "", false, "");
    unrelated_connection_options_keep_default: b"GET / HTTP/1.1\r\nConnection: Upgrade\r\n\r\n"
        => get("/");
    token_header: b"GET /admin HTTP/1.1\r\nx-rinha-token: 123\r\n\r\n"
        => Expected::CompleteWithToken { token: "123" };
    token_header_any_case: b"GET /admin HTTP/1.1\r\nX-Rinha-Token: secret\r\n\r\n"
        => Expected::CompleteWithToken { token: "secret" };
    // httparse accepts LF alone as a line end (RFC 9112 section 2.2 allows it), so this is valid.
    bare_lf_line_ends_are_accepted: b"GET / HTTP/1.1\nHost: a\n\n" => get("/");
    bare_lf_empty_line_after_crlf_headers: b"GET / HTTP/1.1\r\nHost: a\r\n\n" => get("/");
    // RFC 9112 section 2.2: a server should ignore at least one empty line before the request line.
    leading_empty_line_is_skipped: b"\r\nGET / HTTP/1.1\r\n\r\n" => get("/");
    max_headers_accepted: &request_with_headers(HEADERS_MAX) => get("/");

    empty_input: b"" => Expected::Incomplete;
    truncated_method: b"GE" => Expected::Incomplete;
    truncated_version: b"GET / HTTP/1." => Expected::Incomplete;
    truncated_before_empty_line: b"GET / HTTP/1.1\r\n\r" => Expected::Incomplete;
    body_not_yet_arrived: b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhell"
        => Expected::Incomplete;
    body_at_the_limit_not_yet_arrived: b"POST / HTTP/1.1\r\nContent-Length: 4096\r\n\r\n"
        => Expected::Incomplete;

    duplicate_content_length_same_value:
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
        => Expected::Error(ParseError::ContentLengthInvalid);
    duplicate_content_length_other_value:
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\nhello!"
        => Expected::Error(ParseError::ContentLengthInvalid);
    content_length_negative: b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n"
        => Expected::Error(ParseError::ContentLengthInvalid);
    content_length_plus_sign: b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello"
        => Expected::Error(ParseError::ContentLengthInvalid);
    content_length_empty: b"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n"
        => Expected::Error(ParseError::ContentLengthInvalid);
    content_length_hex: b"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n"
        => Expected::Error(ParseError::ContentLengthInvalid);
    content_length_exponent: b"POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n"
        => Expected::Error(ParseError::ContentLengthInvalid);
    content_length_list: b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello"
        => Expected::Error(ParseError::ContentLengthInvalid);
    content_length_inner_space: b"POST / HTTP/1.1\r\nContent-Length: 1 0\r\n\r\n"
        => Expected::Error(ParseError::ContentLengthInvalid);
    content_length_twenty_digits_does_not_overflow:
        b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"
        => Expected::Error(ParseError::ContentLengthInvalid);
    content_length_wraps_to_small_if_overflowing:
        b"POST / HTTP/1.1\r\nContent-Length: 18446744073709551621\r\n\r\nhello"
        => Expected::Error(ParseError::ContentLengthInvalid);
    content_length_over_the_limit: b"POST / HTTP/1.1\r\nContent-Length: 4097\r\n\r\n"
        => Expected::Error(ParseError::BodyTooLarge);
    content_length_nine_digits_is_too_large: b"POST / HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n"
        => Expected::Error(ParseError::BodyTooLarge);
    transfer_encoding_chunked:
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        => Expected::Error(ParseError::TransferEncodingUnsupported);
    transfer_encoding_with_content_length:
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello"
        => Expected::Error(ParseError::TransferEncodingUnsupported);
    transfer_encoding_any_case: b"GET / HTTP/1.1\r\ntransfer-ENCODING: identity\r\n\r\n"
        => Expected::Error(ParseError::TransferEncodingUnsupported);
    too_many_headers: &request_with_headers(HEADERS_MAX + 1)
        => Expected::Error(ParseError::TooManyHeaders);
    version_1_2: b"GET / HTTP/1.2\r\n\r\n" => Expected::Error(ParseError::VersionUnsupported);
    version_2: b"GET / HTTP/2.0\r\n\r\n" => Expected::Error(ParseError::VersionUnsupported);
    version_not_http: b"GET / FOO/1.1\r\n\r\n" => Expected::Error(ParseError::VersionUnsupported);
    double_space_in_request_line: b"GET  / HTTP/1.1\r\n\r\n"
        => Expected::Error(ParseError::Malformed);
    missing_method: b" / HTTP/1.1\r\n\r\n" => Expected::Error(ParseError::Malformed);
    control_byte_in_target: b"GET /a\x00b HTTP/1.1\r\n\r\n"
        => Expected::Error(ParseError::Malformed);
    space_in_header_name: b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"
        => Expected::Error(ParseError::Malformed);
    empty_header_name: b"GET / HTTP/1.1\r\n: x\r\n\r\n" => Expected::Error(ParseError::Malformed);
    obsolete_line_folding: b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"
        => Expected::Error(ParseError::Malformed);
    bare_cr_in_header_value: b"GET / HTTP/1.1\r\nA: x\ry\r\n\r\n"
        => Expected::Error(ParseError::Malformed);
    bare_cr_after_request_line: b"GET / HTTP/1.1\rX" => Expected::Error(ParseError::Malformed);
    bare_cr_instead_of_empty_line: b"GET / HTTP/1.1\r\nA: b\r\n\rX"
        => Expected::Error(ParseError::Malformed);
}

/// `POST /payments` with a body of `body_len` bytes of `x`.
fn request_with_body(body_len: usize) -> Vec<u8> {
    let mut request =
        format!("POST /payments HTTP/1.1\r\nContent-Length: {body_len}\r\n\r\n").into_bytes();
    request.resize(request.len() + body_len, b'x');
    request
}

/// `GET /` with `count` distinct headers.
fn request_with_headers(count: usize) -> Vec<u8> {
    let mut request = b"GET / HTTP/1.1\r\n".to_vec();
    for index in 0..count {
        request.extend_from_slice(format!("X-Header-{index}: {index}\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    request
}

/// The table inputs that hold one whole request.
fn complete_table_inputs() -> Vec<framing::Case> {
    let consumed = |input: &[u8]| parse_request(input).ok().flatten().map(|request| request.len);
    complete_inputs(table(), consumed, 20)
}

#[test]
fn every_strict_prefix_of_a_complete_request_is_incomplete() {
    assert_every_strict_prefix_is_incomplete(&complete_table_inputs(), parse_owned, &Ok(None));
}

#[test]
fn the_large_cases_are_in_the_table_too() {
    // These inputs are built at run time; make sure the prefix test above saw them complete.
    assert!(matches!(parse_request(&request_with_headers(HEADERS_MAX)), Ok(Some(_))));
    assert!(matches!(parse_request(&request_with_body(BODY_BYTES_MAX)), Ok(Some(_))));
}

#[test]
fn a_complete_request_ignores_what_follows() {
    assert_what_follows_is_ignored(&complete_table_inputs(), b"GARBAGE\x00\xff", parse_owned);
}

/// Simulates a connection (see [`framing::receive`]): the requests and the leftover length.
fn receive_requests(chunks: Vec<Vec<u8>>) -> (Vec<Parsed>, usize) {
    let take = |buffer: &[u8]| {
        let parsed = parse_owned(buffer).expect("valid stream")?;
        let length = parsed.len;
        Some((parsed, length))
    };
    receive(chunks, take)
}

#[test]
fn byte_at_a_time_equals_whole() {
    assert_byte_at_a_time_equals_whole(&complete_table_inputs(), receive_requests);
}

#[test]
fn pipelined_two_requests_and_half_a_third() {
    let first: &[u8] = b"POST /payments HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
    let second: &[u8] = b"GET /payments-summary?from=a HTTP/1.1\r\nHost: x\r\n\r\n";
    let third: &[u8] = b"POST /payments HTTP/1.1\r\nContent-Length: 4\r\n\r\nab";
    let buffer = [first, second, third].concat();

    let mut consumed = 0;
    let mut results = Vec::new();
    while let Some(parsed) = parse_owned(&buffer[consumed..]).unwrap() {
        consumed += parsed.len;
        results.push(parsed);
    }
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].len, first.len());
    assert_eq!(results[1].len, second.len());
    assert_eq!(consumed, first.len() + second.len());
    assert_eq!(results[0].body, b"{}");
    assert_eq!(results[1].path, b"/payments-summary");
    assert_eq!(&buffer[consumed..], third, "the third request is left for the next read");
    assert_eq!(parse_owned(&buffer[consumed..]), Ok(None));
}

#[test]
fn too_many_headers_is_refused_before_the_head_ends() {
    // The 33rd header is refused as soon as it starts, without waiting for the empty line.
    let mut head = request_with_headers(HEADERS_MAX + 1);
    head.truncate(head.len() - 2);
    assert_eq!(parse_request(&head), Err(ParseError::TooManyHeaders));
}

#[test]
fn body_too_large_is_refused_before_the_body_arrives() {
    // The caller must not wait for (and buffer) a body it will refuse.
    let head = format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", BODY_BYTES_MAX + 1);
    assert_eq!(parse_request(head.as_bytes()), Err(ParseError::BodyTooLarge));
}

#[test]
fn body_length_is_bounded_by_content_length_not_by_the_buffer() {
    let request = request_with_body(10);
    let mut buffer = request.clone();
    buffer.extend_from_slice(&[b'y'; 100]);
    let parsed = parse_owned(&buffer).unwrap().unwrap();
    assert_eq!(parsed.len, request.len());
    assert_eq!(parsed.body, vec![b'x'; 10]);
}

#[test]
fn query_value_table() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("from=1&to=2", "from", Some("1")),
        ("from=1&to=2", "to", Some("2")),
        ("from=1&to=2", "fro", None),
        ("from=1&to=2", "rom", None),
        ("", "from", None),
        ("from=", "from", Some("")),
        ("from", "from", Some("")),
        ("a=1&from=x=y", "from", Some("x=y")),
        ("from=1&from=2", "from", Some("1")),
        ("From=1", "from", None),
        ("&&from=3&", "from", Some("3")),
        ("to=2025-07-10T12:34:56.000Z", "to", Some("2025-07-10T12:34:56.000Z")),
    ];
    for (query, name, expected) in cases {
        let value = query_value(query.as_bytes(), name.as_bytes());
        assert_eq!(value, expected.map(str::as_bytes), "{name} in {query:?}");
    }
}

#[test]
fn percent_decode_table() {
    /// A value, the room in the output, and what it decodes to.
    type Case = (&'static [u8], usize, Option<&'static [u8]>);
    let cases: &[Case] = &[
        (b"2025-07-10T12%3A34%3a56.000Z", 64, Some(b"2025-07-10T12:34:56.000Z")),
        (b"plain", 64, Some(b"plain")),
        (b"", 64, Some(b"")),
        (b"", 0, Some(b"")),
        (b"%41%42", 2, Some(b"AB")),
        (b"%00%ff%FF", 3, Some(b"\x00\xff\xff")),
        // `+` stays a plus: no value we decode uses it for a space.
        (b"a+b", 64, Some(b"a+b")),
        // Decoded once: `%253A` is `%3A`, not `:`.
        (b"%253A", 64, Some(b"%3A")),
        (b"%", 64, None),
        (b"%3", 64, None),
        (b"%zz", 64, None),
        (b"a%g1", 64, None),
        (b"%3g", 64, None),
        (b"%+3", 64, None),
        (b"abc", 2, None),
        (b"ab%41", 2, None),
    ];
    for (value, room, expected) in cases {
        let mut out = vec![0u8; *room];
        let decoded = percent_decode(value, &mut out).map(<[u8]>::to_vec);
        assert_eq!(decoded, expected.map(<[u8]>::to_vec), "{:?}", String::from_utf8_lossy(value));
    }
}

/// A model of one valid request, rendered by [`RequestModel::render`].
#[derive(Clone, Debug)]
struct RequestModel {
    method: &'static str,
    path: String,
    query: Option<String>,
    http10: bool,
    headers: Vec<(String, String)>,
    connection: Option<&'static str>,
    token: Option<String>,
    body: Vec<u8>,
    send_zero_length: bool,
}

impl RequestModel {
    fn render(&self) -> Vec<u8> {
        let mut out = format!("{} {}", self.method, self.path).into_bytes();
        if let Some(query) = &self.query {
            out.extend_from_slice(format!("?{query}").as_bytes());
        }
        out.extend_from_slice(if self.http10 { b" HTTP/1.0\r\n" } else { b" HTTP/1.1\r\n" });
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        if let Some(connection) = self.connection {
            out.extend_from_slice(format!("Connection: {connection}\r\n").as_bytes());
        }
        if let Some(token) = &self.token {
            out.extend_from_slice(format!("X-Rinha-Token: {token}\r\n").as_bytes());
        }
        if !self.body.is_empty() || self.send_zero_length {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }

    fn method(&self) -> Method {
        match self.method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            _ => Method::Other,
        }
    }

    /// RFC 9112 section 9.3: `close` ends the connection; otherwise HTTP/1.1 persists and
    /// HTTP/1.0 persists only with `keep-alive`.
    fn keep_alive(&self) -> bool {
        match self.connection {
            Some(options) if options.to_ascii_lowercase().contains("close") => false,
            Some(options) if options.to_ascii_lowercase().contains("keep-alive") => true,
            _ => !self.http10,
        }
    }
}

fn request_model() -> impl Strategy<Value = RequestModel> {
    let method = prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);
    let path = "/[a-zA-Z0-9._~/-]{0,30}";
    let query = prop::option::of("[a-zA-Z0-9=&:._%-]{0,40}");
    // Names that the parser acts on are added separately, with known values.
    let header = ("[A-Za-z][A-Za-z0-9-]{0,15}", "[!-~]([ -~]{0,30}[!-~])?").prop_filter(
        "reserved header",
        |(name, _)| {
            let name = name.to_ascii_lowercase();
            !["content-length", "transfer-encoding", "connection", "x-rinha-token"]
                .contains(&name.as_str())
        },
    );
    let headers = prop::collection::vec(header, 0..(HEADERS_MAX - 3));
    let connection = prop::option::of(prop::sample::select(vec![
        "close",
        "keep-alive",
        "Keep-Alive",
        "CLOSE",
        "Upgrade",
        "keep-alive, Upgrade",
        "Upgrade, close",
    ]));
    let token = prop::option::of("[!-~]{1,20}");
    let body = prop::collection::vec(any::<u8>(), 0..300);
    (method, path, query, any::<bool>(), headers, connection, token, body, any::<bool>()).prop_map(
        |(method, path, query, http10, headers, connection, token, body, send_zero_length)| {
            RequestModel {
                method,
                path,
                query,
                http10,
                headers,
                connection,
                token,
                body,
                send_zero_length,
            }
        },
    )
}

/// Bytes that requests are made of, and a few that they must not contain.
const HTTP_NOISE: &[u8] =
    b"GETPOS /?=&:HTP1.0\r\n\r\nContent-Length: 12Transfer-Encodingx-rinha-token\t\x00\x7f\xff";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic_and_prefixes_agree(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        split in any::<prop::sample::Index>(),
    ) {
        framing::assert_prefix_agrees(&bytes, split, parse_owned, &Ok(None))?;
    }

    #[test]
    fn http_shaped_bytes_never_panic_and_prefixes_agree(
        bytes in prop::collection::vec(prop::sample::select(HTTP_NOISE.to_vec()), 0..400),
        split in any::<prop::sample::Index>(),
    ) {
        framing::assert_prefix_agrees(&bytes, split, parse_owned, &Ok(None))?;
    }

    #[test]
    fn model_requests_parse_to_the_model(model in request_model()) {
        let bytes = model.render();
        let parsed = parse_owned(&bytes);
        let parsed = parsed.map_err(|error| TestCaseError::fail(format!("{error:?} for {:?}",
            String::from_utf8_lossy(&bytes))))?;
        let parsed = parsed.expect("complete");
        prop_assert_eq!(parsed.method, model.method());
        prop_assert_eq!(&parsed.path, model.path.as_bytes());
        prop_assert_eq!(&parsed.query, model.query.as_deref().unwrap_or("").as_bytes());
        prop_assert_eq!(parsed.token.as_deref(), model.token.as_deref().map(str::as_bytes));
        prop_assert_eq!(parsed.keep_alive, model.keep_alive());
        prop_assert_eq!(&parsed.body, &model.body);
        prop_assert_eq!(parsed.len, bytes.len());
    }

    #[test]
    fn model_requests_split_anywhere(
        model in request_model(),
        split in any::<prop::sample::Index>(),
    ) {
        let bytes = model.render();
        let whole = parse_owned(&bytes).unwrap().unwrap();
        let split = split.index(bytes.len());
        prop_assert_eq!(parse_owned(&bytes[..split]), Ok(None));
        // Receiving in two reads at that point gives the same single request.
        let reads = [bytes[..split].to_vec(), bytes[split..].to_vec()];
        let (requests, left) = receive_requests(reads.to_vec());
        prop_assert_eq!(requests, vec![whole]);
        prop_assert_eq!(left, 0);
    }

    #[test]
    fn model_requests_pipeline(models in prop::collection::vec(request_model(), 1..5),
                               cut in any::<prop::sample::Index>()) {
        let rendered: Vec<Vec<u8>> = models.iter().map(RequestModel::render).collect();
        let mut stream = rendered.concat();
        // Half of one more request stays incomplete.
        let extra = rendered[0].clone();
        stream.extend_from_slice(&extra[..cut.index(extra.len())]);
        let (requests, left) = receive_requests(vec![stream]);
        prop_assert_eq!(requests.len(), models.len());
        for (request, bytes) in requests.iter().zip(&rendered) {
            prop_assert_eq!(request.len, bytes.len());
        }
        prop_assert_eq!(left, cut.index(extra.len()));
    }
}
