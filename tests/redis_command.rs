//! Tests of the RESP2 command encoder, `rinha::redis::command::encode_command`.
//!
//! # Method
//! - *Table:* each case is a command and the exact bytes the RESP2 specification gives for it
//!   (an array of bulk strings), with lengths at every number of digits our commands reach (0, 1,
//!   2, 3 and 5), an empty argument, binary bytes and CRLF inside an argument (bulk strings are
//!   length-prefixed, never escaped), and the largest command ([`ARGUMENTS_MAX`] arguments).
//! - *Appending:* encoding into a buffer that holds bytes keeps them and adds the command after
//!   them; two commands in one buffer are the two encodings one after the other (pipelining).
//! - *Refusal:* no arguments, or more than [`ARGUMENTS_MAX`], is a programmer error and panics.
//! - *Property* (`proptest`): `redis-protocol`'s own decoder, not ours, reads back exactly the
//!   arguments as an array of bulk strings, using every byte we wrote; a batch of commands in one
//!   buffer decodes to the same commands in order.

use proptest::prelude::*;
use redis_protocol::resp2::{decode::decode, types::OwnedFrame};
use rinha::redis::command::{encode_command, ARGUMENTS_MAX};

/// A table case: its name, the command's arguments, and the bytes they must encode to.
type Case<'a> = (&'a str, &'a [&'a [u8]], &'a [u8]);

fn encoded(arguments: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command(&mut out, arguments);
    out
}

#[test]
fn encodes_each_command_as_the_specification_gives_it() {
    let long = vec![b'x'; 12_345];
    let long_expected = [b"*1\r\n$12345\r\n".as_slice(), &long, b"\r\n"].concat();
    let cases: [Case; 8] = [
        (
            "the specification's SET k v",
            &[b"SET", b"k", b"v"],
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
        ),
        ("one argument", &[b"PING"], b"*1\r\n$4\r\nPING\r\n"),
        ("an empty argument", &[b"GET", b""], b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n"),
        (
            "CRLF and binary bytes inside an argument",
            &[b"SET", b"a\r\nb", &[0, 255, b'$', b'*']],
            b"*3\r\n$3\r\nSET\r\n$4\r\na\r\nb\r\n$4\r\n\x00\xff$*\r\n",
        ),
        (
            "two-digit lengths",
            &[b"EVALSHA", b"0123456789abcdef0123456789abcdef01234567", b"1", b"rinha:queue"],
            b"*4\r\n$7\r\nEVALSHA\r\n$40\r\n0123456789abcdef0123456789abcdef01234567\r\n\
              $1\r\n1\r\n$11\r\nrinha:queue\r\n",
        ),
        ("a ten-byte argument", &[b"0123456789"], b"*1\r\n$10\r\n0123456789\r\n"),
        ("a nine-byte argument", &[b"012345678"], b"*1\r\n$9\r\n012345678\r\n"),
        ("a five-digit length", &[&long], &long_expected),
    ];
    for (name, arguments, expected) in cases {
        assert_eq!(encoded(arguments), expected, "{name}");
    }
}

#[test]
fn encodes_the_largest_command() {
    let arguments = [&b"ab"[..]; ARGUMENTS_MAX];
    let mut expected = format!("*{ARGUMENTS_MAX}\r\n").into_bytes();
    for _ in 0..ARGUMENTS_MAX {
        expected.extend_from_slice(b"$2\r\nab\r\n");
    }
    assert_eq!(encoded(&arguments), expected);
}

// The largest command's array header has two digits.
const _: () = assert!(ARGUMENTS_MAX >= 10);

#[test]
fn appends_after_what_the_buffer_holds() {
    let mut out = b"prefix".to_vec();
    encode_command(&mut out, &[b"PING"]);
    assert_eq!(out, b"prefix*1\r\n$4\r\nPING\r\n");
    encode_command(&mut out, &[b"GET", b"k"]);
    assert_eq!(out, b"prefix*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
}

#[test]
#[should_panic(expected = "a command has a name")]
fn refuses_no_arguments() {
    encode_command(&mut Vec::new(), &[]);
}

#[test]
#[should_panic(expected = "too many arguments")]
fn refuses_too_many_arguments() {
    let arguments = vec![&b"x"[..]; ARGUMENTS_MAX + 1];
    encode_command(&mut Vec::new(), &arguments);
}

/// The command `redis-protocol` decodes from the front of `bytes`, and how many bytes it used.
fn decode_command(bytes: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let (frame, used) = decode(bytes).expect("valid RESP2").expect("a whole frame");
    let OwnedFrame::Array(elements) = frame else { panic!("not an array: {frame:?}") };
    let arguments = elements
        .into_iter()
        .map(|element| match element {
            OwnedFrame::BulkString(bytes) => bytes,
            other => panic!("not a bulk string: {other:?}"),
        })
        .collect();
    (arguments, used)
}

fn command() -> impl Strategy<Value = Vec<Vec<u8>>> {
    // Lengths up to 300 cover one, two and three digits.
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..=ARGUMENTS_MAX)
}

proptest! {
    #[test]
    fn redis_protocol_decodes_what_we_encode(arguments in command()) {
        let slices: Vec<&[u8]> = arguments.iter().map(Vec::as_slice).collect();
        let out = encoded(&slices);
        let (decoded, used) = decode_command(&out);
        prop_assert_eq!(decoded, arguments);
        prop_assert_eq!(used, out.len());
    }

    #[test]
    fn a_pipelined_batch_decodes_to_the_same_commands_in_order(
        commands in prop::collection::vec(command(), 1..8),
    ) {
        let mut out = Vec::new();
        for arguments in &commands {
            let slices: Vec<&[u8]> = arguments.iter().map(Vec::as_slice).collect();
            encode_command(&mut out, &slices);
        }
        let mut position = 0;
        for arguments in &commands {
            let (decoded, used) = decode_command(&out[position..]);
            prop_assert_eq!(&decoded, arguments);
            position += used;
        }
        prop_assert_eq!(position, out.len());
    }
}
