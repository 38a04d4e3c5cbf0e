//! The HTTP/1.1 server loop: accept, then per connection read → parse every buffered request →
//! handle → one write.
//!
//! # Key properties
//! - **No allocation per request.** Each connection owns one read and one write buffer, sized at
//!   accept and reused with `clear()`; the handler appends its response to the write buffer.
//! - **Pipelining.** Every complete request already buffered is handled before the one write, so a
//!   client that pipelines gets all its answers in one segment, in order.
//! - **Keep-alive as a value.** The handler returns whether the connection may stay open; the
//!   request's own `Connection` header is honoured too.
//! - **Bounded.** A head that does not fit in [`READ_BUFFER_BYTES`] gets a `413` and a close; the
//!   parser bounds headers and body; at most [`CONNECTIONS_MAX`] connections per thread.

use std::{cell::Cell, future::Future, io, rc::Rc};

use monoio::{
    buf::IoBufMut,
    io::{AsyncReadRent, AsyncWriteRentExt},
};

use super::{
    request::{parse_request, Request, BODY_BYTES_MAX},
    response,
};
use crate::{
    backoff::Backoff,
    net::{Listener, Stream},
};

/// Longest pause between failed accepts (ms): short, because a failed accept (file descriptors
/// exhausted) clears as soon as a connection closes.
const ACCEPT_BACKOFF_MS_MAX: u64 = 100;

/// Per-connection read buffer. A request head plus the largest body must fit; real heads are
/// under 1 KiB, so this leaves room for several pipelined requests.
pub(crate) const READ_BUFFER_BYTES: usize = 16 * 1024;

/// Initial per-connection write buffer; responses are small, so it is rarely grown.
pub(crate) const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// Connections served at once by one thread; past this, new connections are closed at accept.
/// nginx keeps a few hundred upstream connections at most; k6 opens one per virtual user.
pub(crate) const CONNECTIONS_MAX: usize = 8192;

const _: () = assert!(READ_BUFFER_BYTES >= 2 * BODY_BYTES_MAX);

/// What the connection does once the responses so far are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Keep serving (unless the request asked to close).
    KeepOpen,
    /// Close after the write.
    Close,
    /// Fault injection (the processor simulator): abort the connection after the write, so the
    /// peer gets a TCP reset instead of an orderly close.
    Reset,
    /// Fault injection: write, then never answer again; the connection stays open until the peer
    /// closes it.
    Hang,
}

/// The application side of the server: one implementation per service, shared by the
/// connections of one thread.
pub(crate) trait Handler: 'static {
    /// Handles one complete request and appends one complete response (or, for a fault, what
    /// the fault sends) to `out`.
    ///
    /// # Returns
    /// What the connection does after this response.
    fn handle(
        &self,
        request: &Request<'_>,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> impl Future<Output = Next>;
}

/// Accepts connections forever, serving each on its own task of this thread.
///
/// Accept errors (such as running out of file descriptors) are logged and retried after a short
/// bounded backoff rather than ending the server.
pub(crate) async fn serve<H: Handler>(listener: Listener, handler: Rc<H>) {
    let open_connections = Rc::new(Cell::new(0usize));
    let mut backoff = Backoff::new(1, 2, ACCEPT_BACKOFF_MS_MAX);
    loop {
        match listener.accept().await {
            Ok(stream) => {
                backoff.reset();
                if open_connections.get() >= CONNECTIONS_MAX {
                    log::warn!("connection limit reached; closing new one");
                    drop(stream);
                    continue;
                }
                let handler = handler.clone();
                let open_connections = open_connections.clone();
                open_connections.set(open_connections.get() + 1);
                monoio::spawn(async move {
                    if let Err(error) = serve_connection(stream, &*handler).await {
                        log::debug!("connection closed: {error}");
                    }
                    open_connections.set(open_connections.get() - 1);
                });
            }
            Err(error) => {
                log::warn!("accept failed: {error}; retrying");
                monoio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}

/// Serves one connection until the peer closes it, a response asks to close, or I/O fails.
///
/// # Errors
/// I/O errors, and `ConnectionReset` when the peer closes in the middle of a request.
pub(crate) async fn serve_connection<H: Handler>(
    mut stream: Stream,
    handler: &H,
) -> io::Result<()> {
    let mut read_buffer: Vec<u8> = Vec::with_capacity(READ_BUFFER_BYTES);
    let mut write_buffer: Vec<u8> = Vec::with_capacity(WRITE_BUFFER_BYTES);
    loop {
        // An empty slice would read 0 bytes, which looks like EOF: the loop below guarantees room.
        assert!(read_buffer.len() < read_buffer.capacity());
        let filled = read_buffer.len();
        // slice_mut: a Vec's IoBufMut writes at offset 0 and would clobber the unparsed tail.
        let (result, slice) = stream.read(read_buffer.slice_mut(filled..)).await;
        read_buffer = slice.into_inner();
        if result? == 0 {
            if filled == 0 {
                return Ok(());
            }
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "closed mid-request"));
        }
        let (consumed, next) = handle_buffered(&read_buffer, handler, &mut write_buffer).await;
        if !write_buffer.is_empty() {
            let (result, buffer) = stream.write_all(write_buffer).await;
            write_buffer = buffer;
            result?;
            write_buffer.clear();
        }
        match next {
            Next::KeepOpen => {}
            Next::Close => return Ok(()),
            Next::Reset => return stream.abort(),
            Next::Hang => return hang(stream, read_buffer).await,
        }
        read_buffer.copy_within(consumed.., 0);
        read_buffer.truncate(read_buffer.len() - consumed);
        if read_buffer.len() == read_buffer.capacity() {
            // A whole buffer without one complete request: the head is too large to ever fit.
            let (result, _) = stream.write_all(response::HEAD_TOO_LARGE).await;
            return result.map(|_| ());
        }
    }
}

/// Reads and discards until the peer closes: a connection that never answers again.
async fn hang(mut stream: Stream, mut buffer: Vec<u8>) -> io::Result<()> {
    // Bounded by the peer: every pass waits for bytes, and end of stream ends it.
    loop {
        buffer.clear();
        let (result, returned) = stream.read(buffer).await;
        buffer = returned;
        if result? == 0 {
            return Ok(());
        }
    }
}

/// Handles every complete request at the front of `buffer`.
///
/// # Returns
/// The bytes consumed and what the connection does after the write.
async fn handle_buffered<H: Handler>(
    buffer: &[u8],
    handler: &H,
    out: &mut Vec<u8>,
) -> (usize, Next) {
    let mut consumed = 0;
    // Bounded: each pass consumes at least one byte (a request head is never empty).
    while consumed < buffer.len() {
        match parse_request(&buffer[consumed..]) {
            Ok(Some(request)) => {
                assert!(request.len > 0);
                let body = &buffer[consumed + request.body_start..consumed + request.len];
                let next = handler.handle(&request, body, out).await;
                consumed += request.len;
                if next != Next::KeepOpen {
                    return (consumed, next);
                }
                if !request.keep_alive {
                    return (consumed, Next::Close);
                }
            }
            Ok(None) => break,
            Err(error) => {
                out.extend_from_slice(response::parse_error_response(error));
                return (consumed, Next::Close);
            }
        }
    }
    (consumed, Next::KeepOpen)
}
