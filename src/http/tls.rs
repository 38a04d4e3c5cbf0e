//! TLS for the HTTP client: a client stream over our [`Stream`], driving
//! `rustls::ClientConnection` by hand with in-memory buffers.
//!
//! # Key components
//! - [`TlsConfig`]: the `rustls` client configuration, built once at start-up and shared by every
//!   connection (so TLS 1.3 session tickets are reused across connections and threads).
//! - [`TlsStream`]: one TLS connection. Ciphertext moves between the socket and `rustls` through
//!   two fixed-capacity buffers: rustls `write_tls`es into `outgoing`, which is then written with
//!   monoio's owned-buffer `write_all`; a socket read fills `incoming`, which is fed to rustls with
//!   `read_tls` + `process_new_packets`. Plaintext goes through `writer()` and `reader()`.
//!
//! # Why by hand
//! monoio's rent API hands buffers to the kernel, while rustls wants `std::io` `Read`/`Write`.
//! Copying through two small buffers joins them without an adapter crate, and keeps every buffer
//! bounded and allocated at connect time.
//!
//! # Errors
//! Socket errors pass through unchanged. A `rustls::Error` (bad certificate, unknown issuer, bad
//! record, alert from the peer) becomes `io::ErrorKind::InvalidData` naming the TLS error. A peer
//! that closes during the handshake gives `UnexpectedEof`.
//!
//! # Outcomes
//! Early data (TLS 1.3 0-RTT) stays off: then nothing of a request leaves before the handshake
//! completes, so a failed handshake means the request was not sent.
//!
//! # Dependency rules
//! rustls, webpki-roots, monoio and std only.

use std::{
    fmt,
    io::{self, Read, Write},
    path::{Path, PathBuf},
    sync::Arc,
};

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use rustls::{
    pki_types::{pem::PemObject, CertificateDer, ServerName},
    ClientConfig, ClientConnection, RootCertStore,
};

use crate::net::Stream;

/// Ciphertext read from the socket in one read. rustls reassembles records itself, so this only
/// sets how many bytes one read syscall may return; small answers fit in one read.
pub const INCOMING_BYTES: usize = 4096;

/// Ciphertext written to the socket in one write. A request of a few hundred bytes is one record,
/// so one write; anything larger goes out in several writes, never in a larger buffer.
pub const OUTGOING_BYTES: usize = 8192;

/// Socket reads a handshake may take. A full handshake is two or three server flights; a
/// certificate chain of 16 KiB read 4 KiB at a time is four reads. More means a stalling peer.
const HANDSHAKE_READS_MAX: usize = 64;

/// Socket reads without a byte of plaintext before a read gives up: a peer sending only empty
/// records, tickets or key updates would otherwise keep us reading until the timeout.
const READS_WITHOUT_PLAINTEXT_MAX: usize = 64;

/// Socket writes one flush may take. rustls queues at most 64 KiB of ciphertext, which is eight
/// writes of `OUTGOING_BYTES`; twice that is a generous bound.
const FLUSH_WRITES_MAX: usize = 16;

const _: () = assert!(INCOMING_BYTES >= 1024);
const _: () = assert!(OUTGOING_BYTES * FLUSH_WRITES_MAX >= 64 * 1024 * 2);

/// The client side of TLS, shared by all connections: trusted roots, protocol versions, ALPN.
///
/// `Debug` is short on purpose: the worker logs its settings at start-up, and rustls' own `Debug`
/// would print every trust anchor.
#[derive(Clone)]
pub struct TlsConfig {
    /// The rustls configuration; one `Arc` so every connection shares the session cache.
    config: Arc<ClientConfig>,
    /// The extra CA file, for the log line.
    extra_ca_file: Option<PathBuf>,
    /// Certificates taken from that file.
    extra_ca_count: usize,
}

impl TlsConfig {
    /// The Mozilla roots from `webpki-roots`, plus every certificate in the PEM file
    /// `extra_ca_file` (for a private CA in tests or private deployments). TLS 1.2 and 1.3 with
    /// the `ring` provider, ALPN `http/1.1`, no client certificate, no early data.
    ///
    /// # Errors
    /// A message naming the file when it cannot be read, holds no certificate, or holds one that
    /// is not a valid trust anchor.
    pub fn new(extra_ca_file: Option<&Path>) -> Result<Self, String> {
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let mut extra_ca_count = 0;
        if let Some(path) = extra_ca_file {
            let named = |error: &dyn fmt::Display| format!("{}: {error}", path.display());
            let certificates =
                CertificateDer::pem_file_iter(path).map_err(|error| named(&error))?;
            for certificate in certificates {
                let certificate = certificate.map_err(|error| named(&error))?;
                roots.add(certificate).map_err(|error| named(&error))?;
                extra_ca_count += 1;
            }
            if extra_ca_count == 0 {
                return Err(named(&"no CERTIFICATE in the file"));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("TLS configuration: {error}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // A 0-RTT request could arrive at the server even when the handshake then fails, which
        // would make "handshake failed" ambiguous.
        config.enable_early_data = false;
        Ok(Self {
            config: Arc::new(config),
            extra_ca_file: extra_ca_file.map(Path::to_path_buf),
            extra_ca_count,
        })
    }

    /// The rustls configuration.
    pub fn rustls(&self) -> &Arc<ClientConfig> {
        &self.config
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TlsConfig")
            .field("roots", &"webpki-roots")
            .field("extra_ca_file", &self.extra_ca_file)
            .field("extra_ca_count", &self.extra_ca_count)
            .finish()
    }
}

/// A capacity-bounded `io::Write` over a `Vec`: takes what fits and never grows the `Vec`, so
/// `write_tls` fills `outgoing` at most to the capacity allocated at connect time.
struct BoundedWriter<'a>(&'a mut Vec<u8>);

impl Write for BoundedWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let count = data.len().min(self.0.capacity() - self.0.len());
        self.0.extend_from_slice(&data[..count]);
        Ok(count)
    }

    fn write_vectored(&mut self, slices: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut total = 0;
        for slice in slices {
            let count = self.write(slice)?;
            total += count;
            if count < slice.len() {
                break;
            }
        }
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Maps a rustls error to the `io::Error` the layers above handle.
fn tls_error(error: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("tls: {error}"))
}

/// A client TLS connection over a [`Stream`], after a completed handshake.
pub struct TlsStream {
    /// The socket.
    stream: Stream,
    /// The TLS state machine: it holds the keys and the partly received records.
    session: ClientConnection,
    /// Ciphertext of the last socket read; capacity `INCOMING_BYTES`, never grown.
    incoming: Vec<u8>,
    /// Ciphertext on its way to the socket; capacity `OUTGOING_BYTES`, never grown.
    outgoing: Vec<u8>,
}

impl TlsStream {
    /// Runs the handshake with `server_name` (sent as SNI, and checked against the certificate)
    /// over `stream`.
    ///
    /// # Errors
    /// Socket errors; `InvalidData` when TLS fails (untrusted or mismatched certificate, alert);
    /// `UnexpectedEof` when the peer closes before the handshake completes.
    pub async fn connect(
        stream: Stream,
        config: &TlsConfig,
        server_name: ServerName<'static>,
    ) -> io::Result<Self> {
        let session =
            ClientConnection::new(config.config.clone(), server_name).map_err(tls_error)?;
        let mut tls = Self {
            stream,
            session,
            incoming: Vec::with_capacity(INCOMING_BYTES),
            outgoing: Vec::with_capacity(OUTGOING_BYTES),
        };
        tls.handshake().await?;
        Ok(tls)
    }

    async fn handshake(&mut self) -> io::Result<()> {
        for _ in 0..HANDSHAKE_READS_MAX {
            // ClientHello first; later our Finished (and, in TLS 1.2, ChangeCipherSpec).
            self.flush().await?;
            if !self.session.is_handshaking() {
                assert!(!self.session.wants_write());
                return Ok(());
            }
            // Handshaking with nothing to send: the next move is the server's.
            if self.receive().await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed during the TLS handshake",
                ));
            }
        }
        Err(io::Error::new(io::ErrorKind::InvalidData, "tls: handshake took too many reads"))
    }

    /// Encrypts and sends all of `plaintext`.
    ///
    /// # Errors
    /// Socket errors; `WriteZero` if rustls takes no plaintext even with its queue flushed.
    pub async fn write_all(&mut self, plaintext: &[u8]) -> io::Result<()> {
        let mut written = 0;
        // Each round rustls takes at least one byte (its queue was just flushed), or we stop.
        while written < plaintext.len() {
            let count = self.session.writer().write(&plaintext[written..])?;
            if count == 0 {
                return Err(io::Error::new(io::ErrorKind::WriteZero, "tls: no room for plaintext"));
            }
            written += count;
            self.flush().await?;
        }
        assert_eq!(written, plaintext.len());
        Ok(())
    }

    /// Reads plaintext into the spare capacity of `buffer` (appending after its contents), waiting
    /// for at least one byte.
    ///
    /// # Returns
    /// The bytes appended; `0` when the peer closed (cleanly or not) before sending more.
    ///
    /// # Errors
    /// Socket errors; `InvalidData` for a TLS error or a peer sending only non-data records.
    ///
    /// # Panics
    /// If `buffer` has no spare capacity: a read of nothing would look like a close.
    pub async fn read(&mut self, buffer: &mut Vec<u8>) -> io::Result<usize> {
        let filled = buffer.len();
        assert!(filled < buffer.capacity(), "read into a full buffer");
        for _ in 0..READS_WITHOUT_PLAINTEXT_MAX {
            if let Some(count) = self.take_plaintext(buffer)? {
                assert!(buffer.len() == filled + count);
                return Ok(count);
            }
            if self.receive().await? == 0 {
                return Ok(0);
            }
        }
        Err(io::Error::new(io::ErrorKind::InvalidData, "tls: too many records without data"))
    }

    /// Moves decrypted plaintext into `buffer`'s spare capacity. `None` when rustls has none yet.
    fn take_plaintext(&mut self, buffer: &mut Vec<u8>) -> io::Result<Option<usize>> {
        let filled = buffer.len();
        // rustls reads into initialised memory only: zero the spare capacity (no allocation, the
        // capacity is there), then cut back to what was read.
        buffer.resize(buffer.capacity(), 0);
        let result = self.session.reader().read(&mut buffer[filled..]);
        let count = *result.as_ref().unwrap_or(&0);
        buffer.truncate(filled + count);
        match result {
            Ok(count) => Ok(Some(count)),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(None),
            // A close without close_notify after the data: the caller sees a close.
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(Some(0)),
            Err(error) => Err(error),
        }
    }

    /// One socket read, fed whole to rustls.
    ///
    /// # Returns
    /// The ciphertext bytes read; `0` at the socket's end of stream.
    async fn receive(&mut self) -> io::Result<usize> {
        self.incoming.clear();
        let incoming = std::mem::take(&mut self.incoming);
        // A Vec's IoBufMut reads at offset 0 up to its capacity: one bounded read.
        let (result, incoming) = self.stream.read(incoming).await;
        self.incoming = incoming;
        let count = result?;
        let mut unread = &self.incoming[..];
        // read_tls takes at most one internal chunk per call; loop until all of it is taken.
        while !unread.is_empty() {
            let before = unread.len();
            if self.session.read_tls(&mut unread)? == 0 {
                // The peer sent close_notify: anything after it is ignored.
                break;
            }
            assert!(unread.len() < before);
            self.session.process_new_packets().map_err(tls_error)?;
        }
        Ok(count)
    }

    /// Writes everything rustls has queued (handshake messages, records, alerts).
    async fn flush(&mut self) -> io::Result<()> {
        for _ in 0..FLUSH_WRITES_MAX {
            if !self.session.wants_write() {
                return Ok(());
            }
            self.outgoing.clear();
            let count = self.session.write_tls(&mut BoundedWriter(&mut self.outgoing))?;
            assert!(count > 0 && count <= OUTGOING_BYTES);
            let outgoing = std::mem::take(&mut self.outgoing);
            let (result, outgoing) = self.stream.write_all(outgoing).await;
            self.outgoing = outgoing;
            result?;
        }
        if self.session.wants_write() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "tls: too much queued to send"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_writer_takes_what_fits_and_never_grows() {
        let mut buffer = Vec::with_capacity(8);
        let capacity = buffer.capacity();
        let mut writer = BoundedWriter(&mut buffer);
        assert_eq!(writer.write(b"hello").unwrap(), 5);
        let tail = vec![b'x'; capacity];
        let slices = [io::IoSlice::new(b"a"), io::IoSlice::new(&tail)];
        assert_eq!(writer.write_vectored(&slices).unwrap(), capacity - 5);
        assert_eq!(writer.write(b"y").unwrap(), 0);
        assert_eq!(buffer.capacity(), capacity);
        assert_eq!(buffer.len(), capacity);
        assert_eq!(&buffer[..6], b"helloa");
    }

    #[test]
    fn config_without_extra_ca_uses_webpki_roots() {
        let config = TlsConfig::new(None).unwrap();
        assert_eq!(config.extra_ca_count, 0);
        assert_eq!(config.rustls().alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(format!("{config:?}").len() < 200, "Debug must stay one short line");
    }

    #[test]
    fn config_with_a_bad_ca_file_names_it() {
        let missing = Path::new("/nonexistent/rinha-ca.pem");
        let error = TlsConfig::new(Some(missing)).unwrap_err();
        assert!(error.contains("/nonexistent/rinha-ca.pem"), "{error}");
        let empty = std::env::temp_dir().join(format!("rinha-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&empty, b"not a certificate\n").unwrap();
        let error = TlsConfig::new(Some(&empty)).unwrap_err();
        let _ = std::fs::remove_file(&empty);
        assert!(error.contains("rinha-empty-ca"), "{error}");
    }
}
