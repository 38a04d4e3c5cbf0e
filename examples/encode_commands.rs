//! Encodes N commands shaped like the API's and the worker's, for instruction counts of the RESP
//! command encoder under `valgrind --tool=callgrind` (repeatable, unlike timings here):
//!
//! ```sh
//! cargo build --release --example encode_commands
//! valgrind --tool=callgrind target/release/examples/encode_commands 0
//! valgrind --tool=callgrind target/release/examples/encode_commands 100000
//! ```
//!
//! The difference between the two totals, divided by 100,000, is the cost of one command: start-up
//! and the buffer's allocation cancel out. The command is the API's ENQUEUE, the hottest one:
//! `EVALSHA <sha> 1 rinha:queue <id>:<cents>:<accepted at ms> <cutoff ms>`.

use std::hint::black_box;

use rinha::redis::command::encode_command;

/// Bytes the buffer holds before it is cleared: many commands per `clear`, as a pipelined burst.
const FLUSH_BYTES: usize = 64 * 1024;

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .expect("usage: encode_commands COUNT");
    let sha = b"0123456789abcdef0123456789abcdef01234567";
    let entry = b"4a7c1f0e-2b3d-4e5f-8a9b-0c1d2e3f4a5b:1990:1764590000123";
    let mut out = Vec::with_capacity(FLUSH_BYTES + 1024);
    let mut total = 0usize;
    for index in 0..count {
        let mut cutoff = itoa::Buffer::new();
        let cutoff = cutoff.format(1_764_590_000_923u64 + index as u64).as_bytes();
        let arguments: [&[u8]; 6] = [b"EVALSHA", sha, b"1", b"rinha:queue", entry, cutoff];
        encode_command(&mut out, black_box(&arguments));
        if out.len() >= FLUSH_BYTES {
            total += out.len();
            out.clear();
        }
    }
    total += out.len();
    println!("{count} commands, {total} bytes");
}
