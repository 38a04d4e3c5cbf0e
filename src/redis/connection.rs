//! One pipelined Redis connection per thread, shared by every task on that thread.
//!
//! # How a command travels
//! A task calls [`Client::request`]: the command is appended to the shared outgoing buffer and a
//! reply slot is queued in `pending`. A writer task flushes the whole outgoing buffer with one
//! write whenever it is not empty, so commands issued while the previous write was in flight go
//! out together (batching across concurrent requests, without a timer). A reader task parses
//! replies and fills the pending slots in order: Redis answers in the order it reads.
//!
//! # No allocation per command
//! Reply slots live in a per-connection table with a free list, and the writer is woken through a
//! stored `Waker`, so a command costs no heap allocation once the table has grown to the peak
//! number of commands in flight (replies with bulk strings share the read buffer's memory).
//!
//! # Failure
//! When the connection fails, every pending command gets [`RedisError::ConnectionLost`] (it may or
//! may not have run: the caller decides what that means), and a supervisor reconnects with
//! bounded backoff. Commands issued while disconnected fail at once with
//! [`RedisError::Unavailable`]. On every (re)connection the registered Lua scripts are loaded
//! before any command is accepted, so `EVALSHA` never meets `NOSCRIPT` on a live connection.

use std::{
    cell::RefCell,
    collections::VecDeque,
    future::poll_fn,
    io,
    rc::Rc,
    task::{Poll, Waker},
    time::Duration,
};

use bytes::{Bytes, BytesMut};
use monoio::{
    buf::IoBufMut,
    io::{
        AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt, OwnedReadHalf, OwnedWriteHalf, Splitable,
    },
};

use super::{
    command::{encode_command, ARGUMENTS_MAX},
    reply::{take_reply, Reply},
};
use crate::{
    backoff::Backoff,
    net::{Endpoint, Stream},
};

/// Bytes reserved in the read buffer before each read.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Initial size of the outgoing buffer; it is swapped, not reallocated, between writes.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// Reply slots allocated up front; the table grows past this only under a larger burst.
const SLOTS_INITIAL: usize = 1024;

/// Longest wait between reconnection attempts.
const RECONNECT_BACKOFF_MS_MAX: u64 = 500;

/// Why a command did not get a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisError {
    /// No connection right now; the command was not sent.
    Unavailable,
    /// The connection failed after the command was queued: it may or may not have run.
    ConnectionLost,
}

impl std::fmt::Display for RedisError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Unavailable => "redis unavailable",
            Self::ConnectionLost => "redis connection lost",
        })
    }
}

/// Where one command's reply is delivered.
enum Slot {
    /// On the free list.
    Free,
    /// Waiting for the reply; holds the waiting task's waker once it has been polled.
    Waiting(Option<Waker>),
    /// The reply arrived and the caller has not taken it yet.
    Done(Result<Reply, RedisError>),
    /// The caller gave up (its future was dropped); the reply is discarded on arrival.
    Abandoned,
}

/// The connection state shared by the tasks of one thread.
struct Shared {
    /// Commands encoded and not yet written.
    outgoing: Vec<u8>,
    /// Slot indexes waiting for replies, in the order their commands were encoded.
    pending: VecDeque<usize>,
    /// The reply slots, indexed by `pending` entries and by waiting futures.
    slots: Vec<Slot>,
    /// Indexes of free slots.
    free: Vec<usize>,
    /// Whether a connection is up and accepting commands.
    connected: bool,
    /// The writer's waker while it waits for commands.
    writer: Option<Waker>,
    /// SHA1 of each registered script, as returned by `SCRIPT LOAD` on the current connection.
    script_shas: Vec<Bytes>,
}

impl Shared {
    fn complete(&mut self, index: usize, result: Result<Reply, RedisError>) {
        match std::mem::replace(&mut self.slots[index], Slot::Free) {
            Slot::Waiting(waker) => {
                self.slots[index] = Slot::Done(result);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            Slot::Abandoned => self.free.push(index),
            Slot::Free | Slot::Done(_) => unreachable!("a pending slot is waiting or abandoned"),
        }
    }
}

/// A handle to this thread's Redis connection. Cheap to clone; not `Send`.
#[derive(Clone)]
pub struct Client {
    shared: Rc<RefCell<Shared>>,
}

/// Marks a slot abandoned if the caller's future is dropped before the reply arrives.
struct SlotGuard<'a> {
    shared: &'a RefCell<Shared>,
    index: Option<usize>,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        if let Some(index) = self.index {
            let mut shared = self.shared.borrow_mut();
            match shared.slots[index] {
                Slot::Done(_) => {
                    shared.slots[index] = Slot::Free;
                    shared.free.push(index);
                }
                _ => shared.slots[index] = Slot::Abandoned,
            }
        }
    }
}

impl Client {
    /// Starts the supervisor that connects (and reconnects) to `endpoint`, loading `scripts` on
    /// every connection. Returns at once; [`Client::wait_connected`] waits for the first
    /// connection.
    pub fn start(endpoint: Endpoint, scripts: &'static [&'static str]) -> Self {
        let shared = Rc::new(RefCell::new(Shared {
            outgoing: Vec::with_capacity(WRITE_BUFFER_BYTES),
            pending: VecDeque::with_capacity(SLOTS_INITIAL),
            slots: (0..SLOTS_INITIAL).map(|_| Slot::Free).collect(),
            free: (0..SLOTS_INITIAL).rev().collect(),
            connected: false,
            writer: None,
            script_shas: Vec::new(),
        }));
        let client = Self { shared };
        monoio::spawn(supervise(client.clone(), endpoint, scripts));
        client
    }

    /// Whether a connection is up and its scripts loaded.
    pub(crate) fn is_connected(&self) -> bool {
        self.shared.borrow().connected
    }

    /// Waits until connected, polling every few milliseconds, for at most `timeout`.
    ///
    /// # Errors
    /// [`RedisError::Unavailable`] if no connection came up in time.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), RedisError> {
        let step = Duration::from_millis(5);
        let mut waited = Duration::ZERO;
        while !self.is_connected() {
            if waited >= timeout {
                return Err(RedisError::Unavailable);
            }
            monoio::time::sleep(step).await;
            waited += step;
        }
        Ok(())
    }

    /// Sends one command and waits for its reply. Redis error replies come back as
    /// `Ok(Reply::Error(..))`: the caller knows what they mean.
    ///
    /// # Errors
    /// [`RedisError`] when there is no connection or it failed before the reply arrived.
    pub async fn request(&self, arguments: &[&[u8]]) -> Result<Reply, RedisError> {
        let index = self.enqueue(|out, _| encode_command(out, arguments))?;
        self.wait_reply(index).await
    }

    /// Runs registered script number `script` with `EVALSHA`.
    ///
    /// # Errors
    /// As [`Client::request`].
    ///
    /// # Panics
    /// If `script` is not the index of a script passed to [`Client::start`], or more than
    /// `ARGUMENTS_MAX - 3` keys and arguments are given.
    pub(crate) async fn eval(
        &self,
        script: usize,
        keys: &[&[u8]],
        arguments: &[&[u8]],
    ) -> Result<Reply, RedisError> {
        let index = self.enqueue(|out, shas| {
            let mut key_count = itoa::Buffer::new();
            let key_count = key_count.format(keys.len()).as_bytes();
            let mut all: [&[u8]; ARGUMENTS_MAX] = [&[]; ARGUMENTS_MAX];
            let total = 3 + keys.len() + arguments.len();
            assert!(total <= all.len(), "too many script arguments");
            all[0] = b"EVALSHA";
            all[1] = &shas[script];
            all[2] = key_count;
            all[3..3 + keys.len()].copy_from_slice(keys);
            all[3 + keys.len()..total].copy_from_slice(arguments);
            encode_command(out, &all[..total]);
        })?;
        self.wait_reply(index).await
    }

    /// Encodes a command into the outgoing buffer, wakes the writer, and reserves a reply slot.
    fn enqueue(&self, encode: impl FnOnce(&mut Vec<u8>, &[Bytes])) -> Result<usize, RedisError> {
        let mut shared = self.shared.borrow_mut();
        let shared = &mut *shared;
        if !shared.connected {
            return Err(RedisError::Unavailable);
        }
        encode(&mut shared.outgoing, &shared.script_shas);
        let index = match shared.free.pop() {
            Some(index) => index,
            None => {
                shared.slots.push(Slot::Free);
                shared.slots.len() - 1
            }
        };
        shared.slots[index] = Slot::Waiting(None);
        shared.pending.push_back(index);
        if let Some(writer) = shared.writer.take() {
            writer.wake();
        }
        Ok(index)
    }

    async fn wait_reply(&self, index: usize) -> Result<Reply, RedisError> {
        let mut guard = SlotGuard { shared: &self.shared, index: Some(index) };
        let result = poll_fn(|context| {
            let mut shared = self.shared.borrow_mut();
            match &mut shared.slots[index] {
                Slot::Waiting(waker) => {
                    *waker = Some(context.waker().clone());
                    Poll::Pending
                }
                Slot::Done(_) => {
                    let Slot::Done(result) =
                        std::mem::replace(&mut shared.slots[index], Slot::Free)
                    else {
                        unreachable!()
                    };
                    shared.free.push(index);
                    Poll::Ready(result)
                }
                Slot::Free | Slot::Abandoned => unreachable!("a waited slot is waiting or done"),
            }
        })
        .await;
        guard.index = None;
        result
    }
}

/// Connects, loads scripts, runs the reader and writer until the connection fails, then
/// reconnects with backoff. Runs for the life of the thread.
async fn supervise(client: Client, endpoint: Endpoint, scripts: &'static [&'static str]) {
    let mut backoff = Backoff::new(1, 2, RECONNECT_BACKOFF_MS_MAX);
    loop {
        match connect(&endpoint, scripts).await {
            Ok((stream, read_buffer, shas)) => {
                backoff.reset();
                log::info!("redis connected at {endpoint}");
                let error = run_connection(&client, stream, read_buffer, shas).await;
                log::warn!("redis connection failed: {error}; reconnecting");
            }
            Err(error) => {
                if backoff.is_at_cap() {
                    log::warn!("redis at {endpoint} unreachable: {error}");
                }
            }
        }
        monoio::time::sleep(backoff.next_delay()).await;
    }
}

/// Connects and loads every script, one at a time, before the connection is shared.
async fn connect(
    endpoint: &Endpoint,
    scripts: &'static [&'static str],
) -> io::Result<(Stream, BytesMut, Vec<Bytes>)> {
    let mut stream = endpoint.connect().await?;
    let mut read_buffer = BytesMut::with_capacity(READ_BUFFER_BYTES);
    let mut shas = Vec::with_capacity(scripts.len());
    for script in scripts {
        let mut command = Vec::with_capacity(script.len() + 64);
        encode_command(&mut command, &[b"SCRIPT", b"LOAD", script.as_bytes()]);
        let (result, _) = stream.write_all(command).await;
        result?;
        let reply = read_one_reply(&mut stream, &mut read_buffer).await?;
        match reply {
            Reply::BulkString(sha) => shas.push(sha),
            other => return Err(io::Error::other(format!("SCRIPT LOAD answered {other:?}"))),
        }
    }
    Ok((stream, read_buffer, shas))
}

async fn read_one_reply(stream: &mut Stream, buffer: &mut BytesMut) -> io::Result<Reply> {
    loop {
        if let Some(reply) = take_reply(buffer).map_err(invalid_data)? {
            return Ok(reply);
        }
        read_more(stream, buffer).await?;
    }
}

async fn read_more<S: AsyncReadRent>(stream: &mut S, buffer: &mut BytesMut) -> io::Result<()> {
    buffer.reserve(READ_BUFFER_BYTES);
    let filled = buffer.len();
    let owned = std::mem::take(buffer);
    // slice_mut: a BytesMut's IoBufMut writes at offset 0 and would clobber unparsed bytes.
    let (result, slice) = stream.read(owned.slice_mut(filled..)).await;
    *buffer = slice.into_inner();
    match result? {
        0 => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "redis closed the connection")),
        _ => Ok(()),
    }
}

fn invalid_data(error: super::reply::ReplyError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad reply from redis: {error:?}"))
}

/// Shares the connection with the thread's tasks until it fails; then fails every pending
/// command and marks the client disconnected.
async fn run_connection(
    client: &Client,
    stream: Stream,
    read_buffer: BytesMut,
    shas: Vec<Bytes>,
) -> io::Error {
    let (reader, writer) = stream.into_split();
    {
        let mut shared = client.shared.borrow_mut();
        assert!(shared.pending.is_empty() && shared.outgoing.is_empty());
        shared.connected = true;
        shared.script_shas = shas;
    }
    let writer_task = monoio::spawn(write_loop(client.shared.clone(), writer));
    let error = read_loop(&client.shared, reader, read_buffer).await;
    {
        let mut shared = client.shared.borrow_mut();
        shared.connected = false;
        shared.outgoing.clear();
        while let Some(index) = shared.pending.pop_front() {
            shared.complete(index, Err(RedisError::ConnectionLost));
        }
        // Wakes the writer so it sees the disconnection and ends.
        if let Some(writer) = shared.writer.take() {
            writer.wake();
        }
    }
    let _ = writer_task.await;
    error
}

/// Waits for commands, then writes everything queued in one write; ends when disconnected.
async fn write_loop(shared: Rc<RefCell<Shared>>, mut writer: OwnedWriteHalf<Stream>) {
    let mut spare: Vec<u8> = Vec::with_capacity(WRITE_BUFFER_BYTES);
    loop {
        let connected = poll_fn(|context| {
            let mut shared = shared.borrow_mut();
            if !shared.connected {
                return Poll::Ready(false);
            }
            if shared.outgoing.is_empty() {
                shared.writer = Some(context.waker().clone());
                return Poll::Pending;
            }
            std::mem::swap(&mut shared.outgoing, &mut spare);
            Poll::Ready(true)
        })
        .await;
        if !connected {
            return;
        }
        let (result, buffer) = writer.write_all(spare).await;
        spare = buffer;
        spare.clear();
        if result.is_err() {
            // The reader sees the same failure and tears the connection down.
            let _ = writer.shutdown().await;
            return;
        }
    }
}

async fn read_loop(
    shared: &Rc<RefCell<Shared>>,
    mut reader: OwnedReadHalf<Stream>,
    mut buffer: BytesMut,
) -> io::Error {
    loop {
        loop {
            match take_reply(&mut buffer) {
                Ok(Some(reply)) => {
                    let mut shared = shared.borrow_mut();
                    match shared.pending.pop_front() {
                        Some(index) => shared.complete(index, Ok(reply)),
                        None => return io::Error::other("reply without a pending command"),
                    }
                }
                Ok(None) => break,
                Err(error) => return invalid_data(error),
            }
        }
        if let Err(error) = read_more(&mut reader, &mut buffer).await {
            return error;
        }
    }
}
