//! Endpoints, listeners and streams over TCP and Unix sockets: the layer under both [`crate::http`]
//! and [`crate::redis`].
//!
//! nginx reaches the API over a Unix socket in the contest stack, tests use TCP on port 0, and
//! Redis may be at either. An enum (rather than generics everywhere) keeps the layers above
//! monomorphic: one server loop, one client, one Redis connection type.
//!
//! # Dependency rules
//! monoio, socket2 and std only: no protocol lives here, so `http` and `redis` each depend on this
//! module and not on each other.

use std::{
    io,
    net::{SocketAddr, ToSocketAddrs},
    path::{Path, PathBuf},
};

use monoio::{
    buf::{IoBuf, IoBufMut, IoVecBuf, IoVecBufMut},
    io::{AsyncReadRent, AsyncWriteRent, Split},
    net::{ListenerOpts, TcpListener, TcpStream, UnixListener, UnixStream},
    BufResult,
};

/// Where to listen or connect: `host:port` or `unix:/path/to.sock`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A TCP address (resolved at connect or bind time).
    Tcp(String),
    /// A Unix socket path.
    Unix(PathBuf),
}

impl Endpoint {
    /// Parses `unix:/path` or `host:port`.
    ///
    /// # Errors
    /// A message naming the text when neither form matches.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(format!("empty Unix socket path in {text:?}"));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        match text.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(Self::Tcp(text.to_string()))
            }
            _ => Err(format!("expected host:port or unix:/path, got {text:?}")),
        }
    }

    /// Connects to the endpoint, with `TCP_NODELAY` on TCP (we write whole messages at once).
    ///
    /// # Errors
    /// The connect error.
    pub async fn connect(&self) -> io::Result<Stream> {
        match self {
            Self::Tcp(address) => {
                let address = resolve(address)?;
                let stream = TcpStream::connect_addr(address).await?;
                stream.set_nodelay(true)?;
                Ok(Stream::Tcp(stream))
            }
            Self::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path).await?)),
        }
    }

    /// Binds a listener on this thread. TCP listeners use `SO_REUSEPORT` so every thread of a
    /// thread-per-core server binds the same port and the kernel spreads connections.
    ///
    /// # Errors
    /// The bind error.
    pub fn bind(&self, backlog: i32) -> io::Result<Listener> {
        match self {
            Self::Tcp(address) => {
                let options =
                    ListenerOpts::new().reuse_port(true).reuse_addr(true).backlog(backlog);
                Ok(Listener::Tcp(TcpListener::bind_with_config(resolve(address)?, &options)?))
            }
            Self::Unix(path) => Ok(Listener::Unix(bind_unix(path)?)),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tcp(address) => formatter.write_str(address),
            Self::Unix(path) => write!(formatter, "unix:{}", path.display()),
        }
    }
}

fn resolve(address: &str) -> io::Result<SocketAddr> {
    address.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("{address} resolves to nothing"))
    })
}

/// Binds a Unix listener the portable way: monoio 0.2.4's own `bind` sets `SO_REUSEPORT` on the
/// socket, which kernels from 6.12.9 on refuse for `AF_UNIX`. A stale socket file from an earlier
/// run is removed first; the legacy (epoll) driver needs the socket non-blocking.
fn bind_unix(path: &Path) -> io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    // nginx runs as another user in some setups; the socket is the only door, so open it.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777))?;
    if monoio::utils::is_legacy() {
        listener.set_nonblocking(true)?;
    }
    UnixListener::from_std(listener)
}

/// A bound listener of either kind.
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// Unix socket.
    Unix(UnixListener),
}

impl Listener {
    /// Accepts one connection, with `TCP_NODELAY` on TCP.
    ///
    /// # Errors
    /// The accept error (the caller backs off and keeps accepting).
    pub(crate) async fn accept(&self) -> io::Result<Stream> {
        match self {
            Self::Tcp(listener) => {
                let (stream, _peer) = listener.accept().await?;
                stream.set_nodelay(true)?;
                Ok(Stream::Tcp(stream))
            }
            Self::Unix(listener) => Ok(Stream::Unix(listener.accept().await?.0)),
        }
    }

    /// The bound TCP port (tests bind port 0), or `None` for a Unix socket.
    pub fn local_port(&self) -> Option<u16> {
        match self {
            Self::Tcp(listener) => listener.local_addr().ok().map(|address| address.port()),
            Self::Unix(_) => None,
        }
    }
}

/// A connected stream of either kind.
pub enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// Unix socket.
    Unix(UnixStream),
}

impl Stream {
    /// Closes the connection abortively: on TCP, `SO_LINGER` 0 makes the close send a reset
    /// (RST) instead of a FIN; a Unix socket just closes. For fault injection in the processor
    /// simulator.
    ///
    /// # Errors
    /// The `setsockopt` error.
    pub(crate) fn abort(self) -> io::Result<()> {
        if let Self::Tcp(stream) = &self {
            use std::os::fd::{AsRawFd, BorrowedFd};
            // SAFETY: the descriptor belongs to `stream`, which outlives this borrow.
            let descriptor = unsafe { BorrowedFd::borrow_raw(stream.as_raw_fd()) };
            socket2::SockRef::from(&descriptor).set_linger(Some(std::time::Duration::ZERO))?;
        }
        drop(self);
        Ok(())
    }
}

// SAFETY: both variants are sockets whose read and write sides are independent operations on one
// file descriptor, which is what `Split` asks for (monoio marks `TcpStream` and `UnixStream` so).
unsafe impl Split for Stream {}

impl AsyncReadRent for Stream {
    async fn read<T: IoBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Self::Tcp(stream) => stream.read(buf).await,
            Self::Unix(stream) => stream.read(buf).await,
        }
    }

    async fn readv<T: IoVecBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Self::Tcp(stream) => stream.readv(buf).await,
            Self::Unix(stream) => stream.readv(buf).await,
        }
    }
}

impl AsyncWriteRent for Stream {
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Self::Tcp(stream) => stream.write(buf).await,
            Self::Unix(stream) => stream.write(buf).await,
        }
    }

    async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Self::Tcp(stream) => stream.writev(buf).await,
            Self::Unix(stream) => stream.writev(buf).await,
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Tcp(stream) => stream.flush().await,
            Self::Unix(stream) => stream.flush().await,
        }
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Self::Tcp(stream) => stream.shutdown().await,
            Self::Unix(stream) => stream.shutdown().await,
        }
    }
}
