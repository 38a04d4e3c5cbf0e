//! Faults of the parts around the data path, end to end: Redis killed and restarted, Redis
//! stopped, a Redis reply lost on the wire, and every fault mode of the processor simulator.
//!
//! Method: each test builds its own stack (a private redis-server, two simulators, the API and
//! the worker as the built binaries), injects one fault, and then checks the books: every payment
//! answered `202` is held by exactly one processor, every payment answered otherwise by none, and
//! the backend's summary equals the processors' admin summaries. Waits are bounded polls for a
//! condition (`common::wait_until`), never timing assertions: a slow machine makes these tests
//! slower, not red.

mod common;

use std::{
    io::{Read, Write},
    os::unix::net::{UnixListener, UnixStream},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread,
    time::Duration,
};

use common::*;

/// Every accepted id in exactly one processor, every refused id in none, and the backend's books
/// equal to the processors'.
fn assert_exactly_once(stack: &Stack, accepted: &[String], refused: &[String]) {
    stack.assert_each_paid_once(accepted);
    stack.assert_none_paid(refused);
    let (default, fallback) = stack.api.summary("");
    assert_eq!(default, stack.default.admin_summary(""), "default books");
    assert_eq!(fallback, stack.fallback.admin_summary(""), "fallback books");
    assert_eq!(default.0 + fallback.0, accepted.len() as u64, "recorded vs accepted");
}

/// Posts payments one after another until `stop` is set; returns (accepted, refused) ids.
fn post_until(
    api: Address,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<(Vec<String>, Vec<String>)> {
    thread::spawn(move || {
        let (mut accepted, mut refused) = (Vec::new(), Vec::new());
        while !stop.load(Ordering::Relaxed) {
            let id = uuid();
            let body = format!("{{\"correlationId\":\"{id}\",\"amount\":19.90}}");
            match request(&api, "POST", "/payments", &[], &body) {
                Ok(response) if response.status == 202 => accepted.push(id),
                _ => refused.push(id),
            }
        }
        (accepted, refused)
    })
}

#[test]
fn redis_killed_and_restarted_loses_nothing_and_pays_nothing_twice() {
    let mut stack = Stack::without_worker(Redis::start_persistent(), "faults");
    stack.start_worker(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    let poster = post_until(stack.api.address.clone(), stop.clone());
    wait_until("some payments recorded", || stack.recorded() >= Some(50));
    stack.redis.kill();
    // Long enough for both the API and the worker to notice the broken connection.
    thread::sleep(Duration::from_millis(300));
    stack.redis.restart();
    wait_until("the backend answers again", || stack.recorded().is_some());
    let recorded_at_restart = stack.recorded().unwrap_or(0);
    wait_until("payments recorded after the restart", || {
        stack.recorded() >= Some(recorded_at_restart + 50)
    });
    stop.store(true, Ordering::Relaxed);
    let (accepted, refused) = poster.join().unwrap();
    stack.wait_recorded(accepted.len() as u64);
    assert_exactly_once(&stack, &accepted, &refused);
}

#[test]
fn a_payment_not_confirmed_by_a_stopped_redis_gets_503_and_is_never_paid() {
    let mut stack = Stack::without_worker(Redis::start(), "faults");
    stack.redis.process.signal("STOP");
    let withdrawn = uuid();
    // The API's deadline passes while Redis is stopped: it cannot confirm the push.
    assert_eq!(stack.api.pay(&withdrawn, "19.90"), 503);
    stack.redis.process.signal("CONT");
    // Redis now runs the held push past its cutoff (it resumes after the API's deadline), so it
    // drops it, then the withdrawal queued behind it on the same connection.
    wait_until("withdrawal recorded", || {
        stack.redis.cli(&["HGET", "rinha:seen", &withdrawn]) == "c"
    });
    assert_eq!(stack.redis.cli(&["LLEN", "rinha:queue"]), "0", "the late push was dropped");
    let paid = uuid();
    assert_eq!(stack.api.pay(&paid, "19.90"), 202);
    stack.start_worker(&[]);
    stack.wait_recorded(1);
    assert_exactly_once(&stack, &[paid], &[withdrawn]);
    assert_eq!(stack.redis.cli(&["LLEN", "rinha:queue"]), "0");
}

/// A Unix-socket proxy in front of Redis that can swallow the reply to the next `LPUSH` and then
/// cut the connection: the push ran, its client never learns it.
struct LossyProxy {
    socket: PathBuf,
    armed: Arc<AtomicBool>,
}

impl LossyProxy {
    fn start(directory: &Path, target: PathBuf) -> Self {
        let socket = directory.join("proxy.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let armed = Arc::new(AtomicBool::new(false));
        let armed_for_thread = armed.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = UnixStream::connect(&target) else { return };
                Self::pump_pair(client, server, armed_for_thread.clone());
            }
        });
        Self { socket, armed }
    }

    fn pump_pair(client: UnixStream, server: UnixStream, armed: Arc<AtomicBool>) {
        let swallowing = Arc::new(AtomicBool::new(false));
        let (mut client_reader, mut server_writer) =
            (client.try_clone().unwrap(), server.try_clone().unwrap());
        let (mut server_reader, mut client_writer) = (server, client);
        let swallowing_up = swallowing.clone();
        let cut = client_writer.try_clone().unwrap();
        let cut_server = server_writer.try_clone().unwrap();
        thread::spawn(move || {
            let mut buffer = [0u8; 65536];
            while let Ok(read) = client_reader.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                let chunk = &buffer[..read];
                let lpush = chunk.windows(11).any(|window| window == b"rinha:queue");
                if lpush && armed.swap(false, Ordering::SeqCst) {
                    swallowing_up.store(true, Ordering::SeqCst);
                    let _ = server_writer.write_all(chunk);
                    // Let Redis run it, then cut both sides without passing the reply on.
                    thread::sleep(Duration::from_millis(200));
                    let _ = cut.shutdown(std::net::Shutdown::Both);
                    let _ = cut_server.shutdown(std::net::Shutdown::Both);
                    break;
                }
                if server_writer.write_all(chunk).is_err() {
                    break;
                }
            }
        });
        thread::spawn(move || {
            let mut buffer = [0u8; 65536];
            while let Ok(read) = server_reader.read(&mut buffer) {
                if read == 0 || swallowing.load(Ordering::SeqCst) {
                    break;
                }
                if client_writer.write_all(&buffer[..read]).is_err() {
                    break;
                }
            }
        });
    }
}

#[test]
fn an_enqueue_whose_reply_was_lost_is_sent_again_and_paid_once() {
    let redis = Redis::start();
    let directory = TempDir::new("lossy");
    let proxy = LossyProxy::start(&directory.0, redis.socket.clone());
    let api_socket = directory.0.join("api.sock");
    let _api = Process::spawn(
        "api",
        env!("CARGO_BIN_EXE_rinha-api"),
        &[],
        &[
            ("API_LISTEN", format!("unix:{}", api_socket.display())),
            ("REDIS_URL", format!("unix:{}", proxy.socket.display())),
        ],
    );
    let api = Address::Unix(api_socket);
    wait_until("api up", || {
        request(&api, "GET", "/payments-summary", &[], "")
            .is_ok_and(|response| response.status == 200)
    });
    proxy.armed.store(true, Ordering::SeqCst);
    let id = uuid();
    let body = format!("{{\"correlationId\":\"{id}\",\"amount\":19.90}}");
    let response = request(&api, "POST", "/payments", &[], &body).unwrap();
    assert_eq!(response.status, 202, "{response:?}");
    assert!(!proxy.armed.load(Ordering::SeqCst), "the reply was never swallowed");
    // Two copies: the one whose reply was lost, and the retry.
    assert_eq!(redis.cli(&["LLEN", "rinha:queue"]), "2");
    let default = Simulator::start("0.05");
    let fallback = Simulator::start("0.15");
    let _worker = start_worker(&redis, &default, &fallback, &[]);
    wait_until("queue drained", || redis.cli(&["LLEN", "rinha:queue"]) == "0");
    wait_until("payment recorded", || default.admin_summary("").0 == 1);
    assert!(!fallback.has_payment(&id));
    // Both copies were taken (the queue is empty) and the processor has it once.
    assert_eq!(default.admin_summary(""), (1, 1990));
}

/// Pays `count` payments while the default processor injects `fault`, then clears it and checks
/// that each payment was paid exactly once and that the books agree.
fn payments_survive_a_processor_fault(fault: &str, count: usize) -> Stack {
    let mut stack = Stack::without_worker(Redis::start(), "faults");
    // A short hold, so a default that refuses (busy) hands payments to the fallback soon.
    stack.start_worker(&[("HOLD_MAX_MS", "200")]);
    stack.default.set_fault(fault);
    let accepted: Vec<String> = (0..count)
        .map(|_| {
            let id = uuid();
            assert_eq!(stack.api.pay(&id, "19.90"), 202);
            id
        })
        .collect();
    stack.wait_recorded(count as u64);
    stack.default.set_fault("none");
    assert_exactly_once(&stack, &accepted, &[]);
    stack
}

/// A fault that loses the default's answer after it recorded the payment: 20 payments are each paid
/// once, and the default holds some of them.
fn payments_are_found_where_the_lost_answer_left_them(fault: &str) {
    // The default recorded each payment it got before failing to answer; the worker found
    // them there. It may also have sent later payments to the fallback, since a default that
    // keeps failing to answer is unusable for a while (DESIGN.md section 5).
    let stack = payments_survive_a_processor_fault(fault, 20);
    assert!(stack.default.admin_summary("").0 > 0, "the default recorded none under {fault}");
}

#[test]
fn a_processor_that_resets_after_recording_is_paid_once() {
    payments_are_found_where_the_lost_answer_left_them("reset");
}

#[test]
fn a_processor_that_never_answers_is_looked_up_and_paid_once() {
    payments_are_found_where_the_lost_answer_left_them("silent");
}

#[test]
fn a_truncated_answer_is_resolved_by_a_lookup() {
    payments_are_found_where_the_lost_answer_left_them("truncated");
}

#[test]
fn a_garbage_answer_is_resolved_by_a_lookup() {
    payments_are_found_where_the_lost_answer_left_them("garbage");
}

#[test]
fn a_200_with_a_malformed_body_counts_as_paid() {
    let stack = payments_survive_a_processor_fault("bad-body", 20);
    assert_eq!(stack.default.admin_summary("").0, 20);
}

#[test]
fn a_burst_of_429s_sends_payments_elsewhere_and_pays_each_once() {
    let stack = payments_survive_a_processor_fault("busy", 20);
    // A busy default records nothing: the fallback paid every one.
    assert_eq!(stack.default.admin_summary("").0, 0);
    assert_eq!(stack.fallback.admin_summary("").0, 20);
    let _ = &stack.directory;
}
