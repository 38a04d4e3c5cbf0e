#[test]
fn probe() {
    use rinha::{http::request::parse_request, http::client::parse_response, payment::*, redis::reply::*};
    let reqs: &[&[u8]] = &[
        b"GET / HTTP/1.1\n\n",
        b"GET / HTTP/1.1\r\nHost: a\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 5 \r\n\r\nhello",
        b"GET / HTTP/1.1\r\nContent-Length:  5\r\n\r\nhello",
        b"GET / HTTP/1.2\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET / HTTP/2\r\n\r\n",
        b"GET / FOO/1.1\r\n\r\n",
        b"GET  / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        b"GET / HTTP/1.1\r\n : x\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: x\ry\r\n\r\n",
        b"\r\nGET / HTTP/1.1\r\n\r\n",
        b"get / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\rX",
        b"GET / HTTP/1.1\r\nA:b\r\n\rX",
        b"GET / HTTP/1.1\r\nA:b\r\n\n",
        b"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        b"GET / HTTP/1.1\r\n\tfold\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
    ];
    for r in reqs { println!("{:?} => {:?}", String::from_utf8_lossy(r), parse_request(r)); }
    let resps: &[&[u8]] = &[
        b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nhi",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\n\n",
    ];
    for r in resps { println!("{:?} => {:?}", String::from_utf8_lossy(r), parse_response(r)); }
    let mut buffers = Buffers::default();
    let id = "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3";
    for body in [
        format!(r#"{{"correlationId":"{id}","amount":19.90}} x"#),
        format!(r#"{{"correlationId":"{id}","amount":19.90}}   "#),
        format!(r#"{{"correlationId":"{id}","amount":19.90}}{{}}"#),
        format!(r#"{{"correlationId":"{id}","amount":1e2}}"#),
        format!(r#"{{"correlationId":"{id}","amount":1.99E1}}"#),
        format!(r#"{{"correlationId":"{id}","amount":10000.001}}"#),
        format!(r#"{{"correlationId":"{id}","amount":1000.001}}"#),
        format!(r#"{{"correlationId":"{id}","amount":100.001}}"#),
        format!(r#"{{"correlationId":"{id}","amount":19.900}}"#),
        format!(r#"{{"correlationId":"{id}","amount":-0.0}}"#),
        format!(r#"{{"correlationId":"{id}","amount":19.90,"amount":1}}"#),
        format!(r#"{{"correlationId":"{id}","correlationId":"{id}","amount":1}}"#),
        format!(r#"{{"correlationId":"{id}","amount":NaN}}"#),
        format!(r#"{{"correlationId":"{id}","amount":020}}"#),
        format!(r#"{{"correlationId":"{id}","amount":20.}}"#),
        format!(r#"{{"correlationId":"{id}","amount":.5}}"#),
        format!(r#"{{"correlationId":"{id}","amount":100000000000.00}}"#),
        format!(r#"{{"correlationId":"{id}","amount":100000000000.01}}"#),
        format!(r#"{{"correlationId":"\u0034a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3","amount":1}}"#),
        format!(r#"[{{"correlationId":"{id}","amount":1}}]"#),
    ] {
        let mut b = body.clone().into_bytes();
        println!("{body} => {:?}", parse_payment_request(&mut b, &mut buffers));
    }
    for t in ["2025-07-10T12:34:56Z","2025-07-10t12:34:56z","2025-07-10 12:34:56Z","2025-07-10T12:34:56.1234567891Z","2025-07-10T23:59:60Z","2025-07-10T12:34:56+00:00", "1969-12-31T23:59:59.999Z", "2025-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "2025-07-10T24:00:00Z"] {
        println!("{t} => {:?}", parse_timestamp_us(t.as_bytes()));
    }
    let long = vec![b'x'; 4097];
    let mut line = b"+".to_vec(); line.extend_from_slice(&long); line.extend_from_slice(b"\r\n");
    println!("4097 line => {:?}", check_reply(&line));
    for r in [&b":-0\r\n"[..], b":05\r\n", b"$-01\r\n", b"*-01\r\n", b"$005\r\nhello\r\n", b"-\xff\r\n", b"+\xff\r\n", b":9223372036854775808\r\n", b"*0\r\n", b"$0\r\n\r\n", b":-9223372036854775808\r\n", b"$-0\r\n\r\n", b"*-0\r\n", b":\r\n"] {
        let mut m = bytes::BytesMut::from(r);
        println!("{:?} => {:?} / {:?}", String::from_utf8_lossy(r), check_reply(r), std::panic::catch_unwind(move || take_reply(&mut m)));
    }
}
