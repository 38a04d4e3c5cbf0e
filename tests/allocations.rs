//! The API's hot path does not allocate per request.
//!
//! Method: a counting global allocator counts heap allocations made on the API's thread only (a
//! thread-local flag set by that thread). The API runs in this process on a Unix socket against a
//! private Redis; one keep-alive connection sends payments one after another. After a warm-up
//! (buffers, slot tables and Redis's first replies reach their steady size), a long run of
//! `POST /payments` must cost (amortised) nothing; the bound leaves room for the rare growth of a
//! buffer, not for one allocation per request.

mod common;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    io::{Read, Write},
    os::unix::net::UnixStream,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use common::{wait_until, Redis, TempDir};

struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.try_with(Cell::get).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.try_with(Cell::get).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(pointer, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const ACCEPTED: &[u8] = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";

fn post_payments(stream: &mut UnixStream, count: usize, offset: usize) {
    let mut response = [0u8; ACCEPTED.len()];
    for index in 0..count {
        let body = format!(
            "{{\"correlationId\":\"00000000-0000-4000-8000-{:012x}\",\"amount\":19.90}}",
            offset + index
        );
        let request = format!(
            "POST /payments HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        stream.read_exact(&mut response).unwrap();
        assert_eq!(&response[..], ACCEPTED);
    }
}

#[test]
fn post_payments_does_not_allocate_per_request() {
    let redis = Redis::start();
    let directory = TempDir::new("allocations");
    let socket = directory.0.join("api.sock");
    let listen = rinha::net::Endpoint::Unix(socket.clone());
    let redis_endpoint = rinha::net::Endpoint::parse(&redis.url()).unwrap();
    std::thread::Builder::new()
        .name("api-under-test".into())
        .spawn(move || {
            COUNTING.with(|counting| counting.set(true));
            rinha::runtime::block_on(|| async move {
                rinha::api::run(listen, redis_endpoint).await.unwrap();
            });
        })
        .unwrap();
    wait_until("api socket", || UnixStream::connect(&socket).is_ok());
    let mut stream = UnixStream::connect(&socket).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // Redis may still be connecting: retry the first payment until it is accepted.
    wait_until("first payment accepted", || {
        let mut probe = UnixStream::connect(&socket).unwrap();
        let body = r#"{"correlationId":"10000000-0000-4000-8000-000000000000","amount":1}"#;
        let request =
            format!("POST /payments HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        probe.write_all(request.as_bytes()).unwrap();
        let mut head = [0u8; 12];
        probe.read_exact(&mut head).is_ok() && &head == b"HTTP/1.1 202"
    });
    post_payments(&mut stream, 500, 0);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let requests = 5000;
    post_payments(&mut stream, requests, 1_000_000);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    eprintln!("{allocations} allocations on the API thread for {requests} requests");
    assert!(
        allocations * 20 < requests as u64,
        "{allocations} allocations for {requests} requests: the hot path allocates per request"
    );
}
