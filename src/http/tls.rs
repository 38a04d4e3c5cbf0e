//! TLS for the HTTP client: the rustls client configuration, and a client stream over our
//! [`Stream`] from `monoio-rustls`.
//!
//! # Key components
//! - [`TlsConfig`]: the `rustls` client configuration, built once at start-up and shared by every
//!   connection (so TLS 1.3 session tickets are reused across connections and threads).
//! - [`connect`]: the handshake over a connected [`Stream`], giving a [`TlsStream`] that
//!   implements monoio's `AsyncReadRent`/`AsyncWriteRent`, as the plain stream does.
//!
//! # Why monoio-rustls
//! monoio's rent API hands buffers to the kernel, while rustls wants `std::io` `Read`/`Write`.
//! `monoio-rustls` (by monoio's authors) joins the two through two buffers of 16 KiB per
//! connection, allocated at connect time; DESIGN.md §1 ("HTTPS to processors") has the version
//! facts. Its loops have no count bound of their own: every handshake and exchange runs under the
//! client's timeout, which is the bound.
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
//! [`crate::net`], rustls, monoio-rustls, webpki-roots and std only.

use std::{
    fmt, io,
    path::{Path, PathBuf},
    sync::Arc,
};

use monoio_rustls::{TlsConnector, TlsError};
use rustls::{
    pki_types::{pem::PemObject, CertificateDer, ServerName},
    ClientConfig, RootCertStore,
};

use crate::net::Stream;

/// A client TLS connection over a [`Stream`], after a completed handshake.
pub type TlsStream = monoio_rustls::ClientTlsStream<Stream>;

/// The client side of TLS, shared by all connections: trusted roots, protocol versions, ALPN.
///
/// `Debug` is short on purpose: the worker logs its settings at start-up, and rustls' own `Debug`
/// would print every trust anchor.
#[derive(Clone)]
pub struct TlsConfig {
    /// The rustls configuration, for the unit tests; the connector holds the same `Arc`.
    #[cfg(test)]
    config: Arc<ClientConfig>,
    /// `monoio-rustls`' connector over one `Arc` of the rustls configuration, so every
    /// connection shares the session cache.
    connector: TlsConnector,
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
        let config = Arc::new(config);
        Ok(Self {
            connector: TlsConnector::from(config.clone()),
            #[cfg(test)]
            config,
            extra_ca_file: extra_ca_file.map(Path::to_path_buf),
            extra_ca_count,
        })
    }

    /// The rustls configuration.
    #[cfg(test)]
    pub(crate) fn rustls(&self) -> &Arc<ClientConfig> {
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
) -> io::Result<TlsStream> {
    config.connector.connect(server_name, stream).await.map_err(|error| match error {
        // Certificate and record errors come through here already as `InvalidData`.
        TlsError::Io(error) => error,
        // Only `ClientConnection::new` fails this way (a configuration rustls refuses).
        TlsError::Rustls(error) => {
            io::Error::new(io::ErrorKind::InvalidData, format!("tls: {error}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_without_extra_ca_uses_webpki_roots() {
        let config = TlsConfig::new(None).unwrap();
        assert_eq!(config.extra_ca_count, 0);
        assert_eq!(config.rustls().alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(!config.rustls().enable_early_data);
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
