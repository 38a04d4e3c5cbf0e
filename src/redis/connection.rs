//! One pipelined Redis connection per thread, shared by every task on that thread.
//!
//! # How a command travels
//! A task calls [`Client::request`]: the command is appended to the shared outgoing buffer and a
//! oneshot sender is queued in `pending`. A writer task flushes the whole outgoing buffer with one
//! write whenever it is not empty, so commands issued while the previous write was in flight go
//! out together (batching across concurrent requests, without a timer). A reader task parses
//! replies and completes the pending senders in order: Redis answers in the order it reads.
//!
//! # Failure
//! When the connection fails, every pending command gets [`RedisError::ConnectionLost`] (it may or
//! may not have run: the caller decides what that means), and a supervisor reconnects with
//! bounded backoff. Commands issued while disconnected fail at once with
//! [`RedisError::Unavailable`]. On every (re)connection the registered Lua scripts are loaded
//! before any command is accepted, so `EVALSHA` never meets `NOSCRIPT` on a live connection.

use std::{cell::RefCell, collections::VecDeque, io, rc::Rc, time::Duration};

use bytes::{Bytes, BytesMut};
use local_sync::{mpsc::unbounded, oneshot};
use monoio::{
    buf::IoBufMut,
    io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt, OwnedReadHalf, OwnedWriteHalf, Splitable},
};

use super::{
    command::encode_command,
    reply::{take_reply, Reply},
};
use crate::http::stream::{Endpoint, Stream};

/// Bytes reserved in the read buffer before each read.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Initial size of the outgoing buffer; it is swapped, not reallocated, between writes.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

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

type ReplySender = oneshot::Sender<Result<Reply, RedisError>>;

/// The connection state shared by the tasks of one thread.
struct Shared {
    /// Commands encoded and not yet written.
    outgoing: Vec<u8>,
    /// Senders waiting for replies, in the order their commands were encoded.
    pending: VecDeque<ReplySender>,
    /// Wakes the writer; `None` while disconnected.
    flush: Option<unbounded::Tx<()>>,
    /// Whether a wake-up is already queued for the writer (one is enough for any number of
    /// commands).
    flush_queued: bool,
    /// SHA1 of each registered script, as returned by `SCRIPT LOAD` on the current connection.
    script_shas: Vec<Bytes>,
}

/// A handle to this thread's Redis connection. Cheap to clone; not `Send`.
#[derive(Clone)]
pub struct Client {
    shared: Rc<RefCell<Shared>>,
}

impl Client {
    /// Starts the supervisor that connects (and reconnects) to `endpoint`, loading `scripts` on
    /// every connection. Returns at once; [`Client::wait_connected`] waits for the first
    /// connection.
    pub fn start(endpoint: Endpoint, scripts: &'static [&'static str]) -> Self {
        let shared = Rc::new(RefCell::new(Shared {
            outgoing: Vec::with_capacity(WRITE_BUFFER_BYTES),
            pending: VecDeque::with_capacity(1024),
            flush: None,
            flush_queued: false,
            script_shas: Vec::new(),
        }));
        let client = Self { shared };
        monoio::spawn(supervise(client.clone(), endpoint, scripts));
        client
    }

    /// Whether a connection is up and its scripts loaded.
    pub fn is_connected(&self) -> bool {
        self.shared.borrow().flush.is_some()
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
        let receiver = self.enqueue(|out, _| encode_command(out, arguments))?;
        receiver.await.unwrap_or(Err(RedisError::ConnectionLost))
    }

    /// Runs registered script number `script` with `EVALSHA`.
    ///
    /// # Errors
    /// As [`Client::request`].
    ///
    /// # Panics
    /// If `script` is not the index of a script passed to [`Client::start`], or more than
    /// `command::ARGUMENTS_MAX - 3` keys and arguments are given.
    pub async fn eval(
        &self,
        script: usize,
        keys: &[&[u8]],
        arguments: &[&[u8]],
    ) -> Result<Reply, RedisError> {
        let receiver = self.enqueue(|out, shas| {
            let mut key_count = itoa::Buffer::new();
            let key_count = key_count.format(keys.len()).as_bytes();
            let mut all: [&[u8]; super::command::ARGUMENTS_MAX] = [&[]; super::command::ARGUMENTS_MAX];
            let total = 3 + keys.len() + arguments.len();
            assert!(total <= all.len(), "too many script arguments");
            all[0] = b"EVALSHA";
            all[1] = &shas[script];
            all[2] = key_count;
            all[3..3 + keys.len()].copy_from_slice(keys);
            all[3 + keys.len()..total].copy_from_slice(arguments);
            encode_command(out, &all[..total]);
        })?;
        receiver.await.unwrap_or(Err(RedisError::ConnectionLost))
    }

    fn enqueue(
        &self,
        encode: impl FnOnce(&mut Vec<u8>, &[Bytes]),
    ) -> Result<oneshot::Receiver<Result<Reply, RedisError>>, RedisError> {
        let mut shared = self.shared.borrow_mut();
        let shared = &mut *shared;
        let Some(flush) = shared.flush.as_ref() else { return Err(RedisError::Unavailable) };
        if !shared.flush_queued {
            // The writer holds the receiver for as long as the connection lives.
            flush.send(()).map_err(|_| RedisError::Unavailable)?;
            shared.flush_queued = true;
        }
        encode(&mut shared.outgoing, &shared.script_shas);
        let (sender, receiver) = oneshot::channel();
        shared.pending.push_back(sender);
        Ok(receiver)
    }
}

/// Connects, loads scripts, runs the reader and writer until the connection fails, then
/// reconnects with backoff. Runs for the life of the thread.
async fn supervise(client: Client, endpoint: Endpoint, scripts: &'static [&'static str]) {
    let mut backoff_ms = 1u64;
    loop {
        match connect(&endpoint, scripts).await {
            Ok((stream, read_buffer, shas)) => {
                backoff_ms = 1;
                crate::log::info(format_args!("redis connected at {endpoint}"));
                let error = run_connection(&client, stream, read_buffer, shas).await;
                crate::log::warn(format_args!("redis connection failed: {error}; reconnecting"));
            }
            Err(error) => {
                if backoff_ms >= RECONNECT_BACKOFF_MS_MAX {
                    crate::log::warn(format_args!("redis at {endpoint} unreachable: {error}"));
                }
            }
        }
        monoio::time::sleep(Duration::from_millis(backoff_ms)).await;
        backoff_ms = (backoff_ms * 2).min(RECONNECT_BACKOFF_MS_MAX);
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
    let (flush_sender, flush_receiver) = unbounded::channel();
    {
        let mut shared = client.shared.borrow_mut();
        assert!(shared.pending.is_empty() && shared.outgoing.is_empty());
        shared.flush = Some(flush_sender);
        shared.flush_queued = false;
        shared.script_shas = shas;
    }
    let writer_task = monoio::spawn(write_loop(client.shared.clone(), writer, flush_receiver));
    let error = read_loop(&client.shared, reader, read_buffer).await;
    {
        let mut shared = client.shared.borrow_mut();
        // Dropping the sender ends the writer's loop.
        shared.flush = None;
        shared.outgoing.clear();
        for sender in shared.pending.drain(..) {
            let _ = sender.send(Err(RedisError::ConnectionLost));
        }
    }
    let _ = writer_task.await;
    error
}

async fn write_loop(
    shared: Rc<RefCell<Shared>>,
    mut writer: OwnedWriteHalf<Stream>,
    mut flush: unbounded::Rx<()>,
) {
    let mut spare: Vec<u8> = Vec::with_capacity(WRITE_BUFFER_BYTES);
    while flush.recv().await.is_some() {
        {
            let mut shared = shared.borrow_mut();
            shared.flush_queued = false;
            std::mem::swap(&mut shared.outgoing, &mut spare);
        }
        if spare.is_empty() {
            continue;
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
                    let sender = shared.borrow_mut().pending.pop_front();
                    match sender {
                        // A caller that gave up dropped its receiver; the reply is discarded.
                        Some(sender) => drop(sender.send(Ok(reply))),
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
